/*
 * peer_proto.h — the wire format and the authentication of peer links
 * (docs/peer-protocol.md), as pure functions: no sockets, no timers, no
 * global state except the kernel's random source (peer_nonce).
 *
 * A frame is a 16-byte big-endian header (len, type, flags, reserved,
 * comp, seq)
 * followed by len bytes of payload.  Encoders append whole frames to a
 * struct vbuf the caller owns.  The decoder owns a copy of the bytes fed
 * to it; the frames it returns point into that copy.
 */
#ifndef VCOMP_PEER_PROTO_H
#define VCOMP_PEER_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct vc_table;

/* The protocol versions this runtime speaks; HELLO carries the range and
 * the link uses the highest version both ranges hold. */
#define PEER_VERSION_MIN	2
#define PEER_VERSION_MAX	2
#define PEER_HDR_LEN	16
#define PEER_NONCE_LEN	32
#define PEER_COMPAT_LEN	64	/* a component's hex compat digest */
#define PEER_MAC_LEN	32
#define PEER_SLACK	2048	/* payload may exceed max_stanza by this */
/* A HELLO payload: lowest and highest version, nonce, then a name of at
 * least one byte. */
#define PEER_HELLO_MIN	(2 + PEER_NONCE_LEN + 1)
/* The longest sender JID a STANZA frame can carry (its length is a u16). */
#define PEER_FROM_MAX	UINT16_MAX

enum peer_type {
	PT_HELLO = 1, PT_PROOF, PT_STANZA, PT_ACK, PT_STATUS, PT_PING, PT_PONG,
	PT_BYE, PT_ROUTES, PT_RETURN, PT_DRAIN, PT_DRAINED, PT_COMPONENTS
};
/* STANZA flags. */
enum { PF_TO_HOME = 1, PF_TO_USER = 2 };
/* ROUTES flags: the last ROUTES frame of an announcement. */
enum { PF_ROUTES_END = 1 };

/* One decoded frame.  payload points into the decoder's buffer (or into
 * the caller's bytes for hand-built frames); it is not NUL-terminated. */
struct peer_frame {
	uint8_t type, flags;
	uint32_t comp;              /* a component's id (vcomp_table.h), or 0 */
	uint32_t seq;
	const uint8_t *payload;
	uint32_t len;
};

/*
 * Incremental decoder: bytes in, whole frames out.  buf holds the bytes
 * fed and not yet consumed from buf.p[off]; max_len is the largest payload
 * accepted.  A header announcing more is an error as soon as its 12 bytes
 * are in, so a caller that calls peer_decoder_next() until it returns 0
 * after every feed of at most n bytes never holds more than
 * PEER_HDR_LEN + max_len + n bytes.
 */
struct peer_decoder {
	struct vbuf buf;
	size_t off;
	uint32_t max_len;
};

/* Starts an empty decoder; max_payload is normally
 * limits.max_stanza + PEER_SLACK.  Allocates nothing yet. */
void peer_decoder_init(struct peer_decoder *d, uint32_t max_payload);
/* Releases the buffer; the decoder may be initialised again. */
void peer_decoder_free(struct peer_decoder *d);
/* Appends n bytes read from the link.  Invalidates every frame returned
 * so far (the consumed bytes are dropped here).  After next() returned
 * -1 the link is to be closed; feeding more is allowed but pointless. */
void peer_decoder_feed(struct peer_decoder *d, const void *p, size_t n);
/*
 * 1: *f is the next frame, valid until the next feed (or free); the frame
 * is consumed.  0: a whole frame is not there yet.  -1: protocol error and
 * *why (if why is not NULL) is a static lower-case reason — the payload is
 * over max_len, the type is unknown, or a fixed-size frame (PROOF 32
 * bytes, ACK 4, PING and PONG empty) has another length.  The error is
 * sticky: the bad header stays in place and every later call returns -1.
 * The decoder checks nothing that needs the table (comp range, STATUS
 * length) or the link's state (which frames may come before PROOF).
 */
int peer_decoder_next(struct peer_decoder *d, struct peer_frame *f,
    const char **why);

/*
 * Encoders append one whole frame to out.  len must fit in 32 bits (it
 * always does: payloads are bounded by max_stanza long before); a larger
 * one aborts as a programming error.
 */
void peer_put_frame(struct vbuf *out, uint8_t type, uint8_t flags,
    uint32_t comp, uint32_t seq, const void *payload, size_t len);
/* A STANZA frame: u16 from_len, from, raw.  Returns false and appends
 * nothing when from_len is over PEER_FROM_MAX or the payload would not fit
 * in 32 bits. */
bool peer_put_stanza(struct vbuf *out, uint8_t flags, uint32_t comp,
    uint32_t seq, const char *from, size_t from_len, const char *raw,
    size_t raw_len);
/*
 * How many bytes of the sender's JID a STANZA frame for a raw stanza of
 * raw_len bytes can carry when the receiver accepts payloads of at most
 * max_payload bytes: from_len when 2 + from_len + raw_len fits (and
 * from_len <= PEER_FROM_MAX), else 0.  The JID field is only a shortcut
 * (the receiver reads from out of the raw start tag when it is empty), so
 * leaving it out is always safe; sending a frame the receiver must refuse
 * would close the link, and the stanza, sent again first on every new
 * link, would keep it down until queue-age.
 */
size_t peer_stanza_from_len(size_t from_len, size_t raw_len,
    uint32_t max_payload);
/* Splits a STANZA payload; *from and *raw point into f->payload.  False
 * when f is not a STANZA or from_len runs past the payload.  from may be
 * empty (from_len 0) and raw may be empty; judging them is the caller's. */
bool peer_parse_stanza(const struct peer_frame *f, const char **from,
    size_t *from_len, const char **raw, size_t *raw_len);
/* Appends one JID entry (u16 length, bytes) to a ROUTES payload being
 * built in payload; false (nothing appended) when len is over
 * PEER_FROM_MAX. */
bool peer_routes_add(struct vbuf *payload, const char *jid, size_t len);
/* The next JID of a ROUTES frame from *off (start at 0): true with *jid
 * pointing into the payload, false at the end or when an entry runs past
 * it (*bad set then). */
bool peer_routes_next(const struct peer_frame *f, size_t *off,
    const char **jid, size_t *len, bool *bad);
/* A RETURN frame's i-th sequence number (payload: u32 each); false past
 * the end.  A RETURN payload whose length is not a multiple of 4 is
 * refused by the decoder. */
bool peer_return_seq(const struct peer_frame *f, size_t i, uint32_t *seq);
/* An ACK frame for the cumulative sequence number seq. */
void peer_put_ack(struct vbuf *out, uint32_t seq);
/* False when f is not an ACK of exactly 4 bytes. */
bool peer_parse_ack(const struct peer_frame *f, uint32_t *seq);

/* The content of a HELLO: the range of protocol versions the sender
 * speaks, its nonce and its node name (name_len bytes, not
 * NUL-terminated).  Nodes are named, never numbered: the node lists of
 * two nodes may differ while a change rolls. */
struct peer_hello {
	uint8_t min_version, max_version;
	uint8_t nonce[PEER_NONCE_LEN];
	const char *name;
	size_t name_len;
};
/* Appends a HELLO frame (comp 0, seq 0) carrying *h. */
void peer_put_hello(struct vbuf *out, const struct peer_hello *h);
/* Fills *h from a HELLO frame; h->name points into f->payload.  False
 * when f is not a HELLO, is shorter than PEER_HELLO_MIN, or the name holds
 * a NUL byte (names are NUL-separated in the proof).  Any range is
 * accepted here so that the caller can log which one it got. */
bool peer_parse_hello(const struct peer_frame *f, struct peer_hello *h);
/* The version a link between ranges [amin, amax] and [bmin, bmax] uses:
 * the highest both hold, or 0 when they do not overlap. */
uint8_t peer_version_agree(uint8_t amin, uint8_t amax, uint8_t bmin,
    uint8_t bmax);

/*
 * COMPONENTS: what the sender defines, one entry per component: u32 id,
 * PEER_COMPAT_LEN bytes of hex compat digest, u16 domain length, domain.
 * STATUS: one entry per component: u32 id, u8 flags (bit 0: the real
 * component is connected here).  Entries are appended to a payload the
 * caller then sends with peer_put_frame; the parsers walk a payload and
 * return 1 with the next entry, 0 at its end, -1 when it is malformed.
 */
struct peer_comp_entry {
	uint32_t id;
	const char *compat;         /* PEER_COMPAT_LEN bytes */
	const char *domain;         /* domain_len bytes, not NUL-terminated */
	size_t domain_len;
};
void peer_add_comp_entry(struct vbuf *payload, uint32_t id,
    const char *compat, const char *domain, size_t domain_len);
int peer_next_comp_entry(const uint8_t **p, size_t *left,
    struct peer_comp_entry *e);
void peer_add_status_entry(struct vbuf *payload, uint32_t id, uint8_t flags);
int peer_next_status_entry(const uint8_t **p, size_t *left, uint32_t *id,
    uint8_t *flags);

/*
 * PROOF = HMAC-SHA-256(secret, "vcomp-peer-1" || role || dialler || 0 ||
 * acceptor || 0 || dialler_nonce || acceptor_nonce).  role is 'D' for the
 * dialler's proof and 'A' for the acceptor's; dialler and acceptor are the
 * NUL-terminated node names; dn and an the nonces of their HELLOs.
 */
void peer_proof(const char *secret, size_t secret_len, char role,
    const char *dialler, const char *acceptor,
    const uint8_t dn[PEER_NONCE_LEN], const uint8_t an[PEER_NONCE_LEN],
    uint8_t out[PEER_MAC_LEN]);
/* Is f a PROOF of exactly PEER_MAC_LEN bytes equal to expect?  The
 * comparison takes the same time whatever the bytes (ct_equal). */
bool peer_proof_ok(const uint8_t expect[PEER_MAC_LEN],
    const struct peer_frame *f);
/* Fresh random nonce from getrandom(2); aborts if the kernel's random
 * source is unusable (a guessable nonce would allow replaying proofs). */
void peer_nonce(uint8_t out[PEER_NONCE_LEN]);

/*
 * Do nodes a and b of t need a peer link?  True when a != b, both are
 * nodes of t, and at least one of them is a home of some component (two
 * purely virtual nodes never talk).  The one with the lower index dials.
 */
bool peer_pair_needed(const struct vc_table *t, uint16_t a, uint16_t b);

#endif /* VCOMP_PEER_PROTO_H */
