/*
 * test_check.c — the named semantic checks (compiler/check.c).
 *
 * Each test starts from a hand-built IR that passes every check, breaks one
 * thing, runs check_spec() with stderr sent to a temporary file, and looks
 * for the check's "[name]" tag (and the position) in what it printed.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit.h"
#include "vcompc.h"

static struct ir_str
at(const char *s, int line, int col)
{
	struct ir_str v = { (char *)s, { "spec.yaml", line, col }, true };
	return v;
}

static struct pos
P(int line, int col)
{
	struct pos p = { "spec.yaml", line, col };
	return p;
}

static struct ir_node nodes[3];
static struct ir_component comps[2];
static struct ir_str homes[2][3];
static struct ir_identity ids[2][3];
static struct ir_str feats[2][3];
static struct ir_spec spec;

static void
endpoint(struct ir_endpoint *e, const char *host, int port, int line)
{
	e->host = at(host, line, 13);
	e->port = port;
	e->pos = P(line, 13);
}

/* Two nodes on two machines, two components homed on node1 / node2. */
static void
base(void)
{
	memset(nodes, 0, sizeof nodes);
	memset(comps, 0, sizeof comps);
	memset(homes, 0, sizeof homes);
	memset(ids, 0, sizeof ids);
	memset(feats, 0, sizeof feats);
	memset(&spec, 0, sizeof spec);
	spec.path = "spec.yaml";
	spec.format = FMT_YAML;
	spec.cluster_secret.kind = SECRET_FILE;
	spec.cluster_secret.ref = at("/etc/vcomp/cluster.key", 3, 19);
	spec.cluster_secret.pos = P(3, 11);
	ir_limits_default(&spec.limits);

	const char *names[] = { "node1", "node2" };
	const char *peers[] = { "192.0.2.1", "192.0.2.2" };
	for (int i = 0; i < 2; i++) {
		nodes[i].name = at(names[i], 5 + 4 * i, 3);
		endpoint(&nodes[i].server, "127.0.0.1", 5347, 6 + 4 * i);
		endpoint(&nodes[i].peer, peers[i], 5277, 7 + 4 * i);
		endpoint(&nodes[i].listen, "127.0.0.1", 5348, 8 + 4 * i);
	}
	spec.nodes = nodes;
	spec.nnodes = 2;

	const char *domains[] = { "muc.example.test", "pubsub.example.test" };
	for (int i = 0; i < 2; i++) {
		struct ir_component *c = &comps[i];
		int l = 20 + 10 * i;
		c->name = at(i == 0 ? "muc" : "pubsub", l, 3);
		c->domain = at(domains[i], l, 3);
		c->pos = P(l, 3);
		homes[i][0] = at(names[i], l + 1, 11);
		c->homes = homes[i];
		c->nhomes = 1;
		ids[i][0].category = at("conference", l + 2, 15);
		ids[i][0].type = at("text", l + 3, 11);
		ids[i][0].name = at("Chat", l + 4, 20);
		ids[i][0].pos = P(l + 2, 5);
		c->ids = ids[i];
		c->nids = 1;
		feats[i][0] = at("http://jabber.org/protocol/muc", l + 5, 9);
		c->features = feats[i];
		c->nfeatures = 1;
		c->secret.kind = SECRET_ENV;
		c->secret.ref = at("MUC_SECRET", l + 6, 20);
		c->secret.pos = P(l + 6, 5);
	}
	spec.components = comps;
	spec.ncomponents = 2;
}

static char out[16384];

/* Runs check_spec() with stderr captured into out[]. */
static bool
run(void)
{
	FILE *tmp = tmpfile();
	int saved;
	bool ok;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	ok = check_spec(&spec);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof out - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return ok;
}

/* The whole output must mention the check, and at the given place when
 * `where` is not NULL ("spec.yaml:21:11: error:"). */
static void
expect(bool want_ok, const char *check, const char *where)
{
	char tag[64];
	bool ok = run();

	snprintf(tag, sizeof tag, "[%s]", check);
	if (ok != want_ok || strstr(out, tag) == NULL ||
	    (where != NULL && strstr(out, where) == NULL))
		fprintf(stderr, "\n  want %s at %s; got:\n%s", tag,
			where ? where : "-", out);
	CU_ASSERT_EQUAL(ok, want_ok);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, tag));
	if (where != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(out, where));
}

static void
test_base_is_clean(void)
{
	base();
	CU_ASSERT_TRUE(run());
	if (out[0] != '\0')
		fprintf(stderr, "\n%s", out);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void
test_counts(void)
{
	base();
	spec.nnodes = 0;
	expect(false, "nodes-count", "spec.yaml: error: no nodes");
	base();
	spec.ncomponents = 0;
	expect(false, "components-count", "spec.yaml: error: no components");
	base();
	spec.nnodes = VC_MAX_NODES + 1;   /* only the count is read */
	spec.nodes = calloc(spec.nnodes, sizeof *spec.nodes);
	for (size_t i = 0; i < spec.nnodes; i++)
		spec.nodes[i].name.s = xprintf("n%zu", i);
	expect(false, "nodes-count", "1025 nodes");
	free(spec.nodes);
}

static void
test_node_name(void)
{
	base();
	nodes[1].name.s = "node/2";
	expect(false, "node-name", "spec.yaml:9:7: error:");
	base();
	nodes[1].name.s = "-x";
	expect(false, "node-name", "start with a letter or a digit");
	base();
	nodes[0].name.s = "a.b_c-9";
	homes[0][0].s = "a.b_c-9";
	CU_ASSERT_TRUE(run());
}

static void
test_duplicate_node(void)
{
	base();
	nodes[1].name.s = "node1";
	homes[1][0].s = "node1";
	expect(false, "duplicate-node", "spec.yaml:9:3: error: node 'node1' is declared twice");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "spec.yaml:5:3: note:"));
}

static void
test_domain_syntax(void)
{
	base();
	comps[1].domain.s = "pub sub.example.test";
	/* The space is byte 3 of the value at column 3: column 6. */
	expect(false, "domain-syntax", "spec.yaml:30:6: error:");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "contains a space"));
	base();
	comps[0].domain.s = "muc.example.test.";
	expect(false, "domain-syntax", "spec.yaml:20:19: error:");
}

static void
test_duplicate_domain(void)
{
	base();
	comps[1].domain.s = "MUC.example.test";
	expect(false, "duplicate-domain", "spec.yaml:30:3: error:");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "spec.yaml:20:3: note:"));
}

static void
test_homes(void)
{
	base();
	comps[0].nhomes = 0;
	expect(false, "home-empty", "spec.yaml:20:3: error:");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "'home'"));

	base();
	homes[0][0].s = "nod1";
	expect(false, "home-unknown-node", "spec.yaml:21:11: error:");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "did you mean 'node1'?"));

	base();
	spec.format = FMT_PROPERTIES;
	homes[0][0].s = "elsewhere";
	expect(false, "home-unknown-node", "'redirect-to'");
	CU_ASSERT_PTR_NULL(strstr(out, "did you mean"));

	base();
	homes[0][1] = at("node1", 21, 20);
	comps[0].nhomes = 2;
	expect(false, "home-duplicate", "spec.yaml:21:20: error:");
}

static void
test_all_nodes_home(void)
{
	base();
	homes[0][1] = at("node2", 21, 20);
	comps[0].nhomes = 2;
	expect(true, "all-nodes-home", "spec.yaml:21:11: warning:");
	/* One node only: quiet. */
	base();
	spec.nnodes = 1;
	comps[1].nhomes = 0;
	spec.ncomponents = 1;
	CU_ASSERT_TRUE(run());
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void
test_endpoint_syntax(void)
{
	base();
	nodes[0].server.host.s = "bad_host";
	expect(false, "endpoint-syntax", "spec.yaml:6:13: error: 'server' of node 'node1'");
	base();
	nodes[0].peer.port = 70000;
	expect(false, "endpoint-syntax", "port 70000");
	base();
	nodes[1].peer.host.s = "10.0.0.300";
	expect(false, "endpoint-syntax", "IPv4");
	base();
	nodes[1].peer.host.s = "fe80::1::2";
	expect(false, "endpoint-syntax", "IPv6");
	/* A defaulted peer host is the node name: say so. */
	base();
	nodes[1].name.s = "node_2";
	homes[1][0].s = "node_2";
	nodes[1].peer.host = nodes[1].name;
	nodes[1].peer.pos = P(0, 0);
	expect(false, "endpoint-syntax", "has no 'peer'");
	/* Names and literals that are fine. */
	base();
	nodes[0].peer.host.s = "node1.example.test";
	nodes[1].peer.host.s = "2001:db8::2";
	CU_ASSERT_TRUE(run());
}

static void
test_endpoint_conflict(void)
{
	/* peer and listen of one node equal. */
	base();
	nodes[0].listen.host.s = "192.0.2.1";
	nodes[0].listen.port = 5277;
	expect(false, "endpoint-conflict", "spec.yaml:8:13: error: 'listen' and 'peer' of node 'node1'");

	/* A wildcard listener collides with any host on that port. */
	base();
	nodes[0].listen.host.s = "0.0.0.0";
	nodes[0].listen.port = 5277;
	expect(false, "endpoint-conflict", NULL);

	/* Two nodes on one machine (loopback peers) with the default
	 * component listener, both homes. */
	base();
	nodes[0].peer.host.s = "127.0.0.1";
	nodes[1].peer.host.s = "localhost";
	nodes[1].peer.port = 5278;
	nodes[1].server.port = 5447;
	expect(false, "endpoint-conflict", "'listen' of node 'node2' uses 127.0.0.1:5348, as does 'listen' of node 'node1'");

	/* Same machine, but node2 homes nothing: its listener is not bound. */
	base();
	nodes[0].peer.host.s = "127.0.0.1";
	nodes[1].peer.host.s = "127.0.0.1";
	nodes[1].peer.port = 5278;
	nodes[1].server.port = 5447;
	homes[1][0].s = "node1";
	CU_ASSERT_TRUE(run());
	CU_ASSERT_STRING_EQUAL(out, "");

	/* Two nodes with the same peer address. */
	base();
	nodes[1].peer.host.s = "192.0.2.1";
	expect(false, "endpoint-conflict", "'peer' of node 'node2' uses 192.0.2.1:5277");

	/* Different machines: the same loopback listener is fine (base). */
}

static void
test_stats_loopback(void)
{
	base();
	endpoint(&nodes[0].stats, "0.0.0.0", 5400, 9);
	expect(true, "stats-loopback", "spec.yaml:9:13: warning:");
	base();
	endpoint(&nodes[0].stats, "::1", 5400, 9);
	CU_ASSERT_TRUE(run());
}

static void
test_secrets(void)
{
	base();
	spec.cluster_secret.kind = SECRET_NONE;
	expect(false, "secret-missing", "spec.yaml: error: no cluster secret");
	base();
	comps[1].secret.kind = SECRET_NONE;
	expect(false, "secret-missing", "spec.yaml:30:3: error: component 'pubsub.example.test' has no 'secret'");
	base();
	comps[1].secret.ref.s = "";
	expect(false, "secret-empty", "spec.yaml:36:20: error:");
	base();
	comps[0].secret.ref.s = "9LIVES";
	expect(false, "secret-empty", "'9LIVES' is not an environment variable name");
	base();
	spec.cluster_secret.ref.s = "";
	expect(false, "secret-empty", "spec.yaml:3:19: error:");
}

static void
test_identities(void)
{
	base();
	comps[0].nids = 0;
	expect(false, "identity-missing", "spec.yaml:20:3: error:");
	base();
	ids[1][0].type.s = NULL;
	expect(false, "identity-missing", "no 'type'");
	base();
	ids[0][1] = ids[0][0];
	ids[0][1].pos = P(26, 5);
	ids[0][1].name.s = "Other name";
	comps[0].nids = 2;
	expect(false, "identity-duplicate", "spec.yaml:26:5: error:");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "spec.yaml:22:5: note:"));
	/* Same category and type, other languages: allowed. */
	base();
	ids[0][0].lang.s = "en";
	ids[0][1] = ids[0][0];
	ids[0][1].lang.s = "de";
	comps[0].nids = 2;
	CU_ASSERT_TRUE(run());
	base();
	ids[0][0].category.s = "con ference";
	expect(false, "identity-syntax", "spec.yaml:22:18: error:");
	base();
	ids[0][0].lang.s = "english language";
	expect(false, "identity-syntax", "not a language tag");
	base();
	ids[0][0].name.s = "bad\x01name";
	expect(false, "identity-syntax", "spec.yaml:24:23: error:");
}

static void
test_features(void)
{
	base();
	feats[0][1] = at("http://jabber.org/protocol/muc", 26, 9);
	comps[0].nfeatures = 2;
	expect(false, "feature-duplicate", "spec.yaml:26:9: error:");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "spec.yaml:25:9: note:"));
	base();
	feats[1][0].s = "";
	expect(false, "feature-syntax", "empty feature");
	base();
	feats[1][0].s = "urn:x y";
	expect(false, "feature-syntax", "spec.yaml:35:14: error:");
}

static void
test_disco_node(void)
{
	base();
	comps[0].disco_node = at("", 27, 17);
	CU_ASSERT_TRUE(run());
	CU_ASSERT_STRING_EQUAL(out, "");
	base();
	comps[0].disco_node = at("a\nb", 27, 17);
	expect(false, "disco-node-syntax", "spec.yaml:27:18: error:");
	base();
	comps[0].disco_node = at("http://example.test/n", 27, 17);
	comps[0].disco = DISCO_FORWARD;
	expect(true, "disco-node-unused", "spec.yaml:27:17: warning:");
}

static void
test_limits(void)
{
	base();
	spec.limits.backoff_min_ms = 60000;
	spec.limits_pos[LIM_backoff_min_ms] = P(40, 16);
	expect(false, "limits-sane", "spec.yaml:40:16: error: 'backoff-min' (60000 ms) is larger than 'backoff-max'");
	base();
	spec.limits.max_stanza = 16u * 1024 * 1024;
	spec.limits_pos[LIM_max_stanza] = P(41, 15);
	/* Defaulted queue-bytes: reported at the file. */
	expect(false, "limits-sane", "spec.yaml: error: 'queue-bytes'");
	base();
	spec.limits.routes = 0;
	spec.limits_pos[LIM_routes] = P(42, 11);
	expect(false, "limits-sane", "spec.yaml:42:11: error: 'routes' is 0");
	base();
	spec.limits.max_stanza = 4096;
	expect(false, "limits-sane", "at least 10000");
	base();
	spec.format = FMT_PROPERTIES;
	spec.limits.keepalive_ms = 0;
	expect(false, "limits-sane", "'vcomp/keepalive' is 0");
}

/* All problems are reported in one run. */
static void
test_reports_everything(void)
{
	base();
	nodes[1].name.s = "node1";
	comps[1].domain.s = "x..y";
	spec.cluster_secret.kind = SECRET_NONE;
	spec.limits.routes = 0;
	CU_ASSERT_FALSE(run());
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[duplicate-node]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[domain-syntax]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[secret-missing]"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "[limits-sane]"));
}

static void
test_list(void)
{
	FILE *tmp = tmpfile();
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	check_list(tmp);
	rewind(tmp);
	n = fread(out, 1, sizeof out - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "domain-syntax"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "all-nodes-home       warning"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "limits-sane          error"));
}

UNIT_SUITE(check)
{
	UNIT_TEST(suite, test_base_is_clean);
	UNIT_TEST(suite, test_counts);
	UNIT_TEST(suite, test_node_name);
	UNIT_TEST(suite, test_duplicate_node);
	UNIT_TEST(suite, test_domain_syntax);
	UNIT_TEST(suite, test_duplicate_domain);
	UNIT_TEST(suite, test_homes);
	UNIT_TEST(suite, test_all_nodes_home);
	UNIT_TEST(suite, test_endpoint_syntax);
	UNIT_TEST(suite, test_endpoint_conflict);
	UNIT_TEST(suite, test_stats_loopback);
	UNIT_TEST(suite, test_secrets);
	UNIT_TEST(suite, test_identities);
	UNIT_TEST(suite, test_features);
	UNIT_TEST(suite, test_disco_node);
	UNIT_TEST(suite, test_limits);
	UNIT_TEST(suite, test_reports_everything);
	UNIT_TEST(suite, test_list);
}
