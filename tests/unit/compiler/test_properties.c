/*
 * test_properties.c — the Tigase init.properties front end: the scanner
 * (java.util.Properties.load rules) and the Tigase semantics.
 *
 * Error cases print their diagnostics on stderr like vcompc does; the
 * tests assert on return values and on the error and warning counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "vcompc.h"

static struct prop *props;
static size_t nprops;

/* Reads text as a properties file; true if it had no errors. */
static bool
rd(const char *text)
{
	return properties_read("t.properties", text, strlen(text), &props,
			       &nprops);
}

static bool
rdn(const char *text, size_t len)
{
	return properties_read("t.properties", text, len, &props, &nprops);
}

/* The value of the last occurrence of key, or NULL. */
static const char *
val(const char *key)
{
	for (size_t i = nprops; i-- > 0; )
		if (strcmp(props[i].key, key) == 0)
			return props[i].value;
	return NULL;
}

#define ASSERT_VAL(k, v) do {                                   \
	const char *got_ = val(k);                              \
	CU_ASSERT_PTR_NOT_NULL_FATAL(got_);                     \
	CU_ASSERT_STRING_EQUAL(got_, (v));                      \
} while (0)

/* ------------------------------------------------------------ scanner */

static void
test_separators(void)
{
	CU_ASSERT_TRUE(rd("a=b\nc:d\ne f\ng \t = \t h\ni=:j\nk::l\nm\n=n\n"));
	CU_ASSERT_EQUAL(nprops, 8);
	ASSERT_VAL("a", "b");
	ASSERT_VAL("c", "d");
	ASSERT_VAL("e", "f");
	ASSERT_VAL("g", "h");
	ASSERT_VAL("i", ":j");
	ASSERT_VAL("k", ":l");
	ASSERT_VAL("m", "");
	ASSERT_VAL("", "n");
	/* The key starts after leading white space; trailing white space
	 * of a value is kept. */
	CU_ASSERT_TRUE(rd("   key = value  \n"));
	ASSERT_VAL("key", "value  ");
	CU_ASSERT_EQUAL(props[0].key_pos.col, 4);
	CU_ASSERT_EQUAL(props[0].value_pos.col, 10);
	CU_ASSERT_TRUE(props[0].verbatim);
}

static void
test_escapes(void)
{
	CU_ASSERT_TRUE(rd("a\\=b\\:c\\ d=\\t\\n\\r\\f\\\\\\q\\=\n\\#x=1\n"));
	ASSERT_VAL("a=b:c d", "\t\n\r\f\\q=");
	ASSERT_VAL("#x", "1");
	CU_ASSERT_FALSE(props[0].verbatim);
	/* An escaped multi-byte character is that character. */
	CU_ASSERT_TRUE(rd("k=\\\xc3\xa9t\xc3\xa9\n"));
	ASSERT_VAL("k", "\xc3\xa9t\xc3\xa9");
}

static void
test_unicode_escapes(void)
{
	CU_ASSERT_TRUE(rd("k=\\u0041\\u00e9\\u20AC\nb\\u0020c=\\uD83D\\uDE00\n"));
	ASSERT_VAL("k", "A\xc3\xa9\xe2\x82\xac");
	ASSERT_VAL("b c", "\xf0\x9f\x98\x80");
	/* Malformed: too short, not hex, cut by the key's end.  Java throws;
	 * vcompc reports each one and keeps the good lines. */
	int before = diag_error_count();
	CU_ASSERT_FALSE(rd("a=\\u12\nok=1\nb=\\u12G4\n\\u00=x\n"));
	CU_ASSERT_EQUAL(diag_error_count() - before, 3);
	CU_ASSERT_EQUAL(nprops, 1);
	ASSERT_VAL("ok", "1");
	/* What UTF-8 cannot hold. */
	CU_ASSERT_FALSE(rd("a=\\uD800x\n"));
	CU_ASSERT_FALSE(rd("a=\\uDC00\n"));
	CU_ASSERT_FALSE(rd("a=\\u0000\n"));
}

static void
test_continuations(void)
{
	CU_ASSERT_TRUE(rd("k=one \\\n    two \\\n\tthree\nnext=1\n"));
	ASSERT_VAL("k", "one two three");
	ASSERT_VAL("next", "1");
	CU_ASSERT_EQUAL(props[1].key_pos.line, 4);
	CU_ASSERT_FALSE(props[0].verbatim);
	/* Inside a key, inside the separator, inside \uXXXX. */
	CU_ASSERT_TRUE(rd("ke\\\n  y \\\n  = v\nu=\\u00\\\n   41\n"));
	ASSERT_VAL("key", "v");
	ASSERT_VAL("u", "A");
	CU_ASSERT_EQUAL(props[0].value_pos.line, 3);
	CU_ASSERT_EQUAL(props[0].value_pos.col, 5);
	/* Even backslashes escape each other; odd ones continue. */
	CU_ASSERT_TRUE(rd("a=x\\\\\nb=y\\\\\\\n  z\n"));
	ASSERT_VAL("a", "x\\");
	ASSERT_VAL("b", "y\\z");
	/* A continuation followed by a blank line ends the line. */
	CU_ASSERT_TRUE(rd("a=x\\\n\nb=y\n"));
	ASSERT_VAL("a", "x");
	ASSERT_VAL("b", "y");
	/* The continued line is not a comment... */
	CU_ASSERT_TRUE(rd("a=x\\\n#y\n"));
	ASSERT_VAL("a", "x#y");
	/* ...unless nothing came before the backslash. */
	CU_ASSERT_TRUE(rd("\\\n#c\nk=v\n"));
	CU_ASSERT_EQUAL(nprops, 1);
}

static void
test_comments(void)
{
	CU_ASSERT_TRUE(rd("#c\n!c\n  # c\n\n  \t\nk=v # not a comment\n"));
	CU_ASSERT_EQUAL(nprops, 1);
	ASSERT_VAL("k", "v # not a comment");
	/* A comment ending in a backslash does not continue. */
	CU_ASSERT_TRUE(rd("# comment \\\nk=v\n! \\\\\\\nk2=v2\n"));
	CU_ASSERT_EQUAL(nprops, 2);
	ASSERT_VAL("k", "v");
	ASSERT_VAL("k2", "v2");
	CU_ASSERT_EQUAL(props[0].key_pos.line, 2);
}

static void
test_line_ends(void)
{
	CU_ASSERT_TRUE(rd("a=1\r\nb=2\\\r\n  3\r\n\r\nc=4\rd=5\ne=6"));
	CU_ASSERT_EQUAL(nprops, 5);
	ASSERT_VAL("a", "1");
	ASSERT_VAL("b", "23");
	ASSERT_VAL("c", "4");
	ASSERT_VAL("d", "5");
	ASSERT_VAL("e", "6");
	CU_ASSERT_EQUAL(props[2].key_pos.line, 5);
	CU_ASSERT_EQUAL(props[3].key_pos.line, 6);
	CU_ASSERT_EQUAL(props[4].key_pos.line, 7);
	CU_ASSERT_EQUAL(props[4].value_pos.col, 3);
}

static void
test_end_of_input(void)
{
	CU_ASSERT_TRUE(rd("k=v\\"));
	ASSERT_VAL("k", "v");
	/* Java's quirks: a lone backslash at the very end is an empty pair,
	 * unless \r\n follows it. */
	CU_ASSERT_TRUE(rd("k=v\n\\\n"));
	CU_ASSERT_EQUAL(nprops, 2);
	ASSERT_VAL("", "");
	CU_ASSERT_TRUE(rd("k=v\n\\\r\n"));
	CU_ASSERT_EQUAL(nprops, 1);
	CU_ASSERT_TRUE(rd(""));
	CU_ASSERT_EQUAL(nprops, 0);
}

static void
test_bad_bytes(void)
{
	int before = diag_error_count();

	/* One error per line with invalid UTF-8, good lines kept. */
	CU_ASSERT_FALSE(rd("a=\xff\xfe\nb=ok\n# \xc3\n\xed\xa0\x80=overlong\n"));
	CU_ASSERT_EQUAL(diag_error_count() - before, 3);
	CU_ASSERT_EQUAL(nprops, 1);
	ASSERT_VAL("b", "ok");
	/* A NUL byte is one error for the whole file. */
	before = diag_error_count();
	CU_ASSERT_FALSE(rdn("a=b\n\0\0\0\xff\xff", 9));
	CU_ASSERT_EQUAL(diag_error_count() - before, 1);
	CU_ASSERT_EQUAL(nprops, 0);
}

static void
test_emit_keys(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_TRUE(rd("# c\nk\\\"=a\\\\b\\t\\u0001\xc3\xa9\n\nk2\n"));
	properties_emit_keys(f, props, nprops);
	fclose(f);
	CU_ASSERT_STRING_EQUAL(out,
	    "{\"line\":2,\"key\":\"k\\\"\",\"value\":\"a\\\\b\\u0009\\u0001\xc3\xa9\"}\n"
	    "{\"line\":4,\"key\":\"k2\",\"value\":\"\"}\n");
	free(out);
}

/* ------------------------------------------------------------ semantics */

static struct ir_spec spec;

/* Reads text and builds the IR; true if both steps succeeded. */
static bool
ir(const char *text)
{
	memset(&spec, 0, sizeof spec);
	spec.path = "t.properties";
	if (!rd(text))
		return false;
	return properties_to_ir(props, nprops, &spec);
}

#define NODES "--cluster-nodes=node1,node2\n"
#define MUC "--comp-name-1=muc\n--comp-class-1=tigase.cluster.VirtualComponent\n"

static void
test_tigase_example(void)
{
	CU_ASSERT_TRUE_FATAL(ir(
	    "--cluster-mode=true\n"
	    "--cluster-nodes=cluster-node-with-real-muc.domain.our,node2.domain.our\n"
	    "--virt-hosts=domain.our\n"
	    "--user-db=derby\n"
	    "--admins=admin@domain.our\n"
	    "--comp-name-1=muc\n"
	    "--comp-class-1=tigase.cluster.VirtualComponent\n"
	    "muc/redirect-to=muc@cluster-node-with-real-muc.domain.our\n"
	    "muc/disco-name=Multi User Chat\n"
	    "muc/disco-node=\n"
	    "muc/disco-type=text\n"
	    "muc/disco-category=conference\n"
	    "muc/disco-features=http://jabber.org/protocol/muc\n"
	    "sess-man/plugins-conf/x=1\n"));
	CU_ASSERT_EQUAL(spec.format, FMT_PROPERTIES);
	CU_ASSERT_EQUAL_FATAL(spec.nnodes, 2);
	CU_ASSERT_STRING_EQUAL(spec.nodes[0].name.s,
			       "cluster-node-with-real-muc.domain.our");
	CU_ASSERT_EQUAL(spec.nodes[0].name.pos.line, 2);
	CU_ASSERT_EQUAL(spec.nodes[0].name.pos.col, 17);
	CU_ASSERT_STRING_EQUAL(spec.nodes[1].name.s, "node2.domain.our");
	CU_ASSERT_EQUAL(spec.nodes[1].name.pos.col, 55);
	CU_ASSERT_EQUAL(spec.nodes[1].peer.port, VC_DEFAULT_PEER_PORT);
	CU_ASSERT_EQUAL(spec.nodes[1].server.port, VC_DEFAULT_SERVER_PORT);
	CU_ASSERT_EQUAL_FATAL(spec.ncomponents, 1);
	struct ir_component *c = &spec.components[0];
	CU_ASSERT_STRING_EQUAL(c->name.s, "muc");
	CU_ASSERT_STRING_EQUAL(c->domain.s, "muc.domain.our");
	CU_ASSERT_EQUAL(c->domain.pos.line, 3);
	CU_ASSERT_EQUAL(c->domain.pos.col, 14);
	CU_ASSERT_EQUAL_FATAL(c->nhomes, 1);
	CU_ASSERT_STRING_EQUAL(c->homes[0].s,
			       "cluster-node-with-real-muc.domain.our");
	CU_ASSERT_EQUAL(c->homes[0].pos.col, 21);
	CU_ASSERT_EQUAL_FATAL(c->nids, 1);
	CU_ASSERT_STRING_EQUAL(c->ids[0].category.s, "conference");
	CU_ASSERT_STRING_EQUAL(c->ids[0].type.s, "text");
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, "Multi User Chat");
	CU_ASSERT_EQUAL_FATAL(c->nfeatures, 1);
	CU_ASSERT_STRING_EQUAL(c->features[0].s, "http://jabber.org/protocol/muc");
	CU_ASSERT_PTR_NULL(c->disco_node.s);
	CU_ASSERT_EQUAL(c->disco, DISCO_LOCAL);
	CU_ASSERT_EQUAL(c->secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(c->secret.ref.s, "VCOMP_SECRET_MUC");
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(spec.cluster_secret.ref.s, "VCOMP_CLUSTER_SECRET");
	CU_ASSERT_EQUAL(spec.limits.queue_bytes, (8u * 1024 * 1024));
}

static void
test_tigase_defaults(void)
{
	CU_ASSERT_TRUE_FATAL(ir(NODES "--virt-hosts=a.test, b.test\n"
	    "--comp-name-3=my-gw\n"
	    "--comp-class-3=tigase.cluster.VirtualComponent\n"));
	CU_ASSERT_EQUAL_FATAL(spec.ncomponents, 2);
	struct ir_component *c = &spec.components[0];
	CU_ASSERT_STRING_EQUAL(c->domain.s, "my-gw.a.test");
	CU_ASSERT_STRING_EQUAL(spec.components[1].domain.s, "my-gw.b.test");
	CU_ASSERT_EQUAL(spec.components[1].domain.pos.col, 22);
	/* redirect-to defaults to the first node. */
	CU_ASSERT_EQUAL_FATAL(c->nhomes, 1);
	CU_ASSERT_STRING_EQUAL(c->homes[0].s, "node1");
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, VC_TIGASE_DISCO_NAME);
	CU_ASSERT_STRING_EQUAL(c->ids[0].category.s, VC_TIGASE_DISCO_CATEGORY);
	CU_ASSERT_STRING_EQUAL(c->ids[0].type.s, VC_TIGASE_DISCO_TYPE);
	CU_ASSERT_EQUAL_FATAL(c->nfeatures, 1);
	CU_ASSERT_STRING_EQUAL(c->features[0].s, VC_TIGASE_DISCO_FEATURES);
	CU_ASSERT_STRING_EQUAL(c->secret.ref.s, "VCOMP_SECRET_MY_GW");
	/* fixed-domain replaces the virtual hosts. */
	CU_ASSERT_TRUE_FATAL(ir(NODES "--virt-hosts=a.test,b.test\n" MUC
	    "muc/fixed-domain = chat.example.test\n"));
	CU_ASSERT_EQUAL_FATAL(spec.ncomponents, 1);
	CU_ASSERT_STRING_EQUAL(spec.components[0].domain.s, "chat.example.test");
	/* No domain at all is an error. */
	CU_ASSERT_FALSE(ir(NODES MUC));
}

static void
test_type_markers(void)
{
	/* [S]: a comma-separated array, trimmed; [s]: a string. */
	CU_ASSERT_TRUE_FATAL(ir(NODES "--virt-hosts=d.test\n" MUC
	    "muc/disco-features[S]= urn:a ,urn:b,, urn:c\n"
	    "muc/disco-name[s]=Rooms\n"
	    "muc/redirect-to[S]=muc@node2, muc@node1\n"));
	struct ir_component *c = &spec.components[0];
	CU_ASSERT_EQUAL_FATAL(c->nfeatures, 3);
	CU_ASSERT_STRING_EQUAL(c->features[0].s, "urn:a");
	CU_ASSERT_EQUAL(c->features[0].pos.col, 24);
	CU_ASSERT_STRING_EQUAL(c->features[1].s, "urn:b");
	CU_ASSERT_STRING_EQUAL(c->features[2].s, "urn:c");
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, "Rooms");
	CU_ASSERT_EQUAL_FATAL(c->nhomes, 2);
	CU_ASSERT_STRING_EQUAL(c->homes[0].s, "node2");
	CU_ASSERT_STRING_EQUAL(c->homes[1].s, "node1");
	/* A marker that does not fit the key. */
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "muc/disco-name[I]=3\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "muc/disco-type[S]=a,b\n"));
	/* Markers of keys vcompc ignores are not its business. */
	CU_ASSERT_TRUE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "c2s/ports[i]=x\nsess-man/y[B]=maybe\n"));
}

static void
test_booleans(void)
{
	int w = diag_warning_count();

	CU_ASSERT_TRUE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "--cluster-mode=yes\n"));
	CU_ASSERT_TRUE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "--cluster-mode=ON\n"));
	CU_ASSERT_TRUE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "--cluster-mode=1\n"));
	CU_ASSERT_EQUAL(diag_warning_count(), w);
	CU_ASSERT_TRUE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "--cluster-mode=off\n"));
	CU_ASSERT_EQUAL(diag_warning_count(), w + 1);
}

static void
test_duplicates(void)
{
	int w = diag_warning_count();

	CU_ASSERT_TRUE_FATAL(ir(NODES "--virt-hosts=d.test\n" MUC
	    "muc/disco-name=First\n"
	    "muc/disco-name=Second\n"
	    "muc/disco-type[s]=third\n"
	    "muc/disco-type=fourth\n"));
	/* Two warnings (each with a note). */
	CU_ASSERT_EQUAL(diag_warning_count(), w + 2);
	CU_ASSERT_STRING_EQUAL(spec.components[0].ids[0].name.s, "Second");
	CU_ASSERT_STRING_EQUAL(spec.components[0].ids[0].type.s, "fourth");
}

static void
test_cluster_nodes(void)
{
	int w = diag_warning_count();

	CU_ASSERT_TRUE_FATAL(ir("--cluster-nodes=n1:s3cret:6000, n2:s3cret,n3\n"
	    "--virt-hosts=d.test\n" MUC));
	CU_ASSERT_EQUAL(diag_warning_count(), w + 1);	/* inline secret */
	CU_ASSERT_EQUAL_FATAL(spec.nnodes, 3);
	CU_ASSERT_STRING_EQUAL(spec.nodes[0].name.s, "n1");
	CU_ASSERT_EQUAL(spec.nodes[0].peer.port, 6000);
	CU_ASSERT_STRING_EQUAL(spec.nodes[0].peer.host.s, "n1");
	CU_ASSERT_EQUAL(spec.nodes[1].peer.port, VC_DEFAULT_PEER_PORT);
	CU_ASSERT_STRING_EQUAL(spec.nodes[2].name.s, "n3");
	CU_ASSERT_EQUAL(spec.nodes[2].name.pos.col, 43);
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_INLINE);
	CU_ASSERT_STRING_EQUAL(spec.cluster_secret.ref.s, "s3cret");
	CU_ASSERT_EQUAL(spec.cluster_secret.ref.pos.col, 20);
	/* vcomp/cluster-secret-file wins over the password. */
	CU_ASSERT_TRUE_FATAL(ir("--cluster-nodes=n1:pw\n--virt-hosts=d.test\n" MUC
	    "vcomp/cluster-secret-file=/etc/vcomp/key\n"));
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_FILE);
	CU_ASSERT_STRING_EQUAL(spec.cluster_secret.ref.s, "/etc/vcomp/key");
	/* One cluster, one secret. */
	CU_ASSERT_FALSE(ir("--cluster-nodes=n1:a,n2:b\n--virt-hosts=d.test\n" MUC));
	CU_ASSERT_FALSE(ir("--cluster-nodes=n1:a:70000\n--virt-hosts=d.test\n" MUC));
	CU_ASSERT_FALSE(ir("--cluster-nodes=n1:a:1:2\n--virt-hosts=d.test\n" MUC));
}

static void
test_vcomp_keys(void)
{
	CU_ASSERT_TRUE_FATAL(ir(NODES "--virt-hosts=d.test\n" MUC
	    "vcomp/node/node2/server=[::1]:5349\n"
	    "vcomp/node/node2/peer=10.0.0.2:7000\n"
	    "vcomp/node/node1/listen=127.0.0.1:6000\n"
	    "vcomp/node/node1/stats=127.0.0.1:5400\n"
	    "vcomp/component/muc/secret-env=MUC_KEY\n"
	    "vcomp/component/muc/disco=forward\n"
	    "vcomp/cluster-secret-env=CLUSTER_KEY\n"
	    "vcomp/queue-bytes=1MiB\n"
	    "vcomp/queue-age=5s\n"
	    "vcomp/routes=10\n"));
	CU_ASSERT_STRING_EQUAL(spec.nodes[1].server.host.s, "::1");
	CU_ASSERT_EQUAL(spec.nodes[1].server.port, 5349);
	CU_ASSERT_STRING_EQUAL(spec.nodes[1].peer.host.s, "10.0.0.2");
	CU_ASSERT_EQUAL(spec.nodes[1].peer.port, 7000);
	CU_ASSERT_EQUAL(spec.nodes[0].listen.port, 6000);
	CU_ASSERT_EQUAL(spec.nodes[0].stats.port, 5400);
	CU_ASSERT_PTR_NULL(spec.nodes[1].stats.host.s);
	CU_ASSERT_EQUAL(spec.components[0].secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(spec.components[0].secret.ref.s, "MUC_KEY");
	CU_ASSERT_EQUAL(spec.components[0].disco, DISCO_FORWARD);
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(spec.cluster_secret.ref.s, "CLUSTER_KEY");
	CU_ASSERT_EQUAL(spec.limits.queue_bytes, 1024 * 1024);
	CU_ASSERT_EQUAL(spec.limits.queue_age_ms, 5000);
	CU_ASSERT_EQUAL(spec.limits.routes, 10);
	CU_ASSERT_EQUAL(spec.limits_pos[LIM_queue_bytes].line, 12);
	CU_ASSERT_EQUAL(spec.limits.keepalive_ms, 60000u);

	/* vcomp/ is vcomp's namespace: a typo is an error. */
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC "vcomp/queue-byte=1\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC "vcomp/node/node3/server=1.2.3.4:5\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC "vcomp/node/node1/srever=1.2.3.4:5\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC "vcomp/component/mcu/disco=local\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC "vcomp/component/muc/disco=locl\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC "vcomp/queue-age=soon\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "vcomp/component/muc/secret-env=A\nvcomp/component/muc/secret-file=/b\n"));
}

static void
test_components(void)
{
	bool was = diag_wunused;
	int w = diag_warning_count();

	/* Other classes are ignored; -Wunused lists their keys. */
	diag_wunused = true;
	CU_ASSERT_TRUE_FATAL(ir(NODES "--virt-hosts=d.test\n"
	    "--comp-name-1=sess-man\n"
	    "--comp-class-1=tigase.server.xmppsession.SessionManager\n"
	    "--comp-name-2=muc\n"
	    "--comp-class-2=tigase.cluster.VirtualComponent\n"
	    "sess-man/plugins=a,b\n"));
	diag_wunused = was;
	CU_ASSERT_EQUAL(diag_warning_count(), w + 3);
	CU_ASSERT_EQUAL_FATAL(spec.ncomponents, 1);
	CU_ASSERT_STRING_EQUAL(spec.components[0].name.s, "muc");
	CU_ASSERT_EQUAL(spec.components[0].pos.line, 5);
	/* Without -Wunused, silence. */
	w = diag_warning_count();
	CU_ASSERT_TRUE(ir(NODES "--virt-hosts=d.test\n" MUC "--user-db=derby\n"));
	CU_ASSERT_EQUAL(diag_warning_count(), w);
	/* redirect-to names the same component on the home node. */
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "muc/redirect-to=chat@node1\n"));
	/* A class without a name; a name used twice. */
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n"
	    "--comp-class-1=tigase.cluster.VirtualComponent\n"));
	CU_ASSERT_FALSE(ir(NODES "--virt-hosts=d.test\n" MUC
	    "--comp-name-2=muc\n--comp-class-2=tigase.cluster.VirtualComponent\n"));
}

UNIT_SUITE(properties)
{
	UNIT_TEST(suite, test_separators);
	UNIT_TEST(suite, test_escapes);
	UNIT_TEST(suite, test_unicode_escapes);
	UNIT_TEST(suite, test_continuations);
	UNIT_TEST(suite, test_comments);
	UNIT_TEST(suite, test_line_ends);
	UNIT_TEST(suite, test_end_of_input);
	UNIT_TEST(suite, test_bad_bytes);
	UNIT_TEST(suite, test_emit_keys);
	UNIT_TEST(suite, test_tigase_example);
	UNIT_TEST(suite, test_tigase_defaults);
	UNIT_TEST(suite, test_type_markers);
	UNIT_TEST(suite, test_booleans);
	UNIT_TEST(suite, test_duplicates);
	UNIT_TEST(suite, test_cluster_nodes);
	UNIT_TEST(suite, test_vcomp_keys);
	UNIT_TEST(suite, test_components);
}
