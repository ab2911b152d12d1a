/*
 * emit_json.c — --emit=json: the IR as one node sees it, as pretty JSON
 * (like dtc's -O dts or a printconf: what did vcompc understand?).
 *
 * The document shows every node, every component with its role on this
 * node, homes, identities, the advertised features, the disco node, the
 * XEP-0115 ver and the limits.  Secrets appear only as their source; an
 * inline secret (Tigase's --cluster-nodes password) is shown as
 * "inline (in NODE.secrets)", never its value.  Components are in the
 * same order as in the generated C (by domain), so the two can be read
 * side by side.  Output is deterministic.
 *
 * Memory: scratch strings are arena memory (released at exit).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "vcompc.h"

/* Writes s as a JSON string.  Controls become \uXXXX; bytes >= 0x80
 * pass through, since the front ends only accept UTF-8 text. */
static void
json_str(FILE *out, const char *s)
{
	if (s == NULL) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", out);
		else if (ch == '\t')
			fputs("\\t", out);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void
json_endpoint(FILE *out, const struct ir_endpoint *e)
{
	if (e->host.s == NULL) {
		fputs("null", out);
		return;
	}
	const char *s = strchr(e->host.s, ':') != NULL
	    ? xprintf("[%s]:%d", e->host.s, e->port)
	    : xprintf("%s:%d", e->host.s, e->port);
	json_str(out, s);
}

static void
json_secret(FILE *out, const struct ir_secret *s, const char *node)
{
	switch (s->kind) {
	case SECRET_FILE:
		fputs("{ \"file\": ", out);
		json_str(out, s->ref.s);
		fputs(" }", out);
		break;
	case SECRET_ENV:
		fputs("{ \"env\": ", out);
		json_str(out, s->ref.s);
		fputs(" }", out);
		break;
	case SECRET_INLINE:
		json_str(out, xprintf("inline (in %s.secrets)", node));
		break;
	default:
		fputs("null", out);
	}
}

/* A secret list's older entries, when there are any:
 * ",\n<indent>"key": [ ... ]". */
static void
json_accept(FILE *out, const char *indent, const char *key,
	    const struct ir_secret *v, size_t n, const char *node)
{
	if (n == 0)
		return;
	fprintf(out, ",\n%s\"%s\": [", indent, key);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : " ", out);
		json_secret(out, &v[i], node);
	}
	fputs(" ]", out);
}

static void
json_component(FILE *out, const struct ir_spec *spec, size_t node,
	       const struct ir_component *c)
{
	const char *self = spec->nodes[node].name.s;
	bool home = false;
	size_t nf;
	const char **f = disco_features(c, &nf);
	char ver[29];

	for (size_t h = 0; h < c->nhomes; h++)
		home = home || strcmp(c->homes[h].s, self) == 0;
	caps_ver(c->ids, c->nids, f, nf, NULL, 0, ver);

	fputs("    {\n      \"domain\": ", out);
	json_str(out, c->domain.s);
	fputs(",\n      \"name\": ", out);
	json_str(out, c->name.s);
	fprintf(out, ",\n      \"role\": \"%s\",\n      \"homes\": [",
		home ? "home" : "virtual");
	for (size_t h = 0; h < c->nhomes; h++) {
		fputs(h ? ", " : "", out);
		json_str(out, c->homes[h].s);
	}
	fprintf(out, "],\n      \"disco\": \"%s\",\n      \"disco_node\": ",
		c->disco == DISCO_FORWARD ? "forward" : "local");
	json_str(out, c->disco_node.s != NULL && c->disco_node.s[0] != '\0'
		 ? c->disco_node.s : NULL);
	fputs(",\n      \"identities\": [", out);
	for (size_t i = 0; i < c->nids; i++) {
		const struct ir_identity *id = &c->ids[i];
		fputs(i ? ",\n        { " : "\n        { ", out);
		fputs("\"category\": ", out);
		json_str(out, id->category.s);
		fputs(", \"type\": ", out);
		json_str(out, id->type.s);
		fputs(", \"name\": ", out);
		json_str(out, id->name.s);
		fputs(", \"lang\": ", out);
		json_str(out, id->lang.s);
		fputs(" }", out);
	}
	fputs(c->nids ? "\n      ],\n" : "],\n", out);
	fputs("      \"features\": [", out);
	for (size_t i = 0; i < nf; i++) {
		fputs(i ? ",\n        " : "\n        ", out);
		json_str(out, f[i]);
	}
	fputs(nf ? "\n      ],\n" : "],\n", out);
	fputs("      \"caps_ver\": ", out);
	json_str(out, ver);
	fputs(",\n      \"secret\": ", out);
	json_secret(out, &c->secret, self);
	json_accept(out, "      ", "secret_also_accepted", c->accept,
		    c->naccept, self);
	fprintf(out, ",\n      \"id\": %" PRIu32 ",\n      \"compat\": \"",
		c->id);
	for (size_t i = 0; i < sizeof c->compat; i++)
		fprintf(out, "%02x", c->compat[i]);
	fputs("\"", out);
	fputs("\n    }", out);
}

void
emit_json(FILE *out, const struct ir_spec *spec, size_t node)
{
	const struct ir_limits *l = &spec->limits;
	const char *self = spec->nodes[node].name.s;
	const char *name = spec->path;
	size_t *order = compat_table_order(spec);

	/* Same rule as the C banner: no absolute path of this machine. */
	if (name[0] == '/' && strrchr(name, '/')[1] != '\0')
		name = strrchr(name, '/') + 1;

	fprintf(out, "{\n  \"vcompc\": \"%s\",\n  \"spec\": ", VCOMPC_VERSION);
	json_str(out, name);
	fprintf(out, ",\n  \"format\": \"%s\",\n  \"node\": ",
		spec->format == FMT_YAML ? "yaml" :
		spec->format == FMT_TDSL ? "tdsl" : "properties");
	json_str(out, self);
	fprintf(out, ",\n  \"self\": %zu,\n  \"nodes\": [", node);
	for (size_t i = 0; i < spec->nnodes; i++) {
		const struct ir_node *n = &spec->nodes[i];
		fputs(i ? ",\n    { \"name\": " : "\n    { \"name\": ", out);
		json_str(out, n->name.s);
		fputs(", \"server\": ", out);
		json_endpoint(out, &n->server);
		fputs(", \"peer\": ", out);
		json_endpoint(out, &n->peer);
		fputs(", \"listen\": ", out);
		json_endpoint(out, &n->listen);
		fputs(", \"stats\": ", out);
		json_endpoint(out, &n->stats);
		fputs(" }", out);
	}
	fputs(spec->nnodes ? "\n  ],\n" : "],\n", out);
	fputs("  \"cluster_secret\": ", out);
	json_secret(out, &spec->cluster_secret, self);
	json_accept(out, "  ", "cluster_secret_also_accepted",
		    spec->cluster_accept, spec->ncluster_accept, self);
	fprintf(out, ",\n  \"peer_encryption\": \"%s\"",
		spec->peer_encryption == PEER_ENC_NONE ? "none" : "tls");
	fprintf(out, ",\n  \"servers\": \"%s\"",
		spec->servers == SERVERS_CLUSTERED ? "clustered" : "independent");
	fputs(",\n  \"limits\": {\n", out);
	for (enum limit_index k = 0; k < LIM_COUNT; k++)
		fprintf(out, "    \"%s\": %llu%s\n", limit_fields[k],
			(unsigned long long)ir_limit_get(l, k),
			k + 1 < LIM_COUNT ? "," : "\n  },");

	fputs("  \"components\": [", out);
	for (size_t k = 0; k < spec->ncomponents; k++) {
		fputs(k ? ",\n" : "\n", out);
		json_component(out, spec, node, &spec->components[order[k]]);
	}
	fputs(spec->ncomponents ? "\n  ]\n}\n" : "]\n}\n", out);
}
