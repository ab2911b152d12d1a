/*
 * peer.c — the link session between the runtimes of the cluster
 * (docs/peer-protocol.md is the contract; docs/cluster.md the overview):
 * dialling, the HELLO/PROOF handshake, STATUS, liveness, BYE and the
 * listener.  What travels over an authenticated link reliably — sequence
 * numbers, kept frames, receipts, ACKs — is delivery.c's; this file only
 * feeds it frames and tells it when a link starts and ends.
 *
 * Two objects:
 *
 *   struct peer   one per remote node this node needs a link with
 *                 (peer_pair_needed).  It lives from peer_start() to exit
 *                 and holds what outlives a TCP connection: the dialler's
 *                 backoff, the remote STATUS, the counters, and the
 *                 delivery state (struct dlv), which is reset whenever
 *                 the authenticated connection ends.
 *   struct link   one per TCP connection (dialled or accepted), from
 *                 connect/accept until it closes: the frame decoder and the
 *                 HELLO/PROOF handshake.  Once both proofs are verified the
 *                 link is attached to its peer (peer->link).
 *
 * The lower node index dials; the higher one accepts, and knocks when it
 * has no link (a HELLO answered with BYE "dial request": the lower node
 * dials at once instead of at its next backoff).  An accepted link
 * replaces an older authenticated one of the same peer (the dialler
 * decided the old one was dead).  On a link: STATUS, the DRAIN/DRAINED
 * exchange of a stopping node, and ROUTES, the re-announcement of the
 * users this node's own server has, are this file's; STANZA, ACK and
 * RETURN are delivery.c's.
 *
 * Routing reaches the peers only through the struct route_peers this file
 * registers (route_set_peers): routing is a lower layer and never calls
 * up into this one.
 *
 * Shutdown (peer_stop) says BYE and hands every kept frame back to its
 * queue at once (dlv_end), before node.c bounces the queues and stops the
 * upstreams: once BYE is sent nothing is read from the link, so no ACK can
 * arrive to change the outcome, and what is handed back while the
 * upstreams are still up can still be delivered or answered.
 *
 * Liveness: a PING when nothing was sent for min(keepalive, peer-timeout/3)
 * (so that the other side never declares a healthy link dead), and a link
 * on which nothing arrived for peer-timeout is closed.  Unauthenticated
 * links are closed after peer-timeout or PEER_AUTH_TIMEOUT_MS, whichever
 * is shorter, and accepted ones are bounded per source address and in all,
 * the oldest idle one evicted to make room (preauth.c): idle strangers on
 * the peer port cannot keep a real node's link down.
 * A PING is also sent as soon as a link is authenticated; the time from a
 * PING to its PONG is the link's round trip (peer_info,
 * vcomp_peer_rtt_seconds), so it is fresh on an idle link and as old as
 * the last idle moment on a busy one.
 *
 * Encryption: unless the spec says peer-encryption: none, each link's
 * connection gets tls.c's filter at connect/accept; this file then reads
 * and writes plaintext frames as before, and HELLO/PROOF run inside the
 * channel (defence in depth, and the place where the spec digest and the
 * node's identity are checked).
 *
 * Ownership: links are calloc'd at connect/accept and freed by peer_reap()
 * (node.c's before-sleep step) after their connection closed, never
 * inside their own callbacks.  The cluster secret is malloc'd by node.c
 * and freed by it at exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "peer_proto.h"
#include "delivery.h"
#include "vcrt.h"

/* Most unauthenticated accepted links at once, and from one source
 * address; beyond either the oldest idle one is evicted (preauth.c). */
#define PEER_MAX_PENDING	16
#define PEER_MAX_PENDING_SOURCE	4
/* Longest a link may take from TCP to both proofs (at most peer-timeout):
 * one round trip and two hashes for a real node. */
#define PEER_AUTH_TIMEOUT_MS	5000
/* A knock that arrives this soon after the link authenticated was sent
 * before it: a node upgrading in place (SIGUSR2) holds its listener, and
 * the knock its peer sent meanwhile waits in the backlog until the new
 * image, which has dialled already, accepts it.  It must not close the
 * fresh link (its unacknowledged frames would be sent twice).  A peer
 * that really restarted that soon closed its end of the link anyway. */
#define KNOCK_STALE_MS		1000

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
	bool knock;                 /* higher index: only asks for a dial */
	enum link_state state;
	struct peer_decoder dec;
	uint8_t nonce[PEER_NONCE_LEN], their_nonce[PEER_NONCE_LEN];
	uint8_t expect[PEER_MAC_LEN];   /* the proof we want from them */
	char addr[80];              /* "127.0.0.1:5277", for logs */
	uint64_t last_rx, last_tx;  /* loop_now() of the last frame */
	uint64_t up_at;             /* loop_now() when it authenticated */
	uint64_t ping_us;           /* mono_us() of the PING awaiting its
	                             * PONG; 0 when none */
	struct link *next_dead;
};

/* A STANZA frame sent and not yet acknowledged. */
struct peer {
	uint16_t idx;
	const char *name;
	bool dials;                 /* we are the lower index */
	struct link *link;          /* authenticated link, or NULL */
	struct link *dialling;      /* our attempt in progress, or NULL */
	uint8_t *status;            /* ncomps bytes of their last STATUS */
	/* What the peer's COMPONENTS said of each of our components
	 * (enum compat_state), and what the log last said of it: a
	 * component is carried on the link only when both define it
	 * compatibly, and a difference is logged once, not per link. */
	uint8_t *compat, *logged;
	struct dlv dlv;             /* delivery over the current link */
	/* Per link: they said DRAIN (send them no stanza), they said
	 * DRAINED (no stanza will come from them), they finished
	 * re-announcing their users (ROUTES with PF_ROUTES_END). */
	bool draining, drained, announced;
	struct timer retry;         /* next dial, or next knock */
	uint32_t failures;
	bool was_up;
	bool has_rtt;
	uint64_t rtt_us;            /* last PING to PONG, for the metrics */
	struct pstats st;
};

/* A component on one link (struct peer's compat). */
enum compat_state {
	CS_UNKNOWN = 0,   /* no COMPONENTS yet on this link */
	CS_OK,            /* same id, same compat digest: carried */
	CS_LACKS,         /* the peer does not define it */
	CS_DIFFERS,       /* the peer defines it with another compat digest */
};

char *cluster_secret;
char **cluster_accept;
size_t ncluster_accept;

/* Our components' wire ids by table index, and (id, index) sorted by id
 * for the frames that name one. */
static uint32_t *comp_ids;
struct id_ix {
	uint32_t id;
	uint32_t ix;
};
static struct id_ix *by_id;

static struct peer *peers;      /* indexed by node index; NULL if none */
static struct listener *peer_l;
/* Accepted links not (yet) authenticated, bounded per source. */
static struct preauth peer_pa = {
	.what = "peer listener",
	.max_total = PEER_MAX_PENDING,
	.max_source = PEER_MAX_PENDING_SOURCE,
};
static bool stopping;           /* peer_stop ran: no dialling, no accepting */
static bool leaving;            /* peer_drain ran: this node is stopping */
static bool upgrading;          /* ... to execute its next image: the
                                 * listener stays open (held, node.c) */
static struct link *dead_links;
static struct vbuf scratch;

static void link_input(struct conn *conn, const char *p, size_t n);
static void announce_routes(struct peer *p);
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

static struct peer *
peer_up(uint16_t node)
{
	if (peers == NULL || node >= table->nnodes || node == table->self ||
	    peers[node].name == NULL || !link_up(&peers[node]))
		return NULL;
	return &peers[node];
}


static bool
peer_full(const struct peer *p)
{
	return !link_up(p) || conn_full(p->link->conn) || dlv_full(&p->dlv);
}

/* --------------------------------------------- what routing sees */

static bool
rp_reachable(uint16_t node)
{
	struct peer *p = peer_up(node);

	return p != NULL && !p->draining;
}

static bool
rp_carries(uint16_t node, size_t ci)
{
	struct peer *p = peer_up(node);

	return p != NULL && ci < ncomps && p->compat[ci] == CS_OK;
}

static bool
rp_decided(uint16_t node, size_t ci)
{
	struct peer *p = peer_up(node);

	return p != NULL && ci < ncomps && p->compat[ci] != CS_UNKNOWN;
}

static bool
rp_has_comp(uint16_t node, size_t ci)
{
	struct peer *p = peer_up(node);

	return rp_carries(node, ci) && !p->draining && (p->status[ci] & 1);
}

static bool
rp_full(uint16_t node)
{
	struct peer *p = peer_up(node);

	return p == NULL || peer_full(p);
}

static void
rp_send(uint16_t node, struct conn *src, size_t ci, uint8_t flags,
    struct qent *e)
{
	dlv_send(&peers[node].dlv, src, ci, flags, e);
}

static void rp_status_changed(void);

static const struct route_peers route_peers = {
	.reachable = rp_reachable,
	.has_comp = rp_has_comp,
	.carries = rp_carries,
	.decided = rp_decided,
	.full = rp_full,
	.send = rp_send,
	.status_changed = rp_status_changed,
};

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
	struct vbuf b = {0};

	/* A stopping node says its components are gone at once: they only
	 * finish what they have. */
	for (size_t i = 0; i < ncomps; i++)
		peer_add_status_entry(&b, comps[i].vc->id,
		    comps[i].home != NULL && !route_stopping &&
		    (comps[i].home->flags & C_READY) ?
		    1 : 0);
	send_ctl(p->link, PT_STATUS, b.p, b.len);
	vbuf_free(&b);
}

/* Right after authentication: every component we define, so that the
 * peer knows which of its components this link carries. */
static void
send_components(struct peer *p)
{
	struct vbuf b = {0};

	for (size_t i = 0; i < ncomps; i++)
		peer_add_comp_entry(&b, comps[i].vc->id, comps[i].vc->compat,
		    comps[i].vc->domain, comps[i].vc->domain_len);
	send_ctl(p->link, PT_COMPONENTS, b.p, b.len);
	vbuf_free(&b);
}

static int
cmp_id(const void *a, const void *b)
{
	uint32_t x = ((const struct id_ix *)a)->id;
	uint32_t y = ((const struct id_ix *)b)->id;

	return x < y ? -1 : x > y;
}

/* Our table index of the component with wire id `id`, or -1. */
static long
comp_of_id(uint32_t id)
{
	struct id_ix key = { id, 0 }, *hit;

	hit = bsearch(&key, by_id, ncomps, sizeof *by_id, cmp_id);
	return hit != NULL ? (long)hit->ix : -1;
}

/* A real component connected or disconnected here: tell every peer. */
static void
rp_status_changed(void)
{
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peers[i].name != NULL && link_up(&peers[i]))
			send_status(&peers[i]);
}

/* The memory an unacknowledged frame keeps: its record and its entry. */
/* ------------------------------------------------- delivery glue */

/* The delivery layer (delivery.c) reaches the link and the routing
 * through these; arg is the struct peer. */

static void
dlv_write(void *arg, struct conn *src, const void *b, size_t n)
{
	struct peer *p = arg;

	conn_relay(p->link->conn, src, b, n);
	p->link->last_tx = loop_now();
	p->st.bytes_out += n;
}

static struct conn *
dlv_deliver(void *arg, size_t ci, bool to_home, const struct xs_stanza *st,
    bool *refused)
{
	struct peer *p = arg;

	return route_from_peer(&comps[ci], p->link->conn, st, to_home,
	    p->idx, refused);
}

static void
dlv_requeue(void *arg, size_t ci, bool to_home, struct qent *e)
{
	struct peer *p = arg;

	route_requeue(&comps[ci], e, to_home, p->idx);
}

static void
dlv_room(void *arg)
{
	struct peer *p = arg;

	if (!peer_full(p))
		route_homes_changed();
}

static const struct dlv_ops peer_dlv_ops = {
	.write = dlv_write,
	.deliver = dlv_deliver,
	.requeue = dlv_requeue,
	.delivered = conn_acked,
	.room = dlv_room,
};


/* --------------------------------------------------------- liveness */

/* Microseconds on the monotonic clock: loop_now()'s milliseconds are too
 * coarse for a round trip on a LAN. */
static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A PING, timed when none is in flight: its PONG gives the round trip. */
static void
send_ping(struct link *l)
{
	if (l->ping_us == 0)
		l->ping_us = mono_us();
	send_ctl(l, PT_PING, NULL, 0);
}

static uint32_t
ping_interval(void)
{
	uint32_t k = table->limits.keepalive_ms, t = table->limits.peer_timeout_ms / 3;

	if (k == 0 || (t > 0 && t < k))
		k = t;
	return k ? k : 1000;
}

/* The authentication timeout: peer-timeout, but at most
 * PEER_AUTH_TIMEOUT_MS, so that strangers hold no place for long. */
static uint32_t
auth_timeout_ms(void)
{
	uint32_t t = table->limits.peer_timeout_ms;

	return t > 0 && t < PEER_AUTH_TIMEOUT_MS ? t : PEER_AUTH_TIMEOUT_MS;
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
		    PRIu32 " ms", l->addr, l->peer ? " " : "",
		    l->peer ? l->peer->name : "", auth_timeout_ms());
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
		send_ping(l);
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

	if (stopping || leaving)
		return;
	p->failures++;
	d = backoff_delay(p->failures, table->limits.backoff_min_ms,
	    table->limits.backoff_max_ms);
	vlog(p->failures == 1 && p->dials ? VL_INFO : VL_DEBUG, "peer %s: "
	    "%s%s%s in %" PRIu64 " ms", p->name, why ? why : "",
	    why ? "; " : "", p->dials ? "reconnecting" : "asking for a dial",
	    d);
	timer_arm(&p->retry, d);
}

static struct link *
link_new(struct conn *conn, bool dialler, const char *addr)
{
	struct link *l = xcalloc(1, sizeof *l);

	l->conn = conn;
	l->dialler = dialler;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	peer_decoder_init(&l->dec, table->limits.max_stanza + PEER_SLACK);
	/* Encryption (tls.c) sits under the frames: everything below, HELLO
	 * included, travels inside the channel. */
	if (table->peer_encryption == VC_PEER_TLS)
		tls_attach(conn, dialler);
	peer_nonce(l->nonce);
	l->last_rx = l->last_tx = loop_now();
	conn->owner = l;
	conn->timer.fn = live_check;
	conn->timer.arg = l;
	timer_arm(&conn->timer, auth_timeout_ms());
	return l;
}

static void
send_hello(struct link *l)
{
	struct peer_hello h = {
		.min_version = PEER_VERSION_MIN, .max_version = PEER_VERSION_MAX,
	};

	memcpy(h.nonce, l->nonce, PEER_NONCE_LEN);
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

	if (stopping || leaving || p->dialling != NULL || p->link != NULL)
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
	p->dialling->knock = !p->dials;
	p->dialling->state = L_CONNECTING;
}

static void
link_connected(struct conn *conn)
{
	struct link *l = conn->owner;

	vlog(VL_DEBUG, "peer %s: TCP connected to %s", l->peer->name,
	    l->addr);
	if (conn->filter != NULL)
		tls_start(conn);
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
	uint16_t self = table->self, node;
	uint8_t v;

	/* A knock only waits for the BYE that says the dial is coming. */
	if (l->knock)
		return;
	if (!peer_parse_hello(f, &h)) {
		vlog(VL_WARN, "peer link %s: malformed HELLO", l->addr);
		refuse(l, "malformed HELLO");
		return;
	}
	snprintf(name, sizeof name, "%.*s", (int)(h.name_len > 200 ? 200 :
	    h.name_len), h.name);
	/* The highest version both speak; a later vcomp that speaks a
	 * newer version too still talks to this one, so a cluster rolls
	 * from one protocol to the next. */
	v = peer_version_agree(PEER_VERSION_MIN, PEER_VERSION_MAX,
	    h.min_version, h.max_version);
	if (v == 0) {
		vlog(VL_WARN, "peer link %s: node '%s' speaks peer protocol "
		    "versions %u-%u, this node %u-%u; refused", l->addr, name,
		    h.min_version, h.max_version, PEER_VERSION_MIN,
		    PEER_VERSION_MAX);
		refuse(l, "no common protocol version");
		return;
	}
	/* Nodes are named, not numbered: node lists may differ while a
	 * change rolls (a node added at the end, or removed). */
	for (node = 0; node < table->nnodes; node++)
		if (strlen(table->nodes[node].name) == h.name_len &&
		    memcmp(table->nodes[node].name, h.name, h.name_len) == 0)
			break;
	if (node >= table->nnodes || node == self) {
		vlog(VL_WARN, "peer link %s: claims to be node '%s', which is "
		    "not another node of this cluster; refused", l->addr, name);
		refuse(l, "unknown node");
		return;
	}
	if (l->dialler && node != l->peer->idx) {
		vlog(VL_WARN, "peer link %s: we dialled node %s but '%s' "
		    "answered; refused", l->addr, l->peer->name, name);
		refuse(l, "unexpected node");
		return;
	}
	/* The TLS handshake authenticated a PSK identity naming a node;
	 * the HELLO inside the channel must name the same one. */
	if (!l->dialler && table->peer_encryption == VC_PEER_TLS &&
	    tls_peer_node(l->conn) != node) {
		vlog(VL_WARN, "peer link %s: HELLO names node '%s' but its "
		    "TLS identity named another node; refused", l->addr, name);
		refuse(l, "identity mismatch");
		return;
	}
	if (!l->dialler && node > self && peers[node].name != NULL &&
	    peers[node].dials) {
		struct peer *p = &peers[node];

		/* A knock: the node we dial (re)started and asks for the
		 * link now rather than at our next backoff. */
		vlog(VL_INFO, "peer %s (%s) asks to be dialled", name,
		    l->addr);
		refuse(l, "dial request");
		if (p->link != NULL &&
		    loop_now() - p->link->up_at < KNOCK_STALE_MS) {
			vlog(VL_INFO, "peer %s: the link authenticated %llu ms "
			    "ago; the knock predates it", name,
			    (unsigned long long)(loop_now() - p->link->up_at));
			return;
		}
		if (p->link != NULL)
			conn_close(p->link->conn, "the peer restarted");
		if (!stopping && !leaving && p->dialling == NULL) {
			p->failures = 0;
			timer_stop(&p->retry);
			dial_now(&p->retry);
		}
		return;
	}
	if (!l->dialler && (node > self || peers[node].name == NULL)) {
		vlog(VL_WARN, "peer link %s: node %s should not dial node %s "
		    "(the lower index dials, and only nodes that need a link); "
		    "refused", l->addr, name, self_name());
		refuse(l, "should not dial");
		return;
	}
	l->peer = &peers[node];
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
	if (!l->dialler) {
		snprintf(l->conn->name, sizeof l->conn->name, "peer %s (%s)",
		    l->peer->name, l->addr);
		/* A HELLO from a node of this cluster: evicted after the
		 * links that have said nothing useful. */
		preauth_progress(l->conn, true);
	}
	l->state = L_PROOF;
}

/*
 * Is f the peer's proof, made with the cluster secret or — during a
 * rotation — with one of the older ones this node still accepts?  Every
 * candidate is checked, so the time taken does not tell which matched.
 */
static bool
proof_accepted(const struct link *l, const struct peer_frame *f)
{
	const char *dn, *an;
	const uint8_t *dnonce, *anonce;
	uint8_t expect[PEER_MAC_LEN];
	bool ok = peer_proof_ok(l->expect, f);

	if (l->dialler) {
		dn = self_name(), an = l->peer->name;
		dnonce = l->nonce, anonce = l->their_nonce;
	} else {
		dn = l->peer->name, an = self_name();
		dnonce = l->their_nonce, anonce = l->nonce;
	}
	for (size_t i = 0; i < ncluster_accept; i++) {
		peer_proof(cluster_accept[i], strlen(cluster_accept[i]),
		    l->dialler ? 'A' : 'D', dn, an, dnonce, anonce, expect);
		ok |= peer_proof_ok(expect, f);
	}
	explicit_bzero(expect, sizeof expect);
	return ok;
}

static void
got_proof(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;

	if (!proof_accepted(l, f)) {
		vlog(VL_ERR, "peer %s (%s): wrong proof (not the same cluster "
		    "secret?); refused", p->name, l->addr);
		refuse(l, "bad proof");
		return;
	}
	explicit_bzero(l->expect, sizeof l->expect);
	preauth_remove(l->conn);
	if (p->link != NULL && p->link != l) {
		vlog(VL_INFO, "peer %s: a new link from %s replaces the old "
		    "one", p->name, l->addr);
		conn_close(p->link->conn, "replaced by a new link");
	}
	if (p->dialling == l)
		p->dialling = NULL;
	l->state = L_READY;
	l->conn->flags |= C_READY;
	l->up_at = loop_now();
	p->link = l;
	dlv_start(&p->dlv);
	p->draining = p->drained = false;
	memset(p->status, 0, ncomps);
	memset(p->compat, CS_UNKNOWN, ncomps);
	p->failures = 0;
	timer_stop(&p->retry);
	if (p->was_up)
		p->st.reconnects++;
	p->was_up = true;
	vlog(VL_INFO, "peer %s (%s): authenticated (%s)", p->name, l->addr,
	    l->dialler ? "dialled" : "accepted");
	timer_at(&l->conn->timer, loop_now() + ping_interval());
	send_components(p);
	send_status(p);
	/* A first round trip at once, so the metrics have one. */
	send_ping(l);
	announce_routes(p);
}

/* -------------------------------------------- route announcements */

struct announce {
	struct peer *p;
	size_t ci;
	struct vbuf payload;
};

/* Sends the payload built so far as one ROUTES frame. */
static void
announce_flush(struct announce *a, uint8_t flags)
{
	vbuf_clear(&scratch);
	/* Frames name components by id (the end marker names none). */
	peer_put_frame(&scratch, PT_ROUTES, flags,
	    a->payload.len > 0 ? comps[a->ci].vc->id : 0, 0,
	    a->payload.p, a->payload.len);
	link_send(a->p->link, scratch.p, scratch.len);
	vbuf_clear(&a->payload);
}

static void
announce_one(const char *jid, size_t len, uint16_t node, void *arg)
{
	struct announce *a = arg;

	if (a->payload.len + 2 + len > table->limits.max_stanza)
		announce_flush(a, 0);
	peer_routes_add(&a->payload, jid, len);
}

/*
 * A link authenticated: re-announce to p the users of this node's own
 * server seen for every component p is a home of, so that a restarted
 * home sends their replies back here at once, then PF_ROUTES_END (also
 * when there is nothing to announce: the home counts the ends).
 */
static void
announce_routes(struct peer *p)
{
	struct announce a = { .p = p };

	for (size_t i = 0; i < ncomps; i++) {
		bool home = false;

		for (uint16_t k = 0; k < comps[i].vc->nhomes; k++)
			if (comps[i].vc->homes[k] == p->idx)
				home = true;
		if (!home)
			continue;
		a.ci = i;
		route_seen_each(i, announce_one, &a);
		if (a.payload.len > 0)
			announce_flush(&a, 0);
	}
	a.ci = 0;
	announce_flush(&a, PF_ROUTES_END);
	vbuf_free(&a.payload);
}

static bool
got_routes(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;
	size_t off = 0, len;
	const char *jid;
	bool bad;

	long ci = f->len > 0 ? comp_of_id(f->comp) : 0;

	/* Users of a component this node does not define (it was added
	 * and this node is not rolled yet) have no route to learn here. */
	while (ci >= 0 && peer_routes_next(f, &off, &jid, &len, &bad))
		route_learn((size_t)ci, jid, len, p->idx);
	if (ci >= 0 && bad) {
		vlog(VL_WARN, "peer %s (%s): malformed ROUTES; closing the "
		    "link", p->name, l->addr);
		refuse(l, "bad ROUTES");
		return false;
	}
	if (f->flags & PF_ROUTES_END) {
		bool all = true;

		p->announced = true;
		for (uint16_t i = 0; i < table->nnodes; i++)
			if (peers[i].name != NULL && !peers[i].announced)
				all = false;
		if (all)
			route_routes_complete();
	}
	return true;
}

/* ------------------------------------------------------------ input */

/*
 * The peer's COMPONENTS: which of our components this link carries.  A
 * component the peer lacks, or defines with another compat digest, is
 * treated as if its home were unreachable over this link: stanzas for a
 * home behind it wait in the component's queue (then bounce), replies to
 * users behind it leave by another way.  Each difference is logged once,
 * when it first appears or changes, not on every reconnect.
 */
static bool
got_components(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;
	const uint8_t *q = f->payload;
	size_t left = f->len;
	struct peer_comp_entry e;
	int r;

	memset(p->compat, CS_LACKS, ncomps);
	while ((r = peer_next_comp_entry(&q, &left, &e)) > 0) {
		long ci = comp_of_id(e.id);

		if (ci < 0) {
			vlog(VL_DEBUG, "peer %s defines %.*s, which this node "
			    "does not; not carried", p->name,
			    (int)(e.domain_len > 300 ? 300 : e.domain_len),
			    e.domain);
			continue;
		}
		p->compat[ci] = e.domain_len == comps[ci].vc->domain_len &&
		    memcmp(e.domain, comps[ci].vc->domain, e.domain_len) == 0 &&
		    memcmp(e.compat, comps[ci].vc->compat, PEER_COMPAT_LEN) == 0
		    ? CS_OK : CS_DIFFERS;
	}
	if (r < 0) {
		vlog(VL_WARN, "peer %s (%s): malformed COMPONENTS; closing the "
		    "link", p->name, l->addr);
		return false;
	}
	for (size_t i = 0; i < ncomps; i++) {
		if (p->compat[i] == p->logged[i])
			continue;
		if (p->compat[i] == CS_LACKS)
			vlog(VL_WARN, "peer %s does not define %s: its stanzas "
			    "do not cross this link (as if its home were "
			    "unreachable through it)", p->name,
			    comps[i].vc->domain);
		else if (p->compat[i] == CS_DIFFERS)
			vlog(VL_WARN, "peer %s defines %s incompatibly (compat "
			    "digest differs: ours %.12s…, a domain or forwarding "
			    "rules of another vcomp): its stanzas do not cross "
			    "this link", p->name, comps[i].vc->domain,
			    comps[i].vc->compat);
		else if (p->logged[i] != CS_UNKNOWN)
			vlog(VL_INFO, "peer %s now defines %s compatibly",
			    p->name, comps[i].vc->domain);
		p->logged[i] = p->compat[i];
	}
	route_homes_changed();
	return true;
}

static void
got_status(struct link *l, const struct peer_frame *f)
{
	struct peer *p = l->peer;
	const uint8_t *q = f->payload;
	size_t left = f->len;
	uint32_t id;
	uint8_t flags;
	int r;

	/* A STATUS replaces the last one: what it does not name is not
	 * connected there. */
	uint8_t *now = xcalloc(ncomps ? ncomps : 1, 1);
	while ((r = peer_next_status_entry(&q, &left, &id, &flags)) > 0) {
		long ci = comp_of_id(id);
		if (ci >= 0 && p->compat[ci] == CS_OK)
			now[ci] = flags & 1;
	}
	if (r < 0) {
		free(now);
		vlog(VL_WARN, "peer %s (%s): malformed STATUS; closing the link",
		    p->name, l->addr);
		refuse(l, "bad STATUS");
		return;
	}
	for (size_t i = 0; i < ncomps; i++)
		if ((p->status[i] & 1) != now[i])
			vlog(VL_INFO, "peer %s: real component %s %s there",
			    p->name, comps[i].vc->domain, now[i] ?
			    "connected" : "not connected");
	memcpy(p->status, now, ncomps);
	free(now);
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
		case PT_STANZA: {
			/* Frames name components by id; delivery works
			 * with our table index. */
			struct peer_frame g = *f;
			long ci = comp_of_id(f->comp);

			if (ci < 0 || l->peer->compat[ci] != CS_OK) {
				vlog(VL_WARN, "peer %s (%s): STANZA for "
				    "component id %08" PRIx32 ", which this "
				    "link does not carry; closing the link",
				    l->peer->name, l->addr, f->comp);
				refuse(l, "component not carried");
				return false;
			}
			g.comp = (uint32_t)ci;
			if (!dlv_got_stanza(&l->peer->dlv, &g)) {
				refuse(l, "malformed STANZA");
				return false;
			}
			return true;
		}
		case PT_COMPONENTS:
			if (!got_components(l, f)) {
				refuse(l, "malformed COMPONENTS");
				return false;
			}
			return true;
		case PT_ACK:
			if (!dlv_got_ack(&l->peer->dlv, f)) {
				refuse(l, "bad ACK");
				return false;
			}
			return true;
		case PT_STATUS:
			got_status(l, f);
			return true;
		case PT_RETURN:
			if (!dlv_got_return(&l->peer->dlv, f)) {
				refuse(l, "bad RETURN");
				return false;
			}
			/* Replies given back may now wait in to_up
			 * (clustered servers): out of this node's
			 * upstream, in order, if it is ready. */
			for (size_t i = 0; i < ncomps; i++)
				route_flush_up(&comps[i]);
			return true;
		case PT_ROUTES:
			return got_routes(l, f);
		case PT_DRAIN:
			/* They stop: nothing more is sent to them (replies
			 * for their users wait for their return), and they
			 * learn that with DRAINED, after which no STANZA of
			 * ours is in flight except what they still ACK. */
			vlog(VL_INFO, "peer %s: stopping", l->peer->name);
			l->peer->draining = true;
			send_ctl(l, PT_DRAINED, NULL, 0);
			route_homes_changed();
			return true;
		case PT_DRAINED:
			l->peer->drained = true;
			return true;
		case PT_PING:
			send_ctl(l, PT_PONG, NULL, 0);
			return true;
		case PT_PONG:
			if (l->ping_us != 0) {
				l->peer->rtt_us = mono_us() - l->ping_us;
				l->peer->has_rtt = true;
				l->ping_us = 0;
			}
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
	if (f->type == PT_BYE && l->knock) {
		vlog(VL_DEBUG, "peer %s: knock answered: %.*s", l->peer->name,
		    (int)(f->len > 200 ? 200 : f->len), (const char *)f->payload);
		conn_close(l->conn, NULL);
		return false;
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
		if (conn_paused(conn))
			break;
	}
}

/* The decoder may still hold whole frames when reading was paused; they
 * are processed when the link is read again.  Checked before sleeping. */
static void
link_resume(struct link *l)
{
	if (!(l->conn->flags & (C_DEAD | C_DRAIN)) && !conn_paused(l->conn))
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

static void
link_lost(struct peer *p)
{
	dlv_end(&p->dlv);
	memset(p->status, 0, ncomps);
	memset(p->compat, CS_UNKNOWN, ncomps);
	route_homes_changed();
	for (size_t i = 0; i < ncomps; i++)
		route_flush_up(&comps[i]);
}

static void
link_closed(struct conn *conn, const char *why)
{
	struct link *l = conn->owner;
	struct peer *p = l->peer;

	if (p != NULL && p->dialling == l)
		p->dialling = NULL;
	if (p != NULL && p->link == l) {
		p->link = NULL;
		vlog(stopping ? VL_INFO : VL_WARN,
		    "peer %s (%s): link down: %s", p->name, l->addr,
		    why ? why : "closed in order (BYE, or our end)");
		link_lost(p);
	} else if (!stopping && l->state != L_CONNECTING)
		vlog(VL_WARN, "peer link %s%s%s: closed before authentication"
		    "%s%s", l->addr, p ? " " : "", p ? p->name : "",
		    why ? ": " : "", why ? why : "");
	if (p != NULL && l->dialler && p->link == NULL && p->dialling == NULL) {
		char reason[200];

		snprintf(reason, sizeof reason, "%s %s%s%s",
		    l->state == L_CONNECTING ? "cannot connect to" :
		    "link to", l->addr, why ? ": " : "", why ? why : "");
		schedule_dial(p, l->knock ? NULL : reason);
	} else if (p != NULL && !p->dials && p->link == NULL &&
	    p->dialling == NULL && !timer_armed(&p->retry)) {
		/* The link we accepted is gone: ask for a new one. */
		schedule_dial(p, NULL);
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

	if (stopping || leaving) {
		vlog(VL_WARN, "peer listener: refusing %s (shutting down)",
		    addr);
		close(fd);
		return;
	}
	conn = conn_new(fd, CK_PEER, &link_ops, NULL, false,
	    table->limits.output_cap);
	if (conn == NULL)
		return;
	snprintf(conn->name, sizeof conn->name, "peer link %s", addr);
	l = link_new(conn, false, addr);
	/* Never refused for lack of room: an older unauthenticated link
	 * makes way (preauth.c). */
	preauth_add(&peer_pa, conn, addr);
	send_hello(l);
	vlog(VL_DEBUG, "peer link %s: accepted", addr);
}

/* ---------------------------------------------- before sleeping */

void
peer_resume_input(void)
{
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		/* Frames left in the decoder while reading was paused. */
		if (p->name != NULL && link_up(p) &&
		    p->link->dec.buf.len > p->link->dec.off)
			link_resume(p->link);
	}
}

void
peer_ack(void)
{
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peers[i].name != NULL && link_up(&peers[i]))
			dlv_tick(&peers[i].dlv);
}

void
peer_reap(void)
{
	while (dead_links != NULL) {
		struct link *l = dead_links;

		dead_links = l->next_dead;
		peer_decoder_free(&l->dec);
		explicit_bzero(l, sizeof *l);
		free(l);
	}
}

/* ------------------------------------------------------ start, stop */

int
peer_start(void)
{
	const struct vc_node *self = &table->nodes[table->self];
	bool any = false;

	if (table->nnodes < 2)
		return 0;
	comp_ids = xcalloc(ncomps ? ncomps : 1, sizeof *comp_ids);
	by_id = xcalloc(ncomps ? ncomps : 1, sizeof *by_id);
	for (size_t i = 0; i < ncomps; i++) {
		comp_ids[i] = comps[i].vc->id;
		by_id[i].id = comps[i].vc->id;
		by_id[i].ix = (uint32_t)i;
	}
	qsort(by_id, ncomps, sizeof *by_id, cmp_id);
	peers = xcalloc(table->nnodes, sizeof *peers);
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (!peer_pair_needed(table, table->self, i))
			continue;
		any = true;
		p->idx = i;
		p->name = table->nodes[i].name;
		p->dials = table->self < i;
		p->status = xcalloc(ncomps ? ncomps : 1, 1);
		p->compat = xcalloc(ncomps ? ncomps : 1, 1);
		p->logged = xcalloc(ncomps ? ncomps : 1, 1);
		p->retry.fn = dial_now;
		p->retry.arg = p;
		dlv_init(&p->dlv, &peer_dlv_ops, p, &p->st, p->name, ncomps,
		    table->limits.max_stanza, table->limits.output_cap);
		dlv_set_ids(&p->dlv, comp_ids);
	}
	conn_on_close(dlv_conn_closed, NULL);
	route_set_peers(&route_peers);
	if (!any)
		return 0;
	if (table->peer_encryption == VC_PEER_TLS) {
		if (tls_init(cluster_secret, cluster_accept,
		    ncluster_accept) < 0)
			return -1;
	} else
		vlog(VL_INFO, "peer links: not encrypted (peer-encryption: "
		    "none)");
	if (self->peer.host == NULL) {
		vlog(VL_ERR, "node %s has peers but no peer address",
		    self->name);
		return -1;
	}
	peer_l = listener_open(self->peer.host, self->peer.port,
	    "peer listener", peer_accept);
	if (peer_l == NULL)
		return -1;
	/* Dial the higher nodes; knock on the lower ones, so that a link
	 * after this node's restart does not wait for their backoff. */
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peers[i].name != NULL)
			dial_now(&peers[i].retry);
	route_await_routes(ROUTES_WAIT_MS);
	return 0;
}

/* No more links: the listener closes, no retry is armed, dials in
 * progress are abandoned.  The caller has set stopping or leaving, which
 * keep it that way. */
static void
stop_new_links(void)
{
	if (!upgrading) {
		listener_close(peer_l);
		peer_l = NULL;
	}
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL)
			continue;
		timer_stop(&p->retry);
		if (p->dialling != NULL)
			conn_close(p->dialling->conn, NULL);
	}
}

void
peer_stop(void)
{
	stopping = true;
	stop_new_links();
	if (peers == NULL)
		return;
	/* Every link first: once none is C_READY, nothing handed back
	 * below can be sent over another link only to be handed back
	 * again. */
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL)
			continue;
		if (p->link != NULL) {
			dlv_ack_now(&p->dlv);
			dlv_quiet(&p->dlv);
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

		if (p->name == NULL)
			continue;
		dlv_end(&p->dlv);
	}
	route_homes_changed();
	for (size_t i = 0; i < ncomps; i++)
		route_flush_up(&comps[i]);
}

void
peer_drain(bool upgrade)
{
	upgrading = upgrade;
	leaving = true;
	stop_new_links();
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL)
			continue;
		if (link_up(p)) {
			send_status(p);
			send_ctl(p->link, PT_DRAIN, NULL, 0);
		}
	}
}

void
peer_upgrade_abandoned(void)
{
	upgrading = false;
}

void
peer_relink(void)
{
	upgrading = stopping = leaving = false;
	if (peers == NULL)
		return;
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (peers[i].name != NULL)
			dial_now(&peers[i].retry);
}

bool
peer_drained(void)
{
	if (peers == NULL)
		return true;
	for (uint16_t i = 0; i < table->nnodes; i++) {
		struct peer *p = &peers[i];

		if (p->name == NULL || !link_up(p))
			continue;
		if (!p->drained || dlv_busy(&p->dlv))
			return false;
	}
	return true;
}

void
peer_free_all(void)
{
	peer_reap();
	if (peers != NULL) {
		for (uint16_t i = 0; i < table->nnodes; i++) {
			struct peer *p = &peers[i];

			if (p->name == NULL)
				continue;
			dlv_free(&p->dlv);
			free(p->status);
			free(p->compat);
			free(p->logged);
		}
		free(peers);
		peers = NULL;
	}
	free(comp_ids);
	free(by_id);
	comp_ids = NULL;
	by_id = NULL;
	route_set_peers(NULL);
	tls_free_all();
	vbuf_free(&scratch);
}

/* ------------------------------------------------------------ stats */

bool
peer_info(uint16_t node, struct peer_info *pi)
{
	const struct peer *p;

	if (peers == NULL || node >= table->nnodes || peers[node].name == NULL)
		return false;
	p = &peers[node];
	pi->name = p->name;
	pi->up = link_up(p);
	pi->unacked = p->dlv.nunacked;
	pi->unacked_bytes = p->dlv.unacked_bytes;
	pi->rtt_us = p->has_rtt ? (int64_t)p->rtt_us : -1;
	pi->st = p->st;
	return true;
}
