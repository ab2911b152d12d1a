/*
 * emit_c.c — the C back end: the routing table of one node, in the
 * layout of runtime/vcomp_table.h (the contract with the runtime).
 *
 * The output is deterministic — the same spec gives the same bytes — so
 * that builds can be cached and diffed:
 *   - components are sorted by domain (memcmp, then length), nodes keep
 *     their spec order (node indexes are part of the peer protocol);
 *   - the banner names only the spec as given on the command line (main.c
 *     passes a relative name), vcompc's version and the spec's SHA-256;
 *     no dates, host names or absolute paths;
 *   - every string comes from the IR through c_string(), whose escapes
 *     cannot merge with the characters after them.
 * Secrets are never written: a vc_secret names the file, the environment
 * variable or the key in NODE.secrets the runtime reads at start.
 *
 * Memory: the disco#info responses of every component are rendered once
 * per run (libxml2, heap), copied into the arena and cached for the other
 * nodes of an --all run (see disco_of); everything else is printed
 * straight to `out`.
 */
#include <stdlib.h>
#include <string.h>

#include "vcompc.h"
#include "vcomp_table.h"

/* Longest run of a string literal on one line of generated C. */
#define LITERAL_WIDTH 72

/* ------------------------------------------------------------ strings */

/*
 * Appends s[0..len) to b as the inside of a C string literal.  Printable
 * ASCII stays as it is; backslash, quote and the usual controls get their
 * short escapes; every other byte (controls, DEL, bytes >= 0x80) becomes a
 * three-digit octal escape, which — unlike \x — ends after three digits
 * and so cannot swallow a following digit.  A '?' after a '?' is escaped
 * so that no trigraph can form under -std=c17.
 */
static void
c_escape(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '?':
			buf_puts(b, i > 0 && s[i - 1] == '?' ? "\\?" : "?");
			break;
		default:
			if (ch >= 0x20 && ch < 0x7f)
				buf_add(b, &s[i], 1);
			else
				buf_printf(b, "\\%03o", ch);
		}
	}
}

/* A whole literal "..." or NULL, as a heap string the caller frees. */
static char *
c_string(const char *s)
{
	struct buf b = { 0 };

	if (s == NULL)
		return strdup("NULL");
	buf_puts(&b, "\"");
	c_escape(&b, s, strlen(s));
	buf_puts(&b, "\"");
	return b.data;
}

/* Renders a long string as adjacent literals, LITERAL_WIDTH bytes of
 * source per line, each line indented by one tab.  The split never falls
 * inside an escape sequence.  Returns an arena string: the disco cache
 * keeps it, so the escaping is done once per component, not once per node. */
static const char *
long_literal(const char *s)
{
	size_t len = strlen(s), i = 0;
	struct buf out = { 0 };

	if (len == 0)
		return "\n\t\"\"";
	while (i < len) {
		buf_puts(&out, "\n\t\"");
		size_t start = out.len;
		while (i < len && out.len - start < LITERAL_WIDTH) {
			/* Escape one byte at a time; a '?' needs its
			 * predecessor to decide, so look back. */
			if (s[i] == '?' && i > 0 && s[i - 1] == '?')
				buf_puts(&out, "\\?");
			else
				c_escape(&out, &s[i], 1);
			/* Prefer to end a line after a tag. */
			if (s[i++] == '>' && out.len - start >= LITERAL_WIDTH / 2 &&
			    i < len && s[i] == '<')
				break;
		}
		buf_puts(&out, "\"");
	}
	const char *r = xstrndup(out.data, out.len);
	buf_free(&out);
	return r;
}

/*
 * Comment text: generated comments show domains and node names, which
 * come from the spec.  "*" followed by "/" would end the comment, "/"
 * followed by "*" trips -Wcomment, and "??/" is a trigraph; anything not
 * printable ASCII is shown as '.'.  Returns an arena string.
 */
static const char *
comment_safe(const char *s)
{
	size_t len = strlen(s);
	char *o = xmalloc(len * 2 + 1), *p = o;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		char prev = p > o ? p[-1] : '\0';
		if (ch < 0x20 || ch >= 0x7f)
			ch = '.';
		if ((prev == '*' && ch == '/') || (prev == '/' && ch == '*') ||
		    (prev == '?' && ch == '?'))
			*p++ = ' ';
		*p++ = (char)ch;
	}
	*p = '\0';
	return o;
}

/* ------------------------------------------------------------ order */

static const struct ir_spec *sort_spec;

static int
cmp_domain(const void *a, const void *b)
{
	const struct ir_component *ca = &sort_spec->components[*(const size_t *)a];
	const struct ir_component *cb = &sort_spec->components[*(const size_t *)b];
	size_t la = strlen(ca->domain.s), lb = strlen(cb->domain.s);
	int r = memcmp(ca->domain.s, cb->domain.s, la < lb ? la : lb);

	if (r != 0)
		return r;
	return la < lb ? -1 : la > lb;
}

/* Component indexes in table order (by domain).  Arena. */
static size_t *
sorted_components(const struct ir_spec *spec)
{
	size_t *ix = xmalloc(sizeof *ix * (spec->ncomponents + 1));

	for (size_t i = 0; i < spec->ncomponents; i++)
		ix[i] = i;
	sort_spec = spec;
	qsort(ix, spec->ncomponents, sizeof *ix, cmp_domain);
	sort_spec = NULL;
	return ix;
}

static long
node_index(const struct ir_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nnodes; i++)
		if (strcmp(spec->nodes[i].name.s, name) == 0)
			return (long)i;
	return -1;
}

static bool
is_home(const struct ir_spec *spec, const struct ir_component *c, size_t node)
{
	for (size_t h = 0; h < c->nhomes; h++)
		if (strcmp(c->homes[h].s, spec->nodes[node].name.s) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ disco */

/* The disco node the table announces: an empty disco-node is the same
 * as none (Tigase's default value is the empty string). */
static const char *
disco_node_of(const struct ir_component *c)
{
	return c->disco_node.s != NULL && c->disco_node.s[0] != '\0'
	    ? c->disco_node.s : NULL;
}

/* ------------------------------------------------------------ pieces */

static const char *
secret_kind_name(enum secret_kind k)
{
	switch (k) {
	case SECRET_FILE:
		return "VC_SECRET_FILE";
	case SECRET_ENV:
		return "VC_SECRET_ENV";
	case SECRET_INLINE:
		return "VC_SECRET_BUNDLE";
	default:
		return "0";
	}
}

/* "{ KIND, "ref" }": for an inline secret only the bundle key. */
static void
put_secret(FILE *out, const struct ir_secret *s, const struct ir_component *c)
{
	char *ref;

	if (s->kind == SECRET_INLINE)
		ref = c_string(secrets_bundle_key(c));
	else if (s->kind == SECRET_FILE || s->kind == SECRET_ENV)
		ref = c_string(s->ref.s);
	else
		ref = c_string(NULL);
	fprintf(out, "{ %s, %s }", secret_kind_name(s->kind), ref);
	free(ref);
}

static void
put_endpoint(FILE *out, const char *host, int port)
{
	char *h = c_string(host);

	fprintf(out, "{ %s, %d }", h, host != NULL ? port : 0);
	free(h);
}

/* A human reading of a size or a duration, for row comments. */
static const char *
human_size(uint64_t n)
{
	if (n != 0 && n % (1024 * 1024 * 1024) == 0)
		return xprintf("%llu GiB", (unsigned long long)(n >> 30));
	if (n != 0 && n % (1024 * 1024) == 0)
		return xprintf("%llu MiB", (unsigned long long)(n >> 20));
	if (n != 0 && n % 1024 == 0)
		return xprintf("%llu KiB", (unsigned long long)(n >> 10));
	return xprintf("%llu bytes", (unsigned long long)n);
}

static const char *
human_ms(uint32_t ms)
{
	if (ms != 0 && ms % 60000 == 0)
		return xprintf("%u min", ms / 60000);
	if (ms != 0 && ms % 1000 == 0)
		return xprintf("%u s", ms / 1000);
	return xprintf("%u ms", ms);
}

static void
put_banner(FILE *out, const struct ir_spec *spec, size_t node,
	   const struct emit_opts *o)
{
	fprintf(out,
"/*\n"
" * vcomp routing table for node %s (index %zu of %zu nodes).\n"
" *\n"
" * Generated by vcompc %s from %s\n"
" * (sha256 ",
		comment_safe(spec->nodes[node].name.s), node, spec->nnodes,
		VCOMPC_VERSION, comment_safe(o->spec_name));
	for (size_t i = 0; i < sizeof spec->digest; i++)
		fprintf(out, "%02x", spec->digest[i]);
	fputs(").\n"
" * Do not edit: change the spec and run vcompc again.\n"
" *\n"
" * No secret is in this file; each vc_secret names where the runtime\n"
" * reads it at start.  Layout: runtime/vcomp_table.h.\n"
" */\n"
"#include \"vcomp_table.h\"\n"
"\n", out);
	/* The layout this vcompc was built with, as a number: a table from
	 * an older or newer vcompc stops here against another runtime. */
	fprintf(out,
"#if VCOMP_TABLE_VERSION != %d\n"
"#error \"table layout %d (vcompc %s) does not match this runtime's vcomp_table.h\"\n"
"#endif\n"
"\n", VCOMP_TABLE_VERSION, VCOMP_TABLE_VERSION, VCOMPC_VERSION);
}

static void
put_nodes(FILE *out, const struct ir_spec *spec, size_t node)
{
	size_t wname = 0, wpeer = 0;
	char **name = xmalloc(sizeof *name * spec->nnodes);
	char **peer = xmalloc(sizeof *peer * spec->nnodes);

	for (size_t i = 0; i < spec->nnodes; i++) {
		const struct ir_node *n = &spec->nodes[i];
		char *h = c_string(n->peer.host.s);
		name[i] = c_string(n->name.s);
		peer[i] = xprintf("{ %s, %d }", h, n->peer.port);
		free(h);
		if (strlen(name[i]) > wname)
			wname = strlen(name[i]);
		if (strlen(peer[i]) > wpeer)
			wpeer = strlen(peer[i]);
	}
	fprintf(out,
"/* The cluster's nodes in spec order (their indexes are used on the peer\n"
" * links): name, peer-link address. */\n"
"static const struct vc_node nodes[%zu] = {\n", spec->nnodes);
	for (size_t i = 0; i < spec->nnodes; i++) {
		fprintf(out, "\t{ %s,%*s %s },%*s /* %zu%s */\n",
			name[i], (int)(wname - strlen(name[i])), "",
			peer[i], (int)(wpeer - strlen(peer[i])), "",
			i, i == node ? ": this node" : "");
		free(name[i]);
	}
	fputs("};\n\n", out);
}

/* ------------------------------------------------------------ shared */

/*
 * Most of a node's table does not depend on the node: the component order,
 * the homes[] slices, the disco#info literals, and every component row but
 * its role.  They are rendered once per spec and copied into each node's
 * output, so `--all` costs one render plus one copy per node.  vcompc emits
 * from one IR per run; the cache is keyed on it and lives in the arena.
 */
struct shared {
	const struct ir_spec *spec;
	char *middle;           /* homes[] and the query_N[] literals */
	/* Component row k is row_a[k] "home"|"virtual" row_b[k] ROLE row_c[k]. */
	char **row_a, **row_b, **row_c;
};

static char *
take(FILE *f, char **p, size_t *len)
{
	fclose(f);
	char *s = xstrndup(*p, *len);
	free(*p);
	return s;
}

static void
render_homes(FILE *out, const struct ir_spec *spec, const size_t *order,
	     size_t *first)
{
	size_t n = 0;

	for (size_t k = 0; k < spec->ncomponents; k++) {
		first[k] = n;
		n += spec->components[order[k]].nhomes;
	}
	if (n == 0)
		return;
	fprintf(out,
"/* Home node indexes of every component, in failover order; each\n"
" * component below points at its own slice. */\n"
"static const uint16_t homes[%zu] = {\n", n);
	for (size_t k = 0; k < spec->ncomponents; k++) {
		const struct ir_component *c = &spec->components[order[k]];
		struct buf row = { 0 };
		for (size_t h = 0; h < c->nhomes; h++)
			buf_printf(&row, "%ld, ", node_index(spec, c->homes[h].s));
		fprintf(out, "\t%-12s /* %zu: %s */\n", row.data ? row.data : "",
			k, comment_safe(c->domain.s));
		buf_free(&row);
	}
	fputs("};\n\n", out);
}

/* Renders component k's literals into out (the middle part) and its row,
 * split around the role, into sh. */
static void
render_component(FILE *out, struct shared *sh, size_t k,
		 struct ir_component *c, size_t first)
{
	size_t qlen;
	const char *q = disco_query(c, false, &qlen);
	const char *qn = disco_node_of(c) != NULL ? disco_query(c, true, &qlen)
						  : NULL;
	size_t nf;
	const char **f = disco_features(c, &nf);
	char ver[29];
	char *p;
	size_t len;
	FILE *row;

	caps_ver(c->ids, c->nids, f, nf, NULL, 0, ver);
	fprintf(out, "\n/* %zu: %s */\nstatic const char query_%zu[] =", k,
		comment_safe(c->domain.s), k);
	fputs(long_literal(q), out);
	fputs(";\n", out);
	if (qn != NULL) {
		fprintf(out, "static const char query_node_%zu[] =", k);
		fputs(long_literal(qn), out);
		fputs(";\n", out);
	}

	char *name = c_string(c->name.s);
	char *domain = c_string(c->domain.s);
	char *dnode = c_string(disco_node_of(c));
	char *cver = c_string(ver);

	sh->row_a[k] = xprintf("\t/* %zu: %s, ", k, comment_safe(c->domain.s));
	sh->row_b[k] = xprintf(" here */\n\t{ %s, %s, %zu,\n\t  ", name, domain,
			       strlen(c->domain.s));
	if ((row = open_memstream(&p, &len)) == NULL)
		die(1, "out of memory");
	fprintf(row, "%-18s", c->disco == DISCO_FORWARD ? "VC_DISCO_FORWARD,"
							: "VC_DISCO_LOCAL,");
	if (c->nhomes > 0)
		fprintf(row, "&homes[%zu], %zu, ", first, c->nhomes);
	else
		fputs("NULL, 0, ", row);
	put_secret(row, &c->secret, c);
	fprintf(row, ",\n\t  %s,\n", dnode);
	fprintf(row, "\t  query_%zu, sizeof query_%zu - 1,\n", k, k);
	if (qn != NULL)
		fprintf(row, "\t  query_node_%zu, sizeof query_node_%zu - 1,\n",
			k, k);
	else
		fputs("\t  NULL, 0,\n", row);
	fprintf(row, "\t  %s },\n", cver);
	sh->row_c[k] = take(row, &p, &len);
	free(name);
	free(domain);
	free(dnode);
	free(cver);
}

static const struct shared *
shared_for(const struct ir_spec *spec)
{
	static struct shared sh;
	size_t n = spec->ncomponents;
	char *p;
	size_t len;
	FILE *out;

	if (sh.spec == spec)
		return &sh;
	sh.spec = spec;
	sh.row_a = xmalloc(sizeof *sh.row_a * (n + 1));
	sh.row_b = xmalloc(sizeof *sh.row_b * (n + 1));
	sh.row_c = xmalloc(sizeof *sh.row_c * (n + 1));

	size_t *order = sorted_components(spec);
	size_t *first = xmalloc(sizeof *first * (n + 1));
	if ((out = open_memstream(&p, &len)) == NULL)
		die(1, "out of memory");
	render_homes(out, spec, order, first);
	if (n > 0)
		fputs(
"/* disco#info responses (XEP-0030), rendered and escaped at compile time:\n"
" * the runtime splices them between <iq ...> and </iq>. */\n", out);
	for (size_t k = 0; k < n; k++)
		render_component(out, &sh, k, &spec->components[order[k]],
				 first[k]);
	if (n > 0)
		fputs("\n", out);
	sh.middle = take(out, &p, &len);
	return &sh;
}

static void
put_components(FILE *out, const struct ir_spec *spec, size_t node,
	       const struct shared *sh)
{
	size_t *order = sorted_components(spec);

	fprintf(out,
"/* The components, sorted by domain (memcmp).  Per row: name, domain and\n"
" * its length, role on this node, disco mode, homes, XEP-0114 secret\n"
" * source, disco node, the two responses with their lengths, caps ver. */\n"
"static const struct vc_component components[%zu] = {\n",
		spec->ncomponents);
	for (size_t k = 0; k < spec->ncomponents; k++) {
		bool home = is_home(spec, &spec->components[order[k]], node);
		fputs(sh->row_a[k], out);
		fputs(home ? "home" : "virtual", out);
		fputs(sh->row_b[k], out);
		fprintf(out, "%-17s", home ? "VC_ROLE_HOME," : "VC_ROLE_VIRTUAL,");
		fputs(sh->row_c[k], out);
	}
	fputs("};\n\n", out);
}

static void
put_table(FILE *out, const struct ir_spec *spec, size_t node,
	  const struct emit_opts *o)
{
	const struct ir_node *n = &spec->nodes[node];
	const struct ir_limits *l = &spec->limits;
	char *vers = c_string(VCOMPC_VERSION);
	char *sname = c_string(o->spec_name);
	bool homes_any = false;

	for (size_t i = 0; i < spec->ncomponents && !homes_any; i++)
		homes_any = is_home(spec, &spec->components[i], node);

	fputs("const struct vc_table vcomp_table = {\n", out);
	/* The layout number this vcompc writes, not the symbol: the
	 * runtime compares it with its own VCOMP_TABLE_VERSION. */
	fprintf(out, "\t.version         = %d,\n", VCOMP_TABLE_VERSION);
	fprintf(out, "\t.vcompc_version  = %s,\n", vers);
	fprintf(out, "\t.spec_name       = %s,\n", sname);
	fputs("\t.spec_digest     = \"", out);
	for (size_t i = 0; i < sizeof spec->digest; i++)
		fprintf(out, "%02x", spec->digest[i]);
	fputs("\",\n", out);
	fprintf(out, "\t.self            = %zu,   /* %s */\n", node,
		comment_safe(n->name.s));
	fputs("\t.nodes           = nodes,\n", out);
	fprintf(out, "\t.nnodes          = %zu,\n", spec->nnodes);
	fprintf(out, "\t.components      = %s,\n",
		spec->ncomponents > 0 ? "components" : "NULL");
	fprintf(out, "\t.ncomponents     = %zu,\n", spec->ncomponents);
	fputs("\t.server          = ", out);
	put_endpoint(out, n->server.host.s, n->server.port);
	fputs(",   /* the local XMPP server's component port */\n", out);
	fputs("\t.listen          = ", out);
	put_endpoint(out, homes_any ? n->listen.host.s : NULL, n->listen.port);
	fputs(homes_any ? ",   /* real components homed here connect here */\n"
			: ",   /* this node homes no component */\n", out);
	fputs("\t.stats           = ", out);
	put_endpoint(out, n->stats.host.s, n->stats.port);
	fputs(n->stats.host.s != NULL ? ",\n" : ",   /* disabled */\n", out);
	fputs("\t.cluster_secret  = ", out);
	put_secret(out, &spec->cluster_secret, NULL);
	fputs(",\n", out);
	fputs("\t.limits = {\n", out);
	for (enum limit_index k = 0; k < LIM_COUNT; k++) {
		uint64_t v = ir_limit_get(l, k);
		const char *what = limit_kinds[k] == LIMIT_SIZE ? human_size(v)
		    : limit_kinds[k] == LIMIT_TIME ? human_ms((uint32_t)v)
		    : limit_whats[k];
		fprintf(out, "\t\t.%-15s = %-11s /* %s */\n", limit_fields[k],
			xprintf("%llu,", (unsigned long long)v), what);
	}
	fputs("\t},\n};\n", out);
	free(vers);
	free(sname);
}

void
emit_c(FILE *out, const struct ir_spec *spec, size_t node,
       const struct emit_opts *o)
{
	const struct shared *sh = shared_for(spec);

	put_banner(out, spec, node, o);
	put_nodes(out, spec, node);
	fputs(sh->middle, out);
	if (spec->ncomponents > 0)
		put_components(out, spec, node, sh);
	put_table(out, spec, node, o);
}
