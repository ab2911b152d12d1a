/*
 * test_disco.c — the pre-rendered disco#info <query/> and the feature list
 * (compiler/disco.c).  Expected strings are written out in full: the
 * output must be byte-stable, so the bytes are what is tested.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "../unit.h"
#include "vcompc.h"

#define NS "http://jabber.org/protocol/disco#info"

static struct ir_str
str(const char *s)
{
	struct ir_str v = { (char *)s, { NULL, 0, 0 }, false };
	return v;
}

static struct ir_identity
identity(const char *cat, const char *type, const char *lang, const char *name)
{
	struct ir_identity id = { 0 };

	id.category = str(cat);
	id.type = str(type);
	id.lang = str(lang);
	id.name = str(name);
	return id;
}

/* The rendered query must parse back as XML (well-formed, one element). */
static void
assert_parses(const char *xml)
{
	xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "q.xml", "UTF-8",
				    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);

	CU_ASSERT_PTR_NOT_NULL(d);
	if (d != NULL)
		xmlFreeDoc(d);
}

static void
test_minimal(void)
{
	struct ir_identity ids[] = {
		identity("conference", "text", NULL, "Multi User Chat"),
	};
	struct ir_str feat[] = { str("http://jabber.org/protocol/muc") };
	struct ir_component c = { .ids = ids, .nids = 1, .features = feat,
				  .nfeatures = 1 };
	char *q = disco_render_query(&c, false);

	CU_ASSERT_STRING_EQUAL(q,
	    "<query xmlns=\"" NS "\">"
	    "<identity category=\"conference\" type=\"text\" name=\"Multi User Chat\"/>"
	    "<feature var=\"" NS "\"/>"
	    "<feature var=\"http://jabber.org/protocol/muc\"/>"
	    "</query>");
	CU_ASSERT_PTR_NULL(strchr(q, '\n'));
	CU_ASSERT_PTR_NULL(strstr(q, "<?xml"));
	assert_parses(q);
	free(q);
}

static void
test_escaping(void)
{
	struct ir_identity ids[] = {
		identity("gateway", "irc", NULL, "<Tom & \"Jerry\"> 'n'"),
	};
	struct ir_str feat[] = { str("urn:x:a&b<c") };
	struct ir_component c = { .ids = ids, .nids = 1, .features = feat,
				  .nfeatures = 1, .disco_node = str("n\"<&>'") };
	char *q = disco_render_query(&c, true);

	CU_ASSERT_PTR_NOT_NULL(strstr(q,
	    " name=\"&lt;Tom &amp; &quot;Jerry&quot;&gt; 'n'\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(q, "<feature var=\"urn:x:a&amp;b&lt;c\"/>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(q, " node=\"n&quot;&lt;&amp;&gt;'\""));
	assert_parses(q);
	free(q);
}

static void
test_node_attribute(void)
{
	struct ir_identity ids[] = { identity("pubsub", "service", NULL, NULL) };
	struct ir_component c = { .ids = ids, .nids = 1,
				  .disco_node = str("http://example.test/caps") };
	char *with = disco_render_query(&c, true);
	char *without = disco_render_query(&c, false);

	CU_ASSERT_STRING_EQUAL(with,
	    "<query xmlns=\"" NS "\" node=\"http://example.test/caps\">"
	    "<identity category=\"pubsub\" type=\"service\"/>"
	    "<feature var=\"" NS "\"/></query>");
	CU_ASSERT_PTR_NULL(strstr(without, "node="));
	free(with);
	free(without);

	/* An empty node is "no node": XEP-0030 forbids node=''. */
	c.disco_node = str("");
	with = disco_render_query(&c, true);
	CU_ASSERT_PTR_NULL(strstr(with, "node="));
	free(with);
	c.disco_node = str(NULL);
	with = disco_render_query(&c, true);
	CU_ASSERT_PTR_NULL(strstr(with, "node="));
	free(with);
}

/* Identities in XEP-0115 order (category, type, lang), xml:lang as the
 * real attribute, non-ASCII kept as UTF-8. */
static void
test_identity_sorting_and_lang(void)
{
	struct ir_identity ids[] = {
		identity("directory", "chatroom", NULL, "Rooms"),
		identity("client", "pc", "en", "Psi 0.11"),
		identity("client", "pc", "el", "\xce\xa8 0.11"),
	};
	struct ir_component c = { .ids = ids, .nids = 3 };
	char *q = disco_render_query(&c, false);

	CU_ASSERT_STRING_EQUAL(q,
	    "<query xmlns=\"" NS "\">"
	    "<identity category=\"client\" type=\"pc\" name=\"\xce\xa8 0.11\" xml:lang=\"el\"/>"
	    "<identity category=\"client\" type=\"pc\" name=\"Psi 0.11\" xml:lang=\"en\"/>"
	    "<identity category=\"directory\" type=\"chatroom\" name=\"Rooms\"/>"
	    "<feature var=\"" NS "\"/></query>");
	CU_ASSERT_PTR_NULL(strstr(q, "xmlns:xml"));
	assert_parses(q);
	/* The input was not reordered. */
	CU_ASSERT_STRING_EQUAL(ids[0].category.s, "directory");
	free(q);
}

static void
test_features_sorted_deduplicated(void)
{
	struct ir_str feat[] = {
		str("urn:xmpp:ping"), str(NS), str("jabber:iq:version"),
		str("http://jabber.org/protocol/muc"), str("urn:xmpp:ping"),
		str("http://jabber.org/protocol/disco#items"),
	};
	struct ir_component c = { .features = feat, .nfeatures = 6 };
	size_t n;
	const char **f = disco_features(&c, &n);

	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(f[0], "http://jabber.org/protocol/disco#info");
	CU_ASSERT_STRING_EQUAL(f[1], "http://jabber.org/protocol/disco#items");
	CU_ASSERT_STRING_EQUAL(f[2], "http://jabber.org/protocol/muc");
	CU_ASSERT_STRING_EQUAL(f[3], "jabber:iq:version");
	CU_ASSERT_STRING_EQUAL(f[4], "urn:xmpp:ping");
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_disco_info_once(void)
{
	struct ir_identity ids[] = { identity("a", "b", NULL, NULL) };
	struct ir_str given[] = { str(NS), str("urn:x") };
	struct ir_component c = { .ids = ids, .nids = 1, .features = given,
				  .nfeatures = 2 };
	char *q = disco_render_query(&c, false);

	/* Given by the spec: once.  Not given: added, once. */
	CU_ASSERT_EQUAL(count(q, "disco#info\"/>"), 1);
	free(q);
	c.features = given + 1;
	c.nfeatures = 1;
	q = disco_render_query(&c, false);
	CU_ASSERT_EQUAL(count(q, "disco#info\"/>"), 1);
	CU_ASSERT_EQUAL(count(q, "<feature "), 2);
	free(q);
}

static void
test_byte_stable(void)
{
	struct ir_identity a[] = {
		identity("x", "y", "en", "one"), identity("x", "y", "de", "eins"),
	};
	struct ir_identity b[] = {
		identity("x", "y", "de", "eins"), identity("x", "y", "en", "one"),
	};
	struct ir_str fa[] = { str("f2"), str("f1") };
	struct ir_str fb[] = { str("f1"), str("f2") };
	struct ir_component ca = { .ids = a, .nids = 2, .features = fa,
				   .nfeatures = 2 };
	struct ir_component cb = { .ids = b, .nids = 2, .features = fb,
				   .nfeatures = 2 };
	char *qa = disco_render_query(&ca, false);
	char *qb = disco_render_query(&cb, false);

	CU_ASSERT_STRING_EQUAL(qa, qb);
	free(qa);
	free(qb);
}

UNIT_SUITE(disco)
{
	UNIT_TEST(suite, test_minimal);
	UNIT_TEST(suite, test_escaping);
	UNIT_TEST(suite, test_node_attribute);
	UNIT_TEST(suite, test_identity_sorting_and_lang);
	UNIT_TEST(suite, test_features_sorted_deduplicated);
	UNIT_TEST(suite, test_disco_info_once);
	UNIT_TEST(suite, test_byte_stable);
}
