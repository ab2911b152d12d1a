/*
 * test_xmlstream_prefix.c — stanzas that use a prefix only their stream
 * header declares (runtime/xmlstream.c, "Prefixes from the stream
 * header").  The parser must hand out each such stanza with the
 * declarations it inherits added to its start tag, so that its bytes are
 * well-formed on their own in the stream they are forwarded into; and
 * leave every other stanza byte for byte as received.  Each result is
 * checked byte for byte and by parsing it again inside a plain
 * jabber:component:accept stream, the kind the runtime writes.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "../unit.h"
#include "xmlstream.h"

/* What a stream the runtime writes declares: nothing else is bound. */
#define PLAIN_HEADER "<stream:stream " \
	"xmlns:stream='http://etherx.jabber.org/streams' " \
	"xmlns='jabber:component:accept'>"
#define HDR_X "<stream:stream xmlns='jabber:component:accept' " \
	"xmlns:stream='http://etherx.jabber.org/streams' " \
	"xmlns:x='urn:example:x' xmlns:y='urn:example:y' " \
	"xmlns:z='urn:a&amp;b&apos;c&lt;' to='muc.example.test'>"

struct got {
	int n;
	struct vbuf raw;		/* the last stanza's bytes */
	struct vbuf child_ns;
};

static void
got_stanza(void *ud, const struct xs_stanza *st)
{
	struct got *g = ud;

	g->n++;
	vbuf_clear(&g->raw);
	vbuf_add(&g->raw, st->raw, st->raw_len);
	vbuf_clear(&g->child_ns);
	vbuf_addstr(&g->child_ns, st->child_ns ? st->child_ns : "(none)");
}

static const struct xs_callbacks cb = { .stanza = got_stanza };

/* Parses header + stanza in chunks of size chunk (0: all at once) and
 * returns the stanza's bytes as handed out (malloc'd copy in g). */
static enum xs_status
parse(const char *header, const char *stanza, size_t chunk, struct got *g)
{
	struct xs_parser *p = xs_new(&cb, g, 65536);
	struct vbuf in = { 0 };
	enum xs_status s = XS_OK;

	vbuf_addstr(&in, header);
	vbuf_addstr(&in, stanza);
	if (chunk == 0)
		chunk = in.len;
	for (size_t i = 0; i < in.len && s == XS_OK; i += chunk)
		s = xs_feed(p, in.p + i, in.len - i < chunk ? in.len - i :
		    chunk);
	xs_free(p);
	vbuf_free(&in);
	return s;
}

/*
 * The stanza handed out for stanza under header must be want; and want,
 * inside a plain stream, must parse with the same namespace for the
 * first child (so the declarations mean what they meant).
 */
static void
expect(const char *header, const char *stanza, const char *want)
{
	struct got g = { 0 }, again = { 0 };

	for (size_t chunk = 0; chunk <= 7; chunk++) {
		g.n = 0;
		CU_ASSERT_EQUAL_FATAL(parse(header, stanza, chunk, &g), XS_OK);
		CU_ASSERT_EQUAL_FATAL(g.n, 1);
		if (strcmp(g.raw.p, want) != 0) {
			fprintf(stderr, "\n  chunk %zu: got  %s\n  want %s\n",
			    chunk, g.raw.p, want);
			CU_FAIL("stanza bytes");
		}
	}
	CU_ASSERT_EQUAL(parse(PLAIN_HEADER, g.raw.p, 0, &again), XS_OK);
	CU_ASSERT_EQUAL(again.n, 1);
	if (again.n == 1)
		CU_ASSERT_STRING_EQUAL(again.child_ns.p, g.child_ns.p);
	vbuf_free(&g.raw);
	vbuf_free(&g.child_ns);
	vbuf_free(&again.raw);
	vbuf_free(&again.child_ns);
}

/* The case of the issue: <x:data/> with x declared on the header only. */
static void
test_issue_case(void)
{
	struct got g = { 0 };

	/* Byte for byte, it would not even parse in the stream it goes to. */
	CU_ASSERT_EQUAL(parse(PLAIN_HEADER, "<message to='a@example.test'>"
	    "<x:data/></message>", 0, &g), XS_ERR_XML);
	expect(HDR_X, "<message to='a@example.test'><x:data/></message>",
	    "<message xmlns:x='urn:example:x' to='a@example.test'>"
	    "<x:data/></message>");
	vbuf_free(&g.raw);
	vbuf_free(&g.child_ns);
}

static void
test_where_prefixes_are_used(void)
{
	/* On the top element, on an attribute, deep inside, several. */
	expect(HDR_X, "<x:message to='a@b'/>",
	    "<x:message xmlns:x='urn:example:x' to='a@b'/>");
	expect(HDR_X, "<message y:a='1'/>",
	    "<message xmlns:y='urn:example:y' y:a='1'/>");
	expect(HDR_X, "<message\n\tto='a@b'><body/><a><b><y:c/></b></a>"
	    "</message>",
	    "<message xmlns:y='urn:example:y'\n\tto='a@b'><body/><a><b>"
	    "<y:c/></b></a></message>");
	/* In the header's order, whatever the order of use. */
	expect(HDR_X, "<iq><y:q x:a='1'/></iq>",
	    "<iq xmlns:x='urn:example:x' xmlns:y='urn:example:y'>"
	    "<y:q x:a='1'/></iq>");
	/* The URI escaped again for the attribute value. */
	expect(HDR_X, "<message><z:v/></message>",
	    "<message xmlns:z='urn:a&amp;b&apos;c&lt;'><z:v/></message>");
}

static void
test_left_alone(void)
{
	/* Unprefixed, or no inherited prefix used: byte for byte. */
	expect(HDR_X, "<message to='a@b'><body>x:y</body></message>",
	    "<message to='a@b'><body>x:y</body></message>");
	/* The top element declares the prefix itself (adding one would be
	 * a duplicate attribute). */
	expect(HDR_X, "<message xmlns:x='urn:other'><x:d/></message>",
	    "<message xmlns:x='urn:other'><x:d/></message>");
	/* stream: bound as every stream the runtime writes binds it. */
	expect(HDR_X, "<message><stream:n/></message>",
	    "<message><stream:n/></message>");
	/* A header with no other prefix: nothing changes, ever. */
	expect(PLAIN_HEADER, "<message xmlns:x='urn:x'><x:d/></message>",
	    "<message xmlns:x='urn:x'><x:d/></message>");
}

static void
test_redeclared_inside(void)
{
	/* An inner element rebinds x: the declaration added on top is
	 * harmless (the inner one wins) and the whole is well-formed. */
	expect(HDR_X, "<message><x:a/><b xmlns:x='urn:inner'><x:c/></b>"
	    "</message>",
	    "<message xmlns:x='urn:example:x'><x:a/><b "
	    "xmlns:x='urn:inner'><x:c/></b></message>");
}

static void
test_stream_prefix_rebound(void)
{
	/* The header uses s: for the streams namespace and binds stream:
	 * to something else: a stanza using stream: must say which. */
	expect("<s:stream xmlns:s='http://etherx.jabber.org/streams' "
	    "xmlns:stream='urn:not-streams' xmlns='jabber:component:accept'>",
	    "<message><stream:n/><s:m/></message>",
	    "<message xmlns:s='http://etherx.jabber.org/streams' "
	    "xmlns:stream='urn:not-streams'><stream:n/><s:m/></message>");
}

static void
test_state_per_stanza(void)
{
	/* The second stanza uses nothing: it must not inherit the first
	 * one's declarations. */
	struct got g = { 0 };

	CU_ASSERT_EQUAL(parse(HDR_X, "<message><x:d/></message>"
	    "<message xmlns:y='urn:q'><y:e/></message>", 0, &g), XS_OK);
	CU_ASSERT_EQUAL(g.n, 2);
	CU_ASSERT_STRING_EQUAL(g.raw.p,
	    "<message xmlns:y='urn:q'><y:e/></message>");
	vbuf_free(&g.raw);
	vbuf_free(&g.child_ns);
}

UNIT_SUITE(runtime_xmlstream_prefix)
{
	UNIT_TEST(suite, test_issue_case);
	UNIT_TEST(suite, test_where_prefixes_are_used);
	UNIT_TEST(suite, test_left_alone);
	UNIT_TEST(suite, test_redeclared_inside);
	UNIT_TEST(suite, test_stream_prefix_rebound);
	UNIT_TEST(suite, test_state_per_stanza);
}
