/*
 * fe_properties.c — the Tigase init.properties front end.
 *
 * properties_read() runs the flex scanner and bison grammar of grammar/
 * over the file and returns the logical key = value pairs exactly as
 * java.util.Properties.load would see them.  properties_to_ir() gives the
 * pairs Tigase's meaning (docs/spec-reference.md, "Tigase init.properties")
 * and fills the IR; properties_emit_keys() prints the pairs for
 * `vcompc --emit=keys`.
 *
 * Memory: everything that outlives a call (the pairs, the IR, positions)
 * is arena memory (util.c).  Scratch tables are arena memory too; a
 * one-shot compiler can afford them until exit.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcompc.h"
#include "properties.tab.h"

/* ------------------------------------------------------------ reading */

bool
properties_read(const char *path, const char *text, size_t len,
		struct prop **out, size_t *n)
{
	struct pp_state st;
	bool ok;

	memset(&st, 0, sizeof st);
	st.path = xstrdup(path);
	st.key.plain = st.val.plain = true;
	*out = NULL;
	*n = 0;

	if (!text_check_nul(st.path, text, len, "a properties file"))
		return false;

	ok = pp_run(&st, text, len);
	buf_free(&st.key.b);
	buf_free(&st.val.b);
	*out = st.props;
	*n = st.nprops;
	if (st.nprops > 0 && strncmp(st.props[0].key, "\xEF\xBB\xBF", 3) == 0)
		warning_at(&st.props[0].key_pos,
			   "the file starts with a byte order mark, which java.util.Properties (and so Tigase) keeps as part of the first key '%s'; remove it",
			   st.props[0].key + 3);
	return ok;
}

/* ------------------------------------------------------------ --emit=keys */

static void
json_string(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

void
properties_emit_keys(FILE *out, const struct prop *props, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "{\"line\":%d,\"key\":", props[i].key_pos.line);
		json_string(out, props[i].key);
		fputs(",\"value\":", out);
		json_string(out, props[i].value);
		fputs("}\n", out);
	}
}

/* ------------------------------------------------------------ semantics */

/* One key after duplicates are resolved, with its type marker split off. */
struct tkey {
	const struct prop *p;
	char *name;		/* the key without "[T]" */
	char marker;		/* 'S', 's', ... or 0 */
	bool used;		/* read by vcompc (else listed by -Wunused) */
	bool dead;		/* overridden by a later definition */
};

/* The keys of a tigase.cluster.VirtualComponent that vcompc reads. */
enum vkey {
	VK_REDIRECT, VK_NAME, VK_NODE, VK_TYPE, VK_CATEGORY, VK_FEATURES,
	VK_FIXED, VK_N
};
static const char *const vkey_names[VK_N] = {
	"redirect-to", "disco-name", "disco-node", "disco-type",
	"disco-category", "disco-features", "fixed-domain",
};

struct vcomp {
	struct ir_str name;		/* value of --comp-name-N */
	struct pos pos;			/* key --comp-name-N */
	struct tkey *keys[VK_N];	/* NAME/redirect-to, ... */
	struct tkey *ckeys[VCK_N];	/* vcomp/component/NAME/... */
};

struct ctx {
	struct ir_spec *spec;
	const char *path;
	struct tkey *keys;
	size_t nkeys;
	struct vcomp *vc;
	size_t nvc;
	struct strmap vc_index;		/* component name -> index in vc */
	struct strmap decl_index;	/* N of --comp-name-N -> index in decls */
	struct tkey *virt_hosts;
	struct tkey *secret_file, *secret_env;
	struct tkey *prev_file, *prev_env;	/* during a rotation */
	struct ir_str password;		/* first inline --cluster-nodes password */
	struct pos password_key;
};

/* ---- small helpers */

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Where byte off of prop p's value is, as exactly as the file allows. */
static struct pos
value_at(const struct prop *p, size_t off)
{
	struct pos q = p->value_pos;

	if (p->verbatim)
		q.col += (int)off;
	return q;
}

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\f';
}

/* The bytes [b, e) of p's value, trimmed, as an IR string. */
static struct ir_str
substr(const struct prop *p, size_t b, size_t e)
{
	struct ir_str s;

	while (b < e && is_ws(p->value[b]))
		b++;
	while (e > b && is_ws(p->value[e - 1]))
		e--;
	s.s = xstrndup(p->value + b, e - b);
	s.pos = value_at(p, b);
	s.verbatim = p->verbatim;
	return s;
}

/* The whole value, trimmed (Tigase trims the values it reads). */
static struct ir_str
value_of(const struct tkey *k)
{
	return substr(k->p, 0, strlen(k->p->value));
}

/* Splits a comma list into trimmed items; empty items are skipped. */
static struct ir_str *
split_list(const struct tkey *k, size_t *n)
{
	const char *v = k->p->value;
	struct ir_str *items = NULL;
	size_t b = 0;

	*n = 0;
	for (size_t i = 0;; i++) {
		if (v[i] != ',' && v[i] != '\0')
			continue;
		struct ir_str s = substr(k->p, b, i);
		if (s.s[0] != '\0')
			*IR_PUSH(items, *n) = s;
		if (v[i] == '\0')
			break;
		b = i + 1;
	}
	return items;
}

/* Tigase's booleans. */
static bool
is_true(const char *v)
{
	return strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 ||
	    strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0;
}

static void
unused(struct tkey *k)
{
	if (diag_wunused)
		diag(DIAG_WARNING, &k->p->key_pos, "unused",
		     "Tigase key '%s' is ignored", k->p->key);
}

/*
 * Type markers say how Tigase converts a value: [S] string array, [s]
 * string, [B]/[b] booleans, [L]/[l] longs, [I]/[i] ints, [F] float.  The
 * keys vcompc reads are strings or (list) string arrays.
 */
static bool
marker_fits(const struct tkey *k, bool list)
{
	if (k->marker == 0 || k->marker == 's' || (list && k->marker == 'S'))
		return true;
	error_at(&k->p->key_pos, "'%s' takes %s; the type marker [%c] does not fit",
		 k->p->key, list ? "a comma-separated list of strings ([S])" :
		 "a string ([s])", k->marker);
	return false;
}

/* Splits "comp/key[T]" into name and marker. */
static void
split_marker(struct tkey *k)
{
	const char *key = k->p->key;
	size_t len = strlen(key);

	if (key[0] != '-' && len >= 3 && key[len - 1] == ']' &&
	    key[len - 3] == '[' && strchr("SsBbLlIiF", key[len - 2]) != NULL) {
		k->name = xstrndup(key, len - 3);
		k->marker = key[len - 2];
	} else {
		k->name = (char *)key;
		k->marker = 0;
	}
}

/* ---- duplicates */

static int
cmp_tkey(const void *a, const void *b)
{
	const struct tkey *const *x = a, *const *y = b;
	int r = strcmp((*x)->name, (*y)->name);

	if (r != 0)
		return r;
	return (*x)->p < (*y)->p ? -1 : (*x)->p > (*y)->p;
}

/* Java's Properties keeps the last value of a key; Tigase then drops the
 * type marker, so "k" and "k[S]" are one key as well. */
static void
resolve_duplicates(struct ctx *cx)
{
	struct tkey **v = xmalloc((cx->nkeys + 1) * sizeof *v);
	struct tkey **prev = xmalloc((cx->nkeys + 1) * sizeof *prev);

	for (size_t i = 0; i < cx->nkeys; i++)
		v[i] = &cx->keys[i];
	qsort(v, cx->nkeys, sizeof *v, cmp_tkey);
	for (size_t i = 1; i < cx->nkeys; i++) {
		if (strcmp(v[i - 1]->name, v[i]->name) != 0)
			continue;
		v[i - 1]->dead = true;
		prev[v[i] - cx->keys] = v[i - 1];
	}
	/* Reported in file order. */
	for (size_t i = 0; i < cx->nkeys; i++) {
		const struct tkey *k = &cx->keys[i], *o = prev[i];
		if (o == NULL)
			continue;
		warning_at(&k->p->key_pos,
			   "'%s' is set again; the value on line %d replaces the one on line %d",
			   k->p->key, k->p->key_pos.line, o->p->key_pos.line);
		note_at(&o->p->key_pos, "previous definition here");
	}
}

/* ---- --cluster-nodes */

static struct ir_node *
find_node(struct ir_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->nnodes; i++)
		if (strcmp(spec->nodes[i].name.s, name) == 0)
			return &spec->nodes[i];
	return NULL;
}

/* --cluster-nodes=host[:password[:port]],... */
static void
cluster_nodes(struct ctx *cx, struct tkey *k)
{
	struct ir_spec *spec = cx->spec;
	struct ir_str *items;
	size_t n;

	k->used = true;
	items = split_list(k, &n);
	for (size_t i = 0; i < n; i++) {
		char *parts[4] = { NULL, NULL, NULL, NULL };
		size_t offs[4], np = 0;
		char *s = items[i].s, *orig = xstrdup(s);
		struct ir_node *nd;

		for (char *c = s;; ) {
			char *colon = strchr(c, ':');
			if (np < 4) {
				parts[np] = c;
				offs[np] = (size_t)(c - s);
				np++;
			}
			if (colon == NULL)
				break;
			*colon = '\0';
			c = colon + 1;
		}
		if (np > 3) {
			error_at(&items[i].pos,
				 "'%s': node entry '%s' has too many ':'; write host[:password[:port]]",
				 k->p->key, orig);
			continue;
		}
		nd = IR_PUSH(spec->nodes, spec->nnodes);
		nd->name.s = parts[0];
		nd->name.pos = items[i].pos;
		nd->name.verbatim = items[i].verbatim;
		if (np >= 2 && parts[1][0] != '\0') {
			struct ir_str pw = { parts[1],
			    ir_str_at(&items[i], offs[1]), items[i].verbatim };
			if (cx->password.s == NULL) {
				cx->password = pw;
				cx->password_key = k->p->key_pos;
			} else if (strcmp(cx->password.s, pw.s) != 0) {
				error_at(&pw.pos,
					 "'%s' gives node '%s' a different password than an earlier node; the cluster has one secret",
					 k->p->key, nd->name.s);
				note_at(&cx->password.pos, "first password given here");
			}
		}
		if (np == 3) {
			struct ir_str port = { parts[2],
			    ir_str_at(&items[i], offs[2]), items[i].verbatim };
			uint64_t v;
			if (!parse_uint(k->p->key, &port, 65535, &v))
				continue;
			if (v == 0) {
				error_at(&port.pos, "'%s': port 0 of node '%s' is not a usable port (1-65535)",
					 k->p->key, nd->name.s);
				continue;
			}
			nd->peer.port = (int)v;
			nd->peer.pos = items[i].pos;
		}
	}
}

/* ---- components */

/* --comp-name-N and --comp-class-N, paired by N. */
struct comp_decl {
	const char *n;
	struct tkey *name, *cls;
};

static struct comp_decl *
decl_for(struct comp_decl **v, size_t *nv, struct strmap *index,
	 const char *n)
{
	size_t i;

	if (strmap_get(index, n, strlen(n), &i))
		return &(*v)[i];
	strmap_put(index, n, strlen(n), *nv);
	struct comp_decl *d = IR_PUSH(*v, *nv);
	d->n = n;
	return d;
}

static int
cmp_decl(const void *a, const void *b)
{
	const struct comp_decl *x = a, *y = b;
	const struct prop *px = x->name ? x->name->p : x->cls->p;
	const struct prop *py = y->name ? y->name->p : y->cls->p;

	return px < py ? -1 : px > py;
}

static void
declare_components(struct ctx *cx, struct comp_decl *d, size_t nd)
{
	/* In file order of the declarations, so output order follows the
	 * file. */
	if (nd > 1)
		qsort(d, nd, sizeof *d, cmp_decl);
	for (size_t i = 0; i < nd; i++) {
		struct ir_str cls, name;

		if (d[i].cls != NULL)
			cls = value_of(d[i].cls);
		/* Other classes are Tigase's business: -Wunused lists them. */
		if (d[i].cls == NULL ||
		    strcmp(cls.s, VC_TIGASE_VIRTUAL_CLASS) != 0)
			continue;
		d[i].cls->used = true;
		if (d[i].name == NULL) {
			error_at(&d[i].cls->p->key_pos,
				 "'%s' declares a %s, but '--comp-name-%s' is not set",
				 d[i].cls->p->key, VC_TIGASE_VIRTUAL_CLASS, d[i].n);
			continue;
		}
		d[i].name->used = true;
		name = value_of(d[i].name);
		if (name.s[0] == '\0' || strpbrk(name.s, "/@ \t") != NULL) {
			error_at(&name.pos,
				 "'%s' must be a component name such as 'muc' (no '/', '@' or white space), not '%s'",
				 d[i].name->p->key, name.s);
			continue;
		}
		size_t j;
		if (strmap_get(&cx->vc_index, name.s, strlen(name.s), &j)) {
			error_at(&name.pos, "virtual component '%s' is declared twice",
				 name.s);
			note_at(&cx->vc[j].name.pos, "first declared here");
			continue;
		}
		strmap_put(&cx->vc_index, name.s, strlen(name.s), cx->nvc);
		struct vcomp *vc = IR_PUSH(cx->vc, cx->nvc);
		vc->name = name;
		vc->pos = d[i].name->p->key_pos;
	}
}

static struct vcomp *
find_vcomp(struct ctx *cx, const char *name, size_t len)
{
	size_t i;

	return strmap_get(&cx->vc_index, name, len, &i) ? &cx->vc[i] : NULL;
}

static const char **
vcomp_names(struct ctx *cx)
{
	const char **v = xmalloc((cx->nvc + 1) * sizeof *v);

	for (size_t i = 0; i < cx->nvc; i++)
		v[i] = cx->vc[i].name.s;
	return v;
}

/* NAME/KEY for a component NAME that is not virtual. */
static void
other_component_key(struct ctx *cx, struct tkey *k, const char *slash)
{
	const char *sub = slash + 1;
	const char *hint;
	char *comp;

	for (int i = 0; i < VK_N; i++) {
		if (strcmp(sub, vkey_names[i]) != 0)
			continue;
		comp = xstrndup(k->name, (size_t)(slash - k->name));
		hint = did_you_mean(comp, vcomp_names(cx), cx->nvc);
		if (hint != NULL) {
			k->used = true;
			warning_at(&k->p->key_pos,
				   "'%s' is a %s key, but '%s' is not a virtual component; did you mean '%s/%s'?",
				   k->p->key, VC_TIGASE_VIRTUAL_CLASS, comp,
				   hint, sub);
		}
		return;
	}
}

static void
component_key(struct ctx *cx, struct tkey *k)
{
	const char *slash = strchr(k->name, '/');
	struct vcomp *vc;
	const char *sub, *hint;

	if (slash == NULL)
		return;
	vc = find_vcomp(cx, k->name, (size_t)(slash - k->name));
	if (vc == NULL) {
		other_component_key(cx, k, slash);
		return;
	}
	sub = slash + 1;
	for (int i = 0; i < VK_N; i++)
		if (strcmp(sub, vkey_names[i]) == 0) {
			k->used = true;
			if (marker_fits(k, i == VK_REDIRECT || i == VK_FEATURES))
				vc->keys[i] = k;
			return;
		}
	/* Another key of the component (Tigase has many); a near miss of a
	 * key vcompc reads is most likely a typo. */
	hint = did_you_mean(sub, vkey_names, VK_N);
	if (hint != NULL) {
		k->used = true;
		warning_at(&k->p->key_pos,
			   "'%s' is not a key vcompc reads; did you mean '%s/%s'?",
			   k->p->key, vc->name.s, hint);
	}
}

/* ---- vcomp/ */

static void
unknown_vcomp_key(struct ctx *cx, struct tkey *k)
{
	const char **names = xmalloc((cx->nvc + 1) * sizeof *names);
	const char **c;
	size_t nc;
	const char *hint;

	for (size_t i = 0; i < cx->nvc; i++)
		names[i] = cx->vc[i].name.s;
	c = vcomp_key_candidates(cx->spec, names, cx->nvc, false, &nc);
	hint = did_you_mean(k->name, c, nc);
	if (hint != NULL)
		error_at(&k->p->key_pos,
			 "unknown key '%s' in vcomp's namespace; did you mean '%s'?",
			 k->p->key, hint);
	else
		error_at(&k->p->key_pos,
			 "unknown key '%s' in vcomp's namespace (see docs/spec-reference.md)",
			 k->p->key);
}

static void
node_key(struct ctx *cx, struct tkey *k, const char *rest)
{
	const char *slash = strrchr(rest, '/');
	struct ir_node *nd;
	struct ir_endpoint *ep[NKEY_N];
	char *name;

	if (slash == NULL) {
		unknown_vcomp_key(cx, k);
		return;
	}
	name = xstrndup(rest, (size_t)(slash - rest));
	nd = find_node(cx->spec, name);
	for (size_t j = 0; j < NKEY_N; j++) {
		if (strcmp(slash + 1, nkey_names[j]) != 0)
			continue;
		if (nd == NULL) {
			const char **names = xmalloc((cx->spec->nnodes + 1) *
						     sizeof *names);
			for (size_t i = 0; i < cx->spec->nnodes; i++)
				names[i] = cx->spec->nodes[i].name.s;
			const char *hint = did_you_mean(name, names,
							cx->spec->nnodes);
			error_at(&k->p->key_pos,
				 "'%s' names node '%s', which is not in '--cluster-nodes'%s%s%s",
				 k->p->key, name, hint ? "; did you mean '" : "",
				 hint ? hint : "", hint ? "'?" : "");
			return;
		}
		ep[0] = &nd->server;
		ep[1] = &nd->peer;
		ep[2] = &nd->listen;
		ep[3] = &nd->stats;
		struct ir_str v = value_of(k);
		if (marker_fits(k, false))
			(void)parse_endpoint(k->p->key, &v, ep[j]);
		return;
	}
	unknown_vcomp_key(cx, k);
}

static void
vcomp_component_key(struct ctx *cx, struct tkey *k, const char *rest)
{
	const char *slash = strrchr(rest, '/');
	struct vcomp *vc;

	if (slash == NULL) {
		unknown_vcomp_key(cx, k);
		return;
	}
	for (int j = 0; j < VCK_N; j++) {
		if (strcmp(slash + 1, ckey_names[j]) != 0)
			continue;
		vc = find_vcomp(cx, rest, (size_t)(slash - rest));
		if (vc == NULL) {
			char *name = xstrndup(rest, (size_t)(slash - rest));
			const char *hint = did_you_mean(name, vcomp_names(cx),
							cx->nvc);
			error_at(&k->p->key_pos,
				 "'%s' names component '%s', which is not a declared %s%s%s%s",
				 k->p->key, name, VC_TIGASE_VIRTUAL_CLASS,
				 hint ? "; did you mean '" : "",
				 hint ? hint : "", hint ? "'?" : "");
			return;
		}
		if (marker_fits(k, false))
			vc->ckeys[j] = k;
		return;
	}
	unknown_vcomp_key(cx, k);
}

static void
vcomp_key(struct ctx *cx, struct tkey *k)
{
	const char *rest = k->name + strlen("vcomp/");
	bool known;

	k->used = true;
	if (strcmp(rest, "cluster-secret-file") == 0) {
		if (marker_fits(k, false))
			cx->secret_file = k;
	} else if (strcmp(rest, "cluster-secret-env") == 0) {
		if (marker_fits(k, false))
			cx->secret_env = k;
	} else if (strcmp(rest, "cluster-secret-previous-file") == 0) {
		if (marker_fits(k, false))
			cx->prev_file = k;
	} else if (strcmp(rest, "cluster-secret-previous-env") == 0) {
		if (marker_fits(k, false))
			cx->prev_env = k;
	} else if (strcmp(rest, "peer-encryption") == 0) {
		struct ir_str v = value_of(k);

		if (marker_fits(k, false) &&
		    parse_peer_encryption(k->p->key, &v,
					  &cx->spec->peer_encryption))
			cx->spec->peer_encryption_pos = k->p->key_pos;
	} else if (strcmp(rest, "servers") == 0) {
		struct ir_str v = value_of(k);

		if (marker_fits(k, false))
			(void)parse_servers(k->p->key, &v, &cx->spec->servers);
	} else if (starts_with(rest, "node/")) {
		node_key(cx, k, rest + strlen("node/"));
	} else if (starts_with(rest, "component/")) {
		vcomp_component_key(cx, k, rest + strlen("component/"));
	} else {
		struct ir_str v = value_of(k);
		if (!marker_fits(k, false))
			return;
		if (!limit_set(cx->spec, rest, &v, &known) && !known)
			unknown_vcomp_key(cx, k);
	}
}

/* ---- secrets */

/* A secret source from a KEY-file / KEY-env pair; false if neither. */
static bool
secret_from(struct tkey *file, struct tkey *env, struct ir_secret *out)
{
	struct tkey *k = file != NULL ? file : env;

	if (file != NULL && env != NULL) {
		const struct tkey *later = file->p > env->p ? file : env;
		const struct tkey *earlier = later == file ? env : file;
		error_at(&later->p->key_pos,
			 "'%s' and '%s' both name the same secret; keep one",
			 later->p->key, earlier->p->key);
		note_at(&earlier->p->key_pos, "'%s' is set here",
			earlier->p->key);
	}
	if (k == NULL)
		return false;
	out->kind = k == file ? SECRET_FILE : SECRET_ENV;
	out->ref = value_of(k);
	out->pos = k->p->key_pos;
	return true;
}

/*
 * The previous secret of a rotation (KEY-previous-file / -env): the YAML
 * format's `secret: [NEW, OLD]` in the properties format.  It is accepted
 * from the other side, never used to prove.  Appended to *v.
 */
static void
previous_secret(struct tkey *file, struct tkey *env, struct ir_secret **v,
		size_t *n)
{
	struct ir_secret prev;

	memset(&prev, 0, sizeof prev);
	if (secret_from(file, env, &prev))
		*IR_PUSH(*v, *n) = prev;
}

static void
cluster_secret(struct ctx *cx)
{
	struct ir_secret *s = &cx->spec->cluster_secret;

	previous_secret(cx->prev_file, cx->prev_env, &cx->spec->cluster_accept,
			&cx->spec->ncluster_accept);
	if (secret_from(cx->secret_file, cx->secret_env, s)) {
		if (cx->password.s != NULL)
			warning_at(&cx->password.pos,
				   "the password in '--cluster-nodes' is ignored: '%s' names the cluster secret",
				   cx->secret_file ? cx->secret_file->p->key :
				   cx->secret_env->p->key);
		return;
	}
	if (cx->password.s != NULL) {
		warning_at(&cx->password.pos,
			   "inline secret in '--cluster-nodes' is written only to the node's 0600 secrets bundle; prefer vcomp/cluster-secret-file");
		s->kind = SECRET_INLINE;
		s->ref = cx->password;
		s->pos = cx->password_key;
		return;
	}
	s->kind = SECRET_ENV;
	s->ref.s = "VCOMP_CLUSTER_SECRET";
	s->ref.pos = (struct pos){ cx->path, 0, 0 };
	s->pos = s->ref.pos;
}

/* ---- building the IR components */

/* The value of NAME/KEY, or the default (positioned at the declaration). */
static struct ir_str
vstr(const struct vcomp *vc, enum vkey key, const char *dflt)
{
	struct ir_str s;

	if (vc->keys[key] != NULL)
		return value_of(vc->keys[key]);
	s.s = (char *)dflt;
	s.pos = vc->pos;
	s.verbatim = false;
	return s;
}

static void
homes_of(struct ctx *cx, const struct vcomp *vc, struct ir_str **homes,
	 size_t *nhomes)
{
	struct ir_spec *spec = cx->spec;
	struct tkey *k = vc->keys[VK_REDIRECT];
	struct ir_str *items = NULL;
	size_t n = 0;

	*homes = NULL;
	*nhomes = 0;
	if (k != NULL)
		items = split_list(k, &n);
	if (n == 0) {
		if (spec->nnodes == 0)
			return;	/* check.c reports that there are no nodes */
		*IR_PUSH(*homes, *nhomes) = spec->nodes[0].name;
		note_at(&vc->pos,
			"'%s/redirect-to' is not set; the home of '%s' is '%s', the first node of '--cluster-nodes'",
			vc->name.s, vc->name.s, spec->nodes[0].name.s);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char *at = strchr(items[i].s, '@');
		struct ir_str h = items[i];

		if (at != NULL) {
			*at = '\0';
			if (strcmp(items[i].s, vc->name.s) != 0) {
				error_at(&items[i].pos,
					 "'%s' names component '%s' on node '%s'; the real component must be '%s', the same name as here",
					 k->p->key, items[i].s, at + 1,
					 vc->name.s);
				continue;
			}
			h.s = at + 1;
			h.pos = ir_str_at(&items[i],
					  (size_t)(at + 1 - items[i].s));
		}
		if (h.s[0] == '\0') {
			error_at(&h.pos, "'%s' has an empty node name; write NAME@NODE",
				 k->p->key);
			continue;
		}
		*IR_PUSH(*homes, *nhomes) = h;
	}
}

static void
build_components(struct ctx *cx, const struct vcomp *vc)
{
	struct ir_spec *spec = cx->spec;
	struct ir_str *domains = NULL, *homes, *features;
	size_t ndomains = 0, nhomes, nfeatures;
	struct ir_identity id;
	struct ir_str dnode;
	enum disco_mode mode = DISCO_LOCAL;
	struct pos mode_pos = vc->pos;
	struct ir_secret secret;

	/* Domains: NAME/fixed-domain, else NAME. + each virtual host. */
	if (vc->keys[VK_FIXED] != NULL &&
	    (*IR_PUSH(domains, ndomains) = value_of(vc->keys[VK_FIXED])).s[0] == '\0')
		ndomains = 0;
	if (ndomains == 0 && cx->virt_hosts != NULL) {
		size_t nvh;
		struct ir_str *vh = split_list(cx->virt_hosts, &nvh);
		for (size_t i = 0; i < nvh; i++) {
			/* Not verbatim: a problem inside the domain is
			 * reported at the start of the virtual host. */
			struct ir_str *d = IR_PUSH(domains, ndomains);
			d->s = xprintf("%s.%s", vc->name.s, vh[i].s);
			d->pos = vh[i].pos;
		}
	}
	if (ndomains == 0) {
		error_at(&vc->pos,
			 "virtual component '%s' has no domain: set '--virt-hosts' (the domain is then %s.VIRTUAL-HOST) or '%s/fixed-domain'",
			 vc->name.s, vc->name.s, vc->name.s);
		return;
	}

	homes_of(cx, vc, &homes, &nhomes);

	memset(&id, 0, sizeof id);
	id.category = vstr(vc, VK_CATEGORY, VC_TIGASE_DISCO_CATEGORY);
	id.type = vstr(vc, VK_TYPE, VC_TIGASE_DISCO_TYPE);
	id.name = vstr(vc, VK_NAME, VC_TIGASE_DISCO_NAME);
	if (id.name.s[0] == '\0')
		id.name.s = NULL;	/* no name attribute */
	id.pos = vc->keys[VK_CATEGORY] ? vc->keys[VK_CATEGORY]->p->key_pos :
	    vc->pos;

	if (vc->keys[VK_FEATURES] != NULL) {
		features = split_list(vc->keys[VK_FEATURES], &nfeatures);
	} else {
		features = xmalloc(sizeof *features);
		features[0].s = VC_TIGASE_DISCO_FEATURES;
		features[0].pos = vc->pos;
		nfeatures = 1;
	}

	dnode = vstr(vc, VK_NODE, "");
	if (dnode.s[0] == '\0')
		dnode.s = NULL;

	if (vc->ckeys[VCK_DISCO] != NULL) {
		struct tkey *k = vc->ckeys[VCK_DISCO];
		struct ir_str v = value_of(k);

		mode_pos = v.pos;
		(void)parse_disco_mode(k->p->key, &v, &mode);
	}

	memset(&secret, 0, sizeof secret);
	if (!secret_from(vc->ckeys[VCK_SECRET_FILE], vc->ckeys[VCK_SECRET_ENV],
			 &secret)) {
		char *env = xprintf("VCOMP_SECRET_%s", vc->name.s);
		for (char *c = env + strlen("VCOMP_SECRET_"); *c != '\0'; c++)
			*c = isalnum((unsigned char)*c) ?
			    (char)toupper((unsigned char)*c) : '_';
		secret.kind = SECRET_ENV;
		secret.ref.s = env;
		secret.ref.pos = vc->pos;
		secret.pos = vc->pos;
	}

	for (size_t i = 0; i < ndomains; i++) {
		struct ir_component *c = IR_PUSH(spec->components,
						 spec->ncomponents);
		c->name = vc->name;
		c->domain = domains[i];
		c->homes = homes;
		c->nhomes = nhomes;
		c->ids = xmalloc(sizeof *c->ids);
		c->ids[0] = id;
		c->nids = 1;
		c->features = features;
		c->nfeatures = nfeatures;
		c->disco_node = dnode;
		c->disco = mode;
		c->disco_pos = mode_pos;
		c->secret = secret;
		previous_secret(vc->ckeys[VCK_PREV_FILE],
				vc->ckeys[VCK_PREV_ENV], &c->accept,
				&c->naccept);
		c->pos = vc->pos;
	}
}

/* ---- the driver */

static void
global_key(struct ctx *cx, struct tkey *k, struct comp_decl **decls,
	   size_t *ndecls)
{
	const char *name = k->name;

	if (strcmp(name, "--cluster-nodes") == 0) {
		cluster_nodes(cx, k);
	} else if (strcmp(name, "--virt-hosts") == 0) {
		k->used = true;
		cx->virt_hosts = k;
	} else if (strcmp(name, "--cluster-mode") == 0) {
		struct ir_str v = value_of(k);
		k->used = true;
		if (!is_true(v.s))
			warning_at(&v.pos,
				   "'--cluster-mode' is '%s', so Tigase would not run its virtual components; vcompc builds them anyway",
				   v.s);
	} else if (starts_with(name, "--comp-name-") && name[12] != '\0') {
		decl_for(decls, ndecls, &cx->decl_index, name + 12)->name = k;
	} else if (starts_with(name, "--comp-class-") && name[13] != '\0') {
		decl_for(decls, ndecls, &cx->decl_index, name + 13)->cls = k;
	}
}

bool
properties_to_ir(const struct prop *props, size_t n, struct ir_spec *spec)
{
	struct ctx cx;
	struct comp_decl *decls = NULL;
	size_t ndecls = 0;
	int errors = diag_error_count();

	memset(&cx, 0, sizeof cx);
	cx.spec = spec;
	spec->format = FMT_PROPERTIES;
	if (spec->path == NULL && n > 0)
		spec->path = props[0].key_pos.file;
	cx.path = spec->path;
	ir_limits_default(&spec->limits);

	cx.keys = xmalloc((n + 1) * sizeof *cx.keys);
	cx.nkeys = n;
	for (size_t i = 0; i < n; i++) {
		cx.keys[i].p = &props[i];
		split_marker(&cx.keys[i]);
	}
	resolve_duplicates(&cx);

	/* Globals first: they declare the nodes and the components that
	 * the other keys refer to. */
	for (size_t i = 0; i < n; i++)
		if (!cx.keys[i].dead && cx.keys[i].name[0] == '-')
			global_key(&cx, &cx.keys[i], &decls, &ndecls);
	declare_components(&cx, decls, ndecls);
	for (size_t i = 0; i < n; i++) {
		struct tkey *k = &cx.keys[i];
		if (k->dead || k->name[0] == '-')
			continue;
		if (starts_with(k->name, "vcomp/"))
			vcomp_key(&cx, k);
		else
			component_key(&cx, k);
	}
	cluster_secret(&cx);
	for (size_t i = 0; i < cx.nvc; i++)
		build_components(&cx, &cx.vc[i]);
	for (size_t i = 0; i < n; i++)
		if (!cx.keys[i].dead && !cx.keys[i].used)
			unused(&cx.keys[i]);
	ir_apply_node_defaults(spec);
	return diag_error_count() == errors;
}
