/*
 * delivery.h — reliable delivery over one peer link: sequence numbers,
 * the frames kept until acknowledged, receipts, ACKs and the sources
 * paused while the kept frames are at their cap (docs/peer-protocol.md,
 * "Delivery").
 *
 * The link session (peer.c) owns one struct dlv per remote node and tells
 * it when a link authenticated (dlv_start) and when it ended (dlv_end).
 * The delivery layer never touches sockets or the session's state: it
 * writes frames, hands received stanzas on and hands unacknowledged frames
 * back only through struct dlv_ops, and its one timer runs on the loop's
 * clock (loop_now).  So the unit tests drive it with fake operations, fake
 * connections and a clock they set (tests/unit/runtime/test_delivery.c).
 *
 * Ownership: a frame's queue entry is owned by the dlv from dlv_send until
 * it is acknowledged (freed) or handed back through ops->requeue (taken by
 * the callee).  Receipts and paused sources point at connections the dlv
 * does not own; dlv_conn_closed (a conn.c close observer) forgets them.
 */
#ifndef VCOMP_DELIVERY_H
#define VCOMP_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vcrt.h"

/* Send an ACK after this many handed-on frames ... */
#define DLV_ACK_EVERY		32
/* ... or this long after the first one not yet acknowledged. */
#define DLV_ACK_DELAY_MS	50

struct peer_frame;

/* How the delivery layer reaches the world; arg is the dlv's arg. */
struct dlv_ops {
	/* Queue bytes (one frame) on the link.  src, when not NULL, is the
	 * connection the stanza was read from: it is held back while the
	 * link's output is full (conn_relay). */
	void (*write)(void *arg, struct conn *src, const void *p, size_t n);
	/* A STANZA frame's stanza for component ci, toward its home
	 * (to_home) or toward a user.  Returns the connection its bytes were
	 * queued on, or NULL when it was queued or bounced here (handed on
	 * at once: this node's queue answers for it now) or refused
	 * (*refused set: this node is stopping and cannot take it; the
	 * frame is given back to the sender with RETURN). */
	struct conn *(*deliver)(void *arg, size_t ci, bool to_home,
	    const struct xs_stanza *st, bool *refused);
	/* An unacknowledged frame's entry (taken) goes back to component
	 * ci's queue, at the front. */
	void (*requeue)(void *arg, size_t ci, bool to_home, struct qent *e);
	/* How many of the bytes ever queued on c the far host has received
	 * (for the receipts); 0 when unknown. */
	uint64_t (*delivered)(const struct conn *c);
	/* The kept frames went from the cap to below it: stanzas that
	 * waited in a queue for the link may go now. */
	void (*room)(void *arg);
};

/* A STANZA frame sent and not yet acknowledged. */
struct pframe {
	struct pframe *next;
	uint32_t seq;
	uint16_t comp;
	uint8_t flags;
	struct qent *e;             /* owned */
};

/* A STANZA frame received and not yet acknowledged. */
struct receipt {
	uint32_t seq;
	struct conn *dst;           /* NULL: handed on already */
	uint64_t end;               /* dst->nqueued after its bytes */
};

struct dlv {
	const struct dlv_ops *ops;
	void *arg;
	/* The wire id of each component (vcomp_table.h's id), by table
	 * index; NULL (unit tests) writes the index itself.  Frames name a
	 * component by id, so adding one renumbers nothing on the wire;
	 * the session (peer.c) maps received ids back to indexes. */
	const uint32_t *ids;
	struct pstats *st;          /* the session's counters */
	const char *name;           /* the remote node, for logs */
	size_t ncomps;              /* frames for comp >= ncomps are bad */
	size_t cap;                 /* kept-frame cap, bytes (output_cap) */
	size_t max_frame;           /* largest STANZA payload accepted */
	bool active;                /* between dlv_start and dlv_end */
	/* Outgoing STANZA frames. */
	uint32_t send_seq;
	struct pframe *unacked, *unacked_tail;
	size_t nunacked;
	size_t unacked_bytes;       /* sum of the frames' memory */
	/* Sources paused because unacked_bytes reached the cap (each
	 * holding one conn_pause()); resumed by ACKs below half the cap or
	 * by dlv_end, forgotten when they close. */
	struct conn **paused;
	size_t npaused, cappaused;
	/* Incoming STANZA frames. */
	uint32_t recv_seq, handed, ack_sent;
	struct receipt *rc;         /* ring of nrc receipts from rc_head */
	size_t rc_head, nrc, caprc;
	struct timer ack_timer;
	struct vbuf fields;         /* the peeked fields of one frame */
	struct dlv *next;           /* every dlv, for the close observer */
};

/* Sets d up, inactive.  max_stanza bounds received stanzas (plus the
 * frame's from); cap bounds the kept frames' memory. */
/* Sets the wire ids (see struct dlv); ids must outlive d. */
void dlv_set_ids(struct dlv *d, const uint32_t *ids);
void dlv_init(struct dlv *d, const struct dlv_ops *ops, void *arg,
    struct pstats *st, const char *name, size_t ncomp, size_t max_stanza,
    size_t cap);
/* Frees what d holds (kept frames without handing them back). */
void dlv_free(struct dlv *d);
/* A link authenticated: both sequences start again at 1. */
void dlv_start(struct dlv *d);
/* The link said BYE and only drains: no ACK goes out any more, and a lost
 * destination needs no second BYE.  The kept frames stay until dlv_end. */
void dlv_quiet(struct dlv *d);
/* The link ended (lost, replaced or stopping): every kept frame goes back
 * through ops->requeue in its original order, paused sources resume,
 * receipts are dropped (nothing will acknowledge them). */
void dlv_end(struct dlv *d);
/* Sends e (taken) as a STANZA frame of component ci with flags
 * (PF_TO_HOME or PF_TO_USER); src is paused when the kept frames reach
 * the cap.  d must be active. */
void dlv_send(struct dlv *d, struct conn *src, size_t ci, uint8_t flags,
    struct qent *e);
/* Are the kept frames at the cap? */
bool dlv_full(const struct dlv *d);
/* A STANZA, ACK or RETURN frame arrived.  false (after logging) when it
 * breaks the protocol; the session then refuses the link. */
bool dlv_got_stanza(struct dlv *d, const struct peer_frame *f);
bool dlv_got_ack(struct dlv *d, const struct peer_frame *f);
bool dlv_got_return(struct dlv *d, const struct peer_frame *f);
/* Is anything still in flight on d: frames of ours not acknowledged, or
 * frames of theirs not yet acknowledged by us? */
bool dlv_busy(const struct dlv *d);
/* Before sleeping: counts what reached its destination and sends an ACK
 * every DLV_ACK_EVERY frames, else within DLV_ACK_DELAY_MS. */
void dlv_tick(struct dlv *d);
/* Acknowledges everything handed on, now (before a BYE). */
void dlv_ack_now(struct dlv *d);
/* The close observer (conn_on_close): forgets c in every dlv; frames whose
 * stanzas c still held unconfirmed are given back to their sender with a
 * RETURN frame (it sends them again: only those, not the whole link). */
void dlv_conn_closed(struct conn *c, void *unused);

#endif /* VCOMP_DELIVERY_H */
