/*
 * peer_proto.c — framing and authentication of peer links (peer_proto.h,
 * docs/peer-protocol.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "peer_proto.h"
#include "vcomp_table.h"

/* The domain-separation prefix of every proof: a MAC made for another
 * purpose (or another protocol version) never verifies as a peer proof. */
#define PROOF_LABEL	"vcomp-peer-1"

static void
put_u16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void
put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint16_t
get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ decoder */

void
peer_decoder_init(struct peer_decoder *d, uint32_t max_payload)
{
	memset(d, 0, sizeof *d);
	d->max_len = max_payload;
}

void
peer_decoder_free(struct peer_decoder *d)
{
	vbuf_free(&d->buf);
	d->off = 0;
}

void
peer_decoder_feed(struct peer_decoder *d, const void *p, size_t n)
{
	/* Frames handed out so far point into the consumed prefix; dropping
	 * it only now keeps them valid until this call, and moves the
	 * unconsumed tail (at most one partial frame) once per feed. */
	if (d->off > 0) {
		vbuf_drop(&d->buf, d->off);
		d->off = 0;
	}
	vbuf_add(&d->buf, p, n);
}

int
peer_decoder_next(struct peer_decoder *d, struct peer_frame *f,
    const char **why)
{
	const uint8_t *h;
	const char *bad = NULL;
	size_t avail;
	uint32_t len;
	uint8_t type;

	avail = d->buf.len - d->off;
	if (avail < PEER_HDR_LEN)
		return 0;
	h = (const uint8_t *)d->buf.p + d->off;
	len = get_u32(h);
	type = h[4];
	/* The header alone decides whether the frame is acceptable, so an
	 * oversized or unknown frame is refused before its payload is
	 * buffered. */
	if (type < PT_HELLO || type > PT_COMPONENTS)
		bad = "unknown frame type";
	else if (len > d->max_len)
		bad = "frame payload too large";
	else if (type == PT_PROOF && len != PEER_MAC_LEN)
		bad = "proof frame of wrong length";
	else if (type == PT_ACK && len != 4)
		bad = "ack frame of wrong length";
	else if ((type == PT_PING || type == PT_PONG || type == PT_DRAIN ||
	    type == PT_DRAINED) && len != 0)
		bad = "control frame with a payload";
	else if (type == PT_RETURN && (len == 0 || len % 4 != 0))
		bad = "return frame of wrong length";
	if (bad != NULL) {
		if (why != NULL)
			*why = bad;
		return -1;
	}
	if (avail - PEER_HDR_LEN < len)
		return 0;
	f->type = type;
	f->flags = h[5];
	/* h[6..7] are reserved (0); a later version may use them. */
	f->comp = get_u32(h + 8);
	f->seq = get_u32(h + 12);
	f->payload = h + PEER_HDR_LEN;
	f->len = len;
	d->off += PEER_HDR_LEN + (size_t)len;
	return 1;
}

/* ----------------------------------------------------------- encoders */

/* Appends a header for a payload of len bytes. */
static void
put_header(struct vbuf *out, uint8_t type, uint8_t flags, uint32_t comp,
    uint32_t seq, size_t len)
{
	uint8_t h[PEER_HDR_LEN];

	if (len > UINT32_MAX) {
		fprintf(stderr, "peer frame of %zu bytes\n", len);
		abort();
	}
	put_u32(h, (uint32_t)len);
	h[4] = type;
	h[5] = flags;
	put_u16(h + 6, 0);
	put_u32(h + 8, comp);
	put_u32(h + 12, seq);
	vbuf_add(out, h, sizeof h);
}

void
peer_put_frame(struct vbuf *out, uint8_t type, uint8_t flags,
    uint32_t comp, uint32_t seq, const void *payload, size_t len)
{
	vbuf_reserve(out, PEER_HDR_LEN + len);
	put_header(out, type, flags, comp, seq, len);
	vbuf_add(out, payload, len);
}

bool
peer_put_stanza(struct vbuf *out, uint8_t flags, uint32_t comp,
    uint32_t seq, const char *from, size_t from_len, const char *raw,
    size_t raw_len)
{
	uint8_t fl[2];

	if (from_len > PEER_FROM_MAX ||
	    raw_len > UINT32_MAX - 2 - from_len)
		return false;
	vbuf_reserve(out, PEER_HDR_LEN + 2 + from_len + raw_len);
	put_header(out, PT_STANZA, flags, comp, seq, 2 + from_len + raw_len);
	put_u16(fl, (uint16_t)from_len);
	vbuf_add(out, fl, 2);
	vbuf_add(out, from, from_len);
	vbuf_add(out, raw, raw_len);
	return true;
}

size_t
peer_stanza_from_len(size_t from_len, size_t raw_len, uint32_t max_payload)
{
	if (from_len > PEER_FROM_MAX || raw_len > max_payload ||
	    from_len > max_payload - raw_len ||
	    2 > max_payload - raw_len - from_len)
		return 0;
	return from_len;
}

bool
peer_parse_stanza(const struct peer_frame *f, const char **from,
    size_t *from_len, const char **raw, size_t *raw_len)
{
	size_t fl;

	if (f->type != PT_STANZA || f->len < 2)
		return false;
	fl = get_u16(f->payload);
	if (fl > f->len - 2)
		return false;
	*from = (const char *)f->payload + 2;
	*from_len = fl;
	*raw = (const char *)f->payload + 2 + fl;
	*raw_len = f->len - 2 - fl;
	return true;
}

void
peer_put_ack(struct vbuf *out, uint32_t seq)
{
	uint8_t p[4];

	put_u32(p, seq);
	peer_put_frame(out, PT_ACK, 0, 0, 0, p, sizeof p);
}

bool
peer_routes_add(struct vbuf *payload, const char *jid, size_t len)
{
	uint8_t l[2];

	if (len > PEER_FROM_MAX)
		return false;
	put_u16(l, (uint16_t)len);
	vbuf_add(payload, l, 2);
	vbuf_add(payload, jid, len);
	return true;
}

bool
peer_routes_next(const struct peer_frame *f, size_t *off, const char **jid,
    size_t *len, bool *bad)
{
	size_t n;

	*bad = false;
	if (f->type != PT_ROUTES || *off >= f->len)
		return false;
	if (f->len - *off < 2) {
		*bad = true;
		return false;
	}
	n = get_u16(f->payload + *off);
	if (f->len - *off - 2 < n) {
		*bad = true;
		return false;
	}
	*jid = (const char *)f->payload + *off + 2;
	*len = n;
	*off += 2 + n;
	return true;
}

bool
peer_return_seq(const struct peer_frame *f, size_t i, uint32_t *seq)
{
	if (f->type != PT_RETURN || i >= f->len / 4)
		return false;
	*seq = get_u32(f->payload + 4 * i);
	return true;
}

bool
peer_parse_ack(const struct peer_frame *f, uint32_t *seq)
{
	if (f->type != PT_ACK || f->len != 4)
		return false;
	*seq = get_u32(f->payload);
	return true;
}

void
peer_put_hello(struct vbuf *out, const struct peer_hello *h)
{
	size_t len;

	len = 2 + PEER_NONCE_LEN + h->name_len;
	vbuf_reserve(out, PEER_HDR_LEN + len);
	put_header(out, PT_HELLO, 0, 0, 0, len);
	vbuf_addch(out, (char)h->min_version);
	vbuf_addch(out, (char)h->max_version);
	vbuf_add(out, h->nonce, PEER_NONCE_LEN);
	vbuf_add(out, h->name, h->name_len);
}

bool
peer_parse_hello(const struct peer_frame *f, struct peer_hello *h)
{
	const uint8_t *p = f->payload;

	if (f->type != PT_HELLO || f->len < PEER_HELLO_MIN)
		return false;
	h->min_version = p[0];
	h->max_version = p[1];
	p += 2;
	memcpy(h->nonce, p, PEER_NONCE_LEN);
	p += PEER_NONCE_LEN;
	h->name = (const char *)p;
	h->name_len = f->len - (size_t)(p - f->payload);
	/* A NUL inside the name would make "a\0b" || 0 || "c" and
	 * "a" || 0 || "b\0c" the same proof input. */
	if (memchr(h->name, '\0', h->name_len) != NULL)
		return false;
	return true;
}

uint8_t
peer_version_agree(uint8_t amin, uint8_t amax, uint8_t bmin, uint8_t bmax)
{
	uint8_t lo = amin > bmin ? amin : bmin;
	uint8_t hi = amax < bmax ? amax : bmax;

	return lo <= hi ? hi : 0;
}

void
peer_add_comp_entry(struct vbuf *b, uint32_t id, const char *compat,
    const char *domain, size_t domain_len)
{
	uint8_t n[4];

	put_u32(n, id);
	vbuf_add(b, n, 4);
	vbuf_add(b, compat, PEER_COMPAT_LEN);
	put_u16(n, (uint16_t)domain_len);
	vbuf_add(b, n, 2);
	vbuf_add(b, domain, domain_len);
}

int
peer_next_comp_entry(const uint8_t **p, size_t *left,
    struct peer_comp_entry *e)
{
	size_t dl;

	if (*left == 0)
		return 0;
	if (*left < 4 + PEER_COMPAT_LEN + 2)
		return -1;
	e->id = get_u32(*p);
	e->compat = (const char *)*p + 4;
	dl = get_u16(*p + 4 + PEER_COMPAT_LEN);
	if (*left - (4 + PEER_COMPAT_LEN + 2) < dl)
		return -1;
	e->domain = (const char *)*p + 4 + PEER_COMPAT_LEN + 2;
	e->domain_len = dl;
	*p += 4 + PEER_COMPAT_LEN + 2 + dl;
	*left -= 4 + PEER_COMPAT_LEN + 2 + dl;
	return 1;
}

void
peer_add_status_entry(struct vbuf *b, uint32_t id, uint8_t flags)
{
	uint8_t n[5];

	put_u32(n, id);
	n[4] = flags;
	vbuf_add(b, n, 5);
}

int
peer_next_status_entry(const uint8_t **p, size_t *left, uint32_t *id,
    uint8_t *flags)
{
	if (*left == 0)
		return 0;
	if (*left < 5)
		return -1;
	*id = get_u32(*p);
	*flags = (*p)[4];
	*p += 5;
	*left -= 5;
	return 1;
}

/* ----------------------------------------------------- authentication */

void
peer_proof(const char *secret, size_t secret_len, char role,
    const char *dialler, const char *acceptor,
    const uint8_t dn[PEER_NONCE_LEN], const uint8_t an[PEER_NONCE_LEN],
    uint8_t out[PEER_MAC_LEN])
{
	struct vbuf m = {0};

	/* hmac_sha256() takes one message; the input is small (names and
	 * two nonces), so building it costs nothing worth avoiding. */
	vbuf_add(&m, PROOF_LABEL, sizeof PROOF_LABEL - 1);
	vbuf_addch(&m, role);
	vbuf_add(&m, dialler, strlen(dialler) + 1);
	vbuf_add(&m, acceptor, strlen(acceptor) + 1);
	vbuf_add(&m, dn, PEER_NONCE_LEN);
	vbuf_add(&m, an, PEER_NONCE_LEN);
	hmac_sha256(secret, secret_len, m.p, m.len, out);
	vbuf_free(&m);
}

bool
peer_proof_ok(const uint8_t expect[PEER_MAC_LEN], const struct peer_frame *f)
{
	if (f->type != PT_PROOF || f->len != PEER_MAC_LEN)
		return false;
	return ct_equal(expect, f->payload, PEER_MAC_LEN);
}

void
peer_nonce(uint8_t out[PEER_NONCE_LEN])
{
	random_bytes(out, PEER_NONCE_LEN);
}

/* Is node n a home of some component of t? */
static bool
is_home(const struct vc_table *t, uint16_t n)
{
	for (uint32_t i = 0; i < t->ncomponents; i++) {
		const struct vc_component *c = &t->components[i];

		for (uint16_t j = 0; j < c->nhomes; j++)
			if (c->homes[j] == n)
				return true;
	}
	return false;
}

bool
peer_pair_needed(const struct vc_table *t, uint16_t a, uint16_t b)
{
	if (a == b || a >= t->nnodes || b >= t->nnodes)
		return false;
	return is_home(t, a) || is_home(t, b);
}
