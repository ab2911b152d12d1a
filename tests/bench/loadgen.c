/*
 * loadgen.c — the load generator of `make bench` (tests/bench/run.sh).  It
 * plays both neighbours of the runtime: the XMPP server on the upstream
 * side (it accepts the runtime's XEP-0114 connection, sends a stream
 * header, checks the handshake against the secret and answers
 * <handshake/>) and the real component on the home listener (it connects,
 * opens the stream, hands in the handshake).  Everything is on 127.0.0.1.
 *
 *   loadgen hop SERVER_PORT LISTEN_PORT PIDFILE STANZAS RUNS FLOOD_MB CAP
 *       Section 2 and the memory figures of section 5: one runtime, one
 *       hop.  Each run first times the runtime's parser in this process
 *       over the same bytes (the baseline), then pumps the stream into the
 *       upstream as fast as the runtime takes it and counts the bytes that
 *       reach the component (the runtime forwards every generated stanza
 *       unchanged, so the byte count says when all arrived).  The
 *       runtime's CPU time comes from /proc/PID/stat.  Then, when FLOOD_MB
 *       > 0, the component stops reading and FLOOD_MB more are offered:
 *       the runtime's RSS must stay near CAP bytes above idle.
 *
 *   loadgen lat SERVER_PORT LISTEN_PORT H_SERVER_PORT RATE SECONDS RUNS
 *               MIN_SAMPLES PROBE_SECS SEARCHES
 *       Section 3: the virtual path.  SERVER_PORT is vcomp-V's server,
 *       LISTEN_PORT vcomp-H's home listener (the component here echoes
 *       every message back to its sender, through vcomp-H's return route
 *       and vcomp-V), H_SERVER_PORT vcomp-H's server (accepted and kept
 *       idle).  Each run first finds the path's own saturation rate (the
 *       highest open-loop rate with every echo back and no growing
 *       backlog, probes of PROBE_SECS; only in the first SEARCHES runs,
 *       later ones reuse the last found), then measures six loads: 10, 50
 *       and 90 % of RATE (one hop's saturation, section 2: "loadNN") and
 *       10, 50, 90 % of the path's own ("pathNN").  For each load it first
 *       measures the baseline, the same messages at the same rate echoed
 *       by a child process over a loopback TCP connection, then the path.
 *       Messages are sent open-loop on a schedule; the latency of each is
 *       the time from the write() that sends it to the return of the
 *       read() that brings its echo.  The first tenth of each load is a
 *       warm-up and not measured; a load lasts SECONDS, or longer (up to
 *       8 s) until it holds MIN_SAMPLES measured messages.
 *
 *   loadgen window SERVER_PORT LISTEN_PORT H_SERVER_PORT N WINDOW
 *       Section 3's instruction counts: the same neighbours as lat, but a
 *       fixed amount of work, closed loop: N messages, at most WINDOW of
 *       them in flight (sent, echo not back), each sent as soon as an
 *       echo makes room.  WINDOW 1 is strictly one frame at a time each
 *       way; a larger window lets the runtimes batch.  Once the path is
 *       up (one echo back) it says "path up" on stderr and waits for a
 *       SIGUSR1; after the N echoes it says "done" and waits for another
 *       before it closes its sockets.  run.sh runs the two runtimes under
 *       callgrind, zeroes their counters at the first signal and dumps
 *       them before the second, so only the N round trips are counted
 *       (2 N STANZA frames across the link), not the start, the
 *       handshakes or the close.
 *
 *   loadgen routes SERVER_PORT LISTEN_PORT H_SERVER_PORT H_PID STATS_PORT N
 *       Section 5, the return routes through a live virtual path: the same
 *       neighbours as lat (the component only counts), N messages from N
 *       distinct full JIDs (bench_jid, as routes_mem uses) sent through
 *       vcomp-V to vcomp-H as fast as the path takes them; once the
 *       component has all of them, vcomp-H's own count of its table
 *       (vcomp_return_routes and vcomp_return_routes_bytes from /metrics
 *       on its stats listener, STATS_PORT) and the growth of its RSS, per
 *       entry, beside the JIDs' average length.
 *
 * The secret comes from the environment variable VCOMP_BENCH_SECRET.
 * Output: result lines (benchlib.h) on stdout, progress on stderr.
 */
#define _GNU_SOURCE         /* memmem, ppoll */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "benchlib.h"

#define IO_TIMEOUT_MS	15000

static const char *secret;

static void
die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, errno ? strerror(errno) : "");
	exit(1);
}

static void
tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void
set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int
listen_on(int port)
{
	struct sockaddr_in sa = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 16) < 0)
		die("listen");
	return fd;
}

static int
accept_one(int lfd)
{
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	int fd;

	if (poll(&pf, 1, IO_TIMEOUT_MS) != 1) {
		errno = ETIMEDOUT;
		die("waiting for the runtime to connect upstream");
	}
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		die("accept");
	tune(fd);
	return fd;
}

/* The server side of XEP-0114 toward a runtime's upstream connection. */
static void
serve_handshake(int fd)
{
	static const char sid[] = "b3e1c0ffee00dd11b3e1c0ffee00dd11";
	char buf[4096], hdr[512], *h, *e;
	size_t len = 0;

	buf[0] = '\0';
	h = bench_read_until(fd, buf, sizeof buf, &len, "<stream:stream",
	    IO_TIMEOUT_MS);
	bench_read_until(fd, buf, sizeof buf, &len, ">", IO_TIMEOUT_MS);
	(void)h;
	snprintf(hdr, sizeof hdr, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' xmlns:stream="
	    "'http://etherx.jabber.org/streams' from='" BENCH_DOMAIN
	    "' id='%s'>", sid);
	bench_write_all(fd, hdr, strlen(hdr));
	h = bench_read_until(fd, buf, sizeof buf, &len, "</handshake>",
	    IO_TIMEOUT_MS);
	*h = '\0';
	if ((e = strstr(buf, "<handshake>")) == NULL ||
	    !xep0114_verify(sid, secret, e + strlen("<handshake>"))) {
		errno = 0;
		die("the runtime's upstream handshake does not match the secret");
	}
	bench_write_all(fd, "<handshake/>", 12);
}

static pid_t
read_pidfile(const char *path)
{
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		int pid = 0;

		if (f != NULL) {
			if (fscanf(f, "%d", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid > 0)
			return pid;
		usleep(10000);
	}
	errno = 0;
	die("no pid in the pid file");
	return -1;
}

/* Discards whatever fd has to read now; false when it closed. */
static bool
drain(int fd)
{
	char buf[65536];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);

		if (r > 0)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		return false;
	}
}

/*
 * One pump: writes s to up as fast as it is taken while reading comp,
 * until comp has received every byte.  Returns the seconds taken.
 */
static double
pump(int up, int comp, const struct bench_stream *s)
{
	static char buf[1 << 17];
	size_t off = 0, got = 0;
	double t0 = now_s();

	while (got < s->len) {
		struct pollfd pf[2] = {
			{ .fd = up, .events = POLLIN |
			    (off < s->len ? POLLOUT : 0) },
			{ .fd = comp, .events = POLLIN },
		};

		if (poll(pf, 2, IO_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "loadgen: stalled: sent %zu of %zu, "
			    "component got %zu\n", off, s->len, got);
			exit(1);
		}
		if ((pf[0].revents & POLLOUT) && off < s->len) {
			ssize_t w = write(up, s->p + off, s->len - off);

			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				die("write upstream");
		}
		if ((pf[0].revents & (POLLIN | POLLHUP)) && !drain(up)) {
			errno = 0;
			die("the runtime closed its upstream");
		}
		if (pf[1].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(comp, buf, sizeof buf);

			if (r > 0)
				got += (size_t)r;
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				die("the runtime closed the component stream");
		}
	}
	return now_s() - t0;
}

static int
cmd_hop(int argc, char **argv)
{
	int lfd, up, comp, sport, lport;
	size_t n, runs, count;
	double flood_mb, cap;
	struct bench_stream s;
	pid_t rt;
	long idle;

	if (argc != 9) {
		fprintf(stderr, "usage: loadgen hop SERVER_PORT LISTEN_PORT "
		    "PIDFILE STANZAS RUNS FLOOD_MB CAP\n");
		return 2;
	}
	sport = atoi(argv[2]);
	lport = atoi(argv[3]);
	n = strtoul(argv[5], NULL, 10);
	runs = strtoul(argv[6], NULL, 10);
	flood_mb = atof(argv[7]);
	cap = atof(argv[8]);
	bench_stream(&s, n, 2, 5000);

	lfd = listen_on(sport);
	fprintf(stderr, "loadgen: listening on %d\n", sport);
	up = accept_one(lfd);
	serve_handshake(up);
	rt = read_pidfile(argv[4]);
	comp = bench_connect(lport);
	bench_component_handshake(comp, BENCH_DOMAIN, secret, "loadgen");
	set_nonblock(up, true);
	set_nonblock(comp, true);
	fprintf(stderr, "loadgen: runtime %d connected both ways; %zu "
	    "stanzas, %zu bytes per run\n", (int)rt, s.nstanzas, s.len);
	usleep(200000);
	idle = proc_status_kib(rt, "VmRSS");
	result("5-memory", "rss_idle", "KiB", (double)idle, "budget_KiB", 4096);

	/* Untimed warm-up: faults in buffers on both sides. */
	pump(up, comp, &s);
	for (size_t r = 0; r < runs; r++) {
		double tp = bench_parse(&s, &count);
		double c0 = proc_cpu_s(rt), t = pump(up, comp, &s);
		double cpu = proc_cpu_s(rt) - c0;

		result("2-one-hop", "hop_rate", "stanzas/s", (double)n / t,
		    "parse_rate", (double)n / tp);
		result("2-one-hop", "hop_bandwidth", "MB/s",
		    (double)s.len / t / 1e6, "parse_MB/s",
		    (double)s.len / tp / 1e6);
		result("2-one-hop", "runtime_cpu_per_stanza", "us",
		    cpu / (double)n * 1e6, "parse_us_per_stanza",
		    tp / (double)n * 1e6);
		result("2-one-hop", "runtime_cpu_busy", "fraction", cpu / t,
		    "-", 0);
	}
	if (flood_mb > 0) {
		/* The component stops reading; offer FLOOD_MB and wait until
		 * the runtime stops taking them (backpressure) or all went. */
		size_t want = (size_t)(flood_mb * 1e6), sent = 0, off = 0;

		while (sent < want) {
			struct pollfd pf = { .fd = up, .events = POLLOUT };
			ssize_t w;

			if (poll(&pf, 1, 1500) != 1)
				break;   /* not read for 1.5 s: pushed back */
			w = write(up, s.p + off, s.len - off);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				die("write upstream (flood)");
			if (w > 0) {
				sent += (size_t)w;
				off = (off + (size_t)w) % s.len;
			}
			drain(up);
		}
		usleep(300000);
		result("5-memory", "rss_flood", "KiB",
		    (double)proc_status_kib(rt, "VmRSS"), "idle+cap_KiB",
		    (double)idle + cap / 1024);
		result("5-memory", "rss_peak", "KiB",
		    (double)proc_status_kib(rt, "VmHWM"), "idle+cap_KiB",
		    (double)idle + cap / 1024);
		result("5-memory", "flood_offered_taken", "MB", (double)sent / 1e6,
		    "offered_MB", flood_mb);
	}
	close(comp);
	close(up);
	close(lfd);
	free(s.p);
	return 0;
}

/* ------------------------------------------------------------ latency */

/* A message of about 250 bytes carrying its sequence number as its id. */
static size_t
lat_message(char *out, size_t cap, uint32_t run, uint32_t seq)
{
	return (size_t)snprintf(out, cap, "<message from='user%u@example.test/"
	    "r%u' to='room%u@" BENCH_DOMAIN "' type='chat' id='%u-%u'><body>"
	    "latency probe: the quick brown fox jumps over the lazy dog; "
	    "caf\xc3\xa9 &amp; na\xc3\xafve text to reach a realistic size"
	    "</body></message>", seq % 100000, seq % 100000, seq % 97, run,
	    seq);
}

/* Finds complete </message> stanzas in *buf (*len bytes), calls fn for
 * each with its bytes, and keeps the unfinished rest. */
static void
each_message(char *buf, size_t *len, void (*fn)(void *, const char *,
    size_t), void *arg)
{
	static const char end[] = "</message>";
	size_t start = 0;

	for (;;) {
		char *e = memmem(buf + start, *len - start, end, sizeof end - 1);

		if (e == NULL)
			break;
		size_t stop = (size_t)(e - buf) + sizeof end - 1;

		fn(arg, buf + start, stop - start);
		start = stop;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
}

/*
 * Everything in the latency runs is written through non-blocking output
 * buffers (struct bench_obuf), so loadgen never blocks in a write while
 * the other side waits for it to read (the runtimes push back through the
 * whole loop).
 */
struct lat {
	uint64_t *sent;      /* send time by sequence number */
	double *lat;         /* latencies in microseconds, by arrival */
	size_t nlat, max;
	size_t back;         /* echoes of this run, warm-up ones included */
	size_t skip;         /* the first skip messages are the warm-up */
	uint64_t t_read;     /* when the read() that brought them returned */
	uint32_t run;        /* ids are RUN-SEQ: late echoes of an earlier
	                      * run are not counted in this one */
	struct bench_obuf echo;  /* the component's echoes */
};

static void
got_reply(void *arg, const char *p, size_t n)
{
	struct lat *L = arg;
	char id[32];
	uint64_t now = L->t_read;
	unsigned long seq;
	char *dash;

	if (!bench_attr(p, n, "id", id, sizeof id, NULL) ||
	    strtoul(id, &dash, 10) != L->run || *dash != '-')
		return;
	seq = strtoul(dash + 1, NULL, 10);
	if (seq < L->max && L->sent[seq] != 0) {
		if (seq >= L->skip)
			L->lat[L->nlat++] = (double)(now - L->sent[seq]) / 1e3;
		L->sent[seq] = 0;
		L->back++;
	}
}

/* The echoing real component: the same message back to its sender. */
static void
echo_message(void *arg, const char *p, size_t n)
{
	struct lat *L = arg;
	char from[256], id[32], to[256], out[1024];
	const char *body = memmem(p, n, "<body>", 6);
	int k;

	if (body == NULL ||
	    !bench_attr(p, n, "from", from, sizeof from, NULL) ||
	    !bench_attr(p, n, "id", id, sizeof id, NULL) ||
	    !bench_attr(p, n, "to", to, sizeof to, NULL))
		return;
	k = snprintf(out, sizeof out, "<message from='%s' to='%s' type='chat' "
	    "id='%s'>%.*s", to, from, id, (int)(n - (size_t)(body - p)), body);
	if (k > 0 && (size_t)k < sizeof out)
		bench_ob_add(&L->echo, out, (size_t)k);
}

/* Reads what fd has into buf and hands complete messages to fn.  The
 * time the read() returned goes to *t_read first, before any parsing, so
 * the parsing of a batch does not count as latency of its last stanzas. */
static void
read_messages(int fd, char *buf, size_t cap, size_t *len,
    void (*fn)(void *, const char *, size_t), void *arg, uint64_t *t_read)
{
	ssize_t r = read(fd, buf + *len, cap - *len);

	if (t_read != NULL)
		*t_read = now_ns();

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		errno = r < 0 ? errno : ECONNRESET;
		die("read");
	}
	*len += (size_t)r;
	each_message(buf, len, fn, arg);
}

/*
 * What one socket of the latency runs has read but not parsed and has to
 * write.  Both persist from one run to the next: a run may end in the
 * middle of a stanza either way, and the next must go on from there, or
 * it would send or parse half a stanza.
 */
struct side {
	int fd;
	char in[1 << 17];
	size_t inlen;
	struct bench_obuf out;
};

static struct side *
side_of(int fd)
{
	static struct side sides[4];

	for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++)
		if (sides[i].fd == fd + 1 || sides[i].fd == 0) {
			sides[i].fd = fd + 1;   /* 0 = free */
			return &sides[i];
		}
	errno = 0;
	die("too many sockets");
	return NULL;
}

static void
ignore_message(void *arg, const char *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
}

/*
 * Offers messages on fd (non-blocking) at rate for warm + secs seconds,
 * open loop on a fixed schedule, and reads their echoes back from fd.
 * Each message is stamped right before the write() that hands it to the
 * kernel (after it was formatted), each echo right after the read() that
 * returned it.  Messages of the first warm seconds are not measured.
 * When comp >= 0 it is a component socket whose messages are echoed back
 * into it.  Waits at most 2 s after the last send.  Fills L->lat with the
 * measured ones; returns the number of measured messages sent.
 */
static size_t
lat_run(int fd, int comp, double rate, double warm, double secs,
    struct lat *L)
{
	struct side *sd = side_of(fd), *sc = comp >= 0 ? side_of(comp) : NULL;
	struct bench_obuf *out = &sd->out;
	size_t sent = 0;
	size_t total = (size_t)(rate * (warm + secs));
	uint64_t t0 = now_ns(), gap = (uint64_t)(1e9 / rate), deadline;
	char msg[512];

	if (total > L->max) {
		L->max = total;
		free(L->sent);
		free(L->lat);
		L->sent = calloc(L->max, sizeof *L->sent);
		L->lat = calloc(L->max, sizeof *L->lat);
		if (L->sent == NULL || L->lat == NULL)
			die("calloc");
	}
	memset(L->sent, 0, L->max * sizeof *L->sent);
	L->nlat = L->back = 0;
	L->skip = (size_t)(rate * warm);
	L->run++;
	deadline = t0 + (uint64_t)((warm + secs) * 1e9) + 2000000000u;
	while (L->back < sent || sent < total) {
		uint64_t now = now_ns();
		struct pollfd pf[2] = {
			{ .fd = fd, .events = POLLIN |
			    (out->off < out->len ? POLLOUT : 0) },
			{ .fd = comp, .events = POLLIN |
			    (L->echo.off < L->echo.len ? POLLOUT : 0) },
		};
		struct timespec ts = { 0, 0 };

		if (now > deadline)
			break;
		/* Everything due goes out in one write, stamped right
		 * before it.  A message that stays in out (the socket is
		 * full) keeps that stamp: the wait is the path's backlog. */
		if (sent < total && now >= t0 + sent * gap) {
			size_t first = sent;
			uint64_t t;

			while (sent < total && now >= t0 + sent * gap) {
				size_t n = lat_message(msg, sizeof msg, L->run,
				    (uint32_t)sent);

				bench_ob_add(out, msg, n);
				sent++;
			}
			t = now_ns();
			for (size_t i = first; i < sent; i++)
				L->sent[i] = t;
			bench_ob_flush(out, fd);
			continue;
		}
		if (sent < total) {
			uint64_t wait = t0 + sent * gap - now;

			ts.tv_sec = (time_t)(wait / 1000000000u);
			ts.tv_nsec = (long)(wait % 1000000000u);
		} else
			ts.tv_nsec = 10000000;
		if (ppoll(pf, comp >= 0 ? 2 : 1, &ts, NULL) < 0 &&
		    errno != EINTR)
			die("ppoll");
		if (pf[0].revents & POLLOUT)
			bench_ob_flush(out, fd);
		if (pf[0].revents & (POLLIN | POLLHUP))
			read_messages(fd, sd->in, sizeof sd->in, &sd->inlen,
			    got_reply, L, &L->t_read);
		if (comp >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			read_messages(comp, sc->in, sizeof sc->in, &sc->inlen,
			    echo_message, L, NULL);
			bench_ob_flush(&L->echo, comp);
		} else if (comp >= 0 && (pf[1].revents & POLLOUT))
			bench_ob_flush(&L->echo, comp);
	}
	/*
	 * Late echoes of this run must not count in the next one: for
	 * 200 ms, and for as long as (up to 20 s) there is still something
	 * to write, echoes are read and dropped, whole stanzas at a time.
	 */
	for (uint64_t t0d = now_ns(), now = t0d;
	    now < t0d + 20000000000u && (now < t0d + 200000000u ||
	    out->off < out->len || L->echo.off < L->echo.len);
	    now = now_ns()) {
		struct pollfd pf[2] = {
			{ .fd = fd, .events = POLLIN |
			    (out->off < out->len ? POLLOUT : 0) },
			{ .fd = comp, .events = POLLIN |
			    (L->echo.off < L->echo.len ? POLLOUT : 0) },
		};

		if (poll(pf, comp >= 0 ? 2 : 1, 10) < 0 && errno != EINTR)
			die("poll");
		if (pf[0].revents & POLLOUT)
			bench_ob_flush(out, fd);
		if (pf[0].revents & (POLLIN | POLLHUP))
			read_messages(fd, sd->in, sizeof sd->in, &sd->inlen,
			    ignore_message, L, NULL);
		if (comp >= 0 && (pf[1].revents & (POLLIN | POLLHUP)))
			read_messages(comp, sc->in, sizeof sc->in, &sc->inlen,
			    echo_message, L, NULL);
		if (comp >= 0 && L->echo.off < L->echo.len)
			bench_ob_flush(&L->echo, comp);
	}
	return sent > L->skip ? sent - L->skip : 0;
}

/* A child process echoing every byte of one loopback connection. */
static pid_t
echo_child(int port, int lfd)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		char buf[65536];
		int fd = accept(lfd, NULL, NULL);
		ssize_t r;

		if (fd < 0)
			_exit(1);
		tune(fd);
		while ((r = read(fd, buf, sizeof buf)) > 0)
			bench_write_all(fd, buf, (size_t)r);
		_exit(0);
	}
	return pid;
}

/*
 * Sorts L->lat and reports p50, p99 and p99.9 of one load against the
 * baseline's (base, from as many samples: base_n).  p99.9 is reported
 * only when both sides have at least MIN_P999 samples: with fewer, it is
 * one of the last ten values and says nothing.
 */
#define MIN_P999	10000
static void
lat_report(const char *load, struct lat *L, size_t sent, const double *base,
    size_t base_n)
{
	static const double ps[3] = { 50, 99, 99.9 };
	static const char *const names[3] = { "p50", "p99", "p99.9" };
	char metric[64], bname[64];

	qsort(L->lat, L->nlat, sizeof *L->lat, bench_cmp_double);
	for (int i = 0; i < 3; i++) {
		double v = bench_pct(L->lat, L->nlat, ps[i]);

		if (i == 2 && (L->nlat < MIN_P999 || base_n < MIN_P999)) {
			fprintf(stderr, "loadgen: %s: %zu samples (baseline %zu):"
			    " too few for p99.9, not reported\n", load,
			    L->nlat, base_n);
			continue;
		}
		snprintf(metric, sizeof metric, "%s_%s", load, names[i]);
		snprintf(bname, sizeof bname, "loopback_%s_us", names[i]);
		result("3-virtual-path", metric, "us", v, bname, base[i]);
		snprintf(metric, sizeof metric, "%s_%s_added", load, names[i]);
		result("3-virtual-path", metric, "us", v - base[i], "-", 0);
	}
	snprintf(metric, sizeof metric, "%s_lost", load);
	result("3-virtual-path", metric, "stanzas", (double)(sent - L->nlat),
	    "sent", (double)sent);
}

/* The median of n latencies taken in arrival order (copied, not moved). */
static double
median_of(const double *v, size_t n)
{
	double *c = malloc(n * sizeof *c), m;

	if (c == NULL)
		die("malloc");
	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, bench_cmp_double);
	m = c[n / 2];
	free(c);
	return m;
}

/*
 * Does the path sustain rate?  Yes when every echo came back and the
 * backlog did not grow: the median latency of the last quarter of the
 * echoes (in arrival order) is at most 1.25 times that of the second
 * quarter plus 1 ms (the noise of a shared machine), and at most 5 ms:
 * a path that holds 5 ms of work in its queues is backlogged.  Over capacity, the
 * queue and so the latency grow with the time offered: the last quarter
 * (centred at 7/8 of the run) then waits about 2.3 times as long as the
 * second (centred at 3/8).
 */
static bool
sustained(int up, int comp, double rate, double secs, struct lat *L)
{
	size_t s = lat_run(up, comp, rate, 0.05, secs, L), q;
	double early, late;

	if (L->nlat < s || L->nlat < 40)
		return false;
	q = L->nlat / 4;
	early = median_of(L->lat + q, q);
	late = median_of(L->lat + 3 * q, L->nlat - 3 * q);
	fprintf(stderr, "loadgen: saturation probe %.0f/s: median latency "
	    "%.0f us then %.0f us\n", rate, early, late);
	return late <= 1.25 * early + 1000 && late <= 5000;
}

/*
 * The virtual path's own saturation rate: the highest rate it sustains
 * (above), found by growing from hint by half until a rate fails, then
 * bisecting to within 6 %.  0 when even hint / 64 fails.
 */
static double
path_saturation(int up, int comp, double hint, double secs, struct lat *L)
{
	double good = 0, bad = 0, r = hint;

	for (int i = 0; i < 16; i++) {
		if (sustained(up, comp, r, secs, L))
			good = r;
		else
			bad = r;
		if (bad == 0 && r * 1.5 > hint * 4)
			break;   /* a path of four hops is no faster than one */
		if (bad == 0)
			r *= 1.5;
		else if (good == 0) {
			if (r < hint / 64)
				break;
			r /= 2;
		} else if (bad / good < 1.06)
			break;
		else
			r = (good + bad) / 2;
	}
	return good;
}

/* One load: the loopback baseline, then the path, at the same rate. */
static void
lat_load(int up, int comp, int efd, const char *name, double rr,
    const char *bname, double bvalue, double secs, size_t min_samples,
    struct lat *L)
{
	double base[3], warm = secs / 10 > 0.05 ? secs / 10 : 0.05;
	size_t s, base_n;

	/* Long enough for min_samples measured ones, within reason. */
	if (rr > 0 && (double)min_samples * 1.02 / rr > secs)
		secs = (double)min_samples * 1.02 / rr;
	if (secs > 8)
		secs = 8;
	lat_run(efd, -1, rr, warm, secs, L);
	qsort(L->lat, L->nlat, sizeof *L->lat, bench_cmp_double);
	base[0] = bench_pct(L->lat, L->nlat, 50);
	base[1] = bench_pct(L->lat, L->nlat, 99);
	base[2] = bench_pct(L->lat, L->nlat, 99.9);
	base_n = L->nlat;
	s = lat_run(up, comp, rr, warm, secs, L);
	result("3-virtual-path", name, "stanzas/s", rr, bname, bvalue);
	fprintf(stderr, "loadgen: %s at %.0f/s: %zu measured, %zu back\n",
	    name, rr, s, L->nlat);
	lat_report(name, L, s, base, base_n);
}

/*
 * The virtual path's connections, for the lat, window and routes modes
 * (argv[2] SERVER_PORT, argv[3] LISTEN_PORT, argv[4] H_SERVER_PORT): the
 * virtual runtime's upstream (*up) and the home's (*hup), accepted and
 * answered as their server, and this generator's component session at
 * the home's listener (*comp).
 */
static void
path_open(char **argv, int *up, int *hup, int *comp)
{
	int lfd = listen_on(atoi(argv[2]));
	int hlfd = listen_on(atoi(argv[4]));

	fprintf(stderr, "loadgen: listening on %s and %s\n", argv[2], argv[4]);
	*up = accept_one(lfd);
	serve_handshake(*up);
	*hup = accept_one(hlfd);
	serve_handshake(*hup);
	*comp = bench_connect(atoi(argv[3]));
	bench_component_handshake(*comp, BENCH_DOMAIN, secret, "loadgen");
	/* The listeners stay open (a reconnecting upstream waits in their
	 * backlog), as they did when each mode opened them itself. */
}

static int
cmd_lat(int argc, char **argv)
{
	static const double loads[3] = { 0.10, 0.50, 0.90 };
	static const char *const hnames[3] = { "load10", "load50", "load90" };
	static const char *const pnames[3] = { "path10", "path50", "path90" };
	int up, hup, comp, elfd, eport, efd;
	double rate, secs, probe;
	size_t runs, min_samples, searches;
	double own = 0;
	struct lat L;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	pid_t echo;

	if (argc != 11) {
		fprintf(stderr, "usage: loadgen lat SERVER_PORT LISTEN_PORT "
		    "H_SERVER_PORT RATE SECONDS RUNS MIN_SAMPLES PROBE_SECS "
		    "SEARCHES\n");
		return 2;
	}
	rate = atof(argv[5]);
	secs = atof(argv[6]);
	runs = strtoul(argv[7], NULL, 10);
	min_samples = strtoul(argv[8], NULL, 10);
	probe = atof(argv[9]);
	searches = strtoul(argv[10], NULL, 10);
	L.max = (size_t)(rate * secs * 1.2) + 16;
	L.run = 0;
	memset(&L.echo, 0, sizeof L.echo);
	L.sent = calloc(L.max, sizeof *L.sent);
	L.lat = calloc(L.max, sizeof *L.lat);
	if (L.sent == NULL || L.lat == NULL)
		die("calloc");

	path_open(argv, &up, &hup, &comp);

	/* The baseline: a loopback connection to an echoing child. */
	elfd = listen_on(0);
	if (getsockname(elfd, (struct sockaddr *)&sa, &sl) < 0)
		die("getsockname");
	eport = ntohs(sa.sin_port);
	echo = echo_child(eport, elfd);
	efd = bench_connect(eport);
	set_nonblock(up, true);
	set_nonblock(comp, true);
	set_nonblock(efd, true);

	/* Wait until vcomp-V sees the home's STATUS: probe until an echo
	 * comes back (stanzas sent before wait in V's queue anyway). */
	{
		lat_run(up, comp, 100, 0, 0.2, &L);
		fprintf(stderr, "loadgen: virtual path warm-up: %zu of %zu "
		    "echoed\n", L.back, (size_t)20);
		if (L.back == 0) {
			errno = 0;
			die("nothing came back through the virtual path");
		}
	}
	for (size_t r = 0; r < runs; r++) {
		/* The path's own saturation first: a round trip crosses four
		 * runtime hops, so a quarter of one hop's rate is the hint. */
		if (r < searches || own == 0)
			own = path_saturation(up, comp, rate / 4, probe, &L);
		result("3-virtual-path", "path_saturation", "stanzas/s", own,
		    "one_hop_rate", rate);
		fprintf(stderr, "loadgen: run %zu: path saturation %.0f/s\n",
		    r + 1, own);
		for (int i = 0; i < 3; i++)
			lat_load(up, comp, efd, hnames[i], rate * loads[i],
			    "one_hop_rate", rate, secs, min_samples, &L);
		for (int i = 0; own > 0 && i < 3; i++)
			lat_load(up, comp, efd, pnames[i], own * loads[i],
			    "path_saturation", own, secs, min_samples, &L);
	}
	close(efd);
	waitpid(echo, NULL, 0);
	close(comp);
	close(up);
	close(hup);
	return 0;
}

/*
 * The closed-loop run of `loadgen window`: n messages on up, at most
 * window in flight, the component's side (comp) echoing each.  Dies when
 * nothing moves for IO_TIMEOUT_MS.
 */
static void
window_run(int up, int comp, size_t n, size_t window, struct lat *L)
{
	struct side *sd = side_of(up), *sc = side_of(comp);
	size_t sent = 0;
	char msg[512];

	memset(L->sent, 0, L->max * sizeof *L->sent);
	L->nlat = L->back = L->skip = 0;
	L->run++;
	while (L->back < n) {
		struct pollfd pf[2] = {
			{ .fd = up, .events = POLLIN |
			    (sd->out.off < sd->out.len ? POLLOUT : 0) },
			{ .fd = comp, .events = POLLIN |
			    (L->echo.off < L->echo.len ? POLLOUT : 0) },
		};
		int r;

		if (sent < n && sent - L->back < window) {
			while (sent < n && sent - L->back < window) {
				size_t k = lat_message(msg, sizeof msg, L->run,
				    (uint32_t)sent);

				bench_ob_add(&sd->out, msg, k);
				L->sent[sent++] = 1;
			}
			bench_ob_flush(&sd->out, up);
		}
		if ((r = poll(pf, 2, IO_TIMEOUT_MS)) < 0 && errno != EINTR)
			die("poll");
		if (r == 0) {
			errno = ETIMEDOUT;
			die("window: no echo");
		}
		if (pf[0].revents & POLLOUT)
			bench_ob_flush(&sd->out, up);
		if (pf[0].revents & (POLLIN | POLLHUP))
			read_messages(up, sd->in, sizeof sd->in, &sd->inlen,
			    got_reply, L, &L->t_read);
		if (pf[1].revents & (POLLIN | POLLHUP))
			read_messages(comp, sc->in, sizeof sc->in, &sc->inlen,
			    echo_message, L, NULL);
		if (L->echo.off < L->echo.len)
			bench_ob_flush(&L->echo, comp);
	}
}

static int
cmd_window(int argc, char **argv)
{
	int up, hup, comp;
	size_t n, window;
	struct lat L;
	sigset_t usr1;
	int sig;

	/* Blocked from the start, so a signal sent early waits for sigwait. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	if (argc != 7) {
		fprintf(stderr, "usage: loadgen window SERVER_PORT LISTEN_PORT "
		    "H_SERVER_PORT N WINDOW\n");
		return 2;
	}
	n = strtoul(argv[5], NULL, 10);
	window = strtoul(argv[6], NULL, 10);
	if (n == 0 || window == 0) {
		fprintf(stderr, "loadgen window: N and WINDOW must be > 0\n");
		return 2;
	}
	memset(&L, 0, sizeof L);
	L.max = n;
	L.sent = calloc(L.max, sizeof *L.sent);
	L.lat = calloc(L.max, sizeof *L.lat);
	if (L.sent == NULL || L.lat == NULL)
		die("calloc");
	path_open(argv, &up, &hup, &comp);
	set_nonblock(up, true);
	set_nonblock(comp, true);
	/* The path is up once one echo comes back (V queues until then). */
	window_run(up, comp, 1, 1, &L);
	fprintf(stderr, "loadgen: path up\n");
	sigwait(&usr1, &sig);
	window_run(up, comp, n, window, &L);
	fprintf(stderr, "loadgen: window %zu: %zu messages echoed; done\n",
	    window, L.back);
	sigwait(&usr1, &sig);
	close(comp);
	close(up);
	close(hup);
	return 0;
}

/* ------------------------------------------------------------ routes */

/* GET /metrics from vcomp-H's stats listener; the value of the sample
 * "NAME V" (a metric without labels). */
static double
stat_value(int port, const char *name)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	static char buf[1 << 16];
	size_t len = 0, nl = strlen(name);
	int fd = bench_connect(port);
	ssize_t r;
	char *p;

	bench_write_all(fd, req, sizeof req - 1);
	while (len + 1 < sizeof buf &&
	    (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	buf[len] = '\0';
	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ')
			return atof(p + nl + 1);
	}
	fprintf(stderr, "loadgen: no %s in vcomp-H's /metrics\n", name);
	exit(1);
}

/*
 * Reads what the component has and counts the "</message>" ends in it.
 * The last 9 bytes of each read (one short of an end, so no end is
 * counted twice) are kept in front of the next one in buf, so an end
 * split across reads is counted once.  *carry is how many are kept.
 * Returns the ends found, or -1 when the stream closed.
 */
static long
read_ends(int fd, char *buf, size_t cap, size_t *carry)
{
	static const char end[] = "</message>";
	ssize_t r = read(fd, buf + *carry, cap - *carry);
	size_t n;
	long k = 0;

	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (r < 0)
		return 0;
	n = *carry + (size_t)r;
	for (char *e = buf; (e = memmem(e, (size_t)(buf + n - e), end,
	    sizeof end - 1)) != NULL; e += sizeof end - 1)
		k++;
	*carry = n < sizeof end - 2 ? n : sizeof end - 2;
	memmove(buf, buf + n - *carry, *carry);
	return k;
}

static int
cmd_routes(int argc, char **argv)
{
	static char rbuf[1 << 17];
	int up, hup, comp, stats;
	size_t n, sent = 0, got = 0, carry = 0, jids = 0;
	struct bench_obuf o = { 0 };
	char msg[512];
	long k;
	pid_t h;
	long rss0, rss1;
	double e0, b0, e1, b1, t0;

	if (argc != 8) {
		fprintf(stderr, "usage: loadgen routes SERVER_PORT LISTEN_PORT "
		    "H_SERVER_PORT H_PID STATS_PORT N\n");
		return 2;
	}
	h = (pid_t)atoi(argv[5]);
	stats = atoi(argv[6]);
	n = strtoul(argv[7], NULL, 10);
	path_open(argv, &up, &hup, &comp);
	set_nonblock(up, true);
	set_nonblock(comp, true);

	/* The path is up once a probe reaches the component (it learns one
	 * route, counted in the baseline below). */
	for (int i = 0; got == 0; i++) {
		struct pollfd pf = { .fd = comp, .events = POLLIN };
		int l = snprintf(msg, sizeof msg, "<message from='probe@example."
		    "test/p' to='room@" BENCH_DOMAIN "' id='p%d'><body>p</body>"
		    "</message>", i);

		if (i == 50) {
			errno = 0;
			die("nothing came through the virtual path");
		}
		bench_ob_add(&o, msg, (size_t)l);
		bench_ob_flush(&o, up);
		if (poll(&pf, 1, 200) == 1) {
			if ((k = read_ends(comp, rbuf, sizeof rbuf, &carry)) < 0)
				die("the runtime closed the component stream");
			got = (size_t)k;
		}
		drain(up);
	}
	usleep(300000);
	drain(comp);
	rss0 = proc_status_kib(h, "VmRSS");
	e0 = stat_value(stats, "vcomp_return_routes");
	b0 = stat_value(stats, "vcomp_return_routes_bytes");
	fprintf(stderr, "loadgen: routes: %zu messages from distinct JIDs; "
	    "vcomp-H at %ld KiB, %.0f entries\n", n, rss0, e0);

	t0 = now_s();
	got = 0;
	carry = 0;
	while (got < n) {
		struct pollfd pf[2] = {
			{ .fd = up, .events = POLLIN | POLLOUT },
			{ .fd = comp, .events = POLLIN },
		};

		/* Keep about 256 KiB ahead of what the path took. */
		while (sent < n && o.len - o.off < (1 << 18)) {
			int jl = bench_jid(msg, 256, (uint32_t)sent);
			char m[512];
			int l = snprintf(m, sizeof m, "<message from='%.*s' "
			    "to='room%zu@" BENCH_DOMAIN "' type='groupchat' "
			    "id='r%zu'><body>hello</body></message>", jl, msg,
			    sent % 97, sent);

			jids += (size_t)jl;
			bench_ob_add(&o, m, (size_t)l);
			sent++;
		}
		if (poll(pf, 2, IO_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "loadgen: routes stalled: sent %zu, "
			    "component got %zu\n", sent, got);
			exit(1);
		}
		if (pf[0].revents & POLLOUT)
			bench_ob_flush(&o, up);
		if ((pf[0].revents & (POLLIN | POLLHUP)) && !drain(up)) {
			errno = 0;
			die("vcomp-V closed its upstream");
		}
		if (pf[1].revents & (POLLIN | POLLHUP)) {
			if ((k = read_ends(comp, rbuf, sizeof rbuf, &carry)) < 0)
				die("vcomp-H closed the component stream");
			got += (size_t)k;
		}
	}
	t0 = now_s() - t0;
	rss1 = proc_status_kib(h, "VmRSS");
	e1 = stat_value(stats, "vcomp_return_routes");
	b1 = stat_value(stats, "vcomp_return_routes_bytes");
	fprintf(stderr, "loadgen: routes: %zu delivered in %.2f s; vcomp-H "
	    "at %ld KiB, %.0f entries, %.0f bytes\n", got, t0, rss1, e1, b1);
	result("5-memory", "routes_live_entries", "entries", e1 - e0,
	    "sent", (double)n);
	result("5-memory", "routes_live_bytes_per_entry", "B",
	    (b1 - b0) / (e1 - e0), "jid_avg_B", (double)jids / (double)n);
	result("5-memory", "routes_live_rss_per_entry", "B",
	    (double)(rss1 - rss0) * 1024.0 / (e1 - e0), "jid_avg_B",
	    (double)jids / (double)n);
	close(comp);
	close(up);
	close(hup);
	free(o.p);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	/* The default 50 us timer slack would batch the paced sends of the
	 * latency runs; ask for the finest the kernel gives. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	secret = getenv("VCOMP_BENCH_SECRET");
	if (secret == NULL || *secret == '\0') {
		fprintf(stderr, "loadgen: VCOMP_BENCH_SECRET is not set\n");
		return 2;
	}
	if (argc >= 2 && strcmp(argv[1], "hop") == 0)
		return cmd_hop(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "lat") == 0)
		return cmd_lat(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "window") == 0)
		return cmd_window(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "routes") == 0)
		return cmd_routes(argc, argv);
	fprintf(stderr, "usage: loadgen hop|lat|window|routes ...\n");
	return 2;
}
