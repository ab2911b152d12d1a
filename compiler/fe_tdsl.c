/*
 * fe_tdsl.c — the Tigase 8 config.tdsl front end.
 *
 * tdsl_read() runs the flex scanner and bison grammar of grammar/tdsl.*
 * over the file and returns its tree of entries.  tdsl_to_ir() gives the
 * tree Tigase's meaning and fills the IR the same way the init.properties
 * front end does (docs/spec-reference.md, "Tigase config.tdsl"):
 *
 *  - 'cluster-mode' = true, 'virtual-hosts' = [ ... ] (or Tigase 7's
 *    --cluster-mode and --virt-hosts, which Tigase 8 still reads);
 *  - every top-level bean of class tigase.cluster.VirtualComponent is a
 *    vcomp component, with the keys and defaults of fe_properties.c;
 *  - a `vcomp { ... }` block holds what Tigase 8 does not list (it finds
 *    its cluster nodes at run time): the nodes, their addresses, the
 *    secrets and the limits, under the names of the properties front
 *    end's vcomp/ keys: Tigase's own flattening of the block
 *    (vcomp/node/NODE/server, ...) gives exactly those keys.
 *
 * Values are evaluated as Tigase's reader evaluates them (numbers with
 * suffixes, string concatenation, arithmetic in Tigase's order of
 * operations).  env() and prop() are read on each Tigase node when it
 * starts; vcompc builds every node's table ahead of time, so it accepts
 * them wherever it does not read the value and refuses them where it does.
 * tdsl_emit_keys() prints the flattened keys for `vcompc --emit=keys`.
 *
 * Memory: the tree, the IR and every position are arena memory (util.c).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcompc.h"
#include "tdsl.tab.h"

/* ------------------------------------------------------------ reading */

bool
tdsl_read(const char *path, const char *text, size_t len,
	  struct td_state **out)
{
	struct td_state *st = xmalloc(sizeof *st);
	bool ok;

	st->path = xstrdup(path);
	*out = st;
	if (!text_check_nul(st->path, text, len, "a Tigase config.tdsl file"))
		return false;
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		struct pos p = { st->path, 1, 1 };
		error_at(&p, "the file starts with a byte order mark, which Tigase's reader takes as part of the first key; remove it");
		return false;
	}
	ok = td_run(st, text, len);
	return ok && st->nerrors == 0;
}

/* ------------------------------------------------------------ values */

/* A value after evaluation, as Tigase's reader would hold it. */
enum tkind {
	T_STR, T_INT, T_LONG, T_FLOAT, T_DOUBLE, T_BOOL, T_NULL,
	T_LIST, T_MAP,
	T_RUNTIME,	/* depends on env() or prop(): known only on the node */
	T_BAD		/* an error was reported */
};

static const char *const tkind_names[] = {
	[T_STR] = "a string", [T_INT] = "an integer", [T_LONG] = "a long",
	[T_FLOAT] = "a float", [T_DOUBLE] = "a double",
	[T_BOOL] = "a boolean", [T_NULL] = "null", [T_LIST] = "a list",
	[T_MAP] = "a map", [T_RUNTIME] = "env() or prop()",
	[T_BAD] = "an invalid value",
};

struct tval {
	enum tkind k;
	char *s;		/* T_STR; T_RUNTIME: the call, for messages */
	int64_t i;		/* T_INT, T_LONG */
	double d;		/* T_FLOAT, T_DOUBLE */
	bool b;			/* T_BOOL */
	const struct td_val *v;	/* T_LIST, T_MAP: the items */
	struct pos pos;
	bool verbatim;		/* T_STR is one token's bytes from pos on */
};

/*
 * A bare word, decoded as Tigase's decodeValue does: DIGITS.DIGITS with
 * any number of d/D (double) or f/F (float) suffixes, DIGITS with any
 * number of l/L (long), true, false, null; anything else is a string.
 * Java throws on a number too large for its type, and so does vcompc.
 */
static struct tval
decode_word(const struct td_val *v)
{
	struct tval t = { .k = T_STR, .s = v->s, .pos = v->pos,
			  .verbatim = v->verbatim };
	const char *s = v->s;
	size_t n = strlen(s), digits = strspn(s, "0123456789");

	if (digits > 0 && s[digits] == '.') {
		size_t frac = strspn(s + digits + 1, "0123456789");
		size_t end = digits + 1 + frac;
		if (frac > 0 && strspn(s + end, "dDfF") == n - end) {
			char *num = xstrndup(s, end);
			const char *sfx = s + end;

			/* Tigase: no suffix, "d" or "D" is a double; any
			 * other run of suffixes a float. */
			t.k = sfx[0] == '\0' || strcmp(sfx, "d") == 0 ||
			    strcmp(sfx, "D") == 0 ? T_DOUBLE : T_FLOAT;
			t.d = strtod(num, NULL);
			return t;
		}
	}
	if (digits > 0 && strspn(s + digits, "lL") == n - digits) {
		char *num = xstrndup(s, digits);
		bool lng = n > digits;
		uintmax_t x;

		errno = 0;
		x = strtoumax(num, NULL, 10);
		if (errno == ERANGE || x > (lng ? (uintmax_t)INT64_MAX :
		    (uintmax_t)INT32_MAX)) {
			error_at(&v->pos, lng ?
				 "'%s' is too large for a long; Tigase cannot read it" :
				 "'%s' is too large for an integer, which Tigase's reader makes of it; write %sL for a long",
				 s, num);
			t.k = T_BAD;
			return t;
		}
		t.k = lng ? T_LONG : T_INT;
		t.i = (int64_t)x;
		return t;
	}
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
		t.k = T_BOOL;
		t.b = s[0] == 't';
	} else if (strcmp(s, "null") == 0) {
		t.k = T_NULL;
	}
	return t;
}

static struct tval eval(const struct td_val *v);

/* env('NAME') or env('NAME', 'default'), and the same for prop(). */
static struct tval
eval_call(const struct td_val *v)
{
	static const char *const fns[] = { "env", "prop" };
	struct tval t = { .k = T_RUNTIME, .pos = v->pos };
	const char *hint;

	if (strcmp(v->s, "env") != 0 && strcmp(v->s, "prop") != 0) {
		hint = did_you_mean(v->s, fns, 2);
		error_at(&v->pos, "unknown function '%s'; Tigase's reader has env('NAME') and prop('name')%s%s%s",
			 v->s, hint ? "; did you mean '" : "",
			 hint ? hint : "", hint ? "'?" : "");
		t.k = T_BAD;
		return t;
	}
	if (v->nitems < 1 || v->nitems > 2) {
		error_at(&v->pos, "%s() takes the name and, optionally, a default value: %s('NAME') or %s('NAME', 'default')",
			 v->s, v->s, v->s);
		t.k = T_BAD;
		return t;
	}
	for (size_t i = 0; i < v->nitems; i++) {
		struct tval a = eval(v->items[i]);
		if (a.k == T_BAD) {
			t.k = T_BAD;
			return t;
		}
		if (a.k != T_STR) {
			error_at(&a.pos, "the %s of %s() must be a string, not %s",
				 i == 0 ? "name" : "default value", v->s,
				 tkind_names[a.k]);
			t.k = T_BAD;
			return t;
		}
		if (i == 0)
			t.s = xprintf("%s('%s')", v->s, a.s);
	}
	return t;
}

static int
rank(enum tkind k)
{
	return k == T_INT ? 0 : k == T_LONG ? 1 : k == T_FLOAT ? 2 : 3;
}

/* One operation on two numbers, in the wider of the two types, as Java
 * does.  Integer overflow wraps in Java; vcompc reports it instead. */
static bool
arith(char op, struct tval *a, const struct tval *b, const struct pos *at)
{
	enum tkind k = rank(a->k) >= rank(b->k) ? a->k : b->k;

	if (k == T_FLOAT || k == T_DOUBLE) {
		double x = a->k >= T_FLOAT ? a->d : (double)a->i;
		double y = b->k >= T_FLOAT ? b->d : (double)b->i;
		a->d = op == '+' ? x + y : op == '-' ? x - y :
		    op == '*' ? x * y : x / y;
		a->k = k;
		return true;
	}
	int64_t x = a->i, y = b->i, r;
	bool ovf;

	switch (op) {
	case '+':
		ovf = __builtin_add_overflow(x, y, &r);
		break;
	case '-':
		ovf = __builtin_sub_overflow(x, y, &r);
		break;
	case '*':
		ovf = __builtin_mul_overflow(x, y, &r);
		break;
	default:
		if (y == 0) {
			error_at(at, "division by zero");
			return false;
		}
		r = x / y;
		ovf = false;
		break;
	}
	if (ovf || (k == T_INT && (r > INT32_MAX || r < INT32_MIN))) {
		/* Java wraps silently, and Tigase uses what it gets. */
		if (k == T_INT)
			r = (int32_t)(uint32_t)(uint64_t)r;
		warning_at(at, "this computation overflows %s; Java wraps it to %" PRId64 ", which is what Tigase would use%s",
			   k == T_INT ? "Tigase's 32-bit integers" : "a long", r,
			   k == T_INT ? "; write the first number with an L suffix to compute in longs" : "");
	}
	a->i = r;
	a->k = k;
	return true;
}

/*
 * An expression, evaluated as Tigase's CompositeVariable does: if the
 * first operand is a string, every operator must be '+' and every operand
 * a string (concatenation); if it is a number, every operand must be a
 * number, and the operations are applied all multiplications first, then
 * all divisions, then additions, then subtractions, each left to right.
 * (So 8 / 2 * 2 is 2 in Tigase, not 8.)
 */
static struct tval
eval_expr(const struct td_val *v)
{
	static const char order[] = "*/+-";
	struct tval *vals = xmalloc(v->nitems * sizeof *vals);
	char *ops = xstrndup(v->ops, v->nitems - 1);
	size_t n = v->nitems;
	struct tval t = { .k = T_BAD, .pos = v->pos };
	struct buf b = { NULL, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		vals[i] = eval(v->items[i]);
		if (vals[i].k == T_BAD)
			return t;
	}
	for (size_t i = 0; i < n; i++)
		if (vals[i].k == T_RUNTIME) {
			t = vals[i];
			t.pos = v->pos;
			return t;
		}
	if (vals[0].k == T_STR) {
		for (size_t i = 1; i < n; i++) {
			if (ops[i - 1] != '+') {
				error_at(&vals[i - 1].pos, "Tigase cannot apply '%c' to a string; only '+' joins strings (quote a value that holds '%c')",
					 ops[i - 1], ops[i - 1]);
				return t;
			}
			if (vals[i].k != T_STR) {
				error_at(&vals[i].pos, "Tigase joins only strings with '+', and this is %s; quote it",
					 tkind_names[vals[i].k]);
				return t;
			}
		}
		for (size_t i = 0; i < n; i++)
			buf_puts(&b, vals[i].s);
		t.k = T_STR;
		t.s = xstrndup(b.data ? b.data : "", b.len);
		buf_free(&b);
		return t;
	}
	for (size_t i = 0; i < n; i++)
		if (vals[i].k < T_INT || vals[i].k > T_DOUBLE) {
			error_at(&vals[i].pos, i == 0 ?
				 "Tigase cannot compute with %s; an expression starts with a string or a number" :
				 "Tigase cannot compute a number with %s",
				 tkind_names[vals[i].k]);
			return t;
		}
	for (const char *o = order; *o != '\0'; o++)
		for (size_t i = 0; i + 1 < n; ) {
			if (ops[i] != *o) {
				i++;
				continue;
			}
			if (!arith(*o, &vals[i], &vals[i + 1], &v->pos))
				return t;
			memmove(&vals[i + 1], &vals[i + 2],
				(n - i - 2) * sizeof *vals);
			memmove(&ops[i], &ops[i + 1], n - i - 2);
			n--;
		}
	t = vals[0];
	t.pos = v->pos;
	t.verbatim = false;
	return t;
}

static struct tval eval1(const struct td_val *v);

/* Evaluates v once for errors: a value found bad is not reported again
 * when vcompc reads it later. */
static struct tval
eval(const struct td_val *v)
{
	struct tval t = { .k = T_BAD, .pos = v->pos, .v = v };

	if (v->bad)
		return t;
	t = eval1(v);
	if (t.k == T_BAD)
		((struct td_val *)v)->bad = true;
	return t;
}

/* Every value in the file, as Tigase's reader evaluates them all when it
 * loads the file: its errors are reported wherever they are. */
static void
check_all(const struct td_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < e[i].nattrs; j++)
			(void)eval(e[i].attrs[j].value);
		if (e[i].value != NULL) {
			const struct td_val *v = e[i].value;
			if (v->kind == TV_MAP)
				check_all(v->entries, v->nentries);
			else if (v->kind == TV_LIST)
				for (size_t j = 0; j < v->nitems; j++) {
					if (v->items[j]->kind == TV_MAP)
						check_all(v->items[j]->entries,
							  v->items[j]->nentries);
					else
						(void)eval(v->items[j]);
				}
			else
				(void)eval(v);
		}
		check_all(e[i].entries, e[i].nentries);
	}
}

static struct tval
eval1(const struct td_val *v)
{
	struct tval t = { .pos = v->pos, .v = v };

	switch (v->kind) {
	case TV_WORD:
		return decode_word(v);
	case TV_STRING:
		t.k = T_STR;
		t.s = v->s;
		t.verbatim = v->verbatim;
		return t;
	case TV_LIST:
		t.k = T_LIST;
		return t;
	case TV_MAP:
		t.k = T_MAP;
		return t;
	case TV_CALL:
		return eval_call(v);
	default:
		return eval_expr(v);
	}
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

static void emit_entries(FILE *out, const char *prefix,
			 const struct td_entry *e, size_t n);

/* A value as JSON: strings, numbers, booleans and null as themselves,
 * lists as arrays, env()/prop() and expressions as objects that say what
 * was written.  Maps are flattened into keys by the caller. */
static void
emit_value(FILE *out, const struct td_val *v)
{
	switch (v->kind) {
	case TV_STRING:
		json_string(out, v->s);
		return;
	case TV_WORD: {
		/* Tigase's own decoding, but without its errors: a number
		 * too large is shown as written. */
		const char *s = v->s;
		size_t d = strspn(s, "0123456789");
		if ((d > 0 && s[d] == '.' && strspn(s + d + 1, "0123456789") > 0 &&
		    strspn(s + d + 1 + strspn(s + d + 1, "0123456789"), "dDfF") ==
		    strlen(s + d + 1 + strspn(s + d + 1, "0123456789"))) ||
		    (d > 0 && strspn(s + d, "lL") == strlen(s + d) &&
		    s[0] != '0') || strcmp(s, "0") == 0) {
			fwrite(s, 1, d + (s[d] == '.' ? 1 +
			    strspn(s + d + 1, "0123456789") : 0), out);
		} else if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0 ||
		    strcmp(s, "null") == 0) {
			fputs(s, out);
		} else
			json_string(out, s);
		return;
	}
	case TV_LIST:
		putc('[', out);
		for (size_t i = 0; i < v->nitems; i++) {
			if (i > 0)
				putc(',', out);
			emit_value(out, v->items[i]);
		}
		putc(']', out);
		return;
	case TV_MAP:
		fputs("{}", out);
		return;
	case TV_CALL:
		fprintf(out, "{\"%s\":[", v->s);
		for (size_t i = 0; i < v->nitems; i++) {
			if (i > 0)
				putc(',', out);
			emit_value(out, v->items[i]);
		}
		fputs("]}", out);
		return;
	default:
		fputs("{\"expr\":[", out);
		for (size_t i = 0; i < v->nitems; i++) {
			if (i > 0)
				fprintf(out, ",\"%c\",", v->ops[i - 1]);
			emit_value(out, v->items[i]);
		}
		fputs("]}", out);
		return;
	}
}

static void
emit_key(FILE *out, const struct pos *p, const char *key)
{
	fprintf(out, "{\"line\":%d,\"col\":%d,\"key\":", p->line, p->col);
	json_string(out, key);
	fputs(",\"value\":", out);
}

static void
emit_entries(FILE *out, const char *prefix, const struct td_entry *e,
	     size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *key = prefix ? xprintf("%s/%s", prefix, e[i].key) :
		    e[i].key;

		for (size_t j = 0; j < e[i].nattrs; j++) {
			const struct td_entry *a = &e[i].attrs[j];
			emit_key(out, &a->key_pos, xprintf("%s/%s", key, a->key));
			emit_value(out, a->value);
			fputs("}\n", out);
		}
		if (e[i].value != NULL && e[i].value->kind == TV_MAP) {
			emit_entries(out, key, e[i].value->entries,
				     e[i].value->nentries);
		} else if (e[i].value != NULL) {
			emit_key(out, &e[i].key_pos, key);
			emit_value(out, e[i].value);
			fputs("}\n", out);
		}
		if (e[i].body)
			emit_entries(out, key, e[i].entries, e[i].nentries);
		/* An empty block is shown, so that what was read is all
		 * there (vcomp { node { 'n1' {} } } declares node n1). */
		if ((e[i].body && e[i].nentries == 0 && e[i].nattrs == 0) ||
		    (e[i].value != NULL && e[i].value->kind == TV_MAP &&
		    e[i].value->nentries == 0)) {
			emit_key(out, &e[i].key_pos, key);
			fputs("{}}\n", out);
		}
	}
}

void
tdsl_emit_keys(FILE *out, const struct td_state *doc)
{
	emit_entries(out, NULL, doc->top, doc->ntop);
}

/* ------------------------------------------------------------ semantics */

/* The keys of a tigase.cluster.VirtualComponent that vcompc reads; the
 * same as fe_properties.c's. */
enum vkey {
	VK_REDIRECT, VK_NAME, VK_NODE, VK_TYPE, VK_CATEGORY, VK_FEATURES,
	VK_FIXED, VK_N
};
static const char *const vkey_names[VK_N] = {
	"redirect-to", "disco-name", "disco-node", "disco-type",
	"disco-category", "disco-features", "fixed-domain",
};

/* The keys under vcomp { component { NAME { ... } } } and
 * vcomp { node { NAME { ... } } }: ckey_names and nkey_names (values.c). */

/* A virtual component: a bean of class tigase.cluster.VirtualComponent. */
struct vcomp {
	const struct td_entry *bean;
	struct ir_str name;
	const struct td_entry *keys[VK_N];
	const struct td_entry *ckeys[VCK_N];
};

struct ctx {
	struct ir_spec *spec;
	const char *path;
	struct vcomp *vc;
	size_t nvc;
	struct strmap vc_index;
	const struct td_entry *virt_hosts;	/* the entry that won */
	const struct td_entry *default_vhost;	/* 'default-virtual-host' */
	const struct td_entry *vcomp_bean;
	const struct td_entry *secret_file, *secret_env;
	const struct td_entry *prev_file, *prev_env;	/* during a rotation */
	struct strmap node_index;
	const struct td_entry *cluster_nodes;	/* 'cluster-nodes', if given */
	struct ir_str password;		/* first password in it */
	struct pos password_key;
};

/* ---- small helpers */

static void
unused(const struct td_entry *e, const char *path)
{
	if (!diag_wunused)
		return;
	if (e->parens || e->body)
		diag(DIAG_WARNING, &e->key_pos, "unused",
		     "Tigase bean '%s' is ignored", path);
	else
		diag(DIAG_WARNING, &e->key_pos, "unused",
		     "Tigase setting '%s' is ignored", path);
}

/* The entries of a map-like entry: NAME { ... }, NAME (...) { ... } or
 * NAME = { ... }.  NULL (with *n = 0) when it is not one. */
static const struct td_entry *
map_of(const struct td_entry *e, size_t *n)
{
	if (e->body) {
		*n = e->nentries;
		return e->entries;
	}
	if (e->value != NULL && e->value->kind == TV_MAP) {
		*n = e->value->nentries;
		return e->value->entries;
	}
	*n = 0;
	return NULL;
}

/*
 * Resolves duplicate keys in one map as Tigase's HashMap does: the last
 * one wins.  Returns the entries that are left, in file order, and warns
 * about each one replaced.  `path` names the map in messages.
 */
static const struct td_entry **
dedup(const struct td_entry *e, size_t n, const char *path, size_t *out_n)
{
	const struct td_entry **v = xmalloc((n + 1) * sizeof *v);
	struct strmap m = { 0 };
	size_t k = 0, j;

	for (size_t i = 0; i < n; i++) {
		if (strmap_get(&m, e[i].key, strlen(e[i].key), &j)) {
			const struct td_entry *old = v[j];
			warning_at(&e[i].key_pos,
				   "'%s%s%s' is set again; this one, on line %d, replaces the one on line %d",
				   path ? path : "", path ? "/" : "", e[i].key,
				   e[i].key_pos.line, old->key_pos.line);
			note_at(&old->key_pos, "previous definition here");
			v[j] = &e[i];
			continue;
		}
		strmap_put(&m, e[i].key, strlen(e[i].key), k);
		v[k++] = &e[i];
	}
	/* A replacement takes the place of the first definition: Tigase's
	 * HashMap keeps no order at all, and this one is stable. */
	*out_n = k;
	return v;
}

/*
 * The attributes between ( ): Tigase throws on any other name, and
 * expects a class name (a string) and booleans.  Returns false after
 * reporting; *cls gets the class (NULL if none), *active false only for
 * active: false.
 */
static bool
bean_attrs(const struct td_entry *e, const char **cls, struct pos *cls_pos,
	   bool *active)
{
	static const char *const names[] = { "class", "active", "exportable" };
	bool ok = true;

	*cls = NULL;
	*active = true;
	for (size_t i = 0; i < e->nattrs; i++) {
		const struct td_entry *a = &e->attrs[i];
		struct tval t = eval(a->value);
		size_t j;

		for (j = 0; j < 3; j++)
			if (strcmp(a->key, names[j]) == 0)
				break;
		if (j == 3) {
			const char *hint = did_you_mean(a->key, names, 3);
			error_at(&a->key_pos, "unknown bean attribute '%s' of '%s'; Tigase accepts class, active and exportable%s%s%s",
				 a->key, e->key, hint ? "; did you mean '" : "",
				 hint ? hint : "", hint ? "'?" : "");
			ok = false;
			continue;
		}
		if (t.k == T_BAD) {
			ok = false;
			continue;
		}
		if (j == 0 && t.k != T_STR) {
			error_at(&t.pos, "the class of bean '%s' must be a class name, not %s",
				 e->key, tkind_names[t.k]);
			ok = false;
		} else if (j == 0) {
			*cls = t.s;
			*cls_pos = t.pos;
		} else if (t.k != T_BOOL) {
			error_at(&t.pos, "'%s' of bean '%s' must be true or false, not %s",
				 a->key, e->key, tkind_names[t.k]);
			ok = false;
		} else if (j == 1) {
			*active = t.b;
		}
	}
	return ok;
}

/* The value of a key vcompc reads as one string.  Numbers are written in
 * decimal (limits and ports may be numbers).  `key` names it in
 * messages. */
static bool
str_of(const struct td_entry *e, const char *key, struct ir_str *out)
{
	struct tval t;

	if (e->value == NULL) {
		error_at(&e->key_pos, "'%s' takes a value: write %s = 'VALUE'",
			 key, e->key);
		return false;
	}
	t = eval(e->value);
	out->pos = t.pos;
	out->verbatim = t.verbatim;
	switch (t.k) {
	case T_STR:
		out->s = t.s;
		return true;
	case T_INT:
	case T_LONG:
		out->s = xprintf("%" PRId64, t.i);
		out->verbatim = false;
		return true;
	case T_BAD:
		return false;
	case T_RUNTIME:
		error_at(&t.pos, "'%s' is %s, which Tigase reads on each node when it starts; vcompc builds every node ahead of time and needs the value itself here",
			 key, t.s);
		return false;
	default:
		error_at(&t.pos, "'%s' takes a string, not %s", key,
			 tkind_names[t.k]);
		return false;
	}
}

/*
 * A list of strings: [ 'a', 'b' ], or one string with commas (Tigase's
 * plain-string form of a list, 'a,b'), whose items are trimmed and empty
 * ones skipped.
 */
static struct ir_str *
list_of(const struct td_entry *e, const char *key, size_t *n, bool *ok)
{
	struct ir_str *items = NULL;

	*n = 0;
	*ok = true;
	if (e->value != NULL && e->value->kind == TV_LIST) {
		for (size_t i = 0; i < e->value->nitems; i++) {
			struct td_entry item = *e;
			struct ir_str s;

			item.value = e->value->items[i];
			if (item.value->kind == TV_LIST) {
				error_at(&item.value->pos, "'%s' takes a list of strings, not a list of lists",
					 key);
				*ok = false;
				continue;
			}
			if (!str_of(&item, key, &s)) {
				*ok = false;
				continue;
			}
			*IR_PUSH(items, *n) = s;
		}
		return items;
	}
	struct ir_str whole;
	if (!str_of(e, key, &whole)) {
		*ok = false;
		return NULL;
	}
	const char *v = whole.s;
	size_t b = 0;
	for (size_t i = 0;; i++) {
		if (v[i] != ',' && v[i] != '\0')
			continue;
		size_t s0 = b, e0 = i;
		while (s0 < e0 && isspace((unsigned char)v[s0]))
			s0++;
		while (e0 > s0 && isspace((unsigned char)v[e0 - 1]))
			e0--;
		if (e0 > s0) {
			struct ir_str *s = IR_PUSH(items, *n);
			s->s = xstrndup(v + s0, e0 - s0);
			s->pos = ir_str_at(&whole, s0);
			s->verbatim = whole.verbatim;
		}
		if (v[i] == '\0')
			break;
		b = i + 1;
	}
	return items;
}

/* ---- the vcomp block */

static const char **
vcomp_names(struct ctx *cx)
{
	const char **v = xmalloc((cx->nvc + 1) * sizeof *v);

	for (size_t i = 0; i < cx->nvc; i++)
		v[i] = cx->vc[i].name.s;
	return v;
}

static void
unknown_vcomp_key(struct ctx *cx, const struct td_entry *e, const char *path)
{
	size_t nc;
	const char **c = vcomp_key_candidates(cx->spec, vcomp_names(cx),
					      cx->nvc, true, &nc);
	const char *hint;

	hint = did_you_mean(path, c, nc);
	if (hint != NULL)
		error_at(&e->key_pos,
			 "unknown key '%s' in the vcomp block; did you mean '%s'?",
			 path, hint);
	else
		error_at(&e->key_pos,
			 "unknown key '%s' in the vcomp block (see docs/spec-reference.md)",
			 path);
}

/*
 * 'cluster-nodes' = [ 'host[:password[:port]]', ... ]: Tigase 8's "old
 * method" of listing the nodes, read as the properties front end reads
 * --cluster-nodes.  The order matters (failover, the default home).
 */
static void
cluster_nodes(struct ctx *cx, const struct td_entry *e)
{
	struct ir_spec *spec = cx->spec;
	struct ir_str *items;
	size_t n;
	bool ok;

	items = list_of(e, e->key, &n, &ok);
	for (size_t i = 0; i < n; i++) {
		char *parts[4] = { NULL, NULL, NULL, NULL };
		size_t offs[4], np = 0;
		char *str = items[i].s, *orig = xstrdup(str);
		struct ir_node *nd;
		size_t x;

		for (char *c = str;; ) {
			char *colon = strchr(c, ':');
			if (np < 4) {
				parts[np] = c;
				offs[np] = (size_t)(c - str);
				np++;
			}
			if (colon == NULL)
				break;
			*colon = '\0';
			c = colon + 1;
		}
		if (np > 3) {
			error_at(&items[i].pos,
				 "'%s': node entry '%s' has too many ':'; write 'host[:password[:port]]'",
				 e->key, orig);
			continue;
		}
		if (strmap_get(&cx->node_index, parts[0], strlen(parts[0]), &x)) {
			error_at(&items[i].pos, "'%s' lists node '%s' twice",
				 e->key, parts[0]);
			continue;
		}
		strmap_put(&cx->node_index, parts[0], strlen(parts[0]),
			   spec->nnodes);
		nd = IR_PUSH(spec->nodes, spec->nnodes);
		nd->name.s = parts[0];
		nd->name.pos = items[i].pos;
		nd->name.verbatim = items[i].verbatim;
		if (np >= 2 && parts[1][0] != '\0') {
			struct ir_str pw = { parts[1],
			    ir_str_at(&items[i], offs[1]), items[i].verbatim };
			if (cx->password.s == NULL) {
				cx->password = pw;
				cx->password_key = e->key_pos;
			} else if (strcmp(cx->password.s, pw.s) != 0) {
				error_at(&pw.pos,
					 "'%s' gives node '%s' a different password than an earlier node; the cluster has one secret",
					 e->key, nd->name.s);
				note_at(&cx->password.pos, "first password given here");
			}
		}
		if (np == 3) {
			struct ir_str port = { parts[2],
			    ir_str_at(&items[i], offs[2]), items[i].verbatim };
			uint64_t v;
			if (!parse_uint(e->key, &port, 65535, &v))
				continue;
			if (v == 0) {
				error_at(&port.pos, "'%s': port 0 of node '%s' is not a usable port (1-65535)",
					 e->key, nd->name.s);
				continue;
			}
			nd->peer.port = (int)v;
			nd->peer.pos = items[i].pos;
		}
	}
}

/* vcomp { node { NAME { server = ..., peer = ..., ... } ... } }: the
 * nodes, in file order (the order matters: failover, the default home). */
static void
vcomp_nodes(struct ctx *cx, const struct td_entry *e)
{
	struct ir_spec *spec = cx->spec;
	size_t n, nd;
	const struct td_entry **v;

	if (map_of(e, &n) == NULL) {
		error_at(&e->key_pos, "'vcomp/node' holds one block per cluster node: node { 'node1.example.com' {} 'node2.example.com' {} }");
		return;
	}
	v = dedup(map_of(e, &n), n, "vcomp/node", &nd);
	for (size_t i = 0; i < nd; i++) {
		const struct td_entry *ne = v[i];
		char *path = xprintf("vcomp/node/%s", ne->key);
		size_t nk, nkd;
		const struct td_entry *ke = map_of(ne, &nk);
		struct ir_node *node;

		if (ke == NULL && ne->value != NULL) {
			error_at(&ne->key_pos, "'%s' must be a block of the node's addresses, such as '%s' { peer = '10.0.0.1:5277' } (or '%s' {} for the defaults)",
				 path, ne->key, ne->key);
			continue;
		}
		if (ne->key[0] == '\0') {
			error_at(&ne->key_pos, "a node needs a name");
			continue;
		}
		if (cx->cluster_nodes != NULL) {
			/* The nodes are 'cluster-nodes''s; this only
			 * gives addresses. */
			size_t x;
			if (!strmap_get(&cx->node_index, ne->key,
			    strlen(ne->key), &x)) {
				const char **names = xmalloc((spec->nnodes + 1) *
							     sizeof *names);
				for (size_t y = 0; y < spec->nnodes; y++)
					names[y] = spec->nodes[y].name.s;
				const char *hint = did_you_mean(ne->key, names,
								spec->nnodes);
				error_at(&ne->key_pos,
					 "'%s' names node '%s', which is not in '%s'%s%s%s",
					 path, ne->key, cx->cluster_nodes->key,
					 hint ? "; did you mean '" : "",
					 hint ? hint : "", hint ? "'?" : "");
				continue;
			}
			node = &spec->nodes[x];
		} else {
			size_t x;
			if (strmap_get(&cx->node_index, ne->key,
			    strlen(ne->key), &x))
				continue;	/* dedup() kept one */
			strmap_put(&cx->node_index, ne->key, strlen(ne->key),
				   spec->nnodes);
			node = IR_PUSH(spec->nodes, spec->nnodes);
			node->name.s = ne->key;
			node->name.pos = ne->key_pos;
			node->name.verbatim = false;
		}
		const struct td_entry **kv = dedup(ke, nk, path, &nkd);
		for (size_t j = 0; j < nkd; j++) {
			const struct td_entry *k = kv[j];
			char *kpath = xprintf("%s/%s", path, k->key);
			struct ir_endpoint *ep[NKEY_N] = {
				&node->server, &node->peer, &node->listen,
				&node->stats,
			};
			size_t x;
			struct ir_str s;

			for (x = 0; x < NKEY_N; x++)
				if (strcmp(k->key, nkey_names[x]) == 0)
					break;
			if (x == NKEY_N) {
				unknown_vcomp_key(cx, k, kpath);
				continue;
			}
			if (str_of(k, kpath, &s))
				(void)parse_endpoint(kpath, &s, ep[x]);
		}
	}
}

/* vcomp { component { NAME { 'secret-file' = ..., disco = ... } } } */
static void
vcomp_components(struct ctx *cx, const struct td_entry *e)
{
	size_t n, nd;
	const struct td_entry **v;

	if (map_of(e, &n) == NULL) {
		error_at(&e->key_pos, "'vcomp/component' holds one block per virtual component: component { muc { 'secret-file' = '/etc/vcomp/muc.key' } }");
		return;
	}
	v = dedup(map_of(e, &n), n, "vcomp/component", &nd);
	for (size_t i = 0; i < nd; i++) {
		const struct td_entry *ce = v[i];
		char *path = xprintf("vcomp/component/%s", ce->key);
		size_t nk, nkd, idx;
		const struct td_entry *ke = map_of(ce, &nk);

		if (ke == NULL && ce->value != NULL) {
			error_at(&ce->key_pos, "'%s' must be a block such as %s { 'secret-file' = '/etc/vcomp/%s.key' }",
				 path, ce->key, ce->key);
			continue;
		}
		if (!strmap_get(&cx->vc_index, ce->key, strlen(ce->key), &idx)) {
			const char *hint = did_you_mean(ce->key, vcomp_names(cx),
							cx->nvc);
			error_at(&ce->key_pos,
				 "'%s' names component '%s', which is not a bean of class %s%s%s%s",
				 path, ce->key, VC_TIGASE_VIRTUAL_CLASS,
				 hint ? "; did you mean '" : "",
				 hint ? hint : "", hint ? "'?" : "");
			continue;
		}
		const struct td_entry **kv = dedup(ke, nk, path, &nkd);
		for (size_t j = 0; j < nkd; j++) {
			size_t x;

			for (x = 0; x < VCK_N; x++)
				if (strcmp(kv[j]->key, ckey_names[x]) == 0)
					break;
			if (x == VCK_N) {
				unknown_vcomp_key(cx, kv[j],
				    xprintf("%s/%s", path, kv[j]->key));
				continue;
			}
			cx->vc[idx].ckeys[x] = kv[j];
		}
	}
}

static void
vcomp_block(struct ctx *cx, const struct td_entry *e)
{
	size_t n, nd;
	const struct td_entry *ents = map_of(e, &n);
	const struct td_entry **v;
	const struct td_entry *nodes = NULL, *comps = NULL;

	if (e->parens)
		warning_at(&e->key_pos, "write 'vcomp { ... }' without '( )': with them Tigase would try to load a bean named 'vcomp' and fail to start; without, the block is settings Tigase holds but never uses");
	if (ents == NULL) {
		error_at(&e->key_pos, "'vcomp' must be a block: vcomp { node { 'node1.example.com' {} } }");
		return;
	}
	v = dedup(ents, n, "vcomp", &nd);
	for (size_t i = 0; i < nd; i++) {
		const struct td_entry *k = v[i];
		char *path = xprintf("vcomp/%s", k->key);
		struct ir_str s;
		bool known;

		if (strcmp(k->key, "node") == 0) {
			nodes = k;
		} else if (strcmp(k->key, "component") == 0) {
			comps = k;
		} else if (strcmp(k->key, "cluster-secret-file") == 0) {
			cx->secret_file = k;
		} else if (strcmp(k->key, "cluster-secret-env") == 0) {
			cx->secret_env = k;
		} else if (strcmp(k->key, "cluster-secret-previous-file") == 0) {
			cx->prev_file = k;
		} else if (strcmp(k->key, "cluster-secret-previous-env") == 0) {
			cx->prev_env = k;
		} else if (strcmp(k->key, "servers") == 0) {
			if (str_of(k, path, &s))
				(void)parse_servers(path, &s,
				    &cx->spec->servers);
		} else if (strcmp(k->key, "peer-encryption") == 0) {
			if (str_of(k, path, &s) &&
			    parse_peer_encryption(path, &s,
						  &cx->spec->peer_encryption))
				cx->spec->peer_encryption_pos = k->key_pos;
		} else {
			bool is_limit = false;
			for (size_t j = 0; j < nlimit_names; j++)
				if (strcmp(k->key, limit_names[j]) == 0)
					is_limit = true;
			if (!is_limit) {
				unknown_vcomp_key(cx, k, path);
				continue;
			}
			if (str_of(k, path, &s))
				(void)limit_set(cx->spec, k->key, &s, &known);
		}
	}
	if (nodes != NULL)
		vcomp_nodes(cx, nodes);
	if (comps != NULL)
		vcomp_components(cx, comps);
}

/* ---- secrets */

static bool
secret_from(const struct td_entry *file, const struct td_entry *env,
	    const char *prefix, struct ir_secret *out)
{
	const struct td_entry *k = file != NULL ? file : env;
	const char *key;

	if (file != NULL && env != NULL) {
		const struct td_entry *later =
		    file->key_pos.line > env->key_pos.line ||
		    (file->key_pos.line == env->key_pos.line &&
		    file->key_pos.col > env->key_pos.col) ? file : env;
		const struct td_entry *earlier = later == file ? env : file;
		error_at(&later->key_pos,
			 "'%s/%s' and '%s/%s' both name the same secret; keep one",
			 prefix, later->key, prefix, earlier->key);
		note_at(&earlier->key_pos, "'%s/%s' is set here", prefix,
			earlier->key);
	}
	if (k == NULL)
		return false;
	key = xprintf("%s/%s", prefix, k->key);
	out->kind = k == file ? SECRET_FILE : SECRET_ENV;
	out->pos = k->key_pos;
	if (!str_of(k, key, &out->ref))
		out->ref.s = "";
	return true;
}

/*
 * The previous secret of a rotation (KEY-previous-file / -env): the YAML
 * format's `secret: [NEW, OLD]` in Tigase's DSL.  It is accepted from the
 * other side, never used to prove.  Appended to *v.
 */
static void
previous_secret(const struct td_entry *file, const struct td_entry *env,
		const char *prefix, struct ir_secret **v, size_t *n)
{
	struct ir_secret prev;

	memset(&prev, 0, sizeof prev);
	if (secret_from(file, env, prefix, &prev))
		*IR_PUSH(*v, *n) = prev;
}

/* ---- components */

static struct ir_str
vstr(const struct vcomp *vc, enum vkey key, const char *dflt)
{
	struct ir_str s;

	if (vc->keys[key] != NULL &&
	    str_of(vc->keys[key], xprintf("%s/%s", vc->name.s,
	    vkey_names[key]), &s))
		return s;
	s.s = (char *)dflt;
	s.pos = vc->name.pos;
	s.verbatim = false;
	return s;
}

static void
homes_of(struct ctx *cx, const struct vcomp *vc, struct ir_str **homes,
	 size_t *nhomes)
{
	struct ir_spec *spec = cx->spec;
	const struct td_entry *k = vc->keys[VK_REDIRECT];
	char *key = xprintf("%s/redirect-to", vc->name.s);
	struct ir_str *items = NULL;
	size_t n = 0;
	bool ok = true;

	*homes = NULL;
	*nhomes = 0;
	if (k != NULL)
		items = list_of(k, key, &n, &ok);
	if (!ok)
		return;
	if (n == 0) {
		if (spec->nnodes == 0)
			return;
		*IR_PUSH(*homes, *nhomes) = spec->nodes[0].name;
		note_at(&vc->name.pos,
			"'%s' is not set; the home of '%s' is '%s', the first node of %s",
			key, vc->name.s, spec->nodes[0].name.s,
			cx->cluster_nodes != NULL ? "'cluster-nodes'" :
			"the vcomp block");
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
					 key, items[i].s, at + 1, vc->name.s);
				continue;
			}
			h.s = at + 1;
			h.pos = ir_str_at(&items[i],
					  (size_t)(at + 1 - items[i].s));
		}
		if (h.s[0] == '\0') {
			error_at(&h.pos, "'%s' has an empty node name; write NAME@NODE",
				 key);
			continue;
		}
		*IR_PUSH(*homes, *nhomes) = h;
	}
}

static void
build_components(struct ctx *cx, const struct vcomp *vc,
		 const struct ir_str *vh, size_t nvh)
{
	struct ir_spec *spec = cx->spec;
	struct ir_str *domains = NULL, *homes, *features;
	size_t ndomains = 0, nhomes, nfeatures;
	struct ir_identity id;
	struct ir_str dnode;
	enum disco_mode mode = DISCO_LOCAL;
	struct pos mode_pos = vc->name.pos;
	struct ir_secret secret;
	bool ok;

	if (vc->keys[VK_FIXED] != NULL) {
		struct ir_str d = vstr(vc, VK_FIXED, "");
		if (d.s[0] != '\0')
			*IR_PUSH(domains, ndomains) = d;
	}
	if (ndomains == 0)
		for (size_t i = 0; i < nvh; i++) {
			struct ir_str *d = IR_PUSH(domains, ndomains);
			d->s = xprintf("%s.%s", vc->name.s, vh[i].s);
			d->pos = vh[i].pos;
		}
	if (ndomains == 0) {
		error_at(&vc->name.pos,
			 "virtual component '%s' has no domain: set 'virtual-hosts' = [ 'example.com' ] (or 'default-virtual-host' = 'example.com') at the top of the file, and the domain is %s.example.com, or 'fixed-domain' = '%s.example.com' in the bean",
			 vc->name.s, vc->name.s, vc->name.s);
		return;
	}

	homes_of(cx, vc, &homes, &nhomes);

	memset(&id, 0, sizeof id);
	id.category = vstr(vc, VK_CATEGORY, VC_TIGASE_DISCO_CATEGORY);
	id.type = vstr(vc, VK_TYPE, VC_TIGASE_DISCO_TYPE);
	id.name = vstr(vc, VK_NAME, VC_TIGASE_DISCO_NAME);
	if (id.name.s[0] == '\0')
		id.name.s = NULL;
	id.pos = vc->keys[VK_CATEGORY] ? vc->keys[VK_CATEGORY]->key_pos :
	    vc->name.pos;

	if (vc->keys[VK_FEATURES] != NULL) {
		features = list_of(vc->keys[VK_FEATURES],
				   xprintf("%s/disco-features", vc->name.s),
				   &nfeatures, &ok);
	} else {
		features = xmalloc(sizeof *features);
		features[0].s = VC_TIGASE_DISCO_FEATURES;
		features[0].pos = vc->name.pos;
		nfeatures = 1;
	}

	dnode = vstr(vc, VK_NODE, "");
	if (dnode.s[0] == '\0')
		dnode.s = NULL;

	if (vc->ckeys[VCK_DISCO] != NULL) {
		const char *key = xprintf("vcomp/component/%s/disco",
					  vc->name.s);
		struct ir_str v;
		if (str_of(vc->ckeys[VCK_DISCO], key, &v)) {
			mode_pos = v.pos;
			(void)parse_disco_mode(key, &v, &mode);
		}
	}

	memset(&secret, 0, sizeof secret);
	if (!secret_from(vc->ckeys[VCK_SECRET_FILE], vc->ckeys[VCK_SECRET_ENV],
			 xprintf("vcomp/component/%s", vc->name.s), &secret)) {
		char *env = xprintf("VCOMP_SECRET_%s", vc->name.s);
		for (char *c = env + strlen("VCOMP_SECRET_"); *c != '\0'; c++)
			*c = isalnum((unsigned char)*c) ?
			    (char)toupper((unsigned char)*c) : '_';
		secret.kind = SECRET_ENV;
		secret.ref.s = env;
		secret.ref.pos = vc->name.pos;
		secret.pos = vc->name.pos;
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
				vc->ckeys[VCK_PREV_ENV],
				xprintf("vcomp/component/%s", vc->name.s),
				&c->accept, &c->naccept);
		c->pos = vc->name.pos;
	}
}

/* The keys of a VirtualComponent bean. */
static void
vcomp_bean_keys(struct vcomp *vc)
{
	size_t n, nd;
	const struct td_entry *ents = map_of(vc->bean, &n);
	const struct td_entry **v = dedup(ents, n, vc->name.s, &nd);

	for (size_t i = 0; i < nd; i++) {
		const char *path = xprintf("%s/%s", vc->name.s, v[i]->key);
		const char *hint;
		int k;

		for (k = 0; k < VK_N; k++)
			if (strcmp(v[i]->key, vkey_names[k]) == 0)
				break;
		if (k < VK_N) {
			vc->keys[k] = v[i];
			continue;
		}
		hint = did_you_mean(v[i]->key, vkey_names, VK_N);
		if (hint != NULL)
			warning_at(&v[i]->key_pos,
				   "'%s' is not a key vcompc reads; did you mean '%s'?",
				   path, hint);
		else
			unused(v[i], path);
	}
}

/* A bean at the top of the file: a virtual component, or not ours. */
static void
top_bean(struct ctx *cx, const struct td_entry *e)
{
	const char *cls;
	struct pos cls_pos;
	bool active;
	size_t i;

	/* Attribute errors are reported; the bean is still read, so that one
	 * mistake does not make its name unknown everywhere else. */
	(void)bean_attrs(e, &cls, &cls_pos, &active);
	if (cls == NULL || strcmp(cls, VC_TIGASE_VIRTUAL_CLASS) != 0) {
		if (cls != NULL && strcasecmp(cls, VC_TIGASE_VIRTUAL_CLASS) == 0)
			warning_at(&cls_pos, "'%s' is not Tigase's class name; did you mean '%s'?",
				   cls, VC_TIGASE_VIRTUAL_CLASS);
		unused(e, e->key);
		return;
	}
	if (!active) {
		if (diag_wunused)
			diag(DIAG_WARNING, &e->key_pos, "unused",
			     "virtual component '%s' has active: false; Tigase does not load it and vcompc does not build it",
			     e->key);
		return;
	}
	if (e->key[0] == '\0' || strpbrk(e->key, "/@ \t") != NULL) {
		error_at(&e->key_pos,
			 "a virtual component's bean name must be a component name such as 'muc' (no '/', '@' or white space), not '%s'",
			 e->key);
		return;
	}
	if (strmap_get(&cx->vc_index, e->key, strlen(e->key), &i)) {
		/* dedup() already warned that the later one replaces the
		 * earlier; here the earlier is dropped. */
		cx->vc[i].bean = e;
		return;
	}
	strmap_put(&cx->vc_index, e->key, strlen(e->key), cx->nvc);
	struct vcomp *vc = IR_PUSH(cx->vc, cx->nvc);
	vc->bean = e;
	vc->name.s = e->key;
	vc->name.pos = e->key_pos;
	vc->name.verbatim = false;
}

static void
cluster_mode(const struct td_entry *e)
{
	struct tval t;

	if (e->value == NULL)
		return;
	t = eval(e->value);
	if (t.k == T_BAD)
		return;
	if ((t.k == T_BOOL && t.b) || (t.k == T_STR && strcmp(t.s, "true") == 0))
		return;
	if (t.k == T_RUNTIME)
		return;
	warning_at(&t.pos,
		   "'%s' is not true, so Tigase would not run its virtual components; vcompc builds them anyway",
		   e->key);
}

/* What to write when there is no vcomp block: the nodes that the
 * redirect-to keys name, else placeholders. */
static void
no_vcomp_block(struct ctx *cx)
{
	struct buf b = { NULL, 0, 0 };
	struct strmap seen = { 0 };
	size_t n = 0, x;
	struct pos p = { cx->path, 0, 0 };

	for (size_t i = 0; i < cx->nvc; i++) {
		const struct td_entry *k = cx->vc[i].keys[VK_REDIRECT];
		struct ir_str *items;
		size_t ni;
		bool ok;

		if (k == NULL)
			continue;
		items = list_of(k, "redirect-to", &ni, &ok);
		for (size_t j = 0; ok && j < ni; j++) {
			const char *at = strchr(items[j].s, '@');
			const char *node = at ? at + 1 : items[j].s;
			if (node[0] == '\0' ||
			    strmap_get(&seen, node, strlen(node), &x))
				continue;
			strmap_put(&seen, node, strlen(node), n++);
			buf_printf(&b, " '%s' {}", node);
		}
	}
	if (n == 0)
		buf_puts(&b, " 'node1.example.com' {} 'node2.example.com' {}");
	else if (n == 1)
		buf_puts(&b, " 'OTHER-NODE.example.com' {}");
	if (cx->nvc > 0)
		p = cx->vc[0].name.pos;
	error_at(&p,
		 "no cluster nodes are listed: Tigase 8 finds its nodes at run time, but vcompc needs them, the node with the real component first, in a vcomp block (or in Tigase's 'cluster-nodes')");
	note_at(&p, "add, at the top level of the file: vcomp { node {%s } }",
		b.data);
	buf_free(&b);
}

bool
tdsl_to_ir(const struct td_state *doc, struct ir_spec *spec)
{
	struct ctx cx;
	size_t nd;
	const struct td_entry **top;
	int errors = diag_error_count();
	struct ir_str *vh = NULL;
	size_t nvh = 0;

	memset(&cx, 0, sizeof cx);
	cx.spec = spec;
	spec->format = FMT_TDSL;
	if (spec->path == NULL)
		spec->path = doc->path;
	cx.path = doc->path;
	ir_limits_default(&spec->limits);

	check_all(doc->top, doc->ntop);
	top = dedup(doc->top, doc->ntop, NULL, &nd);
	bool have_vh = false;
	for (size_t i = 0; i < nd; i++)
		if (strcmp(top[i]->key, "virtual-hosts") == 0 ||
		    strcmp(top[i]->key, "--virt-hosts") == 0)
			have_vh = true;
	/* Virtual components first: the vcomp block refers to them. */
	for (size_t i = 0; i < nd; i++) {
		const struct td_entry *e = top[i];
		const char *k = e->key;

		if (strcmp(k, "cluster-mode") == 0 ||
		    strcmp(k, "--cluster-mode") == 0) {
			cluster_mode(e);
		} else if (strcmp(k, "virtual-hosts") == 0 ||
		    strcmp(k, "--virt-hosts") == 0) {
			if (cx.virt_hosts != NULL) {
				warning_at(&e->key_pos, "'%s' and '%s' both list the virtual hosts; vcompc takes '%s', the later one",
					   cx.virt_hosts->key, k, k);
				note_at(&cx.virt_hosts->key_pos, "'%s' is set here",
					cx.virt_hosts->key);
			}
			cx.virt_hosts = e;
		} else if (strcmp(k, "default-virtual-host") == 0) {
			/* The domain only when nothing else lists them. */
			if (have_vh)
				unused(e, k);
			else
				cx.default_vhost = e;
		} else if (strcmp(k, "cluster-nodes") == 0 ||
		    strcmp(k, "--cluster-nodes") == 0) {
			cx.cluster_nodes = e;
		} else if (strcmp(k, "vcomp") == 0) {
			cx.vcomp_bean = e;
		} else if (e->parens || e->body) {
			top_bean(&cx, e);
		} else {
			unused(e, k);
		}
	}
	for (size_t i = 0; i < cx.nvc; i++)
		vcomp_bean_keys(&cx.vc[i]);
	if (cx.cluster_nodes != NULL)
		cluster_nodes(&cx, cx.cluster_nodes);
	if (cx.vcomp_bean != NULL)
		vcomp_block(&cx, cx.vcomp_bean);
	else if (cx.cluster_nodes == NULL)
		no_vcomp_block(&cx);
	if (cx.vcomp_bean != NULL && spec->nnodes == 0 &&
	    cx.cluster_nodes == NULL)
		error_at(&cx.vcomp_bean->key_pos,
			 "the vcomp block lists no nodes; add node { 'node1.example.com' {} 'node2.example.com' {} } with one block per cluster node, the node with the real component first");
	if (cx.nvc == 0 && cx.vcomp_bean != NULL) {
		struct pos p = { cx.path, 0, 0 };
		error_at(&p, "there is no bean of class %s, so there is nothing for vcomp to build; add one per virtual component, such as muc (class: %s) { 'redirect-to' = 'muc@NODE' }",
			 VC_TIGASE_VIRTUAL_CLASS, VC_TIGASE_VIRTUAL_CLASS);
	}

	/* Tigase 8 keeps its domains in its database and names only the
	 * default one in the file; it is the domain when nothing else is
	 * listed. */
	if (cx.virt_hosts == NULL)
		cx.virt_hosts = cx.default_vhost;
	if (cx.virt_hosts != NULL) {
		bool ok;
		vh = list_of(cx.virt_hosts, cx.virt_hosts->key, &nvh, &ok);
	}

	struct ir_secret *cs = &spec->cluster_secret;
	previous_secret(cx.prev_file, cx.prev_env, "vcomp",
			&spec->cluster_accept, &spec->ncluster_accept);
	if (secret_from(cx.secret_file, cx.secret_env, "vcomp", cs)) {
		if (cx.password.s != NULL)
			warning_at(&cx.password.pos,
				   "the password in '%s' is ignored: 'vcomp/%s' names the cluster secret",
				   cx.cluster_nodes->key,
				   cx.secret_file ? cx.secret_file->key :
				   cx.secret_env->key);
	} else if (cx.password.s != NULL) {
		warning_at(&cx.password.pos,
			   "inline secret in '%s' is written only to the node's 0600 secrets bundle; prefer 'cluster-secret-file' in the vcomp block",
			   cx.cluster_nodes->key);
		cs->kind = SECRET_INLINE;
		cs->ref = cx.password;
		cs->pos = cx.password_key;
	} else {
		cs->kind = SECRET_ENV;
		cs->ref.s = "VCOMP_CLUSTER_SECRET";
		cs->ref.pos = (struct pos){ cx.path, 0, 0 };
		cs->pos = cs->ref.pos;
	}
	for (size_t i = 0; i < cx.nvc; i++)
		build_components(&cx, &cx.vc[i], vh, nvh);
	ir_apply_node_defaults(spec);
	return diag_error_count() == errors;
}
