/*
 * route.c — what happens to each stanza (docs/architecture.md, "A stanza's
 * path"; docs/cluster.md).
 *
 * From the upstream (the node's server, on behalf of a user):
 *   - a disco#info get to the bare component domain, with disco: local,
 *     is answered here from the compiled response (disco_reply);
 *   - everything else goes to the first home, in the component's home
 *     order, that can take it: this node when the real component is
 *     connected here (written to it), or another node whose last STATUS
 *     says it is connected there (a STANZA frame PF_TO_HOME over the peer
 *     link, through the struct route_peers that peer.c registered).  With none, it waits in the component's to_home queue
 *     and is flushed to the first home that becomes available.
 * From a peer (route_from_peer): PF_TO_HOME stanzas go to the local real
 *   component, PF_TO_USER ones to the upstream, queued while away; the
 *   latter get the address check below again.
 * From the real component:
 *   - a stanza whose from is outside the component's domain, or whose from
 *     or to is not a JID at all (RFC 7622: "@d", "d/", "l@d/", a bad
 *     label...), is refused with a stanza error back to the component
 *     (cancel/not-allowed, modify/jid-malformed; stanza_addresses_ok) and
 *     never reaches the upstream: a server would close the whole stream
 *     with invalid-from, cutting every user off;
 *   - a stanza without from gets from='DOMAIN' stamped into it, as Prosody
 *     does itself, so every server sees the same thing;
 *   - everything else goes back through the node its addressee's last
 *     stanza came in on, when the return-route table knows it and that
 *     link is up (PF_TO_USER); otherwise to the upstream, or it waits in
 *     to_up while the upstream reconnects.
 * Nothing larger than max-stanza is ever written, to a stream or a peer
 * link (the server, or the other runtime's decoder, would close it): such
 * a stanza — grown by an inherited namespace declaration or a stamped
 * from, or a disco#info reply built here — is refused with
 * modify/policy-violation going back where it came from (too_big).
 * A queued stanza that expires or does not fit is answered with an error
 * going the other way (bounce_build); an error or iq result that cannot be
 * delivered is counted as dropped, never answered.  So every stanza ends in
 * exactly one counter: local, forwarded, upstreamed, to_peer, bounced (its
 * reply), rejected, or dropped — queued only says it waited on the way.
 *
 *
 * The return-route table (retroute.c) is this file's alone: a to_home
 * stanza from a peer teaches it (route_from_peer), a reply consults it
 * (to_user).
 *
 * Layering: routing calls down (queues, stanzas, connections) and never
 * up: the peer links are reached through struct route_peers, and the roles
 * above (upstream.c, home.c, peer.c) call in here.
 *
 * Ownership: replies are built in local vbufs and copied into output
 * buffers; queue entries are freed here once delivered or bounced.  The
 * return-route table is created by route_init() and freed by
 * route_free().
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "peer_proto.h"
#include "retroute.h"
#include "vcrt.h"

struct comp *comps;
size_t ncomps;
const struct vc_table *table = &vcomp_table;
bool shutting_down;

static const struct route_peers *peers;   /* NULL: no other node */
static struct rroutes *rroutes;           /* NULL: nothing homed here */
/*
 * Replies waiting for a node, indexed by node: stanzas of any component
 * (qent.comp) whose user's route points at a node whose link is down or
 * stopping, flushed to it when it is back, answered to the real component
 * after queue-age.  nodeq[self] holds, while a restarted home waits for
 * its links to re-announce their users (warm false), the replies to JIDs
 * it has no route for yet.
 */
static struct queue *nodeq;
static bool warm = true;
static struct timer warm_timer;
/* The node stops (node.c): whatever cannot be written at once is given
 * back to the peer that sent it rather than queued here. */
bool route_stopping;
/* Stanzas seen from a user of this node's own server, per component: the
 * JIDs this node re-announces to a home whose link authenticates. */
static struct rroutes **seen;

static void send_home(struct comp *c, struct conn *src,
    const struct xs_stanza *st);
static void send_up(struct comp *c, struct conn *src,
    const struct xs_stanza *st);
static void to_user(struct comp *c, struct conn *src,
    const struct xs_stanza *st);
static bool too_big(struct comp *c, struct conn *back,
    const struct xs_stanza *st, bool from_home);

struct comp *
comp_find(const char *domain)
{
	char low[1024];
	size_t n = strlen(domain), lo = 0, hi = ncomps;

	if (n >= sizeof low)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = (domain[i] >= 'A' && domain[i] <= 'Z') ?
		    (char)(domain[i] + 32) : domain[i];
	/* The table is sorted by domain bytes; domains are normally lower
	 * case, so a binary search on the lowered name finds them. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(low, comps[mid].vc->domain);

		if (r == 0)
			return &comps[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* A domain spelled with upper case in the spec. */
	for (size_t i = 0; i < ncomps; i++)
		if (strcasecmp(domain, comps[i].vc->domain) == 0)
			return &comps[i];
	return NULL;
}

/* Writes bytes to dst on behalf of c, counting them. */
static void
emit(struct comp *c, struct conn *dst, struct conn *src, const char *p,
    size_t n)
{
	conn_relay(dst, src, p, n);
	c->st.out++;
	c->st.bytes_out += n;
}

/* The reply built in b to st, as a stanza of its own (for queueing). */
static void
reply_stanza(struct xs_stanza *r, const struct xs_stanza *st,
    const struct vbuf *b)
{
	memset(r, 0, sizeof *r);
	r->raw = b->p;
	r->raw_len = b->len;
	r->name = st->name;
	r->ns = "";
	r->type = "error";
	r->id = st->id;
	r->from = st->to;
	r->to = st->from;
	r->text = "";
}

/*
 * Answers st, which was headed for the real component (toward_up: the
 * reply goes to the upstream) or for the upstream (the reply goes to the
 * real component), with a bounce for reason.
 */
static void
bounce(struct comp *c, const struct xs_stanza *st, bool toward_up,
    enum bounce_reason reason)
{
	struct vbuf b = { 0 };
	struct xs_stanza r;

	if (!bounce_build(&b, st, c->vc->domain, reason)) {
		c->st.dropped++;
		vlog(VL_DEBUG, "%s: dropped undeliverable <%s type='%s'>",
		    c->vc->domain, st->name, st->type ? st->type : "");
		return;
	}
	c->st.bounced++;
	c->st.bounced_by[reason]++;
	vlog(VL_DEBUG, "%s: bounced <%s id='%s'> (%s)", c->vc->domain,
	    st->name, st->id ? st->id : "", reason == BOUNCE_TIMEOUT ?
	    "timeout" : reason == BOUNCE_OVERFLOW ? "queue full" :
	    "shutdown");
	reply_stanza(&r, st, &b);
	if (toward_up)
		to_user(c, NULL, &r);
	else
		send_home(c, NULL, &r);
	vbuf_free(&b);
}

static void expire_home(struct timer *t);
static void remember_stanza(struct comp *c, const struct xs_stanza *st);
static void expire_up(struct timer *t);

/* Queues st; bounces it when the queue is full.  While shutting down
 * nothing is queued any more: it is bounced at once.  Returns whether st
 * was queued (q->tail is st). */
static bool
enqueue_at(struct comp *c, struct queue *q, const struct xs_stanza *st,
    bool to_home, uint64_t t)
{
	bool was_empty = q->head == NULL;

	if (shutting_down) {
		bounce(c, st, to_home, BOUNCE_SHUTDOWN);
		return false;
	}
	if (!queue_push(q, st, t, table->limits.queue_bytes)) {
		bounce(c, st, to_home, BOUNCE_OVERFLOW);
		return false;
	}
	c->st.queued++;
	if (was_empty) {
		q->timer.fn = to_home ? expire_home : expire_up;
		q->timer.arg = c;
		timer_at(&q->timer, q->head->t + table->limits.queue_age_ms);
	}
	return true;
}

static void
enqueue(struct comp *c, struct queue *q, const struct xs_stanza *st,
    bool to_home)
{
	(void)enqueue_at(c, q, st, to_home, loop_now());
}

/* Queues a reply for the users behind node n (nodeq[n]), stamped t;
 * bounced to the real component when it does not fit.  Returns whether
 * it was queued. */
static bool
enqueue_node_at(struct comp *c, uint16_t n, const struct xs_stanza *st,
    uint64_t t)
{
	struct queue *q = &nodeq[n];
	bool was_empty = q->head == NULL;

	if (shutting_down) {
		bounce(c, st, false, BOUNCE_SHUTDOWN);
		return false;
	}
	if (!queue_push(q, st, t, table->limits.queue_bytes)) {
		bounce(c, st, false, BOUNCE_OVERFLOW);
		return false;
	}
	q->tail->comp = (uint16_t)(c - comps);
	c->st.queued++;
	if (was_empty)
		timer_at(&q->timer, q->head->t + table->limits.queue_age_ms);
	return true;
}

static void
enqueue_node(struct comp *c, uint16_t n, const struct xs_stanza *st)
{
	(void)enqueue_node_at(c, n, st, loop_now());
}

/* The local real component takes new stanzas: connected, authenticated,
 * and this node is not stopping (it only finishes what it has then). */
static bool
home_ready(const struct comp *c)
{
	return c->home != NULL && (c->home->flags & C_READY) &&
	    !route_stopping;
}

static bool
up_ready(const struct comp *c)
{
	return c->up != NULL && (c->up->flags & C_READY);
}

void
route_set_peers(const struct route_peers *rp)
{
	peers = rp;
}

static void expire_node(struct timer *t);
static void flush_node(uint16_t n);
static void (*home_observer)(struct comp *c, bool available);

/* Until when a destination not known yet (ROUTE_DEST_UNKNOWN) is not
 * reported as "no home", and the timer that evaluates it then. */
static uint64_t unknown_until;
static struct timer unknown_timer;

void
route_observe_homes(void (*fn)(struct comp *c, bool available))
{
	home_observer = fn;
}

static bool
clustered(void)
{
	return table->servers == VC_SERVERS_CLUSTERED;
}

void
route_init(void)
{
	for (size_t i = 0; i < ncomps; i++)
		if (comps[i].vc->role == VC_ROLE_HOME && rroutes == NULL)
			rroutes = rroutes_new(table->limits.routes);
	nodeq = xcalloc(table->nnodes, sizeof *nodeq);
	for (uint16_t n = 0; n < table->nnodes; n++) {
		nodeq[n].timer.fn = expire_node;
		nodeq[n].timer.arg = &nodeq[n];
	}
	seen = xcalloc(ncomps, sizeof *seen);
}

void
route_free(void)
{
	timer_stop(&unknown_timer);
	if (nodeq != NULL)
		for (uint16_t n = 0; n < table->nnodes; n++) {
			timer_stop(&nodeq[n].timer);
			queue_clear(&nodeq[n]);
		}
	free(nodeq);
	nodeq = NULL;
	if (seen != NULL)
		for (size_t i = 0; i < ncomps; i++)
			rroutes_free(seen[i]);
	free(seen);
	seen = NULL;
	timer_stop(&warm_timer);
	warm = true;
	rroutes_free(rroutes);
	rroutes = NULL;
}

/* The bound on how long a restarted home waits for re-announcements. */
static void
warm_over(struct timer *t)
{
	route_routes_complete();
}

void
route_await_routes(uint32_t ms)
{
	/* A clustered server delivers a reply to any of its users: nothing
	 * to wait for. */
	if (rroutes == NULL || peers == NULL || clustered())
		return;
	warm = false;
	warm_timer.fn = warm_over;
	timer_arm(&warm_timer, ms);
}

void
route_routes_complete(void)
{
	struct queue *q;
	struct qent *e;

	if (warm)
		return;
	warm = true;
	timer_stop(&warm_timer);
	if (nodeq == NULL)
		return;
	/* Each waiting reply is routed again, in order: now a route, if a
	 * link announced one, else this node's upstream. */
	q = &nodeq[table->self];
	timer_stop(&q->timer);
	while ((e = queue_pop(q)) != NULL) {
		struct xs_stanza st;

		qent_stanza(e, &st);
		to_user(&comps[e->comp], NULL, &st);
		free(e);
	}
}

void
route_learn(size_t ci, const char *jid, size_t len, uint16_t node)
{
	if (rroutes != NULL && ci < ncomps)
		rroutes_learn_new(rroutes, jid, len, node);
}

void
route_seen_each(size_t ci, void (*fn)(const char *jid, size_t len,
    uint16_t node, void *arg), void *arg)
{
	if (seen != NULL && ci < ncomps && seen[ci] != NULL)
		rroutes_each(seen[ci], fn, arg);
}

bool
route_table_stats(size_t *entries, size_t *bytes)
{
	if (rroutes == NULL)
		return false;
	*entries = rroutes_count(rroutes);
	*bytes = rroutes_memory(rroutes);
	return true;
}

static bool
peer_reachable(uint16_t n)
{
	return peers != NULL && n != table->self && n < table->nnodes &&
	    peers->reachable(n);
}

/* Sends e (taken) to another node's runtime, counting it for c. */
static void
emit_peer(struct comp *c, uint16_t node, struct conn *src, uint8_t flags,
    struct qent *e)
{
	c->st.out++;
	c->st.bytes_out += e->len;
	c->st.to_peer++;
	peers->send(node, src, (size_t)(c - comps), flags, e);
}

static void
unknown_over(struct timer *t)
{
	route_homes_changed();
}

void
route_dest_unknown(struct comp *c, uint32_t grace_ms)
{
	c->dest = ROUTE_DEST_UNKNOWN;
	unknown_until = loop_now() + grace_ms;
	unknown_timer.fn = unknown_over;
	timer_at(&unknown_timer, unknown_until);
}

/* Logs where stanzas for c's real component go when that changes.  A
 * component with a single home that is this node says nothing (home.c
 * logs its connections already).  The first destination after
 * route_dest_unknown is always reported to the observer (the state it
 * had before is not known), "none" only once the grace is over. */
static void
note_dest(struct comp *c, uint32_t dest)
{
	const char *was, *now;

	if (c->dest == ROUTE_DEST_UNKNOWN) {
		if (dest == 0 && loop_now() < unknown_until)
			return;     /* the links may still come up */
		c->dest = dest;
		if (home_observer != NULL)
			home_observer(c, dest != 0);
		if (dest == 0)
			vlog(VL_WARN, "%s: no home of the real component is "
			    "available; stanzas wait", c->vc->domain);
		return;
	}
	if (c->dest == dest)
		return;
	was = c->dest ? table->nodes[c->dest - 1].name : NULL;
	now = dest ? table->nodes[dest - 1].name : NULL;
	if ((c->dest == 0) != (dest == 0) && home_observer != NULL)
		home_observer(c, dest != 0);
	c->dest = dest;
	if (c->vc->nhomes == 1 && c->vc->homes[0] == table->self)
		return;
	if (now != NULL)
		vlog(VL_INFO, "%s: the real component is reached on node %s%s%s"
		    "%s", c->vc->domain, now, was ? " (was " : "",
		    was ? was : "", was ? ")" : "");
	else
		vlog(VL_WARN, "%s: no home of the real component is available "
		    "(was %s); stanzas wait", c->vc->domain, was);
}

/*
 * The first home, in c's home order, that can take stanzas now: this
 * node when the real component is connected here (*np = table->self), or
 * a node whose link is up and whose last STATUS says the real component
 * is connected there (*np = that node).  False when there is none.
 */
static bool
choose_home(struct comp *c, uint16_t *np)
{
	for (uint16_t i = 0; i < c->vc->nhomes; i++) {
		uint16_t n = c->vc->homes[i];

		if (n == table->self) {
			if (!home_ready(c))
				continue;
			*np = n;
			note_dest(c, (uint32_t)n + 1);
			return true;
		}
		if (peer_reachable(n) &&
		    peers->has_comp(n, (size_t)(c - comps))) {
			*np = n;
			note_dest(c, (uint32_t)n + 1);
			return true;
		}
	}
	note_dest(c, 0);
	return false;
}

/*
 * Refuses st before any server sees it: counted in rejected, logged, and
 * answered with a stanza error that goes back where st came from — on
 * back when given (the stream st was read from), else toward the real
 * component (from_home: st is the real component's) or toward the user.
 * Errors and iq results are not answered (RFC 6120 §8.3.1, §8.2.3), and
 * neither is a stanza whose error would itself be over max-stanza.
 */
static void
refuse(struct comp *c, struct conn *back, const struct xs_stanza *st,
    bool from_home, const char *etype, const char *cond, const char *text)
{
	struct vbuf b = { 0 };
	struct xs_stanza r;

	c->st.rejected++;
	vlog(VL_WARN, "%s: stanza %s the real component refused: %.300s",
	    c->vc->domain, from_home ? "of" : "for", text);
	if (!stanza_bounce(&b, st, etype, cond, text, NULL) ||
	    b.len > table->limits.max_stanza) {
		vbuf_free(&b);
		return;
	}
	c->st.bounced++;
	c->st.bounced_by[STATS_BOUNCE_REFUSED]++;
	if (back != NULL)
		emit(c, back, back, b.p, b.len);
	else {
		reply_stanza(&r, st, &b);
		if (from_home)
			send_home(c, NULL, &r);
		else
			to_user(c, NULL, &r);
	}
	vbuf_free(&b);
}

/*
 * Is st larger than max-stanza?  Then it is refused (modify/
 * policy-violation, see refuse()) rather than written: the server (or
 * the peer's decoder) would close the whole stream over it.  A stanza
 * read from a stream is within the limit, but one the runtime grew (an
 * inherited namespace declaration added by the parser, a stamped from)
 * or built (a disco#info reply) may not be.
 */
static bool
too_big(struct comp *c, struct conn *back, const struct xs_stanza *st,
    bool from_home)
{
	char text[160];

	if (st->raw_len <= table->limits.max_stanza)
		return false;
	snprintf(text, sizeof text, "stanza of %zu bytes is larger than "
	    "max-stanza (%" PRIu32 " bytes)", st->raw_len,
	    table->limits.max_stanza);
	refuse(c, back, st, from_home, "modify", "policy-violation", text);
	return true;
}

/* Toward the real component, wherever its home is. */
static void
send_home(struct comp *c, struct conn *src, const struct xs_stanza *st)
{
	uint16_t n;

	if (too_big(c, NULL, st, false))
		return;
	/* Behind a non-empty queue a stanza waits its turn: order is kept. */
	if (c->to_home.head == NULL && choose_home(c, &n)) {
		if (n == table->self) {
			emit(c, c->home, src, st->raw, st->raw_len);
			c->st.forwarded++;
			remember_stanza(c, st);
		} else
			emit_peer(c, n, src, PF_TO_HOME,
			    qent_new(st, loop_now()));
		return;
	}
	enqueue(c, &c->to_home, st, true);
}

static void
send_up(struct comp *c, struct conn *src, const struct xs_stanza *st)
{
	if (up_ready(c) && c->to_up.head == NULL) {
		emit(c, c->up, src, st->raw, st->raw_len);
		c->st.upstreamed++;
		return;
	}
	enqueue(c, &c->to_up, st, false);
}

/*
 * Toward a user: back through the node the user's stanzas came in on,
 * when the return-route table knows it — at once when that link is up and
 * nothing waits for it, else in that node's queue until it is back (out
 * of this node's upstream the stanza would reach a server that does not
 * know the user, which bounces it).  A route to this node itself (the
 * user came through this node's own server) and a JID without a route go
 * out of this node's upstream — except while a restarted home still waits
 * for its links to re-announce their users.  With clustered servers
 * (servers: clustered) a reply whose node is away leaves by this node's
 * upstream at once: the server cluster reaches the user.
 */
static void
to_user(struct comp *c, struct conn *src, const struct xs_stanza *st)
{
	uint16_t n;

	if (too_big(c, NULL, st, true))
		return;
	if (rroutes != NULL && st->to != NULL &&
	    rroutes_lookup(rroutes, st->to, strlen(st->to), &n) &&
	    n != table->self && n < table->nnodes) {
		size_t ci = (size_t)(c - comps);

		if (peer_reachable(n) && peers->decided(n, ci) &&
		    !peers->carries(n, ci))
			/* Their node does not define this component (or not
			 * as we do) while a change rolls: the user's own
			 * server is the only way left. */
			send_up(c, src, st);
		else if (nodeq[n].head == NULL && peer_reachable(n) &&
		    peers->carries(n, ci))
			emit_peer(c, n, src, PF_TO_USER,
			    qent_new(st, loop_now()));
		else if (clustered())
			/* The server cluster reaches the user anyway. */
			send_up(c, src, st);
		else
			enqueue_node(c, n, st);
		return;
	}
	if (!warm && st->to != NULL && rroutes != NULL &&
	    !rroutes_lookup(rroutes, st->to, strlen(st->to), &n)) {
		enqueue_node(c, table->self, st);
		return;
	}
	send_up(c, src, st);
}

struct conn *
route_from_peer(struct comp *c, struct conn *src, const struct xs_stanza *st,
    bool to_home, uint16_t from_node, bool *refused)
{
	struct vbuf text = { 0 };
	const char *etype, *cond;

	c->st.in++;
	c->st.from_peer++;
	c->st.bytes_in += st->raw_len;
	if (to_home) {
		/* The return route: replies to this user go back through
		 * the node the stanza came in on (a refusal too). */
		if (rroutes != NULL && st->from != NULL)
			rroutes_learn(rroutes, st->from, strlen(st->from),
			    from_node);
		if (too_big(c, NULL, st, false))
			return NULL;
		if (home_ready(c) && c->to_home.head == NULL) {
			emit(c, c->home, src, st->raw, st->raw_len);
			c->st.forwarded++;
			remember_stanza(c, st);
			return c->home;
		}
		if (route_stopping) {
			*refused = true;
			return NULL;
		}
		enqueue(c, &c->to_home, st, true);
		return NULL;
	}
	/* Toward a user, the bytes are the real component's, checked by
	 * the home that read them; checked again because this node's
	 * server is the one that would cut the stream (and the home may
	 * run an older runtime during a rolling upgrade). */
	if (too_big(c, NULL, st, true))
		return NULL;
	if (!stanza_addresses_ok(st, c->vc->domain, c->vc->domain_len,
	    &etype, &cond, &text)) {
		refuse(c, NULL, st, true, etype, cond, text.p);
		vbuf_free(&text);
		return NULL;
	}
	if (up_ready(c) && c->to_up.head == NULL) {
		emit(c, c->up, src, st->raw, st->raw_len);
		c->st.upstreamed++;
		return c->up;
	}
	/* Stopping, or unregistered on purpose (clustered servers, no
	 * home available: upstream_suspend) — this node's server will not
	 * be reached through it soon: given back, so that the sender
	 * keeps it (a clustered home sends it out of its own server; a
	 * reply held here would expire and be answered to the real
	 * component as if the user were gone). */
	if (route_stopping || c->up_suspended) {
		*refused = true;
		return NULL;
	}
	enqueue(c, &c->to_up, st, false);
	return NULL;
}

static bool
is_stanza(const struct xs_stanza *st)
{
	return strcmp(st->name, "message") == 0 ||
	    strcmp(st->name, "presence") == 0 || strcmp(st->name, "iq") == 0;
}

void
route_from_upstream(struct comp *c, struct conn *src,
    const struct xs_stanza *st)
{
	c->st.in++;
	c->st.bytes_in += st->raw_len;
	if (!is_stanza(st)) {
		vlog(VL_DEBUG, "%s: upstream sent <%s/>, ignored",
		    c->vc->domain, st->name);
		c->st.dropped++;
		return;
	}
	if (st->from != NULL) {
		size_t len = strlen(st->from);

		/* The user is on this node's own server now: replies go
		 * out of this node's upstream, whatever node they came
		 * through before (a user who moved). */
		if (rroutes != NULL)
			rroutes_learn(rroutes, st->from, len, table->self);
		/* Remembered to re-announce to a home that restarts. */
		if (c->vc->role != VC_ROLE_HOME || c->vc->nhomes > 1) {
			if (seen[c - comps] == NULL)
				seen[c - comps] =
				    rroutes_new(table->limits.routes);
			rroutes_learn(seen[c - comps], st->from, len,
			    table->self);
		}
	}
	if (c->vc->disco == VC_DISCO_LOCAL && stanza_is_disco_info_get(st) &&
	    st->to != NULL && strcasecmp(st->to, c->vc->domain) == 0) {
		struct vbuf b = { 0 };
		char text[160];

		disco_reply(&b, c->vc, st);
		if (b.len > table->limits.max_stanza) {
			/* The compiler refuses a response that cannot fit,
			 * but the reply also echoes the query's id and
			 * addresses. */
			snprintf(text, sizeof text, "disco#info reply of %zu "
			    "bytes is larger than max-stanza (%" PRIu32
			    " bytes)", b.len, table->limits.max_stanza);
			refuse(c, src, st, false, "modify",
			    "policy-violation", text);
		} else {
			emit(c, src, src, b.p, b.len);
			c->st.local++;
		}
		vbuf_free(&b);
		return;
	}
	send_home(c, src, st);
}

/* Copies st into b with from='DOMAIN' added after the element name. */
static void
stamp_from(struct vbuf *b, const struct xs_stanza *st, const char *domain)
{
	size_t i = 1;

	while (i < st->raw_len && st->raw[i] != ' ' && st->raw[i] != '\t' &&
	    st->raw[i] != '\r' && st->raw[i] != '\n' && st->raw[i] != '/' &&
	    st->raw[i] != '>')
		i++;
	vbuf_add(b, st->raw, i);
	vbuf_addstr(b, " from='");
	xml_escape(b, domain, strlen(domain));
	vbuf_addch(b, '\'');
	vbuf_add(b, st->raw + i, st->raw_len - i);
}

void
route_from_home(struct comp *c, struct conn *src, const struct xs_stanza *st)
{
	struct vbuf b = { 0 }, text = { 0 };
	struct xs_stanza stamped;
	const char *etype, *cond;

	c->st.in++;
	c->st.bytes_in += st->raw_len;
	if (!stanza_addresses_ok(st, c->vc->domain, c->vc->domain_len,
	    &etype, &cond, &text)) {
		refuse(c, src, st, true, etype, cond, text.p);
		vbuf_free(&text);
		return;
	}
	if (st->from == NULL) {
		stamp_from(&b, st, c->vc->domain);
		stamped = *st;
		stamped.raw = b.p;
		stamped.raw_len = b.len;
		stamped.from = c->vc->domain;
		to_user(c, src, &stamped);
		vbuf_free(&b);
		return;
	}
	to_user(c, src, st);
}

/* Keeps e (taken), just written to c's real component, for a replay;
 * drops what is older than REPLAY_MS or beyond output_cap bytes. */
static void
remember(struct comp *c, struct qent *e)
{
	struct queue *q = &c->replay;
	struct qent *old;

	e->next = NULL;
	if (q->tail != NULL)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->count++;
	q->bytes += qent_size(e);
	while (q->head != NULL && q->head != e &&
	    (q->head->t + REPLAY_MS < loop_now() ||
	    q->bytes > table->limits.output_cap) &&
	    (old = queue_pop(q)) != NULL)
		free(old);
}

static void
remember_stanza(struct comp *c, const struct xs_stanza *st)
{
	remember(c, qent_new(st, loop_now()));
}

/* Answers a queued entry that cannot be delivered (bounce_build's rules),
 * except a replayed one: it was written to a real component once and may
 * well have been handled, so an error would be a false bounce. */
static void
answer(struct comp *c, struct qent *e, bool toward_up,
    enum bounce_reason reason)
{
	struct xs_stanza st;

	if (e->replayed) {
		c->st.dropped++;
		vlog(VL_DEBUG, "%s: replayed <%s id='%s'> not delivered again",
		    c->vc->domain, e->name ? e->data + e->name : "",
		    e->id ? e->data + e->id : "");
		return;
	}
	qent_stanza(e, &st);
	bounce(c, &st, toward_up, reason);
}

void
route_home_lost(struct comp *c)
{
	struct queue *r = &c->replay, *q = &c->to_home;
	size_t n = 0;

	if (r->head == NULL)
		return;
	if (route_stopping || shutting_down) {
		/* This node closed it after it went quiet: it answered. */
		queue_clear(r);
		return;
	}
	/* Only what is recent enough to be in doubt. */
	while (r->head != NULL && r->head->t + REPLAY_MS < loop_now()) {
		struct qent *e = queue_pop(r);

		free(e);
	}
	if (r->head == NULL)
		return;
	n = r->count;
	for (struct qent *e = r->head; e != NULL; e = e->next)
		e->replayed = 1;
	r->tail->next = q->head;
	if (q->tail == NULL)
		q->tail = r->tail;
	q->head = r->head;
	q->count += r->count;
	q->bytes += r->bytes;
	c->st.queued += r->count;
	r->head = r->tail = NULL;
	r->count = 0;
	r->bytes = 0;
	q->timer.fn = expire_home;
	q->timer.arg = c;
	timer_at(&q->timer, q->head->t + table->limits.queue_age_ms);
	vlog(VL_INFO, "%s: the real component left; the %zu stanza(s) written "
	    "to it in its last %d ms will be delivered again", c->vc->domain,
	    n, REPLAY_MS);
}

/* Moves queued stanzas to dst while it has room.  Returns the number. */
static void
flush_queue(struct comp *c, struct queue *q, struct conn *dst,
    uint64_t *counter)
{
	struct qent *e;

	while (!conn_full(dst) && (e = queue_pop(q)) != NULL) {
		emit(c, dst, NULL, e->data, e->len);
		(*counter)++;
		if (dst == c->home)
			remember(c, e);
		else
			free(e);
	}
	if (q->head == NULL)
		timer_stop(&q->timer);
}

void
route_flush_home(struct comp *c)
{
	uint16_t n;

	while (c->to_home.head != NULL && choose_home(c, &n)) {
		if (n == table->self) {
			flush_queue(c, &c->to_home, c->home,
			    &c->st.forwarded);
			return;
		}
		if (peers->full(n))
			break;
		emit_peer(c, n, NULL, PF_TO_HOME, queue_pop(&c->to_home));
	}
	if (c->to_home.head == NULL)
		timer_stop(&c->to_home.timer);
}

void
route_homes_changed(void)
{
	for (size_t i = 0; i < ncomps; i++) {
		struct comp *c = &comps[i];
		uint16_t n;

		/* Chosen even with nothing queued, so a switch is logged
		 * when it happens, not at the next stanza. */
		choose_home(c, &n);
		route_flush_home(c);
	}
	if (nodeq != NULL)
		for (uint16_t n = 0; n < table->nnodes; n++)
			if (n != table->self)
				flush_node(n);
}

/* Sends node n's waiting replies while its link takes them. */
static void
flush_node(uint16_t n)
{
	struct queue *q = &nodeq[n];

	/* In order; the head waits while the link has not said yet
	 * whether it carries the head's component (COMPONENTS comes right
	 * after authentication and flushes again). */
	while (q->head != NULL && peer_reachable(n) && !peers->full(n) &&
	    peers->decided(n, q->head->comp)) {
		struct qent *e = queue_pop(q);
		struct xs_stanza st;

		if (peers->carries(n, e->comp)) {
			emit_peer(&comps[e->comp], n, NULL, PF_TO_USER, e);
			continue;
		}
		/* The link came back from a node that does not define
		 * this component compatibly: as in to_user(). */
		qent_stanza(e, &st);
		send_up(&comps[e->comp], NULL, &st);
		free(e);
	}
	if (q->head == NULL)
		timer_stop(&q->timer);
}

static void
expire_node(struct timer *t)
{
	struct queue *q = t->arg;
	struct qent *e;
	uint32_t age = table->limits.queue_age_ms;

	while ((e = queue_pop_expired(q, loop_now(), age)) != NULL) {
		struct xs_stanza st;

		qent_stanza(e, &st);
		bounce(&comps[e->comp], &st, false, BOUNCE_TIMEOUT);
		free(e);
	}
	if (q->head != NULL)
		timer_at(&q->timer, q->head->t + age);
}

void
route_home_changed(struct comp *c)
{
	if (peers != NULL)
		peers->status_changed();
	route_homes_changed();
}

void
route_flush_up(struct comp *c)
{
	if (up_ready(c))
		flush_queue(c, &c->to_up, c->up, &c->st.upstreamed);
}

static void
expire(struct comp *c, struct queue *q, bool to_home)
{
	struct qent *e;
	uint32_t age = table->limits.queue_age_ms;

	while ((e = queue_pop_expired(q, loop_now(), age)) != NULL) {
		answer(c, e, to_home, BOUNCE_TIMEOUT);
		free(e);
	}
	if (q->head != NULL)
		timer_at(&q->timer, q->head->t + age);
}

static void
expire_home(struct timer *t)
{
	struct comp *c = t->arg;

	expire(c, &c->to_home, true);
}

static void
expire_up(struct timer *t)
{
	struct comp *c = t->arg;

	expire(c, &c->to_up, false);
}

void
route_requeue(struct comp *c, struct qent *e, bool to_home, uint16_t node)
{
	struct queue *q = to_home ? &c->to_home : &c->to_up;

	/* A reply for a user behind node waits for that node — unless the
	 * servers are clustered: this node's own server reaches the user
	 * (and node may have given it back because its upstream is
	 * suspended, route_from_peer), so it goes to the front of to_up. */
	if (!to_home && nodeq != NULL && node < table->nnodes &&
	    node != table->self && !shutting_down && !clustered()) {
		q = &nodeq[node];
		e->comp = (uint16_t)(c - comps);
		queue_unpop(q, e);
		c->st.queued++;
		timer_at(&q->timer, q->head->t + table->limits.queue_age_ms);
		return;
	}
	if (shutting_down) {
		answer(c, e, to_home, BOUNCE_SHUTDOWN);
		free(e);
		return;
	}
	/* Its enqueue time is kept, so queue-age counts from when this
	 * node first took the stanza. */
	queue_unpop(q, e);
	c->st.queued++;
	q->timer.fn = to_home ? expire_home : expire_up;
	q->timer.arg = c;
	timer_at(&q->timer, q->head->t + table->limits.queue_age_ms);
}

void
route_bounce_homeless(void)
{
	for (size_t i = 0; i < ncomps; i++) {
		struct comp *c = &comps[i];
		struct qent *e;

		route_flush_home(c);
		timer_stop(&c->to_home.timer);
		while ((e = queue_pop(&c->to_home)) != NULL) {
			answer(c, e, true, BOUNCE_SHUTDOWN);
			free(e);
		}
	}
}

void
route_bounce_all(void)
{
	for (size_t i = 0; i < ncomps; i++) {
		struct comp *c = &comps[i];
		struct queue *qs[2] = { &c->to_home, &c->to_up };

		/* Whatever can still be delivered goes first. */
		route_flush_home(c);
		route_flush_up(c);
		for (int k = 0; k < 2; k++) {
			struct qent *e;

			timer_stop(&qs[k]->timer);
			while ((e = queue_pop(qs[k])) != NULL) {
				answer(c, e, k == 0, BOUNCE_SHUTDOWN);
				free(e);
			}
		}
	}
	/* Replies that waited for another node's return. */
	for (uint16_t n = 0; nodeq != NULL && n < table->nnodes; n++) {
		struct qent *e;

		if (n != table->self)
			flush_node(n);
		timer_stop(&nodeq[n].timer);
		while ((e = queue_pop(&nodeq[n])) != NULL) {
			struct xs_stanza st;

			qent_stanza(e, &st);
			bounce(&comps[e->comp], &st, false, BOUNCE_SHUTDOWN);
			free(e);
		}
	}
}

/* ------------------------------------------------ in-place upgrade */

static void
save_queue(struct handover *h, const struct queue *q, uint8_t kind,
    uint32_t comp_id, const char *node)
{
	for (const struct qent *e = q->head; e != NULL; e = e->next) {
		struct ho_stanza *s = handover_add_stanza(h);
		struct xs_stanza st;

		qent_stanza(e, &st);
		s->queue = kind;
		s->replayed = e->replayed;
		s->comp_id = kind == HO_Q_NODE ? comps[e->comp].vc->id :
		    comp_id;
		s->node = node != NULL ? xstrdup(node) : NULL;
		s->age_ms = loop_now() - e->t;
		vbuf_add(&s->raw, st.raw, st.raw_len);
		s->name = st.name != NULL ? xstrdup(st.name) : NULL;
		s->from = st.from != NULL ? xstrdup(st.from) : NULL;
		s->to = st.to != NULL ? xstrdup(st.to) : NULL;
		s->id = st.id != NULL ? xstrdup(st.id) : NULL;
		s->type = st.type != NULL ? xstrdup(st.type) : NULL;
	}
}

struct seen_arg {
	struct handover *h;
	uint32_t comp_id;
};

static void
save_seen(const char *jid, size_t len, uint16_t node, void *arg)
{
	struct seen_arg *a = arg;
	struct ho_seen *s = handover_add_seen(a->h);

	(void)node;
	s->comp_id = a->comp_id;
	s->jid = xmalloc(len + 1);
	memcpy(s->jid, jid, len);
	s->jid[len] = '\0';
}

void
route_handover_save(struct handover *h)
{
	for (size_t i = 0; i < ncomps; i++) {
		struct comp *c = &comps[i];

		save_queue(h, &c->to_home, HO_Q_TO_HOME, c->vc->id, NULL);
		save_queue(h, &c->to_up, HO_Q_TO_UP, c->vc->id, NULL);
		if (seen != NULL && seen[i] != NULL) {
			struct seen_arg a = { h, c->vc->id };

			rroutes_each(seen[i], save_seen, &a);
		}
	}
	for (uint16_t n = 0; nodeq != NULL && n < table->nnodes; n++)
		save_queue(h, &nodeq[n], HO_Q_NODE, 0, table->nodes[n].name);
}

struct comp *
comp_find_id(uint32_t id)
{
	for (size_t i = 0; i < ncomps; i++)
		if (comps[i].vc->id == id)
			return &comps[i];
	return NULL;
}

static int
node_index(const char *name)
{
	for (uint16_t n = 0; n < table->nnodes; n++)
		if (strcmp(table->nodes[n].name, name) == 0)
			return n;
	return -1;
}

/* Fills st from a saved stanza (strings point into s). */
static void
ho_stanza_view(const struct ho_stanza *s, struct xs_stanza *st)
{
	memset(st, 0, sizeof *st);
	st->raw = s->raw.p;
	st->raw_len = s->raw.len;
	st->name = s->name;
	st->ns = "";
	st->from = s->from;
	st->to = s->to;
	st->id = s->id;
	st->type = s->type;
	st->text = "";
}

/* Is there an inherited upstream session of component comp_id in h? */
static bool
ho_has_upstream(const struct handover *h, uint32_t comp_id)
{
	for (size_t i = 0; i < h->nconns; i++)
		if (h->conns[i].kind == HO_C_UPSTREAM &&
		    h->conns[i].comp_id == comp_id)
			return true;
	return false;
}

size_t
route_handover_answer(const struct handover *h, uint32_t comp_id,
    const char *domain, struct vbuf *out)
{
	size_t dropped = 0;

	for (size_t i = 0; i < h->nstanzas; i++) {
		const struct ho_stanza *s = &h->stanzas[i];
		struct xs_stanza st;

		if (s->comp_id != comp_id)
			continue;
		/* Toward users (the component's own, and its replies that
		 * waited for another node's users): written, as a removed
		 * node's replies are (route_handover_restore). */
		if (s->queue == HO_Q_TO_UP || s->queue == HO_Q_NODE) {
			vbuf_add(out, s->raw.p, s->raw.len);
			continue;
		}
		ho_stanza_view(s, &st);
		if (!bounce_build(out, &st, domain, BOUNCE_SHUTDOWN))
			dropped++;   /* an error or a result: never answered */
	}
	return dropped;
}

size_t
route_handover_restore(const struct handover *h)
{
	uint64_t now = loop_now();
	size_t lost = 0;

	for (size_t i = 0; i < h->nstanzas; i++) {
		const struct ho_stanza *s = &h->stanzas[i];
		struct comp *c = comp_find_id(s->comp_id);
		uint64_t t = s->age_ms < now ? now - s->age_ms : 0;
		struct xs_stanza st;
		struct queue *q;
		int n;

		if (c == NULL) {
			/* A component the new table lacks: node.c answers
			 * its stanzas on its inherited upstream
			 * (route_handover_answer); without one nothing can
			 * carry them. */
			lost++;
			if (!ho_has_upstream(h, s->comp_id))
				vlog(VL_WARN, "upgrade: a stanza of a removed "
				    "component (no upstream to answer it on) "
				    "dropped: <%s> to %s", s->name,
				    s->to ? s->to : "(none)");
			continue;
		}
		ho_stanza_view(s, &st);
		if (s->queue == HO_Q_NODE) {
			if ((n = node_index(s->node)) < 0) {
				/* A node the new table removed: its users
				 * are gone with it; the reply leaves by this
				 * node's own upstream, as for a JID without
				 * a route. */
				q = &c->to_up;
				enqueue_at(c, q, &st, false, t);
				continue;
			}
			/* Only the entry just queued is marked: a bounced
			 * one leaves the previous tail as it was. */
			if (enqueue_node_at(c, (uint16_t)n, &st, t))
				nodeq[n].tail->replayed = s->replayed;
			continue;
		}
		q = s->queue == HO_Q_TO_HOME ? &c->to_home : &c->to_up;
		if (enqueue_at(c, q, &st, s->queue == HO_Q_TO_HOME, t))
			q->tail->replayed = s->replayed;
	}
	for (size_t i = 0; i < h->nseen; i++) {
		struct comp *c = comp_find_id(h->seen[i].comp_id);
		size_t ci;

		if (c == NULL)
			continue;
		ci = (size_t)(c - comps);
		if (seen[ci] == NULL)
			seen[ci] = rroutes_new(table->limits.routes);
		rroutes_learn(seen[ci], h->seen[i].jid,
		    strlen(h->seen[i].jid), table->self);
	}
	return lost;
}
