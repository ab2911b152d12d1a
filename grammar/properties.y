/*
 * properties.y — the line grammar of a Java properties file.
 *
 * The scanner (properties.l) does what java.util.Properties.LineReader
 * and load0() do character by character: it joins continuation lines,
 * splits the key from the value and decodes escapes.  What reaches this
 * grammar is one token sequence per logical line:
 *
 *	EOL                                  blank or comment line
 *	KSTART PIECE* SEP PIECE* EOL         key = value
 *
 * KSTART carries the position of the key, SEP the position of the value;
 * PIECEs are runs of text, decoded escapes or \uXXXX code units.  The
 * scanner reports its own errors (malformed \uXXXX, invalid UTF-8) and
 * returns BAD, which no rule accepts: the parser then skips to the end of
 * the line (`error EOL`) and carries on, so every error in the file is
 * reported in one run.
 *
 * Memory: the key and value being built live in two heap buffers in
 * struct pp_state (freed by properties_read); finished pairs are copied
 * into the arena.
 */

%define api.prefix {pp}
%define api.pure full
%define api.token.prefix {PP_}
%define api.value.type {struct pp_tok}
%define parse.error simple
%param {void *scanner}
%parse-param {struct pp_state *st}

%code requires {
#include <stdbool.h>
#include <stddef.h>

#include "vcompc.h"

/* What a PIECE holds. */
enum pp_kind {
	PK_PLAIN,	/* text copied from the file as is */
	PK_ESC,		/* an escape such as \t or \=, decoded */
	PK_UNIT		/* a \uXXXX escape: one UTF-16 code unit */
};

/* The semantic value of every token. */
struct pp_tok {
	int line, col;		/* where the token starts */
	enum pp_kind kind;
	const char *p;		/* PK_PLAIN, PK_ESC: the bytes (in the input */
	size_t n;		/* text or a static string), not terminated */
	unsigned unit;		/* PK_UNIT */
};

/* A key or a value being assembled from PIECEs. */
struct pp_strb {
	struct buf b;
	unsigned hi;		/* a high surrogate waiting for its low half */
	int hi_line, hi_col;
	size_t npieces;
	bool plain;		/* every piece so far was PK_PLAIN */
	bool bad;		/* an error was reported in this string */
};

struct pp_state {
	const char *path;	/* interned, shared by every position */
	struct pp_strb key, val;
	struct prop *props;	/* arena array, file order */
	size_t nprops;
	int nerrors;
	bool lexerr;		/* the scanner reported the current BAD */
};
}

%code provides {
/* properties.l: runs the scanner and this parser over text[0..len). */
bool pp_run(struct pp_state *st, const char *text, size_t len);
int pplex(PPSTYPE *lval, void *scanner);
void pp_error_at(struct pp_state *st, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
}

%code {
#include <string.h>

static void pperror(void *scanner, struct pp_state *st, const char *msg);
static void strb_add(struct pp_state *st, struct pp_strb *s,
		     const struct pp_tok *t);
static void strb_reset(struct pp_strb *s);
static void prop_add(struct pp_state *st, const struct pp_tok *k,
		     const struct pp_tok *v);
}

%token KSTART SEP PIECE EOL BAD

%%

file	: %empty
	| file line
	;

line	: EOL
	| KSTART key SEP value EOL	{ prop_add(st, &$1, &$3); }
	| error EOL			{ strb_reset(&st->key);
					  strb_reset(&st->val);
					  yyerrok; }
	;

key	: %empty
	| key PIECE			{ strb_add(st, &st->key, &$2); }
	;

value	: %empty
	| value PIECE			{ strb_add(st, &st->val, &$2); }
	;

%%

void
pp_error_at(struct pp_state *st, int line, int col, const char *fmt, ...)
{
	struct pos p = { st->path, line, col };
	va_list ap;

	va_start(ap, fmt);
	vdiag(DIAG_ERROR, &p, NULL, fmt, ap);
	va_end(ap);
	st->nerrors++;
}

/*
 * The scanner has already explained every BAD token; any other syntax
 * error would mean that scanner and grammar disagree, which is a bug, but
 * it is still reported rather than hidden.
 */
static void
pperror(void *scanner, struct pp_state *st, const char *msg)
{
	if (st->lexerr) {
		st->lexerr = false;
		return;
	}
	pp_error_at(st, 0, 0, "%s (internal: scanner and grammar disagree)",
		    msg);
}

static void
strb_reset(struct pp_strb *s)
{
	s->b.len = 0;
	if (s->b.data != NULL)
		s->b.data[0] = '\0';
	s->hi = 0;
	s->npieces = 0;
	s->plain = true;
	s->bad = false;
}

/* Appends code point cp as UTF-8. */
static void
put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_add(b, u, n);
}

/* A high surrogate that no low one followed: Java keeps it in the
 * string, but UTF-8 cannot represent it. */
static void
lone_high(struct pp_state *st, struct pp_strb *s)
{
	pp_error_at(st, s->hi_line, s->hi_col,
		    "'\\u%04X' is half of a surrogate pair and is not followed by the other half; it cannot be written as UTF-8",
		    s->hi);
	s->hi = 0;
	s->bad = true;
}

/*
 * Appends one PIECE.  \uXXXX escapes are UTF-16 code units, as in Java:
 * a surrogate pair (\uD83D\uDE00) becomes one code point.  vcompc holds
 * strings as NUL-terminated UTF-8, so \u0000 and unpaired surrogates are
 * errors here although Java accepts them.
 */
static void
strb_add(struct pp_state *st, struct pp_strb *s, const struct pp_tok *t)
{
	s->npieces++;
	if (t->kind != PK_PLAIN)
		s->plain = false;
	if (s->hi != 0 && !(t->kind == PK_UNIT &&
	    t->unit >= 0xDC00 && t->unit <= 0xDFFF))
		lone_high(st, s);
	if (t->kind != PK_UNIT) {
		buf_add(&s->b, t->p, t->n);
		return;
	}
	if (s->hi != 0) {
		put_utf8(&s->b, 0x10000 + ((s->hi - 0xD800) << 10) +
		    (t->unit - 0xDC00));
		s->hi = 0;
	} else if (t->unit >= 0xD800 && t->unit <= 0xDBFF) {
		s->hi = t->unit;
		s->hi_line = t->line;
		s->hi_col = t->col;
	} else if (t->unit >= 0xDC00 && t->unit <= 0xDFFF) {
		pp_error_at(st, t->line, t->col,
			    "'\\u%04X' is the second half of a surrogate pair without the first; it cannot be written as UTF-8",
			    t->unit);
		s->bad = true;
	} else if (t->unit == 0) {
		pp_error_at(st, t->line, t->col,
			    "'\\u0000' (a NUL character) is not allowed in keys or values");
		s->bad = true;
	} else
		put_utf8(&s->b, t->unit);
}

/* Finishes the logical line: copies key and value into the arena. */
static void
prop_add(struct pp_state *st, const struct pp_tok *k, const struct pp_tok *v)
{
	struct prop *p;

	if (st->key.hi != 0)
		lone_high(st, &st->key);
	if (st->val.hi != 0)
		lone_high(st, &st->val);
	if (!st->key.bad && !st->val.bad) {
		p = IR_PUSH(st->props, st->nprops);
		p->key = xstrndup(st->key.b.data ? st->key.b.data : "",
				  st->key.b.len);
		p->value = xstrndup(st->val.b.data ? st->val.b.data : "",
				    st->val.b.len);
		p->key_pos = (struct pos){ st->path, k->line, k->col };
		p->value_pos = (struct pos){ st->path, v->line, v->col };
		p->verbatim = st->val.plain && st->val.npieces <= 1;
	}
	strb_reset(&st->key);
	strb_reset(&st->val);
}
