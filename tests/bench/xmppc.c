/*
 * xmppc.c — the XMPP client driver of `make bench` section 4
 * (tests/bench/run.sh).  It logs CONNS clients into one Prosody over plain
 * TCP (SASL PLAIN without TLS, as the bench's Prosody config allows; stream
 * restart; resource binding), then sends chat messages to rooms of DOMAIN,
 * whose component echoes each back, and matches every echo to its message
 * by id to measure the round trip.
 *
 *   xmppc PORT USER CONNS DOMAIN sat WINDOW SECONDS WARMUP
 *   xmppc PORT USER CONNS DOMAIN rate RATE SECONDS WARMUP
 *
 * Users are USER1..USERconns on example.test, password "pw".
 *
 *   sat   closed loop: every connection keeps WINDOW messages in flight
 *         and sends a new one for each echo, so the path runs as fast as
 *         its slowest part allows: the throughput.
 *   rate  open loop: RATE messages per second in total, spread round robin
 *         over the connections on a fixed schedule, whatever comes back.
 *
 * Messages sent in the first WARMUP seconds warm up Prosody's Lua, the
 * sockets and the caches and count nowhere.  The measured window is the
 * SECONDS after that; then xmppc waits up to 2 s for the last echoes.
 * Timestamps: a message's send time is read right before the write() that
 * hands it to the kernel, and an echo's arrival time right after the
 * read() that returned it, before any parsing, so neither buffering in
 * this program nor the parsing of a batch adds to the latency.
 *
 * Output, one line on stdout:
 *   rate R sent N back N lost N errors N p50 US p99 US p999 US samples N
 * R is echoes received per second of the measured window; p*
 * in microseconds (p999 is -1 below 10 000 samples: too few for it).
 * Single-threaded, one poll loop.
 */
#define _GNU_SOURCE         /* memmem, ppoll */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "benchlib.h"

#define MAXCONN		256
#define RBUF		(1 << 18)
#define IO_MS		15000

struct client {
	int fd;
	char *rbuf;                  /* unparsed input (owned) */
	size_t rlen;
	struct bench_obuf out;
	size_t inflight;
	/* Sequence numbers written to out but not yet to the kernel: their
	 * send time is taken at the write() that takes their last byte. */
	size_t pend[64], npend, pend_end[64];
};

static struct client cl[MAXCONN];
static int nconn;
static uint64_t *sent_at;        /* by sequence number; 0 = not in flight */
static double *lat;              /* measured round trips, microseconds */
static size_t nlat, maxseq, first_measured, errors, back_window;
static uint64_t t_measure, t_end;

static void
die(const char *what)
{
	fprintf(stderr, "xmppc: %s%s%s\n", what, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	exit(1);
}

/* Queues message seq on client c; its time is taken at the write. */
static void
queue_message(struct client *c, size_t seq, const char *domain)
{
	char msg[512];
	int k;

	k = snprintf(msg, sizeof msg, "<message to='room%zu@%s' type='chat' "
	    "id='s%zu'><body>round trip probe %zu: the quick brown fox jumps "
	    "over the lazy dog; caf\xc3\xa9 &amp; na\xc3\xafve text to reach "
	    "a realistic size for a chat line</body></message>", seq % 97,
	    domain, seq, seq);
	if (c->npend == sizeof c->pend / sizeof c->pend[0])
		return;   /* caller checks npend before queueing */
	bench_ob_add(&c->out, msg, (size_t)k);
	c->pend[c->npend] = seq;
	c->pend_end[c->npend++] = c->out.len;
	c->inflight++;
}

/* Writes what c has; stamps each message whose last byte went out. */
static void
flush(struct client *c)
{
	size_t done = 0;
	uint64_t t = now_ns();

	/* pend_end offsets are relative to the buffer start; the buffer is
	 * only compacted by bench_ob_add when empty, and then pend is too. */
	bench_ob_flush(&c->out, c->fd);
	while (done < c->npend && (c->out.len == 0 ||
	    c->pend_end[done] <= c->out.off))
		sent_at[c->pend[done++]] = t;
	memmove(c->pend, c->pend + done, (c->npend - done) * sizeof *c->pend);
	memmove(c->pend_end, c->pend_end + done,
	    (c->npend - done) * sizeof *c->pend_end);
	c->npend -= done;
}

/* Hands every complete stanza in c's input to the matcher; t is the time
 * the read() that completed them returned. */
static void
take_input(struct client *c, uint64_t t)
{
	static const char end[] = "</message>";
	size_t at = 0;
	char *e;

	while ((e = memmem(c->rbuf + at, c->rlen - at, end,
	    sizeof end - 1)) != NULL) {
		const char *p = memmem(c->rbuf + at, (size_t)(e - c->rbuf) - at,
		    "<message", 8);
		size_t stop = (size_t)(e - c->rbuf) + sizeof end - 1;
		char id[32], type[16];

		if (p != NULL && bench_attr(p, stop - (size_t)(p - c->rbuf),
		    "id", id, sizeof id, NULL) && id[0] == 's') {
			size_t seq = strtoul(id + 1, NULL, 10);

			if (bench_attr(p, stop - (size_t)(p - c->rbuf), "type",
			    type, sizeof type, NULL) &&
			    strcmp(type, "error") == 0)
				errors++;
			else if (seq < maxseq && sent_at[seq] != 0) {
				if (seq >= first_measured)
					lat[nlat++] = (double)(t - sent_at[seq]) / 1e3;
				if (t >= t_measure && t <= t_end)
					back_window++;
				sent_at[seq] = 0;
			}
			if (c->inflight > 0)
				c->inflight--;
		}
		at = stop;
	}
	memmove(c->rbuf, c->rbuf + at, c->rlen - at);
	c->rlen -= at;
}

int
main(int argc, char **argv)
{
	static struct pollfd pf[MAXCONN];
	const char *domain;
	bool sat;
	double arg, secs, warm;
	size_t seq = 0, window = 0, sent_measured = 0;
	uint64_t t0, gap = 0, deadline;

	if (argc != 9 || (strcmp(argv[5], "sat") != 0 &&
	    strcmp(argv[5], "rate") != 0)) {
		fprintf(stderr, "usage: xmppc PORT USER CONNS DOMAIN sat|rate "
		    "WINDOW|RATE SECONDS WARMUP\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	nconn = atoi(argv[3]);
	domain = argv[4];
	sat = strcmp(argv[5], "sat") == 0;
	arg = atof(argv[6]);
	secs = atof(argv[7]);
	warm = atof(argv[8]);
	if (nconn < 1 || nconn > MAXCONN || arg <= 0 || secs <= 0) {
		fprintf(stderr, "xmppc: bad arguments\n");
		return 2;
	}
	if (sat) {
		window = (size_t)arg;
		if (window > 64)
			window = 64;
		/* Generous: a fast path at 200 k round trips per second. */
		maxseq = (size_t)((secs + warm + 3) * 200000);
	} else {
		gap = (uint64_t)(1e9 / arg);
		maxseq = (size_t)((secs + warm) * arg) + 1;
	}
	sent_at = calloc(maxseq, sizeof *sent_at);
	lat = calloc(maxseq, sizeof *lat);
	if (sent_at == NULL || lat == NULL)
		die("calloc");
	for (int i = 0; i < nconn; i++) {
		char user[64];

		snprintf(user, sizeof user, "%s%d", argv[2], i + 1);
		cl[i].fd = bench_connect(atoi(argv[1]));
		bench_login(cl[i].fd, user, "bench");
		fcntl(cl[i].fd, F_SETFL, fcntl(cl[i].fd, F_GETFL) | O_NONBLOCK);
		if ((cl[i].rbuf = malloc(RBUF)) == NULL)
			die("malloc");
	}

	t0 = now_ns();
	t_measure = t0 + (uint64_t)(warm * 1e9);
	t_end = t_measure + (uint64_t)(secs * 1e9);
	first_measured = (size_t)-1;
	deadline = t_end + 2000000000u;
	for (;;) {
		uint64_t now = now_ns();
		struct timespec ts = { 0, 0 };
		bool sending = now < t_end && seq < maxseq;
		size_t pending = 0;

		if (!sending && first_measured == (size_t)-1)
			first_measured = seq;
		if (sending && now >= t_measure && first_measured == (size_t)-1)
			first_measured = seq;
		/* Due messages: in sat mode one per free window slot, in rate
		 * mode every one whose time has come. */
		if (sending && sat) {
			for (int i = 0; i < nconn && seq < maxseq; i++)
				while (cl[i].inflight < window &&
				    cl[i].npend < 64 && seq < maxseq)
					queue_message(&cl[i], seq++, domain);
		} else if (sending) {
			while (seq < maxseq && now >= t0 + seq * gap &&
			    cl[seq % (size_t)nconn].npend < 64)
				queue_message(&cl[seq % (size_t)nconn], seq, domain),
				    seq++;
		}
		for (int i = 0; i < nconn; i++) {
			if (cl[i].out.off < cl[i].out.len)
				flush(&cl[i]);
			pending += cl[i].inflight;
			pf[i].fd = cl[i].fd;
			pf[i].events = POLLIN |
			    (cl[i].out.off < cl[i].out.len ? POLLOUT : 0);
			pf[i].revents = 0;
		}
		if (!sending && (pending == 0 || now > deadline))
			break;
		if (sending && !sat) {
			uint64_t due = t0 + seq * gap;
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
		} else
			ts.tv_nsec = 10000000;
		if (ppoll(pf, (nfds_t)nconn, &ts, NULL) < 0) {
			if (errno == EINTR)
				continue;
			die("ppoll");
		}
		for (int i = 0; i < nconn; i++) {
			struct client *c = &cl[i];

			if (pf[i].revents & POLLOUT)
				flush(c);
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(c->fd, c->rbuf + c->rlen,
				    RBUF - c->rlen);
				uint64_t t = now_ns();

				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					continue;
				if (r <= 0) {
					errno = r < 0 ? errno : 0;
					die("the server closed a client stream");
				}
				c->rlen += (size_t)r;
				take_input(c, t);
			}
		}
	}
	sent_measured = seq - first_measured;
	qsort(lat, nlat, sizeof *lat, bench_cmp_double);
	printf("rate %.1f sent %zu back %zu lost %zu errors %zu p50 %.1f "
	    "p99 %.1f p999 %.1f samples %zu\n", (double)back_window / secs,
	    sent_measured, nlat, sent_measured - nlat, errors,
	    bench_pct(lat, nlat, 50), bench_pct(lat, nlat, 99),
	    nlat >= 10000 ? bench_pct(lat, nlat, 99.9) : -1.0, nlat);
	for (int i = 0; i < nconn; i++) {
		close(cl[i].fd);
		free(cl[i].rbuf);
		free(cl[i].out.p);
	}
	free(sent_at);
	free(lat);
	return 0;
}
