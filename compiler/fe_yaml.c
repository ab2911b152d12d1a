/*
 * fe_yaml.c — the YAML front end: spec text to IR.
 *
 * yaml_tree.c loads the text into a tree of struct ynode with positions
 * and rejects what is wrong at the YAML level (syntax, tags, aliases, alias
 * bombs).  walk_*() here read that tree against the schema in
 * docs/spec-reference.md ("YAML") and fill the IR.  They report structural
 * and type errors only (unknown or duplicate keys, a list where a mapping
 * belongs, ...) and keep going after each one, so that every such error in
 * a file is reported in one run.  Semantic checks (JID syntax, unknown home
 * nodes, missing secrets) belong to check.c, which uses the positions
 * recorded here.
 *
 * Each YAML node reports at most one error (its `bad` flag), so a mistake
 * inside an anchored mapping that is used through several aliases is
 * reported once, at the text that holds it.
 *
 * Memory: the tree is freed before yaml_to_ir() returns; the IR points at
 * arena strings only.
 */
#include <stdlib.h>
#include <string.h>

#include "vcompc.h"
#include "yaml_tree.h"

/* ------------------------------------------------------------ walking */

struct walk {
	struct ytree *t;
	struct ir_spec *spec;
};

static struct ynode *
raw(struct walk *w, size_t id)
{
	return &w->t->nodes[id];
}

/* The node an id stands for: the anchored node for an alias. */
static struct ynode *
deref(struct walk *w, size_t id)
{
	return ytree_deref(w->t, id);
}

/* Iterates over the pairs of a mapping (or of nothing, for an empty
 * value), skipping and reporting non-scalar and duplicate keys. */
struct mapit {
	struct walk *w;
	const struct ynode *m;   /* NULL: an empty value, no pairs */
	size_t i, npairs;
	size_t *first;           /* first[i]: the pair whose key pair i
	                          * repeats, or i; malloc'd */
};

struct keyref {
	const char *s;
	size_t len, i;
};

static int
keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static void
map_begin(struct walk *w, struct mapit *it, const struct ynode *m)
{
	struct keyref *k;
	size_t nk = 0;

	memset(it, 0, sizeof *it);
	it->w = w;
	if (m == NULL || m->kind != Y_MAP)
		return;
	it->m = m;
	it->npairs = m->n / 2;
	if (it->npairs == 0)
		return;
	it->first = malloc(it->npairs * sizeof *it->first);
	k = malloc(it->npairs * sizeof *k);
	if (it->first == NULL || k == NULL)
		oom();
	for (size_t i = 0; i < it->npairs; i++) {
		const struct ynode *kn = deref(w, w->t->items[m->first + 2 * i]);
		it->first[i] = i;
		if (kn->kind == Y_SCALAR) {
			k[nk].s = kn->value;
			k[nk].len = kn->len;
			k[nk].i = i;
			nk++;
		}
	}
	/* Sorting by (text, position) puts each first occurrence at the
	 * head of its run of equal keys. */
	qsort(k, nk, sizeof *k, keyref_cmp);
	for (size_t j = 1; j < nk; j++)
		if (k[j].len == k[j - 1].len &&
		    memcmp(k[j].s, k[j - 1].s, k[j].len) == 0)
			it->first[k[j].i] = it->first[k[j - 1].i];
	free(k);
}

/* The next usable pair: *k (a scalar key, maybe through an alias) and *v,
 * as raw ids.  Returns false at the end. */
static bool
map_next(struct mapit *it, size_t *k, size_t *v)
{
	struct walk *w = it->w;

	while (it->i < it->npairs) {
		size_t i = it->i++;
		size_t kid = w->t->items[it->m->first + 2 * i];
		struct ynode *kn = deref(w, kid);

		if (kn->kind != Y_SCALAR) {
			ynode_error(raw(w, kid),
				   "mapping keys must be strings, not %s",
				   ynode_kind_name(kn));
			continue;
		}
		if (strlen(kn->value) != kn->len) {
			ynode_error(raw(w, kid), "key '%s' contains a NUL character",
				   kn->value);
			continue;
		}
		if (it->first[i] != i) {
			size_t fid = w->t->items[it->m->first + 2 * it->first[i]];
			if (ynode_error(raw(w, kid), "duplicate key '%s'",
				       kn->value))
				note_at(&raw(w, fid)->pos, "'%s' first defined here",
					kn->value);
			continue;
		}
		*k = kid;
		*v = w->t->items[it->m->first + 2 * i + 1];
		return true;
	}
	return false;
}

static void
map_end(struct mapit *it)
{
	free(it->first);
	it->first = NULL;
}

/* The index of key kid in names[], or -1 after reporting it unknown. */
static int
key_index(struct walk *w, size_t kid, const char *const *names, size_t n,
	  const char *where)
{
	const char *key = deref(w, kid)->value;

	for (size_t i = 0; i < n; i++)
		if (strcmp(key, names[i]) == 0)
			return (int)i;
	const char *hint = did_you_mean(key, names, n);
	if (hint != NULL)
		ynode_error(raw(w, kid), "unknown key '%s' %s; did you mean '%s'?",
			   key, where, hint);
	else
		ynode_error(raw(w, kid), "unknown key '%s' %s", key, where);
	return -1;
}

/* Scalar id as an IR string: its value, where it is written (the alias,
 * if it is one, and then not verbatim). */
static struct ir_str
scalar_str(struct walk *w, size_t id)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);
	struct ir_str s = { n->value, r->pos, false };

	if (r == n && n->verbatim) {
		s.pos = n->vpos;
		s.verbatim = true;
	}
	return s;
}

/* A string value (see scalar_str). */
static bool
get_str(struct walk *w, size_t id, const char *key, struct ir_str *out)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);

	if (r->bad || n->bad)
		return false;
	if (n->kind != Y_SCALAR) {
		ynode_error(r, "'%s' must be a string, not %s", key,
			   ynode_kind_name(n));
		return false;
	}
	if (ynode_is_null(n)) {
		ynode_error(r, "'%s' has no value", key);
		return false;
	}
	/* The IR holds C strings: an escaped "\0" would cut the value. */
	if (strlen(n->value) != n->len) {
		ynode_error(r, "'%s' contains a NUL character", key);
		return false;
	}
	*out = scalar_str(w, id);
	return true;
}

/* A mapping value; an empty value counts as an empty mapping.  Returns
 * NULL after reporting any other kind. */
static const struct ynode *
get_map(struct walk *w, size_t id, const char *key, const char *what)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);

	if (n->kind == Y_MAP || ynode_is_null(n))
		return n;
	ynode_error(r, "'%s' must be %s, not %s", key, what, ynode_kind_name(n));
	return NULL;
}

static const struct ynode *
get_seq(struct walk *w, size_t id, const char *key, const char *what)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);

	if (n->kind == Y_SEQ)
		return n;
	ynode_error(r, "'%s' must be %s, not %s", key, what, ynode_kind_name(n));
	return NULL;
}

/* Marks the value node bad when a shared value parser reported an error,
 * so that the same text reached again through an alias is not reported
 * twice. */
static void
value_result(struct walk *w, size_t id, bool ok)
{
	if (!ok)
		raw(w, id)->bad = true;
}

static void
walk_endpoint(struct walk *w, size_t id, const char *key,
	      struct ir_endpoint *out)
{
	struct ir_str s;

	if (get_str(w, id, key, &s))
		value_result(w, id, parse_endpoint(key, &s, out));
}

static const char *const secret_keys[] = { "file", "env" };

/* One secret source, {file: PATH} or {env: NAME}. */
static void
walk_secret_one(struct walk *w, size_t id, const char *key,
		struct ir_secret *out)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);
	struct mapit it;
	size_t k, v, seen = SIZE_MAX;
	bool unknown = false;

	if (n->kind != Y_MAP) {
		if (n->kind == Y_SCALAR && !ynode_is_null(n))
			ynode_error(r, "'%s' must be a source, {file: PATH} or {env: NAME}; never the secret itself",
				   key);
		else
			ynode_error(r, "'%s' must be a mapping, {file: PATH} or {env: NAME}, or a list of them, not %s",
				   key, ynode_kind_name(n));
		return;
	}
	map_begin(w, &it, n);
	while (map_next(&it, &k, &v)) {
		int i = key_index(w, k, secret_keys, 2,
				  xprintf("in '%s'", key));
		if (i < 0) {
			unknown = true;
			continue;
		}
		if (seen != SIZE_MAX) {
			if (ynode_error(raw(w, k), "'%s' must name one source, not both 'file' and 'env'",
				       key))
				note_at(&raw(w, seen)->pos, "'%s' given here",
					deref(w, seen)->value);
			continue;
		}
		seen = k;
		struct ir_str ref;
		if (!get_str(w, v, secret_keys[i], &ref))
			continue;
		if (ref.s[0] == '\0') {
			ynode_error(raw(w, v), "'%s' of '%s' is empty",
				   secret_keys[i], key);
			continue;
		}
		out->kind = i == 0 ? SECRET_FILE : SECRET_ENV;
		out->ref = ref;
		out->pos = raw(w, k)->pos;
	}
	map_end(&it);
	/* After an unknown key, "no source" would only repeat the error. */
	if (seen == SIZE_MAX && !unknown)
		ynode_error(r, "'%s' must name a source, {file: PATH} or {env: NAME}",
			   key);
}

/*
 * A secret: one source, or during a rotation a list of them,
 * `[{env: NEW}, {env: OLD}]`: the first is the one this node proves with
 * (and, for a component, the one its upstream handshake uses); every one
 * is accepted from the other side.  The rest go to *accept.
 */
static void
walk_secret(struct walk *w, size_t id, const char *key, struct ir_secret *out,
	    struct ir_secret **accept, size_t *naccept)
{
	struct ynode *n = deref(w, id);

	if (n->kind != Y_SEQ) {
		walk_secret_one(w, id, key, out);
		return;
	}
	if (n->n == 0) {
		ynode_error(raw(w, id), "'%s' is an empty list; give at least one source, {file: PATH} or {env: NAME}",
			   key);
		return;
	}
	walk_secret_one(w, w->t->items[n->first], key, out);
	for (size_t i = 1; i < n->n; i++)
		walk_secret_one(w, w->t->items[n->first + i], key,
				IR_PUSH(*accept, *naccept));
}

static const char *const cluster_keys[] = { "secret", "peer-encryption",
    "servers" };

static void
walk_cluster(struct walk *w, size_t id)
{
	const struct ynode *m = get_map(w, id, "cluster", "a mapping");
	struct mapit it;
	size_t k, v;

	if (m == NULL)
		return;
	map_begin(w, &it, m);
	while (map_next(&it, &k, &v)) {
		struct ir_str s;

		switch (key_index(w, k, cluster_keys, 3, "in 'cluster'")) {
		case 0:
			walk_secret(w, v, "secret", &w->spec->cluster_secret,
				    &w->spec->cluster_accept,
				    &w->spec->ncluster_accept);
			break;
		case 1:
			if (!get_str(w, v, "peer-encryption", &s))
				break;
			value_result(w, v, parse_peer_encryption(
			    "peer-encryption", &s, &w->spec->peer_encryption));
			w->spec->peer_encryption_pos = s.pos;
			break;
		case 2:
			if (get_str(w, v, "servers", &s))
				value_result(w, v, parse_servers("servers", &s,
				    &w->spec->servers));
			break;
		default:
			break;
		}
	}
	map_end(&it);
}

enum { NK_SERVER, NK_PEER, NK_LISTEN, NK_STATS, NK_COUNT };
static const char *const node_keys[NK_COUNT] = {
	[NK_SERVER] = "server",
	[NK_PEER] = "peer",
	[NK_LISTEN] = "listen",
	[NK_STATS] = "stats",
};

static void
walk_node(struct walk *w, size_t kid, size_t vid)
{
	struct ir_spec *spec = w->spec;
	struct ir_node *nd = IR_PUSH(spec->nodes, spec->nnodes);
	struct ynode *kn = deref(w, kid);
	struct mapit it;
	size_t k, v;

	nd->name = scalar_str(w, kid);
	const struct ynode *m = get_map(w, vid, kn->value,
					"a mapping of node settings");
	if (m == NULL)
		return;
	const char *where = xprintf("in node '%s'", kn->value);
	map_begin(w, &it, m);
	while (map_next(&it, &k, &v)) {
		switch (key_index(w, k, node_keys, NK_COUNT, where)) {
		case NK_SERVER:
			walk_endpoint(w, v, "server", &nd->server);
			break;
		case NK_PEER:
			walk_endpoint(w, v, "peer", &nd->peer);
			break;
		case NK_LISTEN:
			walk_endpoint(w, v, "listen", &nd->listen);
			break;
		case NK_STATS:
			walk_endpoint(w, v, "stats", &nd->stats);
			break;
		default:
			break;
		}
	}
	map_end(&it);
}

static void
walk_homes(struct walk *w, size_t id, struct ir_component *c)
{
	struct ynode *n = deref(w, id);
	struct ir_str s;

	if (n->kind == Y_SCALAR) {
		if (get_str(w, id, "home", &s))
			*IR_PUSH(c->homes, c->nhomes) = s;
		return;
	}
	const struct ynode *l = get_seq(w, id, "home",
					"a node name or a list of node names");
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (get_str(w, w->t->items[l->first + i], "home", &s))
			*IR_PUSH(c->homes, c->nhomes) = s;
}

static void
walk_features(struct walk *w, size_t id, struct ir_component *c)
{
	const struct ynode *l = get_seq(w, id, "features", "a list of strings");
	struct ir_str s;

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (get_str(w, w->t->items[l->first + i], "features", &s))
			*IR_PUSH(c->features, c->nfeatures) = s;
}

enum { IK_CATEGORY, IK_TYPE, IK_NAME, IK_LANG, IK_COUNT };
static const char *const identity_keys[IK_COUNT] = {
	[IK_CATEGORY] = "category",
	[IK_TYPE] = "type",
	[IK_NAME] = "name",
	[IK_LANG] = "lang",
};

static void
walk_identities(struct walk *w, size_t id, struct ir_component *c)
{
	const struct ynode *l = get_seq(w, id, "identities",
					"a list of mappings");

	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		size_t item = w->t->items[l->first + i];
		const struct ynode *m = get_map(w, item, "identities",
						"a list of mappings");
		struct mapit it;
		size_t k, v;

		if (m == NULL)
			continue;
		struct ir_identity *ident = IR_PUSH(c->ids, c->nids);
		ident->pos = raw(w, item)->pos;
		map_begin(w, &it, m);
		while (map_next(&it, &k, &v)) {
			int ki = key_index(w, k, identity_keys, IK_COUNT,
					   "in an identity");
			struct ir_str *f[IK_COUNT] = {
				&ident->category, &ident->type, &ident->name,
				&ident->lang,
			};
			if (ki >= 0)
				get_str(w, v, identity_keys[ki], f[ki]);
		}
		/* A missing category or type is check.c's to report
		 * (identity-missing), at ident->pos. */
		map_end(&it);
	}
}

enum {
	CK_NAME, CK_HOME, CK_SECRET, CK_DISCO, CK_DISCO_NODE, CK_CATEGORY,
	CK_TYPE, CK_IDENTITY_NAME, CK_IDENTITIES, CK_FEATURES, CK_COUNT
};
static const char *const component_keys[CK_COUNT] = {
	[CK_NAME] = "name",
	[CK_HOME] = "home",
	[CK_SECRET] = "secret",
	[CK_DISCO] = "disco",
	[CK_DISCO_NODE] = "disco-node",
	[CK_CATEGORY] = "category",
	[CK_TYPE] = "type",
	[CK_IDENTITY_NAME] = "identity-name",
	[CK_IDENTITIES] = "identities",
	[CK_FEATURES] = "features",
};

/* Fills in an absent shorthand identity field with Tigase's default. */
static void
default_str(struct ir_str *s, const char *dflt, struct pos at)
{
	if (s->s == NULL) {
		s->s = (char *)dflt;
		s->pos = at;
	}
}

static void
walk_component(struct walk *w, size_t kid, size_t vid)
{
	struct ir_spec *spec = w->spec;
	struct ir_component *c = IR_PUSH(spec->components, spec->ncomponents);
	struct ynode *kn = deref(w, kid);
	struct ir_identity shorthand = { 0 };
	size_t first_short = SIZE_MAX, ids_key = SIZE_MAX;
	bool have_features = false;
	struct mapit it;
	size_t k, v;
	struct ir_str s;

	c->domain = scalar_str(w, kid);
	c->pos = raw(w, kid)->pos;
	c->disco = DISCO_LOCAL;
	c->disco_pos = c->pos;
	const struct ynode *m = get_map(w, vid, kn->value,
					"a mapping of component settings");
	const char *where = xprintf("in component '%s'", kn->value);
	map_begin(w, &it, m);
	while (map_next(&it, &k, &v)) {
		int ki = key_index(w, k, component_keys, CK_COUNT, where);
		switch (ki) {
		case CK_NAME:
			get_str(w, v, "name", &c->name);
			break;
		case CK_HOME:
			walk_homes(w, v, c);
			break;
		case CK_SECRET:
			walk_secret(w, v, "secret", &c->secret, &c->accept,
				    &c->naccept);
			break;
		case CK_DISCO:
			if (!get_str(w, v, "disco", &s))
				break;
			c->disco_pos = s.pos;
			value_result(w, v, parse_disco_mode("disco", &s,
							    &c->disco));
			break;
		case CK_DISCO_NODE:
			get_str(w, v, "disco-node", &c->disco_node);
			break;
		case CK_CATEGORY:
		case CK_TYPE:
		case CK_IDENTITY_NAME:
			if (first_short == SIZE_MAX)
				first_short = k;
			get_str(w, v, component_keys[ki],
				ki == CK_CATEGORY ? &shorthand.category :
				ki == CK_TYPE ? &shorthand.type :
				&shorthand.name);
			break;
		case CK_IDENTITIES:
			ids_key = k;
			walk_identities(w, v, c);
			break;
		case CK_FEATURES:
			have_features = true;
			walk_features(w, v, c);
			break;
		default:
			break;
		}
	}
	map_end(&it);

	if (c->name.s == NULL) {
		const char *dot = strchr(c->domain.s, '.');
		c->name.s = dot ? xstrndup(c->domain.s,
		    (size_t)(dot - c->domain.s)) : c->domain.s;
		c->name.pos = c->domain.pos;
	}
	if (ids_key != SIZE_MAX && first_short != SIZE_MAX) {
		/* Point at whichever of the two comes second. */
		size_t later = ids_key, earlier = first_short;
		struct pos *a = &raw(w, ids_key)->pos, *b = &raw(w, first_short)->pos;
		if (b->line > a->line || (b->line == a->line && b->col > a->col)) {
			later = first_short;
			earlier = ids_key;
		}
		if (ynode_error(raw(w, later), "'identities' and the shorthand '%s' cannot both be given",
			       deref(w, first_short)->value))
			note_at(&raw(w, earlier)->pos, "'%s' given here",
				deref(w, earlier)->value);
	} else if (ids_key == SIZE_MAX) {
		struct pos at = first_short != SIZE_MAX ?
		    raw(w, first_short)->pos : c->pos;
		struct ir_identity *ident = IR_PUSH(c->ids, c->nids);
		*ident = shorthand;
		ident->pos = at;
		default_str(&ident->category, VC_TIGASE_DISCO_CATEGORY, at);
		default_str(&ident->type, VC_TIGASE_DISCO_TYPE, at);
		default_str(&ident->name, VC_TIGASE_DISCO_NAME, at);
	}
	if (!have_features) {
		struct ir_str *f = IR_PUSH(c->features, c->nfeatures);
		f->s = VC_TIGASE_DISCO_FEATURES;
		f->pos = c->pos;
	}
}

/* A mapping of names to settings (nodes, components): each entry goes to
 * fn, in document order. */
static void
walk_named(struct walk *w, size_t id, const char *key, const char *what,
	   void (*fn)(struct walk *, size_t, size_t))
{
	const struct ynode *m = get_map(w, id, key, what);
	struct mapit it;
	size_t k, v;

	if (m == NULL)
		return;
	map_begin(w, &it, m);
	while (map_next(&it, &k, &v))
		fn(w, k, v);
	map_end(&it);
}

static void
walk_limits(struct walk *w, size_t id)
{
	const struct ynode *m = get_map(w, id, "limits", "a mapping");
	struct mapit it;
	size_t k, v;
	struct ir_str s;
	bool known;

	if (m == NULL)
		return;
	map_begin(w, &it, m);
	while (map_next(&it, &k, &v)) {
		const char *key = deref(w, k)->value;
		/* Look the name up before the value, so that an unknown key
		 * is reported as such whatever its value is. */
		bool is_known = false;
		for (size_t i = 0; i < nlimit_names; i++)
			if (strcmp(key, limit_names[i]) == 0)
				is_known = true;
		if (!is_known) {
			key_index(w, k, limit_names, nlimit_names, "in 'limits'");
			continue;
		}
		if (!get_str(w, v, key, &s))
			continue;
		value_result(w, v, limit_set(w->spec, key, &s, &known));
	}
	map_end(&it);
}

enum { TK_VERSION, TK_CLUSTER, TK_NODES, TK_COMPONENTS, TK_LIMITS, TK_COUNT };
static const char *const top_keys[TK_COUNT] = {
	[TK_VERSION] = "version",
	[TK_CLUSTER] = "cluster",
	[TK_NODES] = "nodes",
	[TK_COMPONENTS] = "components",
	[TK_LIMITS] = "limits",
};

static void
walk_top(struct walk *w, size_t root)
{
	struct mapit it;
	size_t k, v;
	struct ir_str s;

	map_begin(w, &it, deref(w, root));
	while (map_next(&it, &k, &v)) {
		switch (key_index(w, k, top_keys, TK_COUNT, "at the top level")) {
		case TK_VERSION:
			if (get_str(w, v, "version", &s) && strcmp(s.s, "1") != 0)
				ynode_error(raw(w, v), "'version' must be 1, not '%s'",
					   s.s);
			break;
		case TK_CLUSTER:
			walk_cluster(w, v);
			break;
		case TK_NODES:
			walk_named(w, v, "nodes", "a mapping of node names to settings",
				   walk_node);
			break;
		case TK_COMPONENTS:
			walk_named(w, v, "components",
				   "a mapping of component domains to settings",
				   walk_component);
			break;
		case TK_LIMITS:
			walk_limits(w, v);
			break;
		default:
			break;
		}
	}
	map_end(&it);
}

/* ------------------------------------------------------------ entry */

bool
yaml_to_ir(const char *path, const char *text, size_t len,
	   struct ir_spec *spec)
{
	struct ytree t = { 0 };
	struct pos whole;
	int errors = diag_error_count();

	if (spec->path == NULL)
		spec->path = path;
	spec->format = FMT_YAML;
	ir_limits_default(&spec->limits);

	bool usable = ytree_load(&t, path, text, len);
	whole.file = t.path;
	whole.line = whole.col = 0;
	if (usable && t.have_root) {
		struct ynode *root = &t.nodes[t.root];
		struct ynode *r = ytree_deref(&t, t.root);
		if (ynode_is_null(r))
			error_at(&whole, "empty spec");
		else if (r->kind != Y_MAP)
			ynode_error(root, "a spec must be a mapping with 'nodes' and 'components' at the top level, not %s",
				   ynode_kind_name(r));
		else {
			struct walk w = { &t, spec };
			walk_top(&w, t.root);
		}
	} else if (!t.have_root && diag_error_count() == errors)
		error_at(&whole, "empty spec");
	ytree_free(&t);
	ir_apply_node_defaults(spec);
	return diag_error_count() == errors;
}
