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
 *       Section 3: the virtual path.  SERVER_PORT is vcomp-V's server,
 *       LISTEN_PORT vcomp-H's home listener (the component here echoes
 *       every message back to its sender, through vcomp-H's return route
 *       and vcomp-V), H_SERVER_PORT vcomp-H's server (accepted and kept
 *       idle).  For each run and each load (10, 50, 90 % of RATE) it first
 *       measures the baseline, the same messages at the same rate echoed
 *       by a child process over a loopback TCP connection, then the path.
 *       Messages are sent open-loop on a schedule; the latency of each is
 *       the time from its write to the arrival of its echo.
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

/* Connects to 127.0.0.1:port, retrying while the listener is not up yet. */
static int
connect_to(int port)
{
	struct sockaddr_in sa = loopback(port);

	for (int i = 0; i < IO_TIMEOUT_MS / 20; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			tune(fd);
			return fd;
		}
		close(fd);
		usleep(20000);
	}
	die("connect to the home listener");
	return -1;
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* Reads into buf (NUL-terminated, *len bytes so far) until it holds
 * needle; returns a pointer to it. */
static char *
read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle)
{
	char *hit;

	while ((hit = strstr(buf, needle)) == NULL) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (*len + 1 >= cap) {
			errno = 0;
			die("handshake too long");
		}
		if (poll(&pf, 1, IO_TIMEOUT_MS) != 1) {
			errno = ETIMEDOUT;
			die(needle);
		}
		r = read(fd, buf + *len, cap - 1 - *len);
		if (r <= 0) {
			fprintf(stderr, "loadgen: got so far: %s\n", buf);
			errno = r < 0 ? errno : ECONNRESET;
			die(needle);
		}
		*len += (size_t)r;
		buf[*len] = '\0';
	}
	return hit;
}

/* The server side of XEP-0114 toward a runtime's upstream connection. */
static void
serve_handshake(int fd)
{
	static const char sid[] = "b3e1c0ffee00dd11b3e1c0ffee00dd11";
	char buf[4096], hdr[512], *h, *e;
	size_t len = 0;

	buf[0] = '\0';
	h = read_until(fd, buf, sizeof buf, &len, "<stream:stream");
	read_until(fd, buf, sizeof buf, &len, ">");
	(void)h;
	snprintf(hdr, sizeof hdr, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' xmlns:stream="
	    "'http://etherx.jabber.org/streams' from='" BENCH_DOMAIN
	    "' id='%s'>", sid);
	write_all(fd, hdr, strlen(hdr));
	h = read_until(fd, buf, sizeof buf, &len, "</handshake>");
	*h = '\0';
	if ((e = strstr(buf, "<handshake>")) == NULL ||
	    !xep0114_verify(sid, secret, e + strlen("<handshake>"))) {
		errno = 0;
		die("the runtime's upstream handshake does not match the secret");
	}
	write_all(fd, "<handshake/>", 12);
}

/* The real component's side of XEP-0114 toward a runtime's home listener. */
static void
component_handshake(int fd)
{
	char buf[4096], id[128], hex[XEP0114_HEX_LEN + 1], msg[128], *p;
	const char *hdr = "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='" BENCH_DOMAIN "'>";
	size_t len = 0, n;

	buf[0] = '\0';
	write_all(fd, hdr, strlen(hdr));
	read_until(fd, buf, sizeof buf, &len, "<stream:stream");
	p = read_until(fd, buf, sizeof buf, &len, " id=");
	read_until(fd, buf, sizeof buf, &len, ">");
	p += 5;
	n = strcspn(p, "'\"");
	if (n >= sizeof id) {
		errno = 0;
		die("stream id too long");
	}
	memcpy(id, p, n);
	id[n] = '\0';
	xep0114_handshake(id, secret, hex);
	snprintf(msg, sizeof msg, "<handshake>%s</handshake>", hex);
	write_all(fd, msg, strlen(msg));
	read_until(fd, buf, sizeof buf, &len, "<handshake/>");
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
	comp = connect_to(lport);
	component_handshake(comp);
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

/* Reads an attribute value name='...' from a stanza's start tag. */
static bool
attr_of(const char *p, size_t n, const char *name, char *out, size_t cap)
{
	char key[32];
	const char *gt = memchr(p, '>', n), *a;
	size_t kl = (size_t)snprintf(key, sizeof key, " %s=", name), vl;

	if (gt == NULL || (a = memmem(p, (size_t)(gt - p), key, kl)) == NULL)
		return false;
	a += kl + 1;
	vl = strcspn(a, "'\"");
	if (vl >= cap || a + vl > gt)
		return false;
	memcpy(out, a, vl);
	out[vl] = '\0';
	return true;
}

/* Bytes waiting to be written to a non-blocking socket.  Everything in
 * the latency runs is written through these, so loadgen never blocks in a
 * write while the other side waits for it to read (the runtimes push back
 * through the whole loop). */
struct obuf {
	char *p;
	size_t len, off, cap;
};

static void
ob_add(struct obuf *o, const char *p, size_t n)
{
	if (o->off > 0 && o->off == o->len)
		o->off = o->len = 0;
	if (o->len + n > o->cap) {
		size_t c = o->cap ? o->cap : 65536;

		while (c < o->len + n)
			c *= 2;
		if ((o->p = realloc(o->p, c)) == NULL)
			die("realloc");
		o->cap = c;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

static void
ob_flush(struct obuf *o, int fd)
{
	while (o->off < o->len) {
		ssize_t w = write(fd, o->p + o->off, o->len - o->off);

		if (w > 0)
			o->off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN)
			return;
		else
			die("write");
	}
}

struct lat {
	uint64_t *sent;      /* send time by sequence number */
	double *lat;         /* latencies in microseconds, by arrival */
	size_t nlat, max;
	uint32_t run;        /* ids are RUN-SEQ: late echoes of an earlier
	                      * run are not counted in this one */
	struct obuf echo;    /* the component's echoes */
};

static void
got_reply(void *arg, const char *p, size_t n)
{
	struct lat *L = arg;
	char id[32];
	uint64_t now = now_ns();
	unsigned long seq;
	char *dash;

	if (!attr_of(p, n, "id", id, sizeof id) ||
	    strtoul(id, &dash, 10) != L->run || *dash != '-')
		return;
	seq = strtoul(dash + 1, NULL, 10);
	if (seq < L->max && L->sent[seq] != 0 && L->nlat < L->max) {
		L->lat[L->nlat++] = (double)(now - L->sent[seq]) / 1e3;
		L->sent[seq] = 0;
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

	if (body == NULL || !attr_of(p, n, "from", from, sizeof from) ||
	    !attr_of(p, n, "id", id, sizeof id) ||
	    !attr_of(p, n, "to", to, sizeof to))
		return;
	k = snprintf(out, sizeof out, "<message from='%s' to='%s' type='chat' "
	    "id='%s'>%.*s", to, from, id, (int)(n - (size_t)(body - p)), body);
	if (k > 0 && (size_t)k < sizeof out)
		ob_add(&L->echo, out, (size_t)k);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Reads what fd has into buf and hands complete messages to fn. */
static void
read_messages(int fd, char *buf, size_t cap, size_t *len,
    void (*fn)(void *, const char *, size_t), void *arg)
{
	ssize_t r = read(fd, buf + *len, cap - *len);

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
 * Offers messages on fd (non-blocking) at rate for secs, open loop: each
 * is stamped when it is due and handed to the socket, and its echo is
 * read back from fd.  When comp >= 0 it is a component socket whose
 * messages are echoed back into it.  Waits at most 2 s after the last
 * send.  Fills L->lat; returns the number sent.
 */
static size_t
lat_run(int fd, int comp, double rate, double secs, struct lat *L)
{
	static char rbuf[1 << 17], cbuf[1 << 17];
	static struct obuf out;
	size_t rlen = 0, clen = 0, sent = 0, total = (size_t)(rate * secs);
	uint64_t t0 = now_ns(), gap = (uint64_t)(1e9 / rate), deadline;
	char msg[512];

	if (total > L->max)
		total = L->max;
	memset(L->sent, 0, L->max * sizeof *L->sent);
	L->nlat = 0;
	L->run++;
	out.len = out.off = 0;
	L->echo.len = L->echo.off = 0;
	deadline = t0 + (uint64_t)(secs * 1e9) + 2000000000u;
	while (L->nlat < sent || sent < total) {
		uint64_t now = now_ns();
		struct pollfd pf[2] = {
			{ .fd = fd, .events = POLLIN |
			    (out.off < out.len ? POLLOUT : 0) },
			{ .fd = comp, .events = POLLIN |
			    (L->echo.off < L->echo.len ? POLLOUT : 0) },
		};
		struct timespec ts = { 0, 0 };

		if (now > deadline)
			break;
		/* Everything due goes out at once, stamped now. */
		if (sent < total && now >= t0 + sent * gap) {
			while (sent < total && now >= t0 + sent * gap) {
				size_t n = lat_message(msg, sizeof msg, L->run,
				    (uint32_t)sent);

				ob_add(&out, msg, n);
				L->sent[sent++] = now;
			}
			ob_flush(&out, fd);
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
			ob_flush(&out, fd);
		if (pf[0].revents & (POLLIN | POLLHUP))
			read_messages(fd, rbuf, sizeof rbuf, &rlen, got_reply, L);
		if (comp >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			read_messages(comp, cbuf, sizeof cbuf, &clen,
			    echo_message, L);
			ob_flush(&L->echo, comp);
		} else if (comp >= 0 && (pf[1].revents & POLLOUT))
			ob_flush(&L->echo, comp);
	}
	/* Late echoes of this run must not count in the next one. */
	usleep(200000);
	while (read(fd, rbuf, sizeof rbuf) > 0)
		;
	if (comp >= 0) {
		while (read(comp, cbuf, sizeof cbuf) > 0)
			;
		ob_flush(&L->echo, comp);
	}
	return sent;
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
			write_all(fd, buf, (size_t)r);
		_exit(0);
	}
	return pid;
}

static void
lat_report(const char *load, struct lat *L, size_t sent, double *base)
{
	static const double ps[3] = { 50, 99, 99.9 };
	static const char *const names[3] = { "p50", "p99", "p99.9" };
	char metric[64], bname[64];

	qsort(L->lat, L->nlat, sizeof *L->lat, cmp_double);
	for (int i = 0; i < 3; i++) {
		double v = pct(L->lat, L->nlat, ps[i]);

		if (base == NULL)
			continue;
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

static int
cmd_lat(int argc, char **argv)
{
	static const double loads[3] = { 0.10, 0.50, 0.90 };
	static const char *const lnames[3] = { "load10", "load50", "load90" };
	int lfd, hlfd, up, hup, comp, elfd, eport, efd;
	double rate, secs;
	size_t runs;
	struct lat L;
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	pid_t echo;

	if (argc != 8) {
		fprintf(stderr, "usage: loadgen lat SERVER_PORT LISTEN_PORT "
		    "H_SERVER_PORT RATE SECONDS RUNS\n");
		return 2;
	}
	rate = atof(argv[5]);
	secs = atof(argv[6]);
	runs = strtoul(argv[7], NULL, 10);
	L.max = (size_t)(rate * secs) + 16;
	L.run = 0;
	memset(&L.echo, 0, sizeof L.echo);
	L.sent = calloc(L.max, sizeof *L.sent);
	L.lat = calloc(L.max, sizeof *L.lat);
	if (L.sent == NULL || L.lat == NULL)
		die("calloc");

	lfd = listen_on(atoi(argv[2]));
	hlfd = listen_on(atoi(argv[4]));
	fprintf(stderr, "loadgen: listening on %s and %s\n", argv[2], argv[4]);
	up = accept_one(lfd);
	serve_handshake(up);
	hup = accept_one(hlfd);
	serve_handshake(hup);
	comp = connect_to(atoi(argv[3]));
	component_handshake(comp);

	/* The baseline: a loopback connection to an echoing child. */
	elfd = listen_on(0);
	if (getsockname(elfd, (struct sockaddr *)&sa, &sl) < 0)
		die("getsockname");
	eport = ntohs(sa.sin_port);
	echo = echo_child(eport, elfd);
	efd = connect_to(eport);
	set_nonblock(up, true);
	set_nonblock(comp, true);
	set_nonblock(efd, true);

	/* Wait until vcomp-V sees the home's STATUS: probe until an echo
	 * comes back (stanzas sent before wait in V's queue anyway). */
	{
		size_t s = lat_run(up, comp, 100, 0.2, &L);

		fprintf(stderr, "loadgen: virtual path warm-up: %zu of %zu "
		    "echoed\n", L.nlat, s);
		if (L.nlat == 0) {
			errno = 0;
			die("nothing came back through the virtual path");
		}
	}
	for (size_t r = 0; r < runs; r++)
		for (int i = 0; i < 3; i++) {
			double base[3], rr = rate * loads[i];
			size_t s;

			s = lat_run(efd, -1, rr, secs, &L);
			qsort(L.lat, L.nlat, sizeof *L.lat, cmp_double);
			base[0] = pct(L.lat, L.nlat, 50);
			base[1] = pct(L.lat, L.nlat, 99);
			base[2] = pct(L.lat, L.nlat, 99.9);
			(void)s;
			s = lat_run(up, comp, rr, secs, &L);
			result("3-virtual-path", lnames[i], "stanzas/s", rr,
			    "saturation_rate", rate);
			lat_report(lnames[i], &L, s, base);
			fprintf(stderr, "loadgen: run %zu %s: %zu sent, %zu back\n",
			    r + 1, lnames[i], s, L.nlat);
		}
	close(efd);
	waitpid(echo, NULL, 0);
	close(comp);
	close(up);
	close(hup);
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
	fprintf(stderr, "usage: loadgen hop|lat ...\n");
	return 2;
}
