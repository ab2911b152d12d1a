/*
 * stats.c — the node's metrics and health, and the loopback HTTP server
 * that serves them.
 *
 * Metrics are the Prometheus text exposition format, version 0.0.4: per
 * metric family a "# HELP" and a "# TYPE" line, then its samples, each
 * "name{label="value",...} value".  Component metrics carry
 * component="DOMAIN", peer-link metrics peer="NODE", bounces a reason.
 * The names of the counters come from the X-macro lists in vcrt.h
 * (STATS_COUNTERS, PEER_COUNTERS, STATS_BOUNCE_REASONS), so the struct,
 * the names and the help text cannot drift apart.  The same text, without
 * the comment lines, is logged on SIGUSR1 and at exit.
 *
 * The HTTP server is as small as one read-only endpoint allows and no
 * smaller than HTTP/1.1 requires of it (RFC 9110, 9112; the request
 * parser is http.c):
 *   GET or HEAD /metrics   200, the exposition;
 *   GET or HEAD /health    200 when the node can forward (every upstream
 *                          up, a home reachable for every component), 503
 *                          when not; a text body says why;
 *   another method         405 with Allow: GET, HEAD;
 *   another path           404;
 *   a malformed request    400 (request line, header syntax, an HTTP/1.1
 *                          request without Host); another HTTP version
 *                          505; a head over STATS_REQUEST_MAX bytes 431;
 *   a slow client          408 after STATS_READ_TIMEOUT_MS without a
 *                          complete request head.
 * Every response says "Connection: close" and the connection is closed
 * once it is written; a request body is never read.  The response is
 * built at once and queued on a non-blocking connection like any other
 * output, so a reader never stalls forwarding: a client that does not
 * read its response is dropped after DRAIN_TIMEOUT_MS, and at most
 * STATS_MAX_CONNS clients are served at once.
 *
 * Ownership: each client's struct http_client is calloc'd on accept, is
 * its connection's owner, and is freed by the closed callback (the
 * connection itself is reaped by conn.c later).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "peer_proto.h"
#include "vcrt.h"

struct http_client {
	struct conn *conn;
	size_t len;
	char buf[STATS_REQUEST_MAX];
};

static struct listener *stats_l;
static int nstats;

/* ------------------------------------------------------------ metrics */

static void
family(struct vbuf *o, const char *name, const char *type, const char *help)
{
	vbuf_addstr(o, "# HELP ");
	vbuf_addstr(o, name);
	vbuf_addch(o, ' ');
	vbuf_addstr(o, help);
	vbuf_addstr(o, "\n# TYPE ");
	vbuf_addstr(o, name);
	vbuf_addch(o, ' ');
	vbuf_addstr(o, type);
	vbuf_addch(o, '\n');
}

/* A label value, escaped as the exposition format wants. */
static void
label_value(struct vbuf *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			vbuf_addch(o, '\\');
		if (*v == '\n')
			vbuf_addstr(o, "\\n");
		else
			vbuf_addch(o, *v);
	}
}

/* Starts a sample: name{k1="v1",k2="v2"} (k2 may be NULL, k1 too). */
static void
sample_head(struct vbuf *o, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
	vbuf_addstr(o, name);
	if (k1 != NULL) {
		vbuf_addch(o, '{');
		vbuf_addstr(o, k1);
		vbuf_addstr(o, "=\"");
		label_value(o, v1);
		vbuf_addch(o, '"');
		if (k2 != NULL) {
			vbuf_addch(o, ',');
			vbuf_addstr(o, k2);
			vbuf_addstr(o, "=\"");
			label_value(o, v2);
			vbuf_addch(o, '"');
		}
		vbuf_addch(o, '}');
	}
}

static void
sample_u(struct vbuf *o, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, uint64_t v)
{
	char num[32];

	sample_head(o, name, k1, v1, k2, v2);
	snprintf(num, sizeof num, " %" PRIu64 "\n", v);
	vbuf_addstr(o, num);
}

static void
sample_f(struct vbuf *o, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2, double v)
{
	char num[48];

	sample_head(o, name, k1, v1, k2, v2);
	snprintf(num, sizeof num, " %.6f\n", v);
	vbuf_addstr(o, num);
}

/* Seconds the oldest entry of q has waited; 0 when q is empty. */
static double
queue_age(const struct queue *q, uint64_t now)
{
	if (q->head == NULL || now < q->head->t)
		return 0;
	return (double)(now - q->head->t) / 1000.0;
}

/* The process's start, in seconds since the epoch, from /proc: the
 * boot time (btime in /proc/stat) plus the start time in clock ticks
 * (field 22 of /proc/self/stat).  0 when /proc cannot tell. */
static double
process_start(void)
{
	static double cached;
	char line[1024], *p;
	unsigned long long btime = 0, ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	int field;

	if (cached > 0)
		return cached;
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if ((f = fopen("/proc/self/stat", "r")) == NULL)
		return 0;
	p = fgets(line, sizeof line, f);
	fclose(f);
	/* The command name (field 2) may hold spaces and parentheses:
	 * count fields from its closing parenthesis, which is field 2's
	 * end. */
	if (p == NULL || (p = strrchr(line, ')')) == NULL || hz <= 0)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu", &ticks) != 1 || btime == 0)
		return 0;
	cached = (double)btime + (double)ticks / (double)hz;
	return cached;
}

/* Resident set size in bytes (/proc/self/statm, in pages); 0 if unknown. */
static uint64_t
process_rss(void)
{
	unsigned long long size, resident;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f;
	int n;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	return n == 2 && page > 0 ? resident * (uint64_t)page : 0;
}

/* Queue k of c: 0 toward the real component, 1 toward the upstream. */
static const struct queue *
cqueue(const struct comp *c, size_t k)
{
	return k == 0 ? &c->to_home : &c->to_up;
}

static bool
upstream_up(const struct comp *c)
{
	return c->up != NULL && (c->up->flags & C_READY);
}

static void
render_components(struct vbuf *o)
{
	static const char *const reasons[] = {
#define X(e, s) [e] = s,
		STATS_BOUNCE_REASONS(X)
#undef X
	};
	static const char *const qname[] = { "home", "upstream" };
	uint64_t now = loop_now();

#define X(n, m, h)                                                      \
	family(o, "vcomp_component_" #m, "counter", h);                 \
	for (size_t i = 0; i < ncomps; i++)                             \
		sample_u(o, "vcomp_component_" #m, "component",         \
		    comps[i].vc->domain, NULL, NULL, comps[i].st.n);
	STATS_COUNTERS(X)
#undef X
	family(o, "vcomp_component_bounced_total", "counter",
	    "Stanzas the runtime answered with an error, by reason.");
	for (size_t i = 0; i < ncomps; i++)
		for (size_t r = 0; r < STATS_NBOUNCE; r++)
			sample_u(o, "vcomp_component_bounced_total",
			    "component", comps[i].vc->domain, "reason",
			    reasons[r], comps[i].st.bounced_by[r]);
	family(o, "vcomp_component_upstream_up", "gauge",
	    "1 when the component's stream to the XMPP server is "
	    "authenticated.");
	for (size_t i = 0; i < ncomps; i++)
		sample_u(o, "vcomp_component_upstream_up", "component",
		    comps[i].vc->domain, NULL, NULL, upstream_up(&comps[i]));
	family(o, "vcomp_component_home_connected", "gauge",
	    "1 when the real component is connected to this node.");
	for (size_t i = 0; i < ncomps; i++)
		sample_u(o, "vcomp_component_home_connected", "component",
		    comps[i].vc->domain, NULL, NULL, comps[i].home != NULL);
	family(o, "vcomp_component_home_reachable", "gauge",
	    "1 when some home of the real component can take stanzas now.");
	for (size_t i = 0; i < ncomps; i++)
		sample_u(o, "vcomp_component_home_reachable", "component",
		    comps[i].vc->domain, NULL, NULL, comps[i].dest != 0);

	family(o, "vcomp_queue_stanzas", "gauge",
	    "Stanzas waiting, toward the real component (queue=home) or the "
	    "XMPP server (queue=upstream).");
	for (size_t i = 0; i < ncomps; i++)
		for (size_t k = 0; k < 2; k++)
			sample_u(o, "vcomp_queue_stanzas", "component",
			    comps[i].vc->domain, "queue", qname[k],
			    cqueue(&comps[i], k)->count);
	family(o, "vcomp_queue_bytes", "gauge",
	    "Memory the waiting stanzas take, in bytes (bounded by "
	    "queue-bytes).");
	for (size_t i = 0; i < ncomps; i++)
		for (size_t k = 0; k < 2; k++)
			sample_u(o, "vcomp_queue_bytes", "component",
			    comps[i].vc->domain, "queue", qname[k],
			    cqueue(&comps[i], k)->bytes);
	family(o, "vcomp_queue_oldest_age_seconds", "gauge",
	    "How long the oldest waiting stanza has waited (bounded by "
	    "queue-age); 0 when none waits.");
	for (size_t i = 0; i < ncomps; i++)
		for (size_t k = 0; k < 2; k++)
			sample_f(o, "vcomp_queue_oldest_age_seconds",
			    "component", comps[i].vc->domain, "queue",
			    qname[k], queue_age(cqueue(&comps[i], k), now));
}

static void
render_peers(struct vbuf *o)
{
	struct peer_info pi;
	bool any = false;

	for (uint16_t n = 0; n < table->nnodes && !any; n++)
		any = peer_info(n, &pi);
	if (!any)
		return;
	family(o, "vcomp_peer_up", "gauge",
	    "1 when the authenticated link to the peer node is up.");
	for (uint16_t n = 0; n < table->nnodes; n++)
		if (peer_info(n, &pi))
			sample_u(o, "vcomp_peer_up", "peer", pi.name, NULL,
			    NULL, pi.up);
#define X(f, m, h)                                                      \
	family(o, "vcomp_peer_" #m, "counter", h);                      \
	for (uint16_t n = 0; n < table->nnodes; n++)                    \
		if (peer_info(n, &pi))                                  \
			sample_u(o, "vcomp_peer_" #m, "peer", pi.name,  \
			    NULL, NULL, pi.st.f);
	PEER_COUNTERS(X)
#undef X
	family(o, "vcomp_peer_unacked_frames", "gauge",
	    "STANZA frames sent and not yet acknowledged.");
	for (uint16_t n = 0; n < table->nnodes; n++)
		if (peer_info(n, &pi))
			sample_u(o, "vcomp_peer_unacked_frames", "peer",
			    pi.name, NULL, NULL, pi.unacked);
	family(o, "vcomp_peer_unacked_bytes", "gauge",
	    "Memory the unacknowledged frames take, in bytes (bounded by "
	    "output-cap).");
	for (uint16_t n = 0; n < table->nnodes; n++)
		if (peer_info(n, &pi))
			sample_u(o, "vcomp_peer_unacked_bytes", "peer",
			    pi.name, NULL, NULL, pi.unacked_bytes);
	family(o, "vcomp_peer_rtt_seconds", "gauge",
	    "Last PING to PONG round trip of the link (absent before the "
	    "first).");
	for (uint16_t n = 0; n < table->nnodes; n++)
		if (peer_info(n, &pi) && pi.rtt_us >= 0)
			sample_f(o, "vcomp_peer_rtt_seconds", "peer", pi.name,
			    NULL, NULL, (double)pi.rtt_us / 1e6);
}

void
stats_render(struct vbuf *o)
{
	const char *node = table->nodes[table->self].name;
	size_t entries, bytes;
	char num[16];

	family(o, "vcomp_info", "gauge",
	    "Always 1; the labels name the node, the runtime version, the "
	    "vcompc that built the table and the peer protocol versions.");
	vbuf_addstr(o, "vcomp_info{node=\"");
	label_value(o, node);
	vbuf_addstr(o, "\",version=\"" VCOMP_VERSION "\",vcompc=\"");
	label_value(o, table->vcompc_version);
	snprintf(num, sizeof num, "%d-%d", PEER_VERSION_MIN, PEER_VERSION_MAX);
	vbuf_addstr(o, "\",peer_protocol=\"");
	vbuf_addstr(o, num);
	vbuf_addstr(o, "\"} 1\n");
	render_components(o);
	render_peers(o);
	if (route_table_stats(&entries, &bytes)) {
		family(o, "vcomp_return_routes", "gauge",
		    "Entries of the return-route table (bounded by routes).");
		sample_u(o, "vcomp_return_routes", NULL, NULL, NULL, NULL,
		    entries);
		family(o, "vcomp_return_routes_bytes", "gauge",
		    "Memory the return-route table takes, in bytes.");
		sample_u(o, "vcomp_return_routes_bytes", NULL, NULL, NULL,
		    NULL, bytes);
	}
	family(o, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.");
	sample_f(o, "process_start_time_seconds", NULL, NULL, NULL, NULL,
	    process_start());
	family(o, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.");
	sample_u(o, "process_resident_memory_bytes", NULL, NULL, NULL, NULL,
	    process_rss());
}

void
stats_log(void)
{
	struct vbuf b = { 0 };
	char *p, *nl;

	stats_render(&b);
	for (p = b.p; p != NULL && *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		*nl = '\0';
		if (*p != '#')
			vlog(VL_INFO, "stats: %s", p);
	}
	vbuf_free(&b);
}

/* ------------------------------------------------------------- health */

/* Appends to text (n bytes, NUL-terminated, cut when full). */
static void
addf(char *text, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
addf(char *text, size_t n, const char *fmt, ...)
{
	size_t len = strlen(text);
	va_list ap;

	if (len + 1 >= n)
		return;
	va_start(ap, fmt);
	vsnprintf(text + len, n - len, fmt, ap);
	va_end(ap);
}

bool
stats_health(char *text, size_t n, struct vbuf *detail)
{
	struct peer_info pi;
	unsigned links = 0, up = 0;
	bool ok = true;
	char line[600];

	text[0] = '\0';
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peer_info(i, &pi)) {
			links++;
			up += pi.up;
			if (detail != NULL) {
				snprintf(line, sizeof line, "peer %s: link %s\n",
				    pi.name, pi.up ? "up" : "down");
				vbuf_addstr(detail, line);
			}
		}
	if (links > 0)
		addf(text, n, "%u/%u peer links up", up, links);
	for (size_t i = 0; i < ncomps; i++) {
		const struct comp *c = &comps[i];
		const char *name = c->vc->name != NULL && c->vc->name[0] ?
		    c->vc->name : c->vc->domain;
		bool u = upstream_up(c),
		    h = c->dest != 0 && c->dest != ROUTE_DEST_UNKNOWN;
		const char *where = h ? table->nodes[c->dest - 1].name : NULL;

		ok = ok && u && h;
		addf(text, n, "%s%s: ", text[0] ? ", " : "", name);
		if (!u)
			addf(text, n, "upstream down, ");
		if (h)
			addf(text, n, "home reachable%s%s",
			    c->dest - 1 == table->self ? "" : " on ",
			    c->dest - 1 == table->self ? "" : where);
		else
			addf(text, n, "no home reachable");
		if (detail != NULL) {
			snprintf(line, sizeof line, "component %s: upstream "
			    "%s, %s%s%s\n", c->vc->domain, u ? "up" : "down",
			    h ? "home reachable on node " : "no home reachable",
			    h ? where : "", h && c->dest - 1 == table->self ?
			    " (this node)" : "");
			vbuf_addstr(detail, line);
		}
	}
	if (text[0] == '\0')
		addf(text, n, "no components");
	return ok;
}

/* --------------------------------------------------------------- HTTP */

/* Queues a complete response and closes once it is written. */
static void
respond(struct conn *conn, int code, const char *reason, const char *ctype,
    const char *extra, const char *body, size_t len, bool head)
{
	char hdr[512], date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "Server: vcomp/" VCOMP_VERSION "\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s"
	    "Connection: close\r\n\r\n", code, reason, date, ctype, len,
	    extra != NULL ? extra : "");
	conn_send(conn, hdr, strlen(hdr));
	if (!head && len > 0)
		conn_send(conn, body, len);
	vlog(VL_DEBUG, "%s: %d %s", conn->name, code, reason);
	timer_stop(&conn->timer);
	conn_finish(conn);
}

static void
respond_text(struct conn *conn, int code, const char *reason,
    const char *extra, const char *body, bool head)
{
	respond(conn, code, reason, "text/plain; charset=utf-8", extra, body,
	    strlen(body), head);
}

/* Answers the request head hc->buf[0..len) (http_parse, http.c). */
static void
serve(struct http_client *hc, size_t len)
{
	struct http_request req;
	struct vbuf body = { 0 }, detail = { 0 };
	char text[512];
	bool head;
	int st;

	st = http_parse(hc->buf, len, &req);
	if (st == 505) {
		respond_text(hc->conn, 505, "HTTP Version Not Supported",
		    NULL, "HTTP/1.x only\n", false);
		return;
	}
	if (st != 0) {
		respond_text(hc->conn, 400, "Bad Request", NULL,
		    "bad request\n", false);
		return;
	}
	if (strcmp(req.path, "/metrics") != 0 &&
	    strcmp(req.path, "/health") != 0) {
		respond_text(hc->conn, 404, "Not Found", NULL,
		    "not found; try /metrics or /health\n", false);
		return;
	}
	head = strcmp(req.method, "HEAD") == 0;
	if (!head && strcmp(req.method, "GET") != 0) {
		respond_text(hc->conn, 405, "Method Not Allowed",
		    "Allow: GET, HEAD\r\n", "only GET and HEAD\n", false);
		return;
	}
	if (strcmp(req.path, "/metrics") == 0) {
		stats_render(&body);
		respond(hc->conn, 200, "OK",
		    "text/plain; version=0.0.4; charset=utf-8", NULL,
		    body.p != NULL ? body.p : "", body.len, head);
	} else {
		bool ok = stats_health(text, sizeof text, &detail);

		vbuf_addstr(&body, ok ? "ok: " : "unavailable: ");
		vbuf_addstr(&body, text);
		vbuf_addch(&body, '\n');
		if (detail.len > 0)
			vbuf_add(&body, detail.p, detail.len);
		vbuf_free(&detail);
		respond(hc->conn, ok ? 200 : 503, ok ? "OK" :
		    "Service Unavailable", "text/plain; charset=utf-8", NULL,
		    body.p, body.len, head);
	}
	vbuf_free(&body);
}

static void
stats_input(struct conn *conn, const char *p, size_t n)
{
	struct http_client *hc = conn->owner;
	size_t start, room, end;

	if (conn->flags & C_DRAIN)
		return;
	/* Bytes past the cap are never looked at: a head that does not
	 * end within it gets a 431 below. */
	room = sizeof hc->buf - hc->len;
	if (n > room)
		n = room;
	/* Look for the blank line from a little before the new bytes, so
	 * that one split across reads is found. */
	start = hc->len > 2 ? hc->len - 2 : 0;
	memcpy(hc->buf + hc->len, p, n);
	hc->len += n;
	if ((end = http_head_end(hc->buf + start, hc->len - start)) > 0) {
		serve(hc, start + end);
		return;
	}
	if (hc->len == sizeof hc->buf)
		respond_text(conn, 431, "Request Header Fields Too Large",
		    NULL, "request head too large\n", false);
}

static void
stats_timeout(struct timer *t)
{
	struct conn *conn = t->arg;

	respond_text(conn, 408, "Request Timeout", NULL,
	    "no complete request in time\n", false);
}

static void
stats_closed(struct conn *conn, const char *why)
{
	free(conn->owner);
	conn->owner = NULL;
	nstats--;
}

static const struct conn_ops stats_ops = {
	.input = stats_input,
	.closed = stats_closed,
};

static void
stats_accept(int fd, const char *peer)
{
	struct http_client *hc;
	struct conn *conn;

	if (nstats >= STATS_MAX_CONNS || (hc = calloc(1, sizeof *hc)) == NULL) {
		vlog(VL_DEBUG, "stats listener: refusing %s", peer);
		close(fd);
		return;
	}
	/* The cap only matters for backpressure, which a stats reader
	 * never causes: the whole response is queued at once. */
	conn = conn_new(fd, CK_STATS, &stats_ops, hc, false, 1 << 20);
	if (conn == NULL) {
		free(hc);
		return;
	}
	hc->conn = conn;
	nstats++;
	snprintf(conn->name, sizeof conn->name, "stats client %s", peer);
	conn->timer.fn = stats_timeout;
	conn->timer.arg = conn;
	timer_arm(&conn->timer, STATS_READ_TIMEOUT_MS);
}

int
stats_listen(void)
{
	if (table->stats.host == NULL)
		return 0;
	(void)process_start();
	stats_l = listener_open(table->stats.host, table->stats.port,
	    "stats listener", stats_accept);
	return stats_l != NULL ? 0 : -1;
}

void
stats_close(void)
{
	listener_close(stats_l);
	stats_l = NULL;
}
