/*
 * fuzz_peer_frame.c — libFuzzer target for the peer-link frame decoder and
 * the payload parsers (runtime/peer_proto.c).
 *
 * Input: byte 0 seeds the chunk sizes, the rest is what a peer sent.  The
 * bytes are decoded twice with a payload bound of MAX_PAYLOAD: once in one
 * piece and once in chunks of 1..64 bytes from a small generator seeded by
 * byte 0 (seed 0 means one byte at a time).  Oracles, each an abort():
 *   - chunking never changes the outcome: same number of frames, same
 *     final state (error, or waiting for more);
 *   - every frame is exactly the next 16 + len input bytes, len within the
 *     bound;
 *   - after the decoder is drained it holds less than one frame plus the
 *     last chunk;
 *   - each frame parses with the function of its type (ROUTES entries
 *     and RETURN sequence numbers included), and encoding what
 *     was parsed gives back the same bytes (the formats have one encoding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer_proto.h"

#define MAX_PAYLOAD	4096

static uint32_t
get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Re-encodes f from what its parser saw and compares with the wire bytes
 * at w (header included). */
static void
check_frame(const struct peer_frame *f, const uint8_t *w)
{
	struct vbuf b = {0};
	struct peer_hello h;
	const char *from, *raw;
	size_t from_len, raw_len;
	uint32_t seq;

	if (get_u32(w) != f->len || w[4] != f->type || f->len > MAX_PAYLOAD ||
	    memcmp(w + PEER_HDR_LEN, f->payload, f->len) != 0)
		abort();
	switch (f->type) {
	case PT_HELLO:
		if (!peer_parse_hello(f, &h)) {
			if (f->len >= PEER_HELLO_MIN &&
			    memchr(f->payload + PEER_HELLO_MIN - 1, '\0',
			    f->len - PEER_HELLO_MIN + 1) == NULL)
				abort();
			vbuf_free(&b);
			return;
		}
		if (h.name_len == 0 || memchr(h.name, '\0', h.name_len))
			abort();
		peer_put_hello(&b, &h);
		/* HELLO is always sent with flags, comp and seq 0. */
		memcpy(b.p + 5, w + 5, PEER_HDR_LEN - 5);
		break;
	case PT_STANZA:
		if (!peer_parse_stanza(f, &from, &from_len, &raw, &raw_len)) {
			if (f->len >= 2 &&
			    (size_t)(f->payload[0] << 8 | f->payload[1]) <=
			    f->len - 2u)
				abort();
			return;
		}
		if (2 + from_len + raw_len != f->len)
			abort();
		if (!peer_put_stanza(&b, f->flags, f->comp, f->seq, from,
		    from_len, raw, raw_len))
			abort();
		break;
	case PT_ACK:
		if (!peer_parse_ack(f, &seq))
			abort();
		peer_put_ack(&b, seq);
		memcpy(b.p + 5, w + 5, PEER_HDR_LEN - 5);
		break;
	case PT_COMPONENTS:
	case PT_STATUS: {
		/* A payload of whole entries re-encodes to the same bytes;
		 * one that is not is refused, never half read. */
		const uint8_t *q = f->payload;
		size_t left = f->len;
		struct vbuf pl = {0};
		struct peer_comp_entry e;
		uint32_t id;
		uint8_t fl;
		int k;

		if (f->type == PT_COMPONENTS)
			while ((k = peer_next_comp_entry(&q, &left, &e)) > 0)
				peer_add_comp_entry(&pl, e.id, e.compat,
				    e.domain, e.domain_len);
		else
			while ((k = peer_next_status_entry(&q, &left, &id,
			    &fl)) > 0)
				peer_add_status_entry(&pl, id, fl);
		if (k == 0 && (pl.len != f->len ||
		    memcmp(pl.p, f->payload, f->len) != 0))
			abort();
		if (k < 0 && left == 0)
			abort();
		vbuf_free(&pl);
		peer_put_frame(&b, f->type, f->flags, f->comp, f->seq,
		    f->payload, f->len);
		break;
	}
	case PT_ROUTES: {
		/* Re-encoding the entries read gives the payload back,
		 * unless an entry ran past the end (reported, not read). */
		struct vbuf pl = {0};
		size_t off = 0, len;
		const char *jid;
		bool bad;

		while (peer_routes_next(f, &off, &jid, &len, &bad))
			if (!peer_routes_add(&pl, jid, len))
				abort();
		if (!bad && (pl.len != f->len ||
		    (f->len > 0 && memcmp(pl.p, f->payload, f->len) != 0)))
			abort();
		vbuf_free(&pl);
		peer_put_frame(&b, f->type, f->flags, f->comp, f->seq,
		    f->payload, f->len);
		break;
	}
	case PT_RETURN: {
		size_t i = 0;

		/* The decoder only lets whole u32 lists through. */
		if (f->len == 0 || f->len % 4 != 0)
			abort();
		while (peer_return_seq(f, i, &seq))
			i++;
		if (i != f->len / 4)
			abort();
		peer_put_frame(&b, f->type, f->flags, f->comp, f->seq,
		    f->payload, f->len);
		break;
	}
	case PT_PROOF:
		if (f->len != PEER_MAC_LEN ||
		    !peer_proof_ok(f->payload, f))
			abort();
		/* FALLTHROUGH */
	default:
		peer_put_frame(&b, f->type, f->flags, f->comp, f->seq,
		    f->payload, f->len);
		break;
	}
	/* Bytes 6-7 are reserved: sent as 0, ignored when read. */
	if (b.len >= PEER_HDR_LEN)
		memcpy(b.p + 6, w + 6, 2);
	if (b.len != PEER_HDR_LEN + f->len || memcmp(b.p, w, b.len) != 0)
		abort();
	vbuf_free(&b);
}

/* Decodes in[0..n) fed in chunks from the generator seeded by seed (-1:
 * all at once).  Returns the number of frames; *status is the last
 * peer_decoder_next() result. */
static size_t
run(const uint8_t *in, size_t n, int seed, int *status)
{
	struct peer_decoder d;
	struct peer_frame f;
	const char *why;
	uint32_t x = (uint32_t)seed * 2654435761u + 1;
	size_t off = 0, pos = 0, frames = 0, chunk;
	int r = 0;

	peer_decoder_init(&d, MAX_PAYLOAD);
	while (off < n && r >= 0) {
		if (seed < 0)
			chunk = n;
		else if (seed == 0)
			chunk = 1;
		else {
			x = x * 1103515245u + 12345u;
			chunk = 1 + (x >> 16) % 64;
		}
		if (chunk > n - off)
			chunk = n - off;
		peer_decoder_feed(&d, in + off, chunk);
		off += chunk;
		while ((r = peer_decoder_next(&d, &f, &why)) == 1) {
			check_frame(&f, in + pos);
			pos += PEER_HDR_LEN + f.len;
			frames++;
		}
		if (r < 0 && (why == NULL || *why == '\0'))
			abort();
		if (r == 0 && d.buf.len - d.off >= PEER_HDR_LEN + MAX_PAYLOAD)
			abort();
		if (r == 0 && d.buf.len - d.off != off - pos)
			abort();
	}
	*status = r;
	peer_decoder_free(&d);
	return frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole, chunked;
	int s1, s2;

	if (size < 1)
		return 0;
	whole = run(data + 1, size - 1, -1, &s1);
	chunked = run(data + 1, size - 1, data[0], &s2);
	if (whole != chunked || s1 != s2)
		abort();
	return 0;
}
