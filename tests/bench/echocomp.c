/*
 * echocomp.c — the echoing XEP-0114 component of `make bench` section 4
 * (tests/bench/run.sh).  It connects as a component to each PORT given,
 * under the DOMAIN given beside it, and answers every <message/> it
 * receives with the same message back to its sender: from and to swapped,
 * the same id, the same children.  It must cost far less than the servers
 * it stands behind, so it is not an XML parser: it only finds the end of
 * each top-level element and three attributes of its start tag, which is
 * enough for the stanzas Prosody and the runtime forward (no message holds
 * another <message>).
 *
 *   echocomp PORT DOMAIN [PORT DOMAIN ...]
 *
 * One connection per pair, all served by one single-threaded poll loop, so
 * the direct and the virtual path of section 4 talk to the very same
 * process.  The shared secret comes from VCOMP_BENCH_SECRET.  It prints
 * "echocomp: ready" on stderr once every handshake is accepted, and exits
 * when every connection is closed, or on SIGTERM.  On exit it prints the
 * number of messages echoed per connection.
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

#define MAXCONN		8
#define RBUF		(1 << 18)

struct conn {
	int fd;
	const char *domain;
	char *rbuf;          /* unparsed input, RBUF bytes (owned) */
	size_t rlen;
	struct bench_obuf out;
	unsigned long echoed;
};

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* Queues the echo of one <message/> stanza (p, n bytes). */
static void
echo(struct conn *c, const char *p, size_t n)
{
	char from[512], to[512], id[128], out[1280];
	char qf, qt, qi;
	const char *gt = memchr(p, '>', n);
	int k;

	if (gt == NULL || gt[-1] == '/' ||
	    !bench_attr(p, n, "from", from, sizeof from, &qf) ||
	    !bench_attr(p, n, "to", to, sizeof to, &qt) ||
	    !bench_attr(p, n, "id", id, sizeof id, &qi))
		return;
	/* Values are copied still escaped, each with the quote it came in. */
	k = snprintf(out, sizeof out, "<message from=%c%s%c to=%c%s%c "
	    "type='chat' id=%c%s%c>", qt, to, qt, qf, from, qf, qi, id, qi);
	if (k <= 0 || (size_t)k >= sizeof out)
		return;
	bench_ob_add(&c->out, out, (size_t)k);
	bench_ob_add(&c->out, gt + 1, n - (size_t)(gt + 1 - p));
	c->echoed++;
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
		if (n > 9 && memcmp(c->rbuf + at, "<message", 8) == 0)
			echo(c, c->rbuf + at, n);
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
		fprintf(stderr, "usage: echocomp PORT DOMAIN [PORT DOMAIN ...] "
		    "(at most %d)\n", MAXCONN);
		return 2;
	}
	if (secret == NULL || *secret == '\0') {
		fprintf(stderr, "echocomp: VCOMP_BENCH_SECRET is not set\n");
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
		if ((c->rbuf = malloc(RBUF)) == NULL) {
			perror("echocomp: malloc");
			return 1;
		}
		bench_component_handshake(c->fd, c->domain, secret, "echocomp");
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	}
	fprintf(stderr, "echocomp: ready\n");
	open_conns = nc;
	while (!stop && open_conns > 0) {
		for (int i = 0; i < nc; i++) {
			pf[i].fd = conns[i].fd;
			pf[i].events = conns[i].fd < 0 ? 0 : POLLIN |
			    (conns[i].out.off < conns[i].out.len ? POLLOUT : 0);
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)nc, 1000) < 0) {
			if (errno == EINTR)
				continue;
			perror("echocomp: poll");
			return 1;
		}
		for (int i = 0; i < nc; i++) {
			struct conn *c = &conns[i];
			ssize_t r = 0;

			if (c->fd < 0)
				continue;
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (c->rlen == RBUF) {
					fprintf(stderr, "echocomp: stanza over "
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
			} else
				r = 1;
			/* Echoes go out in one write per read, as a real
			 * component's event loop would. */
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
		fprintf(stderr, "echocomp: %s: %lu messages echoed\n",
		    conns[i].domain, conns[i].echoed);
		if (conns[i].fd >= 0)
			close(conns[i].fd);
		free(conns[i].rbuf);
		free(conns[i].out.p);
	}
	return 0;
}
