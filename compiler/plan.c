/*
 * plan.c — `vcompc plan OLD NEW`: what a change of the spec does to each
 * node, in which order to roll it through the cluster one node at a time,
 * and whether it can roll at all without an outage.
 *
 * A roll is safe when, at every moment of it, any two nodes of which one
 * runs the old binary and the other the new one still authenticate each
 * other, agree on who dials whom, find each other where they listen, and
 * forward every component both define compatibly (compat.c); the
 * protocol's rules behind each refusal are in docs/peer-protocol.md and
 * the steps for each kind of change in docs/guide.md, "Rolling changes".
 *
 * Nodes are matched by name and components by domain, never by position.
 * "Binary unchanged" is decided by rendering each node's table from both
 * specs (emit_c, under the same spec name) and comparing the bytes: the
 * binary is a function of that table, the runtime library and the C
 * compiler, so a pipeline may skip deploying such a node.
 *
 * Output: the plan on standard output; every refusal as a diagnostic on
 * standard error, at the place in the new spec (or the old one, for what
 * it removes) that causes it, tagged [plan-...].  Exit status 0: the
 * change can roll; 1: it cannot (or a spec has errors); 2: usage.
 *
 * Memory: arena (vcompc.h), except the rendered tables (heap, freed here).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vcompc.h"

/* ------------------------------------------------------------ usage */

static void
plan_usage(FILE *f)
{
	fputs(
"Usage: vcompc plan [OPTION]... OLD NEW\n"
"Compare two cluster specs: print what changes for each node, which\n"
"binaries are unchanged, and the order in which to roll the change through\n"
"the cluster one node at a time.  Exits 1, saying why, when the change\n"
"cannot roll without an outage.\n"
"\n"
"      --format=FORMAT    yaml, properties or tdsl, for both specs\n"
"                         (default: by extension)\n"
"  -h, --help             print this help and exit\n"
"\n"
"Exit status: 0 the change can roll, 1 it cannot or a spec has errors,\n"
"2 usage error.  See vcompc(1) and docs/guide.md, \"Rolling changes\".\n",
	    f);
}

static int
format_of(const char *path, int given)
{
	size_t n = strlen(path);

	if (given >= 0)
		return given;
	if ((n >= 5 && strcmp(path + n - 5, ".yaml") == 0) ||
	    (n >= 4 && strcmp(path + n - 4, ".yml") == 0))
		return FMT_YAML;
	if (n >= 11 && strcmp(path + n - 11, ".properties") == 0)
		return FMT_PROPERTIES;
	if (n >= 5 && strcmp(path + n - 5, ".tdsl") == 0)
		return FMT_TDSL;
	cli_usage_error("vcompc plan", "cannot tell the format of '%s' from its name; use --format=yaml or --format=properties",
			 path);
}

/* ------------------------------------------------------------ lookups */

static long
node_ix(const struct ir_spec *s, const char *name)
{
	for (size_t i = 0; i < s->nnodes; i++)
		if (strcmp(s->nodes[i].name.s, name) == 0)
			return (long)i;
	return -1;
}

static const struct ir_component *
comp_by_domain(const struct ir_spec *s, const char *domain)
{
	for (size_t i = 0; i < s->ncomponents; i++)
		if (strcmp(s->components[i].domain.s, domain) == 0)
			return &s->components[i];
	return NULL;
}

static bool
in_homes(const struct ir_component *c, const char *node)
{
	for (size_t h = 0; h < c->nhomes; h++)
		if (strcmp(c->homes[h].s, node) == 0)
			return true;
	return false;
}

/* Do nodes a and b (indexes of s) need a peer link?  The runtime's rule
 * (peer_proto.c, peer_pair_needed): one of them homes something. */
static bool
homes_any(const struct ir_spec *s, size_t n)
{
	for (size_t i = 0; i < s->ncomponents; i++)
		if (in_homes(&s->components[i], s->nodes[n].name.s))
			return true;
	return false;
}

static bool
same_source(const struct ir_secret *a, const struct ir_secret *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == SECRET_NONE)
		return true;
	return a->ref.s != NULL && b->ref.s != NULL &&
	    strcmp(a->ref.s, b->ref.s) == 0;
}

/* Is `s` one of first + rest[0..n)? */
static bool
in_list(const struct ir_secret *s, const struct ir_secret *first,
	const struct ir_secret *rest, size_t n)
{
	if (same_source(s, first))
		return true;
	for (size_t i = 0; i < n; i++)
		if (same_source(s, &rest[i]))
			return true;
	return false;
}

static const char *
source_str(const struct ir_secret *s)
{
	switch (s->kind) {
	case SECRET_FILE:
		return xprintf("{file: %s}", s->ref.s);
	case SECRET_ENV:
		return xprintf("{env: %s}", s->ref.s);
	case SECRET_INLINE:
		return "the inline --cluster-nodes password";
	default:
		return "none";
	}
}

static const char *
list_str(const struct ir_secret *first, const struct ir_secret *rest,
	 size_t n)
{
	struct buf b = { 0 };
	const char *r;

	buf_puts(&b, "[");
	buf_puts(&b, source_str(first));
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, ", ");
		buf_puts(&b, source_str(&rest[i]));
	}
	buf_puts(&b, "]");
	r = xstrndup(b.data, b.len);
	buf_free(&b);
	return r;
}

static const char *
homes_str(const struct ir_component *c)
{
	struct buf b = { 0 };
	const char *r;

	buf_puts(&b, "[");
	for (size_t h = 0; h < c->nhomes; h++)
		buf_printf(&b, "%s%s", h ? ", " : "", c->homes[h].s);
	buf_puts(&b, "]");
	r = xstrndup(b.data, b.len);
	buf_free(&b);
	return r;
}

static bool
same_endpoint(const struct ir_endpoint *a, const struct ir_endpoint *b)
{
	if ((a->host.s == NULL) != (b->host.s == NULL))
		return false;
	return (a->host.s == NULL || strcmp(a->host.s, b->host.s) == 0) &&
	    a->port == b->port;
}

/* The disco#info answer of a component, as the table holds it. */
static bool
same_disco(const struct ir_component *a, const struct ir_component *b)
{
	char *qa = disco_render_query(a, true), *qb = disco_render_query(b, true);
	bool same = strcmp(qa, qb) == 0 && a->disco == b->disco;

	free(qa);
	free(qb);
	return same;
}

/* ------------------------------------------------------------ the plan */

/* A change, and which nodes' tables it touches: every node (node NULL),
 * or one node (its name). */
struct change {
	const char *what;
	const char *node;
};

struct plan {
	const struct ir_spec *old, *new;
	struct change *ch;
	size_t nch;
	const char **notes;
	size_t nnotes;
	int refused;
};

static void
change(struct plan *p, const char *node, const char *what)
{
	struct change *c = IR_PUSH(p->ch, p->nch);

	c->what = what;
	c->node = node;
}

static void
note(struct plan *p, const char *text)
{
	*IR_PUSH(p->notes, p->nnotes) = text;
}

/* A change that cannot roll: one diagnostic at pos, tagged. */
static void
refuse(struct plan *p, const struct pos *pos, const char *check,
       const char *msg)
{
	diag(DIAG_ERROR, pos, check, "%s", msg);
	p->refused++;
}

static void
compare_cluster(struct plan *p)
{
	const struct ir_spec *o = p->old, *n = p->new;
	bool links = o->nnodes > 1 || n->nnodes > 1;

	if (!same_source(&o->cluster_secret, &n->cluster_secret) ||
	    o->ncluster_accept != n->ncluster_accept ||
	    strcmp(list_str(&o->cluster_secret, o->cluster_accept,
			    o->ncluster_accept),
		   list_str(&n->cluster_secret, n->cluster_accept,
			    n->ncluster_accept)) != 0)
		change(p, NULL, xprintf("cluster secret %s -> %s",
		    list_str(&o->cluster_secret, o->cluster_accept,
			     o->ncluster_accept),
		    list_str(&n->cluster_secret, n->cluster_accept,
			     n->ncluster_accept)));
	/*
	 * While the roll is half done a rolled node proves with the new
	 * first secret and must be accepted by the old list; a node not yet
	 * rolled proves with the old first one and must be accepted by the
	 * new list.
	 */
	if (o->peer_encryption != n->peer_encryption) {
		const char *a = o->peer_encryption == PEER_ENC_NONE ?
		    "none" : "tls";
		const char *b = n->peer_encryption == PEER_ENC_NONE ?
		    "none" : "tls";

		change(p, NULL, xprintf("peer-encryption %s -> %s", a, b));
		/* A TLS end and a plaintext end never complete a handshake. */
		if (links)
			refuse(p, n->peer_encryption_pos.line > 0 ?
			    &n->peer_encryption_pos : &n->cluster_secret.pos,
			    "plan-peer-encryption",
			    xprintf("peer-encryption changes from %s to %s: a node with TLS and a node without cannot talk, so every link between a rolled node and one not yet rolled would stay down for the whole roll; change it with the cluster stopped",
				    a, b));
	}
	if (o->servers != n->servers)
		change(p, NULL, xprintf("servers %s -> %s (local to each runtime: where replies go while a user's node is away)",
		    o->servers == SERVERS_CLUSTERED ? "clustered" : "independent",
		    n->servers == SERVERS_CLUSTERED ? "clustered" : "independent"));
	if (!links)
		return;
	if (!in_list(&n->cluster_secret, &o->cluster_secret,
		     o->cluster_accept, o->ncluster_accept))
		refuse(p, &n->cluster_secret.pos, "plan-cluster-secret",
		    xprintf("rolled nodes would prove with %s, which the nodes not yet rolled do not accept: no link between them would authenticate; rotate in three rolls: secret: [OLD, NEW], then [NEW, OLD], then [NEW]",
			    source_str(&n->cluster_secret)));
	else if (!in_list(&o->cluster_secret, &n->cluster_secret,
			  n->cluster_accept, n->ncluster_accept))
		refuse(p, &n->cluster_secret.pos, "plan-cluster-secret",
		    xprintf("the nodes not yet rolled prove with %s, which the new list does not accept: no link between them and the rolled nodes would authenticate; keep it in the list for this roll",
			    source_str(&o->cluster_secret)));
}

static void
compare_limits(struct plan *p)
{
	const struct ir_limits *a = &p->old->limits, *b = &p->new->limits;

	if (memcmp(a, b, sizeof *a) != 0)
		change(p, NULL, "limits changed (local to each runtime)");
	if (b->max_stanza < a->max_stanza)
		note(p, xprintf("max-stanza shrinks from %u to %u bytes: a node not yet rolled may still forward a stanza between the two sizes, which a rolled node refuses by closing the link (the frame is sent again); roll while no such stanza is expected",
		    a->max_stanza, b->max_stanza));
}

static void
compare_nodes(struct plan *p)
{
	const struct ir_spec *o = p->old, *n = p->new;
	long last = -1;
	bool order_ok = true, moved = false;

	for (size_t i = 0; i < o->nnodes; i++) {
		const struct ir_node *on = &o->nodes[i];
		long j = node_ix(n, on->name.s);

		if (j < 0) {
			change(p, NULL, xprintf("node %s removed", on->name.s));
			continue;
		}
		const struct ir_node *nn = &n->nodes[j];
		/* Who dials is decided by the node order: the lower dials. */
		if (j < last) {
			if (order_ok)
				refuse(p, &nn->name.pos, "plan-node-order",
				    xprintf("node %s moves before a node it followed: the lower of two nodes dials the other, so while one of them runs the old binary and the other the new one, both wait for the other to dial (or both dial and refuse); keep the order of the existing nodes",
					    nn->name.s));
			order_ok = false;
		}
		moved |= (size_t)j != i;
		if (j > last)
			last = j;
		if (!same_endpoint(&on->peer, &nn->peer)) {
			change(p, NULL, xprintf("node %s: peer address %s:%d -> %s:%d",
			    nn->name.s, on->peer.host.s, on->peer.port,
			    nn->peer.host.s, nn->peer.port));
			for (size_t k = 0; k < (size_t)j; k++) {
				if (!homes_any(n, k) && !homes_any(n, (size_t)j))
					continue;
				refuse(p, &nn->peer.pos, "plan-peer-address",
				    xprintf("node %s's peer address changes, and node %s dials it: while one of the two is rolled and the other not, one dials the address the other does not listen on; change the address in a maintenance window, or add a node with the new address and remove the old one",
					    nn->name.s, n->nodes[k].name.s));
				break;
			}
		}
		if (!same_endpoint(&on->server, &nn->server))
			change(p, nn->name.s, "its XMPP server address changed");
		if (!same_endpoint(&on->listen, &nn->listen))
			change(p, nn->name.s, "its home listener address changed (real components homed here reconnect to the new one)");
		if (!same_endpoint(&on->stats, &nn->stats))
			change(p, nn->name.s, "its stats address changed");
	}
	for (size_t j = 0; j < n->nnodes; j++)
		if (node_ix(o, n->nodes[j].name.s) < 0)
			change(p, NULL, xprintf("node %s added",
						n->nodes[j].name.s));
	if (moved)
		change(p, NULL, "node indexes change (the order of 'nodes')");
}

static void
compare_components(struct plan *p)
{
	const struct ir_spec *o = p->old, *n = p->new;

	for (size_t i = 0; i < o->ncomponents; i++) {
		const struct ir_component *oc = &o->components[i];
		const struct ir_component *nc = comp_by_domain(n, oc->domain.s);

		if (nc != NULL)
			continue;
		change(p, NULL, xprintf("component %s removed (was homed on %s)",
		    oc->domain.s, homes_str(oc)));
		/* The same Tigase name under another domain: a move. */
		for (size_t k = 0; k < n->ncomponents; k++) {
			const struct ir_component *m = &n->components[k];
			if (comp_by_domain(o, m->domain.s) != NULL ||
			    oc->name.s == NULL || m->name.s == NULL ||
			    strcmp(oc->name.s, m->name.s) != 0)
				continue;
			refuse(p, &m->domain.pos, "plan-domain",
			    xprintf("component '%s' moves from %s to %s: the domain is the component's identity, and what users hold (rooms joined, subscriptions, rosters) is addressed to %s, which no node serves once it is rolled; add %s beside %s in one roll, move the users, then remove %s in another",
				    m->name.s, oc->domain.s, m->domain.s,
				    oc->domain.s, m->domain.s, oc->domain.s,
				    oc->domain.s));
		}
	}
	for (size_t k = 0; k < n->ncomponents; k++) {
		const struct ir_component *nc = &n->components[k];
		const struct ir_component *oc = comp_by_domain(o, nc->domain.s);

		if (oc == NULL) {
			change(p, NULL, xprintf("component %s added (home %s)",
			    nc->domain.s, homes_str(nc)));
			continue;
		}
		if (!same_disco(oc, nc))
			change(p, NULL, xprintf("component %s: disco#info answer changed (each node answers from its own table)",
			    nc->domain.s));
		if (strcmp(homes_str(oc), homes_str(nc)) != 0) {
			bool common = false;
			struct buf both = { 0 };

			change(p, NULL, xprintf("component %s: home %s -> %s",
			    nc->domain.s, homes_str(oc), homes_str(nc)));
			for (size_t h = 0; h < nc->nhomes; h++) {
				if (in_homes(oc, nc->homes[h].s)) {
					buf_printf(&both, "%s%s",
					    common ? " or " : "",
					    nc->homes[h].s);
					common = true;
				}
			}
			if (!common)
				refuse(p, &nc->homes[0].pos, "plan-home",
				    xprintf("component %s has no home in both %s and %s: while the roll is half done, rolled nodes look for the real component where the others do not, and one side always misses it; first add a new home to the old list (one roll), move the real component there, then drop the old home (another roll)",
					    nc->domain.s, homes_str(oc),
					    homes_str(nc)));
			else
				note(p, xprintf("%s: keep the real component connected to %s (in both home lists) until every node is rolled",
				    nc->domain.s, both.data));
			buf_free(&both);
		}
		if (strcmp(list_str(&oc->secret, oc->accept, oc->naccept),
			   list_str(&nc->secret, nc->accept, nc->naccept)) != 0) {
			bool common = false;

			change(p, NULL, xprintf("component %s: secret %s -> %s",
			    nc->domain.s,
			    list_str(&oc->secret, oc->accept, oc->naccept),
			    list_str(&nc->secret, nc->accept, nc->naccept)));
			if (in_list(&oc->secret, &nc->secret, nc->accept,
				    nc->naccept))
				common = true;
			for (size_t s = 0; s < oc->naccept && !common; s++)
				common = in_list(&oc->accept[s], &nc->secret,
				    nc->accept, nc->naccept);
			/*
			 * The real component keeps the secret it has; a home
			 * restarted with the new binary must accept it.
			 */
			if (!common)
				refuse(p, &nc->secret.pos, "plan-component-secret",
				    xprintf("component %s's new secret list accepts none of the old one's: when its home restarts with the new binary, the real component reconnects with the secret it has and is refused; roll secret: [OLD, NEW] first, switch the real component to NEW, then roll [NEW]",
					    nc->domain.s));
			if (!same_source(&oc->secret, &nc->secret))
				note(p, xprintf("%s: each runtime's upstream now authenticates with %s: give each node's XMPP server that component secret when its binary is deployed",
				    nc->domain.s, source_str(&nc->secret)));
		}
	}
}

/* Renders node `name`'s table from s into a heap string; NULL when s has
 * no such node. */
static char *
render(const struct ir_spec *s, const char *name)
{
	long i = node_ix(s, name);
	struct emit_opts eo = { .spec_name = "spec" };
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (i < 0)
		return NULL;
	if ((f = open_memstream(&text, &len)) == NULL)
		die(1, "out of memory");
	emit_c(f, s, (size_t)i, &eo);
	if (fclose(f) != 0)
		die(1, "out of memory");
	return text;
}

/* The order rank of an existing node whose binary changes: homes of an
 * added component first (their real component can connect before anyone
 * forwards to it), homes of a removed component last (they keep serving
 * the nodes not yet rolled). */
static int
rank(const struct plan *p, const char *node)
{
	int r = 1;

	for (size_t k = 0; k < p->new->ncomponents; k++) {
		const struct ir_component *c = &p->new->components[k];
		if (comp_by_domain(p->old, c->domain.s) == NULL &&
		    in_homes(c, node))
			r = 0;
	}
	for (size_t i = 0; i < p->old->ncomponents; i++) {
		const struct ir_component *c = &p->old->components[i];
		if (comp_by_domain(p->new, c->domain.s) == NULL &&
		    in_homes(c, node))
			r = 2;
	}
	return r;
}

/* "node: new binary: ..." with what changes for this node in particular:
 * its own settings, the components it starts or stops homing. */
static void
print_node_changes(const struct plan *p, const char *name)
{
	bool global = false, first = true;

	printf("  %s: new binary:", name);
	for (size_t i = 0; i < p->nch; i++)
		global |= p->ch[i].node == NULL;
	if (global) {
		printf(" the cluster-wide changes above");
		first = false;
	}
	for (size_t i = 0; i < p->nch; i++) {
		if (p->ch[i].node == NULL || strcmp(p->ch[i].node, name) != 0)
			continue;
		printf("%s %s", first ? "" : ";", p->ch[i].what);
		first = false;
	}
	for (size_t k = 0; k < p->new->ncomponents; k++) {
		const struct ir_component *c = &p->new->components[k];
		const struct ir_component *oc = comp_by_domain(p->old,
		    c->domain.s);
		bool was = oc != NULL && in_homes(oc, name);

		if (in_homes(c, name) && !was)
			printf("%s becomes a home of %s (its real component may connect here)",
			       first ? "" : ";", c->domain.s);
		else if (!in_homes(c, name) && was)
			printf("%s no longer a home of %s", first ? "" : ";",
			       c->domain.s);
		else
			continue;
		first = false;
	}
	if (first)
		printf(" its table changes");
	putchar('\n');
}

static void
print_plan(struct plan *p)
{
	const struct ir_spec *o = p->old, *n = p->new;
	size_t nn = n->nnodes;
	bool *same = xmalloc(sizeof *same * (nn + 1));
	size_t step = 0;

	printf("plan: %s -> %s\n", o->path, n->path);
	printf("changes:%s\n", p->nch == 0 ? " none" : "");
	for (size_t i = 0; i < p->nch; i++)
		printf("  %s%s%s\n", p->ch[i].node ? p->ch[i].node : "",
		       p->ch[i].node ? ": " : "", p->ch[i].what);

	printf("nodes:\n");
	for (size_t i = 0; i < o->nnodes; i++)
		if (node_ix(n, o->nodes[i].name.s) < 0)
			printf("  %s: removed: stop it and take it out of service\n",
			       o->nodes[i].name.s);
	for (size_t j = 0; j < nn; j++) {
		const char *name = n->nodes[j].name.s;
		char *a = render(o, name), *b = render(n, name);

		same[j] = a != NULL && strcmp(a, b) == 0;
		if (a == NULL)
			printf("  %s: new node\n", name);
		else if (same[j])
			printf("  %s: binary unchanged\n", name);
		else
			print_node_changes(p, name);
		free(a);
		free(b);
	}

	printf("roll order:\n");
	for (size_t i = 0; i < o->nnodes; i++)
		if (node_ix(n, o->nodes[i].name.s) < 0)
			printf("  %zu. stop %s (removed; move its users to other nodes first)\n",
			       ++step, o->nodes[i].name.s);
	for (int r = 0; r <= 2; r++) {
		for (size_t j = 0; j < nn; j++) {
			const char *name = n->nodes[j].name.s;
			if (same[j] || node_ix(o, name) < 0 || rank(p, name) != r)
				continue;
			printf("  %zu. %s%s\n", ++step, name,
			       r == 0 ? " (a home of an added component: first)" :
			       r == 2 ? " (a home of a removed component: last of the existing nodes)" : "");
		}
	}
	for (size_t j = 0; j < nn; j++)
		if (node_ix(o, n->nodes[j].name.s) < 0)
			printf("  %zu. %s (new node: deploy it last, once every other node knows it)\n",
			       ++step, n->nodes[j].name.s);
	if (step == 0)
		printf("  nothing to deploy\n");
	for (size_t j = 0; j < nn; j++)
		if (same[j])
			printf("  skip %s (binary unchanged)\n", n->nodes[j].name.s);
	if (p->nnotes > 0) {
		printf("notes:\n");
		for (size_t i = 0; i < p->nnotes; i++)
			printf("  %s\n", p->notes[i]);
	}
	if (p->refused > 0)
		printf("cannot roll without an outage: %d problem%s (see the errors)\n",
		       p->refused, p->refused == 1 ? "" : "s");
	else
		printf("can roll one node at a time: install the binary over the running one, SIGUSR2 (upgrade in place), wait until its links are up, next\n");
}

int
plan_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ir_spec *old = xmalloc(sizeof *old), *new = xmalloc(sizeof *new);
	struct plan p;
	int format = -1, ch;
	bool ok;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if (strcmp(optarg, "yaml") == 0)
				format = FMT_YAML;
			else if (strcmp(optarg, "properties") == 0)
				format = FMT_PROPERTIES;
			else if (strcmp(optarg, "tdsl") == 0)
				format = FMT_TDSL;
			else
				cli_usage_error("vcompc plan", "invalid argument '%s' for '--format' (use yaml, properties or tdsl)",
						 optarg);
			break;
		case 'h':
			plan_usage(stdout);
			exit(fflush(stdout) == 0 ? 0 : 1);
		case ':':
			cli_usage_error("vcompc plan", "option '%s' requires an argument",
					 argv[optind - 1]);
		default:
			cli_usage_error("vcompc plan", "unrecognized option '%s'",
					 argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		cli_usage_error("vcompc plan", "give two specs, the one the cluster runs and the new one (%d given)",
				 argc - optind);
	/* Both are read and checked, so that every error of both is
	 * reported in one run. */
	ok = spec_load(argv[optind], format_of(argv[optind], format), old);
	ok = spec_load(argv[optind + 1], format_of(argv[optind + 1], format),
		       new) && ok;
	if (!ok || diag_failed())
		return 1;

	memset(&p, 0, sizeof p);
	p.old = old;
	p.new = new;
	compare_cluster(&p);
	compare_nodes(&p);
	compare_components(&p);
	compare_limits(&p);
	print_plan(&p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error_at(NULL, "cannot write standard output");
		return 1;
	}
	return p.refused > 0 ? 1 : 0;
}
