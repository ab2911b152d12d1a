/*
 * yaml_tree.h — libyaml's event stream as a tree with positions (yaml_tree.c).
 *
 * The YAML front end (fe_yaml.c) walks this tree against the spec's
 * schema; the loader knows nothing about the schema.
 */
#ifndef YAML_TREE_H
#define YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	uint64_t size;     /* nodes this one expands to, at most
	                    * VC_MAX_YAML_NODES + 1 */
};

struct anchor {
	char *name;        /* malloc'd; NULL = free slot */
	size_t node;
};

/* The tree of one document.  Owned by the caller of ytree_load, who
 * releases it with ytree_free; nodes, items and anchors are malloc'd,
 * scalar values are arena strings (they outlive the tree). */
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

/*
 * Loads the first YAML document of text[0..len) into t (zeroed by the
 * caller), reporting every YAML-level error: a NUL byte, syntax, tags, a
 * second document, undefined and recursive aliases, too many nodes, an
 * alias expansion past VC_MAX_YAML_NODES, nesting deeper than
 * VC_MAX_YAML_DEPTH.  Returns true when the tree may
 * be walked (t->have_root is false for an empty document); false when it
 * must not be.  Either way the caller frees t with ytree_free.
 */
bool ytree_load(struct ytree *t, const char *path, const char *text,
		size_t len);
void ytree_free(struct ytree *t);

/* The node an id stands for: the anchored node for an alias. */
static inline struct ynode *
ytree_deref(struct ytree *t, size_t id)
{
	struct ynode *n = &t->nodes[id];
	return n->kind == Y_ALIAS ? &t->nodes[n->target] : n;
}

/* A plain empty, "~" or "null" scalar (YAML's null). */
bool ynode_is_null(const struct ynode *n);
/* "a list", "a mapping", "empty" or "a string", for messages. */
const char *ynode_kind_name(const struct ynode *n);
/* Reports an error at node n unless one was reported there already;
 * returns whether it did. */
bool ynode_error(struct ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* YAML_TREE_H */
