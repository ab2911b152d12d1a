/*
 * peer.c — the peer links between the runtimes of the cluster
 * (docs/peer-protocol.md is the contract; docs/cluster.md the overview).
 *
 * Two objects:
 *
 *   struct peer   one per remote node this node needs a link with
 *                 (peer_pair_needed).  It lives from peer_start() to exit
 *                 and holds what outlives a TCP connection: the dialler's
 *                 backoff, the remote STATUS, the counters.  It also holds
 *                 the state of the current authenticated connection —
 *                 sequence numbers, unacknowledged frames, receipts — which
 *                 is reset whenever that connection ends.
 *   struct link   one per TCP connection (dialled or accepted), from
 *                 connect/accept until it closes: the frame decoder and the
 *                 HELLO/PROOF handshake.  Once both proofs are verified the
 *                 link is attached to its peer (peer->link).
 *
 * The lower node index dials; the higher one only accepts.  An accepted
 * link replaces an older authenticated one of the same peer (the dialler
 * decided the old one was dead).
 *
 * Nothing lost.  Every STANZA frame sent is kept (struct pframe, owning a
 * queue entry with the raw bytes and the fields a bounce needs) until the
 * other side acknowledges it.  When the link ends, frames toward a home
 * (PF_TO_HOME) go back to the front of their component's to_home queue in
 * their original order and are sent again to whichever home is available,
 * or bounced after queue-age; frames toward a user (PF_TO_USER) go to the
 * front of the component's to_up queue, out of this node's own upstream.
 * The receiving side keeps a receipt (seq, destination connection, the
 * offset in that connection's output where the stanza ends) and counts the
 * frame as handed on once the receiving host's TCP acknowledged the bytes
 * up to that offset (conn->nwritten minus SIOCOUTQ) — or at once when the
 * stanza was queued here or bounced (this node's queue then answers for
 * it).  A destination that closes while receipts still point at it cannot
 * prove delivery: the link is closed, so the sender sends those frames
 * again (at least once, never silently lost).  ACKs carry the highest handed-on seq and go
 * out every PEER_ACK_EVERY frames or PEER_ACK_DELAY_MS.
 *
 * Bounded.  The kept frames have a cap of their own: limits.output_cap
 * bytes per link, counted as the memory they take (frame_cost).  At the
 * cap peer_full() says so — queued stanzas wait in their component's queue
 * — and a source whose stanza took the link to the cap stops being read
 * (pause_source) until ACKs bring the kept frames below half the cap, the
 * same hysteresis conn.c uses for output.  Without it only TCP buffers and
 * the output caps of both runtimes held the list down, several times the
 * cap.  A source may overshoot by what it had already read (one read of
 * stanzas), and bounces (which have no source) are not held back.
 *
 * Shutdown (peer_stop) says BYE and hands every kept frame back to its
 * queue at once, before node.c bounces the queues and stops the upstreams:
 * once BYE is sent nothing is read from the link, so no ACK can arrive to
 * change the outcome, and what is handed back while the upstreams are still
 * up can still be delivered or answered.
 *
 * Liveness: a PING when nothing was sent for min(keepalive, peer-timeout/3)
 * (so that the other side never declares a healthy link dead), and a link
 * on which nothing arrived for peer-timeout is closed.  Unauthenticated
 * links are closed after peer-timeout too.
 *
 * Ownership: links are calloc'd at connect/accept and freed by the
 * before-sleep hook after their connection closed (never inside their own
 * callbacks).  pframes and their qents are owned by the peer until acked
 * or handed back to a queue (route_requeue).  The cluster secret is
 * malloc'd by node.c and freed by it at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "peer_proto.h"
#include "routes.h"
#include "vcrt.h"

/* Send an ACK after this many handed-on frames ... */
#define PEER_ACK_EVERY		32
/* ... or this long after the first one not yet acknowledged. */
#define PEER_ACK_DELAY_MS	50
/* Most unauthenticated accepted links at once. */
#define PEER_MAX_PENDING	16

enum link_state {
	L_CONNECTING,   /* dialler: connect() in progress */
	L_HELLO,        /* our HELLO sent, waiting for theirs */
	L_PROOF,        /* our PROOF sent, waiting for theirs */
	L_READY,        /* authenticated; attached to its peer */
};

struct link {
	struct conn *conn;
	struct peer *peer;          /* dialler: from the start; acceptor:
	                             * once the HELLO named it */
	bool dialler;
	bool counted;               /* acceptor: in npending */
	enum link_state state;
	struct peer_decoder dec;
	uint8_t nonce[PEER_NONCE_LEN], their_nonce[PEER_NONCE_LEN];
	uint8_t expect[PEER_MAC_LEN];   /* the proof we want from them */
	char addr[80];              /* "127.0.0.1:5277", for logs */
	uint64_t last_rx, last_tx;  /* loop_now() of the last frame */
	struct link *next_dead;
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

struct peer {
	uint16_t idx;
	const char *name;
	bool dials;                 /* we are the lower index */
	struct link *link;          /* authenticated link, or NULL */
	struct link *dialling;      /* our attempt in progress, or NULL */
	uint8_t *status;            /* ncomps bytes of their last STATUS */
	/* Outgoing STANZA frames of the current link. */
	uint32_t send_seq;
	struct pframe *unacked, *unacked_tail;
	size_t nunacked;
	size_t unacked_bytes;       /* sum of frame_cost() of unacked */
	/* Sources stopped because unacked_bytes reached the cap (each
	 * counted once in its blocked); released by ACKs, the link's loss
	 * or peer_stop, forgotten when they close (peer_conn_lost). */
	struct conn **paused;
	size_t npaused, cappaused;
	/* Incoming STANZA frames of the current link. */
	uint32_t recv_seq, handed, ack_sent;
	struct receipt *rc;         /* ring of nrc receipts from rc_head */
	size_t rc_head, nrc, caprc;
	struct timer retry, ack_timer, live_timer;
	uint32_t failures;
	bool was_up;
	struct pstats st;
};

char *cluster_secret;
struct routes *routes;

static struct peer *peers;      /* indexed by node index; NULL if none */
static struct listener *peer_l;
static int npending;
static bool stopping;           /* peer_stop ran: no dialling, no accepting */
static struct link *dead_links;
static struct vbuf scratch;

static void link_input(struct conn *conn, const char *p, size_t n);
static void link_connected(struct conn *conn);
static void link_drained(struct conn *conn);
static void link_closed(struct conn *conn, const char *why);

static const struct conn_ops link_ops = {
	.input = link_input,
	.connected = link_connected,
	.drained = link_drained,
	.closed = link_closed,
};

static const char *
self_name(void)
{
	return table->nodes[table->self].name;
}

static bool
link_up(const struct peer *p)
{
	return p->link != NULL && p->link->state == L_READY &&
	    (p->link->conn->flags & C_READY);
}

struct peer *
peer_up(uint16_t node)
{
	if (peers == NULL || node >= table->nnodes || node == table->self ||
	    peers[node].name == NULL || !link_up(&peers[node]))
		return NULL;
	return &peers[node];
}

bool
peer_has_comp(const struct peer *p, size_t ci)
{
	return link_up(p) && ci < ncomps && (p->status[ci] & 1);
}

bool
peer_full(const struct peer *p)
{
	return !link_up(p) || conn_full(p->link->conn) ||
	    p->unacked_bytes >= table->limits.output_cap;
}

const char *
peer_name(const struct peer *p)
{
	return p->name;
}

/* ------------------------------------------------------------ output */

static void
link_send(struct link *l, const void *p, size_t n)
{
	conn_send(l->conn, p, n);
	l->last_tx = loop_now();
	if (l->peer != NULL)
		l->peer->st.bytes_out += n;
}

static void
send_ctl(struct link *l, uint8_t type, const void *payload, size_t len)
{
	vbuf_clear(&scratch);
	peer_put_frame(&scratch, type, 0, 0, 0, payload, len);
	link_send(l, scratch.p, scratch.len);
}

static void
send_status(struct peer *p)
{
	uint8_t *b = calloc(ncomps ? ncomps : 1, 1);

	if (b == NULL)
		vfatal("out of memory (status)");
	for (size_t i = 0; i < ncomps; i++)
		b[i] = comps[i].home != NULL &&
		    (comps[i].home->flags & C_READY) ? 1 : 0;
	send_ctl(p->link, PT_STATUS, b, ncomps);
	free(b);
}

void
peer_status_changed(void)
{
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peers[i].name != NULL && link_up(&peers[i]))
			send_status(&peers[i]);
}

/* The memory an unacknowledged frame keeps: its record and its entry. */
static size_t
frame_cost(const struct pframe *f)
{
	return sizeof *f + qent_size(f->e);
}

/*
 * Stops reading src until the kept frames of p fall below half the cap.
 * conn.c's own waiters are released when a connection's output drains,
 * which says nothing about ACKs, so p keeps its own list; the rule for
 * EPOLLIN is conn.c's (read only while blocked is 0 and not draining).
 */
static void
pause_source(struct peer *p, struct conn *src)
{
	for (size_t i = 0; i < p->npaused; i++)
		if (p->paused[i] == src)
			return;
	if (p->npaused == p->cappaused) {
		size_t cap = p->cappaused ? p->cappaused * 2 : 4;
		struct conn **n = realloc(p->paused, cap * sizeof *n);

		if (n == NULL)
			vfatal("out of memory (paused sources)");
		p->paused = n;
		p->cappaused = cap;
	}
	p->paused[p->npaused++] = src;
	src->blocked++;
	io_want(&src->io, src->io.events & ~(uint32_t)EPOLLIN);
	vlog(VL_DEBUG, "peer %s: %zu bytes unacknowledged, pausing %s",
	    p->name, p->unacked_bytes, src->name);
}

static void
resume_sources(struct peer *p)
{
	for (size_t i = 0; i < p->npaused; i++) {
		struct conn *src = p->paused[i];

		if (src->blocked > 0)
			src->blocked--;
		if (src->blocked == 0 &&
		    !(src->flags & (C_DEAD | C_DRAIN | C_CONNECTING))) {
			vlog(VL_DEBUG, "%s: resuming", src->name);
			io_want(&src->io, src->io.events | EPOLLIN);
		}
	}
	p->npaused = 0;
}

void
peer_send(struct peer *p, struct conn *src, struct comp *c, uint8_t flags,
    struct qent *e)
{
	struct pframe *f = malloc(sizeof *f);
	const char *from = e->from ? e->data + e->from : "";
	size_t flen;

	if (f == NULL)
		vfatal("out of memory (frame)");
	/* A stanza near max-stanza with a long from (a resource may be
	 * 1023 bytes, and the parser does not bound JIDs) would not fit
	 * the receiver's max-stanza + PEER_SLACK: leave the JID out then. */
	flen = peer_stanza_from_len(strlen(from), e->len,
	    table->limits.max_stanza + PEER_SLACK);
	f->next = NULL;
	f->seq = ++p->send_seq;
	f->comp = (uint16_t)(c - comps);
	f->flags = flags;
	f->e = e;
	vbuf_clear(&scratch);
	if (!peer_put_stanza(&scratch, flags, f->comp, f->seq, from, flen,
	    e->data, e->len))
		vfatal("stanza frame does not fit");   /* bounded by max_stanza */
	conn_relay(p->link->conn, src, scratch.p, scratch.len);
	p->link->last_tx = loop_now();
	p->st.bytes_out += scratch.len;
	p->st.out++;
	if (p->unacked_tail != NULL)
		p->unacked_tail->next = f;
	else
		p->unacked = f;
	p->unacked_tail = f;
	p->nunacked++;
	p->unacked_bytes += frame_cost(f);
	if (src != NULL && !(src->flags & C_DEAD) &&
	    p->unacked_bytes >= table->limits.output_cap)
		pause_source(p, src);
}

/* -------------------------------------------------------- receipts */

static void
receipt_add(struct peer *p, uint32_t seq, struct conn *dst)
{
	struct receipt *r;

	if (p->nrc == p->caprc) {
		size_t cap = p->caprc ? p->caprc * 2 : 64;
		struct receipt *n = malloc(cap * sizeof *n);

		if (n == NULL)
			vfatal("out of memory (receipts)");
		for (size_t i = 0; i < p->nrc; i++)
			n[i] = p->rc[(p->rc_head + i) % p->caprc];
		free(p->rc);
		p->rc = n;
		p->rc_head = 0;
		p->caprc = cap;
	}
	r = &p->rc[(p->rc_head + p->nrc) % p->caprc];
	r->seq = seq;
	r->dst = dst;
	r->end = dst != NULL ? dst->nqueued : 0;
	p->nrc++;
}

/*
 * How many of the bytes ever queued on conn the receiving host's TCP has
 * acknowledged: written, minus what the kernel still holds unacknowledged
 * (SIOCOUTQ).  Bytes merely written are not enough: when a runtime is
 * killed with unread input, its kernel answers with a reset and throws its
 * send queue away — measured, 41 stanzas of 10 000 lost that way.
 */
static uint64_t
delivered(const struct conn *conn)
{
	int outq = 0;

	if (conn->io.fd < 0 || ioctl(conn->io.fd, SIOCOUTQ, &outq) < 0 ||
	    outq < 0)
		return 0;
	return conn->nwritten - (uint64_t)outq;
}

/* Pops the receipts whose stanzas arrived; returns true if handed moved. */
static bool
receipts_advance(struct peer *p)
{
	const struct conn *last = NULL;
	uint64_t upto = 0;
	bool moved = false;

	while (p->nrc > 0) {
		struct receipt *r = &p->rc[p->rc_head];

		if (r->dst != NULL && r->dst != last) {
			last = r->dst;
			upto = delivered(last);
		}
		if (r->dst != NULL && upto < r->end)
			break;
		p->handed = r->seq;
		p->rc_head = (p->rc_head + 1) % p->caprc;
		p->nrc--;
		moved = true;
	}
	return moved;
}

static void
send_ack(struct peer *p)
{
	if (!link_up(p) || p->handed == p->ack_sent)
		return;
	vbuf_clear(&scratch);
	peer_put_ack(&scratch, p->handed);
	link_send(p->link, scratch.p, scratch.len);
	p->ack_sent = p->handed;
	timer_stop(&p->ack_timer);
}

static void
ack_due(struct timer *t)
{
	struct peer *p = t->arg;

	receipts_advance(p);
	send_ack(p);
	if (p->nrc > 0 && link_up(p))
		timer_arm(t, PEER_ACK_DELAY_MS);
}

void
peer_conn_lost(struct conn *conn)
{
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];
		size_t lost = 0;

		if (p->name == NULL)
			continue;
		/* conn_close() already set its blocked to 0. */
		for (size_t k = 0; k < p->npaused; k++)
			if (p->paused[k] == conn) {
				p->paused[k] = p->paused[--p->npaused];
				break;
			}
		for (size_t k = 0; k < p->nrc; k++) {
			struct receipt *r = &p->rc[(p->rc_head + k) %
			    p->caprc];

			/* Its socket is gone, so whether the other host
			 * got the last bytes is unknown: count them lost. */
			if (r->dst != conn)
				continue;
			lost++;
			r->dst = NULL;
		}
		/* A link already closing (C_DRAIN) said BYE once and sends
		 * no ACK any more; it needs no second BYE. */
		if (lost > 0 && p->link != NULL &&
		    !(p->link->conn->flags & C_DRAIN)) {
			vlog(VL_WARN, "peer %s: %zu stanza(s) from it were "
			    "still in the output of %s when it closed; closing "
			    "the link so that they are sent again", p->name,
			    lost, conn->name);
			send_ctl(p->link, PT_BYE, "destination lost", 16);
			conn_finish(p->link->conn);
		}
	}
}

/* --------------------------------------------------------- liveness */

static uint32_t
ping_interval(void)
{
	uint32_t k = table->limits.keepalive_ms, t = table->limits.peer_timeout_ms / 3;

	if (k == 0 || (t > 0 && t < k))
		k = t;
	return k ? k : 1000;
}

static void
live_check(struct timer *t)
{
	struct link *l = t->arg;
	uint64_t now = loop_now(), timeout = table->limits.peer_timeout_ms;
	uint64_t next;

	/* A link closing after its BYE sends nothing more (no PING): its
	 * drain timer bounds how long it may take. */
	if (l->conn->flags & C_DRAIN)
		return;
	if (l->state != L_READY) {
		vlog(VL_WARN, "peer link %s%s%s: not authenticated within %"
		    PRIu64 " ms", l->addr, l->peer ? " " : "",
		    l->peer ? l->peer->name : "", timeout);
		conn_close(l->conn, "authentication timeout");
		return;
	}
	if (now - l->last_rx >= timeout) {
		vlog(VL_WARN, "peer %s (%s): nothing received for %" PRIu64
		    " ms; link dead", l->peer->name, l->addr, now - l->last_rx);
		conn_close(l->conn, "peer timed out");
		return;
	}
	if (now - l->last_tx >= ping_interval())
		send_ctl(l, PT_PING, NULL, 0);
	next = l->last_tx + ping_interval();
	if (l->last_rx + timeout < next)
		next = l->last_rx + timeout;
	timer_at(t, next > now ? next : now + 1);
}

/* ------------------------------------------------------ dialling */

static void dial_now(struct timer *t);

/* One line per attempt: the first failure in a row at info level, the
 * rest at debug, so a node that is down for long does not flood the log. */
static void
schedule_dial(struct peer *p, const char *why)
{
	uint64_t d;

	if (stopping || !p->dials)
		return;
	p->failures++;
	d = backoff_delay(p->failures, table->limits.backoff_min_ms,
	    table->limits.backoff_max_ms);
	vlog(p->failures == 1 ? VL_INFO : VL_DEBUG, "peer %s: %s%sreconnecting "
	    "in %" PRIu64 " ms", p->name, why ? why : "", why ? "; " : "", d);
	timer_arm(&p->retry, d);
}

static struct link *
link_new(struct conn *conn, bool dialler, const char *addr)
{
	struct link *l = calloc(1, sizeof *l);

	if (l == NULL)
		vfatal("out of memory (link)");
	l->conn = conn;
	l->dialler = dialler;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	peer_decoder_init(&l->dec, table->limits.max_stanza + PEER_SLACK);
	peer_nonce(l->nonce);
	l->last_rx = l->last_tx = loop_now();
	conn->owner = l;
	conn->timer.fn = live_check;
	conn->timer.arg = l;
	timer_arm(&conn->timer, table->limits.peer_timeout_ms);
	return l;
}

static void
send_hello(struct link *l)
{
	struct peer_hello h = { .version = PEER_VERSION };

	memcpy(h.nonce, l->nonce, PEER_NONCE_LEN);
	memcpy(h.digest, table->spec_digest, PEER_DIGEST_LEN);
	h.node = table->self;
	h.name = self_name();
	h.name_len = strlen(h.name);
	vbuf_clear(&scratch);
	peer_put_hello(&scratch, &h);
	link_send(l, scratch.p, scratch.len);
	l->state = L_HELLO;
}

static void
dial_now(struct timer *t)
{
	struct peer *p = t->arg;
	const struct vc_endpoint *e = &table->nodes[p->idx].peer;
	struct sockaddr_storage ss;
	socklen_t len;
	struct conn *conn;
	char addr[80];

	if (stopping || p->dialling != NULL || p->link != NULL)
		return;
	if (e->host == NULL || resolve(e->host, e->port, &ss, &len) < 0) {
		schedule_dial(p, "cannot resolve its address");
		return;
	}
	snprintf(addr, sizeof addr, "%s:%u", e->host, e->port);
	conn = conn_connect((struct sockaddr *)&ss, len, CK_PEER, &link_ops,
	    NULL, table->limits.output_cap);
	if (conn == NULL) {
		vlog(VL_WARN, "peer %s: cannot connect to %s: %s", p->name,
		    addr, strerror(errno));
		schedule_dial(p, NULL);
		return;
	}
	snprintf(conn->name, sizeof conn->name, "peer %s (%s)", p->name,
	    addr);
	p->dialling = link_new(conn, true, addr);
	p->dialling->peer = p;
	p->dialling->state = L_CONNECTING;
}

static void
link_connected(struct conn *conn)
{
	struct link *l = conn->owner;

	vlog(VL_DEBUG, "peer %s: TCP connected to %s", l->peer->name,
	    l->addr);
	send_hello(l);
}

/* ---------------------------------------------------- authentication */

/* Refuses the link: logged by the caller; BYE says why to the other side. */
static void
refuse(struct link *l, const char *reason)
{
	send_ctl(l, PT_BYE, reason, strlen(reason));
	conn_finish(l->conn);
}

static void
got_hello(struct link *l, const struct peer_frame *f)
{
	struct peer_hello h;
	char name[256];
	const char *dn, *an;
	uint8_t mine[PEER_MAC_LEN];
	const uint8_t *dnonce, *anonce;
	uint16_t self = table->self;

	if (!peer_parse_hello(f, &h)) {
		vlog(VL_WARN, "peer link %s: malformed HELLO", l->addr);
		refuse(l, "malformed HELLO");
		return;
	}
	snprintf(name, sizeof name, "%.*s", (int)(h.name_len > 200 ? 200 :
	    h.name_len), h.name);
	if (h.version != PEER_VERSION) {
		vlog(VL_WARN, "peer link %s: node '%s' speaks peer protocol "
		    "version %u, this node speaks %u", l->addr, name,
		    h.version, PEER_VERSION);
		refuse(l, "unsupported version");
		return;
	}
	if (memcmp(h.digest, table->spec_digest, PEER_DIGEST_LEN) != 0) {
		vlog(VL_ERR, "peer %s (%s) was compiled from a different spec "
		    "(sha256 %.64s, ours %s); refused", name, l->addr,
		    h.digest, table->spec_digest);
		refuse(l, "different spec");
		return;
	}
	if (h.node >= table->nnodes || h.node == self ||
	    strlen(table->nodes[h.node].name) != h.name_len ||
	    memcmp(table->nodes[h.node].name, h.name, h.name_len) != 0) {
		vlog(VL_WARN, "peer link %s: claims to be node '%s' (index "
		    "%u), which is not another node of this cluster; refused",
		    l->addr, name, h.node);
		refuse(l, "unknown node");
		return;
	}
	if (l->dialler && h.node != l->peer->idx) {
		vlog(VL_WARN, "peer link %s: we dialled node %s but '%s' "
		    "answered; refused", l->addr, l->peer->name, name);
		refuse(l, "unexpected node");
		return;
	}
	if (!l->dialler && (h.node > self || peers[h.node].name == NULL)) {
		vlog(VL_WARN, "peer link %s: node %s should not dial node %s "
		    "(the lower index dials, and only nodes that need a link); "
		    "refused", l->addr, name, self_name());
		refuse(l, "should not dial");
		return;
	}
	l->peer = &peers[h.node];
	memcpy(l->their_nonce, h.nonce, PEER_NONCE_LEN);
	if (l->dialler) {
		dn = self_name(), an = l->peer->name;
		dnonce = l->nonce, anonce = l->their_nonce;
	} else {
		dn = l->peer->name, an = self_name();
		dnonce = l->their_nonce, anonce = l->nonce;
	}
	peer_proof(cluster_secret, strlen(cluster_secret),
	    l->dialler ? 'D' : 'A', dn, an, dnonce, anonce, mine);
	peer_proof(cluster_secret, strlen(cluster_secret),
	    l->dialler ? 'A' : 'D', dn, an, dnonce, anonce, l->expect);
	send_ctl(l, PT_PROOF, mine, PEER_MAC_LEN);
	explicit_bzero(mine, sizeof mine);
	if (!l->dialler)
		snprintf(l->conn->name, sizeof l->conn->name, "peer %s (%s)",
		    l->peer->name, l->addr);
	l->state = L_PROOF;
}

static void
got_proof(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;

	if (!peer_proof_ok(l->expect, f)) {
		vlog(VL_ERR, "peer %s (%s): wrong proof (not the same cluster "
		    "secret?); refused", p->name, l->addr);
		refuse(l, "bad proof");
		return;
	}
	explicit_bzero(l->expect, sizeof l->expect);
	if (!l->dialler && l->counted) {
		npending--;
		l->counted = false;
	}
	if (p->link != NULL && p->link != l) {
		vlog(VL_INFO, "peer %s: a new link from %s replaces the old "
		    "one", p->name, l->addr);
		conn_close(p->link->conn, "replaced by a new link");
	}
	if (p->dialling == l)
		p->dialling = NULL;
	l->state = L_READY;
	l->conn->flags |= C_READY;
	p->link = l;
	p->send_seq = p->recv_seq = p->handed = p->ack_sent = 0;
	memset(p->status, 0, ncomps);
	p->failures = 0;
	timer_stop(&p->retry);
	if (p->was_up)
		p->st.reconnects++;
	p->was_up = true;
	vlog(VL_INFO, "peer %s (%s): authenticated (%s)", p->name, l->addr,
	    l->dialler ? "dialled" : "accepted");
	timer_at(&l->conn->timer, loop_now() + ping_interval());
	send_status(p);
}

/* ------------------------------------------------------------ input */

/* Copies the value of an attribute, unescaping the predefined entities
 * and character references, NUL-terminated. */
static void
unescape_into(struct vbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		static const struct { const char *e; char c; } ents[] = {
			{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
			{ "&quot;", '"' }, { "&apos;", '\'' },
		};
		bool done = false;

		if (s[i] != '&') {
			vbuf_addch(b, s[i]);
			continue;
		}
		for (size_t k = 0; k < 5 && !done; k++) {
			size_t el = strlen(ents[k].e);

			if (n - i >= el && memcmp(s + i, ents[k].e, el) == 0) {
				vbuf_addch(b, ents[k].c);
				i += el - 1;
				done = true;
			}
		}
		if (!done && i + 2 < n && s[i + 1] == '#') {
			const char *semi = memchr(s + i, ';', n - i);
			unsigned long cp;
			char *end;

			if (semi != NULL) {
				cp = s[i + 2] == 'x' ?
				    strtoul(s + i + 3, &end, 16) :
				    strtoul(s + i + 2, &end, 10);
				if (end == semi && cp < 0x110000) {
					if (cp < 0x80)
						vbuf_addch(b, (char)cp);
					else if (cp < 0x800) {
						vbuf_addch(b, (char)(0xc0 | cp >> 6));
						vbuf_addch(b, (char)(0x80 | (cp & 0x3f)));
					} else if (cp < 0x10000) {
						vbuf_addch(b, (char)(0xe0 | cp >> 12));
						vbuf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
						vbuf_addch(b, (char)(0x80 | (cp & 0x3f)));
					} else {
						vbuf_addch(b, (char)(0xf0 | cp >> 18));
						vbuf_addch(b, (char)(0x80 | (cp >> 12 & 0x3f)));
						vbuf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
						vbuf_addch(b, (char)(0x80 | (cp & 0x3f)));
					}
					i = (size_t)(semi - s);
					done = true;
				}
			}
		}
		if (!done)
			vbuf_addch(b, '&');
	}
	vbuf_addch(b, '\0');
}

/*
 * Fills st from a stanza's raw bytes without the XML parser: the element
 * name and the from, to, id and type attributes of its start tag, which
 * is all that queueing and bouncing need.  The bytes were parsed by the
 * ingress runtime, so they are well-formed.  Strings live in b.  from,
 * when the frame carried it (flen > 0), is taken as the sender's JID and
 * the start tag's own from attribute is not looked for.
 */
static void
peek_stanza(struct xs_stanza *st, const char *raw, size_t len,
    const char *from, size_t flen, struct vbuf *b)
{
	size_t i = 1, s, off[5] = { 0 };
	static const char *const names[5] = { "from", "to", "id", "type", "" };
	const char **fields[4] = { &st->from, &st->to, &st->id, &st->type };
	bool have[5] = { false };

	memset(st, 0, sizeof *st);
	st->raw = raw;
	st->raw_len = len;
	vbuf_clear(b);
	vbuf_addch(b, '\0');        /* offset 0 is "absent" */
	if (flen > 0) {
		off[0] = b->len;
		vbuf_add(b, from, flen);
		vbuf_addch(b, '\0');
		have[0] = true;
	}
	s = i;
	while (i < len && raw[i] != ' ' && raw[i] != '\t' && raw[i] != '\r' &&
	    raw[i] != '\n' && raw[i] != '/' && raw[i] != '>') {
		if (raw[i] == ':')
			s = i + 1;
		i++;
	}
	off[4] = b->len;
	unescape_into(b, raw + s, i - s);
	have[4] = true;
	while (i < len && raw[i] != '>' && raw[i] != '/') {
		size_t an, ae;
		char q;
		const char *ve;

		while (i < len && (raw[i] == ' ' || raw[i] == '\t' ||
		    raw[i] == '\r' || raw[i] == '\n'))
			i++;
		an = i;
		/* XML allows any whitespace before the '='. */
		while (i < len && raw[i] != '=' && raw[i] != ' ' &&
		    raw[i] != '\t' && raw[i] != '\r' && raw[i] != '\n' &&
		    raw[i] != '>' && raw[i] != '/')
			i++;
		ae = i;
		while (i < len && raw[i] != '\'' && raw[i] != '"' &&
		    raw[i] != '>')
			i++;
		if (i >= len || raw[i] == '>' || ae == an)
			break;
		q = raw[i++];
		if ((ve = memchr(raw + i, q, len - i)) == NULL)
			break;
		for (int k = 0; k < 4; k++)
			if (!have[k] && strlen(names[k]) == ae - an &&
			    memcmp(raw + an, names[k], ae - an) == 0) {
				off[k] = b->len;
				unescape_into(b, raw + i, (size_t)(ve - raw) - i);
				have[k] = true;
			}
		i = (size_t)(ve - raw) + 1;
	}
	/* Pointers only now: b does not move any more. */
	st->name = b->p + off[4];
	st->ns = "";
	st->text = "";
	for (int k = 0; k < 4; k++)
		*fields[k] = have[k] ? b->p + off[k] : NULL;
}

static void
got_stanza(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;
	const char *from, *raw;
	size_t flen, rlen;
	struct xs_stanza st;
	/* The attribute copies of the frame being handled; reused from frame
	 * to frame (nothing keeps pointers into it: queues copy). */
	static struct vbuf fields;
	struct comp *c;
	struct conn *dst;

	if (f->seq != p->recv_seq + 1 || f->comp >= ncomps ||
	    (f->flags != PF_TO_HOME && f->flags != PF_TO_USER) ||
	    !peer_parse_stanza(f, &from, &flen, &raw, &rlen) || rlen < 3 ||
	    raw[0] != '<') {
		vlog(VL_WARN, "peer %s (%s): malformed STANZA frame (seq %"
		    PRIu32 ", expected %" PRIu32 "); closing the link",
		    p->name, l->addr, f->seq, p->recv_seq + 1);
		refuse(l, "malformed STANZA");
		return;
	}
	p->recv_seq = f->seq;
	p->st.in++;
	c = &comps[f->comp];
	peek_stanza(&st, raw, rlen, from, flen, &fields);
	if (f->flags == PF_TO_HOME) {
		/* The return route: replies to this user go back through
		 * the node the stanza came in on. */
		if (routes != NULL && st.from != NULL)
			routes_learn(routes, st.from, strlen(st.from), p->idx);
		dst = route_from_peer(c, l->conn, &st, true);
	} else
		dst = route_from_peer(c, l->conn, &st, false);
	receipt_add(p, f->seq, dst);
}

static void
got_ack(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;
	uint32_t seq;
	bool was_full = p->unacked_bytes >= table->limits.output_cap;

	if (!peer_parse_ack(f, &seq) || seq > p->send_seq) {
		vlog(VL_WARN, "peer %s (%s): ACK for a frame never sent; "
		    "closing the link", p->name, l->addr);
		refuse(l, "bad ACK");
		return;
	}
	while (p->unacked != NULL && p->unacked->seq <= seq) {
		struct pframe *fr = p->unacked;

		p->unacked = fr->next;
		if (p->unacked == NULL)
			p->unacked_tail = NULL;
		p->nunacked--;
		p->unacked_bytes -= frame_cost(fr);
		p->st.acked++;
		free(fr->e);
		free(fr);
	}
	if (p->npaused > 0 &&
	    p->unacked_bytes < table->limits.output_cap / 2)
		resume_sources(p);
	/* Stanzas that waited in a queue for the cap may go now. */
	if (was_full && !peer_full(p))
		route_homes_changed();
}

static void
got_status(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;

	if (f->len != ncomps) {
		vlog(VL_WARN, "peer %s (%s): STATUS of %" PRIu32 " bytes for "
		    "%zu components; closing the link", p->name, l->addr,
		    f->len, ncomps);
		refuse(l, "bad STATUS");
		return;
	}
	for (size_t i = 0; i < ncomps; i++)
		if ((p->status[i] & 1) != (f->payload[i] & 1))
			vlog(VL_INFO, "peer %s: real component %s %s there",
			    p->name, comps[i].vc->domain, f->payload[i] & 1 ?
			    "connected" : "not connected");
	memcpy(p->status, f->payload, ncomps);
	route_homes_changed();
}

/* Returns false when the link is closing and nothing more is to be read. */
static bool
got_frame(struct link *l, const struct peer_frame *f)
{
	l->last_rx = loop_now();
	switch (l->state) {
	case L_HELLO:
		if (f->type != PT_HELLO)
			break;
		got_hello(l, f);
		return true;
	case L_PROOF:
		if (f->type != PT_PROOF)
			break;
		got_proof(l, f);
		if (l->state == L_READY)
			route_homes_changed();
		return true;
	case L_READY:
		switch (f->type) {
		case PT_STANZA:
			got_stanza(l, f);
			return true;
		case PT_ACK:
			got_ack(l, f);
			return true;
		case PT_STATUS:
			got_status(l, f);
			return true;
		case PT_PING:
			send_ctl(l, PT_PONG, NULL, 0);
			return true;
		case PT_PONG:
			return true;
		case PT_BYE:
			vlog(VL_INFO, "peer %s (%s): closing: %.*s",
			    l->peer->name, l->addr,
			    (int)(f->len > 200 ? 200 : f->len),
			    (const char *)f->payload);
			conn_close(l->conn, NULL);
			return false;
		default:
			break;
		}
		break;
	default:
		break;
	}
	if (f->type == PT_BYE) {
		vlog(VL_WARN, "peer link %s%s%s refused us: %.*s", l->addr,
		    l->peer ? " " : "", l->peer ? l->peer->name : "",
		    (int)(f->len > 200 ? 200 : f->len), (const char *)f->payload);
		conn_close(l->conn, "refused by the peer");
		return false;
	}
	vlog(VL_WARN, "peer link %s%s%s: frame type %u %s; closing", l->addr,
	    l->peer ? " " : "", l->peer ? l->peer->name : "", f->type,
	    l->state == L_READY ? "out of place" : "before authentication");
	refuse(l, "protocol error");
	return false;
}

static void
link_input(struct conn *conn, const char *p, size_t n)
{
	struct link *l = conn->owner;
	struct peer_frame f;
	const char *why = NULL;
	int r;

	if (l->peer != NULL && l->state == L_READY)
		l->peer->st.bytes_in += n;
	peer_decoder_feed(&l->dec, p, n);
	while (!(conn->flags & (C_DEAD | C_DRAIN)) &&
	    (r = peer_decoder_next(&l->dec, &f, &why)) != 0) {
		if (r < 0) {
			vlog(VL_WARN, "peer link %s%s%s: %s; closing", l->addr,
			    l->peer ? " " : "", l->peer ? l->peer->name : "",
			    why ? why : "bad frame");
			refuse(l, "bad frame");
			return;
		}
		if (!got_frame(l, &f))
			return;
		/* Backpressure: a destination filled up; read the rest
		 * once it drained (the bytes stay in the decoder). */
		if (conn->blocked > 0)
			break;
	}
}

/* The decoder may still hold whole frames when reading was paused; they
 * are processed when the link is read again.  Checked before sleeping. */
static void
link_resume(struct link *l)
{
	if (!(l->conn->flags & (C_DEAD | C_DRAIN)) && l->conn->blocked == 0)
		link_input(l->conn, NULL, 0);
}

static void
link_drained(struct conn *conn)
{
	struct link *l = conn->owner;

	if (l->state == L_READY)
		route_homes_changed();
}

/* ----------------------------------------------------- link loss */

/* Hands every unacknowledged frame back to its queue (route_requeue) and
 * releases the sources paused for them. */
static void
release_unacked(struct peer *p)
{
	struct pframe *rev = NULL, *f, *next;

	/* Unacknowledged frames go back to the front of their queues in
	 * their original order: reverse the list, then push each in front. */
	for (f = p->unacked; f != NULL; f = next) {
		next = f->next;
		f->next = rev;
		rev = f;
	}
	for (f = rev; f != NULL; f = next) {
		next = f->next;
		route_requeue(&comps[f->comp], f->e, f->flags == PF_TO_HOME);
		p->st.resent++;
		free(f);
	}
	if (p->nunacked > 0)
		vlog(VL_INFO, "peer %s: %zu unacknowledged stanza(s) queued "
		    "again", p->name, p->nunacked);
	p->unacked = p->unacked_tail = NULL;
	p->nunacked = 0;
	p->unacked_bytes = 0;
	resume_sources(p);
}

static void
link_lost(struct peer *p)
{
	release_unacked(p);
	p->nrc = p->rc_head = 0;
	p->send_seq = p->recv_seq = p->handed = p->ack_sent = 0;
	memset(p->status, 0, ncomps);
	timer_stop(&p->ack_timer);
	route_homes_changed();
	for (size_t i = 0; i < ncomps; i++)
		route_flush_up(&comps[i]);
}

static void
link_closed(struct conn *conn, const char *why)
{
	struct link *l = conn->owner;
	struct peer *p = l->peer;

	if (l->counted) {
		npending--;
		l->counted = false;
	}
	if (p != NULL && p->dialling == l)
		p->dialling = NULL;
	if (p != NULL && p->link == l) {
		p->link = NULL;
		vlog(stopping ? VL_INFO : VL_WARN,
		    "peer %s (%s): link down%s%s", p->name, l->addr,
		    why ? ": " : "", why ? why : "");
		link_lost(p);
	} else if (!stopping && l->state != L_CONNECTING)
		vlog(VL_WARN, "peer link %s%s%s: closed before authentication"
		    "%s%s", l->addr, p ? " " : "", p ? p->name : "",
		    why ? ": " : "", why ? why : "");
	if (p != NULL && p->dials && l->dialler && p->link == NULL &&
	    p->dialling == NULL) {
		char reason[200];

		snprintf(reason, sizeof reason, "%s %s%s%s",
		    l->state == L_CONNECTING ? "cannot connect to" :
		    "link to", l->addr, why ? ": " : "", why ? why : "");
		schedule_dial(p, reason);
	}
	l->next_dead = dead_links;
	dead_links = l;
}

/* ----------------------------------------------------- listener */

static void
peer_accept(int fd, const char *addr)
{
	struct conn *conn;
	struct link *l;

	if (stopping || npending >= PEER_MAX_PENDING) {
		vlog(VL_WARN, "peer listener: refusing %s (%s)", addr,
		    stopping ? "shutting down" :
		    "too many unauthenticated links");
		close(fd);
		return;
	}
	conn = conn_new(fd, CK_PEER, &link_ops, NULL, false,
	    table->limits.output_cap);
	if (conn == NULL)
		return;
	snprintf(conn->name, sizeof conn->name, "peer link %s", addr);
	l = link_new(conn, false, addr);
	l->counted = true;
	npending++;
	send_hello(l);
	vlog(VL_DEBUG, "peer link %s: accepted", addr);
}

/* ------------------------------------------------------ the hook */

/* Before sleeping (after conn.c wrote the output): acknowledge what left,
 * resume links whose destinations drained, free dead links. */
static void
peer_hook(void)
{
	bool sent = false;

	while (dead_links != NULL) {
		struct link *l = dead_links;

		dead_links = l->next_dead;
		peer_decoder_free(&l->dec);
		explicit_bzero(l, sizeof *l);
		free(l);
	}
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL || !link_up(p))
			continue;
		/* Frames left in the decoder while reading was paused:
		 * what they produce must be written before sleeping. */
		if (p->link->dec.buf.len > p->link->dec.off) {
			link_resume(p->link);
			sent = true;
			if (!link_up(p))
				continue;
		}
		receipts_advance(p);
		if (p->handed - p->ack_sent >= PEER_ACK_EVERY) {
			send_ack(p);
			sent = true;
		} else if (p->handed != p->ack_sent &&
		    !timer_armed(&p->ack_timer))
			timer_arm(&p->ack_timer, PEER_ACK_DELAY_MS);
		else if (p->nrc > 0 && !timer_armed(&p->ack_timer))
			timer_arm(&p->ack_timer, PEER_ACK_DELAY_MS);
	}
	if (sent)
		conn_flush_all();
}

/* ------------------------------------------------------ start, stop */

int
peer_start(void)
{
	const struct vc_node *self = &table->nodes[table->self];
	bool any = false;

	if (table->nnodes < 2)
		return 0;
	if ((peers = calloc(table->nnodes, sizeof *peers)) == NULL)
		vfatal("out of memory (peers)");
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (!peer_pair_needed(table, table->self, i))
			continue;
		any = true;
		p->idx = i;
		p->name = table->nodes[i].name;
		p->dials = table->self < i;
		if ((p->status = calloc(ncomps ? ncomps : 1, 1)) == NULL)
			vfatal("out of memory (peers)");
		p->retry.fn = dial_now;
		p->retry.arg = p;
		p->ack_timer.fn = ack_due;
		p->ack_timer.arg = p;
	}
	for (size_t i = 0; i < ncomps; i++)
		if (comps[i].vc->role == VC_ROLE_HOME && routes == NULL)
			routes = routes_new(table->limits.routes);
	loop_add_hook(peer_hook);
	if (!any)
		return 0;
	if (self->peer.host == NULL) {
		vlog(VL_ERR, "node %s has peers but no peer address",
		    self->name);
		return -1;
	}
	peer_l = listener_open(self->peer.host, self->peer.port,
	    "peer listener", peer_accept);
	if (peer_l == NULL)
		return -1;
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peers[i].name != NULL && peers[i].dials)
			dial_now(&peers[i].retry);
	return 0;
}

void
peer_stop(void)
{
	stopping = true;
	listener_close(peer_l);
	peer_l = NULL;
	if (peers == NULL)
		return;
	/* Every link first: once none is C_READY, nothing handed back
	 * below can be sent over another link only to be handed back
	 * again. */
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL)
			continue;
		timer_stop(&p->retry);
		timer_stop(&p->ack_timer);
		if (p->dialling != NULL)
			conn_close(p->dialling->conn, NULL);
		if (p->link != NULL) {
			receipts_advance(p);
			send_ack(p);
			send_ctl(p->link, PT_BYE, "shutting down", 13);
			conn_finish(p->link->conn);
		}
	}
	/* Accepted links not yet authenticated go at once. */
	for (struct conn *c = conn_all, *next; c != NULL; c = next) {
		next = c->next;
		if (c->kind == CK_PEER && !(c->flags & C_READY) &&
		    !(c->flags & C_DRAIN))
			conn_close(c, NULL);
	}
	/*
	 * A draining link is not read any more, so no ACK will come for
	 * what it kept: hand those frames back now, while the upstreams and
	 * real components are still up (node.c stops them after this).
	 * Toward a user they leave by this node's upstream; toward a home
	 * they go to the real component if it is connected here, else
	 * route_bounce_all() answers them out of a live upstream.
	 */
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL || p->nunacked == 0)
			continue;
		release_unacked(p);
	}
	route_homes_changed();
	for (size_t i = 0; i < ncomps; i++)
		route_flush_up(&comps[i]);
}

void
peer_free_all(void)
{
	peer_hook();
	if (peers != NULL) {
		for (uint16_t i = 0; i < table->nnodes; i++) {
			struct peer *p = &peers[i];
			struct pframe *f, *next;

			for (f = p->unacked; f != NULL; f = next) {
				next = f->next;
				free(f->e);
				free(f);
			}
			free(p->status);
			free(p->rc);
			free(p->paused);
		}
		free(peers);
		peers = NULL;
	}
	routes_free(routes);
	routes = NULL;
	vbuf_free(&scratch);
}

/* ------------------------------------------------------------ stats */

static void
pline(struct vbuf *out, const char *node, const char *name, uint64_t v)
{
	char num[32];

	vbuf_addstr(out, "peer.");
	vbuf_addstr(out, node);
	vbuf_addch(out, '.');
	vbuf_addstr(out, name);
	snprintf(num, sizeof num, " %" PRIu64 "\n", v);
	vbuf_addstr(out, num);
}

void
peer_stats_render(struct vbuf *out)
{
	char num[64];

	if (peers != NULL)
		for (uint16_t i = 0; i < table->nnodes; i++) {
			struct peer *p = &peers[i];

			if (p->name == NULL)
				continue;
#define X(n) pline(out, p->name, #n, p->st.n);
			PEER_COUNTERS(X)
#undef X
			pline(out, p->name, "up", link_up(p));
			pline(out, p->name, "unacked", p->nunacked);
			pline(out, p->name, "unacked_bytes",
			    p->unacked_bytes);
		}
	if (routes != NULL) {
		snprintf(num, sizeof num, "routes.entries %zu\n",
		    routes_count(routes));
		vbuf_addstr(out, num);
		snprintf(num, sizeof num, "routes.bytes %zu\n",
		    routes_memory(routes));
		vbuf_addstr(out, num);
	}
}
