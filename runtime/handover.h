/*
 * handover.h — the state an in-place upgrade (SIGUSR2) hands from one
 * image of the runtime to the next: which inherited file descriptors are
 * the listeners and the XEP-0114 sessions, each session's saved stream
 * state, the stanzas waiting in routing's queues and the users seen.
 * docs/runtime.md, "Upgrading in place", says what is carried and why.
 *
 * This file is pure: it (de)serialises a struct handover into bytes and
 * back, and knows nothing of sockets (node.c gathers and adopts; route.c
 * saves and restores its queues).  The reader trusts nothing: it is
 * fuzzed (tests/fuzz/fuzz_handover.c) and refuses a state that is
 * truncated, garbled (a checksum covers every byte), of another format
 * version, or written by another node.
 *
 * The format (little-endian): "VCHO", u16 version, str node, then four
 * counted lists (u32 count each) — listeners, connections, stanzas, users
 * seen — then u64 FNV-1a of everything before it.  A str or bytes field is
 * a u32 length and the bytes; an optional str has a u8 present flag first.
 *
 * Ownership: every pointer in a struct handover is malloc'd and freed by
 * handover_free (handover_read fills a zeroed one).
 */
#ifndef VCOMP_HANDOVER_H
#define VCOMP_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HANDOVER_MAGIC		"VCHO"
/* Raised whenever what is written changes: an image refuses (and starts
 * fresh from) a state of another version. */
#define HANDOVER_VERSION	1
/* The environment variable naming the state's file descriptor and every
 * descriptor handed over: "MEMFD:FD,FD,..." (the memfd is sealed).  An
 * image that refuses the state lets go of exactly those. */
#define HANDOVER_ENV		"VCOMP_HANDOVER"
/* Largest state read: output buffers and queues are bounded by the
 * table's limits, usually far below this; the writer checks
 * (handover_fits) and does not upgrade with a larger one. */
#define HANDOVER_MAX_BYTES	(1u << 30)
/* Most entries of each list read, so that a state cannot make the reader
 * allocate many times its own size: each entry's struct is larger than
 * its smallest encoding. */
#define HANDOVER_MAX_LISTENERS	64
#define HANDOVER_MAX_CONNS	(1u << 16)
#define HANDOVER_MAX_STANZAS	(1u << 22)
#define HANDOVER_MAX_SEEN	(1u << 22)

enum ho_listener_kind { HO_L_HOME = 1, HO_L_PEER, HO_L_STATS };
enum ho_conn_kind { HO_C_UPSTREAM = 1, HO_C_HOME };
enum ho_queue_kind {
	HO_Q_TO_HOME = 1,   /* a component's to_home queue */
	HO_Q_TO_UP,         /* a component's to_up queue */
	HO_Q_NODE,          /* replies waiting for a node (by name) */
};

struct ho_listener {
	uint8_t kind;
	int fd;
};

/* An authenticated XEP-0114 session. */
struct ho_conn {
	uint8_t kind;
	int fd;
	uint32_t comp_id;           /* the component's id (vcomp_table.h) */
	char *domain;               /* for logs */
	struct vbuf hdr;            /* the peer's stream header, as received */
	struct vbuf in;             /* read, not yet a complete stanza */
	struct vbuf out;            /* queued, not yet written */
};

/* A stanza waiting in a queue: its bytes and the fields a bounce needs. */
struct ho_stanza {
	uint8_t queue;              /* enum ho_queue_kind */
	uint8_t replayed;
	uint32_t comp_id;
	char *node;                 /* HO_Q_NODE: the node it waits for */
	uint64_t age_ms;
	struct vbuf raw;
	char *name, *from, *to, *id, *type;   /* NULL when absent */
};

/* A full JID seen from a user of this node's server (route.c's seen). */
struct ho_seen {
	uint32_t comp_id;
	char *jid;
};

struct handover {
	char *node;
	struct ho_listener *listeners;
	size_t nlisteners;
	struct ho_conn *conns;
	size_t nconns;
	struct ho_stanza *stanzas;
	size_t nstanzas;
	struct ho_seen *seen;
	size_t nseen;
	/* handover_read only: sessions skipped for a missing stream header
	 * (their descriptors are the caller's to let go). */
	size_t ndropped;
};

/* Appends a zeroed entry and returns it (valid until the next add). */
struct ho_listener *handover_add_listener(struct handover *h);
struct ho_conn *handover_add_conn(struct handover *h);
struct ho_stanza *handover_add_stanza(struct handover *h);
struct ho_seen *handover_add_seen(struct handover *h);

/* Appends h's bytes to out. */
void handover_write(const struct handover *h, struct vbuf *out);
/* Would the reader take h written as len bytes (the size and list
 * limits above)?  false with the reason in why. */
bool handover_fits(const struct handover *h, size_t len, char *why,
    size_t whylen);
/*
 * Reads a state into h (zeroed by the caller) from n bytes at p.  A
 * session without a stream header is skipped (counted in h->ndropped),
 * not a reason to refuse the rest.  Returns 0, or -1 with h freed and a reason in why ("truncated", "checksum
 * mismatch", "format version 2, expected 1", "written by node node2") —
 * node is the name the state must carry.
 */
int handover_read(struct handover *h, const void *p, size_t n,
    const char *node, char *why, size_t whylen);
void handover_free(struct handover *h);

#endif /* VCOMP_HANDOVER_H */
