/*
 * test_peer_proto.c — peer-link framing and authentication
 * (runtime/peer_proto.c, docs/peer-protocol.md).
 */
#include <stdio.h>
#include <string.h>

#include "peer_proto.h"
#include "vcomp_table.h"
#include "../unit.h"

#define MAXP 256	/* decoder payload bound used by these tests */

/* A frame copied out of a decoder, so that it outlives the next feed. */
struct saved {
	uint8_t type, flags;
	uint32_t comp;
	uint32_t seq;
	uint32_t len;
	uint8_t payload[MAXP];
};

static const uint8_t nonce_a[PEER_NONCE_LEN] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};
static const char compat[PEER_COMPAT_LEN + 1] =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* One frame of every type, in type order, appended to out. */
static void
build_all(struct vbuf *out)
{
	struct peer_hello h = { .min_version = 2, .max_version = 7,
	    .name = "node2", .name_len = 5 };
	uint8_t mac[PEER_MAC_LEN];
	struct vbuf status = {0}, comps = {0};

	peer_add_status_entry(&status, 0x62617135, 1);
	peer_add_status_entry(&status, 0xbeef, 0);
	peer_add_comp_entry(&comps, 0x62617135, compat, "muc.example.test", 16);
	memcpy(h.nonce, nonce_a, sizeof h.nonce);
	for (size_t i = 0; i < sizeof mac; i++)
		mac[i] = (uint8_t)(0xa0 + i);
	peer_put_hello(out, &h);
	peer_put_frame(out, PT_PROOF, 0, 0, 0, mac, sizeof mac);
	CU_ASSERT_TRUE(peer_put_stanza(out, PF_TO_HOME, 0xbeef0102, 0xdeadbeef,
	    "u@example.test/r", 16, "<message to='c.example.test'/>", 30));
	peer_put_ack(out, 0x01020304);
	peer_put_frame(out, PT_STATUS, 0, 0, 0, status.p, status.len);
	peer_put_frame(out, PT_PING, 0, 0, 0, NULL, 0);
	peer_put_frame(out, PT_PONG, 0, 0, 0, NULL, 0);
	peer_put_frame(out, PT_BYE, 0, 0, 0, "bye now", 7);
	peer_put_frame(out, PT_COMPONENTS, 0, 0, 0, comps.p, comps.len);
	vbuf_free(&status);
	vbuf_free(&comps);
}

/* Decodes everything in p[0..n), fed in chunks of chunk bytes, into
 * frames[]; returns how many, or -1 on a decoder error. */
static int
decode_chunked(const char *p, size_t n, size_t chunk, struct saved *frames,
    int max)
{
	struct peer_decoder d;
	struct peer_frame f;
	const char *why;
	int nf = 0, r;

	peer_decoder_init(&d, MAXP);
	for (size_t off = 0; off < n; off += chunk) {
		peer_decoder_feed(&d, p + off, n - off < chunk ? n - off : chunk);
		while ((r = peer_decoder_next(&d, &f, &why)) == 1) {
			if (nf == max) {
				peer_decoder_free(&d);
				return -1;
			}
			frames[nf].type = f.type;
			frames[nf].flags = f.flags;
			frames[nf].comp = f.comp;
			frames[nf].seq = f.seq;
			frames[nf].len = f.len;
			memcpy(frames[nf].payload, f.payload, f.len);
			nf++;
		}
		if (r < 0) {
			peer_decoder_free(&d);
			return -1;
		}
		/* Everything consumed but at most one partial frame. */
		CU_ASSERT(d.buf.len - d.off < PEER_HDR_LEN + MAXP);
	}
	/* Nothing left over once every byte is in. */
	CU_ASSERT_EQUAL(d.buf.len - d.off, 0);
	peer_decoder_free(&d);
	return nf;
}

static struct peer_frame
as_frame(const struct saved *s)
{
	struct peer_frame f = { s->type, s->flags, s->comp, s->seq,
	    s->payload, s->len };

	return f;
}

static void
test_roundtrip_every_type(void)
{
	struct vbuf b = {0};
	struct saved fr[16];
	struct peer_frame f;
	struct peer_hello h;
	const char *from, *raw;
	size_t from_len, raw_len;
	uint32_t seq;
	int n;

	build_all(&b);
	n = decode_chunked(b.p, b.len, b.len, fr, 16);
	CU_ASSERT_EQUAL_FATAL(n, 9);
	/* HELLO to BYE in order, then COMPONENTS (after the issue 10
	 * frames, which test_routes_and_return covers). */
	for (int i = 0; i < n - 1; i++)
		CU_ASSERT_EQUAL(fr[i].type, i + 1);
	CU_ASSERT_EQUAL(fr[n - 1].type, PT_COMPONENTS);

	f = as_frame(&fr[0]);
	CU_ASSERT_TRUE_FATAL(peer_parse_hello(&f, &h));
	CU_ASSERT_EQUAL(h.min_version, 2);
	CU_ASSERT_EQUAL(h.max_version, 7);
	CU_ASSERT_EQUAL(memcmp(h.nonce, nonce_a, PEER_NONCE_LEN), 0);
	CU_ASSERT_EQUAL(h.name_len, 5);
	CU_ASSERT_EQUAL(memcmp(h.name, "node2", 5), 0);
	CU_ASSERT_EQUAL(fr[0].comp, 0);
	CU_ASSERT_EQUAL(fr[0].seq, 0);

	CU_ASSERT_EQUAL(fr[1].len, PEER_MAC_LEN);
	CU_ASSERT_EQUAL(fr[1].payload[0], 0xa0);
	CU_ASSERT_EQUAL(fr[1].payload[31], 0xa0 + 31);

	f = as_frame(&fr[2]);
	CU_ASSERT_EQUAL(f.flags, PF_TO_HOME);
	CU_ASSERT_EQUAL(f.comp, 0xbeef0102);
	CU_ASSERT_EQUAL(f.seq, 0xdeadbeef);
	CU_ASSERT_TRUE_FATAL(peer_parse_stanza(&f, &from, &from_len, &raw,
	    &raw_len));
	CU_ASSERT_EQUAL(from_len, 16);
	CU_ASSERT_EQUAL(memcmp(from, "u@example.test/r", 16), 0);
	CU_ASSERT_EQUAL(raw_len, 30);
	CU_ASSERT_EQUAL(memcmp(raw, "<message to='c.example.test'/>", 30), 0);

	f = as_frame(&fr[3]);
	CU_ASSERT_TRUE(peer_parse_ack(&f, &seq));
	CU_ASSERT_EQUAL(seq, 0x01020304);

	{
		const uint8_t *q = fr[4].payload;
		size_t left = fr[4].len;
		uint32_t id;
		uint8_t fl;
		struct peer_comp_entry e;

		CU_ASSERT_EQUAL(fr[4].len, 10);
		CU_ASSERT_EQUAL(peer_next_status_entry(&q, &left, &id, &fl), 1);
		CU_ASSERT_EQUAL(id, 0x62617135);
		CU_ASSERT_EQUAL(fl, 1);
		CU_ASSERT_EQUAL(peer_next_status_entry(&q, &left, &id, &fl), 1);
		CU_ASSERT_EQUAL(id, 0xbeef);
		CU_ASSERT_EQUAL(fl, 0);
		CU_ASSERT_EQUAL(peer_next_status_entry(&q, &left, &id, &fl), 0);
		/* A truncated entry is an error, not an end. */
		q = fr[4].payload;
		left = 4;
		CU_ASSERT_EQUAL(peer_next_status_entry(&q, &left, &id, &fl), -1);

		q = fr[8].payload;
		left = fr[8].len;
		CU_ASSERT_EQUAL_FATAL(peer_next_comp_entry(&q, &left, &e), 1);
		CU_ASSERT_EQUAL(e.id, 0x62617135);
		CU_ASSERT_EQUAL(memcmp(e.compat, compat, PEER_COMPAT_LEN), 0);
		CU_ASSERT_EQUAL(e.domain_len, 16);
		CU_ASSERT_EQUAL(memcmp(e.domain, "muc.example.test", 16), 0);
		CU_ASSERT_EQUAL(peer_next_comp_entry(&q, &left, &e), 0);
		q = fr[8].payload;
		left = fr[8].len - 1;   /* the domain one byte short */
		CU_ASSERT_EQUAL(peer_next_comp_entry(&q, &left, &e), -1);
	}
	CU_ASSERT_EQUAL(fr[5].len, 0);
	CU_ASSERT_EQUAL(fr[6].len, 0);
	CU_ASSERT_EQUAL(fr[7].len, 7);
	CU_ASSERT_EQUAL(memcmp(fr[7].payload, "bye now", 7), 0);

	/* The parse functions refuse frames of another type. */
	f = as_frame(&fr[3]);
	CU_ASSERT_FALSE(peer_parse_hello(&f, &h));
	CU_ASSERT_FALSE(peer_parse_stanza(&f, &from, &from_len, &raw,
	    &raw_len));
	f = as_frame(&fr[2]);
	CU_ASSERT_FALSE(peer_parse_ack(&f, &seq));
	vbuf_free(&b);
}

static void
test_wire_layout(void)
{
	struct vbuf b = {0};
	static const uint8_t want[] = {
		0, 0, 0, 6,             /* len */
		PT_STANZA, PF_TO_USER,
		0, 0,                   /* reserved */
		0x12, 0x34, 0x56, 0x78, /* comp: the component's id */
		0x89, 0xab, 0xcd, 0xef, /* seq */
		0, 1, 'u',              /* from_len, from */
		'<', 'x', '/',          /* raw */
	};

	CU_ASSERT_TRUE(peer_put_stanza(&b, PF_TO_USER, 0x12345678, 0x89abcdef,
	    "u", 1, "<x/", 3));
	CU_ASSERT_EQUAL_FATAL(b.len, sizeof want);
	CU_ASSERT_EQUAL(memcmp(b.p, want, sizeof want), 0);
	vbuf_free(&b);
}

static void
test_chunked_identical(void)
{
	struct vbuf b = {0};
	struct saved whole[16], part[16];
	int n, m;

	build_all(&b);
	n = decode_chunked(b.p, b.len, b.len, whole, 16);
	CU_ASSERT_EQUAL_FATAL(n, 9);
	for (size_t chunk = 1; chunk <= b.len; chunk++) {
		m = decode_chunked(b.p, b.len, chunk, part, 16);
		CU_ASSERT_EQUAL_FATAL(m, n);
		for (int i = 0; i < n; i++) {
			CU_ASSERT_EQUAL(part[i].type, whole[i].type);
			CU_ASSERT_EQUAL(part[i].flags, whole[i].flags);
			CU_ASSERT_EQUAL(part[i].comp, whole[i].comp);
			CU_ASSERT_EQUAL(part[i].seq, whole[i].seq);
			CU_ASSERT_EQUAL_FATAL(part[i].len, whole[i].len);
			CU_ASSERT_EQUAL(memcmp(part[i].payload,
			    whole[i].payload, whole[i].len), 0);
		}
	}
	vbuf_free(&b);
}

/* Feeds hdr (a 16-byte header) byte by byte, then 1000 more bytes, and
 * expects -1 with reason why as soon as the header is complete. */
static void
expect_error(const uint8_t hdr[PEER_HDR_LEN], const char *want)
{
	struct peer_decoder d;
	struct peer_frame f;
	const char *why = NULL;
	char junk[1000] = {0};

	peer_decoder_init(&d, MAXP);
	for (int i = 0; i < PEER_HDR_LEN - 1; i++) {
		peer_decoder_feed(&d, hdr + i, 1);
		CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, &why), 0);
	}
	peer_decoder_feed(&d, hdr + PEER_HDR_LEN - 1, 1);
	CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, &why), -1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_STRING_EQUAL(why, want);
	/* Refused on the header alone: nothing of the payload was needed. */
	CU_ASSERT_EQUAL(d.buf.len, PEER_HDR_LEN);
	/* Sticky. */
	peer_decoder_feed(&d, junk, sizeof junk);
	CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, NULL), -1);
	peer_decoder_free(&d);
}

static void
test_decoder_errors(void)
{
	uint8_t h[PEER_HDR_LEN] = {0};

	/* Oversize: MAXP + 1, and the largest length there is. */
	h[2] = (MAXP + 1) >> 8;
	h[3] = (MAXP + 1) & 0xff;
	h[4] = PT_STANZA;
	expect_error(h, "frame payload too large");
	memset(h, 0xff, 4);
	expect_error(h, "frame payload too large");
	/* Unknown types. */
	memset(h, 0, sizeof h);
	h[4] = 0;
	expect_error(h, "unknown frame type");
	h[4] = PT_COMPONENTS + 1;
	expect_error(h, "unknown frame type");
	h[4] = 0xff;
	expect_error(h, "unknown frame type");
	/* Fixed-size frames of another size. */
	h[3] = PEER_MAC_LEN - 1;
	h[4] = PT_PROOF;
	expect_error(h, "proof frame of wrong length");
	h[3] = 5;
	h[4] = PT_ACK;
	expect_error(h, "ack frame of wrong length");
	h[3] = 1;
	h[4] = PT_PING;
	expect_error(h, "control frame with a payload");
	h[4] = PT_PONG;
	expect_error(h, "control frame with a payload");
	h[4] = PT_DRAIN;
	expect_error(h, "control frame with a payload");
	h[4] = PT_DRAINED;
	expect_error(h, "control frame with a payload");
	h[4] = PT_RETURN;
	expect_error(h, "return frame of wrong length");
	h[3] = 0;
	expect_error(h, "return frame of wrong length");
}

static void
test_routes_and_return(void)
{
	struct vbuf pl = { 0 }, out = { 0 };
	struct peer_decoder d;
	struct peer_frame f;
	const char *why, *jid;
	size_t off = 0, len;
	bool bad;
	uint32_t seq;
	static const uint8_t seqs[] = { 0, 0, 0, 7, 0, 1, 0, 0 };

	CU_ASSERT(peer_routes_add(&pl, "a@x/1", 5));
	CU_ASSERT(peer_routes_add(&pl, "", 0));
	CU_ASSERT(peer_routes_add(&pl, "b@x/long", 8));
	peer_put_frame(&out, PT_ROUTES, PF_ROUTES_END, 3, 0, pl.p, pl.len);
	peer_put_frame(&out, PT_RETURN, 0, 0, 0, seqs, sizeof seqs);
	peer_decoder_init(&d, MAXP);
	peer_decoder_feed(&d, out.p, out.len);
	CU_ASSERT_FATAL(peer_decoder_next(&d, &f, &why) > 0);
	CU_ASSERT_EQUAL(f.type, PT_ROUTES);
	CU_ASSERT_EQUAL(f.flags, PF_ROUTES_END);
	CU_ASSERT_EQUAL(f.comp, 3);
	CU_ASSERT(peer_routes_next(&f, &off, &jid, &len, &bad));
	CU_ASSERT(len == 5 && memcmp(jid, "a@x/1", 5) == 0);
	CU_ASSERT(peer_routes_next(&f, &off, &jid, &len, &bad));
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT(peer_routes_next(&f, &off, &jid, &len, &bad));
	CU_ASSERT(len == 8 && memcmp(jid, "b@x/long", 8) == 0);
	CU_ASSERT_FALSE(peer_routes_next(&f, &off, &jid, &len, &bad));
	CU_ASSERT_FALSE(bad);
	/* A truncated entry is reported, not read past. */
	f.len -= 1;
	off = 0;
	while (peer_routes_next(&f, &off, &jid, &len, &bad))
		;
	CU_ASSERT(bad);
	CU_ASSERT_FATAL(peer_decoder_next(&d, &f, &why) > 0);
	CU_ASSERT_EQUAL(f.type, PT_RETURN);
	CU_ASSERT(peer_return_seq(&f, 0, &seq) && seq == 7);
	CU_ASSERT(peer_return_seq(&f, 1, &seq) && seq == 0x10000);
	CU_ASSERT_FALSE(peer_return_seq(&f, 2, &seq));
	peer_decoder_free(&d);
	vbuf_free(&pl);
	vbuf_free(&out);
}

static void
test_decoder_bounds(void)
{
	struct peer_decoder d;
	struct peer_frame f;
	struct vbuf b = {0};
	static char big[MAXP];

	/* A payload of exactly the maximum is accepted. */
	memset(big, 'x', sizeof big);
	peer_put_frame(&b, PT_BYE, 0, 0, 0, big, sizeof big);
	peer_put_frame(&b, PT_PING, 0, 0, 0, NULL, 0);
	peer_decoder_init(&d, MAXP);
	peer_decoder_feed(&d, b.p, b.len - 1);
	CU_ASSERT_EQUAL_FATAL(peer_decoder_next(&d, &f, NULL), 1);
	CU_ASSERT_EQUAL(f.len, MAXP);
	CU_ASSERT_EQUAL(f.payload[MAXP - 1], 'x');
	CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, NULL), 0);
	/* The consumed frame is dropped by the next feed. */
	peer_decoder_feed(&d, b.p + b.len - 1, 1);
	CU_ASSERT_EQUAL(d.buf.len, PEER_HDR_LEN);
	CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, NULL), 1);
	CU_ASSERT_EQUAL(f.type, PT_PING);
	CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, NULL), 0);
	peer_decoder_free(&d);
	vbuf_free(&b);
}

static void
test_version_agree(void)
{
	CU_ASSERT_EQUAL(peer_version_agree(2, 2, 2, 2), 2);
	CU_ASSERT_EQUAL(peer_version_agree(2, 3, 2, 2), 2);
	CU_ASSERT_EQUAL(peer_version_agree(2, 3, 3, 5), 3);
	CU_ASSERT_EQUAL(peer_version_agree(2, 2, 3, 5), 0);
	CU_ASSERT_EQUAL(peer_version_agree(4, 5, 1, 3), 0);
}

static void
test_parse_truncated(void)
{
	uint8_t p[PEER_HELLO_MIN + 8];
	struct peer_frame f = { PT_STANZA, 0, 0, 1, p, 0 };
	struct peer_hello h;
	const char *from, *raw;
	size_t from_len, raw_len;

	memset(p, 'n', sizeof p);
	/* STANZA: no room for from_len, then from_len past the end. */
	f.len = 1;
	CU_ASSERT_FALSE(peer_parse_stanza(&f, &from, &from_len, &raw,
	    &raw_len));
	p[0] = 0;
	p[1] = 4;
	f.len = 5;
	CU_ASSERT_FALSE(peer_parse_stanza(&f, &from, &from_len, &raw,
	    &raw_len));
	/* Exactly the from, no raw bytes: well-formed, empty stanza. */
	f.len = 6;
	CU_ASSERT_TRUE(peer_parse_stanza(&f, &from, &from_len, &raw,
	    &raw_len));
	CU_ASSERT_EQUAL(from_len, 4);
	CU_ASSERT_EQUAL(raw_len, 0);
	/* HELLO: every length below the minimum is refused. */
	f.type = PT_HELLO;
	f.seq = 0;
	memset(p, 'n', sizeof p);
	for (f.len = 0; f.len < PEER_HELLO_MIN; f.len++)
		CU_ASSERT_FALSE(peer_parse_hello(&f, &h));
	CU_ASSERT_TRUE(peer_parse_hello(&f, &h));
	CU_ASSERT_EQUAL(h.name_len, 1);
	/* A NUL in the name is refused. */
	f.len = PEER_HELLO_MIN + 2;
	p[PEER_HELLO_MIN] = '\0';
	CU_ASSERT_FALSE(peer_parse_hello(&f, &h));
	/* ACK of another length. */
	f.type = PT_ACK;
	f.len = 3;
	{
		uint32_t seq;

		CU_ASSERT_FALSE(peer_parse_ack(&f, &seq));
	}
}

static void
test_put_stanza_limits(void)
{
	struct vbuf b = {0};
	static char from[PEER_FROM_MAX + 1];

	memset(from, 'a', sizeof from);
	CU_ASSERT_FALSE(peer_put_stanza(&b, PF_TO_HOME, 0, 1, from,
	    PEER_FROM_MAX + 1, "<x/>", 4));
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_TRUE(peer_put_stanza(&b, PF_TO_HOME, 0, 1, from,
	    PEER_FROM_MAX, "<x/>", 4));
	CU_ASSERT_EQUAL(b.len, PEER_HDR_LEN + 2 + PEER_FROM_MAX + 4);
	vbuf_free(&b);
}

/* The sender's JID is left out of a frame rather than make the frame
 * larger than the receiver accepts (which would close the link). */
static void
test_stanza_from_len(void)
{
	const uint32_t max = 1000;

	CU_ASSERT_EQUAL(peer_stanza_from_len(10, 100, max), 10);
	/* Exactly at the limit: 2 + from + raw == max. */
	CU_ASSERT_EQUAL(peer_stanza_from_len(98, 900, max), 98);
	CU_ASSERT_EQUAL(peer_stanza_from_len(99, 900, max), 0);
	/* A raw stanza that alone nearly fills the payload. */
	CU_ASSERT_EQUAL(peer_stanza_from_len(1, 998, max), 0);
	CU_ASSERT_EQUAL(peer_stanza_from_len(0, 998, max), 0);
	CU_ASSERT_EQUAL(peer_stanza_from_len(5, 5000, max), 0);
	CU_ASSERT_EQUAL(peer_stanza_from_len(PEER_FROM_MAX + 1, 4,
	    UINT32_MAX), 0);
	CU_ASSERT_EQUAL(peer_stanza_from_len(PEER_FROM_MAX, 4, UINT32_MAX),
	    PEER_FROM_MAX);
	/* What the decoder of the other side then accepts. */
	{
		struct peer_decoder d;
		struct peer_frame f;
		struct vbuf b = {0};
		static char raw[900], from[300];
		size_t fl;

		memset(raw, 'r', sizeof raw);
		memset(from, 'f', sizeof from);
		fl = peer_stanza_from_len(sizeof from, sizeof raw, max);
		CU_ASSERT_EQUAL(fl, 0);
		CU_ASSERT_TRUE(peer_put_stanza(&b, PF_TO_HOME, 0, 1, from, fl,
		    raw, sizeof raw));
		peer_decoder_init(&d, max);
		peer_decoder_feed(&d, b.p, b.len);
		CU_ASSERT_EQUAL(peer_decoder_next(&d, &f, NULL), 1);
		peer_decoder_free(&d);
		vbuf_free(&b);
	}
}

/*
 * Known answer, computed independently:
 *   /usr/bin/python3 -c "import hmac,hashlib
 *   dn=bytes(range(32)); an=bytes(range(32,64))
 *   for r in (b'D',b'A'):
 *     m=b'vcomp-peer-1'+r+b'node1\0'+b'node2\0'+dn+an
 *     print(r, hmac.new(b'cluster-secret',m,hashlib.sha256).hexdigest())"
 */
static const char kat_d[] =
    "2100577e800a0a3828663305ff749d1b23f1ca18ca60c541fa506a0f04c2d843";
static const char kat_a[] =
    "b28bf1ef329b7c5d84e7fc4f96423a4cd1ec508d8578947189e796723720e09b";

static void
hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void
proof(char role, const char *d, const char *a, const uint8_t *dn,
    const uint8_t *an, const char *secret, uint8_t out[PEER_MAC_LEN])
{
	peer_proof(secret, strlen(secret), role, d, a, dn, an, out);
}

static void
test_proof_kat(void)
{
	uint8_t dn[PEER_NONCE_LEN], an[PEER_NONCE_LEN], mac[PEER_MAC_LEN];
	uint8_t other[PEER_MAC_LEN];
	char h[2 * PEER_MAC_LEN + 1];
	const char *s = "cluster-secret";

	for (int i = 0; i < PEER_NONCE_LEN; i++) {
		dn[i] = (uint8_t)i;
		an[i] = (uint8_t)(32 + i);
	}
	proof('D', "node1", "node2", dn, an, s, mac);
	hex(mac, sizeof mac, h);
	CU_ASSERT_STRING_EQUAL(h, kat_d);
	proof('A', "node1", "node2", dn, an, s, other);
	hex(other, sizeof other, h);
	CU_ASSERT_STRING_EQUAL(h, kat_a);

	/* Every input changes the proof. */
	proof('D', "node2", "node1", dn, an, s, other);
	CU_ASSERT_NOT_EQUAL(memcmp(mac, other, sizeof mac), 0);
	proof('D', "node1", "node2", an, dn, s, other);
	CU_ASSERT_NOT_EQUAL(memcmp(mac, other, sizeof mac), 0);
	/* The separator keeps the boundary between the names. */
	proof('D', "node1n", "ode2", dn, an, s, other);
	CU_ASSERT_NOT_EQUAL(memcmp(mac, other, sizeof mac), 0);
	proof('D', "node1", "node2", dn, an, "cluster-secreT", other);
	CU_ASSERT_NOT_EQUAL(memcmp(mac, other, sizeof mac), 0);
	dn[31] ^= 1;
	proof('D', "node1", "node2", dn, an, s, other);
	CU_ASSERT_NOT_EQUAL(memcmp(mac, other, sizeof mac), 0);
	dn[31] ^= 1;
	an[0] ^= 0x80;
	proof('D', "node1", "node2", dn, an, s, other);
	CU_ASSERT_NOT_EQUAL(memcmp(mac, other, sizeof mac), 0);
}

static void
test_proof_ok(void)
{
	uint8_t dn[PEER_NONCE_LEN] = {0}, an[PEER_NONCE_LEN] = {1};
	uint8_t mac[PEER_MAC_LEN], wire[PEER_MAC_LEN];
	struct peer_frame f = { PT_PROOF, 0, 0, 0, wire, PEER_MAC_LEN };

	peer_proof("k", 1, 'A', "a", "b", dn, an, mac);
	memcpy(wire, mac, sizeof wire);
	CU_ASSERT_TRUE(peer_proof_ok(mac, &f));
	for (size_t i = 0; i < sizeof wire; i += 7) {
		wire[i] ^= 4;
		CU_ASSERT_FALSE(peer_proof_ok(mac, &f));
		wire[i] ^= 4;
	}
	f.len = PEER_MAC_LEN - 1;
	CU_ASSERT_FALSE(peer_proof_ok(mac, &f));
	f.len = PEER_MAC_LEN;
	f.type = PT_BYE;
	CU_ASSERT_FALSE(peer_proof_ok(mac, &f));
}

static void
test_nonce(void)
{
	uint8_t a[PEER_NONCE_LEN], b[PEER_NONCE_LEN];
	static const uint8_t zero[PEER_NONCE_LEN];

	peer_nonce(a);
	peer_nonce(b);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof a), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, zero, sizeof a), 0);
}

static void
test_pair_needed(void)
{
	/* node0 homes muc, node2 and node1 home pubsub (failover order),
	 * node3 and node4 are purely virtual. */
	static const struct vc_node nodes[] = {
		{ "node0", { "127.0.0.1", 1 } }, { "node1", { "127.0.0.1", 2 } },
		{ "node2", { "127.0.0.1", 3 } }, { "node3", { "127.0.0.1", 4 } },
		{ "node4", { "127.0.0.1", 5 } },
	};
	static const uint16_t h_muc[] = { 0 }, h_pubsub[] = { 2, 1 };
	static const struct vc_component comps[] = {
		{ .name = "muc", .domain = "muc.example.test",
		  .homes = h_muc, .nhomes = 1 },
		{ .name = "pubsub", .domain = "pubsub.example.test",
		  .homes = h_pubsub, .nhomes = 2 },
	};
	static const struct vc_table t = {
		.nodes = nodes, .nnodes = 5,
		.components = comps, .ncomponents = 2,
	};
	static const bool want[5][5] = {
		/*         0      1      2      3      4 */
		/* 0 */ { false, true,  true,  true,  true },
		/* 1 */ { true,  false, true,  true,  true },
		/* 2 */ { true,  true,  false, true,  true },
		/* 3 */ { true,  true,  true,  false, false },
		/* 4 */ { true,  true,  true,  false, false },
	};

	for (uint16_t a = 0; a < 5; a++)
		for (uint16_t b = 0; b < 5; b++) {
			if (peer_pair_needed(&t, a, b) != want[a][b])
				fprintf(stderr, "pair %u %u\n", a, b);
			CU_ASSERT_EQUAL(peer_pair_needed(&t, a, b), want[a][b]);
		}
	/* Indexes outside the table never link. */
	CU_ASSERT_FALSE(peer_pair_needed(&t, 0, 5));
	CU_ASSERT_FALSE(peer_pair_needed(&t, 0xffff, 0));
}

UNIT_SUITE(peer_proto)
{
	UNIT_TEST(suite, test_roundtrip_every_type);
	UNIT_TEST(suite, test_wire_layout);
	UNIT_TEST(suite, test_chunked_identical);
	UNIT_TEST(suite, test_decoder_errors);
	UNIT_TEST(suite, test_decoder_bounds);
	UNIT_TEST(suite, test_version_agree);
	UNIT_TEST(suite, test_routes_and_return);
	UNIT_TEST(suite, test_parse_truncated);
	UNIT_TEST(suite, test_put_stanza_limits);
	UNIT_TEST(suite, test_stanza_from_len);
	UNIT_TEST(suite, test_proof_kat);
	UNIT_TEST(suite, test_proof_ok);
	UNIT_TEST(suite, test_nonce);
	UNIT_TEST(suite, test_pair_needed);
}
