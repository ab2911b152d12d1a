/*
 * delivery.c — reliable delivery over a peer link (delivery.h;
 * docs/peer-protocol.md is the contract).
 *
 * Nothing lost.  Every STANZA frame sent is kept (struct pframe, owning a
 * queue entry with the raw bytes and the fields a bounce needs) until the
 * other side acknowledges it.  When the link ends (dlv_end), the kept
 * frames go back through ops->requeue in their original order: the
 * session puts frames toward a home (PF_TO_HOME) at the front of their
 * component's to_home queue, to be sent again to whichever home is
 * available or bounced after queue-age, and frames toward a user
 * (PF_TO_USER) at the front of the to_up queue, out of this node's own
 * upstream.
 *
 * The receiving side keeps a receipt (seq, destination connection, the
 * offset in that connection's output where the stanza ends) and counts the
 * frame as handed on once the receiving host's TCP acknowledged the bytes
 * up to that offset (ops->delivered) — or at once when the stanza was
 * queued here or bounced (this node's queue then answers for it).  A
 * destination that closes while receipts still point at it cannot prove
 * delivery: their sequence numbers go back to the sender in a RETURN
 * frame, ahead of the ACK that covers them, and the sender hands exactly
 * those frames back to its queues (at least once, never silently lost;
 * frames for other destinations are not touched).  A stanza this node
 * cannot take while it stops (ops->deliver refuses it) is returned the
 * same way, so that the sender keeps it for another home or for this
 * node's restart.
 * ACKs carry the highest handed-on seq and go out every DLV_ACK_EVERY
 * frames or DLV_ACK_DELAY_MS.
 *
 * Bounded.  The kept frames have a cap of their own (limits.output_cap
 * bytes per link, counted as the memory they take: frame_cost).  At the
 * cap dlv_full() says so — queued stanzas wait in their component's queue
 * — and a source whose stanza took the link to the cap is paused
 * (conn_pause) until ACKs bring the kept frames below half the cap, the
 * same hysteresis conn.c uses for output.  A source may overshoot by what
 * it had already read (one read of stanzas), and bounces (which have no
 * source) are not held back.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "peer_proto.h"

static struct dlv *all;         /* every dlv, for dlv_conn_closed */
static struct vbuf scratch;     /* one frame being encoded */
static struct vbuf seqs;        /* a RETURN payload being built */

static void ack_due(struct timer *t);

void
dlv_init(struct dlv *d, const struct dlv_ops *ops, void *arg,
    struct pstats *st, const char *name, size_t ncomp, size_t max_stanza,
    size_t cap)
{
	memset(d, 0, sizeof *d);
	d->ops = ops;
	d->arg = arg;
	d->st = st;
	d->name = name;
	d->ncomps = ncomp;
	d->max_frame = max_stanza + PEER_SLACK;
	d->cap = cap ? cap : 1;
	d->ack_timer.fn = ack_due;
	d->ack_timer.arg = d;
	d->next = all;
	all = d;
}

void
dlv_free(struct dlv *d)
{
	struct pframe *f, *next;

	for (struct dlv **pp = &all; *pp != NULL; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	for (f = d->unacked; f != NULL; f = next) {
		next = f->next;
		free(f->e);
		free(f);
	}
	d->unacked = d->unacked_tail = NULL;
	timer_stop(&d->ack_timer);
	free(d->rc);
	free(d->paused);
	vbuf_free(&d->fields);
	if (all == NULL) {
		vbuf_free(&scratch);
		vbuf_free(&seqs);
	}
}

void
dlv_start(struct dlv *d)
{
	d->active = true;
	d->send_seq = d->recv_seq = d->handed = d->ack_sent = 0;
	d->nrc = d->rc_head = 0;
}

void
dlv_quiet(struct dlv *d)
{
	d->active = false;
	timer_stop(&d->ack_timer);
}

/* The memory an unacknowledged frame keeps: its record and its entry. */
static size_t
frame_cost(const struct pframe *f)
{
	return sizeof *f + qent_size(f->e);
}

bool
dlv_full(const struct dlv *d)
{
	return d->unacked_bytes >= d->cap;
}

/* Stops reading src until the kept frames fall below half the cap. */
static void
pause_source(struct dlv *d, struct conn *src)
{
	for (size_t i = 0; i < d->npaused; i++)
		if (d->paused[i] == src)
			return;
	if (d->npaused == d->cappaused) {
		d->cappaused = d->cappaused ? d->cappaused * 2 : 4;
		d->paused = xrealloc(d->paused,
		    d->cappaused * sizeof *d->paused);
	}
	d->paused[d->npaused++] = src;
	conn_pause(src);
	vlog(VL_DEBUG, "peer %s: %zu bytes unacknowledged, pausing %s",
	    d->name, d->unacked_bytes, src->name);
}

static void
resume_sources(struct dlv *d)
{
	for (size_t i = 0; i < d->npaused; i++)
		conn_resume(d->paused[i]);
	d->npaused = 0;
}

void
dlv_set_ids(struct dlv *d, const uint32_t *ids)
{
	d->ids = ids;
}

void
dlv_send(struct dlv *d, struct conn *src, size_t ci, uint8_t flags,
    struct qent *e)
{
	struct pframe *f = xmalloc(sizeof *f);
	const char *from = e->from ? e->data + e->from : "";
	size_t flen;

	/* A stanza near max-stanza with a long from (a resource may be
	 * 1023 bytes, and the parser does not bound JIDs) would not fit
	 * the receiver's max-stanza + PEER_SLACK: leave the JID out then. */
	flen = peer_stanza_from_len(strlen(from), e->len, d->max_frame);
	f->next = NULL;
	f->seq = ++d->send_seq;
	f->comp = (uint16_t)ci;
	f->flags = flags;
	f->e = e;
	vbuf_clear(&scratch);
	if (!peer_put_stanza(&scratch, flags,
	    d->ids != NULL ? d->ids[ci] : f->comp, f->seq, from, flen,
	    e->data, e->len))
		vfatal("stanza frame does not fit");   /* bounded by max_stanza */
	d->ops->write(d->arg, src, scratch.p, scratch.len);
	d->st->out++;
	if (d->unacked_tail != NULL)
		d->unacked_tail->next = f;
	else
		d->unacked = f;
	d->unacked_tail = f;
	d->nunacked++;
	d->unacked_bytes += frame_cost(f);
	if (src != NULL && !(src->flags & C_DEAD) && dlv_full(d))
		pause_source(d, src);
}

/* -------------------------------------------------------- receipts */

static void
receipt_add(struct dlv *d, uint32_t seq, struct conn *dst)
{
	struct receipt *r;

	if (d->nrc == d->caprc) {
		size_t cap = d->caprc ? d->caprc * 2 : 64;
		struct receipt *n = xmalloc(cap * sizeof *n);

		for (size_t i = 0; i < d->nrc; i++)
			n[i] = d->rc[(d->rc_head + i) % d->caprc];
		free(d->rc);
		d->rc = n;
		d->rc_head = 0;
		d->caprc = cap;
	}
	r = &d->rc[(d->rc_head + d->nrc) % d->caprc];
	r->seq = seq;
	r->dst = dst;
	r->end = dst != NULL ? dst->nqueued : 0;
	d->nrc++;
}

/* Pops the receipts whose stanzas arrived; returns true if handed moved. */
static bool
receipts_advance(struct dlv *d)
{
	const struct conn *last = NULL;
	uint64_t upto = 0;
	bool moved = false;

	while (d->nrc > 0) {
		struct receipt *r = &d->rc[d->rc_head];

		if (r->dst != NULL && r->dst != last) {
			last = r->dst;
			upto = d->ops->delivered(last);
		}
		if (r->dst != NULL && upto < r->end)
			break;
		d->handed = r->seq;
		d->rc_head = (d->rc_head + 1) % d->caprc;
		d->nrc--;
		moved = true;
	}
	return moved;
}

static void
send_ack(struct dlv *d)
{
	if (!d->active || d->handed == d->ack_sent)
		return;
	vbuf_clear(&scratch);
	peer_put_ack(&scratch, d->handed);
	d->ops->write(d->arg, NULL, scratch.p, scratch.len);
	d->ack_sent = d->handed;
	timer_stop(&d->ack_timer);
}

static void
ack_due(struct timer *t)
{
	struct dlv *d = t->arg;

	receipts_advance(d);
	send_ack(d);
	if (d->nrc > 0 && d->active)
		timer_arm(t, DLV_ACK_DELAY_MS);
}

void
dlv_tick(struct dlv *d)
{
	if (!d->active)
		return;
	receipts_advance(d);
	if (d->handed - d->ack_sent >= DLV_ACK_EVERY)
		send_ack(d);
	else if ((d->handed != d->ack_sent || d->nrc > 0) &&
	    !timer_armed(&d->ack_timer))
		timer_arm(&d->ack_timer, DLV_ACK_DELAY_MS);
}

void
dlv_ack_now(struct dlv *d)
{
	receipts_advance(d);
	send_ack(d);
}

static void
seq_add(struct vbuf *b, uint32_t seq)
{
	uint8_t s[4] = { seq >> 24, seq >> 16 & 0xff, seq >> 8 & 0xff,
	    seq & 0xff };

	vbuf_add(b, s, 4);
}

/* Gives the frames listed in seqs back to the sender.  Written before any
 * later ACK, so the sender sees it while it still keeps them. */
static void
send_return(struct dlv *d)
{
	if (seqs.len == 0 || !d->active)
		return;
	vbuf_clear(&scratch);
	peer_put_frame(&scratch, PT_RETURN, 0, 0, 0, seqs.p, seqs.len);
	d->ops->write(d->arg, NULL, scratch.p, scratch.len);
	d->st->returned += seqs.len / 4;
}

bool
dlv_busy(const struct dlv *d)
{
	return d->nunacked > 0 || d->nrc > 0 || d->handed != d->ack_sent;
}

void
dlv_conn_closed(struct conn *c, void *unused)
{
	for (struct dlv *d = all; d != NULL; d = d->next) {
		size_t lost = 0;

		vbuf_clear(&seqs);
		/* conn_close() already dropped its pauses. */
		for (size_t k = 0; k < d->npaused; k++)
			if (d->paused[k] == c) {
				d->paused[k] = d->paused[--d->npaused];
				break;
			}
		for (size_t k = 0; k < d->nrc; k++) {
			struct receipt *r = &d->rc[(d->rc_head + k) %
			    d->caprc];

			/* Its socket is gone, so whether the other host
			 * got the last bytes is unknown: count them lost. */
			if (r->dst != c)
				continue;
			lost++;
			r->dst = NULL;
			seq_add(&seqs, r->seq);
		}
		if (lost > 0 && d->active) {
			vlog(VL_WARN, "peer %s: %zu stanza(s) from it were "
			    "still in the output of %s when it closed; giving "
			    "them back to be sent again", d->name, lost,
			    c->name);
			send_return(d);
		}
	}
}

/* ------------------------------------------------------------ input */

bool
dlv_got_stanza(struct dlv *d, const struct peer_frame *f)
{
	const char *from, *raw;
	size_t flen, rlen;
	struct xs_stanza st;
	struct conn *dst;
	bool refused = false;

	if (f->seq != d->recv_seq + 1 || f->comp >= d->ncomps ||
	    (f->flags != PF_TO_HOME && f->flags != PF_TO_USER) ||
	    !peer_parse_stanza(f, &from, &flen, &raw, &rlen) || rlen < 3 ||
	    raw[0] != '<') {
		vlog(VL_WARN, "peer %s: malformed STANZA frame (seq %" PRIu32
		    ", expected %" PRIu32 "); closing the link", d->name,
		    f->seq, d->recv_seq + 1);
		return false;
	}
	d->recv_seq = f->seq;
	d->st->in++;
	stanza_peek(&st, raw, rlen, from, flen, &d->fields);
	dst = d->ops->deliver(d->arg, f->comp, f->flags == PF_TO_HOME, &st,
	    &refused);
	if (refused) {
		vbuf_clear(&seqs);
		seq_add(&seqs, f->seq);
		send_return(d);
		dst = NULL;
	}
	receipt_add(d, f->seq, dst);
	return true;
}

bool
dlv_got_return(struct dlv *d, const struct peer_frame *f)
{
	uint32_t seq;
	bool was_full = dlv_full(d);
	size_t n = 0;

	/* Last listed first: each is pushed to the front of its queue, so
	 * they end there in the order they were sent. */
	for (size_t i = f->len / 4; i-- > 0;) {
		struct pframe **pp, *fr;

		if (!peer_return_seq(f, i, &seq) || seq > d->send_seq) {
			vlog(VL_WARN, "peer %s: RETURN of a frame never sent; "
			    "closing the link", d->name);
			return false;
		}
		/* An already acknowledged frame cannot be returned; one not
		 * found was acknowledged (a RETURN is never sent after the
		 * ACK that covers it, so this does not happen). */
		for (pp = &d->unacked; *pp != NULL && (*pp)->seq != seq;
		    pp = &(*pp)->next)
			;
		if ((fr = *pp) == NULL)
			continue;
		*pp = fr->next;
		if (d->unacked_tail == fr) {
			d->unacked_tail = NULL;
			for (struct pframe *t = d->unacked; t != NULL;
			    t = t->next)
				d->unacked_tail = t;
		}
		d->nunacked--;
		d->unacked_bytes -= frame_cost(fr);
		d->st->resent++;
		d->ops->requeue(d->arg, fr->comp, fr->flags == PF_TO_HOME,
		    fr->e);
		free(fr);
		n++;
	}
	if (n > 0)
		vlog(VL_INFO, "peer %s: %zu stanza(s) given back; queued "
		    "again", d->name, n);
	if (d->npaused > 0 && d->unacked_bytes < d->cap / 2)
		resume_sources(d);
	if (was_full && !dlv_full(d))
		d->ops->room(d->arg);
	return true;
}

bool
dlv_got_ack(struct dlv *d, const struct peer_frame *f)
{
	uint32_t seq;
	bool was_full = dlv_full(d);

	if (!peer_parse_ack(f, &seq) || seq > d->send_seq) {
		vlog(VL_WARN, "peer %s: ACK for a frame never sent; closing "
		    "the link", d->name);
		return false;
	}
	while (d->unacked != NULL && d->unacked->seq <= seq) {
		struct pframe *fr = d->unacked;

		d->unacked = fr->next;
		if (d->unacked == NULL)
			d->unacked_tail = NULL;
		d->nunacked--;
		d->unacked_bytes -= frame_cost(fr);
		d->st->acked++;
		free(fr->e);
		free(fr);
	}
	if (d->npaused > 0 && d->unacked_bytes < d->cap / 2)
		resume_sources(d);
	if (was_full && !dlv_full(d))
		d->ops->room(d->arg);
	return true;
}

/* ------------------------------------------------------------ end */

void
dlv_end(struct dlv *d)
{
	struct pframe *rev = NULL, *f, *next;
	size_t n = d->nunacked;

	d->active = false;
	/* Unacknowledged frames go back to the front of their queues in
	 * their original order: reverse the list, then push each in front. */
	for (f = d->unacked; f != NULL; f = next) {
		next = f->next;
		f->next = rev;
		rev = f;
	}
	d->unacked = d->unacked_tail = NULL;
	d->nunacked = 0;
	d->unacked_bytes = 0;
	for (f = rev; f != NULL; f = next) {
		next = f->next;
		d->st->resent++;
		d->ops->requeue(d->arg, f->comp, f->flags == PF_TO_HOME, f->e);
		free(f);
	}
	if (n > 0)
		vlog(VL_INFO, "peer %s: %zu unacknowledged stanza(s) queued "
		    "again", d->name, n);
	resume_sources(d);
	d->nrc = d->rc_head = 0;
	d->send_seq = d->recv_seq = d->handed = d->ack_sent = 0;
	timer_stop(&d->ack_timer);
}
