/*
 * route.c — what happens to each stanza (DESIGN.md, "Flows").
 *
 * From the upstream (the node's server, on behalf of a user):
 *   - a disco#info get to the bare component domain, with disco: local,
 *     is answered here from the compiled response (disco_reply);
 *   - everything else goes to the real component when this node is its
 *     home and it is connected; otherwise it waits in the component's
 *     to_home queue.  On a virtual node it waits there too until peer links
 *     exist (next issue) and is bounced when it expires.
 * From the real component:
 *   - a stanza whose from is outside the component's domain is refused with
 *     a cancel/not-allowed stanza error back to the component and never
 *     reaches the upstream (a server would close the whole stream with
 *     invalid-from, cutting every user off);
 *   - a stanza without from gets from='DOMAIN' stamped into it, as Prosody
 *     does itself, so every server sees the same thing;
 *   - everything else goes to the upstream, or waits in to_up while the
 *     upstream reconnects.
 * A queued stanza that expires or does not fit is answered with an error
 * going the other way (bounce_build); an error or iq result that cannot be
 * delivered is counted as dropped, never answered.  So every stanza ends in
 * exactly one counter: local, forwarded, upstreamed, bounced (its reply),
 * rejected, or dropped — queued only says it waited on the way.
 *
 * Ownership: replies are built in local vbufs and copied into output
 * buffers; queue entries are freed here once delivered or bounced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcrt.h"

struct comp *comps;
size_t ncomps;
const struct vc_table *table = &vcomp_table;
bool shutting_down;

static void send_home(struct comp *c, struct conn *src,
    const struct xs_stanza *st);
static void send_up(struct comp *c, struct conn *src,
    const struct xs_stanza *st);

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
	vlog(VL_DEBUG, "%s: bounced <%s id='%s'> (%s)", c->vc->domain,
	    st->name, st->id ? st->id : "", reason == BOUNCE_TIMEOUT ?
	    "timeout" : reason == BOUNCE_OVERFLOW ? "queue full" :
	    "shutdown");
	reply_stanza(&r, st, &b);
	if (toward_up)
		send_up(c, NULL, &r);
	else
		send_home(c, NULL, &r);
	vbuf_free(&b);
}

static void expire_home(struct timer *t);
static void expire_up(struct timer *t);

/* Queues st; bounces it when the queue is full.  While shutting down
 * nothing is queued any more: it is bounced at once. */
static void
enqueue(struct comp *c, struct queue *q, const struct xs_stanza *st,
    bool to_home)
{
	bool was_empty = q->head == NULL;

	if (shutting_down) {
		bounce(c, st, to_home, BOUNCE_SHUTDOWN);
		return;
	}
	if (!queue_push(q, st, loop_now(), table->limits.queue_bytes)) {
		bounce(c, st, to_home, BOUNCE_OVERFLOW);
		return;
	}
	c->st.queued++;
	if (was_empty) {
		q->timer.fn = to_home ? expire_home : expire_up;
		q->timer.arg = c;
		timer_at(&q->timer, q->head->t + table->limits.queue_age_ms);
	}
}

static bool
home_ready(const struct comp *c)
{
	return c->home != NULL && (c->home->flags & C_READY);
}

static bool
up_ready(const struct comp *c)
{
	return c->up != NULL && (c->up->flags & C_READY);
}

/* Toward the real component (this issue: only on its home node). */
static void
send_home(struct comp *c, struct conn *src, const struct xs_stanza *st)
{
	/* Behind a non-empty queue a stanza waits its turn: order is kept. */
	if (home_ready(c) && c->to_home.head == NULL) {
		emit(c, c->home, src, st->raw, st->raw_len);
		c->st.forwarded++;
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
	if (c->vc->disco == VC_DISCO_LOCAL && stanza_is_disco_info_get(st) &&
	    st->to != NULL && strcasecmp(st->to, c->vc->domain) == 0) {
		struct vbuf b = { 0 };

		disco_reply(&b, c->vc, st);
		emit(c, src, src, b.p, b.len);
		vbuf_free(&b);
		c->st.local++;
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
	struct vbuf b = { 0 };
	struct xs_stanza stamped;

	c->st.in++;
	c->st.bytes_in += st->raw_len;
	if (st->from == NULL) {
		stamp_from(&b, st, c->vc->domain);
		stamped = *st;
		stamped.raw = b.p;
		stamped.raw_len = b.len;
		stamped.from = c->vc->domain;
		send_up(c, src, &stamped);
		vbuf_free(&b);
		return;
	}
	if (!jid_domain_is(st->from, c->vc->domain, c->vc->domain_len)) {
		char text[1200];

		c->st.rejected++;
		vlog(VL_WARN, "%s: real component sent from '%.200s', outside "
		    "its domain: refused", c->vc->domain, st->from);
		snprintf(text, sizeof text, "from '%.1000s' is not in domain "
		    "%s", st->from, c->vc->domain);
		if (stanza_bounce(&b, st, "cancel", "not-allowed", text,
		    NULL)) {
			emit(c, src, src, b.p, b.len);
			c->st.bounced++;
		}
		vbuf_free(&b);
		return;
	}
	send_up(c, src, st);
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
		free(e);
	}
	if (q->head == NULL)
		timer_stop(&q->timer);
}

void
route_flush_home(struct comp *c)
{
	if (home_ready(c))
		flush_queue(c, &c->to_home, c->home, &c->st.forwarded);
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
		struct xs_stanza st;

		qent_stanza(e, &st);
		bounce(c, &st, to_home, BOUNCE_TIMEOUT);
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
				struct xs_stanza st;

				qent_stanza(e, &st);
				bounce(c, &st, k == 0, BOUNCE_SHUTDOWN);
				free(e);
			}
		}
	}
}
