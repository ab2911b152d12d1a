/*
 * test_yaml.c — the YAML front end (compiler/yaml_tree.c and
 * compiler/fe_yaml.c): specs in, IR and diagnostics out.
 *
 * Each test parses a spec held in a string with yaml_to_ir() while stderr
 * is redirected to a temporary file, then asserts on the IR and on the
 * exact diagnostic lines.  IR memory comes from the arena and is not
 * released here: other suites in this binary may still hold arena data.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit.h"
#include "vcompc.h"

static char err[1 << 16];   /* what the last parse() wrote on stderr */
static int nerr;             /* errors it reported */

static bool
parse_len(const char *text, size_t len, struct ir_spec *spec)
{
	FILE *tmp = tmpfile();
	int saved, before = diag_error_count();
	bool ok;

	memset(spec, 0, sizeof *spec);
	CU_ASSERT_FATAL(tmp != NULL);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	ok = yaml_to_ir("t.yaml", text, len, spec);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(err, 1, sizeof err - 1, tmp);
	err[n] = '\0';
	fclose(tmp);
	nerr = diag_error_count() - before;
	/* The return value must agree with what was reported. */
	CU_ASSERT_EQUAL(ok, nerr == 0);
	return ok;
}

static bool
parse(const char *text, struct ir_spec *spec)
{
	return parse_len(text, strlen(text), spec);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

#define ASSERT_POS(p, l, c) do {                         \
	CU_ASSERT_EQUAL((p).line, (l));                  \
	CU_ASSERT_EQUAL((p).col, (c));                   \
	CU_ASSERT_PTR_NOT_NULL((p).file);                \
	if ((p).file != NULL)                            \
		CU_ASSERT_STRING_EQUAL((p).file, "t.yaml"); \
} while (0)

static const char full_spec[] =
	"version: 1\n"                                           /* 1 */
	"cluster:\n"                                             /* 2 */
	"  secret: {file: /etc/vcomp/cluster.key}\n"             /* 3 */
	"nodes:\n"                                               /* 4 */
	"  node1:\n"                                             /* 5 */
	"    server: 127.0.0.1:5347\n"                           /* 6 */
	"    peer: 127.0.0.1:5277\n"                             /* 7 */
	"    listen: 127.0.0.1:5348\n"                           /* 8 */
	"    stats: 127.0.0.1:5400\n"                            /* 9 */
	"  node2:\n"                                             /* 10 */
	"    peer: '[::1]:6277'\n"                               /* 11 */
	"components:\n"                                          /* 12 */
	"  muc.example.test:\n"                                  /* 13 */
	"    name: chat\n"                                       /* 14 */
	"    home: [node2, node1]\n"                             /* 15 */
	"    secret: {env: MUC_SECRET}\n"                        /* 16 */
	"    disco: forward\n"                                   /* 17 */
	"    disco-node: \"\"\n"                                 /* 18 */
	"    identities:\n"                                      /* 19 */
	"      - {category: conference, type: text, name: Rooms, lang: en}\n"
	"      - category: directory\n"                          /* 21 */
	"        type: chatroom\n"                               /* 22 */
	"    features:\n"                                        /* 23 */
	"      - http://jabber.org/protocol/muc\n"               /* 24 */
	"      - jabber:iq:register\n"                           /* 25 */
	"  pubsub.example.test:\n"                               /* 26 */
	"    home: node1\n"                                      /* 27 */
	"    secret: {file: ps.key}\n"                           /* 28 */
	"limits:\n"                                              /* 29 */
	"  queue-bytes: 1MiB\n"                                  /* 30 */
	"  queue-age: 5s\n"                                      /* 31 */
	"  max-stanza: 64KiB\n"                                  /* 32 */
	"  output-cap: 2M\n"                                     /* 33 */
	"  routes: 1000\n"                                       /* 34 */
	"  keepalive: 2m\n"                                      /* 35 */
	"  peer-timeout: 10s\n"                                  /* 36 */
	"  backoff-min: 100ms\n"                                 /* 37 */
	"  backoff-max: 20s\n";                                  /* 38 */

static void
test_full_spec(void)
{
	struct ir_spec s;

	CU_ASSERT_TRUE_FATAL(parse(full_spec, &s));
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(s.format, FMT_YAML);

	CU_ASSERT_EQUAL(s.cluster_secret.kind, SECRET_FILE);
	CU_ASSERT_STRING_EQUAL(s.cluster_secret.ref.s, "/etc/vcomp/cluster.key");

	CU_ASSERT_EQUAL_FATAL(s.nnodes, 2);
	CU_ASSERT_STRING_EQUAL(s.nodes[0].name.s, "node1");
	CU_ASSERT_STRING_EQUAL(s.nodes[0].server.host.s, "127.0.0.1");
	CU_ASSERT_EQUAL(s.nodes[0].server.port, 5347);
	CU_ASSERT_EQUAL(s.nodes[0].peer.port, 5277);
	CU_ASSERT_EQUAL(s.nodes[0].listen.port, 5348);
	CU_ASSERT_STRING_EQUAL(s.nodes[0].stats.host.s, "127.0.0.1");
	CU_ASSERT_EQUAL(s.nodes[0].stats.port, 5400);
	CU_ASSERT_STRING_EQUAL(s.nodes[1].name.s, "node2");
	CU_ASSERT_STRING_EQUAL(s.nodes[1].peer.host.s, "::1");
	CU_ASSERT_EQUAL(s.nodes[1].peer.port, 6277);
	/* Node defaults were applied. */
	CU_ASSERT_STRING_EQUAL(s.nodes[1].server.host.s, VC_DEFAULT_SERVER_HOST);
	CU_ASSERT_EQUAL(s.nodes[1].server.port, VC_DEFAULT_SERVER_PORT);
	CU_ASSERT_EQUAL(s.nodes[1].listen.port, VC_DEFAULT_LISTEN_PORT);
	CU_ASSERT_PTR_NULL(s.nodes[1].stats.host.s);

	CU_ASSERT_EQUAL_FATAL(s.ncomponents, 2);
	struct ir_component *c = &s.components[0];
	CU_ASSERT_STRING_EQUAL(c->domain.s, "muc.example.test");
	CU_ASSERT_STRING_EQUAL(c->name.s, "chat");
	CU_ASSERT_EQUAL_FATAL(c->nhomes, 2);
	CU_ASSERT_STRING_EQUAL(c->homes[0].s, "node2");
	CU_ASSERT_STRING_EQUAL(c->homes[1].s, "node1");
	CU_ASSERT_EQUAL(c->secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(c->secret.ref.s, "MUC_SECRET");
	CU_ASSERT_EQUAL(c->disco, DISCO_FORWARD);
	CU_ASSERT_STRING_EQUAL(c->disco_node.s, "");
	CU_ASSERT_EQUAL_FATAL(c->nids, 2);
	CU_ASSERT_STRING_EQUAL(c->ids[0].category.s, "conference");
	CU_ASSERT_STRING_EQUAL(c->ids[0].type.s, "text");
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, "Rooms");
	CU_ASSERT_STRING_EQUAL(c->ids[0].lang.s, "en");
	CU_ASSERT_STRING_EQUAL(c->ids[1].category.s, "directory");
	CU_ASSERT_STRING_EQUAL(c->ids[1].type.s, "chatroom");
	CU_ASSERT_PTR_NULL(c->ids[1].name.s);
	CU_ASSERT_PTR_NULL(c->ids[1].lang.s);
	CU_ASSERT_EQUAL_FATAL(c->nfeatures, 2);
	CU_ASSERT_STRING_EQUAL(c->features[0].s, "http://jabber.org/protocol/muc");
	CU_ASSERT_STRING_EQUAL(c->features[1].s, "jabber:iq:register");

	/* The second component takes every default. */
	c = &s.components[1];
	CU_ASSERT_STRING_EQUAL(c->domain.s, "pubsub.example.test");
	CU_ASSERT_STRING_EQUAL(c->name.s, "pubsub");
	CU_ASSERT_EQUAL(c->secret.kind, SECRET_FILE);
	CU_ASSERT_STRING_EQUAL(c->secret.ref.s, "ps.key");
	CU_ASSERT_EQUAL(c->disco, DISCO_LOCAL);
	CU_ASSERT_PTR_NULL(c->disco_node.s);
	CU_ASSERT_EQUAL_FATAL(c->nids, 1);
	CU_ASSERT_STRING_EQUAL(c->ids[0].category.s, VC_TIGASE_DISCO_CATEGORY);
	CU_ASSERT_STRING_EQUAL(c->ids[0].type.s, VC_TIGASE_DISCO_TYPE);
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, VC_TIGASE_DISCO_NAME);
	CU_ASSERT_EQUAL_FATAL(c->nfeatures, 1);
	CU_ASSERT_STRING_EQUAL(c->features[0].s, VC_TIGASE_DISCO_FEATURES);

	CU_ASSERT_EQUAL(s.limits.queue_bytes, 1024 * 1024);
	CU_ASSERT_EQUAL(s.limits.queue_age_ms, 5000);
	CU_ASSERT_EQUAL(s.limits.max_stanza, 64 * 1024);
	CU_ASSERT_EQUAL(s.limits.output_cap, 2 * 1024 * 1024);
	CU_ASSERT_EQUAL(s.limits.routes, 1000);
	CU_ASSERT_EQUAL(s.limits.keepalive_ms, 120000);
	CU_ASSERT_EQUAL(s.limits.peer_timeout_ms, 10000);
	CU_ASSERT_EQUAL(s.limits.backoff_min_ms, 100);
	CU_ASSERT_EQUAL(s.limits.backoff_max_ms, 20000);
}

static void
test_positions(void)
{
	struct ir_spec s;

	CU_ASSERT_TRUE_FATAL(parse(full_spec, &s));
	ASSERT_POS(s.cluster_secret.pos, 3, 12);       /* the key "file" */
	ASSERT_POS(s.cluster_secret.ref.pos, 3, 18);
	ASSERT_POS(s.nodes[0].name.pos, 5, 3);
	ASSERT_POS(s.nodes[0].server.pos, 6, 13);
	ASSERT_POS(s.nodes[0].stats.host.pos, 9, 12);
	ASSERT_POS(s.nodes[1].peer.pos, 11, 12);       /* after the quote */
	struct ir_component *c = &s.components[0];
	ASSERT_POS(c->pos, 13, 3);
	ASSERT_POS(c->domain.pos, 13, 3);
	ASSERT_POS(c->name.pos, 14, 11);
	ASSERT_POS(c->homes[0].pos, 15, 12);
	ASSERT_POS(c->homes[1].pos, 15, 19);
	ASSERT_POS(c->secret.pos, 16, 14);
	ASSERT_POS(c->secret.ref.pos, 16, 19);
	ASSERT_POS(c->disco_pos, 17, 12);
	ASSERT_POS(c->disco_node.pos, 18, 18);         /* after the quote */
	ASSERT_POS(c->ids[0].pos, 20, 9);
	ASSERT_POS(c->ids[0].lang.pos, 20, 63);
	ASSERT_POS(c->ids[1].pos, 21, 9);
	ASSERT_POS(c->ids[1].type.pos, 22, 15);
	ASSERT_POS(c->features[1].pos, 25, 9);
	/* Defaults point at the component that received them. */
	c = &s.components[1];
	ASSERT_POS(c->name.pos, 26, 3);
	ASSERT_POS(c->ids[0].category.pos, 26, 3);
	ASSERT_POS(c->features[0].pos, 26, 3);
	/* limits_pos is indexed by enum limit_index. */
	ASSERT_POS(s.limits_pos[LIM_queue_bytes], 30, 16);
	ASSERT_POS(s.limits_pos[LIM_routes], 34, 11);
	ASSERT_POS(s.limits_pos[LIM_backoff_max_ms], 38, 16);
}

static void
test_defaults_and_shorthand(void)
{
	struct ir_spec s;

	CU_ASSERT_TRUE_FATAL(parse(
	    "cluster: {secret: {env: C}}\n"
	    "nodes:\n"
	    "  alpha:\n"
	    "components:\n"
	    "  x:\n"
	    "    home: alpha\n"
	    "    secret: {env: S}\n"
	    "    type: irc\n"
	    "    features: []\n", &s));
	CU_ASSERT_EQUAL_FATAL(s.nnodes, 1);
	/* An empty node takes every default; peer is NAME:5277. */
	CU_ASSERT_STRING_EQUAL(s.nodes[0].peer.host.s, "alpha");
	CU_ASSERT_EQUAL(s.nodes[0].peer.port, VC_DEFAULT_PEER_PORT);
	CU_ASSERT_STRING_EQUAL(s.nodes[0].listen.host.s, VC_DEFAULT_LISTEN_HOST);
	struct ir_component *c = &s.components[0];
	/* A domain of one label is its own name. */
	CU_ASSERT_STRING_EQUAL(c->name.s, "x");
	/* Shorthand keys default one by one. */
	CU_ASSERT_EQUAL_FATAL(c->nids, 1);
	CU_ASSERT_STRING_EQUAL(c->ids[0].category.s, "conference");
	CU_ASSERT_STRING_EQUAL(c->ids[0].type.s, "irc");
	CU_ASSERT_STRING_EQUAL(c->ids[0].name.s, "Multi User Chat");
	ASSERT_POS(c->ids[0].pos, 8, 5);
	ASSERT_POS(c->ids[0].type.pos, 8, 11);
	/* An explicit empty list is kept empty. */
	CU_ASSERT_EQUAL(c->nfeatures, 0);
	CU_ASSERT_EQUAL(s.limits.routes, 1000000u);
	CU_ASSERT_EQUAL(s.limits_pos[LIM_routes].line, 0);
}

static void
test_anchors_aliases(void)
{
	struct ir_spec s;

	CU_ASSERT_TRUE_FATAL(parse(
	    "cluster: {secret: &sec {env: SHARED}}\n"             /* 1 */
	    "nodes:\n"                                            /* 2 */
	    "  n1: &node {server: '127.0.0.1:7000'}\n"            /* 3 */
	    "  n2: *node\n"                                       /* 4 */
	    "components:\n"                                       /* 5 */
	    "  a.test: &comp\n"                                   /* 6 */
	    "    home: &h n1\n"                                   /* 7 */
	    "    secret: *sec\n"                                  /* 8 */
	    "    features: &f [urn:one, urn:two]\n"               /* 9 */
	    "  b.test:\n"                                         /* 10 */
	    "    home: [n2, *h]\n"                                /* 11 */
	    "    secret: *sec\n"                                  /* 12 */
	    "    features: *f\n"                                  /* 13 */
	    "  c.test: *comp\n", &s));                            /* 14 */
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL_FATAL(s.nnodes, 2);
	CU_ASSERT_EQUAL(s.nodes[1].server.port, 7000);
	CU_ASSERT_EQUAL_FATAL(s.ncomponents, 3);
	CU_ASSERT_EQUAL(s.components[1].secret.kind, SECRET_ENV);
	CU_ASSERT_STRING_EQUAL(s.components[1].secret.ref.s, "SHARED");
	CU_ASSERT_EQUAL_FATAL(s.components[1].nhomes, 2);
	CU_ASSERT_STRING_EQUAL(s.components[1].homes[1].s, "n1");
	/* A scalar reached through an alias is positioned at the alias. */
	ASSERT_POS(s.components[1].homes[1].pos, 11, 16);
	CU_ASSERT_EQUAL_FATAL(s.components[1].nfeatures, 2);
	CU_ASSERT_STRING_EQUAL(s.components[1].features[1].s, "urn:two");
	/* A whole component through an alias: same settings, own domain. */
	CU_ASSERT_STRING_EQUAL(s.components[2].domain.s, "c.test");
	CU_ASSERT_STRING_EQUAL(s.components[2].name.s, "c");
	ASSERT_POS(s.components[2].pos, 14, 3);
	CU_ASSERT_EQUAL_FATAL(s.components[2].nhomes, 1);
	CU_ASSERT_STRING_EQUAL(s.components[2].homes[0].s, "n1");
	CU_ASSERT_EQUAL(s.components[2].nfeatures, 2);
}

static void
test_bad_aliases(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse("nodes: *nowhere\n", &s));
	CU_ASSERT_STRING_EQUAL(err, "t.yaml:1:8: error: undefined alias '*nowhere'\n");
	CU_ASSERT_FALSE(parse("nodes: &a {n1: *a}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:1:16: error: alias '*a' refers to a node that contains it\n");
	/* An error inside anchored text is reported once, however many
	 * aliases use it. */
	CU_ASSERT_FALSE(parse("nodes:\n  n1: &n {server: nowhere}\n"
			      "  n2: *n\n  n3: *n\n", &s));
	CU_ASSERT_EQUAL(nerr, 1);
	CU_ASSERT_EQUAL(s.nnodes, 3);
}

/* Classic billion laughs: 10^9 nodes once expanded, a few hundred bytes of
 * text.  It must be refused at once, with one error at the alias where the
 * count crosses the limit. */
static void
test_alias_bomb(void)
{
	struct ir_spec s;
	char text[2048];
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof text - n,
	    "nodes: {n1: {}}\nx0: &l0 [lol]\n");
	for (int i = 1; i <= 9; i++) {
		n += (size_t)snprintf(text + n, sizeof text - n, "x%d: &l%d [", i, i);
		for (int j = 0; j < 10; j++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s*l%d",
			    j ? ", " : "", i - 1);
		n += (size_t)snprintf(text + n, sizeof text - n, "]\n");
	}
	snprintf(text + n, sizeof text - n, "components: *l9\n");

	clock_t t0 = clock();
	CU_ASSERT_FALSE(parse(text, &s));
	CU_ASSERT(clock() - t0 < 2 * CLOCKS_PER_SEC);
	CU_ASSERT_EQUAL(nerr, 1);
	CU_ASSERT_EQUAL(count_lines(err), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, ": error: alias expansion exceeds 1000000 nodes\n"));
	/* Up to x6's list the document holds 234 580 nodes and each *l5
	 * expands to 211 111, so the count crosses the limit at x6's
	 * fourth alias. */
	CU_ASSERT_EQUAL(strncmp(err, "t.yaml:8:25: ", 13), 0);
	CU_ASSERT_EQUAL(s.nnodes, 0);
}

/* An expansion that fits the schema (components x features) is bounded
 * too, and one just under the limit still works. */
static void
test_alias_bomb_in_schema(void)
{
	struct buf b = { 0 };
	struct ir_spec s;

	for (int pass = 0; pass < 2; pass++) {
		/* 1000 features; pass 0: 900 components (~0.9M nodes),
		 * pass 1: 1100 (~1.1M). */
		int ncomp = pass == 0 ? 900 : 1100;
		b.len = 0;
		buf_puts(&b, "cluster: {secret: {env: C}}\nnodes: {n1: {}}\n"
		    "f: &f [");
		for (int i = 0; i < 1000; i++)
			buf_puts(&b, i ? ", *s" : "&s urn:x");
		buf_puts(&b, "]\ncomponents:\n  c0.test: &c {home: n1, "
		    "secret: {env: S}, features: *f}\n");
		for (int i = 1; i < ncomp; i++)
			buf_printf(&b, "  c%d.test: *c\n", i);
		bool ok = parse_len(b.data, b.len, &s);
		if (pass == 0) {
			/* Only the unknown top-level key "f". */
			CU_ASSERT_EQUAL(nerr, 1);
			CU_ASSERT_STRING_EQUAL(err,
			    "t.yaml:3:1: error: unknown key 'f' at the top level\n");
			CU_ASSERT_EQUAL(s.ncomponents, 900);
			CU_ASSERT_EQUAL(s.components[899].nfeatures, 1000);
		} else {
			CU_ASSERT_FALSE(ok);
			CU_ASSERT_EQUAL(nerr, 1);
			CU_ASSERT_PTR_NOT_NULL(strstr(err, "alias expansion exceeds 1000000 nodes"));
			CU_ASSERT_EQUAL(s.ncomponents, 0);
		}
	}
	buf_free(&b);
}

static void
test_multiple_documents(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse("nodes: {n1: {}}\n---\nnodes: {n2: {}}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:2:1: error: a spec is one YAML document; a second one starts here\n");
	/* The first document was still read. */
	CU_ASSERT_EQUAL_FATAL(s.nnodes, 1);
	CU_ASSERT_STRING_EQUAL(s.nodes[0].name.s, "n1");
	/* Explicit markers on both. */
	CU_ASSERT_FALSE(parse("---\nversion: 1\n...\n---\nversion: 1\n", &s));
	CU_ASSERT_EQUAL(nerr, 1);
	CU_ASSERT_EQUAL(strncmp(err, "t.yaml:4:1: error: a spec is one", 32), 0);
}

static void
test_tags(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse("version: !!str 1\nnodes: !local {n1: {}}\n"
			      "limits: !!map {routes: !!int 5}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:1:10: error: tags are not supported in a spec ('!!str')\n"
	    "t.yaml:2:8: error: tags are not supported in a spec ('!local')\n"
	    "t.yaml:3:9: error: tags are not supported in a spec ('!!map')\n"
	    "t.yaml:3:24: error: tags are not supported in a spec ('!!int')\n");
	CU_ASSERT_EQUAL(s.nnodes, 1);
	CU_ASSERT_EQUAL(s.limits.routes, 5);
}

static void
test_non_scalar_keys(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse("nodes:\n  ? [a, b]\n  : {}\n  {x: y}: {}\n"
			      "  n1: {}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:2:5: error: mapping keys must be strings, not a list\n"
	    "t.yaml:4:3: error: mapping keys must be strings, not a mapping\n");
	CU_ASSERT_EQUAL_FATAL(s.nnodes, 1);
	CU_ASSERT_STRING_EQUAL(s.nodes[0].name.s, "n1");
}

static void
test_unknown_key_hint(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse(
	    "nodes:\n  n1:\n    sever: 127.0.0.1:1\n    colour: red\n"
	    "componets: {}\n"
	    "limits: {rotes: 5}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:3:5: error: unknown key 'sever' in node 'n1'; did you mean 'server'?\n"
	    "t.yaml:4:5: error: unknown key 'colour' in node 'n1'\n"
	    "t.yaml:5:1: error: unknown key 'componets' at the top level; did you mean 'components'?\n"
	    "t.yaml:6:10: error: unknown key 'rotes' in 'limits'; did you mean 'routes'?\n");
}

static void
test_duplicate_key_note(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse(
	    "nodes:\n"
	    "  n1:\n"
	    "    server: 127.0.0.1:1\n"
	    "    server: 127.0.0.1:2\n"
	    "  n2: {}\n"
	    "  n1: {}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:4:5: error: duplicate key 'server'\n"
	    "t.yaml:3:5: note: 'server' first defined here\n"
	    "t.yaml:6:3: error: duplicate key 'n1'\n"
	    "t.yaml:2:3: note: 'n1' first defined here\n");
	CU_ASSERT_EQUAL(nerr, 2);
	/* The first definition wins; the duplicate is not added. */
	CU_ASSERT_EQUAL_FATAL(s.nnodes, 2);
	CU_ASSERT_EQUAL(s.nodes[0].server.port, 1);
}

static void
test_wrong_types(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse(
	    "cluster: [a]\n"
	    "nodes:\n"
	    "  n1: [1, 2]\n"
	    "  n2: {server: [127.0.0.1:1]}\n"
	    "components:\n"
	    "  a.test:\n"
	    "    home: {n1: 1}\n"
	    "    features: urn:x\n"
	    "    identities: [urn:y]\n"
	    "    disco: maybe\n"
	    "limits: 5\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:1:10: error: 'cluster' must be a mapping, not a list\n"
	    "t.yaml:3:7: error: 'n1' must be a mapping of node settings, not a list\n"
	    "t.yaml:4:16: error: 'server' must be a string, not a list\n"
	    "t.yaml:7:11: error: 'home' must be a node name or a list of node names, not a mapping\n"
	    "t.yaml:8:15: error: 'features' must be a list of strings, not a string\n"
	    "t.yaml:9:18: error: 'identities' must be a list of mappings, not a string\n"
	    "t.yaml:10:12: error: 'disco' must be 'local' or 'forward', not 'maybe'\n"
	    "t.yaml:11:9: error: 'limits' must be a mapping, not a string\n");
	CU_ASSERT_FALSE(parse("- a\n- b\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:1:1: error: a spec must be a mapping with 'nodes' and 'components' at the top level, not a list\n");
	CU_ASSERT_FALSE(parse("version: 2\nnodes: {n1: {server: }}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:1:10: error: 'version' must be 1, not '2'\n"
	    "t.yaml:2:22: error: 'server' has no value\n");
}

static void
test_secrets(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse(
	    "cluster:\n"
	    "  secret: hunter2\n"
	    "components:\n"
	    "  a.test: {secret: {file: /k, env: K}}\n"
	    "  b.test: {secret: {}}\n"
	    "  c.test: {secret: {env: ''}}\n"
	    "  d.test: {secret: {path: /k}}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:2:11: error: 'secret' must be a source, {file: PATH} or {env: NAME}; never the secret itself\n"
	    "t.yaml:4:31: error: 'secret' must name one source, not both 'file' and 'env'\n"
	    "t.yaml:4:21: note: 'file' given here\n"
	    "t.yaml:5:20: error: 'secret' must name a source, {file: PATH} or {env: NAME}\n"
	    "t.yaml:6:26: error: 'env' of 'secret' is empty\n"
	    "t.yaml:7:21: error: unknown key 'path' in 'secret'\n");
	CU_ASSERT_EQUAL(s.cluster_secret.kind, SECRET_NONE);
	/* The first source is kept when both are given. */
	CU_ASSERT_EQUAL(s.components[0].secret.kind, SECRET_FILE);
}

static void
test_identities_and_shorthand(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse(
	    "components:\n"
	    "  a.test:\n"
	    "    type: text\n"
	    "    identities: [{category: c, type: t, nmae: n}]\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:4:41: error: unknown key 'nmae' in an identity; did you mean 'name'?\n"
	    "t.yaml:4:5: error: 'identities' and the shorthand 'type' cannot both be given\n"
	    "t.yaml:3:5: note: 'type' given here\n");
}

static void
test_empty(void)
{
	struct ir_spec s;
	const char *empties[] = { "", "# only a comment\n", "---\n", "~\n",
				  "--- # nothing\n...\n" };

	for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
		CU_ASSERT_FALSE(parse(empties[i], &s));
		CU_ASSERT_STRING_EQUAL(err, "t.yaml: error: empty spec\n");
	}
	/* An empty mapping is not empty YAML: check.c reports what is
	 * missing, the front end has nothing to say. */
	CU_ASSERT_TRUE(parse("{}\n", &s));
}

static void
test_syntax_errors(void)
{
	struct ir_spec s;

	CU_ASSERT_FALSE(parse("nodes:\n  n1: [a\n  n2: b\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:3:5: error: did not find expected ',' or ']'\n"
	    "t.yaml:2:7: note: while parsing a flow sequence\n");
	CU_ASSERT_FALSE(parse("nodes:\n\tn1: {}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:2:1: error: found character that cannot start any token\n");
	/* Reader errors carry a byte offset instead of a mark. */
	CU_ASSERT_FALSE(parse("nodes:\n  n\xff: {}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:2:4: error: invalid leading UTF-8 octet (0xFF)\n");
	/* A NUL byte in the text is a reader error, one in an escape is
	 * caught by the front end. */
	CU_ASSERT_FALSE(parse_len("nodes:\n  \0: {}\n", 14, &s));
	CU_ASSERT_EQUAL(nerr, 1);
	CU_ASSERT_FALSE(parse("components: {a.test: {name: \"a\\0b\"}}\n", &s));
	CU_ASSERT_STRING_EQUAL(err,
	    "t.yaml:1:29: error: 'name' contains a NUL character\n");
}

static void
test_fixture(void)
{
	struct ir_spec s;
	size_t len;
	char *text = read_spec_file("tests/unit/fixture.yaml", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_TRUE_FATAL(parse_len(text, len, &s));
	CU_ASSERT_EQUAL_FATAL(s.nnodes, 2);
	CU_ASSERT_EQUAL(s.nodes[0].server.port, 25347);
	CU_ASSERT_EQUAL(s.nodes[1].server.port, 35347);
	CU_ASSERT_EQUAL(s.nodes[0].peer.port, 25277);
	CU_ASSERT_EQUAL(s.nodes[1].peer.port, 35277);
	CU_ASSERT_EQUAL(s.nodes[0].listen.port, 25348);
	CU_ASSERT_EQUAL_FATAL(s.ncomponents, 2);
	CU_ASSERT_STRING_EQUAL(s.components[0].domain.s, "muc.example.test");
	CU_ASSERT_STRING_EQUAL(s.components[0].homes[0].s, "node1");
	CU_ASSERT_STRING_EQUAL(s.components[0].secret.ref.s, "VCOMP_TEST_SECRET");
	CU_ASSERT_STRING_EQUAL(s.components[0].disco_node.s, "x");
	CU_ASSERT_STRING_EQUAL(s.components[1].homes[0].s, "node2");
	CU_ASSERT_EQUAL_FATAL(s.components[1].nids, 2);
	CU_ASSERT_PTR_NOT_NULL(strchr(s.components[1].ids[0].name.s, '<'));
	CU_ASSERT_PTR_NOT_NULL(strchr(s.components[1].ids[0].name.s, '&'));
	CU_ASSERT_PTR_NOT_NULL(strchr(s.components[1].ids[0].name.s, '\''));
}

UNIT_SUITE(yaml_front_end)
{
	UNIT_TEST(suite, test_full_spec);
	UNIT_TEST(suite, test_positions);
	UNIT_TEST(suite, test_defaults_and_shorthand);
	UNIT_TEST(suite, test_anchors_aliases);
	UNIT_TEST(suite, test_bad_aliases);
	UNIT_TEST(suite, test_alias_bomb);
	UNIT_TEST(suite, test_alias_bomb_in_schema);
	UNIT_TEST(suite, test_multiple_documents);
	UNIT_TEST(suite, test_tags);
	UNIT_TEST(suite, test_non_scalar_keys);
	UNIT_TEST(suite, test_unknown_key_hint);
	UNIT_TEST(suite, test_duplicate_key_note);
	UNIT_TEST(suite, test_wrong_types);
	UNIT_TEST(suite, test_secrets);
	UNIT_TEST(suite, test_identities_and_shorthand);
	UNIT_TEST(suite, test_empty);
	UNIT_TEST(suite, test_syntax_errors);
	UNIT_TEST(suite, test_fixture);
}
