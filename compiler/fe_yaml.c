/*
 * fe_yaml.c — the YAML front end: spec text to IR, with libyaml.
 *
 * Two passes.
 *
 * load() turns libyaml's event stream into a small tree of struct ynode
 * (scalars, lists, mappings and aliases, each with its position) and
 * rejects what the format forbids at the YAML level: tags, a second
 * document, undefined and recursive aliases.  The event API is used rather
 * than yaml_parser_load() because the document API fills in default tags,
 * so an explicit "!!str" could no longer be told apart from no tag at all.
 * An alias is kept as a reference to its anchor's node, never copied, and
 * every node records how many nodes it expands to once aliases are followed
 * (saturating).  If the document expands past VC_MAX_YAML_NODES, one error
 * names the alias where the count crosses the limit and nothing walks the
 * document: an alias bomb costs no more than its own text.  Because the
 * walk only visits nodes of that expansion, it is bounded by the same
 * number.
 *
 * walk_*() then read the tree against the schema in
 * docs/spec-reference.md ("YAML") and fill the IR.  They report structural
 * and type errors only (unknown or duplicate keys, a list where a mapping
 * belongs, ...) and keep going after each one, so that every such error in
 * a file is reported in one run.  Semantic checks (JID syntax, unknown home
 * nodes, missing secrets) belong to check.c, which uses the positions
 * recorded here.
 *
 * Each YAML node reports at most one error (the `bad` flag), so a mistake
 * inside an anchored mapping that is used through several aliases is
 * reported once, at the text that holds it.
 *
 * Memory: the tree, its child lists and the anchor table are malloc'd and
 * freed before yaml_to_ir() returns; scalar text is copied into the arena
 * because the IR points at it.  The libyaml parser and its events are owned
 * and freed here.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "vcompc.h"

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP, Y_ALIAS };

struct ynode {
	enum ykind kind;
	bool plain;        /* scalar written without quotes */
	bool open;         /* collection whose end event has not come yet */
	bool bad;          /* an error about this node was reported */
	bool verbatim;     /* Y_SCALAR: value is the text at vpos (see ir_str) */
	struct pos pos;    /* start mark of the node (of the alias for Y_ALIAS) */
	struct pos vpos;   /* Y_SCALAR: where the value's first byte is (after
	                    * the quote of a quoted scalar) */
	char *value;       /* Y_SCALAR: arena, NUL-terminated */
	size_t len;        /* Y_SCALAR: bytes in value (it may hold a NUL) */
	size_t first, n;   /* Y_SEQ, Y_MAP: children are items[first..first+n);
	                    * a mapping's are key, value, key, value, ... */
	size_t target;     /* Y_ALIAS: the anchored node */
	uint64_t size;     /* nodes this one expands to, at most LIMIT + 1 */
};

#define LIMIT ((uint64_t)VC_MAX_YAML_NODES)

struct anchor {
	char *name;        /* malloc'd; NULL = free slot */
	size_t node;
};

/* The tree of one document, all malloc'd (see the top of the file). */
struct ytree {
	const char *path;
	const char *text;            /* the spec, for byte columns */
	size_t len;
	size_t bom;                  /* bytes of the byte order mark, if any */
	size_t cur_index, cur_off;   /* last mark converted: its character
	                              * index and byte offset */
	struct ynode *nodes;
	size_t nnodes, cap;
	size_t *items;               /* children of every collection */
	size_t nitems, icap;
	size_t *stk;                 /* children of the open collections */
	size_t nstk, scap;
	struct {
		size_t node, base;   /* base: stk height at its start */
	} *open;
	size_t nopen, ocap;
	struct anchor *anchors;      /* open addressing, power-of-two size */
	size_t nanchors, acap;
	size_t root;
	bool have_root;
};

/* ------------------------------------------------------------ helpers */

static void *
grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	p = realloc(p, c * elem);
	if (p == NULL)
		die(1, "out of memory");
	*cap = c;
	return p;
}

/* Steps from byte off to the start of the next UTF-8 character. */
static size_t
next_char(const struct ytree *t, size_t off)
{
	do
		off++;
	while (off < t->len && ((unsigned char)t->text[off] & 0xC0) == 0x80);
	return off;
}

/*
 * libyaml's marks count characters, not bytes, and their index leaves out
 * a byte order mark; a struct pos counts bytes, as the properties front
 * end does.  The byte offset of a mark is found by walking the text from
 * the last mark converted (marks mostly come in text order, so the walks
 * add up to one pass over the text); the byte column by walking back
 * m.column characters from there.  The text before a mark is valid UTF-8:
 * libyaml checked it before it produced the mark.
 */
static size_t
mark_offset(struct ytree *t, yaml_mark_t m)
{
	if (m.index < t->cur_index) {
		t->cur_index = 0;
		t->cur_off = t->bom;
	}
	while (t->cur_index < m.index && t->cur_off < t->len) {
		t->cur_off = next_char(t, t->cur_off);
		t->cur_index++;
	}
	return t->cur_off;
}

static struct pos
mark_pos(struct ytree *t, yaml_mark_t m)
{
	size_t off = mark_offset(t, m), b = off;

	for (size_t k = 0; k < m.column && b > t->bom; k++)
		do
			b--;
		while (b > t->bom &&
		    ((unsigned char)t->text[b] & 0xC0) == 0x80);
	struct pos p = { t->path, (int)m.line + 1, (int)(off - b) + 1 };
	return p;
}

/* Whether a scalar's value is its text between the marks, as it is for a
 * one-line plain scalar, or a quoted one without escapes. */
static void
scalar_text(struct ytree *t, struct ynode *n, const yaml_event_t *ev)
{
	size_t b = mark_offset(t, ev->start_mark);
	size_t e = mark_offset(t, ev->end_mark);

	n->vpos = n->pos;
	switch (ev->data.scalar.style) {
	case YAML_PLAIN_SCALAR_STYLE:
		break;
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		if (e - b < 2)
			return;
		b++;
		e--;
		n->vpos.col++;
		break;
	default:
		return;	/* block scalars start on the next line */
	}
	n->verbatim = ev->start_mark.line == ev->end_mark.line &&
	    e - b == n->len && memcmp(t->text + b, n->value, n->len) == 0;
}

static bool
is_null(const struct ynode *n)
{
	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->value, "~") == 0 ||
	    strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
	    strcmp(n->value, "NULL") == 0;
}

static const char *
kind_name(const struct ynode *n)
{
	switch (n->kind) {
	case Y_SEQ:
		return "a list";
	case Y_MAP:
		return "a mapping";
	default:
		return is_null(n) ? "empty" : "a string";
	}
}

/* Reports an error about node n unless one was reported already. */
static bool node_error(struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static bool
node_error(struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	if (n->bad)
		return false;
	n->bad = true;
	va_start(ap, fmt);
	vdiag(DIAG_ERROR, &n->pos, NULL, fmt, ap);
	va_end(ap);
	return true;
}

/* ------------------------------------------------------------ anchors */

static size_t
hash_str(const char *s)
{
	size_t h = 5381;

	for (; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

static struct anchor *
anchor_slot(struct ytree *t, const char *name)
{
	size_t mask = t->acap - 1, i = hash_str(name) & mask;

	while (t->anchors[i].name != NULL &&
	    strcmp(t->anchors[i].name, name) != 0)
		i = (i + 1) & mask;
	return &t->anchors[i];
}

/* A later anchor of the same name replaces the earlier one (YAML 1.1). */
static void
anchor_set(struct ytree *t, const char *name, size_t node)
{
	if (2 * (t->nanchors + 1) > t->acap) {
		struct anchor *old = t->anchors;
		size_t oldcap = t->acap;

		t->acap = oldcap ? oldcap * 2 : 64;
		t->anchors = calloc(t->acap, sizeof *t->anchors);
		if (t->anchors == NULL)
			die(1, "out of memory");
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].name != NULL)
				*anchor_slot(t, old[i].name) = old[i];
		free(old);
	}
	struct anchor *a = anchor_slot(t, name);
	if (a->name == NULL) {
		a->name = strdup(name);
		if (a->name == NULL)
			die(1, "out of memory");
		t->nanchors++;
	}
	a->node = node;
}

static struct anchor *
anchor_get(struct ytree *t, const char *name)
{
	if (t->acap == 0)
		return NULL;
	struct anchor *a = anchor_slot(t, name);
	return a->name != NULL ? a : NULL;
}

static void
tree_free(struct ytree *t)
{
	for (size_t i = 0; i < t->acap; i++)
		free(t->anchors[i].name);
	free(t->anchors);
	free(t->nodes);
	free(t->items);
	free(t->stk);
	free(t->open);
}

/* ------------------------------------------------------------ loading */

static uint64_t
size_of(const struct ytree *t, size_t id)
{
	const struct ynode *n = &t->nodes[id];
	return n->kind == Y_ALIAS ? t->nodes[n->target].size : n->size;
}

/* Returns the index of a new node, or SIZE_MAX when the document has too
 * many nodes (reported here, once). */
static size_t
new_node(struct ytree *t, enum ykind kind, yaml_mark_t m)
{
	if (t->nnodes >= LIMIT) {
		struct pos p = mark_pos(t, m);
		error_at(&p, "spec has more than %u YAML nodes", VC_MAX_YAML_NODES);
		return SIZE_MAX;
	}
	t->nodes = grow(t->nodes, &t->cap, t->nnodes + 1, sizeof *t->nodes);
	struct ynode *n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof *n);
	n->kind = kind;
	n->pos = mark_pos(t, m);
	n->size = 1;
	return t->nnodes++;
}

/* Hangs a finished node under the innermost open collection. */
static void
add_child(struct ytree *t, size_t id)
{
	if (t->nopen == 0) {
		t->root = id;
		t->have_root = true;
		return;
	}
	t->stk = grow(t->stk, &t->scap, t->nstk + 1, sizeof *t->stk);
	t->stk[t->nstk++] = id;
}

static void
start_collection(struct ytree *t, size_t id, const yaml_char_t *anchor)
{
	t->nodes[id].open = true;
	if (anchor != NULL)
		anchor_set(t, (const char *)anchor, id);
	t->open = grow(t->open, &t->ocap, t->nopen + 1, sizeof *t->open);
	t->open[t->nopen].node = id;
	t->open[t->nopen].base = t->nstk;
	t->nopen++;
}

static void
end_collection(struct ytree *t)
{
	t->nopen--;
	size_t id = t->open[t->nopen].node, base = t->open[t->nopen].base;
	size_t n = t->nstk - base;
	struct ynode *c = &t->nodes[id];
	uint64_t size = 1;

	t->items = grow(t->items, &t->icap, t->nitems + n, sizeof *t->items);
	if (n > 0)
		memcpy(t->items + t->nitems, t->stk + base,
		       n * sizeof *t->items);
	for (size_t i = 0; i < n && size <= LIMIT; i++)
		size += size_of(t, t->stk[base + i]);
	c->first = t->nitems;
	c->n = n;
	c->size = size > LIMIT ? LIMIT + 1 : size;
	c->open = false;
	t->nitems += n;
	t->nstk = base;
	add_child(t, id);
}

static void
check_tag(struct ytree *t, const yaml_char_t *tag, yaml_mark_t m)
{
	static const char core[] = "tag:yaml.org,2002:";
	const char *s = (const char *)tag;

	if (s == NULL)
		return;
	struct pos p = mark_pos(t, m);
	/* Show a core-schema tag as it is usually written: !!str. */
	if (strncmp(s, core, sizeof core - 1) == 0)
		error_at(&p, "tags are not supported in a spec ('!!%s')",
			 s + sizeof core - 1);
	else
		error_at(&p, "tags are not supported in a spec ('%s')", s);
}

/* The position of byte `off` of the text, for libyaml's reader errors,
 * which carry an offset instead of a mark. */
static struct pos
offset_pos(const char *path, const char *text, size_t len, size_t off)
{
	struct pos p = { path, 1, 1 };
	size_t bol = 0;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n') {
			p.line++;
			bol = i + 1;
		}
	p.col = (int)(off - bol) + 1;
	return p;
}

static void
parser_error(struct ytree *t, const yaml_parser_t *yp, const char *text,
	     size_t len)
{
	struct pos whole = { t->path, 0, 0 };
	struct pos at, ctx;
	const char *problem = yp->problem ? yp->problem : "unknown problem";

	switch (yp->error) {
	case YAML_MEMORY_ERROR:
		die(1, "out of memory while parsing %s", t->path);
	case YAML_READER_ERROR:
		at = offset_pos(t->path, text, len, yp->problem_offset);
		if (yp->problem_value != -1)
			error_at(&at, "%s (0x%02X)", problem, yp->problem_value);
		else
			error_at(&at, "%s", problem);
		break;
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		at = mark_pos(t, yp->problem_mark);
		error_at(&at, "%s", problem);
		ctx = mark_pos(t, yp->context_mark);
		if (yp->context != NULL &&
		    (ctx.line != at.line || ctx.col != at.col)) {
			note_at(&ctx, "%s", yp->context);
		}
		break;
	default:
		error_at(&whole, "cannot parse YAML: %s", problem);
		break;
	}
}

/* Handles one event.  Returns false when loading must stop. */
static bool
load_event(struct ytree *t, yaml_event_t *ev, int *ndocs)
{
	size_t id;
	struct pos p;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++*ndocs > 1) {
			p = mark_pos(t, ev->start_mark);
			error_at(&p, "a spec is one YAML document; a second one starts here");
			return false;
		}
		return true;
	case YAML_SCALAR_EVENT:
		check_tag(t, ev->data.scalar.tag, ev->start_mark);
		if ((id = new_node(t, Y_SCALAR, ev->start_mark)) == SIZE_MAX)
			return false;
		struct ynode *n = &t->nodes[id];
		n->len = ev->data.scalar.length;
		n->value = xstrndup((const char *)ev->data.scalar.value, n->len);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		scalar_text(t, n, ev);
		if (ev->data.scalar.anchor != NULL)
			anchor_set(t, (const char *)ev->data.scalar.anchor, id);
		add_child(t, id);
		return true;
	case YAML_SEQUENCE_START_EVENT:
		check_tag(t, ev->data.sequence_start.tag, ev->start_mark);
		if ((id = new_node(t, Y_SEQ, ev->start_mark)) == SIZE_MAX)
			return false;
		start_collection(t, id, ev->data.sequence_start.anchor);
		return true;
	case YAML_MAPPING_START_EVENT:
		check_tag(t, ev->data.mapping_start.tag, ev->start_mark);
		if ((id = new_node(t, Y_MAP, ev->start_mark)) == SIZE_MAX)
			return false;
		start_collection(t, id, ev->data.mapping_start.anchor);
		return true;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		end_collection(t);
		return true;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		struct anchor *a = anchor_get(t, name);

		if ((id = new_node(t, Y_ALIAS, ev->start_mark)) == SIZE_MAX)
			return false;
		p = t->nodes[id].pos;
		if (a == NULL) {
			/* Stand in an empty scalar so that the walk goes on. */
			error_at(&p, "undefined alias '*%s'", name);
			t->nodes[id].kind = Y_SCALAR;
			t->nodes[id].value = "";
			t->nodes[id].plain = true;
			t->nodes[id].bad = true;
		} else if (t->nodes[a->node].open) {
			error_at(&p, "alias '*%s' refers to a node that contains it",
				 name);
			t->nodes[id].kind = Y_SCALAR;
			t->nodes[id].value = "";
			t->nodes[id].plain = true;
			t->nodes[id].bad = true;
		} else
			t->nodes[id].target = a->node;
		add_child(t, id);
		return true;
	}
	case YAML_STREAM_END_EVENT:
		return false;
	default:
		return true;
	}
}

/* Builds the tree of the file's first document.  Returns false if the
 * tree is unusable (a syntax error or too many nodes); other errors are
 * reported and loading goes on. */
static bool
load(struct ytree *t, const char *text, size_t len)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	int ndocs = 0;
	bool ok = true;

	if (!yaml_parser_initialize(&yp))
		die(1, "out of memory");
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	for (;;) {
		if (!yaml_parser_parse(&yp, &ev)) {
			parser_error(t, &yp, text, len);
			ok = false;
			break;
		}
		bool more = load_event(t, &ev, &ndocs);
		if (!more && ev.type != YAML_STREAM_END_EVENT &&
		    ev.type != YAML_DOCUMENT_START_EVENT)
			ok = false;
		yaml_event_delete(&ev);
		if (!more)
			break;
	}
	yaml_parser_delete(&yp);
	return ok;
}

/* Reports where the expansion of the document crosses LIMIT: descends
 * from the root, spending the budget on each child in document order,
 * into the first child that does not fit, until that child is an alias. */
static void
report_expansion(struct ytree *t)
{
	uint64_t budget = LIMIT;
	size_t id = t->root;

	for (;;) {
		struct ynode *n = &t->nodes[id];
		size_t next = SIZE_MAX;

		if (n->kind == Y_ALIAS || n->kind == Y_SCALAR || budget == 0)
			break;
		budget--;
		for (size_t i = 0; i < n->n; i++) {
			size_t c = t->items[n->first + i];
			uint64_t s = size_of(t, c);
			if (s > budget) {
				next = c;
				break;
			}
			budget -= s;
		}
		if (next == SIZE_MAX)
			break;
		id = next;
	}
	error_at(&t->nodes[id].pos, "alias expansion exceeds %u nodes",
		 VC_MAX_YAML_NODES);
}

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
	struct ynode *n = &w->t->nodes[id];
	return n->kind == Y_ALIAS ? &w->t->nodes[n->target] : n;
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
		die(1, "out of memory");
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
			node_error(raw(w, kid),
				   "mapping keys must be strings, not %s",
				   kind_name(kn));
			continue;
		}
		if (strlen(kn->value) != kn->len) {
			node_error(raw(w, kid), "key '%s' contains a NUL character",
				   kn->value);
			continue;
		}
		if (it->first[i] != i) {
			size_t fid = w->t->items[it->m->first + 2 * it->first[i]];
			if (node_error(raw(w, kid), "duplicate key '%s'",
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
		node_error(raw(w, kid), "unknown key '%s' %s; did you mean '%s'?",
			   key, where, hint);
	else
		node_error(raw(w, kid), "unknown key '%s' %s", key, where);
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
		node_error(r, "'%s' must be a string, not %s", key,
			   kind_name(n));
		return false;
	}
	if (is_null(n)) {
		node_error(r, "'%s' has no value", key);
		return false;
	}
	/* The IR holds C strings: an escaped "\0" would cut the value. */
	if (strlen(n->value) != n->len) {
		node_error(r, "'%s' contains a NUL character", key);
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

	if (n->kind == Y_MAP || is_null(n))
		return n;
	node_error(r, "'%s' must be %s, not %s", key, what, kind_name(n));
	return NULL;
}

static const struct ynode *
get_seq(struct walk *w, size_t id, const char *key, const char *what)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);

	if (n->kind == Y_SEQ)
		return n;
	node_error(r, "'%s' must be %s, not %s", key, what, kind_name(n));
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

static void
walk_secret(struct walk *w, size_t id, const char *key, struct ir_secret *out)
{
	struct ynode *r = raw(w, id), *n = deref(w, id);
	struct mapit it;
	size_t k, v, seen = SIZE_MAX;
	bool unknown = false;

	if (n->kind != Y_MAP) {
		if (n->kind == Y_SCALAR && !is_null(n))
			node_error(r, "'%s' must be a source, {file: PATH} or {env: NAME}; never the secret itself",
				   key);
		else
			node_error(r, "'%s' must be a mapping, {file: PATH} or {env: NAME}, not %s",
				   key, kind_name(n));
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
			if (node_error(raw(w, k), "'%s' must name one source, not both 'file' and 'env'",
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
			node_error(raw(w, v), "'%s' of '%s' is empty",
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
		node_error(r, "'%s' must name a source, {file: PATH} or {env: NAME}",
			   key);
}

static const char *const cluster_keys[] = { "secret" };

static void
walk_cluster(struct walk *w, size_t id)
{
	const struct ynode *m = get_map(w, id, "cluster", "a mapping");
	struct mapit it;
	size_t k, v;

	if (m == NULL)
		return;
	map_begin(w, &it, m);
	while (map_next(&it, &k, &v))
		if (key_index(w, k, cluster_keys, 1, "in 'cluster'") == 0)
			walk_secret(w, v, "secret", &w->spec->cluster_secret);
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
			walk_secret(w, v, "secret", &c->secret);
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
		if (node_error(raw(w, later), "'identities' and the shorthand '%s' cannot both be given",
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
				node_error(raw(w, v), "'version' must be 1, not '%s'",
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
	t.path = xstrdup(path);
	t.text = text;
	t.len = len;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		t.bom = 3;
	t.cur_off = t.bom;
	whole.file = t.path;
	whole.line = whole.col = 0;

	/* libyaml would decode UTF-16 (a spec is UTF-8, and columns count
	 * its bytes); in UTF-8 it rejects NUL anyway, with a vaguer message. */
	if (text_check_nul(t.path, text, len, "a YAML spec") &&
	    load(&t, text, len) && t.have_root) {
		struct ynode *root = &t.nodes[t.root];
		struct ynode *r = root->kind == Y_ALIAS ?
		    &t.nodes[root->target] : root;
		if (size_of(&t, t.root) > LIMIT)
			report_expansion(&t);
		else if (is_null(r))
			error_at(&whole, "empty spec");
		else if (r->kind != Y_MAP)
			node_error(root, "a spec must be a mapping with 'nodes' and 'components' at the top level, not %s",
				   kind_name(r));
		else {
			struct walk w = { &t, spec };
			walk_top(&w, t.root);
		}
	} else if (!t.have_root && diag_error_count() == errors)
		error_at(&whole, "empty spec");
	tree_free(&t);
	ir_apply_node_defaults(spec);
	return diag_error_count() == errors;
}
