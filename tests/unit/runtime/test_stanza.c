/*
 * test_stanza.c — stanza building and inspection (runtime/stanza.c).
 *
 * Replies are checked twice: byte for byte against the expected text, and
 * by parsing them back with the stream parser, which proves that hostile
 * ids and JIDs come back unescaped exactly and cannot break the markup.
 * The components are built by hand here (test data), not from a table.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "stanza.h"
#include "../unit.h"
#include "xmlstream.h"

#define Q "<query xmlns='http://jabber.org/protocol/disco#info'>" \
	"<identity category='conference' type='text' name='Chat &amp; more'/>" \
	"<feature var='http://jabber.org/protocol/disco#info'/></query>"
#define QN "<query xmlns='http://jabber.org/protocol/disco#info' " \
	"node='http://vcomp.example/n'>" \
	"<identity category='conference' type='text' name='Chat &amp; more'/>" \
	"<feature var='http://jabber.org/protocol/disco#info'/></query>"

static const struct vc_component comp = {
	.name = "muc",
	.domain = "muc.example.test",
	.domain_len = 16,
	.disco_node = "http://vcomp.example/n",
	.query = Q,
	.query_len = sizeof Q - 1,
	.query_node = QN,
	.query_node_len = sizeof QN - 1,
};

static const struct vc_component comp_no_node = {
	.name = "muc",
	.domain = "muc.example.test",
	.domain_len = 16,
	.query = Q,
	.query_len = sizeof Q - 1,
};

static struct xs_stanza
disco_get(const char *id, const char *node)
{
	struct xs_stanza st = {
		.name = "iq", .ns = "jabber:component:accept",
		.from = "alice@example.test/r", .to = "muc.example.test",
		.id = id, .type = "get", .child_name = "query",
		.child_ns = "http://jabber.org/protocol/disco#info",
		.child_node = node, .text = "",
	};
	return st;
}

/* Parse one element back inside a stream and copy out what the tests look
 * at. */
struct back {
	int n;
	char name[64], id[128], to[128], from[128], type[32], child[64];
	char node[128], raw[2048];
};

static void
copy(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s != NULL ? s : "(null)");
}

static void
back_stanza(void *ud, const struct xs_stanza *st)
{
	struct back *b = ud;

	b->n++;
	copy(b->name, sizeof b->name, st->name);
	copy(b->id, sizeof b->id, st->id);
	copy(b->to, sizeof b->to, st->to);
	copy(b->from, sizeof b->from, st->from);
	copy(b->type, sizeof b->type, st->type);
	copy(b->child, sizeof b->child, st->child_name);
	copy(b->node, sizeof b->node, st->child_node);
}

static enum xs_status
parse_back(const struct vbuf *out, struct back *b)
{
	static const struct xs_callbacks cb = { NULL, back_stanza, NULL };
	static const char hdr[] = "<stream:stream "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "xmlns='jabber:component:accept'>";
	struct xs_parser *p;
	enum xs_status s;

	memset(b, 0, sizeof *b);
	p = xs_new(&cb, b, 65536);
	s = xs_feed(p, hdr, sizeof hdr - 1);
	if (s == XS_OK)
		s = xs_feed(p, out->p, out->len);
	xs_free(p);
	return s;
}

static void
test_xml_escape(void)
{
	struct vbuf b = {0};
	const char in[] = "a&b<c>d\"e'f\0g";

	CU_ASSERT_EQUAL(xml_escape(&b, in, sizeof in - 1),
	    strlen("a&amp;b&lt;c&gt;d&quot;e&apos;f") + 2);
	CU_ASSERT_EQUAL(memcmp(b.p, "a&amp;b&lt;c&gt;d&quot;e&apos;f\0g",
	    b.len), 0);
	vbuf_clear(&b);
	CU_ASSERT_EQUAL(xml_escape(&b, "", 0), 0);
	CU_ASSERT_EQUAL(xml_escape(&b, "plain", 5), 5);
	CU_ASSERT_STRING_EQUAL(b.p, "plain");
	vbuf_free(&b);
}

static void
test_is_disco_info_get(void)
{
	struct xs_stanza st = disco_get("1", NULL);

	CU_ASSERT_TRUE(stanza_is_disco_info_get(&st));
	st.type = "set";
	CU_ASSERT_FALSE(stanza_is_disco_info_get(&st));
	st = disco_get("1", NULL);
	st.child_ns = "http://jabber.org/protocol/disco#items";
	CU_ASSERT_FALSE(stanza_is_disco_info_get(&st));
	st = disco_get("1", NULL);
	st.name = "message";
	CU_ASSERT_FALSE(stanza_is_disco_info_get(&st));
	st = disco_get("1", NULL);
	st.child_name = NULL;
	st.child_ns = NULL;
	CU_ASSERT_FALSE(stanza_is_disco_info_get(&st));
	st = disco_get("1", NULL);
	st.type = NULL;
	CU_ASSERT_FALSE(stanza_is_disco_info_get(&st));
}

static void
test_disco_reply_escaping(void)
{
	struct vbuf out = {0};
	struct xs_stanza st = disco_get("a'b\"c<d&e>", NULL);
	struct back b;

	st.from = "o'brien@example.test/<r>";
	CU_ASSERT_EQUAL(disco_reply(&out, &comp, &st), DISCO_RESULT);
	CU_ASSERT_STRING_EQUAL(out.p, "<iq type='result' "
	    "id='a&apos;b&quot;c&lt;d&amp;e&gt;' "
	    "to='o&apos;brien@example.test/&lt;r&gt;' "
	    "from='muc.example.test'>" Q "</iq>");
	CU_ASSERT_EQUAL(parse_back(&out, &b), XS_OK);
	CU_ASSERT_EQUAL(b.n, 1);
	CU_ASSERT_STRING_EQUAL(b.id, "a'b\"c<d&e>");
	CU_ASSERT_STRING_EQUAL(b.to, "o'brien@example.test/<r>");
	CU_ASSERT_STRING_EQUAL(b.from, "muc.example.test");
	CU_ASSERT_STRING_EQUAL(b.type, "result");
	CU_ASSERT_STRING_EQUAL(b.node, "(null)");
	vbuf_free(&out);
}

static void
test_disco_reply_nodes(void)
{
	struct vbuf out = {0};
	struct xs_stanza st;
	struct back b;

	/* The configured node: the query with node= is spliced in. */
	st = disco_get("n1", "http://vcomp.example/n");
	CU_ASSERT_EQUAL(disco_reply(&out, &comp, &st), DISCO_RESULT);
	CU_ASSERT_STRING_EQUAL(out.p, "<iq type='result' id='n1' "
	    "to='alice@example.test/r' from='muc.example.test'>" QN "</iq>");
	CU_ASSERT_EQUAL(parse_back(&out, &b), XS_OK);
	CU_ASSERT_STRING_EQUAL(b.node, "http://vcomp.example/n");
	vbuf_clear(&out);

	/* An unknown node: item-not-found echoing the (escaped) node. */
	st = disco_get("n2", "x'&y");
	CU_ASSERT_EQUAL(disco_reply(&out, &comp, &st), DISCO_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(out.p, "<iq type='error' id='n2' "
	    "to='alice@example.test/r' from='muc.example.test'><query "
	    "xmlns='http://jabber.org/protocol/disco#info' "
	    "node='x&apos;&amp;y'/><error type='cancel'><item-not-found "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
	CU_ASSERT_EQUAL(parse_back(&out, &b), XS_OK);
	CU_ASSERT_STRING_EQUAL(b.node, "x'&y");
	CU_ASSERT_STRING_EQUAL(b.type, "error");
	vbuf_clear(&out);

	/* Any node is unknown to a component without one. */
	st = disco_get("n3", "http://vcomp.example/n");
	CU_ASSERT_EQUAL(disco_reply(&out, &comp_no_node, &st),
	    DISCO_NOT_FOUND);
	vbuf_clear(&out);
	st = disco_get("n4", NULL);
	CU_ASSERT_EQUAL(disco_reply(&out, &comp_no_node, &st), DISCO_RESULT);
	vbuf_free(&out);
}

static void
test_bounce(void)
{
	struct vbuf out = {0};
	struct xs_stanza st = {
		.name = "message", .ns = "jabber:component:accept",
		.from = "alice@example.test/r", .to = "room@muc.example.test",
		.id = "m'1", .type = "groupchat", .text = "",
	};
	struct back b;

	CU_ASSERT_TRUE(stanza_bounce(&out, &st, "wait",
	    "remote-server-timeout", "Component <muc> unavailable",
	    "muc.example.test"));
	CU_ASSERT_STRING_EQUAL(out.p, "<message type='error' id='m&apos;1' "
	    "to='alice@example.test/r' from='room@muc.example.test'>"
	    "<error type='wait' by='muc.example.test'><remote-server-timeout "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>"
	    "Component &lt;muc&gt; unavailable</text></error></message>");
	CU_ASSERT_EQUAL(parse_back(&out, &b), XS_OK);
	CU_ASSERT_STRING_EQUAL(b.child, "error");
	vbuf_clear(&out);

	/* iq get and set are answered; no text, no by. */
	st.name = "iq";
	st.type = "set";
	CU_ASSERT_TRUE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	CU_ASSERT_STRING_EQUAL(out.p, "<iq type='error' id='m&apos;1' "
	    "to='alice@example.test/r' from='room@muc.example.test'>"
	    "<error type='cancel'><service-unavailable "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
	vbuf_clear(&out);

	/* Never answered: errors, iq results, non-stanzas. */
	st.type = "result";
	CU_ASSERT_FALSE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	st.type = "error";
	CU_ASSERT_FALSE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	st.name = "message";
	CU_ASSERT_FALSE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	st.name = "presence";
	CU_ASSERT_FALSE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	st.name = "handshake";
	st.type = NULL;
	CU_ASSERT_FALSE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	CU_ASSERT_EQUAL(out.len, 0);

	/* A presence without type (available) is bounced. */
	st.name = "presence";
	CU_ASSERT_TRUE(stanza_bounce(&out, &st, "cancel",
	    "service-unavailable", NULL, NULL));
	CU_ASSERT_EQUAL(parse_back(&out, &b), XS_OK);
	CU_ASSERT_STRING_EQUAL(b.name, "presence");
	CU_ASSERT_STRING_EQUAL(b.type, "error");
	vbuf_free(&out);
}

static void
test_stream_error(void)
{
	struct vbuf out = {0};

	stream_error(&out, "not-authorized", "bad <token> & more");
	CU_ASSERT_STRING_EQUAL(out.p, "<stream:error><not-authorized "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>"
	    "bad &lt;token&gt; &amp; more</text></stream:error>"
	    "</stream:stream>");
	vbuf_clear(&out);
	stream_error(&out, "policy-violation", NULL);
	CU_ASSERT_STRING_EQUAL(out.p, "<stream:error><policy-violation "
	    "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
	    "</stream:stream>");
	vbuf_free(&out);
}

static void
test_jid_domain_is(void)
{
	const char *d = "muc.example.test";
	size_t n = strlen(d);

	CU_ASSERT_TRUE(jid_domain_is("muc.example.test", d, n));
	CU_ASSERT_TRUE(jid_domain_is("room@muc.example.test", d, n));
	CU_ASSERT_TRUE(jid_domain_is("room@muc.example.test/bob", d, n));
	CU_ASSERT_TRUE(jid_domain_is("muc.example.test/res", d, n));
	CU_ASSERT_TRUE(jid_domain_is("room@MUC.Example.test/x@y", d, n));
	CU_ASSERT_TRUE(jid_domain_is("muc.example.test/a@b/c", d, n));
	CU_ASSERT_FALSE(jid_domain_is("x@sub.muc.example.test", d, n));
	CU_ASSERT_FALSE(jid_domain_is("sub.muc.example.test", d, n));
	CU_ASSERT_FALSE(jid_domain_is("muc.example.test.evil", d, n));
	CU_ASSERT_FALSE(jid_domain_is("bob@example.test/r", d, n));
	CU_ASSERT_FALSE(jid_domain_is("example.test/muc.example.test", d, n));
	CU_ASSERT_FALSE(jid_domain_is("", d, n));
	CU_ASSERT_FALSE(jid_domain_is(NULL, d, n));
	CU_ASSERT_FALSE(jid_domain_is("@muc.example.test@x", d, n));
}

static void
test_stream_headers(void)
{
	struct vbuf out = {0};

	stream_header_client(&out, "muc.example.test");
	CU_ASSERT_STRING_EQUAL(out.p, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "to='muc.example.test'>");
	vbuf_clear(&out);
	stream_header_server(&out, "muc.example.test", "0123abcd");
	CU_ASSERT_STRING_EQUAL(out.p, "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' "
	    "xmlns:stream='http://etherx.jabber.org/streams' "
	    "from='muc.example.test' id='0123abcd'>");
	vbuf_free(&out);
}

UNIT_SUITE(runtime_stanza)
{
	UNIT_TEST(suite, test_xml_escape);
	UNIT_TEST(suite, test_is_disco_info_get);
	UNIT_TEST(suite, test_disco_reply_escaping);
	UNIT_TEST(suite, test_disco_reply_nodes);
	UNIT_TEST(suite, test_bounce);
	UNIT_TEST(suite, test_stream_error);
	UNIT_TEST(suite, test_jid_domain_is);
	UNIT_TEST(suite, test_stream_headers);
}
