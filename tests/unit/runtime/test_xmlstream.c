/*
 * test_xmlstream.c — the stream parser (runtime/xmlstream.c).
 *
 * The central test feeds one realistic component stream in chunks of every
 * size from 1 byte to the whole stream and requires the same callbacks with
 * the same raw bytes each time.  The rest checks each rule of restricted
 * XML, the size, depth and attribute limits (including the memory bound
 * for an element that never ends), and stream:error parsing with Prosody's
 * own error elements.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "../unit.h"
#include "xmlstream.h"

#define HEADER "<?xml version='1.0'?><stream:stream " \
	"xmlns:stream='http://etherx.jabber.org/streams' " \
	"xmlns='jabber:component:accept' xml:lang='en' " \
	"id='82d55807-823f-4201-bd12-31fc204a5050' from='muc.example.test'>"
#define SHORT_HEADER "<stream:stream " \
	"xmlns:stream='http://etherx.jabber.org/streams' " \
	"xmlns='jabber:component:accept'>"

/* The top-level elements of the realistic stream, in order; whitespace
 * keepalives go between some of them. */
static const char *const stanzas[] = {
	"<handshake/>",
	"<iq type='get' from='alice@example.test/r' to='muc.example.test' "
	    "id='info1' xml:lang='en'><query "
	    "xmlns='http://jabber.org/protocol/disco#info' "
	    "node='http://example.test/caps'/></iq>",
	"<message from='alice@example.test/r' to='room@muc.example.test' "
	    "id='m&amp;1&apos;' type='groupchat'><body>Tom &amp; Jerry "
	    "&apos;n&apos; &lt;co&gt; \xc3\xa9t\xc3\xa9</body><x "
	    "xmlns='jabber:x:data' type='submit'><field var='a&quot;b'>"
	    "<value>1</value></field></x><![CDATA[<not a tag>]]></message>",
	"<presence from='a@example.test/r' to='room@muc.example.test/nick'"
	    "><x xmlns='http://jabber.org/protocol/muc'/></presence>",
	"<route xmlns='urn:vcomp:peer:0' node='n2'><message "
	    "xmlns='jabber:component:accept' to='x@y'/></route>",
	"<p:ping xmlns:p='urn:example:ping' id='p1'/>",
	"<handshake>\n  9ACCEC263ab84a43c6037ccf7cd48cb1d3f6df8e  </handshake>",
	"<stream:error><not-authorized "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Given token does "
	    "not match calculated token</text></stream:error>",
};
#define NSTANZAS (sizeof stanzas / sizeof stanzas[0])
static const char *const gaps[NSTANZAS] = {
	"", " ", "\n\t \r\n", "", " ", "  ", "", "\n",
};

/* What the callbacks saw, as text, so two runs compare with strcmp. */
struct rec {
	struct vbuf log;
	int nstanzas;
	int raw_mismatch;		/* stanzas whose raw differs from stanzas[] */
	int stop_after;			/* xs_stop after this many stanzas */
	struct xs_parser *p;
};

static void
logs(struct vbuf *b, const char *label, const char *s)
{
	vbuf_addch(b, ' ');
	vbuf_addstr(b, label);
	vbuf_addch(b, '=');
	vbuf_addstr(b, s != NULL ? s : "(null)");
}

static void
rec_open(void *ud, const struct xs_attr *a, size_t n)
{
	struct rec *r = ud;

	vbuf_addstr(&r->log, "open");
	for (size_t i = 0; i < n; i++)
		logs(&r->log, a[i].name, a[i].value);
	vbuf_addch(&r->log, '\n');
}

static void
rec_stanza(void *ud, const struct xs_stanza *st)
{
	struct rec *r = ud;

	vbuf_addstr(&r->log, "stanza");
	logs(&r->log, "name", st->name);
	logs(&r->log, "ns", st->ns);
	logs(&r->log, "from", st->from);
	logs(&r->log, "to", st->to);
	logs(&r->log, "id", st->id);
	logs(&r->log, "type", st->type);
	logs(&r->log, "child", st->child_name);
	logs(&r->log, "child_ns", st->child_ns);
	logs(&r->log, "node", st->child_node);
	logs(&r->log, "text", st->text);
	logs(&r->log, "cond", st->err_condition);
	logs(&r->log, "etext", st->err_text);
	vbuf_addstr(&r->log, " raw=");
	vbuf_add(&r->log, st->raw, st->raw_len);
	vbuf_addch(&r->log, '\n');
	if (r->nstanzas < (int)NSTANZAS &&
	    (strlen(stanzas[r->nstanzas]) != st->raw_len ||
	    memcmp(stanzas[r->nstanzas], st->raw, st->raw_len) != 0))
		r->raw_mismatch++;
	r->nstanzas++;
	if (r->stop_after > 0 && r->nstanzas == r->stop_after)
		xs_stop(r->p);
}

static void
rec_close(void *ud)
{
	struct rec *r = ud;

	vbuf_addstr(&r->log, "close\n");
}

static const struct xs_callbacks rec_cb = { rec_open, rec_stanza, rec_close };

static void
build_stream(struct vbuf *s)
{
	vbuf_addstr(s, HEADER);
	for (size_t i = 0; i < NSTANZAS; i++) {
		vbuf_addstr(s, gaps[i]);
		vbuf_addstr(s, stanzas[i]);
	}
	vbuf_addstr(s, " </stream:stream>\n");
}

/* Feed s in chunks of size k; returns the last status. */
static enum xs_status
feed_chunked(struct xs_parser *p, const char *s, size_t n, size_t k)
{
	enum xs_status st = XS_OK;

	for (size_t off = 0; off < n && st == XS_OK; off += k)
		st = xs_feed(p, s + off, n - off < k ? n - off : k);
	return st;
}

static enum xs_status
parse_all(const char *s, size_t max, struct rec *r)
{
	enum xs_status st;

	memset(r, 0, sizeof *r);
	r->p = xs_new(&rec_cb, r, max);
	st = xs_feed(r->p, s, strlen(s));
	xs_free(r->p);
	r->p = NULL;
	return st;
}

static void
test_realistic_stream_fields(void)
{
	struct vbuf s = {0};
	struct rec r;
	const char *log;

	build_stream(&s);
	CU_ASSERT_EQUAL(parse_all(s.p, 4096, &r), XS_OK);
	CU_ASSERT_EQUAL(r.nstanzas, (int)NSTANZAS);
	CU_ASSERT_EQUAL(r.raw_mismatch, 0);
	log = r.log.p;
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	/* The header: namespace declarations first, then attributes. */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "open "
	    "xmlns:stream=http://etherx.jabber.org/streams "
	    "xmlns=jabber:component:accept xml:lang=en "
	    "id=82d55807-823f-4201-bd12-31fc204a5050 "
	    "from=muc.example.test\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=handshake "
	    "ns=jabber:component:accept from=(null) to=(null) id=(null) "
	    "type=(null) child=(null) child_ns=(null) node=(null) text= "
	    "cond=(null) etext=(null) raw=<handshake/>\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=iq "
	    "ns=jabber:component:accept from=alice@example.test/r "
	    "to=muc.example.test id=info1 type=get child=query "
	    "child_ns=http://jabber.org/protocol/disco#info "
	    "node=http://example.test/caps text= "));
	/* Entities unescaped in attributes; text directly inside the
	 * message is only the CDATA section, not the body's text. */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=message "
	    "ns=jabber:component:accept from=alice@example.test/r "
	    "to=room@muc.example.test id=m&1' type=groupchat child=body "
	    "child_ns=jabber:component:accept node=(null) "
	    "text=<not a tag> "));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=route "
	    "ns=urn:vcomp:peer:0 from=(null) to=(null) id=(null) "
	    "type=(null) child=message child_ns=jabber:component:accept "));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=ping "
	    "ns=urn:example:ping from=(null) to=(null) id=p1 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=handshake "
	    "ns=jabber:component:accept from=(null) to=(null) id=(null) "
	    "type=(null) child=(null) child_ns=(null) node=(null) "
	    "text=9ACCEC263ab84a43c6037ccf7cd48cb1d3f6df8e cond=(null) "));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "stanza name=error "
	    "ns=http://etherx.jabber.org/streams from=(null) to=(null) "
	    "id=(null) type=(null) child=not-authorized "
	    "child_ns=urn:ietf:params:xml:ns:xmpp-streams node=(null) text= "
	    "cond=not-authorized etext=Given token does not match "
	    "calculated token raw="));
	/* The close comes last. */
	CU_ASSERT_EQUAL(strcmp(log + r.log.len - 6, "close\n"), 0);
	vbuf_free(&r.log);
	vbuf_free(&s);
}

static void
test_every_chunk_size(void)
{
	struct vbuf s = {0};
	struct rec whole, r;
	size_t n;
	int bad_log = 0, bad_raw = 0, bad_status = 0;

	build_stream(&s);
	n = s.len;
	CU_ASSERT_EQUAL_FATAL(parse_all(s.p, 4096, &whole), XS_OK);
	for (size_t k = 1; k <= n; k++) {
		memset(&r, 0, sizeof r);
		r.p = xs_new(&rec_cb, &r, 4096);
		if (feed_chunked(r.p, s.p, n, k) != XS_OK)
			bad_status++;
		if (r.log.len != whole.log.len ||
		    memcmp(r.log.p, whole.log.p, r.log.len) != 0)
			bad_log++;
		if (r.raw_mismatch != 0 || r.nstanzas != (int)NSTANZAS)
			bad_raw++;
		/* Between stanzas nothing is held back but a partial tag. */
		CU_ASSERT(xs_buffered(r.p) <= k);
		xs_free(r.p);
		vbuf_free(&r.log);
	}
	CU_ASSERT_EQUAL(bad_status, 0);
	CU_ASSERT_EQUAL(bad_log, 0);
	CU_ASSERT_EQUAL(bad_raw, 0);
	vbuf_free(&whole.log);
	vbuf_free(&s);
}

/* Fed one byte at a time, each stanza is delivered by the very byte that
 * ends it: holding back unfinished tags (tag_still_open) must never delay
 * a callback, also with '>' and quotes inside attribute values. */
static void
test_delivery_is_prompt(void)
{
	static const char *const extra[] = {
		"<message to='a>b' id=\"x'>y\"><body a='\"' b=\"'\">t</body>"
		    "</message>",
		"<iq id='1' type='get'><query xmlns='q'/></iq >",
		"<presence id=\"it's\"/>",
		"<presence id='say \"hi\"'/>",
	};
	struct vbuf s = {0};
	size_t ends[NSTANZAS + 4], nends = 0;
	struct rec r;
	int late = 0;

	vbuf_addstr(&s, HEADER);
	for (size_t i = 0; i < NSTANZAS; i++) {
		vbuf_addstr(&s, gaps[i]);
		vbuf_addstr(&s, stanzas[i]);
		ends[nends++] = s.len;
	}
	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
		vbuf_addstr(&s, extra[i]);
		ends[nends++] = s.len;
	}
	memset(&r, 0, sizeof r);
	r.p = xs_new(&rec_cb, &r, 4096);
	for (size_t i = 0, next = 0; i < s.len; i++) {
		CU_ASSERT_EQUAL_FATAL(xs_feed(r.p, s.p + i, 1), XS_OK);
		while (next < nends && ends[next] <= i + 1)
			next++;
		if (r.nstanzas != (int)next)
			late++;
	}
	CU_ASSERT_EQUAL(late, 0);
	CU_ASSERT_EQUAL(r.nstanzas, (int)nends);
	xs_free(r.p);
	vbuf_free(&r.log);
	vbuf_free(&s);
}

/* expat 2.5 rescans an unfinished token on every call; without the
 * parser's hold-back a 512 KiB start tag sent byte by byte took minutes of
 * CPU.  Now it is linear: the bound here is generous for slow sanitizer
 * builds and still far below the quadratic cost. */
static void
test_long_tag_bytewise_is_linear(void)
{
	const size_t max = 512 * 1024;
	struct xs_parser *p;
	struct rec r;
	enum xs_status st = XS_OK;
	size_t i;
	clock_t t0;

	memset(&r, 0, sizeof r);
	p = xs_new(&rec_cb, &r, max);
	CU_ASSERT_EQUAL(xs_feed(p, SHORT_HEADER "<message a='",
	    strlen(SHORT_HEADER "<message a='")), XS_OK);
	t0 = clock();
	for (i = 0; i < 2 * max && st == XS_OK; i++)
		st = xs_feed(p, i % 2 ? ">" : "x", 1);
	CU_ASSERT_EQUAL(st, XS_ERR_POLICY);
	CU_ASSERT(i <= max);
	CU_ASSERT((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
	xs_free(p);
	vbuf_free(&r.log);
}

/* Parse SHORT_HEADER + body (+ nothing else) and return the status, fed
 * whole and byte by byte, which must agree. */
static enum xs_status
status_of(const char *prefix, const char *body)
{
	struct vbuf s = {0};
	struct rec r;
	enum xs_status a, b;

	vbuf_addstr(&s, prefix);
	vbuf_addstr(&s, body);
	a = parse_all(s.p, 4096, &r);
	vbuf_free(&r.log);
	memset(&r, 0, sizeof r);
	r.p = xs_new(&rec_cb, &r, 4096);
	b = feed_chunked(r.p, s.p, s.len, 1);
	xs_free(r.p);
	vbuf_free(&r.log);
	vbuf_free(&s);
	CU_ASSERT_EQUAL(a, b);
	return a;
}

static void
test_restricted_xml(void)
{
	const char *h = SHORT_HEADER;

	CU_ASSERT_EQUAL(status_of("", "<?xml version='1.0'?><!DOCTYPE "
	    "stream:stream>" SHORT_HEADER), XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of("", "<!DOCTYPE s [<!ENTITY x 'y'>]>"
	    SHORT_HEADER), XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<message><!ENTITY x 'y'></message>"),
	    XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<!DOCTYPE x>"), XS_ERR_RESTRICTED);
	/* Comments: before the header, between and inside stanzas. */
	CU_ASSERT_EQUAL(status_of("<!-- hi -->", SHORT_HEADER),
	    XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<message/><!-- hi --><message/>"),
	    XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<message><body>a<!--x-->b</body>"
	    "</message>"), XS_ERR_RESTRICTED);
	/* Processing instructions, including a second XML declaration. */
	CU_ASSERT_EQUAL(status_of("<?xml version='1.0'?><?pi x?>",
	    SHORT_HEADER), XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<message><?pi x?></message>"),
	    XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<message/><?pi?>"), XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<?xml version='1.0'?>"),
	    XS_ERR_RESTRICTED);
	/* Entity references beyond the predefined five: restricted-xml, as
	 * RFC 6120 §11.1 lists them (decision in docs/runtime-parser.md). */
	CU_ASSERT_EQUAL(status_of(h, "<message><body>&foo;</body>"
	    "</message>"), XS_ERR_RESTRICTED);
	CU_ASSERT_EQUAL(status_of(h, "<message to='&foo;'/>"),
	    XS_ERR_RESTRICTED);
	/* The five predefined ones and character references are fine. */
	CU_ASSERT_EQUAL(status_of(h, "<message to='&amp;&lt;&gt;&quot;"
	    "&apos;&#65;&#x42;'>&amp;&#x263A;</message>"), XS_OK);
}

static void
test_not_well_formed_and_ns(void)
{
	const char *h = SHORT_HEADER;

	CU_ASSERT_EQUAL(status_of(h, "<message></presence>"), XS_ERR_XML);
	CU_ASSERT_EQUAL(status_of(h, "<message to='a' to='b'/>"), XS_ERR_XML);
	CU_ASSERT_EQUAL(status_of(h, "<x:message/>"), XS_ERR_XML);
	CU_ASSERT_EQUAL(status_of(h, "\xff"), XS_ERR_XML);
	/* Text between stanzas other than whitespace. */
	CU_ASSERT_EQUAL(status_of(h, "<message/>hello"), XS_ERR_XML);
	CU_ASSERT_EQUAL(status_of(h, " \t\r\n <message/>  "), XS_OK);
	/* Not a stream header. */
	CU_ASSERT_EQUAL(status_of("", "<stream:stream xmlns:stream='urn:x'>"),
	    XS_ERR_NS);
	CU_ASSERT_EQUAL(status_of("", "<html xmlns='jabber:client'>"),
	    XS_ERR_NS);
	CU_ASSERT_EQUAL(status_of("", "<stream "
	    "xmlns='http://etherx.jabber.org/streams'>"), XS_OK);
	/* After </stream:stream> only whitespace may follow. */
	CU_ASSERT_EQUAL(status_of(h, "</stream:stream>\n "), XS_OK);
	CU_ASSERT_EQUAL(status_of(h, "</stream:stream><message/>"),
	    XS_ERR_XML);
	CU_ASSERT_STRING_EQUAL(xs_condition(XS_ERR_XML), "not-well-formed");
	CU_ASSERT_STRING_EQUAL(xs_condition(XS_ERR_RESTRICTED),
	    "restricted-xml");
	CU_ASSERT_STRING_EQUAL(xs_condition(XS_ERR_POLICY),
	    "policy-violation");
	CU_ASSERT_STRING_EQUAL(xs_condition(XS_ERR_NS), "invalid-namespace");
	CU_ASSERT_PTR_NULL(xs_condition(XS_OK));
	CU_ASSERT_PTR_NULL(xs_condition(XS_ERR_STOPPED));
}

/* A stanza of exactly max bytes passes; one more byte is a violation. */
static void
test_max_stanza_boundary(void)
{
	char st[200];
	struct vbuf s = {0};
	struct rec r;
	size_t len;

	/* "<message>" + x... + "</message>" = 100 bytes. */
	memset(st, 0, sizeof st);
	strcpy(st, "<message>");
	memset(st + 9, 'x', 100 - 9 - 10);
	strcat(st, "</message>");
	len = strlen(st);
	CU_ASSERT_EQUAL_FATAL(len, 100);
	vbuf_addstr(&s, SHORT_HEADER);
	vbuf_addstr(&s, st);
	for (size_t k = 1; k <= s.len; k += 7) {
		memset(&r, 0, sizeof r);
		r.p = xs_new(&rec_cb, &r, 100);
		CU_ASSERT_EQUAL(feed_chunked(r.p, s.p, s.len, k), XS_OK);
		CU_ASSERT_EQUAL(r.nstanzas, 1);
		xs_free(r.p);
		vbuf_free(&r.log);
		memset(&r, 0, sizeof r);
		r.p = xs_new(&rec_cb, &r, 99);
		CU_ASSERT_EQUAL(feed_chunked(r.p, s.p, s.len, k),
		    XS_ERR_POLICY);
		CU_ASSERT_EQUAL(r.nstanzas, 0);
		xs_free(r.p);
		vbuf_free(&r.log);
	}
	vbuf_free(&s);
}

/* An element that never ends: the error comes as soon as it is too big,
 * and the parser never holds more than max + one chunk. */
static void
test_oversize_never_closed(void)
{
	static const char *const openers[] = {
		"<message><body>",	/* endless character data */
		"<message to='",	/* endless start tag, held by expat */
		"<message><a><b>",	/* endless children */
	};
	char chunk[1000];
	const size_t max = 4096;

	for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) {
		struct rec r;
		enum xs_status st;
		size_t fed = 0;

		memset(&r, 0, sizeof r);
		r.p = xs_new(&rec_cb, &r, max);
		CU_ASSERT_EQUAL(xs_feed(r.p, SHORT_HEADER,
		    strlen(SHORT_HEADER)), XS_OK);
		CU_ASSERT_EQUAL(xs_feed(r.p, openers[i], strlen(openers[i])),
		    XS_OK);
		for (size_t j = 0; j < sizeof chunk; j++)
			chunk[j] = i == 2 ? "<c>"[j % 3] : 'a';
		do {
			st = xs_feed(r.p, chunk, sizeof chunk);
			fed += sizeof chunk;
			CU_ASSERT(xs_buffered(r.p) <= max);
		} while (st == XS_OK && fed < 1000000);
		CU_ASSERT_EQUAL(st, XS_ERR_POLICY);
		CU_ASSERT(fed <= max + sizeof chunk);
		/* Sticky: more input changes nothing. */
		CU_ASSERT_EQUAL(xs_feed(r.p, "<message/>", 10), XS_ERR_POLICY);
		CU_ASSERT_EQUAL(r.nstanzas, 0);
		xs_free(r.p);
		vbuf_free(&r.log);
	}
}

static void
test_depth_and_attribute_limits(void)
{
	struct vbuf s = {0};
	char name[16];
	int d;

	/* The stream header counts as one level: a stanza with 62 levels
	 * below it reaches XS_MAX_DEPTH exactly. */
	for (int extra = 0; extra <= 1; extra++) {
		vbuf_clear(&s);
		d = XS_MAX_DEPTH - 1 + extra;
		for (int i = 0; i < d; i++)
			vbuf_addstr(&s, "<a>");
		for (int i = 0; i < d; i++)
			vbuf_addstr(&s, "</a>");
		CU_ASSERT_EQUAL(status_of(SHORT_HEADER, s.p),
		    extra ? XS_ERR_POLICY : XS_OK);
	}
	for (int extra = 0; extra <= 1; extra++) {
		vbuf_clear(&s);
		vbuf_addstr(&s, "<message");
		for (int i = 0; i < XS_MAX_ATTRS + extra; i++) {
			snprintf(name, sizeof name, " a%d=''", i);
			vbuf_addstr(&s, name);
		}
		vbuf_addstr(&s, "/>");
		CU_ASSERT_EQUAL(status_of(SHORT_HEADER, s.p),
		    extra ? XS_ERR_POLICY : XS_OK);
	}
	vbuf_free(&s);
}

/* Prosody's stream errors (docs: TEST-SERVERS.md §2). */
static void
test_stream_errors(void)
{
	static const struct {
		const char *in, *cond, *text;
	} cases[] = {
		{ "<stream:error><invalid-from "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Component "
		    "tried to send from address &lt;bob@example.test/r&gt; "
		    "which is not in domain &lt;muc.example.test&gt;</text>"
		    "</stream:error>", "invalid-from",
		    "Component tried to send from address "
		    "<bob@example.test/r> which is not in domain "
		    "<muc.example.test>" },
		{ "<stream:error><text xml:lang='en' "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'> Component "
		    "already connected </text><conflict "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
		    "</stream:error>", "conflict", "Component already connected" },
		{ "<stream:error><host-unknown "
		    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
		    "</stream:error>", "host-unknown", NULL },
	};
	const char *hdr = "<?xml version='1.0'?><stream:stream "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "xmlns='jabber:component:accept' id='' version='1.0'>";

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct vbuf s = {0}, want = {0};
		struct rec r;

		vbuf_addstr(&s, hdr);
		vbuf_addstr(&s, cases[i].in);
		vbuf_addstr(&s, "</stream:stream>");
		CU_ASSERT_EQUAL(parse_all(s.p, 4096, &r), XS_OK);
		CU_ASSERT_EQUAL(r.nstanzas, 1);
		vbuf_addstr(&want, " cond=");
		vbuf_addstr(&want, cases[i].cond);
		vbuf_addstr(&want, " etext=");
		vbuf_addstr(&want, cases[i].text ? cases[i].text : "(null)");
		vbuf_addstr(&want, " raw=");
		vbuf_addstr(&want, cases[i].in);
		vbuf_addstr(&want, "\nclose\n");
		CU_ASSERT_PTR_NOT_NULL(strstr(r.log.p, want.p));
		CU_ASSERT_PTR_NOT_NULL(strstr(r.log.p, " id= version=1.0\n"));
		vbuf_free(&r.log);
		vbuf_free(&want);
		vbuf_free(&s);
	}
}

static void
test_stop_and_reset(void)
{
	const char *s = SHORT_HEADER "<a/><b/><c/>";
	struct rec r;

	memset(&r, 0, sizeof r);
	r.p = xs_new(&rec_cb, &r, 4096);
	r.stop_after = 1;
	/* Stopped inside the first stanza callback: <b/> and <c/> in the
	 * same chunk are not delivered. */
	CU_ASSERT_EQUAL(xs_feed(r.p, s, strlen(s)), XS_ERR_STOPPED);
	CU_ASSERT_EQUAL(r.nstanzas, 1);
	CU_ASSERT_EQUAL(xs_feed(r.p, "<d/>", 4), XS_ERR_STOPPED);
	CU_ASSERT_EQUAL(r.nstanzas, 1);
	/* A new stream on the same parser. */
	xs_reset(r.p);
	r.stop_after = 0;
	CU_ASSERT_EQUAL(xs_feed(r.p, s, strlen(s)), XS_OK);
	CU_ASSERT_EQUAL(r.nstanzas, 4);
	CU_ASSERT_EQUAL(xs_feed(r.p, "</stream:stream>", 16), XS_OK);
	/* And after an error, reset also gives a working parser. */
	CU_ASSERT_EQUAL(xs_feed(r.p, "<x/>", 4), XS_ERR_XML);
	xs_reset(r.p);
	CU_ASSERT_EQUAL(xs_feed(r.p, s, strlen(s)), XS_OK);
	CU_ASSERT_EQUAL(r.nstanzas, 7);
	xs_free(r.p);
	vbuf_free(&r.log);
}

static void
test_attr_get(void)
{
	const struct xs_attr a[] = { { "xmlns", "jabber:component:accept" },
	    { "id", "42" } };

	CU_ASSERT_STRING_EQUAL(xs_attr_get(a, 2, "id"), "42");
	CU_ASSERT_PTR_NULL(xs_attr_get(a, 2, "from"));
	CU_ASSERT_PTR_NULL(xs_attr_get(a, 0, "id"));
}

/*
 * The fast path against expat alone (xs_set_fastpath off): the same
 * status and the same callbacks, field by field and byte by byte, for
 * streams that mix stanzas in the fast path's subset with everything it
 * declines, fed whole and in chunks of 1, 7 and 64 bytes.
 */
static const char *const fast_cases[] = {
	/* In the subset. */
	"<message from='a@b/c' to='r@x' type='chat' id='1'><body>caf\xc3\xa9"
	    " &amp; &lt;3 \xe2\x9c\x93 \xf0\x9f\x98\x80</body></message>\n "
	    "<presence to='r@x/n'><x xmlns='http://jabber.org/protocol/muc'/>"
	    "</presence><iq type='get' id=\"q&apos;\"><query xmlns='urn:x' "
	    "node='n&amp;m'/></iq><message xml:lang='en'><body>x</body>"
	    "<body>y</body></message><message xmlns=''/><a><b><c/></b>t</a>",
	/* Declined, then decided by expat. */
	"<message><body>&#65;&#x1F600;</body></message><message/>",
	"<message><![CDATA[<x>]]></message><iq/>",
	"<message><body>a]]>b</body></message>",
	"<message id='1' id='2'/>",
	"<message><!-- c --></message>",
	"<message><?pi x?></message>",
	"<message xmlns='http://www.w3.org/2000/xmlns/'/>",
	"<message><b></c></message>",
	"<message to='a\tb'/><message>\r\nx</message><message>a\r\nb</message>",
	"<message>\xed\xa0\x80</message>",
	"<message>\xef\xbf\xbe</message>",
	"<message>\xc0\x80</message>",
	"<message a='1'b='2'/>",
	"<message><x:y xmlns:x='u'/></message><p:q xmlns:p='v'/>",
	"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
	    "</stream:error>",
	"<message>&nbsp;</message>",
	"<message><body>x</body></message>text<message/>",
	"<message/></stream:stream>",
	"<message/></stream:stream><message/>",
	"<message><body>\x01</body></message>",
	"<message xmlns='a' xmlns='a'/>",
	"<message xmlfoo='1'/><message XMLNS='1'/>",
};

static void
fast_run(const char *doc, size_t len, size_t chunk, int fast, struct vbuf *log,
    enum xs_status *st)
{
	struct rec r;
	size_t off = 0, k;

	memset(&r, 0, sizeof r);
	r.p = xs_new(&rec_cb, &r, 4096);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r.p);
	xs_set_fastpath(r.p, fast);
	*st = XS_OK;
	while (off < len && *st == XS_OK) {
		k = chunk == 0 || chunk > len - off ? len - off : chunk;
		*st = xs_feed(r.p, doc + off, k);
		off += k;
	}
	vbuf_add(log, r.log.p, r.log.len);
	vbuf_free(&r.log);
	xs_free(r.p);
}

static void
test_fast_path_matches_expat(void)
{
	static const size_t chunks[] = { 0, 1, 7, 64 };
	size_t ncases = sizeof fast_cases / sizeof fast_cases[0];
	int mismatches = 0;

	for (size_t i = 0; i < ncases; i++)
		for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
			struct vbuf doc = {0}, a = {0}, b = {0};
			enum xs_status sa, sb;

			vbuf_addstr(&doc, HEADER);
			vbuf_addstr(&doc, fast_cases[i]);
			/* Each case also after a simple stanza, so it starts
			 * where the fast path is active. */
			vbuf_addstr(&doc, "<message to='z'/>");
			vbuf_addstr(&doc, fast_cases[i]);
			fast_run(doc.p, doc.len, chunks[c], 1, &a, &sa);
			fast_run(doc.p, doc.len, chunks[c], 0, &b, &sb);
			if (sa != sb || a.len != b.len ||
			    (a.len > 0 && memcmp(a.p, b.p, a.len) != 0)) {
				mismatches++;
				printf("\n    fast path differs: case %zu, chunk "
				    "%zu, status %d vs %d", i, chunks[c],
				    (int)sa, (int)sb);
			}
			vbuf_free(&doc);
			vbuf_free(&a);
			vbuf_free(&b);
		}
	CU_ASSERT_EQUAL(mismatches, 0);
}

UNIT_SUITE(runtime_xmlstream)
{
	UNIT_TEST(suite, test_realistic_stream_fields);
	UNIT_TEST(suite, test_every_chunk_size);
	UNIT_TEST(suite, test_delivery_is_prompt);
	UNIT_TEST(suite, test_long_tag_bytewise_is_linear);
	UNIT_TEST(suite, test_restricted_xml);
	UNIT_TEST(suite, test_not_well_formed_and_ns);
	UNIT_TEST(suite, test_max_stanza_boundary);
	UNIT_TEST(suite, test_oversize_never_closed);
	UNIT_TEST(suite, test_depth_and_attribute_limits);
	UNIT_TEST(suite, test_stream_errors);
	UNIT_TEST(suite, test_stop_and_reset);
	UNIT_TEST(suite, test_attr_get);
	UNIT_TEST(suite, test_fast_path_matches_expat);
}
