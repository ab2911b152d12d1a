/*
 * vcrt.h — the runtime's internal header: the event loop, connections,
 * queues, routing, statistics, secrets and logging of one node.
 *
 * The pure pieces have their own headers (buf.h, xmlstream.h, stanza.h,
 * auth.h, peer_proto.h, retroute.h), and the peer link's delivery layer
 * has delivery.h; this one is for everything that touches sockets, timers
 * or the node's global state.  Exports are grouped by the file that
 * defines them, lowest layer first (docs/architecture.md draws the
 * layers): log, loop, conn, queue, stats, secrets, route, then the roles.
 * Out of memory aborts everywhere (buf.h's xmalloc family).
 *
 * Memory: the runtime is one process with one thread.  Per-component state
 * (struct comp) is allocated once at start and lives until exit.
 * Connections are allocated when opened and freed only by the reaper
 * (conn.c), after the event batch that closed them, never inside their own
 * callbacks.  Queue entries are owned by their queue until popped; the
 * popper frees them with free().
 */
#ifndef VCRT_H
#define VCRT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth.h"
#include "buf.h"
#include "handover.h"
#include "stanza.h"
#include "vcomp_table.h"
#include "xmlstream.h"

#define VCOMP_VERSION "0.1.0"

/* How long SIGTERM/SIGINT waits, at most, for the real components and the
 * upstreams to finish their closing handshakes and for the peers to
 * acknowledge everything in flight is the spec's limit `drain`
 * (limits.drain_ms; node.c, "drain"). */
/* A real component that leaves may not have processed what was written to
 * it in about its last round trip (XEP-0114 has no acknowledgements, and
 * a component that sends </stream:stream> may drop what arrives after):
 * what went to it in this window is delivered again (route.c, replay). */
#define REPLAY_MS		1000
/* A real component is closed once nothing was read from it or written to
 * it for this long (it answered what it had); checked every tick. */
#define DRAIN_QUIET_MS		250
#define DRAIN_TICK_MS		50
/* Then how long it waits for output to be written before exiting. */
#define SHUTDOWN_GRACE_MS	3000
/* How long a real component has to authenticate after connecting.  It
 * speaks at once and needs one round trip; strangers must not hold a
 * place for long (preauth.c). */
#define HOME_AUTH_TIMEOUT_MS	5000
/* Delay before a failed handshake is answered (slows guessing). */
#define HOME_AUTH_FAIL_DELAY_MS	1000
/* Most unauthenticated connections on the home listener at once, and from
 * one source address; beyond either, the oldest idle one is evicted to
 * make room (preauth.c), so memory stays bounded and nobody is locked
 * out. */
#define HOME_MAX_PENDING	64
#define HOME_MAX_PENDING_SOURCE	16
/* Most stats connections at once. */
#define STATS_MAX_CONNS		8
/* How long the upstream may take from connect() to <handshake/>. */
#define UPSTREAM_OPEN_TIMEOUT_MS 10000
/* How long a closing connection may take to read its last output. */
#define DRAIN_TIMEOUT_MS	5000
/* Bytes read from a socket per readable event. */
#define READ_CHUNK		16384

/* ---------------------------------------------------------------- log.c */

enum { VL_ERR = 0, VL_WARN, VL_INFO, VL_DEBUG };

extern int vlog_level;          /* messages above it are not printed */
extern const char *vlog_prog;   /* "vcomp-NODE", prefix of every line */

void vlog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vlogv(int level, const char *fmt, va_list ap);
/* Is stderr the journal's stream ($JOURNAL_STREAM names its device and
 * inode)?  Then lines carry "<N>" priorities instead of timestamps. */
bool vlog_journal(void);
/* Decides the prefix again (after stderr or JOURNAL_STREAM changed); the
 * first line decides it otherwise. */
void vlog_setup(void);
/* Logs at error level and exits 1.  Only for start-up and impossible
 * states: a running node never exits because of what a peer sent. */
void vfatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* --------------------------------------------------------------- loop.c */

typedef void io_fn(void *arg, uint32_t events);
typedef void loop_step(void);

/* A file descriptor watched by the loop.  Embedded in its owner. */
struct io {
	int fd;            /* -1 when not registered */
	uint32_t events;   /* EPOLLIN / EPOLLOUT currently asked for */
	io_fn *fn;
	void *arg;
};

/* A one-shot timer.  Embedded in its owner; zero-initialised = not armed. */
struct timer {
	uint64_t when;     /* loop_now() value at which it fires */
	size_t slot;       /* heap index + 1; 0 when not armed */
	void (*fn)(struct timer *);
	void *arg;
};

void loop_init(void);
/* Runs until loop_stop(); the before-sleep step runs once more at the end. */
void loop_run(void);
void loop_stop(void);
/* The one step run before every epoll_wait: node.c's before_sleep, which
 * writes output, acknowledges, reaps and ends the run in a fixed order. */
void loop_before_sleep(loop_step *fn);
/* Milliseconds on the monotonic clock, cached once per loop pass. */
uint64_t loop_now(void);
uint64_t clock_ms(void);
/* For tests that drive timers without epoll (tests/unit/runtime): sets the
 * cached clock, then runs every timer due by then. */
void loop_set_now(uint64_t now);
void loop_run_timers(void);

int io_add(struct io *io, int fd, uint32_t events, io_fn *fn, void *arg);
void io_want(struct io *io, uint32_t events);
void io_del(struct io *io);

/* Arming an armed timer moves it. */
void timer_arm(struct timer *t, uint64_t delay_ms);
void timer_at(struct timer *t, uint64_t when);
void timer_stop(struct timer *t);
static inline bool timer_armed(const struct timer *t) { return t->slot != 0; }

/* --------------------------------------------------------------- conn.c */

/*
 * A connection is one TCP socket with an output buffer and, usually, a
 * stream parser.  Its kind decides what its bytes mean: the upstream to
 * the node's server, a real component on the home listener, a stats
 * reader, a peer link to another node's runtime (peer.c).  All kinds share the
 * buffering, backpressure and lifetime rules below.
 */
enum conn_kind { CK_UPSTREAM, CK_HOME, CK_STATS, CK_PEER };

struct conn;
struct preauth;
struct conn_ops {
	/* Bytes were read.  May send, relay, close. */
	void (*input)(struct conn *c, const char *p, size_t n);
	/* An outgoing connect() finished successfully. */
	void (*connected)(struct conn *c);
	/* Output fell below the low-water mark: a good time to move queued
	 * stanzas into it.  May be NULL. */
	void (*drained)(struct conn *c);
	/* The connection is closed (socket gone, memory still valid until
	 * the reaper runs).  The owner detaches from it here.  why is a
	 * human reason for logs; NULL for an orderly close. */
	void (*closed)(struct conn *c, const char *why);
};

enum {
	C_CONNECTING = 1 << 0,  /* non-blocking connect() in progress */
	C_DEAD = 1 << 1,        /* closed; waiting for the reaper */
	C_DRAIN = 1 << 2,       /* no more reading; close once output is out */
	C_PENDING = 1 << 3,     /* on the list of connections with output */
	C_READY = 1 << 4,       /* stream authenticated: stanzas may flow */
	C_UNAUTH = 1 << 5,      /* home.c: counted as not yet authenticated */
	C_CLOSING = 1 << 6,     /* our </stream:stream> sent; still reading */
	C_HELD = 1 << 7,        /* node.c: not read while an upgrade drains */
};

/*
 * A transport filter sits between a connection's socket and its owner
 * (tls.c, under the peer link's frames).  With one, conn.c hands the bytes
 * it reads to filter->input, which gives the owner plaintext through
 * c->ops->input; conn_send() stages plaintext in c->stage, and before the
 * loop writes, filter->seal turns what it can of c->stage into wire bytes
 * with conn_send_wire().  conn_pending() counts both, so output caps and
 * backpressure hold as without a filter; nqueued and nwritten count wire
 * bytes.  The filter's state (c->fctx) is freed by filter->free when the
 * connection is reaped.
 */
struct conn_filter {
	void (*input)(struct conn *c, const char *p, size_t n);
	void (*seal)(struct conn *c);
	void (*free)(void *fctx);
};

struct conn {
	struct io io;
	enum conn_kind kind;
	const struct conn_ops *ops;
	unsigned flags;
	int state;                  /* kind-specific (upstream.c, home.c) */
	void *owner;                /* kind-specific: struct comp * or NULL */
	char name[128];             /* for logs: "upstream muc.example.test" */
	struct xs_parser *xs;       /* NULL for kinds without a stream */
	struct vbuf out;            /* output; out.p[ooff..len) not yet sent */
	size_t ooff;
	size_t cap;                 /* output cap (limits.output_cap) */
	/* Backpressure (conn.c's alone).  blocked counts the destinations
	 * this connection waits on and the conn_pause()s not yet resumed;
	 * while it is non-zero nothing is read from it.  waiters are the
	 * sources waiting for this connection to drain. */
	int blocked;
	struct conn **waiters;
	size_t nwaiters, capwaiters;
	struct timer timer;         /* kind-specific timeout or delay */
	struct timer drain_timer;   /* conn_finish: give up after a while */
	/* Running totals of bytes appended to out and written to the
	 * socket: the bytes that end at offset N of everything ever queued
	 * have left the runtime once nwritten >= N (peer.c acknowledges
	 * frames that way). */
	uint64_t nqueued, nwritten;
	/* loop_now() of the last read and the last conn_send (a stopping
	 * node waits for its real components to go quiet). */
	uint64_t last_in, last_out;
	char sid[STREAM_ID_LEN + 1]; /* home: the stream id we issued */
	/* preauth.c: the list of unauthenticated connections of a listener
	 * this one is on (NULL when on none), its source address, and
	 * whether it has shown it speaks the protocol. */
	struct preauth *pa;
	struct conn *pa_next, *pa_prev;
	char pa_src[64];
	bool pa_progress;
	/* Transport filter (peer links: tls.c), or NULL; see conn_filter. */
	const struct conn_filter *filter;
	void *fctx;                 /* the filter's state, owned by it */
	struct vbuf stage;          /* plaintext waiting for filter->seal */
	struct conn *next, *prev;   /* every live connection */
	struct conn *pnext;         /* pending output or reap list */
};

/* The list of every connection not yet reaped (for shutdown, stats). */
extern struct conn *conn_all;

/* Wraps an open non-blocking socket.  connecting: connect() in progress. */
struct conn *conn_new(int fd, enum conn_kind kind, const struct conn_ops *ops,
    void *owner, bool connecting, size_t cap);
/* Starts a non-blocking TCP connection; NULL (and errno) on failure. */
struct conn *conn_connect(const struct sockaddr *sa, socklen_t salen,
    enum conn_kind kind, const struct conn_ops *ops, void *owner, size_t cap);
/* Queues bytes for c; the before-sleep hook writes them. */
void conn_send(struct conn *c, const void *p, size_t n);
/* Queues bytes for dst that were read from src: when dst is over its cap,
 * src stops being read until dst drains below half of it. */
void conn_relay(struct conn *dst, struct conn *src, const void *p, size_t n);
/* Queues bytes that go on the wire as they are (a filter's output). */
void conn_send_wire(struct conn *c, const void *p, size_t n);
/* Makes the before-sleep hook look at c (a filter that can seal staged
 * output now, after its handshake). */
void conn_kick(struct conn *c);
/* Bytes waiting in c's output (staged and wire bytes). */
size_t conn_pending(const struct conn *c);
/* Is c at or over its output cap? */
bool conn_full(const struct conn *c);
/* How many of the bytes ever queued on c the receiving host's TCP has
 * acknowledged (0 once c is closed): the end of a stanza queued when
 * nqueued was N has reached the other host once this is >= N. */
uint64_t conn_acked(const struct conn *c);
/* Closes at once: output not yet written is lost. */
void conn_close(struct conn *c, const char *why);
/* Stops reading and closes once the output is written (or after
 * DRAIN_TIMEOUT_MS).  The connection stops being C_READY at once, so
 * nothing new is routed to it. */
void conn_finish(struct conn *c);
/* Ends c's XMPP stream politely: queues </stream:stream>, then
 * conn_finish().  On a stream already closing (conn_close_stream) only
 * conn_finish(): the other side's close completes the handshake. */
void conn_end_stream(struct conn *c);
/* The closing handshake (RFC 6120 §4.4): queues </stream:stream> and
 * stops being C_READY, but keeps reading — stanzas the other side sent
 * before it saw our close are still handled — until the other side closes
 * its stream (its owner then calls conn_end_stream) or the connection, or
 * DRAIN_TIMEOUT_MS passed. */
void conn_close_stream(struct conn *c);
/* Before sleeping (node.c): writes every pending output, asking for
 * EPOLLOUT only where the kernel did not take it all. */
void conn_flush(void);
/* Before sleeping, after everything else: frees closed connections. */
void conn_reap(void);
/* Stops reading c until a matching conn_resume() (counted: c is read only
 * while every pause was resumed and no destination holds it back).  A
 * close forgets every pause. */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Is c held back (paused, or waiting for a destination to drain)? */
bool conn_paused(const struct conn *c);
/* fn(c, arg) runs whenever any connection closes, right before its owner's
 * closed callback, while c's memory is valid; for layers that keep
 * pointers to connections they do not own.  Registered once at start. */
typedef void conn_close_fn(struct conn *c, void *arg);
void conn_on_close(conn_close_fn *fn, void *arg);
/* Closes every connection at once and frees them (end of the run). */
void conn_close_all(void);
/* The output not yet written (an in-place upgrade hands it over). */
const char *conn_unsent(const struct conn *c, size_t *len);
/* An inherited XMPP stream the new image cannot continue (its component
 * left the table, or the handover state was refused): writes first (n
 * bytes: the answers to what waited for it), then ends it politely,
 * </stream:stream>, reading and ignoring until the other side closes or
 * DRAIN_TIMEOUT_MS. */
void conn_bye_fd(int fd, const char *name, const void *first, size_t n);

/* A listening socket.  listener_close() may run inside an event batch
 * that still holds an event for it, so it is freed by the reaper, like a
 * connection. */
struct listener {
	struct io io;
	char name[64];
	void (*accept)(int fd, const char *peer);
	struct listener *next;       /* listener_all */
	struct listener *next_dead;  /* closed, waiting for the reaper */
};
/* Every open listener (an in-place upgrade hands their sockets over). */
extern struct listener *listener_all;
/* Listens on host:port (numeric or DNS name).  NULL after logging why. */
struct listener *listener_open(const char *host, uint16_t port,
    const char *what, void (*accept)(int fd, const char *peer));
void listener_close(struct listener *l);
/* Stops (hold) or resumes accepting: while held, connections wait in
 * the kernel's backlog (for the next image, during an upgrade). */
void listener_hold(struct listener *l, bool hold);
/* An in-place upgrade's new image: fd is a listening socket the previous
 * image handed over; listener_open() adopts it, instead of binding anew,
 * when it asks for the address fd is bound to.  -1 (fd closed, logged)
 * when fd is no listening socket.  listener_inherit_done() closes those
 * no listener_open() asked for (an address the new table changed). */
int listener_inherit(int fd);
/* Closes at once the inherited listening sockets bound to none of the n
 * addresses in keep (those the new table listens on): one on the same
 * port but another address (127.0.0.1:P -> 0.0.0.0:P) would make the new
 * bind fail with EADDRINUSE.  Called before any listener_open(). */
void listener_inherit_prune(const struct vc_endpoint *const *keep, size_t n);
void listener_inherit_done(void);

/* Resolves host:port for a stream socket; 0 or -1 after logging why. */
int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len);

/* ------------------------------------------------------------ preauth.c */

/* The unauthenticated connections of one listener, oldest first, and
 * their bounds.  Zero-initialised but for what, max_total, max_source. */
struct preauth {
	const char *what;           /* "component listener", for logs */
	size_t max_total;           /* in all */
	size_t max_source;          /* from one source address */
	struct conn *head, *tail;
	size_t n;
	uint64_t evicted, evicted_logged, logged_at;
};

/* Puts c, just accepted from peer ("HOST:PORT"), on pa's list; when that
 * takes pa over a bound, first evicts (closes) the oldest connection of
 * the same source, or of any source, that made no progress, else the
 * oldest.  Never refuses c. */
void preauth_add(struct preauth *pa, struct conn *c, const char *peer);
/* The connection preauth_add would evict before adding one from peer, or
 * NULL; *why says which bound.  Changes nothing. */
struct conn *preauth_victim(struct preauth *pa, const char *peer,
    const char **why);
/* c has (true) or has not (false) shown that it speaks the protocol:
 * connections without progress are evicted first. */
void preauth_progress(struct conn *c, bool progress);
/* Takes c off its list (authenticated, or closing); no-op when on none.
 * conn_close() calls it. */
void preauth_remove(struct conn *c);

/* -------------------------------------------------------------- queue.c */

/*
 * A bounded FIFO of raw stanzas waiting for a destination.  Each entry
 * keeps, besides the raw bytes, the few attributes a bounce needs, so that
 * an expired stanza can be answered without parsing it again.
 */
struct qent {
	struct qent *next;
	uint64_t t;                 /* enqueue time (loop_now()) */
	size_t len;                 /* raw bytes */
	/* Offsets into data of NUL-terminated copies; 0 = absent
	 * (offset 0 is raw itself, never a field). */
	uint32_t name, from, to, id, type;
	uint32_t size;              /* bytes of data[] */
	uint16_t comp;              /* route.c's per-node queues: comps[] index */
	uint8_t replayed;           /* route.c: delivered once to a real
	                             * component that left; never bounced */
	char data[];                /* raw bytes, NUL, then the fields */
};

struct queue {
	struct qent *head, *tail;
	/* Sum of qent_size() of the entries: the memory they take, not
	 * only their raw bytes, so that queue-bytes bounds memory. */
	size_t bytes;
	size_t count;
	struct timer timer;         /* owner's expiry timer */
};

/* A new entry holding a copy of st (raw bytes and fields), stamped now;
 * not in any queue.  The caller owns it (free()). */
struct qent *qent_new(const struct xs_stanza *st, uint64_t now);
/* The bytes e takes: its header, the raw bytes and the copied fields
 * (malloc's own rounding, at most a few words, is not counted). */
size_t qent_size(const struct qent *e);
/* Appends a copy of st.  false when its entry (qent_size) would take the
 * queue over max_bytes (the stanza is not queued); an empty queue always
 * takes one stanza, so queue-bytes >= max-stanza (which the compiler
 * checks) keeps its promise whatever the fields add. */
bool queue_push(struct queue *q, const struct xs_stanza *st, uint64_t now,
    uint64_t max_bytes);
/* Pushes an entry back at the front (a destination was full). */
void queue_unpop(struct queue *q, struct qent *e);
/* Removes and returns the oldest entry, or NULL.  Caller frees it. */
struct qent *queue_pop(struct queue *q);
/* Removes and returns the oldest entry if it has waited age_ms or more at
 * now, else NULL.  Caller frees it. */
struct qent *queue_pop_expired(struct queue *q, uint64_t now, uint32_t age_ms);
/* Frees every entry. */
void queue_clear(struct queue *q);
/* Fills st with e's raw bytes and attributes (child fields NULL), for
 * stanza_bounce(). */
void qent_stanza(const struct qent *e, struct xs_stanza *st);

/* Why a stanza is bounced. */
enum bounce_reason {
	BOUNCE_TIMEOUT,     /* waited queue_age_ms: wait/remote-server-timeout */
	BOUNCE_OVERFLOW,    /* queue full: cancel/service-unavailable */
	BOUNCE_SHUTDOWN,    /* node stopping: cancel/service-unavailable */
};
/* Appends the error reply for st bounced for reason by component domain;
 * false (nothing appended) for stanzas that must not be answered: errors
 * and iq results.  Text: "DOMAIN: component not connected" (or "...:
 * queue full", "...: shutting down"). */
bool bounce_build(struct vbuf *out, const struct xs_stanza *st,
    const char *domain, enum bounce_reason reason);

/* -------------------------------------------------------------- stats.c */

/*
 * One list feeds the struct, the metric names, their help and the printer.
 * X(field, metric, help): the counter c->st.field is exported as the
 * Prometheus counter vcomp_component_METRIC{component="DOMAIN"}.
 */
#define STATS_COUNTERS(X)                                                  \
	X(in, stanzas_in_total,                                             \
	    "Stanzas received for the component, from either side.")        \
	X(out, stanzas_out_total,                                           \
	    "Stanzas written for the component, to either side.")           \
	X(local, local_total,                                               \
	    "disco#info requests the runtime answered itself.")             \
	X(forwarded, forwarded_total,                                       \
	    "Stanzas handed to the real component on this node.")           \
	X(to_peer, to_peer_total,                                           \
	    "Stanzas sent to another node's runtime.")                      \
	X(from_peer, from_peer_total,                                       \
	    "Stanzas received from another node's runtime.")                \
	X(upstreamed, upstreamed_total,                                     \
	    "Stanzas of the real component sent to the XMPP server.")       \
	X(queued, queued_total,                                             \
	    "Stanzas that had to wait in a queue.")                         \
	X(dropped, dropped_total,                                           \
	    "Errors and results that could not be delivered.")              \
	X(rejected, rejected_total,                                         \
	    "Stanzas of the real component refused for a foreign from.")    \
	X(bytes_in, bytes_in_total,                                         \
	    "Bytes of stanzas received for the component.")                 \
	X(bytes_out, bytes_out_total,                                       \
	    "Bytes of stanzas written for the component.")                  \
	X(reconnects, upstream_reconnects_total,                            \
	    "Upstream streams re-established after a loss.")

/* Why the runtime answered a stanza with an error, as the reason label of
 * vcomp_component_bounced_total: the three enum bounce_reason values, in
 * their order, then a stanza refused before any server saw it (route.c's
 * refuse(): a from outside the component's domain, a malformed address). */
#define STATS_BOUNCE_REASONS(X)                                            \
	X(BOUNCE_TIMEOUT, "timeout")                                        \
	X(BOUNCE_OVERFLOW, "queue_full")                                    \
	X(BOUNCE_SHUTDOWN, "shutdown")                                      \
	X(STATS_BOUNCE_REFUSED, "refused")
#define STATS_BOUNCE_REFUSED	3
#define STATS_NBOUNCE			4

struct cstats {
#define X(n, m, h) uint64_t n;
	STATS_COUNTERS(X)
#undef X
	uint64_t bounced;               /* sum of bounced_by[] */
	uint64_t bounced_by[STATS_NBOUNCE];
};

/* Per peer link (peer.c); exported as vcomp_peer_METRIC{peer="NODE"}. */
#define PEER_COUNTERS(X)                                                   \
	X(in, frames_in_total, "STANZA frames received.")                   \
	X(out, frames_out_total, "STANZA frames sent.")                     \
	X(bytes_in, bytes_in_total, "Bytes received once authenticated.")   \
	X(bytes_out, bytes_out_total, "Bytes sent.")                        \
	X(reconnects, reconnects_total,                                     \
	    "Links authenticated again after a loss.")                      \
	X(acked, acked_total, "STANZA frames sent and acknowledged.")       \
	X(resent, resent_total,                                             \
	    "Unacknowledged frames queued again when a link was lost.")     \
	X(returned, returned_total,                                         \
	    "Received frames given back to their sender (RETURN).")

struct pstats {
#define X(n, m, h) uint64_t n;
	PEER_COUNTERS(X)
#undef X
};

/* What stats.c reads of one peer link (peer_info). */
struct peer_info {
	const char *name;
	bool up;
	size_t unacked;             /* frames sent, not yet acknowledged */
	size_t unacked_bytes;       /* the memory they take */
	int64_t rtt_us;             /* last PING to PONG; -1 before one */
	struct pstats st;
};

/* Longest request head the stats listener reads; beyond it: 431. */
#define STATS_REQUEST_MAX	8192
/* How long a stats client has to send its request head; then 408. */
#define STATS_READ_TIMEOUT_MS	5000

/* Appends the Prometheus text exposition (version 0.0.4) of every metric:
 * components, queues, peer links, return routes, the process. */
void stats_render(struct vbuf *out);
/* Logs every sample at info level, one "stats: NAME{LABELS} VALUE" line
 * each (SIGUSR1 and exit). */
void stats_log(void);
/* Can this node forward?  Every upstream up and a home reachable for every
 * component.  Writes a one-line summary ("2/2 peer links up, muc: home
 * reachable on node1") into text (always NUL-terminated) and, when detail
 * is not NULL, one line per component and link into it. */
bool stats_health(char *text, size_t n, struct vbuf *detail);
/* Opens the loopback stats listener (HTTP: /metrics, /health) when the
 * table names one. */
int stats_listen(void);
void stats_close(void);

/* ------------------------------------------------------------ secrets.c */

/*
 * Reads the secret s names.  bundle is the secrets bundle path (may be
 * NULL when there is none).  Returns a malloc'd NUL-terminated secret, or
 * NULL after logging why (missing, empty, unreadable).  what names the
 * secret in messages ("secret of muc.example.test").
 */
char *secret_load(const struct vc_secret *s, const char *bundle,
    const char *what);
/* Wipes a secret (explicit_bzero) and frees it; NULL is ignored. */
void secret_free(char *s);
/* The default bundle path: NODE.secrets beside the running binary
 * (/proc/self/exe).  Malloc'd, or NULL. */
char *secret_default_bundle(const char *node);

/* -------------------------------------------------------------- route.c */

enum up_state {
	UP_DOWN,         /* waiting for the backoff timer */
	UP_CONNECTING,   /* connect() in progress */
	UP_OPENING,      /* header sent, waiting for the server's header */
	UP_HANDSHAKE,    /* handshake sent, waiting for <handshake/> */
	UP_READY,        /* stanzas flow */
};

/* The runtime state of one component of the table. */
struct comp {
	const struct vc_component *vc;
	char *secret;               /* XEP-0114 secret, loaded at start */
	/* Older secrets the home listener also accepts during a rotation
	 * (vc->accept, loaded at start; naccept entries, malloc'd). */
	char **accept;
	struct conn *up;            /* upstream connection, NULL while down */
	struct timer up_retry;      /* backoff before the next connect */
	struct timer up_keepalive;  /* whitespace keepalive */
	uint32_t up_failures;       /* consecutive failures (backoff) */
	bool up_suspended;          /* not registering (clustered servers,
	                             * no home available): no reconnects */
	bool up_was_ready;          /* for the reconnects counter */
	struct conn *home;          /* the authenticated real component */
	/* Where stanzas for the real component went last: node index + 1,
	 * 0 = nowhere (for logging a switch of homes), ROUTE_DEST_UNKNOWN
	 * (route_dest_unknown). */
	uint32_t dest;
	/* Stanzas waiting: for the real component (or, on a virtual node,
	 * for the home node), and for the upstream. */
	struct queue to_home, to_up;
	/* Copies of what was written to the local real component in the
	 * last REPLAY_MS (at most output_cap bytes): given to it again, or
	 * to its next home, when it goes away (route_home_lost). */
	struct queue replay;
	struct cstats st;
};

extern struct comp *comps;
extern size_t ncomps;
extern const struct vc_table *table;
extern bool shutting_down;

/*
 * How routing reaches the other nodes.  The peer link (peer.c, a layer
 * above routing) registers these at start; routing never calls into the
 * peer layer by name, so no circle of calls runs through it.  Without
 * them (one node) no other node is reachable.
 */
struct route_peers {
	/* Is the link to node authenticated? */
	bool (*reachable)(uint16_t node);
	/* ... and did its last STATUS say component ci's real component
	 * is connected there? */
	bool (*has_comp)(uint16_t node, size_t ci);
	/* Does the link to node carry component ci (authenticated, and
	 * both sides define ci compatibly)? */
	bool (*carries)(uint16_t node, size_t ci);
	/* Has the link to node said yet (COMPONENTS) whether it carries
	 * ci?  Until it has, stanzas for it wait rather than take
	 * another way. */
	bool (*decided)(uint16_t node, size_t ci);
	/* Can the link to node take no more now (down, output at its cap,
	 * or its unacknowledged frames at theirs)? */
	bool (*full)(uint16_t node);
	/* Sends e (taken) as a STANZA frame with flags for component ci;
	 * src is held back while the link cannot take more. */
	void (*send)(uint16_t node, struct conn *src, size_t ci,
	    uint8_t flags, struct qent *e);
	/* A real component came or went here: tell the other nodes. */
	void (*status_changed)(void);
};
void route_set_peers(const struct route_peers *rp);
/* fn(c, available) runs whenever c goes from having an available home
 * (here or on a reachable node) to having none, or back (node.c: with
 * clustered servers a virtual node registers upstream only while a home
 * is available). */
void route_observe_homes(void (*fn)(struct comp *c, bool available));
/* c's destination is not known (an upstream adopted after an upgrade:
 * registered, while no home may be reachable): the next evaluation
 * reports it to the observer either way, "none" only after grace_ms (the
 * links need that to come up), evaluated then at the latest. */
#define ROUTE_DEST_UNKNOWN	UINT32_MAX
void route_dest_unknown(struct comp *c, uint32_t grace_ms);
/* Creates the return-route table when a component is homed here. */
void route_init(void);
void route_free(void);

/* Finds the component serving domain (ASCII case-insensitive). */
struct comp *comp_find(const char *domain);
/* Finds the component with the id (vcomp_table.h), or NULL. */
struct comp *comp_find_id(uint32_t id);
/* An in-place upgrade: the old image appends the stanzas waiting in every
 * queue (bytes, age, origin) and the users seen to h; the new image
 * queues them again, stamped with their age, and learns the users.
 * Stanzas of a component the new table lacks are skipped (counted in the
 * return value: node.c answers them with route_handover_answer). */
void route_handover_save(struct handover *h);
size_t route_handover_restore(const struct handover *h);
/* The stanzas in h of a component the new table lacks (comp_id, named
 * domain), for its inherited upstream's last writes: those toward users
 * (its to_up queue and its replies waiting for another node) appended as
 * they are, those for the component answered (BOUNCE_SHUTDOWN).  Returns
 * the number that could not be answered (errors, results): dropped.
 * route_handover_restore logs those of a component without an inherited
 * upstream, dropped too. */
size_t route_handover_answer(const struct handover *h, uint32_t comp_id,
    const char *domain, struct vbuf *out);
/* A stanza read on c's upstream. */
void route_from_upstream(struct comp *c, struct conn *src,
    const struct xs_stanza *st);
/* A stanza read from c's authenticated real component. */
void route_from_home(struct comp *c, struct conn *src,
    const struct xs_stanza *st);
/* The upstream or the real component became ready, or drained: move
 * queued stanzas to it. */
void route_flush_home(struct comp *c);
void route_flush_up(struct comp *c);
/* Bounces everything still queued (shutdown). */
void route_bounce_all(void);
/* Stopping: stanzas still waiting for a home are answered now, while the
 * upstreams can carry the answers. */
void route_bounce_homeless(void);
/*
 * A stanza that arrived in a STANZA frame: to_home (PF_TO_HOME) goes to
 * the local real component, else (PF_TO_USER) to the upstream; queued
 * while that is away.  Local disco does not apply (the ingress runtime
 * decided).  st has the raw bytes and the fields a bounce needs.  A
 * to_home stanza teaches the return-route table that replies to its
 * sender go back through from_node.  Returns
 * the connection the bytes were written to, or NULL when the stanza was
 * queued or bounced.
 */
struct conn *route_from_peer(struct comp *c, struct conn *src,
    const struct xs_stanza *st, bool to_home, uint16_t from_node,
    bool *refused);
/* An unacknowledged or returned frame's entry (taken) goes back to the
 * FRONT of c's to_home queue (to_home), or of the queue of replies for
 * node, the node it was sent to (with clustered servers: of c's to_up
 * queue); bounced while shutting down.  The caller flushes to_up once
 * every entry is back (route_flush_up), so that their order is kept. */
void route_requeue(struct comp *c, struct qent *e, bool to_home,
    uint16_t node);
/* The node is stopping (node.c): a stanza from a peer that cannot be
 * written at once is refused (*refused, given back) instead of queued. */
extern bool route_stopping;
/* A restarted home: replies to JIDs without a route wait (in the node's
 * own per-node queue) until route_routes_complete(), at most ms. */
void route_await_routes(uint32_t ms);
void route_routes_complete(void);
/* A route announced by node for component ci (ROUTES): learned unless
 * the JID has one already. */
void route_learn(size_t ci, const char *jid, size_t len, uint16_t node);
/* The full JIDs of this node's own users seen for component ci, for
 * re-announcing them to a home (fn must not route). */
void route_seen_each(size_t ci, void (*fn)(const char *jid, size_t len,
    uint16_t node, void *arg), void *arg);
/* A peer link or a STATUS changed: choose the homes again (logging
 * switches) and flush. */
void route_homes_changed(void);
/* The local real component of c connected or went away (home.c): the
 * other nodes are told, then the homes are chosen again. */
void route_home_changed(struct comp *c);
/* The return-route table's entries and memory in bytes, for the metrics;
 * false when this node has none (it homes nothing). */
bool route_table_stats(size_t *entries, size_t *bytes);
/* c's local real component went away (not by this node's own stop): what
 * was written to it in the last REPLAY_MS goes back to the front of
 * to_home, to be delivered again (at least once). */
void route_home_lost(struct comp *c);

/* ----------------------------------------------------------- upstream.c */

/* Starts the upstream of c (connects at once); a ready stream already
 * there gets its keepalive timer (again). */
void upstream_start(struct comp *c);
/* Clustered servers: stop registering c while no home is available (the
 * closing handshake, no reconnects), so the server cluster routes to a
 * node that has one; register again when one is back. */
void upstream_suspend(struct comp *c);
void upstream_resume(struct comp *c);
/* Stops reconnecting and closes the stream with </stream:stream>. */
void upstream_stop(struct comp *c);
/* An in-place upgrade: no reconnecting; a ready stream stays open (the
 * next image continues it), anything else is closed. */
void upstream_hold(struct comp *c);
/* The new image continues c's ready stream on the inherited socket fd:
 * hdr is the server's stream header as the old image received it, fed to
 * a fresh parser with no callbacks (no header or handshake is sent).
 * Returns the connection (ready, c->up), or NULL (fd closed, logged). */
struct conn *upstream_adopt(struct comp *c, int fd, const char *hdr,
    size_t hdrlen);
/* Stopping: no more reconnecting; the closing handshake
 * (conn_close_stream) on a ready stream, which keeps reading until the
 * server closes its side; anything else is closed at once. */
void upstream_close(struct comp *c);
/* The backoff delay before attempt number failures (1-based), jittered. */
uint64_t backoff_delay(uint32_t failures, uint32_t min_ms, uint32_t max_ms);

/* --------------------------------------------------------------- home.c */

/* Opens the home listener if any component is homed here. */
int home_listen(void);
void home_close_listener(void);
/* Closes c's real component stream with </stream:stream>. */
void home_stop(struct comp *c);
/* Stopping: the closing handshake with c's real component, which may
 * still send stanzas until it closes its side. */
void home_close(struct comp *c);
/* The new image continues c's authenticated real component on the
 * inherited socket fd, as upstream_adopt does (hdr: the component's
 * stream header).  NULL (fd closed, logged) on failure. */
struct conn *home_adopt(struct comp *c, int fd, const char *hdr,
    size_t hdrlen);

/* ---------------------------------------------------------------- tls.c */

/* Length of the pre-shared key derived from the cluster secret. */
#define TLS_KEY_LEN 32

/* Derives the PSKs of secret (the one this node proves with) and of the
 * naccept older secrets it still accepts during a rotation, and sets up
 * both ends' configurations; 0 or -1 (logged).  Once, before any
 * tls_attach(); nothing of the arguments is kept. */
int tls_init(const char *secret, char *const *accept, size_t naccept);
/* Forgets the configurations and wipes the key (end of the run). */
void tls_free_all(void);
/* Puts the secure channel under c (a peer link): client for the dialler. */
void tls_attach(struct conn *c, bool client);
/* Dialler: sends the first handshake flight (TCP is connected). */
void tls_start(struct conn *c);
/* Acceptor, after the handshake: the node its PSK identity named, else -1. */
int tls_peer_node(const struct conn *c);
/* The node index a PSK identity names (another node of the table), or -1;
 * a trailing key id is allowed.  Pure; fuzzed. */
int tls_identity_node(const char *id, size_t len);
/* The PSK of a cluster secret: HKDF-SHA-256 (see tls.c). */
void tls_derive_psk(const char *secret, size_t len, uint8_t out[TLS_KEY_LEN]);

/* --------------------------------------------------------------- peer.c */

/* How long a restarted home waits for its links' re-announcements
 * before replies to JIDs it has no route for leave by its own upstream. */
#define ROUTES_WAIT_MS		3000

/* The cluster secret (malloc'd by node.c when the cluster has more than
 * one node), and the older ones still accepted during a rotation
 * (ncluster_accept entries, malloc'd by node.c; proofs are made with
 * cluster_secret only). */
extern char *cluster_secret;
extern char **cluster_accept;
extern size_t ncluster_accept;

/* Creates the peers, registers them with routing (route_set_peers), opens
 * the peer listener and dials; 0 or -1. */
int peer_start(void);
/* Shutdown, before shutting_down is set and before the upstreams stop:
 * no more dialling or accepting; links get BYE and close once their output
 * is written; their unacknowledged frames go back to the queues at once
 * (route_requeue) and what a live destination can take is flushed. */
void peer_stop(void);
/* Frees every peer (end of the run). */
void peer_free_all(void);
/* SIGTERM, first step: no more dialling or accepting; every link is told
 * DRAIN (and a STATUS without the components this node is closing), so
 * the other nodes stop sending here.  Links stay up.  For an in-place
 * upgrade (SIGUSR2) the peer listener stays open, through peer_stop()
 * too: node.c holds it and hands it to the next image. */
void peer_drain(bool upgrade);
/* A stop during an upgrade: the peer listener is no longer kept for
 * the next image (peer_stop then closes it). */
void peer_upgrade_abandoned(void);
/* An upgrade whose execve() failed: links again as at start (dial the
 * higher nodes, knock on the lower ones); the old image resumes. */
void peer_relink(void);
/* Has every authenticated link answered DRAINED, and is nothing in flight
 * on it either way (all our frames acknowledged, all theirs ACKed)? */
bool peer_drained(void);
/* Before sleeping (node.c): handles the frames that links paused by
 * backpressure left in their decoders, once they may be read again. */
void peer_resume_input(void);
/* Before sleeping, after the output was written: counts the receipts
 * whose bytes arrived and queues ACKs (delivery.c). */
void peer_ack(void);
/* Before sleeping, after the connections were reaped: frees dead links. */
void peer_reap(void);
/* Fills *pi with what the metrics show of the link to node; false when
 * this node has no link to it (itself, or no peers at all). */
bool peer_info(uint16_t node, struct peer_info *pi);

/* --------------------------------------------------------------- node.c */

struct node_opts {
	const char *secrets;        /* --secrets FILE, or NULL */
	bool check;                 /* --check: load, resolve, test-bind, exit */
	bool check_upgrade;         /* --check-upgrade: load, resolve, print
	                             * the handover format read, exit */
	char **argv;                /* executed again by SIGUSR2 (upgrade) */
};

/* Loads secrets, resolves addresses; with opts->check returns 0 or 1
 * there.  Otherwise runs the node until SIGTERM/SIGINT and returns the
 * exit status. */
int node_run(const struct node_opts *opts);

#endif /* VCRT_H */
