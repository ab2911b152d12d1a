/*
 * test_tdsl.c — the Tigase 8 config.tdsl front end: the scanner's modes
 * (keys and values, strings, numbers, comments), positions, error
 * counts, the evaluation of values in Tigase's order, and the semantics.
 *
 * The scanner and grammar are seen through tdsl_read and the --emit=keys
 * rendering (tdsl_emit_keys), which shows every key and value as read.
 * Error cases print their diagnostics on stderr like vcompc does; the
 * tests assert on return values and on the error and warning counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "vcompc.h"

static struct td_state *doc;

static bool
rd(const char *text)
{
	return tdsl_read("t.tdsl", text, strlen(text), &doc);
}

/* The --emit=keys output of text (heap; the caller frees it), or NULL
 * if the file had errors. */
static char *
keys(const char *text)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	if (!rd(text))
		return NULL;
	f = open_memstream(&out, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	tdsl_emit_keys(f, doc);
	fclose(f);
	return out;
}

#define ASSERT_KEYS(text, want) do {                            \
	char *got_ = keys(text);                                \
	CU_ASSERT_PTR_NOT_NULL_FATAL(got_);                     \
	CU_ASSERT_STRING_EQUAL(got_, (want));                   \
	if (strcmp(got_, (want)) != 0)                          \
		fprintf(stderr, "got:\n%s", got_);              \
	free(got_);                                             \
} while (0)

/* Errors reported by reading text. */
static int
errors_of(const char *text)
{
	int before = diag_error_count();

	(void)rd(text);
	return diag_error_count() - before;
}

/* ------------------------------------------------------------ scanner */

static void
test_key_and_value_words(void)
{
	/* '-' belongs to a key; ':' to a value; a bare value keeps its
	 * inner blanks and loses the others. */
	ASSERT_KEYS("--cluster-mode = true\nsess-man {\n  peer = 10.0.0.1:5277\n"
	    "  name =   Multi User Chat   # c\n}\n",
	    "{\"line\":1,\"col\":1,\"key\":\"--cluster-mode\",\"value\":true}\n"
	    "{\"line\":3,\"col\":3,\"key\":\"sess-man/peer\",\"value\":\"10.0.0.1:5277\"}\n"
	    "{\"line\":4,\"col\":3,\"key\":\"sess-man/name\",\"value\":\"Multi User Chat\"}\n");
	/* In a value, '-' is an operator. */
	ASSERT_KEYS("a = b-c\n",
	    "{\"line\":1,\"col\":1,\"key\":\"a\",\"value\":{\"expr\":[\"b\",\"-\",\"c\"]}}\n");
	/* ',' separates entries, as a line break does. */
	ASSERT_KEYS("m { a = 1, b = 2 }\n",
	    "{\"line\":1,\"col\":5,\"key\":\"m/a\",\"value\":1}\n"
	    "{\"line\":1,\"col\":12,\"key\":\"m/b\",\"value\":2}\n");
}

static void
test_strings(void)
{
	/* Both quotes; the other quote inside; \' and \\ escapes; another
	 * backslash kept as it is; a string over two lines. */
	ASSERT_KEYS("a = \"it's\"\nb = 'x\\'y\\\\z'\nc = 'C:\\path'\nd = 'one\ntwo'\n",
	    "{\"line\":1,\"col\":1,\"key\":\"a\",\"value\":\"it's\"}\n"
	    "{\"line\":2,\"col\":1,\"key\":\"b\",\"value\":\"x'y\\\\z\"}\n"
	    "{\"line\":3,\"col\":1,\"key\":\"c\",\"value\":\"C:\\\\path\"}\n"
	    "{\"line\":4,\"col\":1,\"key\":\"d\",\"value\":\"one\\u000atwo\"}\n");
	/* Characters that are syntax outside quotes are text inside. */
	ASSERT_KEYS("'a=b:c,[]{}()#' = '#not a comment'\n",
	    "{\"line\":1,\"col\":1,\"key\":\"a=b:c,[]{}()#\",\"value\":\"#not a comment\"}\n");
	CU_ASSERT_EQUAL(errors_of("a = 'open\n"), 1);
}

static void
test_numbers(void)
{
	ASSERT_KEYS("a = 5\nb = 5L\nc = 1.5f\nd = 2.25\ne = null\nf = 5x\n",
	    "{\"line\":1,\"col\":1,\"key\":\"a\",\"value\":5}\n"
	    "{\"line\":2,\"col\":1,\"key\":\"b\",\"value\":5}\n"
	    "{\"line\":3,\"col\":1,\"key\":\"c\",\"value\":1.5}\n"
	    "{\"line\":4,\"col\":1,\"key\":\"d\",\"value\":2.25}\n"
	    "{\"line\":5,\"col\":1,\"key\":\"e\",\"value\":null}\n"
	    "{\"line\":6,\"col\":1,\"key\":\"f\",\"value\":\"5x\"}\n");
}

static void
test_comments(void)
{
	int w = diag_warning_count();

	ASSERT_KEYS("# one\na = 1 # two\n// three\nb = 2 /* four\nfive */\n",
	    "{\"line\":2,\"col\":1,\"key\":\"a\",\"value\":1}\n"
	    "{\"line\":4,\"col\":1,\"key\":\"b\",\"value\":2}\n");
	/* // and block comments are not Tigase's: one warning a file. */
	CU_ASSERT_EQUAL(diag_warning_count() - w, 1);
	CU_ASSERT_EQUAL(errors_of("a = 1 /* open\n"), 1);
}

static void
test_beans(void)
{
	ASSERT_KEYS("muc (class: a.B, active: false, exportable: true) {\n"
	    "  x = [ 'p', 'q' ]\n  inner () {}\n}\n",
	    "{\"line\":1,\"col\":6,\"key\":\"muc/class\",\"value\":\"a.B\"}\n"
	    "{\"line\":1,\"col\":18,\"key\":\"muc/active\",\"value\":false}\n"
	    "{\"line\":1,\"col\":33,\"key\":\"muc/exportable\",\"value\":true}\n"
	    "{\"line\":2,\"col\":3,\"key\":\"muc/x\",\"value\":[\"p\",\"q\"]}\n"
	    "{\"line\":3,\"col\":3,\"key\":\"muc/inner\",\"value\":{}}\n");
	/* A multi-line list; env() and prop() with a default. */
	ASSERT_KEYS("l = [\n  'a'\n  'b'\n]\ne = env('X') + prop('y', 'd')\n",
	    "{\"line\":1,\"col\":1,\"key\":\"l\",\"value\":[\"a\",\"b\"]}\n"
	    "{\"line\":5,\"col\":1,\"key\":\"e\",\"value\":{\"expr\":[{\"env\":[\"X\"]},\"+\",{\"prop\":[\"y\",\"d\"]}]}}\n");
}

static void
test_bracket_errors(void)
{
	/* Each mistake is one error, and every one in a file is found. */
	CU_ASSERT_EQUAL(errors_of("a {\n"), 1);
	CU_ASSERT_EQUAL(errors_of("}\n"), 1);
	CU_ASSERT_EQUAL(errors_of("a = [ 1 }\n"), 1);
	CU_ASSERT_EQUAL(errors_of("a = env('X'\nb = 1\n"), 1);
	CU_ASSERT_EQUAL(errors_of("}\na = [ 1 }\nc {\n"), 3);
	CU_ASSERT_EQUAL(errors_of("a 'b'\nc = 1\nd 'e'\n"), 2);
	CU_ASSERT_EQUAL(errors_of("a = \xff\n"), 1);
	/* Deeper than the scanner follows: one error, no crash. */
	char *deep = malloc(2 * 300 + 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(deep);
	strcpy(deep, "a = ");
	for (int i = 0; i < 300; i++)
		strcat(deep, "[");
	CU_ASSERT_TRUE(errors_of(deep) >= 1);
	free(deep);
}

/* ------------------------------------------------------------ semantics */

static struct ir_spec spec;

static bool
ir(const char *text)
{
	memset(&spec, 0, sizeof spec);
	spec.path = "t.tdsl";
	if (!rd(text))
		return false;
	return tdsl_to_ir(doc, &spec);
}

#define HEAD "'virtual-hosts' = [ 'a.test', 'b.test' ]\n" \
	"muc (class: tigase.cluster.VirtualComponent) {}\n"
#define NODES "vcomp { node { n1 {}\n n2 {} } }\n"

static void
test_evaluation(void)
{
	/* Tigase's order: every '*' first, then '/', '+', '-'; so
	 * 8 / 2 * 2 is 8 / 4. */
	CU_ASSERT_TRUE_FATAL(ir(HEAD "vcomp { node { n1 {} }\n"
	    "'queue-bytes' = 8 * 1024 * 1024\n routes = 8 / 2 * 2\n"
	    "'max-stanza' = 10000 + 2 * 5000 - 1 }\n"));
	CU_ASSERT_EQUAL(spec.limits.queue_bytes, 8u * 1024 * 1024);
	CU_ASSERT_EQUAL(spec.limits.routes, 2u);
	CU_ASSERT_EQUAL(spec.limits.max_stanza, 19999u);
	/* Strings join with '+'; the rest is an error, as in Tigase. */
	CU_ASSERT_TRUE_FATAL(ir("'virtual-hosts' = [ 'a.test' ]\n"
	    "muc (class: tigase.cluster.VirtualComponent) {\n"
	    "  'disco-name' = 'Chat' + ' ' + 'rooms'\n}\n" NODES));
	CU_ASSERT_STRING_EQUAL(spec.components[0].ids[0].name.s, "Chat rooms");
	CU_ASSERT_FALSE(ir(HEAD NODES "x = 'a' * 2\n"));
	CU_ASSERT_FALSE(ir(HEAD NODES "x = 2147483648\n"));
	CU_ASSERT_TRUE(ir(HEAD NODES "x = 2147483648L\n"));
	/* An int overflow wraps, as in Java, with a warning. */
	int w = diag_warning_count();
	CU_ASSERT_TRUE(ir(HEAD NODES "x = 65536 * 65536\n"));
	CU_ASSERT_EQUAL(diag_warning_count() - w, 1);
}

static void
test_tigase_defaults(void)
{
	CU_ASSERT_TRUE_FATAL(ir(HEAD NODES));
	CU_ASSERT_EQUAL(spec.format, FMT_TDSL);
	CU_ASSERT_EQUAL(spec.nnodes, 2);
	CU_ASSERT_STRING_EQUAL(spec.nodes[0].name.s, "n1");
	CU_ASSERT_STRING_EQUAL(spec.nodes[1].name.s, "n2");
	CU_ASSERT_EQUAL(spec.nodes[1].peer.port, VC_DEFAULT_PEER_PORT);
	CU_ASSERT_EQUAL(spec.ncomponents, 2);
	const struct ir_component *c = &spec.components[0];
	CU_ASSERT_STRING_EQUAL(c->domain.s, "muc.a.test");
	CU_ASSERT_STRING_EQUAL(spec.components[1].domain.s, "muc.b.test");
	CU_ASSERT_EQUAL(c->nhomes, 1);
	CU_ASSERT_STRING_EQUAL(c->homes[0].s, "n1");
	CU_ASSERT_STRING_EQUAL(c->ids[0].category.s, VC_TIGASE_DISCO_CATEGORY);
	CU_ASSERT_STRING_EQUAL(c->ids[0].type.s, VC_TIGASE_DISCO_TYPE);
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, VC_TIGASE_DISCO_NAME);
	CU_ASSERT_STRING_EQUAL(c->features[0].s, VC_TIGASE_DISCO_FEATURES);
	CU_ASSERT_EQUAL(c->secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(c->secret.ref.s, "VCOMP_SECRET_MUC");
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(spec.cluster_secret.ref.s, "VCOMP_CLUSTER_SECRET");
	CU_ASSERT_EQUAL(c->disco, DISCO_LOCAL);
}

static void
test_vcomp_block(void)
{
	CU_ASSERT_TRUE_FATAL(ir("'virtual-hosts' = [ 'a.test' ]\n"
	    "muc (class: tigase.cluster.VirtualComponent) {\n"
	    "  'redirect-to' = [ 'muc@n2', 'muc@n1' ]\n"
	    "  'disco-features' = 'f1, f2'\n}\n"
	    "vcomp {\n  node {\n    n1 { server = '127.0.0.2:5347' }\n"
	    "    n2 { peer = '[::1]:6000' }\n  }\n"
	    "  'cluster-secret-file' = '/k'\n"
	    "  component { muc { disco = 'forward', 'secret-env' = 'M' } }\n}\n"));
	const struct ir_component *c = &spec.components[0];
	CU_ASSERT_EQUAL(c->nhomes, 2);
	CU_ASSERT_STRING_EQUAL(c->homes[0].s, "n2");
	CU_ASSERT_STRING_EQUAL(c->homes[1].s, "n1");
	CU_ASSERT_EQUAL(c->nfeatures, 2);
	CU_ASSERT_STRING_EQUAL(c->features[1].s, "f2");
	CU_ASSERT_EQUAL(c->disco, DISCO_FORWARD);
	CU_ASSERT_STRING_EQUAL(c->secret.ref.s, "M");
	CU_ASSERT_STRING_EQUAL(spec.nodes[0].server.host.s, "127.0.0.2");
	CU_ASSERT_STRING_EQUAL(spec.nodes[1].peer.host.s, "::1");
	CU_ASSERT_EQUAL(spec.nodes[1].peer.port, 6000);
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_FILE);
	/* Tigase's 'cluster-nodes' gives the nodes, port and password. */
	CU_ASSERT_TRUE_FATAL(ir(HEAD "'cluster-nodes' = [ 'x1:pw:6001', 'x2' ]\n"));
	CU_ASSERT_EQUAL(spec.nnodes, 2);
	CU_ASSERT_EQUAL(spec.nodes[0].peer.port, 6001);
	CU_ASSERT_EQUAL(spec.cluster_secret.kind, SECRET_INLINE);
	/* What is missing is an error. */
	CU_ASSERT_FALSE(ir(HEAD));
	CU_ASSERT_FALSE(ir(HEAD "vcomp { }\n"));
	CU_ASSERT_FALSE(ir(NODES));
	CU_ASSERT_FALSE(ir("muc (class: tigase.cluster.VirtualComponent) {}\n" NODES));
	CU_ASSERT_FALSE(ir(HEAD NODES "vcomp { }\n"));
	CU_ASSERT_FALSE(ir(HEAD "vcomp { node { n1 {} }, 'queue-age' = env('Q') }\n"));
}

UNIT_SUITE(tdsl)
{
	UNIT_TEST(suite, test_key_and_value_words);
	UNIT_TEST(suite, test_strings);
	UNIT_TEST(suite, test_numbers);
	UNIT_TEST(suite, test_comments);
	UNIT_TEST(suite, test_beans);
	UNIT_TEST(suite, test_bracket_errors);
	UNIT_TEST(suite, test_evaluation);
	UNIT_TEST(suite, test_tigase_defaults);
	UNIT_TEST(suite, test_vcomp_block);
}
