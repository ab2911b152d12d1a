/*
 * tdsl.y — the grammar of Tigase 8's DSL configuration file (config.tdsl).
 *
 * Tigase's own reader (tigase.conf.ConfigReader) is a character-by-
 * character state machine; docs/from-tigase.md says what it accepts and
 * where vcompc deliberately differs.  The scanner (tdsl.l) does the parts
 * that depend on context there: whether '-' or ':' belongs to a bare word
 * (a key such as sess-man, a value such as 10.0.0.1:5277) or is an
 * operator or separator.  What reaches this grammar is:
 *
 *	file    := entries
 *	entry   := key '=' expr                  a property
 *	         | key [ '(' attrs ')' ] [ '{' entries '}' ]
 *	                                         a bean, or a bean's settings
 *	attrs   := key ':' expr, ...             class, active, exportable
 *	expr    := operand (('+' | '-' | '*' | '/') operand)*
 *	operand := WORD | STRING | '[' items ']' | '{' entries '}'
 *	         | WORD '(' args ')'             env(...), prop(...)
 *
 * Entries, list items and attributes are separated by SEP: a line break or
 * a ','.  Tigase evaluates an expression left to right with its own order
 * of operations (fe_tdsl.c); the grammar keeps it as a flat list.
 *
 * Errors: the scanner explains what it rejects (an unclosed string, a
 * bracket that closes nothing, invalid UTF-8) and returns BAD; every other
 * syntax error is explained here in yyreport_syntax_error, with the token
 * that was found and what could have come instead.  `entry: error` skips to
 * the end of the entry and the parse goes on, so every error in a file is
 * reported in one run.
 *
 * Memory: every node is arena memory (util.c), so values that error
 * recovery discards need no destructor.
 */

%define api.prefix {td}
%define api.pure full
%define api.token.prefix {TD_}
%define api.value.type {struct td_tok}
%define parse.error custom
%param {void *scanner}
%parse-param {struct td_state *st}

%code requires {
#include <stdbool.h>
#include <stddef.h>

#include "vcompc.h"

/* A value as written in the file. */
enum td_kind {
	TV_WORD,	/* bare text: a number, true, false, null or a string */
	TV_STRING,	/* a quoted string */
	TV_LIST,	/* [ items ] */
	TV_MAP,		/* { entries } */
	TV_CALL,	/* env(...) or prop(...): s is the function's name */
	TV_EXPR		/* operands joined by ops */
};

struct td_entry;

struct td_val {
	enum td_kind kind;
	struct pos pos;
	char *s;		/* TV_WORD, TV_STRING (decoded), TV_CALL */
	bool verbatim;		/* s is the file's bytes from pos on, one line */
	struct td_val **items;	/* TV_LIST, TV_CALL arguments, TV_EXPR */
	size_t nitems;
	char *ops;		/* TV_EXPR: nitems - 1 of '+', '-', '*', '/' */
	struct td_entry *entries;	/* TV_MAP */
	size_t nentries;
	bool bad;		/* fe_tdsl.c reported an error in it */
};

/* One entry of a map or of a bean's body. */
struct td_entry {
	char *key;
	struct pos key_pos;
	struct td_val *value;	/* key = value; NULL for a bean */
	bool parens;		/* key (...): a bean definition */
	struct td_entry *attrs;	/* what is inside ( ) */
	size_t nattrs;
	bool body;		/* key { ... } or key (...) { ... } */
	struct td_entry *entries;
	size_t nentries;
};

/* The semantic value of every token and rule. */
struct td_tok {
	int line, col;			/* where the token starts */
	int ccol;			/* STRING: where its content starts */
	char *s;			/* WORD, STRING */
	bool verbatim;
	struct td_val *v;		/* expr, operand */
	struct td_entry *e;		/* entry, attr */
	struct td_entry *es;		/* entries, attrs */
	struct td_val **vs;		/* items, operands */
	char *ops;
	size_t n;			/* of es, vs */
	size_t cap_ops;
};

struct td_state {
	const char *path;	/* interned, shared by every position */
	struct td_entry *top;	/* the file's entries, in order */
	size_t ntop;
	int nerrors;
	bool lexerr;		/* the scanner reported the current BAD */
	bool warned_comment;	/* the // or block comment warning was given */
	int last_line, last_col;	/* the last token the scanner returned */
	const char *last_s;	/* its text, for WORD and STRING */
	int ml_line, ml_col;	/* the last string that spans lines */
	int ml_end;		/* the line it ends on */
};
}

%code provides {
/* tdsl.l: runs the scanner and this parser over text[0..len). */
bool td_run(struct td_state *st, const char *text, size_t len);
int tdlex(TDSTYPE *lval, void *scanner);
void td_error_at(struct td_state *st, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
}

%code {
#include <string.h>

static void tderror(void *scanner, struct td_state *st, const char *msg);
static struct td_val *val_new(struct td_state *st, enum td_kind kind,
			      const struct td_tok *t);
static void entry_push(struct td_tok *list, const struct td_entry *e);
static void val_push(struct td_tok *list, struct td_val *v);
}

%token WORD	"a name or a value"
%token STRING	"a quoted string"
%token SEP	"a line break or ','"
%token BAD	"an invalid character"

%%

file	: entries			{ st->top = $1.es; st->ntop = $1.n; }
	;

/* Separators are optional around and between entries; empty entries (two
 * line breaks, a trailing ',') are nothing, as in Tigase. */
entries	: %empty			{ memset(&$$, 0, sizeof $$); }
	| entries SEP			{ $$ = $1; }
	| entries entry			{ $$ = $1; if ($2.e != NULL)
					  entry_push(&$$, $2.e); }
	;

entry	: key '=' expr			{ $$.e = xmalloc(sizeof *$$.e);
					  $$.e->key = $1.s;
					  $$.e->key_pos = (struct pos){ st->path,
					      $1.line, $1.col };
					  $$.e->value = $3.v; }
	| key body			{ $$.e = xmalloc(sizeof *$$.e);
					  $$.e->key = $1.s;
					  $$.e->key_pos = (struct pos){ st->path,
					      $1.line, $1.col };
					  $$.e->body = true;
					  $$.e->entries = $2.es;
					  $$.e->nentries = $2.n; }
	| key '(' attrs ')'		{ $$.e = xmalloc(sizeof *$$.e);
					  $$.e->key = $1.s;
					  $$.e->key_pos = (struct pos){ st->path,
					      $1.line, $1.col };
					  $$.e->parens = true;
					  $$.e->attrs = $3.es;
					  $$.e->nattrs = $3.n; }
	| key '(' attrs ')' body	{ $$.e = xmalloc(sizeof *$$.e);
					  $$.e->key = $1.s;
					  $$.e->key_pos = (struct pos){ st->path,
					      $1.line, $1.col };
					  $$.e->parens = true;
					  $$.e->attrs = $3.es;
					  $$.e->nattrs = $3.n;
					  $$.e->body = true;
					  $$.e->entries = $5.es;
					  $$.e->nentries = $5.n; }
	| error				{ $$.e = NULL; }
	;

key	: WORD
	| STRING
	;

body	: '{' entries '}'		{ $$ = $2; $$.line = $1.line;
					  $$.col = $1.col; }
	;

/* (class: X, active: false, exportable: true) */
attrs	: %empty			{ memset(&$$, 0, sizeof $$); }
	| attrs SEP			{ $$ = $1; }
	| attrs attr			{ $$ = $1; entry_push(&$$, $2.e); }
	;

attr	: key ':' expr			{ $$.e = xmalloc(sizeof *$$.e);
					  $$.e->key = $1.s;
					  $$.e->key_pos = (struct pos){ st->path,
					      $1.line, $1.col };
					  $$.e->value = $3.v; }
	| key '=' expr			{ $$.e = xmalloc(sizeof *$$.e);
					  $$.e->key = $1.s;
					  $$.e->key_pos = (struct pos){ st->path,
					      $1.line, $1.col };
					  $$.e->value = $3.v; }
	;

expr	: operands			{ if ($1.n == 1) {
						$$.v = $1.vs[0];
					  } else {
						$$.v = xmalloc(sizeof *$$.v);
						$$.v->kind = TV_EXPR;
						$$.v->pos = $1.vs[0]->pos;
						$$.v->items = $1.vs;
						$$.v->nitems = $1.n;
						$$.v->ops = $1.ops;
					  } }
	;

operands: operand			{ memset(&$$, 0, sizeof $$);
					  val_push(&$$, $1.v); }
	| operands op operand		{ $$ = $1;
					  $$.ops = xrealloc($$.ops, $$.cap_ops,
					      $$.cap_ops + 1);
					  $$.ops[$$.cap_ops++] = (char)$2.line;
					  val_push(&$$, $3.v); }
	;

/* The operator's character travels in .line. */
op	: '+'				{ $$.line = '+'; }
	| '-'				{ $$.line = '-'; }
	| '*'				{ $$.line = '*'; }
	| '/'				{ $$.line = '/'; }
	;

operand	: WORD				{ $$.v = val_new(st, TV_WORD, &$1); }
	| STRING			{ $$.v = val_new(st, TV_STRING, &$1); }
	| '[' items ']'			{ $$.v = val_new(st, TV_LIST, &$1);
					  $$.v->items = $2.vs;
					  $$.v->nitems = $2.n; }
	| body				{ $$.v = val_new(st, TV_MAP, &$1);
					  $$.v->entries = $1.es;
					  $$.v->nentries = $1.n; }
	| WORD '(' items ')'		{ $$.v = val_new(st, TV_CALL, &$1);
					  $$.v->items = $3.vs;
					  $$.v->nitems = $3.n; }
	;

items	: %empty			{ memset(&$$, 0, sizeof $$); }
	| items SEP			{ $$ = $1; }
	| items expr			{ $$ = $1; val_push(&$$, $2.v); }
	;

%%

void
td_error_at(struct td_state *st, int line, int col, const char *fmt, ...)
{
	struct pos p = { st->path, line, col };
	va_list ap;

	va_start(ap, fmt);
	vdiag(DIAG_ERROR, &p, NULL, fmt, ap);
	va_end(ap);
	st->nerrors++;
}

/* Only reached through yyreport_syntax_error's fallback. */
static void
tderror(void *scanner, struct td_state *st, const char *msg)
{
	td_error_at(st, 0, 0, "%s", msg);
}

/*
 * "expected X or Y before Z": the expected tokens are bison's, named by
 * the aliases above.  A BAD token was already explained by the scanner.
 */
static int
yyreport_syntax_error(const yypcontext_t *ctx, void *scanner,
		      struct td_state *st)
{
	yysymbol_kind_t exp[6];
	yysymbol_kind_t tok = yypcontext_token(ctx);
	struct buf b = { NULL, 0, 0 };
	int n = yypcontext_expected_tokens(ctx, exp, 6);

	if (tok == YYSYMBOL_BAD || st->lexerr) {
		st->lexerr = false;
		return 0;
	}
	if (n <= 0 || n > 5) {
		buf_puts(&b, "unexpected ");
	} else {
		buf_puts(&b, "expected ");
		for (int i = 0; i < n; i++) {
			if (i > 0)
				buf_puts(&b, i == n - 1 ? " or " : ", ");
			buf_puts(&b, yysymbol_name(exp[i]));
		}
		buf_puts(&b, ", not ");
	}
	if (tok == YYSYMBOL_YYEOF)
		buf_puts(&b, n <= 0 || n > 5 ? "end of file" :
		    "the end of the file");
	else if ((tok == YYSYMBOL_WORD || tok == YYSYMBOL_STRING) &&
	    st->last_s != NULL)
		buf_printf(&b, "%s '%s'", tok == YYSYMBOL_WORD ? "the word" :
		    "the string", st->last_s);
	else
		buf_puts(&b, yysymbol_name(tok));
	td_error_at(st, st->last_line, st->last_col, "%s", b.data);
	buf_free(&b);
	/* A string that runs over several lines and ends shortly before a
	 * syntax error is most likely missing its closing quote. */
	if (st->ml_line > 0 && st->ml_end <= st->last_line &&
	    st->last_line - st->ml_end <= 2) {
		struct pos p = { st->path, st->ml_line, st->ml_col };
		note_at(&p, "the string that starts here runs to line %d; is its closing quote missing?",
			st->ml_end);
		st->ml_line = 0;
	}
	return 0;
}

static struct td_val *
val_new(struct td_state *st, enum td_kind kind, const struct td_tok *t)
{
	struct td_val *v = xmalloc(sizeof *v);

	v->kind = kind;
	v->pos = (struct pos){ st->path, t->line,
	    kind == TV_STRING ? t->ccol : t->col };
	v->s = t->s;
	v->verbatim = t->verbatim;
	return v;
}

static void
entry_push(struct td_tok *list, const struct td_entry *e)
{
	*IR_PUSH(list->es, list->n) = *e;
}

static void
val_push(struct td_tok *list, struct td_val *v)
{
	*IR_PUSH(list->vs, list->n) = v;
}
