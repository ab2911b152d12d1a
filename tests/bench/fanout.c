/*
 * fanout.c — the client side of `make bench` section 7, the fan-out of a
 * big room (tests/bench/run.sh).  It logs in the occupants of two rooms
 * served by tests/bench/mucc.c: a "direct" room, whose component is
 * connected straight to one Prosody serving all its occupants, and a
 * "virtual" room, whose component is homed on vcomp-node1 while its
 * occupants are spread over the Prosody servers of four nodes.  One
 * occupant of each room, the talker, sends groupchat messages; the room
 * sends each to every occupant.  A message counts as delivered when the
 * last occupant has it.
 *
 *   fanout RUNS SECONDS WARMUP WINDOW D_ROOM D_SPEC V_ROOM V_SPEC
 *          [NAME=PID ...]
 *
 * SPEC is PORT:COUNT[,PORT:COUNT...]: COUNT occupants log in on the c2s
 * port PORT.  Occupants are users f1, f2, ... of example.test (password
 * "pw"), numbered across the whole spec, resource "d" in the direct room
 * and "v" in the virtual one, nick "uN".  Each run measures four phases,
 * SECONDS each after WARMUP seconds that count nowhere:
 *
 *   direct sat, virtual sat   closed loop: the talker keeps WINDOW
 *                             messages not yet delivered to everyone;
 *                             messages/s delivered to all occupants and
 *                             the latency from the talker's write() to
 *                             the read() that brought the last copy;
 *   direct half, virtual half open loop at half that run's direct rate:
 *                             the same latency, at the same offered rate
 *                             on both paths.
 *
 * During each sat phase the CPU time (/proc/PID/stat) of every NAME=PID
 * given, and of this process, is sampled at the start and the end of the
 * measured window: the share of one core each process used, which says
 * which saturates first.  Results are benchlib result lines on stdout.
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

#define MAXOCC		4096
#define MAXPROC		16
#define RBUF		(1 << 15)
#define GRACE_NS	5000000000ULL

struct client {
	int fd;
	char *rbuf;          /* unparsed input, RBUF bytes (owned) */
	size_t rlen;
	struct bench_obuf out;
	bool joined;
};

struct room {
	const char *jid, *name;
	struct client *cl;   /* n (owned); cl[0] is the talker */
	int n;
};

struct proc {
	const char *name;
	pid_t pid;
	double c0, c1;
};

/* The phase being measured. */
static struct {
	struct room *room;
	unsigned id;
	uint64_t *sent;      /* send time by sequence number, 0 = done */
	uint32_t *got;       /* copies delivered, by sequence number */
	double *lat;         /* microseconds, measured messages */
	size_t nlat, maxseq, first_measured, inflight;
	size_t done_window, deliv_window, errors;
	uint64_t t_measure, t_end;
} ph;

static struct proc procs[MAXPROC];
static int nprocs;

static void
die(const char *what)
{
	fprintf(stderr, "fanout: %s%s%s\n", what, errno ? ": " : "",
	    errno ? strerror(errno) : "");
	exit(1);
}

/* Logs in every occupant of spec (PORT:COUNT,...) as users *user onward. */
static void
room_login(struct room *r, const char *spec, const char *resource,
    int *user)
{
	char *s = strdup(spec), *tok, *save = NULL;

	if (s == NULL)
		die("strdup");
	r->cl = calloc(MAXOCC, sizeof *r->cl);
	if (r->cl == NULL)
		die("calloc");
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		int port = atoi(tok), count;
		char *colon = strchr(tok, ':');

		if (colon == NULL || (count = atoi(colon + 1)) < 1 ||
		    r->n + count > MAXOCC) {
			fprintf(stderr, "fanout: bad spec %s\n", spec);
			exit(2);
		}
		for (int i = 0; i < count; i++) {
			struct client *c = &r->cl[r->n++];
			char name[32];

			snprintf(name, sizeof name, "f%d", (*user)++);
			c->fd = bench_connect(port);
			bench_login(c->fd, name, resource);
			fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
			if ((c->rbuf = malloc(RBUF)) == NULL)
				die("malloc");
		}
	}
	free(s);
}

/* Reads what c has; false when the server closed it. */
static bool
client_read(struct client *c)
{
	ssize_t r;

	if (c->rlen == RBUF) {
		errno = 0;
		die("a stanza over the client's buffer");
	}
	r = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (r <= 0)
		return false;
	c->rlen += (size_t)r;
	return true;
}

/* Joins every occupant and waits for each one's own presence. */
static void
room_join(struct room *r)
{
	struct pollfd *pf = calloc((size_t)r->n, sizeof *pf);
	int joined = 0;
	uint64_t deadline = now_ns() + 60000000000ULL;

	if (pf == NULL)
		die("calloc");
	for (int i = 0; i < r->n; i++) {
		char msg[256];
		int k = snprintf(msg, sizeof msg, "<presence to='%s/u%d'><x "
		    "xmlns='http://jabber.org/protocol/muc'/></presence>",
		    r->jid, i + 1);

		bench_ob_add(&r->cl[i].out, msg, (size_t)k);
		bench_ob_flush(&r->cl[i].out, r->cl[i].fd);
	}
	while (joined < r->n) {
		if (now_ns() > deadline) {
			fprintf(stderr, "fanout: %s: only %d of %d joined\n",
			    r->name, joined, r->n);
			exit(1);
		}
		for (int i = 0; i < r->n; i++) {
			pf[i].fd = r->cl[i].joined ? -1 : r->cl[i].fd;
			pf[i].events = POLLIN;
		}
		if (poll(pf, (nfds_t)r->n, 1000) < 0 && errno != EINTR)
			die("poll");
		for (int i = 0; i < r->n; i++) {
			struct client *c = &r->cl[i];

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!client_read(c))
				die("the server closed a client stream");
			if (memmem(c->rbuf, c->rlen, "code='110'", 10) != NULL) {
				c->joined = true;
				c->rlen = 0;
				joined++;
			}
		}
	}
	free(pf);
	fprintf(stderr, "fanout: %s: %d occupants joined %s\n", r->name,
	    r->n, r->jid);
}

/* Queues and writes message seq from the talker; stamps it first. */
static void
send_message(struct room *r, size_t seq)
{
	char msg[512];
	int k = snprintf(msg, sizeof msg, "<message to='%s' type='groupchat' "
	    "id='%u-%zu'><body>fan-out probe %zu: the quick brown fox jumps "
	    "over the lazy dog; caf\xc3\xa9 &amp; na\xc3\xafve text of a "
	    "realistic chat line</body></message>", r->jid, ph.id, seq, seq);

	ph.sent[seq] = now_ns();
	ph.got[seq] = 0;
	ph.inflight++;
	bench_ob_add(&r->cl[0].out, msg, (size_t)k);
	bench_ob_flush(&r->cl[0].out, r->cl[0].fd);
}

/* Counts every complete message in c's input; t is when it was read. */
static void
take_input(struct client *c, uint64_t t)
{
	static const char end[] = "</message>";
	size_t at = 0;
	char *e;

	while ((e = memmem(c->rbuf + at, c->rlen - at, end,
	    sizeof end - 1)) != NULL) {
		size_t stop = (size_t)(e - c->rbuf) + sizeof end - 1;
		const char *p = memmem(c->rbuf + at, stop - at, "<message", 8);
		char id[48], type[16], *dash;
		size_t seq;

		at = stop;
		if (p == NULL || !bench_attr(p, stop - (size_t)(p - c->rbuf),
		    "id", id, sizeof id, NULL) ||
		    strtoul(id, &dash, 10) != ph.id || *dash != '-')
			continue;
		if (bench_attr(p, stop - (size_t)(p - c->rbuf), "type", type,
		    sizeof type, NULL) && strcmp(type, "error") == 0) {
			ph.errors++;
			continue;
		}
		seq = strtoul(dash + 1, NULL, 10);
		if (seq >= ph.maxseq || ph.sent[seq] == 0)
			continue;
		if (t >= ph.t_measure && t <= ph.t_end)
			ph.deliv_window++;
		if (++ph.got[seq] < (uint32_t)ph.room->n)
			continue;
		if (seq >= ph.first_measured)
			ph.lat[ph.nlat++] = (double)(t - ph.sent[seq]) / 1e3;
		if (t >= ph.t_measure && t <= ph.t_end)
			ph.done_window++;
		ph.sent[seq] = 0;
		ph.inflight--;
	}
	memmove(c->rbuf, c->rbuf + at, c->rlen - at);
	c->rlen -= at;
}

/* Figures of one phase. */
struct figures {
	double rate, deliv_rate, p50, p99;
	size_t sent, lost, errors;
};

/*
 * One phase on room r: closed loop with window (rate 0) or open loop at
 * rate messages/s; SECONDS measured after WARMUP.  Samples every proc's
 * CPU at the window's start and end when sample is set.
 */
static struct figures
phase(struct room *r, size_t window, double rate, double secs, double warm,
    bool sample)
{
	static unsigned id;
	struct pollfd *pf = calloc((size_t)r->n, sizeof *pf);
	struct figures f;
	uint64_t t0 = now_ns(), gap = rate > 0 ? (uint64_t)(1e9 / rate) : 0;
	bool s0 = false, s1 = false;
	size_t seq = 0;

	if (pf == NULL)
		die("calloc");
	ph.room = r;
	ph.id = ++id;
	ph.nlat = ph.inflight = ph.done_window = ph.deliv_window = 0;
	ph.errors = 0;
	ph.t_measure = t0 + (uint64_t)(warm * 1e9);
	ph.t_end = ph.t_measure + (uint64_t)(secs * 1e9);
	ph.first_measured = (size_t)-1;
	memset(ph.sent, 0, ph.maxseq * sizeof *ph.sent);
	for (;;) {
		uint64_t now = now_ns();
		bool sending = now < ph.t_end && seq < ph.maxseq;
		struct timespec ts = { 0, 2000000 };

		if (ph.first_measured == (size_t)-1 &&
		    (now >= ph.t_measure || !sending))
			ph.first_measured = seq;
		if (sample && !s0 && now >= ph.t_measure) {
			for (int i = 0; i < nprocs; i++)
				procs[i].c0 = proc_cpu_s(procs[i].pid);
			s0 = true;
		}
		if (sample && !s1 && now >= ph.t_end) {
			for (int i = 0; i < nprocs; i++)
				procs[i].c1 = proc_cpu_s(procs[i].pid);
			s1 = true;
		}
		if (sending && rate <= 0)
			while (ph.inflight < window && seq < ph.maxseq)
				send_message(r, seq++);
		else if (sending)
			while (seq < ph.maxseq && now >= t0 + seq * gap)
				send_message(r, seq++);
		if (!sending && (ph.inflight == 0 || now > ph.t_end + GRACE_NS))
			break;
		for (int i = 0; i < r->n; i++) {
			struct client *c = &r->cl[i];

			pf[i].fd = c->fd;
			pf[i].events = POLLIN |
			    (c->out.off < c->out.len ? POLLOUT : 0);
			pf[i].revents = 0;
		}
		if (sending && rate > 0) {
			uint64_t due = t0 + seq * gap;
			uint64_t wait = due > now ? due - now : 0;

			if (wait < 2000000)
				ts.tv_nsec = (long)wait;
		}
		if (ppoll(pf, (nfds_t)r->n, &ts, NULL) < 0) {
			if (errno == EINTR)
				continue;
			die("ppoll");
		}
		for (int i = 0; i < r->n; i++) {
			struct client *c = &r->cl[i];

			if (pf[i].revents & POLLOUT)
				bench_ob_flush(&c->out, c->fd);
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (!client_read(c))
					die("the server closed a client stream");
				take_input(c, now_ns());
			}
		}
	}
	if (sample && !s1)
		for (int i = 0; i < nprocs; i++)
			procs[i].c1 = proc_cpu_s(procs[i].pid);
	qsort(ph.lat, ph.nlat, sizeof *ph.lat, bench_cmp_double);
	f.rate = (double)ph.done_window / secs;
	f.deliv_rate = (double)ph.deliv_window / secs;
	f.p50 = bench_pct(ph.lat, ph.nlat, 50);
	f.p99 = bench_pct(ph.lat, ph.nlat, 99);
	f.sent = seq - ph.first_measured;
	f.lost = f.sent - ph.nlat;
	f.errors = ph.errors;
	fprintf(stderr, "fanout: %s %s: %.1f msg/s, %.0f deliveries/s, p50 "
	    "%.0f us, p99 %.0f us, %zu sent, %zu not delivered to all, %zu "
	    "errors\n", r->name, rate > 0 ? "open loop" : "closed loop",
	    f.rate, f.deliv_rate, f.p50, f.p99, f.sent, f.lost, f.errors);
	free(pf);
	return f;
}

/* CPU of every sampled process as a share of one core over secs. */
static void
report_cpu(const char *prefix, double secs)
{
	for (int i = 0; i < nprocs; i++) {
		char metric[96];

		if (procs[i].c0 < 0 || procs[i].c1 < 0)
			continue;
		snprintf(metric, sizeof metric, "%s_cpu_%s", prefix,
		    procs[i].name);
		result("7-fan-out", metric, "cores",
		    (procs[i].c1 - procs[i].c0) / secs, "-", 0);
	}
}

int
main(int argc, char **argv)
{
	struct room d = { 0 }, v = { 0 };
	size_t runs, window;
	double secs, warm;
	int user = 1;

	if (argc < 9) {
		fprintf(stderr, "usage: fanout RUNS SECONDS WARMUP WINDOW D_ROOM "
		    "D_SPEC V_ROOM V_SPEC [NAME=PID ...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	runs = strtoul(argv[1], NULL, 10);
	secs = atof(argv[2]);
	warm = atof(argv[3]);
	window = strtoul(argv[4], NULL, 10);
	d.jid = argv[5];
	d.name = "direct";
	v.jid = argv[7];
	v.name = "virtual";
	for (int i = 9; i < argc && nprocs < MAXPROC - 1; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		procs[nprocs].name = argv[i];
		procs[nprocs++].pid = (pid_t)atoi(eq + 1);
	}
	procs[nprocs].name = "fanout";
	procs[nprocs++].pid = getpid();
	if (runs < 1 || secs <= 0 || window < 1) {
		fprintf(stderr, "fanout: bad arguments\n");
		return 2;
	}
	/* Generous: a room of one at 20 000 messages a second. */
	ph.maxseq = (size_t)((secs + warm + 1) * 20000);
	ph.sent = calloc(ph.maxseq, sizeof *ph.sent);
	ph.got = calloc(ph.maxseq, sizeof *ph.got);
	ph.lat = calloc(ph.maxseq, sizeof *ph.lat);
	if (ph.sent == NULL || ph.got == NULL || ph.lat == NULL)
		die("calloc");
	room_login(&d, argv[6], "d", &user);
	user = 1;
	room_login(&v, argv[8], "v", &user);
	fprintf(stderr, "fanout: %d + %d clients logged in\n", d.n, v.n);
	room_join(&d);
	room_join(&v);
	for (size_t r = 0; r < runs; r++) {
		struct figures ds, vs, dh, vh;

		ds = phase(&d, window, 0, secs, warm, true);
		report_cpu("direct", secs);
		vs = phase(&v, window, 0, secs, warm, true);
		report_cpu("virtual", secs);
		result("7-fan-out", "occupants", "clients", v.n, "direct_occupants",
		    d.n);
		result("7-fan-out", "direct_msg_rate", "msg/s", ds.rate, "-", 0);
		result("7-fan-out", "virtual_msg_rate", "msg/s", vs.rate,
		    "direct_msg_rate", ds.rate);
		result("7-fan-out", "virtual_deliveries", "stanzas/s",
		    vs.deliv_rate, "direct_deliveries", ds.deliv_rate);
		/* A phase in which no message reached every occupant (an
		 * overloaded machine) has no latency: no row then. */
		if (vs.p50 >= 0 && ds.p50 >= 0) {
			result("7-fan-out", "sat_virtual_last_p50", "us", vs.p50,
			    "sat_direct_last_p50_us", ds.p50);
			result("7-fan-out", "sat_virtual_last_p99", "us", vs.p99,
			    "sat_direct_last_p99_us", ds.p99);
		}
		result("7-fan-out", "sat_virtual_errors", "stanzas",
		    (double)vs.errors, "direct_errors", (double)ds.errors);
		if (ds.rate <= 0)
			continue;
		dh = phase(&d, 0, ds.rate / 2, secs, warm, false);
		vh = phase(&v, 0, ds.rate / 2, secs, warm, false);
		result("7-fan-out", "half_load", "msg/s", ds.rate / 2,
		    "direct_msg_rate", ds.rate);
		if (vh.p50 >= 0 && dh.p50 >= 0) {
			result("7-fan-out", "half_virtual_last_p50", "us", vh.p50,
			    "direct_last_p50_us", dh.p50);
			result("7-fan-out", "half_virtual_last_p99", "us", vh.p99,
			    "direct_last_p99_us", dh.p99);
		}
		result("7-fan-out", "half_virtual_lost", "msgs", (double)vh.lost,
		    "direct_lost", (double)dh.lost);
	}
	return 0;
}
