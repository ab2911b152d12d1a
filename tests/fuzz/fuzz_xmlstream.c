/*
 * fuzz_xmlstream.c — libFuzzer target for the stream parser and the reply
 * builders that consume what it reports.
 *
 * Input: byte 0 seeds the chunk sizes, the rest is the stream (the corpus
 * seeds start with a stream header).  The stream is parsed twice, once in
 * one piece and once in chunks of varying size (1..64 bytes, from a small
 * generator seeded by byte 0; seed 0 means one byte at a time), with
 * max_stanza 4096.  Oracles, each an abort():
 *   - chunking never changes what is reported: when both runs succeed the
 *     callback logs are identical, otherwise one log is a prefix of the
 *     other (a run may stop earlier at a limit);
 *   - raw bytes of a stanza start with '<' and end with '>', and are
 *     bounded by max_stanza plus the declarations inherited from the
 *     stream header (each at most the header's size, which max_stanza
 *     bounds, times 6 for a quote escaped as &apos;);
 *   - raw bytes of a stanza parse on their own inside a plain
 *     jabber:component:accept stream: prefixes bound only on the stream
 *     header were declared in them;
 *   - the parser never holds more than max_stanza after a successful feed;
 *   - every reply built for a stanza (bounce, disco reply) parses back as
 *     well-formed, unrestricted XML;
 *   - stanza_peek() (the scanner peer links use instead of the parser)
 *     reads the same name, from, to, id and type from the stanza's raw
 *     bytes as the parser reported.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stanza.h"
#include "xmlstream.h"
#include "xs_log.h"

#define MAX_STANZA 4096

#define QUERY "<query xmlns='http://jabber.org/protocol/disco#info'>" \
	"<identity category='component' type='generic'/></query>"
#define QUERY_NODE "<query xmlns='http://jabber.org/protocol/disco#info' " \
	"node='n'><identity category='component' type='generic'/></query>"

static const struct vc_component comp = {
	.name = "c", .domain = "c.example", .domain_len = 9,
	.disco_node = "n",
	.query = QUERY, .query_len = sizeof QUERY - 1,
	.query_node = QUERY_NODE, .query_node_len = sizeof QUERY_NODE - 1,
};

static void
check_reply(const struct vbuf *out)
{
	static const char hdr[] = "<stream:stream "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "xmlns='jabber:component:accept'>";
	static const struct xs_callbacks none = { NULL, NULL, NULL };
	struct xs_parser *p;

	if (out->len == 0)
		return;
	if ((p = xs_new(&none, NULL, 1 << 20)) == NULL)
		abort();
	if (xs_feed(p, hdr, sizeof hdr - 1) != XS_OK ||
	    xs_feed(p, out->p, out->len) != XS_OK)
		abort();
	xs_free(p);
}

static int
same(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* The differential oracle for stanza_peek (stanza.h). */
static void
check_peek(const struct xs_stanza *st)
{
	static struct vbuf b;
	struct xs_stanza p;

	stanza_peek(&p, st->raw, st->raw_len, NULL, 0, &b);
	if (!same(p.name, st->name) || !same(p.from, st->from) ||
	    !same(p.to, st->to) || !same(p.id, st->id) ||
	    !same(p.type, st->type))
		abort();
}

static void
on_stanza(void *ud, const struct xs_stanza *st)
{
	struct vbuf *log = ud, out = {0};

	if (st->raw_len == 0 || st->raw_len > 8 * MAX_STANZA ||
	    st->raw[0] != '<' || st->raw[st->raw_len - 1] != '>')
		abort();
	vbuf_add(&out, st->raw, st->raw_len);
	check_reply(&out);
	vbuf_clear(&out);
	xs_log_stanza(log, st);
	check_peek(st);

	if (stanza_bounce(&out, st, "cancel", "service-unavailable",
	    st->text, st->to))
		check_reply(&out);
	vbuf_clear(&out);
	if (stanza_is_disco_info_get(st)) {
		disco_reply(&out, &comp, st);
		check_reply(&out);
	}
	vbuf_free(&out);
}

static const struct xs_callbacks cb = { xs_log_open, on_stanza, xs_log_close };

static enum xs_status
run(const uint8_t *data, size_t len, unsigned seed, int chunked,
    struct vbuf *log)
{
	struct xs_parser *p;
	enum xs_status st = XS_OK;
	size_t off = 0, k;

	if ((p = xs_new(&cb, log, MAX_STANZA)) == NULL)
		abort();
	while (off < len && st == XS_OK) {
		if (!chunked)
			k = len;
		else if (seed == 0)
			k = 1;
		else {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 16) % 64;
		}
		if (k > len - off)
			k = len - off;
		st = xs_feed(p, (const char *)data + off, k);
		if (st == XS_OK && xs_buffered(p) > MAX_STANZA)
			abort();
		off += k;
	}
	xs_free(p);
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vbuf a = {0}, b = {0};
	enum xs_status sa, sb;
	size_t n;

	if (size < 1)
		return 0;
	sa = run(data + 1, size - 1, data[0], 0, &a);
	sb = run(data + 1, size - 1, data[0], 1, &b);
	n = a.len < b.len ? a.len : b.len;
	if (sa == XS_OK && sb == XS_OK && a.len != b.len)
		abort();
	if (n > 0 && memcmp(a.p, b.p, n) != 0)
		abort();
	vbuf_free(&a);
	vbuf_free(&b);
	return 0;
}
