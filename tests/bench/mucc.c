/*
 * mucc.c — the MUC-like XEP-0114 component of `make bench` section 7, the
 * fan-out (tests/bench/run.sh).  It connects as a component to each PORT
 * given, under the DOMAIN given beside it, and behaves like the message
 * path of a multi-user chat room: a presence to ROOM@DOMAIN/NICK makes its
 * sender an occupant (answered with the occupant's own presence, status
 * 110, as XEP-0045 does), a presence of type unavailable removes it, and a
 * groupchat message from an occupant goes to every occupant, the sender
 * included: from ROOM@DOMAIN/NICK of the sender, same id, same children.
 * So one message in is N stanzas out, all from this one process and, on
 * the virtual path, all through the home runtime.
 *
 *   mucc PORT DOMAIN [PORT DOMAIN ...]
 *
 * What it leaves out of XEP-0045, because the bench measures the message
 * fan-out: joins are not broadcast to the other occupants (that would be
 * N^2 presences to set up a room of N), there is no history, no roles,
 * no configuration; each connection is one room, whatever the room's
 * name.  Like echocomp.c it is not an XML parser: it finds the end of each
 * top-level element and a few attributes of its start tag, which is
 * enough for what Prosody and the runtime forward.
 *
 * One poll loop; one room of at most MAXOCC occupants per connection.
 * The shared secret comes from VCOMP_BENCH_SECRET.  "mucc: ready" on
 * stderr once every handshake is accepted; exits when every connection is
 * closed, or on SIGTERM, printing what it fanned out per connection.
 */
#define _GNU_SOURCE         /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "benchlib.h"

#define MAXCONN		4
#define MAXOCC		4096
#define RBUF		(1 << 18)
#define JIDMAX		256

struct occupant {
	char jid[JIDMAX];    /* full JID, as escaped in the stanza */
	char nick[64];
};

struct conn {
	int fd;
	const char *domain;
	char *rbuf;          /* unparsed input, RBUF bytes (owned) */
	size_t rlen;
	struct bench_obuf out;
	struct occupant *occ;   /* MAXOCC (owned) */
	int nocc;
	unsigned long in, out_stanzas;
};

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
find_occupant(const struct conn *c, const char *jid)
{
	for (int i = 0; i < c->nocc; i++)
		if (strcmp(c->occ[i].jid, jid) == 0)
			return i;
	return -1;
}

/* A presence (p, n bytes): join, or leave when unavailable. */
static void
presence(struct conn *c, const char *p, size_t n)
{
	char from[JIDMAX], to[JIDMAX], type[32], out[1024];
	const char *slash;
	int i, k;

	if (!bench_attr(p, n, "from", from, sizeof from, NULL) ||
	    !bench_attr(p, n, "to", to, sizeof to, NULL) ||
	    (slash = strchr(to, '/')) == NULL)
		return;
	i = find_occupant(c, from);
	if (bench_attr(p, n, "type", type, sizeof type, NULL) &&
	    strcmp(type, "unavailable") == 0) {
		if (i >= 0)
			c->occ[i] = c->occ[--c->nocc];
		return;
	}
	if (i < 0) {
		if (c->nocc == MAXOCC || strlen(slash + 1) >= 64)
			return;
		i = c->nocc++;
		snprintf(c->occ[i].jid, JIDMAX, "%s", from);
	}
	snprintf(c->occ[i].nick, sizeof c->occ[i].nick, "%s", slash + 1);
	k = snprintf(out, sizeof out, "<presence from='%s' to='%s'><x xmlns="
	    "'http://jabber.org/protocol/muc#user'><item affiliation='none' "
	    "role='participant'/><status code='110'/></x></presence>", to,
	    from);
	if (k > 0 && (size_t)k < sizeof out) {
		bench_ob_add(&c->out, out, (size_t)k);
		c->out_stanzas++;
	}
}

/* A groupchat message from an occupant (p, n bytes): to every occupant. */
static void
groupchat(struct conn *c, const char *p, size_t n)
{
	char from[JIDMAX], to[JIDMAX], id[128], type[32], head[1024];
	const char *gt = memchr(p, '>', n), *body;
	size_t blen;
	int s, k;

	if (gt == NULL || gt[-1] == '/' ||
	    !bench_attr(p, n, "from", from, sizeof from, NULL) ||
	    !bench_attr(p, n, "to", to, sizeof to, NULL) ||
	    !bench_attr(p, n, "id", id, sizeof id, NULL) ||
	    !bench_attr(p, n, "type", type, sizeof type, NULL) ||
	    strcmp(type, "groupchat") != 0 ||
	    (s = find_occupant(c, from)) < 0)
		return;
	to[strcspn(to, "/")] = '\0';
	body = gt + 1;   /* children and the end tag, as they came */
	blen = n - (size_t)(body - p);
	for (int i = 0; i < c->nocc; i++) {
		k = snprintf(head, sizeof head, "<message from='%s/%s' to='%s' "
		    "type='groupchat' id='%s'>", to, c->occ[s].nick,
		    c->occ[i].jid, id);
		if (k <= 0 || (size_t)k >= sizeof head)
			continue;
		bench_ob_add(&c->out, head, (size_t)k);
		bench_ob_add(&c->out, body, blen);
		c->out_stanzas++;
	}
}

/* Takes every complete stanza out of c's input; false on a stream end. */
static bool
consume(struct conn *c)
{
	size_t at = 0, n;

	for (;;) {
		while (at < c->rlen && c->rbuf[at] != '<')
			at++;   /* white space keepalives */
		if (at >= c->rlen)
			break;
		if (c->rlen - at >= 2 && c->rbuf[at + 1] == '/')
			return false;   /* </stream:stream> */
		if ((n = bench_element_len(c->rbuf + at, c->rlen - at)) == 0)
			break;
		c->in++;
		if (n > 9 && memcmp(c->rbuf + at, "<presence", 9) == 0)
			presence(c, c->rbuf + at, n);
		else if (n > 8 && memcmp(c->rbuf + at, "<message", 8) == 0)
			groupchat(c, c->rbuf + at, n);
		at += n;
	}
	memmove(c->rbuf, c->rbuf + at, c->rlen - at);
	c->rlen -= at;
	return true;
}

int
main(int argc, char **argv)
{
	struct conn conns[MAXCONN];
	struct pollfd pf[MAXCONN];
	const char *secret = getenv("VCOMP_BENCH_SECRET");
	int nc = (argc - 1) / 2, open_conns;
	struct sigaction sa;

	if (argc < 3 || argc % 2 == 0 || nc > MAXCONN) {
		fprintf(stderr, "usage: mucc PORT DOMAIN [PORT DOMAIN ...] "
		    "(at most %d)\n", MAXCONN);
		return 2;
	}
	if (secret == NULL || *secret == '\0') {
		fprintf(stderr, "mucc: VCOMP_BENCH_SECRET is not set\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memset(conns, 0, sizeof conns);
	for (int i = 0; i < nc; i++) {
		struct conn *c = &conns[i];

		c->domain = argv[2 + 2 * i];
		c->fd = bench_connect(atoi(argv[1 + 2 * i]));
		c->rbuf = malloc(RBUF);
		c->occ = calloc(MAXOCC, sizeof *c->occ);
		if (c->rbuf == NULL || c->occ == NULL) {
			perror("mucc: malloc");
			return 1;
		}
		bench_component_handshake(c->fd, c->domain, secret, "mucc");
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	}
	fprintf(stderr, "mucc: ready\n");
	open_conns = nc;
	while (!stop && open_conns > 0) {
		for (int i = 0; i < nc; i++) {
			size_t queued = conns[i].out.len - conns[i].out.off;

			/* While a big fan-out is still being written, stop
			 * reading: the room sets the sender's pace. */
			pf[i].fd = conns[i].fd;
			pf[i].events = conns[i].fd < 0 ? 0 :
			    (queued < RBUF ? POLLIN : 0) |
			    (queued > 0 ? POLLOUT : 0);
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)nc, 1000) < 0) {
			if (errno == EINTR)
				continue;
			perror("mucc: poll");
			return 1;
		}
		for (int i = 0; i < nc; i++) {
			struct conn *c = &conns[i];
			ssize_t r = 1;

			if (c->fd < 0)
				continue;
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (c->rlen == RBUF) {
					fprintf(stderr, "mucc: stanza over "
					    "%d bytes\n", RBUF);
					return 1;
				}
				r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
				if (r > 0) {
					c->rlen += (size_t)r;
					if (!consume(c))
						r = 0;
				} else if (r < 0 && (errno == EAGAIN ||
				    errno == EINTR))
					r = 1;
			}
			if (r > 0)
				bench_ob_flush(&c->out, c->fd);
			else {
				close(c->fd);
				c->fd = -1;
				open_conns--;
			}
		}
	}
	for (int i = 0; i < nc; i++) {
		fprintf(stderr, "mucc: %s: %d occupants, %lu stanzas in, %lu "
		    "out\n", conns[i].domain, conns[i].nocc, conns[i].in,
		    conns[i].out_stanzas);
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		free(conns[i].rbuf);
		free(conns[i].occ);
		free(conns[i].out.p);
	}
	return 0;
}
