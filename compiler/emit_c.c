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
/* Writes the escape of byte i of s (s[i - 1] decides a '?') at o and
 * returns the end: at most four bytes. */
static char *
escape_byte(char *o, const char *s, size_t i)
{
	unsigned char ch = (unsigned char)s[i];

	switch (ch) {
	case '\\':
		*o++ = '\\';
		*o++ = '\\';
		return o;
	case '"':
		*o++ = '\\';
		*o++ = '"';
		return o;
	case '\n':
		*o++ = '\\';
		*o++ = 'n';
		return o;
	case '\t':
		*o++ = '\\';
		*o++ = 't';
		return o;
	case '\r':
		*o++ = '\\';
		*o++ = 'r';
		return o;
	case '?':
		if (i > 0 && s[i - 1] == '?')
			*o++ = '\\';
		*o++ = '?';
		return o;
	default:
		if (ch >= 0x20 && ch < 0x7f) {
			*o++ = (char)ch;
			return o;
		}
		*o++ = '\\';
		*o++ = (char)('0' + (ch >> 6));
		*o++ = (char)('0' + ((ch >> 3) & 7));
		*o++ = (char)('0' + (ch & 7));
		return o;
	}
}

static void
c_escape(struct buf *b, const char *s, size_t len)
{
	char tmp[4 * 64];

	/* Escape in chunks into a stack buffer: one buf_add per chunk,
	 * not per byte (the disco literals are most of the output). */
	for (size_t i = 0; i < len; ) {
		char *o = tmp;
		size_t end = len - i > 64 ? i + 64 : len;
		for (; i < end; i++)
			o = escape_byte(o, s, i);
		buf_add(b, tmp, (size_t)(o - tmp));
	}
}

/* A whole literal "..." or NULL, as a heap string the caller frees. */
static char *
c_string(const char *s)
{
	struct buf b = { 0 };

	if (s == NULL) {
		buf_puts(&b, "NULL");
		return b.data;
	}
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
	/* Each byte escapes to at most 4; each line adds "\n\t\"" and "\"". */
	size_t cap = 4 * len + 5 * (len / (LITERAL_WIDTH / 2) + 2) + 1;
	char *out, *o;

	if (len == 0)
		return "\n\t\"\"";
	o = out = xmalloc(cap);
	while (i < len) {
		*o++ = '\n';
		*o++ = '\t';
		*o++ = '"';
		char *start = o;
		while (i < len && (size_t)(o - start) < LITERAL_WIDTH) {
			/* One byte at a time: a '?' needs its predecessor
			 * to decide, and a line never splits an escape. */
			o = escape_byte(o, s, i);
			/* Prefer to end a line after a tag. */
			if (s[i++] == '>' &&
			    (size_t)(o - start) >= LITERAL_WIDTH / 2 &&
			    i < len && s[i] == '<')
				break;
		}
		*o++ = '"';
	}
	*o = '\0';
	return out;
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
	size_t *order;          /* component indexes in table order */
	char *middle;           /* homes[] and the query_N[] literals */
	size_t middle_len;
	/* Component row k as it reads on a node where the component is
	 * virtual (row[0]) or home (row[1]), with its length. */
	char **row[2];
	size_t *row_len[2];
	/* The home node indexes of component k (table order) are
	 * home_ix[home_first[k] ..] (spec->components[order[k]].nhomes). */
	long *home_ix;
	size_t *home_first;
};

/* Closes a memstream and returns its buffer, which the caller owns. */
static char *
take(FILE *f, char **p, size_t *len)
{
	if (fclose(f) != 0)
		oom();
	return *p;
}

static void
render_homes(FILE *out, const struct ir_spec *spec, struct shared *sh)
{
	struct strmap names = { 0 };
	size_t n = 0;

	for (size_t i = 0; i < spec->nnodes; i++)
		strmap_put(&names, spec->nodes[i].name.s,
			   strlen(spec->nodes[i].name.s), i);
	for (size_t k = 0; k < spec->ncomponents; k++) {
		sh->home_first[k] = n;
		n += spec->components[sh->order[k]].nhomes;
	}
	sh->home_ix = xmalloc(sizeof *sh->home_ix * (n + 1));
	if (n == 0)
		return;
	fprintf(out,
"/* Home node indexes of every component, in failover order; each\n"
" * component below points at its own slice. */\n"
"static const uint16_t homes[%zu] = {\n", n);
	for (size_t k = 0; k < spec->ncomponents; k++) {
		const struct ir_component *c = &spec->components[sh->order[k]];
		long *ix = &sh->home_ix[sh->home_first[k]];
		struct buf row = { 0 };
		for (size_t h = 0; h < c->nhomes; h++) {
			const char *hn = c->homes[h].s;
			size_t v;
			/* Unknown names never reach a back end (checks). */
			ix[h] = strmap_get(&names, hn, strlen(hn), &v) ? (long)v : -1;
			buf_printf(&row, "%ld, ", ix[h]);
		}
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

	const char *row_a = xprintf("\t/* %zu: %s, ", k,
				    comment_safe(c->domain.s));
	const char *row_b = xprintf(" here */\n\t{ %s, %s, %zu,\n\t  ", name,
				    domain, strlen(c->domain.s));
	if ((row = open_memstream(&p, &len)) == NULL)
		oom();
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
	char *row_c = take(row, &p, &len);
	/* The two rows, by memcpy: printf's %s copies byte by byte. */
	for (int home = 0; home < 2; home++) {
		const char *part[5] = { row_a, home ? "home" : "virtual", row_b,
		    home ? "VC_ROLE_HOME,    " : "VC_ROLE_VIRTUAL, ", row_c };
		size_t plen[5], total = 0;
		for (int j = 0; j < 5; j++)
			total += plen[j] = strlen(part[j]);
		char *r = xmalloc(total + 1), *o = r;
		for (int j = 0; j < 5; j++) {
			memcpy(o, part[j], plen[j]);
			o += plen[j];
		}
		*o = '\0';
		sh->row[home][k] = r;
		sh->row_len[home][k] = total;
	}
	free(row_c);
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
	FILE *out;

	if (sh.spec == spec)
		return &sh;
	/* The previous spec's buffers (unit tests emit several specs). */
	free(sh.middle);
	sh.spec = spec;
	for (int home = 0; home < 2; home++) {
		sh.row[home] = xmalloc(sizeof *sh.row[home] * (n + 1));
		sh.row_len[home] = xmalloc(sizeof *sh.row_len[home] * (n + 1));
	}
	sh.order = sorted_components(spec);
	sh.home_first = xmalloc(sizeof *sh.home_first * (n + 1));
	if ((out = open_memstream(&sh.middle, &sh.middle_len)) == NULL)
		oom();
	render_homes(out, spec, &sh);
	if (n > 0)
		fputs(
"/* disco#info responses (XEP-0030), rendered and escaped at compile time:\n"
" * the runtime splices them between <iq ...> and </iq>. */\n", out);
	for (size_t k = 0; k < n; k++)
		render_component(out, &sh, k, &spec->components[sh.order[k]],
				 sh.home_first[k]);
	if (n > 0)
		fputs("\n", out);
	take(out, &sh.middle, &sh.middle_len);
	return &sh;
}

/* Is the component in table row k homed on node? */
static bool
row_is_home(const struct ir_spec *spec, const struct shared *sh, size_t k,
	    size_t node)
{
	const long *ix = &sh->home_ix[sh->home_first[k]];
	size_t nh = spec->components[sh->order[k]].nhomes;

	for (size_t h = 0; h < nh; h++)
		if (ix[h] == (long)node)
			return true;
	return false;
}

static void
put_components(FILE *out, const struct ir_spec *spec, size_t node,
	       const struct shared *sh)
{
	fprintf(out,
"/* The components, sorted by domain (memcmp).  Per row: name, domain and\n"
" * its length, role on this node, disco mode, homes, XEP-0114 secret\n"
" * source, disco node, the two responses with their lengths, caps ver. */\n"
"static const struct vc_component components[%zu] = {\n",
		spec->ncomponents);
	for (size_t k = 0; k < spec->ncomponents; k++) {
		int home = row_is_home(spec, sh, k, node);
		fwrite(sh->row[home][k], 1, sh->row_len[home][k], out);
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
	fputs(spec->peer_encryption == PEER_ENC_NONE ?
	      "\t.peer_encryption = VC_PEER_NONE,   /* plaintext peer links */\n" :
	      "\t.peer_encryption = VC_PEER_TLS,    /* TLS, PSK from the cluster secret */\n",
	      out);
	fputs(spec->servers == SERVERS_CLUSTERED ?
	      "\t.servers         = VC_SERVERS_CLUSTERED,\n" :
	      "\t.servers         = VC_SERVERS_INDEPENDENT,\n", out);
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
	fwrite(sh->middle, 1, sh->middle_len, out);
	if (spec->ncomponents > 0)
		put_components(out, spec, node, sh);
	put_table(out, spec, node, o);
}
