/*
 * emit_dot.c — a picture of the whole cluster for Graphviz (--emit=dot).
 *
 * One box ("cluster" subgraph) per node, holding the node's XMPP server,
 * its runtime (vcomp-NODE, with the addresses it listens on) and, per
 * component, either the real component (on a home, with its place in the
 * failover order) or the virtual one.  Between nodes: the peer links that
 * will exist (a pair is linked when either node homes something, the rule
 * runtime/peer_proto.c applies), and from each virtual component an arrow
 * to every home, labelled with its place in the failover order.
 *
 * The output depends only on the spec: nodes and components in the order
 * the spec gives them, no dates, no path but the spec's display name,
 * and no secrets (only where a secret comes from is known here, and even
 * that is left out).  `dot -Tsvg` renders it.
 */
#include <stdio.h>
#include <string.h>

#include "vcompc.h"

/* Writes s as the inside of a DOT double-quoted string. */
static void
dot_str(FILE *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

/* "host:port", "[v6]:port", or NULL when the endpoint is not given. */
static const char *
endpoint_text(const struct ir_endpoint *e)
{
	if (e->host.s == NULL || e->host.s[0] == '\0')
		return NULL;
	if (strchr(e->host.s, ':') != NULL)
		return xprintf("[%s]:%d", e->host.s, e->port);
	return xprintf("%s:%d", e->host.s, e->port);
}

/* The place (1-based) of node in c's failover order; 0 if not a home. */
static size_t
home_rank(const struct ir_component *c, const char *node)
{
	for (size_t i = 0; i < c->nhomes; i++)
		if (strcmp(c->homes[i].s, node) == 0)
			return i + 1;
	return 0;
}

static bool
homes_something(const struct ir_spec *spec, const char *node)
{
	for (size_t i = 0; i < spec->ncomponents; i++)
		if (home_rank(&spec->components[i], node) > 0)
			return true;
	return false;
}

static void
emit_node(FILE *out, const struct ir_spec *spec, const struct ir_node *n)
{
	const char *name = n->name.s, *ep;

	fputs("\tsubgraph \"cluster_", out);
	dot_str(out, name);
	fputs("\" {\n\t\tlabel=\"", out);
	dot_str(out, name);
	fputs("\";\n\t\tstyle=rounded; color=\"#7f8c9a\";\n", out);

	fputs("\t\t\"", out);
	dot_str(out, name);
	fputs("/server\" [shape=cylinder, label=\"XMPP server\\n", out);
	dot_str(out, endpoint_text(&n->server));
	fputs("\"];\n", out);

	fputs("\t\t\"", out);
	dot_str(out, name);
	fputs("/runtime\" [shape=box, style=\"rounded,filled\", "
	    "fillcolor=\"#dce9f7\", label=\"vcomp-", out);
	dot_str(out, name);
	if ((ep = endpoint_text(&n->peer)) != NULL && spec->nnodes > 1) {
		fputs("\\npeer ", out);
		dot_str(out, ep);
	}
	if ((ep = endpoint_text(&n->listen)) != NULL &&
	    homes_something(spec, name)) {
		fputs("\\nlisten ", out);
		dot_str(out, ep);
	}
	if ((ep = endpoint_text(&n->stats)) != NULL) {
		fputs("\\nstats ", out);
		dot_str(out, ep);
	}
	fputs("\"];\n", out);

	fputs("\t\t\"", out);
	dot_str(out, name);
	fputs("/server\" -> \"", out);
	dot_str(out, name);
	fprintf(out, "/runtime\" [dir=both, label=\"XEP-0114 x%zu\"];\n",
	    spec->ncomponents);

	for (size_t i = 0; i < spec->ncomponents; i++) {
		const struct ir_component *c = &spec->components[i];
		size_t rank = home_rank(c, name);

		fputs("\t\t\"", out);
		dot_str(out, name);
		fputc('/', out);
		dot_str(out, c->domain.s);
		if (rank > 0) {
			fputs("\" [shape=component, style=filled, "
			    "fillcolor=\"#d5f0d5\", label=\"", out);
			dot_str(out, c->domain.s);
			if (c->nhomes > 1)
				fprintf(out, "\\nhome %zu of %zu%s", rank,
				    c->nhomes, rank == 1 ? " (first choice)" :
				    "");
			else
				fputs("\\nhome", out);
			fputs("\"];\n", out);
		} else {
			fputs("\" [shape=box, style=\"dashed,rounded\", "
			    "label=\"", out);
			dot_str(out, c->domain.s);
			fputs("\\nvirtual\"];\n", out);
		}
		fputs("\t\t\"", out);
		dot_str(out, name);
		fputs("/runtime\" -> \"", out);
		dot_str(out, name);
		fputc('/', out);
		dot_str(out, c->domain.s);
		fputs(rank > 0 ? "\" [dir=both, label=\"XEP-0114\"];\n" :
		    "\" [arrowhead=none, style=dashed];\n", out);
	}
	fputs("\t}\n", out);
}

void
emit_dot(FILE *out, const struct ir_spec *spec, const struct emit_opts *o)
{
	fputs("// The vcomp cluster of ", out);
	fputs(o->spec_name, out);
	fputs(", drawn by vcompc --emit=dot.\n"
	    "// Render: dot -Tsvg -o cluster.svg cluster.dot\n", out);
	fputs("digraph \"vcomp\" {\n"
	    "\tgraph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, "
	    "labelloc=t, newrank=true, label=\"vcomp cluster: ", out);
	dot_str(out, o->spec_name);
	fprintf(out, " (%zu node%s, %zu component%s)\"];\n", spec->nnodes,
	    spec->nnodes == 1 ? "" : "s", spec->ncomponents,
	    spec->ncomponents == 1 ? "" : "s");
	fputs("\tnode [fontname=\"Helvetica\", fontsize=10];\n"
	    "\tedge [fontname=\"Helvetica\", fontsize=9];\n", out);
	for (size_t i = 0; i < spec->nnodes; i++)
		emit_node(out, spec, &spec->nodes[i]);

	/* The peer links: a pair is linked when either node is a home. */
	for (size_t a = 0; a < spec->nnodes; a++)
		for (size_t b = a + 1; b < spec->nnodes; b++) {
			const char *na = spec->nodes[a].name.s;
			const char *nb = spec->nodes[b].name.s;

			if (!homes_something(spec, na) &&
			    !homes_something(spec, nb))
				continue;
			fputs("\t\"", out);
			dot_str(out, na);
			fputs("/runtime\" -> \"", out);
			dot_str(out, nb);
			fputs("/runtime\" [dir=none, penwidth=2, "
			    "color=\"#2c5d8f\", label=\"peer link\"];\n", out);
		}

	/* Where each virtual component sends its stanzas, in failover
	 * order. */
	for (size_t i = 0; i < spec->ncomponents; i++) {
		const struct ir_component *c = &spec->components[i];

		for (size_t n = 0; n < spec->nnodes; n++) {
			const char *name = spec->nodes[n].name.s;

			if (home_rank(c, name) > 0)
				continue;
			for (size_t h = 0; h < c->nhomes; h++) {
				fputs("\t\"", out);
				dot_str(out, name);
				fputc('/', out);
				dot_str(out, c->domain.s);
				fputs("\" -> \"", out);
				dot_str(out, c->homes[h].s);
				fputc('/', out);
				dot_str(out, c->domain.s);
				fprintf(out, "\" [style=dotted, color=\"#3a7d3a\", "
				    "constraint=false, label=\"%zu\"];\n", h + 1);
			}
		}
	}
	fputs("}\n", out);
}
