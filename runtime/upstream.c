/*
 * upstream.c — the runtime's XEP-0114 client connection to its node's
 * server, one per component of the table.
 *
 *   connect → <stream:stream to=DOMAIN> → server header (id) →
 *   <handshake>hex(sha1(id + secret))</handshake> → <handshake/> → ready
 *
 * Any failure (refused connect, stream error, wrong secret, lost
 * connection, a server that does not finish opening within
 * UPSTREAM_OPEN_TIMEOUT_MS) is logged with the server's condition and
 * text, and the next attempt waits an exponential backoff with jitter
 * between limits.backoff_min_ms and backoff_max_ms; it retries forever.
 * Every attempt goes through the backoff timer, so a server that accepts
 * and immediately drops the stream cannot make the runtime spin.  While
 * ready, a single space is sent every keepalive_ms when nothing else was
 * pending (RFC 6120 §4.6.1 whitespace keepalive).
 *
 * Ownership: the connection belongs to conn.c; struct comp only points at
 * it (c->up) between connect and the closed callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "vcrt.h"

static void up_connected(struct conn *conn);
static void up_input(struct conn *conn, const char *p, size_t n);
static void up_drained(struct conn *conn);
static void up_closed(struct conn *conn, const char *why);

static const struct conn_ops up_ops = {
	.input = up_input,
	.connected = up_connected,
	.drained = up_drained,
	.closed = up_closed,
};

static uint64_t jitter_state;

/* xorshift64*: jitter needs to be spread, not unpredictable. */
static uint64_t
jitter_next(void)
{
	if (jitter_state == 0) {
		if (getrandom(&jitter_state, sizeof jitter_state, 0) !=
		    sizeof jitter_state || jitter_state == 0)
			jitter_state = clock_ms() | 1;
	}
	jitter_state ^= jitter_state >> 12;
	jitter_state ^= jitter_state << 25;
	jitter_state ^= jitter_state >> 27;
	return jitter_state * 2685821657736338717ULL;
}

uint64_t
backoff_delay(uint32_t failures, uint32_t min_ms, uint32_t max_ms)
{
	uint64_t d = min_ms ? min_ms : 1;

	if (max_ms < d)
		max_ms = (uint32_t)d;
	for (uint32_t i = 1; i < failures && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* "Equal jitter": half fixed, half random, so a cluster restarted
	 * at once does not reconnect in lockstep, yet never below min/2. */
	return d - d / 2 + jitter_next() % (d / 2 + 1);
}

static void
schedule_retry(struct comp *c)
{
	uint64_t d;

	if (shutting_down || route_stopping || c->up_suspended)
		return;
	c->up_failures++;
	d = backoff_delay(c->up_failures, table->limits.backoff_min_ms,
	    table->limits.backoff_max_ms);
	vlog(VL_INFO, "upstream %s: reconnecting in %llu ms", c->vc->domain,
	    (unsigned long long)d);
	timer_arm(&c->up_retry, d);
}

static void
open_timeout(struct timer *t)
{
	struct conn *conn = t->arg;

	conn_close(conn, "server did not complete the handshake in time");
}

static void
up_stream_open(void *ud, const struct xs_attr *attrs, size_t nattrs)
{
	struct conn *conn = ud;
	struct comp *c = conn->owner;
	const char *id = xs_attr_get(attrs, nattrs, "id");
	char hex[XEP0114_HEX_LEN + 1];
	struct vbuf b = { 0 };

	if (conn->state != UP_OPENING)
		return;
	if (id == NULL || *id == '\0') {
		/* Prosody sends id='' right before host-unknown: wait for
		 * the stream error, which says why. */
		vlog(VL_DEBUG, "upstream %s: header without a stream id",
		    c->vc->domain);
		return;
	}
	xep0114_handshake(id, c->secret, hex);
	vbuf_addstr(&b, "<handshake>");
	vbuf_addstr(&b, hex);
	vbuf_addstr(&b, "</handshake>");
	conn_send(conn, b.p, b.len);
	vbuf_free(&b);
	conn->state = UP_HANDSHAKE;
}

static void
keepalive(struct timer *t)
{
	struct comp *c = t->arg;

	if (c->up == NULL || !(c->up->flags & C_READY))
		return;
	if (conn_pending(c->up) == 0)
		conn_send(c->up, " ", 1);
	timer_arm(t, table->limits.keepalive_ms);
}

/* The stream is ready (its handshake answered, or adopted from the
 * previous image): stanzas flow, keepalives start. */
static void
mark_ready(struct conn *conn, struct comp *c)
{
	conn->state = UP_READY;
	conn->flags |= C_READY;
	timer_stop(&conn->timer);
	c->up_was_ready = true;
	c->up_failures = 0;
	if (table->limits.keepalive_ms > 0)
		timer_arm(&c->up_keepalive, table->limits.keepalive_ms);
}

static void
up_ready(struct conn *conn, struct comp *c)
{
	if (c->up_was_ready)
		c->st.reconnects++;
	mark_ready(conn, c);
	vlog(VL_INFO, "upstream %s: connected to %s:%u", c->vc->domain,
	    table->server.host, table->server.port);
	route_flush_up(c);
}

static void
up_stanza(void *ud, const struct xs_stanza *st)
{
	struct conn *conn = ud;
	struct comp *c = conn->owner;

	if (strcmp(st->ns, XS_NS_STREAMS) == 0 &&
	    strcmp(st->name, "error") == 0) {
		vlog(VL_ERR, "upstream %s: stream error from server: %s%s%s%s",
		    c->vc->domain,
		    st->err_condition ? st->err_condition : "(no condition)",
		    st->err_text ? " (" : "", st->err_text ? st->err_text : "",
		    st->err_text ? ")" : "");
		conn_end_stream(conn);
		return;
	}
	switch (conn->state) {
	case UP_HANDSHAKE:
		if (strcmp(st->name, "handshake") == 0) {
			up_ready(conn, c);
			return;
		}
		/* FALLTHROUGH */
	case UP_OPENING:
		vlog(VL_ERR, "upstream %s: unexpected <%s/> before the "
		    "handshake completed", c->vc->domain, st->name);
		conn_close(conn, NULL);
		return;
	case UP_READY:
		route_from_upstream(c, conn, st);
		return;
	default:
		return;
	}
}

static void
up_stream_close(void *ud)
{
	struct conn *conn = ud;
	struct comp *c = conn->owner;

	if (conn->flags & C_CLOSING)
		vlog(VL_INFO, "upstream %s: server closed the stream too",
		    c->vc->domain);
	else
		vlog(VL_WARN, "upstream %s: server closed the stream",
		    c->vc->domain);
	conn_end_stream(conn);
}

static const struct xs_callbacks up_cb = {
	.open = up_stream_open,
	.stanza = up_stanza,
	.close = up_stream_close,
};

static void
up_connected(struct conn *conn)
{
	struct comp *c = conn->owner;
	struct vbuf b = { 0 };

	stream_header_client(&b, c->vc->domain);
	conn_send(conn, b.p, b.len);
	vbuf_free(&b);
	conn->state = UP_OPENING;
	vlog(VL_DEBUG, "upstream %s: TCP connected, opening the stream",
	    c->vc->domain);
}

static void
up_input(struct conn *conn, const char *p, size_t n)
{
	struct comp *c = conn->owner;
	enum xs_status s = xs_feed(conn->xs, p, n);
	const char *cond = xs_condition(s);

	if (cond == NULL || (conn->flags & C_DEAD))
		return;
	vlog(VL_ERR, "upstream %s: server sent bad XML: %s", c->vc->domain,
	    cond);
	{
		struct vbuf b = { 0 };

		stream_error(&b, cond, NULL);
		conn_send(conn, b.p, b.len);
		vbuf_free(&b);
	}
	conn_finish(conn);
}

static void
up_drained(struct conn *conn)
{
	route_flush_up(conn->owner);
}

static void
up_closed(struct conn *conn, const char *why)
{
	struct comp *c = conn->owner;

	if (c->up == conn)
		c->up = NULL;
	timer_stop(&c->up_keepalive);
	/* Every loss says why: a NULL why is an orderly end (the stream was
	 * closed, by the server or by us, and its output written). */
	if (conn->state == UP_READY)
		vlog(shutting_down || route_stopping ? VL_INFO : VL_WARN,
		    "upstream %s: disconnected: %s", c->vc->domain,
		    why ? why : "stream closed");
	else if (!shutting_down)
		vlog(VL_WARN, "upstream %s: connection to %s:%u failed: %s",
		    c->vc->domain, table->server.host, table->server.port,
		    why ? why : "stream closed before the handshake");
	schedule_retry(c);
}

static void
connect_now(struct timer *t)
{
	struct comp *c = t->arg;
	struct sockaddr_storage ss;
	socklen_t len;
	struct conn *conn;

	if (shutting_down || route_stopping || c->up_suspended || c->up != NULL)
		return;
	/* Resolved on every attempt, so a server that moved is found. */
	if (resolve(table->server.host, table->server.port, &ss, &len) < 0) {
		schedule_retry(c);
		return;
	}
	conn = conn_connect((struct sockaddr *)&ss, len, CK_UPSTREAM, &up_ops,
	    c, table->limits.output_cap);
	if (conn == NULL) {
		vlog(VL_WARN, "upstream %s: cannot connect: %s", c->vc->domain,
		    strerror(errno));
		schedule_retry(c);
		return;
	}
	snprintf(conn->name, sizeof conn->name, "upstream %s", c->vc->domain);
	conn->state = UP_CONNECTING;
	conn->xs = xs_new(&up_cb, conn, table->limits.max_stanza);
	conn->timer.fn = open_timeout;
	conn->timer.arg = conn;
	timer_arm(&conn->timer, UPSTREAM_OPEN_TIMEOUT_MS);
	c->up = conn;
}

static void
init_timers(struct comp *c)
{
	c->up_retry.fn = connect_now;
	c->up_retry.arg = c;
	c->up_keepalive.fn = keepalive;
	c->up_keepalive.arg = c;
}

/* Connects at once unless a stream adopted from the previous image is
 * there already (connect_now checks c->up).  A ready stream (adopted, or
 * held by an upgrade whose execve() failed: upstream_hold stopped its
 * keepalive) gets its keepalive back. */
void
upstream_start(struct comp *c)
{
	init_timers(c);
	connect_now(&c->up_retry);
	if (c->up != NULL && (c->up->flags & C_READY) &&
	    table->limits.keepalive_ms > 0 && c->up_keepalive.slot == 0)
		timer_arm(&c->up_keepalive, table->limits.keepalive_ms);
}

struct conn *
upstream_adopt(struct comp *c, int fd, const char *hdr, size_t hdrlen)
{
	struct conn *conn;

	init_timers(c);
	conn = conn_new(fd, CK_UPSTREAM, &up_ops, c, false,
	    table->limits.output_cap);
	if (conn == NULL)
		return NULL;
	snprintf(conn->name, sizeof conn->name, "upstream %s", c->vc->domain);
	conn->xs = xs_new(&up_cb, conn, table->limits.max_stanza);
	conn->timer.fn = open_timeout;
	conn->timer.arg = conn;
	conn->state = UP_READY;     /* the header's callback does nothing */
	if (xs_prime(conn->xs, hdr, hdrlen) != XS_OK) {
		vlog(VL_ERR, "upstream %s: the inherited stream header does "
		    "not parse; closing the stream", c->vc->domain);
		conn_end_stream(conn);
		return NULL;
	}
	c->up = conn;
	mark_ready(conn, c);
	vlog(VL_INFO, "upstream %s: continued from the previous image",
	    c->vc->domain);
	return conn;
}

void
upstream_hold(struct comp *c)
{
	timer_stop(&c->up_retry);
	timer_stop(&c->up_keepalive);
	if (c->up != NULL && c->up->state != UP_READY)
		conn_close(c->up, NULL);
}

void
upstream_suspend(struct comp *c)
{
	if (c->up_suspended)
		return;
	c->up_suspended = true;
	vlog(VL_INFO, "upstream %s: no home available; unregistering so "
	    "that the server cluster routes elsewhere", c->vc->domain);
	timer_stop(&c->up_retry);
	timer_stop(&c->up_keepalive);
	if (c->up == NULL)
		return;
	if (c->up->state != UP_READY)
		conn_close(c->up, NULL);
	else
		conn_close_stream(c->up);
}

void
upstream_resume(struct comp *c)
{
	if (!c->up_suspended)
		return;
	c->up_suspended = false;
	c->up_failures = 0;
	vlog(VL_INFO, "upstream %s: a home is available; registering",
	    c->vc->domain);
	/* A stream still closing reconnects from its closed callback. */
	if (c->up == NULL && c->up_retry.fn != NULL)
		connect_now(&c->up_retry);
}

void
upstream_close(struct comp *c)
{
	timer_stop(&c->up_retry);
	timer_stop(&c->up_keepalive);
	if (c->up == NULL)
		return;
	if (c->up->state != UP_READY) {
		conn_close(c->up, NULL);
		return;
	}
	conn_close_stream(c->up);
}

void
upstream_stop(struct comp *c)
{
	timer_stop(&c->up_retry);
	timer_stop(&c->up_keepalive);
	if (c->up == NULL)
		return;
	if (c->up->state == UP_CONNECTING) {
		conn_close(c->up, NULL);
		return;
	}
	conn_end_stream(c->up);
}
