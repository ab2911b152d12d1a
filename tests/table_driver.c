/*
 * table_driver.c — prints a generated routing table back, one field per
 * line, so that tests/check-compiler.sh can compare it with the spec.
 *
 * Build: cc -std=c17 -Wall -Wextra -Werror -Iruntime \
 *            tests/table_driver.c NODE.c -o driver
 *
 * It also checks the invariants the runtime relies on and that the
 * compiler alone must guarantee (lengths match the strings, components
 * sorted by domain, home indexes in range, a HOME role exactly when this
 * node is among the homes); a broken invariant is printed as
 * "invariant: ..." and the exit status is 1.
 *
 * Output lines:
 *   version N / vcompc VERSION
 *   self INDEX NAME
 *   node INDEX NAME peer HOST:PORT
 *   server|listen|stats HOST:PORT or -
 *   cluster_secret KIND:REF
 *   limit NAME VALUE
 *   component INDEX DOMAIN name=NAME role=home|virtual disco=local|forward
 *             homes=N1,N2 secret=KIND:REF disco_node=NODE|- ver=VER
 *   query INDEX XML
 *   query_node INDEX XML
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vcomp_table.h"

static int bad;

static void
invariant(int ok, const char *what, const char *where)
{
	if (!ok) {
		printf("invariant: %s (%s)\n", what, where);
		bad = 1;
	}
}

static void
print_endpoint(const char *label, const struct vc_endpoint *e)
{
	if (e->host == NULL)
		printf("%s -\n", label);
	else if (strchr(e->host, ':') != NULL)
		printf("%s [%s]:%u\n", label, e->host, (unsigned)e->port);
	else
		printf("%s %s:%u\n", label, e->host, (unsigned)e->port);
}

static const char *
secret_kind(uint8_t k)
{
	switch (k) {
	case VC_SECRET_FILE:
		return "file";
	case VC_SECRET_ENV:
		return "env";
	case VC_SECRET_BUNDLE:
		return "bundle";
	default:
		return "none";
	}
}

static int
domain_cmp(const struct vc_component *a, const struct vc_component *b)
{
	size_t n = a->domain_len < b->domain_len ? a->domain_len : b->domain_len;
	int r = memcmp(a->domain, b->domain, n);

	if (r != 0)
		return r;
	return a->domain_len < b->domain_len ? -1 : a->domain_len > b->domain_len;
}

int
main(void)
{
	const struct vc_table *t = &vcomp_table;
	const struct vc_limits *l = &t->limits;

	printf("version %" PRIu32 "\n", t->version);
	invariant(t->version == VCOMP_TABLE_VERSION, "version", "table");
	printf("vcompc %s\n", t->vcompc_version);
	invariant((t->ncluster_accept == 0) == (t->cluster_accept == NULL),
		  "cluster_accept set exactly when ncluster_accept > 0", "table");
	invariant(t->self < t->nnodes, "self < nnodes", "table");
	printf("self %u %s\n", (unsigned)t->self,
	       t->self < t->nnodes ? t->nodes[t->self].name : "?");
	for (unsigned i = 0; i < t->nnodes; i++) {
		printf("node %u %s ", i, t->nodes[i].name);
		print_endpoint("peer", &t->nodes[i].peer);
	}
	print_endpoint("server", &t->server);
	print_endpoint("listen", &t->listen);
	print_endpoint("stats", &t->stats);
	printf("cluster_secret %s:%s\n", secret_kind(t->cluster_secret.kind),
	       t->cluster_secret.ref ? t->cluster_secret.ref : "-");
	printf("limit queue_bytes %" PRIu64 "\n", l->queue_bytes);
	printf("limit queue_age_ms %" PRIu32 "\n", l->queue_age_ms);
	printf("limit max_stanza %" PRIu32 "\n", l->max_stanza);
	printf("limit output_cap %" PRIu32 "\n", l->output_cap);
	printf("limit routes %" PRIu32 "\n", l->routes);
	printf("limit keepalive_ms %" PRIu32 "\n", l->keepalive_ms);
	printf("limit peer_timeout_ms %" PRIu32 "\n", l->peer_timeout_ms);
	printf("limit backoff_min_ms %" PRIu32 "\n", l->backoff_min_ms);
	printf("limit backoff_max_ms %" PRIu32 "\n", l->backoff_max_ms);
	printf("limit drain_ms %" PRIu32 "\n", l->drain_ms);

	int homes_any = 0;
	for (uint32_t i = 0; i < t->ncomponents; i++) {
		const struct vc_component *c = &t->components[i];
		int here = 0;

		invariant(strlen(c->domain) == c->domain_len, "domain_len",
			  c->domain);
		invariant(i == 0 || domain_cmp(&t->components[i - 1], c) < 0,
			  "components sorted by domain", c->domain);
		printf("component %" PRIu32 " %s name=%s role=%s disco=%s homes=",
		       i, c->domain, c->name,
		       c->role == VC_ROLE_HOME ? "home" : "virtual",
		       c->disco == VC_DISCO_FORWARD ? "forward" : "local");
		for (unsigned h = 0; h < c->nhomes; h++) {
			invariant(c->homes[h] < t->nnodes, "home index",
				  c->domain);
			if (c->homes[h] == t->self)
				here = 1;
			printf("%s%s", h ? "," : "",
			       c->homes[h] < t->nnodes ? t->nodes[c->homes[h]].name : "?");
		}
		invariant(here == (c->role == VC_ROLE_HOME), "role matches homes",
			  c->domain);
		invariant(c->id != 0, "component id is not 0", c->domain);
		invariant(c->compat != NULL && strlen(c->compat) == 64,
			  "compat digest is 64 hex digits", c->domain);
		invariant((c->naccept == 0) == (c->accept == NULL),
			  "accept set exactly when naccept > 0", c->domain);
		for (uint32_t j = 0; j < i; j++)
			invariant(t->components[j].id != c->id,
				  "component ids are unique", c->domain);
		homes_any |= here;
		printf(" secret=%s:%s disco_node=%s ver=%s\n",
		       secret_kind(c->secret.kind),
		       c->secret.ref ? c->secret.ref : "-",
		       c->disco_node ? c->disco_node : "-", c->caps_ver);
		invariant(c->query != NULL && strlen(c->query) == c->query_len,
			  "query_len", c->domain);
		printf("query %" PRIu32 " %s\n", i, c->query);
		invariant((c->disco_node == NULL) == (c->query_node == NULL),
			  "query_node exactly when disco_node", c->domain);
		if (c->query_node != NULL) {
			invariant(strlen(c->query_node) == c->query_node_len,
				  "query_node_len", c->domain);
			printf("query_node %" PRIu32 " %s\n", i, c->query_node);
		}
	}
	invariant(homes_any == (t->listen.host != NULL),
		  "listen set exactly when this node homes a component", "table");
	return bad;
}
