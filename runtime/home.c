/*
 * home.c — the server side of XEP-0114, where the real components homed on
 * this node connect (table.listen, loopback by default).
 *
 *   component: <stream:stream xmlns='jabber:component:accept' to=DOMAIN>
 *   runtime:   <stream:stream from=DOMAIN id=RANDOM>   (or a stream error)
 *   component: <handshake>hex(sha1(RANDOM + secret))</handshake>
 *   runtime:   <handshake/>                             (or a stream error)
 *
 * Stream errors, as Prosody's mod_component gives them:
 *   - header not in jabber:component:accept: invalid-namespace;
 *   - no `to`: improper-addressing;
 *   - `to` not a component homed on this node: host-unknown;
 *   - wrong handshake: not-authorized, sent HOME_AUTH_FAIL_DELAY_MS after
 *     the handshake arrived (input is ignored meanwhile), which slows down
 *     anyone guessing secrets; the handshake itself is compared in constant
 *     time (xep0114_verify);
 *   - no handshake within HOME_AUTH_TIMEOUT_MS (5 s): connection-timeout;
 *   - unauthenticated connections are bounded per source address and in
 *     all (HOME_MAX_PENDING_SOURCE, HOME_MAX_PENDING); a new connection is
 *     never refused for lack of room, the oldest one that has not sent a
 *     valid header (else the oldest) is closed instead (preauth.c), so
 *     idle strangers cannot lock the real component out;
 *   - a second connection for a component that is already connected:
 *     the NEW one gets conflict "Component already connected" and the live
 *     one is untouched — Prosody's default (kick_new).  A real component
 *     that lost its connection without the runtime noticing can connect
 *     again once the old TCP connection is seen dead; in exchange, nobody
 *     who learns the secret can silently take over a live component.
 *
 * Once authenticated, stanzas from the upstream are written to it
 * (route.c) and its stanzas go through route_from_home (the from check).
 * Its arrival and departure are announced to the other nodes (STATUS,
 * peer.c, reached through route_home_changed), which send to the first
 * home whose real component is up.
 *
 * Ownership: connections belong to conn.c; struct comp points at the
 * authenticated one (c->home) until its closed callback.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vcrt.h"

enum home_state {
	H_WAIT_HEADER,     /* connected, no stream header yet */
	H_WAIT_HANDSHAKE,  /* header answered, waiting for <handshake> */
	H_AUTH_FAILED,     /* wrong handshake, waiting to say so */
	H_ERROR,           /* stream error sent, closing */
	H_READY,           /* authenticated */
};

static struct listener *home_l;
/* Connections not (yet) authenticated, bounded per source (preauth.c). */
static struct preauth home_pa = {
	.what = "component listener",
	.max_total = HOME_MAX_PENDING,
	.max_source = HOME_MAX_PENDING_SOURCE,
};

static void home_input(struct conn *conn, const char *p, size_t n);
static void home_drained(struct conn *conn);
static void home_closed(struct conn *conn, const char *why);

static const struct conn_ops home_ops = {
	.input = home_input,
	.drained = home_drained,
	.closed = home_closed,
};

/* Sends a stream error (after a stream header when none was sent yet)
 * and closes once it is written. */
static void
fail(struct conn *conn, const char *hdr_from, const char *condition,
    const char *text)
{
	struct vbuf b = { 0 };

	if (conn->state == H_WAIT_HEADER)
		stream_header_server(&b, hdr_from, "");
	stream_error(&b, condition, text);
	conn_send(conn, b.p, b.len);
	vbuf_free(&b);
	conn->state = H_ERROR;
	conn_finish(conn);
}

static void
auth_timeout(struct timer *t)
{
	struct conn *conn = t->arg;

	vlog(VL_WARN, "%s: no handshake in time", conn->name);
	fail(conn, NULL, "connection-timeout", "No handshake in time");
}

static void
auth_failed_later(struct timer *t)
{
	struct conn *conn = t->arg;

	fail(conn, NULL, "not-authorized",
	    "Given token does not match calculated token");
}

static void
home_stream_open(void *ud, const struct xs_attr *attrs, size_t nattrs)
{
	struct conn *conn = ud;
	const char *to = xs_attr_get(attrs, nattrs, "to");
	const char *ns = xs_attr_get(attrs, nattrs, "xmlns");
	struct vbuf b = { 0 };
	struct comp *c;
	char text[1200], peer[sizeof conn->name];

	if (conn->state != H_WAIT_HEADER)
		return;     /* a stream adopted from the previous image */
	if (ns == NULL || strcmp(ns, NS_COMPONENT_ACCEPT) != 0) {
		vlog(VL_WARN, "%s: stream namespace is not %s", conn->name,
		    NS_COMPONENT_ACCEPT);
		fail(conn, to, "invalid-namespace", NULL);
		return;
	}
	if (to == NULL || *to == '\0') {
		vlog(VL_WARN, "%s: stream header without 'to'", conn->name);
		fail(conn, NULL, "improper-addressing", NULL);
		return;
	}
	c = comp_find(to);
	if (c == NULL || c->vc->role != VC_ROLE_HOME) {
		vlog(VL_WARN, "%s: '%.200s' is not a component homed on this "
		    "node", conn->name, to);
		snprintf(text, sizeof text, "%.1000s does not match any "
		    "component homed on this node", to);
		fail(conn, to, "host-unknown", text);
		return;
	}
	conn->owner = c;
	snprintf(peer, sizeof peer, "%s", conn->name + strlen("component "));
	snprintf(conn->name, sizeof conn->name, "component %.60s (%.50s)",
	    c->vc->domain, peer);
	random_stream_id(conn->sid);
	stream_header_server(&b, c->vc->domain, conn->sid);
	conn_send(conn, b.p, b.len);
	vbuf_free(&b);
	conn->state = H_WAIT_HANDSHAKE;
	/* A valid header for a component homed here: evicted after the
	 * connections that have said nothing useful. */
	preauth_progress(conn, true);
}

/* The handshake proves the component's secret or, during a rotation, one
 * of the older ones the spec still accepts.  Every secret is tried, so the
 * time taken does not tell which one matched. */
static bool
handshake_ok(const struct comp *c, const char *sid, const char *text)
{
	bool ok = xep0114_verify(sid, c->secret, text);

	for (size_t i = 0; i < c->vc->naccept; i++)
		ok |= xep0114_verify(sid, c->accept[i], text);
	return ok;
}

static void
authenticate(struct conn *conn, const struct xs_stanza *st)
{
	struct comp *c = conn->owner;

	if (strcmp(st->name, "handshake") != 0 || st->child_name != NULL) {
		vlog(VL_WARN, "%s: <%s/> before the handshake", conn->name,
		    st->name);
		fail(conn, NULL, "not-authorized", "Handshake expected");
		return;
	}
	if (!handshake_ok(c, conn->sid, st->text)) {
		vlog(VL_WARN, "%s: wrong handshake (secret mismatch)",
		    conn->name);
		/* Ignore everything else it sends; answer a little later. */
		xs_stop(conn->xs);
		conn->state = H_AUTH_FAILED;
		preauth_progress(conn, false);
		conn->timer.fn = auth_failed_later;
		timer_arm(&conn->timer, HOME_AUTH_FAIL_DELAY_MS);
		return;
	}
	/* A connection that is closing (C_READY already off) no longer
	 * counts as live. */
	if (c->home != NULL && (c->home->flags & C_READY)) {
		vlog(VL_WARN, "%s: %s is already connected; refusing the new "
		    "connection", conn->name, c->vc->domain);
		fail(conn, NULL, "conflict", "Component already connected");
		return;
	}
	timer_stop(&conn->timer);
	preauth_remove(conn);
	conn->flags &= ~C_UNAUTH;
	conn->state = H_READY;
	conn->flags |= C_READY;
	c->home = conn;
	conn_send(conn, "<handshake/>", 12);
	vlog(VL_INFO, "%s: authenticated", conn->name);
	/* Other nodes learn it first, then what waited here goes in. */
	route_home_changed(c);
}

static void
home_stanza(void *ud, const struct xs_stanza *st)
{
	struct conn *conn = ud;

	if (strcmp(st->ns, XS_NS_STREAMS) == 0 &&
	    strcmp(st->name, "error") == 0) {
		vlog(VL_WARN, "%s: stream error from component: %s%s%s%s",
		    conn->name,
		    st->err_condition ? st->err_condition : "(no condition)",
		    st->err_text ? " (" : "", st->err_text ? st->err_text : "",
		    st->err_text ? ")" : "");
		conn_end_stream(conn);
		return;
	}
	switch (conn->state) {
	case H_WAIT_HANDSHAKE:
		authenticate(conn, st);
		return;
	case H_READY:
		if (strcmp(st->name, "message") != 0 &&
		    strcmp(st->name, "presence") != 0 &&
		    strcmp(st->name, "iq") != 0) {
			vlog(VL_WARN, "%s: unsupported element <%s/>",
			    conn->name, st->name);
			fail(conn, NULL, "unsupported-stanza-type", NULL);
			return;
		}
		route_from_home(conn->owner, conn, st);
		return;
	default:
		return;
	}
}

static void
home_stream_close(void *ud)
{
	struct conn *conn = ud;

	vlog(VL_INFO, "%s: closed its stream", conn->name);
	conn_end_stream(conn);
}

static const struct xs_callbacks home_cb = {
	.open = home_stream_open,
	.stanza = home_stanza,
	.close = home_stream_close,
};

static void
home_input(struct conn *conn, const char *p, size_t n)
{
	enum xs_status s = xs_feed(conn->xs, p, n);
	const char *cond = xs_condition(s);

	if (cond == NULL || (conn->flags & (C_DEAD | C_DRAIN)))
		return;
	vlog(VL_WARN, "%s: %s", conn->name, cond);
	fail(conn, NULL, cond, NULL);
}

static void
home_drained(struct conn *conn)
{
	if (conn->state == H_READY)
		route_flush_home(conn->owner);
}

static void
home_closed(struct conn *conn, const char *why)
{
	struct comp *c = conn->owner;

	if (conn->flags & C_UNAUTH)
		return;
	vlog(shutting_down || why == NULL ? VL_INFO : VL_WARN,
	    "%s: disconnected%s%s",
	    conn->name, why ? ": " : "", why ? why : "");
	if (c->home == conn) {
		c->home = NULL;
		route_home_lost(c);
		route_home_changed(c);
	}
}

static void
home_accept(int fd, const char *peer)
{
	struct conn *conn;

	if (shutting_down) {
		vlog(VL_WARN, "component listener: refusing %s (shutting "
		    "down)", peer);
		close(fd);
		return;
	}
	conn = conn_new(fd, CK_HOME, &home_ops, NULL, false,
	    table->limits.output_cap);
	if (conn == NULL)
		return;
	/* Never refused for lack of room: an older unauthenticated
	 * connection makes way (preauth.c). */
	preauth_add(&home_pa, conn, peer);
	conn->flags |= C_UNAUTH;
	snprintf(conn->name, sizeof conn->name, "component %s", peer);
	conn->state = H_WAIT_HEADER;
	conn->xs = xs_new(&home_cb, conn, table->limits.max_stanza);
	conn->timer.fn = auth_timeout;
	conn->timer.arg = conn;
	timer_arm(&conn->timer, HOME_AUTH_TIMEOUT_MS);
	vlog(VL_DEBUG, "%s: connected", conn->name);
}

struct conn *
home_adopt(struct comp *c, int fd, const char *hdr, size_t hdrlen)
{
	struct conn *conn;

	conn = conn_new(fd, CK_HOME, &home_ops, c, false,
	    table->limits.output_cap);
	if (conn == NULL)
		return NULL;
	snprintf(conn->name, sizeof conn->name, "component %.60s (inherited)",
	    c->vc->domain);
	conn->xs = xs_new(&home_cb, conn, table->limits.max_stanza);
	conn->state = H_READY;      /* the header's callback does nothing */
	if (xs_prime(conn->xs, hdr, hdrlen) != XS_OK || c->home != NULL) {
		vlog(VL_ERR, "%s: cannot continue the inherited stream; "
		    "closing it", conn->name);
		conn->owner = NULL;
		conn->flags |= C_UNAUTH;    /* home_closed: not c's */
		conn_end_stream(conn);
		return NULL;
	}
	conn->flags |= C_READY;
	c->home = conn;
	vlog(VL_INFO, "%s: continued from the previous image", conn->name);
	route_home_changed(c);
	return conn;
}

int
home_listen(void)
{
	bool any = false;

	for (size_t i = 0; i < ncomps; i++)
		if (comps[i].vc->role == VC_ROLE_HOME)
			any = true;
	if (!any || table->listen.host == NULL)
		return 0;
	home_l = listener_open(table->listen.host, table->listen.port,
	    "component listener", home_accept);
	return home_l != NULL ? 0 : -1;
}

void
home_close_listener(void)
{
	listener_close(home_l);
	home_l = NULL;
}

void
home_close(struct comp *c)
{
	if (c->home != NULL)
		conn_close_stream(c->home);
}

void
home_stop(struct comp *c)
{
	if (c->home == NULL)
		return;
	conn_end_stream(c->home);
}
