/*
 * stats.c — the counters of every component, as text.
 *
 * One line per counter, "component.DOMAIN.COUNTER VALUE", the format
 * Graphite's plaintext protocol and `grep` both read.  They are printed on
 * SIGUSR1 and at exit (log), and to whoever connects to the optional
 * loopback stats listener, which writes them and closes.
 *
 * Counters (STATS_COUNTERS in vcrt.h) are per component; besides them the
 * listener adds "component.DOMAIN.upstream_connected 0|1",
 * "component.DOMAIN.home_connected 0|1" and the queue depths.  Then one
 * block per peer link, "peer.NODE.COUNTER VALUE" (PEER_COUNTERS, plus "up"
 * and "unacked"), and on nodes that home a component the return-route
 * table's "routes.entries" and "routes.bytes".
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vcrt.h"

static struct listener *stats_l;
static int nstats;

static void
line(struct vbuf *out, const char *domain, const char *name, uint64_t v)
{
	char num[32];

	vbuf_addstr(out, "component.");
	vbuf_addstr(out, domain);
	vbuf_addch(out, '.');
	vbuf_addstr(out, name);
	snprintf(num, sizeof num, " %" PRIu64 "\n", v);
	vbuf_addstr(out, num);
}

void
stats_render(struct vbuf *out)
{
	for (size_t i = 0; i < ncomps; i++) {
		const struct comp *c = &comps[i];
		const char *d = c->vc->domain;

#define X(n) line(out, d, #n, c->st.n);
		STATS_COUNTERS(X)
#undef X
		line(out, d, "upstream_connected",
		    c->up != NULL && (c->up->flags & C_READY));
		line(out, d, "home_connected", c->home != NULL);
		line(out, d, "queue_home_stanzas", c->to_home.count);
		line(out, d, "queue_home_bytes", c->to_home.bytes);
		line(out, d, "queue_up_stanzas", c->to_up.count);
		line(out, d, "queue_up_bytes", c->to_up.bytes);
	}
	peer_stats_render(out);
	route_stats_render(out);
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
		vlog(VL_INFO, "stats: %s", p);
	}
	vbuf_free(&b);
}

static void
stats_input(struct conn *conn, const char *p, size_t n)
{
	/* Whatever the reader sends is ignored. */
}

static void
stats_closed(struct conn *conn, const char *why)
{
	nstats--;
}

static const struct conn_ops stats_ops = {
	.input = stats_input,
	.closed = stats_closed,
};

static void
stats_accept(int fd, const char *peer)
{
	struct vbuf b = { 0 };
	struct conn *conn;

	if (nstats >= STATS_MAX_CONNS) {
		close(fd);
		return;
	}
	/* The cap only matters for backpressure, which a stats reader
	 * never causes: the whole report is queued at once. */
	conn = conn_new(fd, CK_STATS, &stats_ops, NULL, false, 1 << 20);
	if (conn == NULL)
		return;
	nstats++;
	snprintf(conn->name, sizeof conn->name, "stats reader %s", peer);
	stats_render(&b);
	conn_send(conn, b.p, b.len);
	vbuf_free(&b);
	conn_finish(conn);
}

int
stats_listen(void)
{
	if (table->stats.host == NULL)
		return 0;
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
