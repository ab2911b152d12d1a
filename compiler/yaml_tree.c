/*
 * yaml_tree.c — libyaml's event stream as a tree of struct ynode, with
 * positions, for the YAML front end (fe_yaml.c walks it).
 *
 * ytree_load() turns the events into a small tree (scalars, lists,
 * mappings and aliases, each with its position) and rejects what a spec
 * forbids at the YAML level: tags, a second document, undefined and
 * recursive aliases.  The event API is used rather than yaml_parser_load()
 * because the document API fills in default tags, so an explicit "!!str"
 * could no longer be told apart from no tag at all.  An alias is kept as a
 * reference to its anchor's node, never copied, and every node records how
 * many nodes it expands to once aliases are followed (saturating).  If the
 * document expands past VC_MAX_YAML_NODES, one error names the alias where
 * the count crosses the limit and the tree must not be walked: an alias
 * bomb costs no more than its own text.  A walk that only visits nodes of
 * that expansion is bounded by the same number.  Nesting is bounded too
 * (VC_MAX_YAML_DEPTH), as the events arrive, before libyaml's scanner
 * spends time quadratic in the depth of a hostile file.
 *
 * Positions are GCC-style: 1-based line, byte column (libyaml counts
 * characters; see mark_pos).
 *
 * Memory: the tree, its child lists and the anchor table are malloc'd and
 * owned by the caller's struct ytree until ytree_free(); scalar text is
 * copied into the arena because the IR points at it.  The libyaml parser
 * and its events are owned and freed here.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_tree.h"

#define LIMIT ((uint64_t)VC_MAX_YAML_NODES)

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
		oom();
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

bool
ynode_is_null(const struct ynode *n)
{
	if (n->kind != Y_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->value, "~") == 0 ||
	    strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
	    strcmp(n->value, "NULL") == 0;
}

const char *
ynode_kind_name(const struct ynode *n)
{
	switch (n->kind) {
	case Y_SEQ:
		return "a list";
	case Y_MAP:
		return "a mapping";
	default:
		return ynode_is_null(n) ? "empty" : "a string";
	}
}

bool
ynode_error(struct ynode *n, const char *fmt, ...)
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
			oom();
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].name != NULL)
				*anchor_slot(t, old[i].name) = old[i];
		free(old);
	}
	struct anchor *a = anchor_slot(t, name);
	if (a->name == NULL) {
		a->name = strdup(name);
		if (a->name == NULL)
			oom();
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

void
ytree_free(struct ytree *t)
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
		oom();
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

/* A list or mapping may open at depth t->nopen + 1?  Reported once, at
 * the opening that is one too deep; loading stops there, so the scanner
 * never reaches the depths where it turns quadratic. */
static bool
depth_ok(struct ytree *t, yaml_mark_t m)
{
	if (t->nopen < VC_MAX_YAML_DEPTH)
		return true;
	struct pos p = mark_pos(t, m);
	error_at(&p, "lists and mappings nested deeper than %u levels",
		 VC_MAX_YAML_DEPTH);
	return false;
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
		if (!depth_ok(t, ev->start_mark))
			return false;
		check_tag(t, ev->data.sequence_start.tag, ev->start_mark);
		if ((id = new_node(t, Y_SEQ, ev->start_mark)) == SIZE_MAX)
			return false;
		start_collection(t, id, ev->data.sequence_start.anchor);
		return true;
	case YAML_MAPPING_START_EVENT:
		if (!depth_ok(t, ev->start_mark))
			return false;
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
		oom();
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

/* ------------------------------------------------------------ entry */

bool
ytree_load(struct ytree *t, const char *path, const char *text, size_t len)
{
	t->path = xstrdup(path);
	t->text = text;
	t->len = len;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		t->bom = 3;
	t->cur_off = t->bom;
	/* libyaml would decode UTF-16 (a spec is UTF-8, and columns count
	 * its bytes); in UTF-8 it rejects NUL anyway, with a vaguer message. */
	if (!text_check_nul(t->path, text, len, "a YAML spec") ||
	    !load(t, text, len))
		return false;
	if (t->have_root && size_of(t, t->root) > LIMIT) {
		report_expansion(t);
		return false;
	}
	return true;
}
