/*
 * fuzz_xmlstream_fast.c — libFuzzer target: the stream parser's fast path
 * (runtime/xmlstream.c, "The fast path") against expat alone.
 *
 * Input: byte 0 seeds the chunk sizes, the rest is the stream (the seeds
 * in tests/fuzz/corpus/fuzz_xmlstream_fast start with a stream header).
 * The stream is parsed by two parsers fed the very same chunks (1..64
 * bytes from a small generator seeded by byte 0; seed 0: one byte at a
 * time; and once more in one piece): one with the fast path (the
 * default), one with xs_set_fastpath(p, false), where expat parses every
 * byte.  Oracle, an abort(): after every chunk both return the same
 * status, and their callback logs (stream header attributes, every
 * stanza's raw bytes, that is its boundaries, and every field reported,
 * the stream's close) are identical.  So the fast path accepts and
 * rejects exactly what expat does, and reports the same stanzas.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xmlstream.h"
#include "xs_log.h"

#define MAX_STANZA 4096

static void
on_stanza(void *ud, const struct xs_stanza *st)
{
	xs_log_stanza(ud, st);
}

static const struct xs_callbacks cb = { xs_log_open, on_stanza, xs_log_close };

static void
compare(const uint8_t *data, size_t len, unsigned seed, int chunked)
{
	struct vbuf la = {0}, lb = {0};
	struct xs_parser *a, *b;
	enum xs_status sa = XS_OK, sb = XS_OK;
	size_t off = 0, k;

	if ((a = xs_new(&cb, &la, MAX_STANZA)) == NULL ||
	    (b = xs_new(&cb, &lb, MAX_STANZA)) == NULL)
		abort();
	xs_set_fastpath(b, false);
	while (off < len && sa == XS_OK) {
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
		sa = xs_feed(a, (const char *)data + off, k);
		sb = xs_feed(b, (const char *)data + off, k);
		if (sa != sb || la.len != lb.len ||
		    (la.len > 0 && memcmp(la.p, lb.p, la.len) != 0))
			abort();
		if (sa == XS_OK && xs_buffered(a) > MAX_STANZA)
			abort();
		off += k;
	}
	xs_free(a);
	xs_free(b);
	vbuf_free(&la);
	vbuf_free(&lb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	compare(data + 1, size - 1, data[0], 0);
	compare(data + 1, size - 1, data[0], 1);
	return 0;
}
