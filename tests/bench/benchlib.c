/*
 * benchlib.c — the stanza generator, the parser and memory-floor
 * measurements, and small helpers of benchlib.h.
 */
#define _GNU_SOURCE         /* memmem, usleep */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "benchlib.h"
#include "buf.h"
#include "xmlstream.h"

const char bench_header[] =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
    "xmlns:stream='http://etherx.jabber.org/streams' from='" BENCH_DOMAIN
    "' id='0123456789abcdef0123456789abcdef'>";

uint32_t
bench_rand(uint32_t *state)
{
	uint32_t x = *state ? *state : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* Words for message text: plain, escaped and multi-byte, as chat is. */
static const char *const words[] = {
	"hello", "the", "meeting", "is", "at", "ten", "tomorrow", "see",
	"you", "there", "&amp;", "&lt;3", "ok", "thanks", "caf\xc3\xa9",
	"na\xc3\xafve", "\xe2\x9c\x93", "room", "deploy", "done", "why?",
	"&quot;quoted&quot;", "link:", "https://example.test/a?b=c&amp;d=e",
	"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "lunch", "+1",
};

static void
add_text(struct vbuf *b, uint32_t *rs, size_t want)
{
	size_t start = b->len;

	while (b->len - start < want) {
		const char *w = words[bench_rand(rs) % (sizeof words /
		    sizeof words[0])];
		if (b->len > start)
			vbuf_addch(b, ' ');
		vbuf_addstr(b, w);
	}
}

static void
add_message(struct vbuf *b, uint32_t *rs, uint32_t user, size_t i)
{
	size_t start = b->len, target = 150 + bench_rand(rs) % 251, head;
	bool chat = bench_rand(rs) % 4 == 0;
	char tmp[256];

	if (chat)
		snprintf(tmp, sizeof tmp, "<message from='user%u@example.test/r%u'"
		    " to='room%u@" BENCH_DOMAIN "/nick%u' type='chat' id='m%zu'>"
		    "<body>", user, user, user % 97, user % 13, i);
	else
		snprintf(tmp, sizeof tmp, "<message from='user%u@example.test/r%u'"
		    " to='room%u@" BENCH_DOMAIN "' type='groupchat' id='m%zu'>"
		    "<body>", user, user, user % 97, i);
	vbuf_addstr(b, tmp);
	head = b->len - start;
	/* </body></message> is 17 bytes; aim the whole stanza at target. */
	add_text(b, rs, target > head + 17 + 8 ? target - head - 17 : 8);
	vbuf_addstr(b, "</body></message>");
}

static void
add_presence(struct vbuf *b, uint32_t *rs, uint32_t user)
{
	static const char *const shows[] = { "away", "chat", "dnd", "xa" };
	char tmp[512];

	snprintf(tmp, sizeof tmp, "<presence from='user%u@example.test/r%u' "
	    "to='room%u@" BENCH_DOMAIN "/nick%u'><show>%s</show>"
	    "<status>", user, user, user % 97, user, shows[bench_rand(rs) % 4]);
	vbuf_addstr(b, tmp);
	add_text(b, rs, 10 + bench_rand(rs) % 30);
	vbuf_addstr(b, "</status><x xmlns='http://jabber.org/protocol/muc'/>"
	    "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
	    "node='https://example.test/client' "
	    "ver='q07IKJEyjvHSyhy//CH0CxmKi8w='/></presence>");
}

static void
add_iq(struct vbuf *b, uint32_t *rs, uint32_t user, size_t i)
{
	char tmp[512];

	if (bench_rand(rs) % 2)
		snprintf(tmp, sizeof tmp, "<iq from='user%u@example.test/r%u' "
		    "to='room%u@" BENCH_DOMAIN "' type='get' id='d%zu'>"
		    "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
		    user, user, user % 97, i);
	else
		snprintf(tmp, sizeof tmp, "<iq from='user%u@example.test/r%u' "
		    "to='" BENCH_DOMAIN "' type='get' id='d%zu'>"
		    "<query xmlns='http://jabber.org/protocol/disco#items'/></iq>",
		    user, user, i);
	vbuf_addstr(b, tmp);
}

void
bench_stream(struct bench_stream *s, size_t n, uint32_t seed,
    uint32_t nusers)
{
	struct vbuf b = { 0 };
	uint32_t rs = seed ? seed : 1;

	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < n; i++) {
		uint32_t r = bench_rand(&rs) % 100;
		uint32_t user = bench_rand(&rs) % (nusers ? nusers : 1);

		if (r < 60) {
			add_message(&b, &rs, user, i);
			s->nmsg++;
		} else if (r < 85) {
			add_presence(&b, &rs, user);
			s->npres++;
		} else {
			add_iq(&b, &rs, user, i);
			s->niq++;
		}
	}
	s->p = b.p;
	s->len = b.len;
	s->nstanzas = n;
}

static void
count_stanza(void *ud, const struct xs_stanza *st)
{
	(*(size_t *)ud)++;
}

double
bench_parse(const struct bench_stream *s, size_t *count)
{
	static const struct xs_callbacks cb = { .stanza = count_stanza };
	struct xs_parser *xs;
	enum xs_status r;
	double t0, t1;
	size_t hl = strlen(bench_header);

	*count = 0;
	xs = xs_new(&cb, count, 512 * 1024);
	if (xs == NULL) {
		fprintf(stderr, "bench: xs_new failed\n");
		exit(1);
	}
	t0 = now_s();
	r = xs_feed(xs, bench_header, hl);
	for (size_t off = 0; r == XS_OK && off < s->len; off += BENCH_CHUNK) {
		size_t n = s->len - off < BENCH_CHUNK ? s->len - off :
		    BENCH_CHUNK;
		r = xs_feed(xs, s->p + off, n);
	}
	t1 = now_s();
	xs_free(xs);
	if (r != XS_OK || *count != s->nstanzas) {
		fprintf(stderr, "bench: parser said %d after %zu of %zu stanzas\n",
		    (int)r, *count, s->nstanzas);
		exit(1);
	}
	return t1 - t0;
}

double
bench_memfloor(const struct bench_stream *s, size_t *count)
{
	static char buf[BENCH_CHUNK];
	double t0, t1;

	*count = 0;
	t0 = now_s();
	for (size_t off = 0; off < s->len; off += BENCH_CHUNK) {
		size_t n = s->len - off < BENCH_CHUNK ? s->len - off :
		    BENCH_CHUNK;
		const char *q = buf, *end = buf + n;

		memcpy(buf, s->p + off, n);
		while ((q = memchr(q, '<', (size_t)(end - q))) != NULL) {
			(*count)++;
			q++;
		}
		/* Keep the copy observable so it is not elided. */
		__asm__ volatile("" : : "r"(buf) : "memory");
	}
	t1 = now_s();
	return t1 - t0;
}

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
proc_cpu_s(pid_t pid)
{
	char path[64], line[2048], *p;
	unsigned long ut, st;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(line, sizeof line, f);
	fclose(f);
	/* The command name may hold spaces: fields restart after ") ". */
	if (p == NULL || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long
proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

void
result(const char *section, const char *metric, const char *unit,
    double value, const char *bname, double bvalue)
{
	printf("R %s %s %s %.6g %s %.6g\n", section, metric, unit, value,
	    bname ? bname : "-", bname ? bvalue : 0.0);
	fflush(stdout);
}

static void
net_die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, err ? strerror(err) :
	    "failed");
	exit(1);
}

int
bench_connect(int port)
{
	struct sockaddr_in sa;
	int one = 1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 750; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			net_die("socket", errno);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof one);
			return fd;
		}
		close(fd);
		usleep(20000);
	}
	net_die("connect to 127.0.0.1", errno);
	return -1;
}

void
bench_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			net_die("write", w < 0 ? errno : 0);
		c += w;
		n -= (size_t)w;
	}
}

char *
bench_read_until(int fd, char *buf, size_t cap, size_t *len,
    const char *needle, int timeout_ms)
{
	char *hit;

	while ((hit = strstr(buf, needle)) == NULL) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (*len + 1 >= cap || poll(&pf, 1, timeout_ms) != 1 ||
		    (r = read(fd, buf + *len, cap - 1 - *len)) <= 0) {
			fprintf(stderr, "bench: waiting for %s, got: %s\n",
			    needle, buf);
			exit(1);
		}
		*len += (size_t)r;
		buf[*len] = '\0';
	}
	return hit;
}

bool
bench_attr(const char *p, size_t n, const char *name, char *out, size_t cap,
    char *quote)
{
	const char *gt = memchr(p, '>', n), *a, *e;
	size_t nl = strlen(name);

	if (gt == NULL)
		return false;
	/* Attribute names are preceded by white space; the value by =. */
	for (a = p; (a = memmem(a, (size_t)(gt - a), name, nl)) != NULL;
	    a += nl) {
		if (a == p || (a[-1] != ' ' && a[-1] != '\t' &&
		    a[-1] != '\n') || a + nl + 1 >= gt || a[nl] != '=' ||
		    (a[nl + 1] != '\'' && a[nl + 1] != '"'))
			continue;
		if ((e = memchr(a + nl + 2, a[nl + 1],
		    (size_t)(gt - (a + nl + 2)))) == NULL ||
		    (size_t)(e - (a + nl + 2)) >= cap)
			return false;
		memcpy(out, a + nl + 2, (size_t)(e - (a + nl + 2)));
		out[e - (a + nl + 2)] = '\0';
		if (quote != NULL)
			*quote = a[nl + 1];
		return true;
	}
	return false;
}

void
bench_ob_add(struct bench_obuf *o, const void *p, size_t n)
{
	if (o->off > 0 && o->off == o->len)
		o->off = o->len = 0;
	if (o->len + n > o->cap) {
		size_t c = o->cap ? o->cap : 65536;

		while (c < o->len + n)
			c *= 2;
		if ((o->p = realloc(o->p, c)) == NULL)
			net_die("realloc", errno);
		o->cap = c;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
}

bool
bench_ob_flush(struct bench_obuf *o, int fd)
{
	while (o->off < o->len) {
		ssize_t w = write(fd, o->p + o->off, o->len - o->off);

		if (w > 0)
			o->off += (size_t)w;
		else if (w < 0 && errno == EINTR)
			continue;
		else if (w < 0 && errno == EAGAIN)
			return false;
		else
			net_die("write", w < 0 ? errno : 0);
	}
	o->off = o->len = 0;
	return true;
}

int
bench_jid(char *out, size_t cap, uint32_t i)
{
	static const char *const domains[] = {
		"example.test", "chat.example.test", "users.example.org",
		"im.example.net",
	};
	static const char *const clients[] = {
		"Conversations", "gajim", "Dino", "Psi+", "monal", "Siskin",
	};

	return snprintf(out, cap, "user%u.%x@%s/%s.%08x", i, i * 2654435761u,
	    domains[i % 4], clients[(i / 4) % 6], i * 40503u);
}

/* ------------------------------------------------------- XMPP client */

static void
base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*out++ = tab[in[i + 2] & 63];
	}
	if (n - i == 1) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[(in[i] & 3) << 4];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		*out++ = tab[in[i] >> 2];
		*out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = tab[(in[i + 1] & 15) << 2];
		*out++ = '=';
	}
	*out = '\0';
}

/* Opens the client stream and reads up to the end of its features. */
static void
open_stream(int fd, char *buf, size_t cap)
{
	static const char hdr[] = "<?xml version='1.0'?><stream:stream "
	    "to='example.test' xmlns='jabber:client' xmlns:stream="
	    "'http://etherx.jabber.org/streams' version='1.0'>";
	size_t len = 0;

	buf[0] = '\0';
	bench_write_all(fd, hdr, sizeof hdr - 1);
	bench_read_until(fd, buf, cap, &len, "</stream:features>", 15000);
}

void
bench_login(int fd, const char *user, const char *resource)
{
	char buf[8192], auth[256], b64[360], msg[512];
	size_t len, an;

	open_stream(fd, buf, sizeof buf);
	if (strstr(buf, ">PLAIN<") == NULL) {
		fprintf(stderr, "bench: the server does not offer SASL PLAIN "
		    "without TLS\n");
		exit(1);
	}
	an = (size_t)snprintf(auth, sizeof auth, "%c%s%cpw", 0, user, 0);
	base64((const unsigned char *)auth, an, b64);
	snprintf(msg, sizeof msg, "<auth xmlns='urn:ietf:params:xml:ns:"
	    "xmpp-sasl' mechanism='PLAIN'>%s</auth>", b64);
	bench_write_all(fd, msg, strlen(msg));
	len = 0;
	buf[0] = '\0';
	bench_read_until(fd, buf, sizeof buf, &len, ">", 15000);
	if (strstr(buf, "<success") == NULL) {
		fprintf(stderr, "bench: login of %s refused: %s\n", user, buf);
		exit(1);
	}
	open_stream(fd, buf, sizeof buf);
	snprintf(msg, sizeof msg, "<iq type='set' id='bind1'><bind xmlns="
	    "'urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource>"
	    "</bind></iq>", resource);
	bench_write_all(fd, msg, strlen(msg));
	len = 0;
	buf[0] = '\0';
	bench_read_until(fd, buf, sizeof buf, &len, "</iq>", 15000);
	if (strstr(buf, "type='result'") == NULL &&
	    strstr(buf, "type=\"result\"") == NULL) {
		fprintf(stderr, "bench: bind of %s failed: %s\n", user, buf);
		exit(1);
	}
}

void
bench_component_handshake(int fd, const char *domain, const char *secret,
    const char *prog)
{
	char buf[4096], hdr[512], id[128], hex[XEP0114_HEX_LEN + 1];
	char msg[128], *p;
	size_t len = 0;

	buf[0] = '\0';
	snprintf(hdr, sizeof hdr, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' xmlns:stream="
	    "'http://etherx.jabber.org/streams' to='%s'>", domain);
	bench_write_all(fd, hdr, strlen(hdr));
	p = bench_read_until(fd, buf, sizeof buf, &len, "<stream:stream",
	    15000);
	bench_read_until(fd, buf, sizeof buf, &len, ">", 15000);
	if (!bench_attr(p, len - (size_t)(p - buf), "id", id, sizeof id,
	    NULL)) {
		fprintf(stderr, "%s: no stream id from %s: %s\n", prog,
		    domain, buf);
		exit(1);
	}
	xep0114_handshake(id, secret, hex);
	snprintf(msg, sizeof msg, "<handshake>%s</handshake>", hex);
	bench_write_all(fd, msg, strlen(msg));
	bench_read_until(fd, buf, sizeof buf, &len, "<handshake/>", 15000);
}

size_t
bench_element_len(const char *p, size_t n)
{
	char close[40];
	const char *gt = memchr(p, '>', n), *e;
	size_t nl = strcspn(p + 1, " \t\r\n/>");
	int k;

	if (gt == NULL || nl + 1 >= n)
		return 0;
	if (gt[-1] == '/')
		return (size_t)(gt - p) + 1;
	if (nl > 30)
		nl = 30;
	k = snprintf(close, sizeof close, "</%.*s>", (int)nl, p + 1);
	e = memmem(gt, n - (size_t)(gt - p), close, (size_t)k);
	return e == NULL ? 0 : (size_t)(e - p) + (size_t)k;
}

int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bench_pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}
