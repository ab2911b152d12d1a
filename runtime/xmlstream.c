/*
 * xmlstream.c — the XMPP stream parser of xmlstream.h, on expat.
 *
 * expat runs with namespace processing and "triplets", so every element and
 * attribute name arrives as "uri SEP local SEP prefix" (or "uri SEP local",
 * or just "local" outside any namespace).  SEP is 0x01, a byte XML 1.0 cannot
 * contain, so no namespace URI can clash with it.
 *
 * Raw bytes.  Routing forwards stanzas byte for byte, so the parser must
 * hand out exactly the bytes of each top-level element.  expat tells, for
 * the event being reported, its offset in the whole stream
 * (XML_GetCurrentByteIndex) and its length (XML_GetCurrentByteCount).
 * Every chunk fed is appended to a window, p->win, that starts at stream
 * offset p->win_off.  After each chunk the window is cut back to the first
 * byte that may still be needed: the '<' of the top-level element being
 * parsed, or, between elements, the end of the last event expat reported
 * (a partial tag that expat holds back starts there).  What is kept is
 * checked against max_stanza, so memory stays bounded by max_stanza plus
 * one chunk however the peer misbehaves.  While expat holds an unfinished
 * tag, new bytes may wait in the window before expat sees them, to avoid
 * quadratic re-scanning; see tag_still_open.
 *
 * Errors.  A handler that finds a violation records it in p->status and
 * aborts expat (XML_StopParser); every handler first returns at once if a
 * status is recorded, because expat may run one more handler (the end of an
 * empty element) before it notices the abort.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "buf.h"
#include "xmlstream.h"

#define NSSEP	'\x01'

/* Strings of the current stanza, stored NUL-separated in p->strs. */
enum field {
	F_NAME, F_NS, F_FROM, F_TO, F_ID, F_TYPE,
	F_CHILD_NAME, F_CHILD_NS, F_CHILD_NODE, F_ERR_COND,
	F_COUNT
};
#define NO_STR	((size_t)-1)

struct xs_parser {
	XML_Parser xp;
	struct xs_callbacks cb;
	void *ud;
	size_t max;
	enum xs_status status;

	unsigned depth;			/* open elements, stream header included */
	unsigned pending_ns;		/* xmlns declarations on the next element */

	/* The raw window; see the top of the file. */
	struct vbuf win;
	uint64_t win_off;		/* stream offset of win.p[0] */
	uint64_t last_end;		/* end offset of the last expat event */
	int in_stanza;
	uint64_t st_start;		/* offset of the current stanza's '<' */
	uint64_t fed_xp;		/* bytes handed to expat so far */
	/* Scan of a tag that expat holds unfinished; see tag_still_open. */
	uint64_t scan_tok, scan_pos;
	char quote;

	/* The current stanza. */
	struct vbuf strs;
	size_t off[F_COUNT];
	struct vbuf text, err_text;
	int child_seen;
	int stream_error;		/* the stanza is {streams}error */
	int in_err_text;		/* inside its <text/> child */
	int has_err_text;

	/* Namespace declarations of the stream header, as name/value pairs
	 * of NUL-terminated strings. */
	struct vbuf hdr;
	/* The stream header's start tag as received (xs_header: an in-place
	 * upgrade hands it to the next image, which primes a parser with
	 * it). */
	struct vbuf rawhdr;

	/* Inherited prefixes; see "Prefixes from the stream header" below.
	 * inh holds "prefix\0uri\0" for each of the header's prefix
	 * declarations that a stream we write does not repeat; bit i of
	 * inh_used says the current stanza uses prefix i, bit i of
	 * inh_declared that its top element declares prefix i itself.
	 * XS_MAX_ATTRS (64) bounds ninh, so 64 bits suffice. */
	struct vbuf inh;
	size_t inh_off[XS_MAX_ATTRS];
	unsigned ninh;
	uint64_t inh_used, inh_declared;
	struct vbuf rebuilt;		/* the stanza with its declarations */
	/* The fast path; see "The fast path" below. */
	int fast;			/* enabled (xs_set_fastpath) */
	struct vbuf dflt;		/* the stream header's default namespace */
	uint64_t skipped;		/* stream bytes expat never saw */
	int hdr_pieces;			/* XML_Parse calls before the header */
	int ef_state;			/* EF_* */
	uint64_t ef_start, ef_pos, ef_end;
	unsigned ef_depth;
	char ef_quote, ef_tag;		/* in a tag: 's' start, 'e' end */
	char ef_prev;
};

/* A name as expat reports it with triplets, split into its parts. */
struct qname {
	const char *uri;		/* "" when there is none */
	size_t uri_len;
	const char *local;
	size_t local_len;
	const char *prefix;		/* NULL when there is none */
	size_t prefix_len;
};

static void
split_name(const char *s, struct qname *q)
{
	const char *a, *b;

	memset(q, 0, sizeof *q);
	q->uri = "";
	if ((a = strchr(s, NSSEP)) == NULL) {
		q->local = s;
		q->local_len = strlen(s);
		return;
	}
	q->uri = s;
	q->uri_len = (size_t)(a - s);
	q->local = a + 1;
	if ((b = strchr(q->local, NSSEP)) == NULL) {
		q->local_len = strlen(q->local);
		return;
	}
	q->local_len = (size_t)(b - q->local);
	q->prefix = b + 1;
	q->prefix_len = strlen(q->prefix);
}

static int
span_is(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* The stream offset of the event expat is reporting: its own index
 * counts only the bytes it was given. */
static uint64_t
xp_index(const struct xs_parser *p)
{
	return (uint64_t)XML_GetCurrentByteIndex(p->xp) + p->skipped;
}

static void
fail(struct xs_parser *p, enum xs_status s)
{
	if (p->status != XS_OK)
		return;
	p->status = s;
	XML_StopParser(p->xp, XML_FALSE);
}

/* Remember where the event being reported ends. */
static void
mark(struct xs_parser *p)
{
	uint64_t end;

	end = xp_index(p) + (uint64_t)XML_GetCurrentByteCount(p->xp);
	if (end > p->last_end)
		p->last_end = end;
}

static int
is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Store a field of the current stanza.  One reservation and one copy:
 * this runs several times per stanza on the forwarding path. */
static void
put(struct xs_parser *p, enum field f, const char *s, size_t n)
{
	struct vbuf *b = &p->strs;

	vbuf_reserve(b, n + 1);
	p->off[f] = b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len++] = '\0';
	b->p[b->len] = '\0';
}

/* Append character data to a bounded text buffer, dropping the leading
 * whitespace (the trailing whitespace is cut at delivery). */
static void
add_text(struct vbuf *t, const char *s, size_t n)
{
	while (t->len == 0 && n > 0 && is_xml_space(*s)) {
		s++;
		n--;
	}
	if (n > XS_MAX_TEXT - t->len)
		n = XS_MAX_TEXT - t->len;
	vbuf_add(t, s, n);
}

static const char *
trimmed(struct vbuf *t)
{
	while (t->len > 0 && is_xml_space(t->p[t->len - 1]))
		t->len--;
	if (t->p == NULL)
		return "";
	t->p[t->len] = '\0';
	return t->p;
}

/* Value of the unprefixed attribute name in expat's atts, or NULL. */
static const char *
plain_attr(const char **atts, const char *name)
{
	for (; atts[0] != NULL; atts += 2)
		if (strcmp(atts[0], name) == 0)
			return atts[1];
	return NULL;
}

static void
put_attr(struct xs_parser *p, enum field f, const char **atts,
    const char *name)
{
	const char *v;

	if ((v = plain_attr(atts, name)) != NULL)
		put(p, f, v, strlen(v));
}

/*
 * The stanza's from, to, id and type in one pass over expat's attributes
 * (four plain_attr scans cost a strcmp per attribute each).  With
 * namespace processing an unprefixed attribute name is just its local
 * name, so exact comparisons are right.  Should an attribute appear twice,
 * expat has already refused the element; the first one wins regardless.
 */
static void
put_stanza_attrs(struct xs_parser *p, const char **atts)
{
	enum field f;
	const char *n;

	for (; atts[0] != NULL; atts += 2) {
		n = atts[0];
		switch (n[0]) {
		case 'f':
			if (strcmp(n, "from") != 0)
				continue;
			f = F_FROM;
			break;
		case 't':
			if (n[1] == 'o' && n[2] == '\0')
				f = F_TO;
			else if (strcmp(n, "type") == 0)
				f = F_TYPE;
			else
				continue;
			break;
		case 'i':
			if (n[1] != 'd' || n[2] != '\0')
				continue;
			f = F_ID;
			break;
		default:
			continue;
		}
		if (p->off[f] == NO_STR)
			put(p, f, atts[1], strlen(atts[1]));
	}
}

/*
 * Prefixes from the stream header.  A stanza may use a prefix that only
 * the stream header declares (<stream:stream xmlns:x='urn:x' ...> then
 * <message><x:data/></message>): well-formed on that stream, but its raw
 * bytes forwarded into another stream carry an unbound prefix, and the
 * server there closes the whole stream with not-well-formed.  So the
 * parser notes which of the header's prefixes each stanza uses, and hands
 * out the stanza with those declarations added to its start tag, which
 * makes it well-formed on its own wherever it goes.  Exempt are "xml"
 * (always bound) and "stream" bound to XS_NS_STREAMS, which every stream
 * header the runtime writes declares too.  A header without other prefix
 * declarations (the usual case) costs one test per element.
 */

/* The bit of the inherited prefix spelled s[0..n), or 0. */
static uint64_t
inherited_bit(const struct xs_parser *p, const char *s, size_t n)
{
	for (unsigned i = 0; i < p->ninh; i++) {
		const char *q = p->inh.p + p->inh_off[i];

		if (strncmp(q, s, n) == 0 && q[n] == '\0')
			return (uint64_t)1 << i;
	}
	return 0;
}

/* The prefix of a name as expat spells it with triplets, or NULL. */
static const char *
name_prefix(const char *name)
{
	const char *a;

	if ((a = strchr(name, NSSEP)) == NULL ||
	    (a = strchr(a + 1, NSSEP)) == NULL)
		return NULL;
	return a + 1;
}

/* An element of a stanza: which inherited prefixes do its name and its
 * attributes' names use? */
static void
note_prefixes(struct xs_parser *p, const char *name, const char **atts)
{
	const char *pf;

	if ((pf = name_prefix(name)) != NULL)
		p->inh_used |= inherited_bit(p, pf, strlen(pf));
	for (; atts[0] != NULL; atts += 2)
		if ((pf = name_prefix(atts[0])) != NULL)
			p->inh_used |= inherited_bit(p, pf, strlen(pf));
}

/* Remembers the header's declarations that stanzas inherit. */
static void
note_inherited(struct xs_parser *p, const char *name, const char *uri)
{
	if (strncmp(name, "xmlns:", 6) != 0)
		return;
	name += 6;
	if (strcmp(name, "xml") == 0 ||
	    (strcmp(name, "stream") == 0 && strcmp(uri, XS_NS_STREAMS) == 0))
		return;
	p->inh_off[p->ninh++] = p->inh.len;
	vbuf_addstr(&p->inh, name);
	vbuf_addch(&p->inh, '\0');
	vbuf_addstr(&p->inh, uri);
	vbuf_addch(&p->inh, '\0');
}

/* Appends s escaped for an attribute value in single quotes. */
static void
add_attr_value(struct vbuf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			vbuf_addstr(b, "&amp;");
			break;
		case '<':
			vbuf_addstr(b, "&lt;");
			break;
		case '\'':
			vbuf_addstr(b, "&apos;");
			break;
		default:
			vbuf_addch(b, *s);
		}
}

/* The stanza raw[0..len) with the inherited declarations it needs added
 * after its element name, in p->rebuilt. */
static void
add_declarations(struct xs_parser *p, const char *raw, size_t len,
    uint64_t need)
{
	size_t i = 1;

	while (i < len && !is_xml_space(raw[i]) && raw[i] != '/' &&
	    raw[i] != '>')
		i++;
	vbuf_clear(&p->rebuilt);
	vbuf_add(&p->rebuilt, raw, i);
	for (unsigned k = 0; k < p->ninh; k++) {
		const char *pf = p->inh.p + p->inh_off[k];

		if (!(need & ((uint64_t)1 << k)))
			continue;
		vbuf_addstr(&p->rebuilt, " xmlns:");
		vbuf_addstr(&p->rebuilt, pf);
		vbuf_addstr(&p->rebuilt, "='");
		add_attr_value(&p->rebuilt, pf + strlen(pf) + 1);
		vbuf_addch(&p->rebuilt, '\'');
	}
	vbuf_add(&p->rebuilt, raw + i, len - i);
}

static void XMLCALL
on_ns_decl(void *ud, const XML_Char *prefix, const XML_Char *uri)
{
	struct xs_parser *p = ud;

	if (p->status != XS_OK)
		return;
	p->pending_ns++;
	if (p->depth == 1 && p->ninh != 0 && prefix != NULL)
		p->inh_declared |= inherited_bit(p, prefix, strlen(prefix));
	if (p->depth != 0 || p->pending_ns > XS_MAX_ATTRS)
		return;
	if (prefix == NULL) {
		/* Stanzas without xmlns of their own are in it (fast path). */
		vbuf_clear(&p->dflt);
		vbuf_addstr(&p->dflt, uri != NULL ? uri : "");
	}
	vbuf_addstr(&p->hdr, "xmlns");
	if (prefix != NULL) {
		vbuf_addch(&p->hdr, ':');
		vbuf_addstr(&p->hdr, prefix);
	}
	vbuf_addch(&p->hdr, '\0');
	vbuf_addstr(&p->hdr, uri != NULL ? uri : "");
	vbuf_addch(&p->hdr, '\0');
}

/* The stream header: check it and report its attributes. */
static void
open_stream(struct xs_parser *p, const struct qname *q, const char **atts)
{
	struct xs_attr attrs[XS_MAX_ATTRS];
	size_t offs[2 * XS_MAX_ATTRS];
	size_t n = 0, i, pos = 0;
	struct qname a;

	if (!span_is(q->uri, q->uri_len, XS_NS_STREAMS) ||
	    !span_is(q->local, q->local_len, "stream")) {
		fail(p, XS_ERR_NS);
		return;
	}
	{
		uint64_t at = xp_index(p);
		int len = XML_GetCurrentByteCount(p->xp);

		vbuf_clear(&p->rawhdr);
		if (at >= p->win_off && len > 0 &&
		    at + (uint64_t)len <= p->win_off + p->win.len)
			vbuf_add(&p->rawhdr, p->win.p + (at - p->win_off),
			    (size_t)len);
	}
	/* The namespace declarations, recorded by on_ns_decl. */
	for (i = 0; i < p->pending_ns; i++) {
		offs[2 * n] = pos;
		pos += strlen(p->hdr.p + pos) + 1;
		offs[2 * n + 1] = pos;
		note_inherited(p, p->hdr.p + offs[2 * n], p->hdr.p + pos);
		pos += strlen(p->hdr.p + pos) + 1;
		n++;
	}
	/* The other attributes, their names spelled back as written. */
	for (; atts[0] != NULL; atts += 2) {
		split_name(atts[0], &a);
		offs[2 * n] = p->hdr.len;
		if (a.prefix != NULL) {
			vbuf_add(&p->hdr, a.prefix, a.prefix_len);
			vbuf_addch(&p->hdr, ':');
		}
		vbuf_add(&p->hdr, a.local, a.local_len);
		vbuf_addch(&p->hdr, '\0');
		offs[2 * n + 1] = p->hdr.len;
		vbuf_addstr(&p->hdr, atts[1]);
		vbuf_addch(&p->hdr, '\0');
		n++;
	}
	/* Only now is p->hdr.p stable. */
	for (i = 0; i < n; i++) {
		attrs[i].name = p->hdr.p + offs[2 * i];
		attrs[i].value = p->hdr.p + offs[2 * i + 1];
	}
	if (p->cb.open != NULL)
		p->cb.open(p->ud, attrs, n);
	vbuf_clear(&p->hdr);
}

static void
begin_stanza(struct xs_parser *p, const struct qname *q, const char **atts)
{
	p->in_stanza = 1;
	p->st_start = xp_index(p);
	vbuf_clear(&p->strs);
	vbuf_clear(&p->text);
	vbuf_clear(&p->err_text);
	for (int f = 0; f < F_COUNT; f++)
		p->off[f] = NO_STR;
	p->child_seen = 0;
	p->in_err_text = 0;
	p->has_err_text = 0;
	put(p, F_NAME, q->local, q->local_len);
	put(p, F_NS, q->uri, q->uri_len);
	put_stanza_attrs(p, atts);
	p->stream_error = span_is(q->uri, q->uri_len, XS_NS_STREAMS) &&
	    span_is(q->local, q->local_len, "error");
}

/* An element inside a stanza.  p->depth (not yet incremented) is 2 for
 * the stanza's direct children; deeper elements are only counted. */
static void
inner_element(struct xs_parser *p, const struct qname *q, const char **atts)
{
	if (p->depth != 2)
		return;
	if (!p->child_seen) {
		p->child_seen = 1;
		put(p, F_CHILD_NAME, q->local, q->local_len);
		put(p, F_CHILD_NS, q->uri, q->uri_len);
		put_attr(p, F_CHILD_NODE, atts, "node");
	}
	if (p->stream_error &&
	    span_is(q->uri, q->uri_len, XS_NS_STREAM_ERRORS)) {
		if (span_is(q->local, q->local_len, "text")) {
			p->in_err_text = 1;
			p->has_err_text = 1;
		} else if (p->off[F_ERR_COND] == NO_STR)
			put(p, F_ERR_COND, q->local, q->local_len);
	}
}

static void XMLCALL
on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xs_parser *p = ud;
	struct qname q;
	size_t nattrs = 0;

	if (p->status != XS_OK)
		return;
	mark(p);
	for (const XML_Char **a = atts; a[0] != NULL; a += 2)
		nattrs++;
	if (nattrs + p->pending_ns > XS_MAX_ATTRS ||
	    p->depth >= XS_MAX_DEPTH) {
		fail(p, XS_ERR_POLICY);
		return;
	}
	if (p->in_stanza && p->last_end - p->st_start > p->max) {
		fail(p, XS_ERR_POLICY);
		return;
	}
	if (p->depth == 0 && (size_t)XML_GetCurrentByteCount(p->xp) > p->max) {
		/* The stream header is held to the same limit. */
		fail(p, XS_ERR_POLICY);
		return;
	}
	if (p->ninh != 0 && p->depth >= 1)
		note_prefixes(p, name, atts);
	/* Names are split only where something is read from them: most
	 * elements of a stanza are merely counted. */
	if (p->depth == 0) {
		split_name(name, &q);
		open_stream(p, &q, atts);
	} else if (p->depth == 1) {
		split_name(name, &q);
		begin_stanza(p, &q, atts);
	} else if (p->depth == 2 && (!p->child_seen || p->stream_error)) {
		split_name(name, &q);
		inner_element(p, &q, atts);
	}
	p->pending_ns = 0;
	p->depth++;
}

/* Hands the current stanza, ending at stream offset end, to the caller. */
static void
deliver_at(struct xs_parser *p, uint64_t end)
{
	struct xs_stanza st;
	const char *s[F_COUNT];

	if (end - p->st_start > p->max) {
		fail(p, XS_ERR_POLICY);
		return;
	}
	for (int f = 0; f < F_COUNT; f++)
		s[f] = p->off[f] == NO_STR ? NULL : p->strs.p + p->off[f];
	memset(&st, 0, sizeof st);
	st.raw = p->win.p + (p->st_start - p->win_off);
	st.raw_len = (size_t)(end - p->st_start);
	st.name = s[F_NAME];
	st.ns = s[F_NS];
	st.from = s[F_FROM];
	st.to = s[F_TO];
	st.id = s[F_ID];
	st.type = s[F_TYPE];
	st.child_name = s[F_CHILD_NAME];
	st.child_ns = s[F_CHILD_NS];
	st.child_node = s[F_CHILD_NODE];
	st.text = trimmed(&p->text);
	if (p->stream_error) {
		st.err_condition = s[F_ERR_COND];
		st.err_text = p->has_err_text ? trimmed(&p->err_text) : NULL;
	}
	if (p->inh_used & ~p->inh_declared) {
		add_declarations(p, st.raw, st.raw_len,
		    p->inh_used & ~p->inh_declared);
		st.raw = p->rebuilt.p;
		st.raw_len = p->rebuilt.len;
	}
	p->inh_used = p->inh_declared = 0;
	p->in_stanza = 0;
	if (p->cb.stanza != NULL)
		p->cb.stanza(p->ud, &st);
}

static void
deliver(struct xs_parser *p)
{
	deliver_at(p, xp_index(p) + (uint64_t)XML_GetCurrentByteCount(p->xp));
}

static void XMLCALL
on_end(void *ud, const XML_Char *name)
{
	struct xs_parser *p = ud;

	if (p->status != XS_OK)
		return;
	mark(p);
	p->depth--;
	if (p->depth == 0) {
		if (p->cb.close != NULL)
			p->cb.close(p->ud);
	} else if (p->depth == 1)
		deliver(p);
	else if (p->depth == 2)
		p->in_err_text = 0;
}

static void XMLCALL
on_text(void *ud, const XML_Char *s, int len)
{
	struct xs_parser *p = ud;

	if (p->status != XS_OK)
		return;
	mark(p);
	/* Checked here too so that a long text is refused where it crosses
	 * the limit, however the input was chunked. */
	if (p->in_stanza && p->last_end - p->st_start > p->max) {
		fail(p, XS_ERR_POLICY);
		return;
	}
	if (p->depth == 1) {
		/* Between stanzas only whitespace (keepalives) may appear. */
		for (int i = 0; i < len; i++)
			if (!is_xml_space(s[i])) {
				fail(p, XS_ERR_XML);
				return;
			}
	} else if (p->depth == 2)
		add_text(&p->text, s, (size_t)len);
	else if (p->depth == 3 && p->in_err_text)
		add_text(&p->err_text, s, (size_t)len);
}

static void XMLCALL
on_restricted_pi(void *ud, const XML_Char *target, const XML_Char *data)
{
	fail(ud, XS_ERR_RESTRICTED);
}

static void XMLCALL
on_restricted_comment(void *ud, const XML_Char *data)
{
	fail(ud, XS_ERR_RESTRICTED);
}

static void XMLCALL
on_restricted_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	fail(ud, XS_ERR_RESTRICTED);
}

static void XMLCALL
on_restricted_entity(void *ud, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	fail(ud, XS_ERR_RESTRICTED);
}

static int XMLCALL
on_external_entity(XML_Parser xp, const XML_Char *context,
    const XML_Char *base, const XML_Char *sysid, const XML_Char *pubid)
{
	/* Never reached without a DTD; refusing is the safe answer anyway. */
	return XML_STATUS_ERROR;
}

static void XMLCALL
on_xml_decl(void *ud, const XML_Char *version, const XML_Char *encoding,
    int standalone)
{
	struct xs_parser *p = ud;

	if (p->status == XS_OK)
		mark(p);
}

/* Everything expat has no other handler for (whitespace in the prolog).
 * Setting it also keeps expat from expanding internal entities. */
static void XMLCALL
on_default(void *ud, const XML_Char *s, int len)
{
	struct xs_parser *p = ud;

	if (p->status == XS_OK)
		mark(p);
}

static int
make_expat(struct xs_parser *p)
{
	/* UTF-8 is forced: XMPP streams are UTF-8 (RFC 6120 §11.6), whatever
	 * an XML declaration claims. */
	if ((p->xp = XML_ParserCreateNS("UTF-8", NSSEP)) == NULL)
		return -1;
	XML_SetUserData(p->xp, p);
	XML_SetReturnNSTriplet(p->xp, XML_TRUE);
	XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	XML_SetStartNamespaceDeclHandler(p->xp, on_ns_decl);
	XML_SetProcessingInstructionHandler(p->xp, on_restricted_pi);
	XML_SetCommentHandler(p->xp, on_restricted_comment);
	XML_SetStartDoctypeDeclHandler(p->xp, on_restricted_doctype);
	XML_SetEntityDeclHandler(p->xp, on_restricted_entity);
	XML_SetExternalEntityRefHandler(p->xp, on_external_entity);
	XML_SetXmlDeclHandler(p->xp, on_xml_decl);
	XML_SetDefaultHandler(p->xp, on_default);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 6)
	/* expat 2.6 may defer parsing a growing token and so hold back a
	 * complete stanza until more bytes arrive; a router must not wait.
	 * tag_still_open already bounds the re-scan cost. */
	XML_SetReparseDeferralEnabled(p->xp, XML_FALSE);
#endif
	return 0;
}

static void
clear_state(struct xs_parser *p)
{
	p->status = XS_OK;
	p->depth = 0;
	p->pending_ns = 0;
	vbuf_clear(&p->win);
	p->win_off = 0;
	p->last_end = 0;
	p->in_stanza = 0;
	p->st_start = 0;
	p->fed_xp = 0;
	p->scan_tok = p->scan_pos = 0;
	p->quote = 0;
	vbuf_clear(&p->strs);
	vbuf_clear(&p->text);
	vbuf_clear(&p->err_text);
	vbuf_clear(&p->hdr);
	vbuf_clear(&p->rawhdr);
	vbuf_clear(&p->inh);
	p->ninh = 0;
	p->inh_used = p->inh_declared = 0;
	vbuf_clear(&p->rebuilt);
	vbuf_clear(&p->dflt);
	p->skipped = 0;
	p->hdr_pieces = 0;
	p->ef_state = 0;
}

struct xs_parser *
xs_new(const struct xs_callbacks *cb, void *ud, size_t max_stanza)
{
	struct xs_parser *p;

	p = xcalloc(1, sizeof *p);
	p->cb = *cb;
	p->ud = ud;
	p->max = max_stanza > 0 ? max_stanza : 1;
	p->fast = 1;
	/* expat reports its own allocation failure only as -1. */
	if (make_expat(p) == -1)
		xoom(sizeof *p);
	clear_state(p);
	return p;
}

/* ------------------------------------------------------------------
 * The fast path.
 *
 * Most stanzas are simple: ASCII names without prefixes, quoted attribute
 * values, text, the five predefined entities, valid UTF-8, nothing else.
 * For those expat's general machinery (position tracking, name hashing,
 * namespace bindings, entity accounting) is about 90 % of the cost of
 * forwarding one.  So when expat is idle between stanzas (depth 1, no
 * unfinished token), fast_scan() checks the next complete stanza against
 * that subset itself and, when it is in it, reports it without expat.
 * Anything else (a prefix, a comment, a CDATA section, a character
 * reference, a control character, a stanza not complete in the window,
 * a limit reached, ...) is declined, and expat parses it exactly as it
 * would without this path: expat stays the judge of every byte the
 * subset does not cover, so accept/reject decisions, stanza boundaries
 * and the reported fields are the same (tests/fuzz/fuzz_xmlstream_fast.c
 * compares the two on every input; xs_set_fastpath turns it off).
 *
 * Every byte fast_scan() accepts is well-formed, namespace-well-formed
 * XML in UTF-8, within the limits, that expat would accept in that place:
 * names match [A-Za-z_][A-Za-z0-9._-]* (attributes also "xml:lang"),
 * attributes are unique and separated by white space, values hold no '<',
 * no control characters and only the five predefined entities, text
 * holds no "]]>", no '\r' (which expat would normalise) and no other
 * markup, end tags match, and an xmlns value does not name the reserved
 * W3C namespaces.  Expat never sees the bytes taken here: its byte index
 * plus p->skipped is the stream offset.
 *
 * While expat parses a declined stanza, ef_* (the end finder) follows
 * the same bytes, resumably, counting tags and quotes, so that expat is
 * handed the stanza only up to its end and the stanzas after it can take
 * the fast path again.  A wrong guess (markup the end finder does not
 * know, such as a comment holding '>') only means expat parses on.
 */
#define FS_MAX_LEVEL	32

static int
fs_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
fs_name_start(unsigned char c)
{
	unsigned char l = c | 0x20;

	return (l >= 'a' && l <= 'z') || c == '_';
}

static int
fs_name_char(unsigned char c)
{
	return fs_name_start(c) || (c >= '0' && c <= '9') || c == '.' ||
	    c == '-';
}

/* Length of the unprefixed ASCII name at s, 0 when there is none. */
static size_t
fs_name(const unsigned char *s, const unsigned char *e)
{
	const unsigned char *q = s;

	if (q >= e || !fs_name_start(*q))
		return 0;
	for (q++; q < e && fs_name_char(*q); q++)
		;
	return (size_t)(q - s);
}

/* Length of the UTF-8 sequence at s that expat accepts as a character, 0
 * when the bytes are not one (or not complete before e). */
static size_t
fs_utf8(const unsigned char *s, const unsigned char *e)
{
	unsigned char c = s[0];

	if (c < 0xc2 || c > 0xf4)
		return 0;
	if (c < 0xe0)
		return e - s >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (e - s < 3 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 ||
		    (c == 0xe0 && s[1] < 0xa0) ||	/* overlong */
		    (c == 0xed && s[1] >= 0xa0) ||	/* surrogates */
		    (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe))	/* FFFE/F */
			return 0;
		return 3;
	}
	if (e - s < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
	    (s[3] & 0xc0) != 0x80 || (c == 0xf0 && s[1] < 0x90) ||
	    (c == 0xf4 && s[1] >= 0x90))
		return 0;
	return 4;
}

/* The predefined entity reference at s ('&'): its length and character in
 * *ch; 0 for anything else. */
static size_t
fs_entity(const unsigned char *s, const unsigned char *e, char *ch)
{
	static const struct { const char *ref; char ch; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};

	for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
		size_t n = strlen(ents[i].ref);

		if ((size_t)(e - s) >= n && memcmp(s, ents[i].ref, n) == 0) {
			*ch = ents[i].ch;
			return n;
		}
	}
	return 0;
}

/* Checks the attribute value after the opening quote at s; returns its
 * length (up to the closing quote), or (size_t)-1 to decline. */
static size_t
fs_value(const unsigned char *s, const unsigned char *e, unsigned char q)
{
	const unsigned char *v = s;
	size_t n;
	char ch;

	while (v < e && *v != q) {
		if (*v == '<' || *v < 0x20)
			return (size_t)-1;
		if (*v == '&') {
			if ((n = fs_entity(v, e, &ch)) == 0)
				return (size_t)-1;
			v += n;
		} else if (*v >= 0x80) {
			if ((n = fs_utf8(v, e)) == 0)
				return (size_t)-1;
			v += n;
		} else
			v++;
	}
	return v < e ? (size_t)(v - s) : (size_t)-1;
}

/* Stores field f as the checked value s[0..n), entities replaced. */
static void
fs_put_value(struct xs_parser *p, enum field f, const unsigned char *s,
    size_t n)
{
	struct vbuf *b = &p->strs;
	char *o;
	size_t k;

	vbuf_reserve(b, n + 1);
	p->off[f] = b->len;
	o = b->p + b->len;
	for (size_t i = 0; i < n; ) {
		if (s[i] == '&') {
			k = fs_entity(s + i, s + n, o);
			o++;
			i += k;
		} else
			*o++ = (char)s[i++];
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len++] = '\0';
	b->p[b->len] = '\0';
}

/* Stores field f as a copy of field g. */
static void
fs_put_copy(struct xs_parser *p, enum field f, enum field g)
{
	size_t n = strlen(p->strs.p + p->off[g]);

	vbuf_reserve(&p->strs, n + 1);
	put(p, f, p->strs.p + p->off[g], n);
}

struct fs_attr {
	const unsigned char *name, *value;
	size_t name_len, value_len;
};

/*
 * The start tag at *sp ('<'): its name and attributes; *sp moves past the
 * '>'.  Returns 0 to decline, 1 for a start tag, 2 for an empty element.
 */
static int
fs_start_tag(const unsigned char **sp, const unsigned char *e,
    size_t *name_len, struct fs_attr *a, int *na)
{
	const unsigned char *s = *sp + 1;
	size_t n;

	if ((*name_len = fs_name(s, e)) == 0)
		return 0;
	s += *name_len;
	*na = 0;
	for (;;) {
		int sp_seen = 0;

		while (s < e && fs_space(*s)) {
			s++;
			sp_seen = 1;
		}
		if (s >= e)
			return 0;
		if (*s == '>') {
			*sp = s + 1;
			return 1;
		}
		if (*s == '/') {
			if (s + 1 >= e || s[1] != '>')
				return 0;
			*sp = s + 2;
			return 2;
		}
		if (!sp_seen || *na == XS_MAX_ATTRS)
			return 0;
		a[*na].name = s;
		if ((n = fs_name(s, e)) == 0)
			return 0;
		if (n == 3 && memcmp(s, "xml", 3) == 0 && e - s > 8 &&
		    memcmp(s, "xml:lang", 8) == 0)
			n = 8;
		else if (n >= 3 && (s[0] | 0x20) == 'x' &&
		    (s[1] | 0x20) == 'm' && (s[2] | 0x20) == 'l' &&
		    !(n == 5 && memcmp(s, "xmlns", 5) == 0))
			return 0;	/* reserved names: let expat judge */
		a[*na].name_len = n;
		s += n;
		while (s < e && fs_space(*s))
			s++;
		if (s >= e || *s != '=')
			return 0;
		s++;
		while (s < e && fs_space(*s))
			s++;
		if (s >= e || (*s != '\'' && *s != '"'))
			return 0;
		if ((n = fs_value(s + 1, e, *s)) == (size_t)-1)
			return 0;
		a[*na].value = s + 1;
		a[*na].value_len = n;
		s += n + 2;
		for (int i = 0; i < *na; i++)
			if (a[i].name_len == a[*na].name_len &&
			    memcmp(a[i].name, a[*na].name, a[i].name_len) == 0)
				return 0;
		(*na)++;
	}
}

static const struct fs_attr *
fs_find(const struct fs_attr *a, int na, const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < na; i++)
		if (a[i].name_len == n && memcmp(a[i].name, name, n) == 0)
			return &a[i];
	return NULL;
}

/* The namespace an xmlns attribute declares is one expat accepts here. */
static int
fs_ns_ok(const struct fs_attr *x)
{
	return x == NULL || x->value_len < 18 ||
	    memcmp(x->value, "http://www.w3.org/", 18) != 0;
}

/* Text at s up to the next '<' (or e): checked; added to the stanza's
 * text when direct.  Returns where it stopped, or NULL to decline. */
static const unsigned char *
fs_text(struct xs_parser *p, const unsigned char *s, const unsigned char *e,
    int direct)
{
	const unsigned char *t = s;
	size_t n;
	char ch;

	while (t < e && *t != '<') {
		if (*t == '&') {
			if ((n = fs_entity(t, e, &ch)) == 0)
				return NULL;
			if (direct) {
				add_text(&p->text, (const char *)s,
				    (size_t)(t - s));
				add_text(&p->text, &ch, 1);
			}
			t += n;
			s = t;
		} else if (*t >= 0x80) {
			if ((n = fs_utf8(t, e)) == 0)
				return NULL;
			t += n;
		} else if ((*t < 0x20 && *t != '\t' && *t != '\n') ||
		    (*t == '>' && t - s >= 2 && t[-1] == ']' && t[-2] == ']'))
			return NULL;
		else
			t++;
	}
	if (direct)
		add_text(&p->text, (const char *)s, (size_t)(t - s));
	return t;
}

/*
 * The complete stanza at s0 ('<') if it is in the
 * subset: fills the stanza fields and returns its length; 0 to decline.
 */
static size_t
fast_scan(struct xs_parser *p, const unsigned char *s0,
    const unsigned char *e)
{
	struct fs_attr a[XS_MAX_ATTRS];
	struct { const unsigned char *name; size_t len; } open[FS_MAX_LEVEL];
	const unsigned char *s = s0;
	const struct fs_attr *x;
	int level = 0, na, kind;
	size_t nl;

	if ((uint64_t)(e - s0) > p->max)
		e = s0 + p->max;	/* longer: expat reports the policy */
	vbuf_clear(&p->strs);
	vbuf_clear(&p->text);
	for (int f = 0; f < F_COUNT; f++)
		p->off[f] = NO_STR;
	p->child_seen = 0;
	p->stream_error = 0;
	for (;;) {
		/* s is at a '<' of a start tag. */
		const unsigned char *tag = s;

		if ((kind = fs_start_tag(&s, e, &nl, a, &na)) == 0)
			return 0;
		x = fs_find(a, na, "xmlns");
		if (!fs_ns_ok(x))
			return 0;
		if (level == 0) {
			put(p, F_NAME, (const char *)tag + 1, nl);
			if (x != NULL)
				fs_put_value(p, F_NS, x->value, x->value_len);
			else
				put(p, F_NS, p->dflt.p != NULL ? p->dflt.p : "",
				    p->dflt.len);
			if (strcmp(p->strs.p + p->off[F_NS], XS_NS_STREAMS) == 0)
				return 0;	/* stream-level elements */
			for (int i = 0; i < na; i++) {
				enum field f;

				if (a[i].name_len == 4 &&
				    memcmp(a[i].name, "from", 4) == 0)
					f = F_FROM;
				else if (a[i].name_len == 2 &&
				    memcmp(a[i].name, "to", 2) == 0)
					f = F_TO;
				else if (a[i].name_len == 2 &&
				    memcmp(a[i].name, "id", 2) == 0)
					f = F_ID;
				else if (a[i].name_len == 4 &&
				    memcmp(a[i].name, "type", 4) == 0)
					f = F_TYPE;
				else
					continue;
				fs_put_value(p, f, a[i].value, a[i].value_len);
			}
		} else if (level == 1 && !p->child_seen) {
			p->child_seen = 1;
			put(p, F_CHILD_NAME, (const char *)tag + 1, nl);
			if (x != NULL)
				fs_put_value(p, F_CHILD_NS, x->value,
				    x->value_len);
			else
				fs_put_copy(p, F_CHILD_NS, F_NS);
			if ((x = fs_find(a, na, "node")) != NULL)
				fs_put_value(p, F_CHILD_NODE, x->value,
				    x->value_len);
		}
		if (kind == 1) {
			if (level == FS_MAX_LEVEL)
				return 0;
			open[level].name = tag + 1;
			open[level++].len = nl;
		} else if (level == 0)
			return (size_t)(s - s0);
		/* Content up to the next start tag; end tags on the way. */
		for (;;) {
			if ((s = fs_text(p, s, e, level == 1)) == NULL ||
			    s + 1 >= e)
				return 0;
			if (s[1] != '/')
				break;
			nl = open[level - 1].len;
			if ((size_t)(e - s) < nl + 3 ||
			    memcmp(s + 2, open[level - 1].name, nl) != 0)
				return 0;
			s += 2 + nl;
			while (s < e && fs_space(*s))
				s++;
			if (s >= e || *s != '>')
				return 0;
			s++;
			if (--level == 0)
				return (size_t)(s - s0);
		}
		if (s[1] == '!' || s[1] == '?')
			return 0;
	}
}

/* Which status an expat error means. */
static enum xs_status
map_error(enum XML_Error e)
{
	switch (e) {
	case XML_ERROR_NO_MEMORY:
		/* Same policy as buf.h: out of memory is fatal. */
		xoom(0);
	case XML_ERROR_UNDEFINED_ENTITY:
	case XML_ERROR_PARAM_ENTITY_REF:
	case XML_ERROR_RECURSIVE_ENTITY_REF:
	case XML_ERROR_ASYNC_ENTITY:
	case XML_ERROR_BINARY_ENTITY_REF:
	case XML_ERROR_ATTRIBUTE_EXTERNAL_ENTITY_REF:
	case XML_ERROR_EXTERNAL_ENTITY_HANDLING:
	case XML_ERROR_MISPLACED_XML_PI:
	case XML_ERROR_NOT_STANDALONE:
	case XML_ERROR_AMPLIFICATION_LIMIT_BREACH:
		/* Entity references beyond the predefined five, and an XML
		 * declaration that is really a PI in the wrong place, are
		 * restricted XML (RFC 6120 §11.1). */
		return XS_ERR_RESTRICTED;
	default:
		return XS_ERR_XML;
	}
}

/*
 * expat reports "<!DOCTYPE" or "<!ENTITY" inside the root element as a
 * plain syntax error, with the error position just after the "<!".  Such a
 * declaration is what RFC 6120 §11.1 forbids, so call it restricted XML,
 * as when it comes before the stream header.
 */
static int
is_markup_decl(const struct xs_parser *p)
{
	uint64_t at = xp_index(p);
	const char *w = p->win.p;

	if (at < p->win_off + 2 || at >= p->win_off + p->win.len)
		return 0;
	w += at - p->win_off;
	return w[-2] == '<' && w[-1] == '!' && w[0] >= 'A' && w[0] <= 'Z';
}

/*
 * expat 2.5 re-tokenises an unfinished token from its start on every
 * XML_Parse call, so a long start tag sent a byte at a time costs time
 * quadratic in its length (CVE-2023-52425; 3.7 s of CPU for a 64 KiB tag
 * before this check).  A tag cannot end, and no callback can become due,
 * before a '>' outside its quoted attribute values arrives.  So while
 * expat holds an unfinished start or end tag, new bytes only go into the
 * window, scanned once for that '>', and expat gets them all when it
 * comes.  This never delays a callback; the window bound still applies to
 * the held bytes.  Returns true when feeding expat can wait.
 */
static int
tag_still_open(struct xs_parser *p)
{
	uint64_t end = p->win_off + p->win.len;
	const char *w = p->win.p - p->win_off;	/* w[offset] = stream byte */
	char c;

	if (p->last_end >= p->fed_xp || p->last_end < p->win_off ||
	    p->last_end + 1 >= end)
		return 0;
	/* Only '<' followed by a name or '/' is a tag; "<!" and "<?" may be
	 * CDATA, comments or PIs, which quote differently. */
	if (w[p->last_end] != '<' || w[p->last_end + 1] == '!' ||
	    w[p->last_end + 1] == '?')
		return 0;
	if (p->scan_tok != p->last_end) {
		p->scan_tok = p->last_end;
		p->scan_pos = p->last_end + 1;
		p->quote = 0;
	}
	for (; p->scan_pos < end; p->scan_pos++) {
		c = w[p->scan_pos];
		if (p->quote != 0) {
			if (c == p->quote)
				p->quote = 0;
		} else if (c == '\'' || c == '"')
			p->quote = c;
		else if (c == '>')
			return 0;
	}
	return 1;
}

/* Cut the window back to what may still be needed and enforce the bound. */
static void
trim_window(struct xs_parser *p)
{
	uint64_t keep, fed;

	keep = p->in_stanza ? p->st_start : p->last_end;
	if (keep > p->win_off) {
		vbuf_drop(&p->win, (size_t)(keep - p->win_off));
		p->win_off = keep;
	}
	fed = p->win_off + p->win.len;
	if (fed - p->win_off > p->max) {
		/* A stanza, or a tag expat is still holding, is already
		 * larger than allowed. */
		p->status = XS_ERR_POLICY;
		vbuf_free(&p->win);
		p->win_off = fed;
	}
}

enum { EF_NONE, EF_SCAN, EF_FOUND, EF_GIVEUP };

/* Starts the end finder on the stanza whose '<' is at stream offset at. */
static void
ef_begin(struct xs_parser *p, uint64_t at)
{
	p->ef_state = EF_SCAN;
	p->ef_start = at;
	p->ef_pos = at;
	p->ef_depth = 0;
	p->ef_quote = 0;
	p->ef_tag = 0;
	p->ef_prev = 0;
}

/*
 * How far expat may be fed now: the end of the stanza the end finder
 * follows when it is found (scanning on from where it stopped: linear in
 * the stanza however it is chunked), else end, the window's end.
 */
static uint64_t
ef_limit(struct xs_parser *p, uint64_t end)
{
	const char *w = p->win.p - p->win_off;	/* w[offset] = stream byte */
	char c;

	if (p->ef_state == EF_FOUND && p->fed_xp < p->ef_end)
		return p->ef_end;
	if (p->ef_state != EF_SCAN || p->ef_pos < p->win_off)
		return end;
	for (; p->ef_pos < end; p->ef_pos++) {
		c = w[p->ef_pos];
		if (p->ef_tag == 0) {
			if (c != '<')
				continue;
			if (p->ef_pos + 1 >= end)
				return end;	/* decided by the next byte */
			c = w[p->ef_pos + 1];
			if (c == '!' || c == '?') {
				p->ef_state = EF_GIVEUP;
				return end;
			}
			p->ef_tag = c == '/' ? 'e' : 's';
			p->ef_prev = 0;
		} else if (p->ef_quote != 0) {
			if (c == p->ef_quote)
				p->ef_quote = 0;
		} else if (c == '\'' || c == '"')
			p->ef_quote = c;
		else if (c == '>') {
			if (p->ef_tag == 'e')
				p->ef_depth--;
			else if (p->ef_prev != '/')
				p->ef_depth++;
			p->ef_tag = 0;
			if (p->ef_depth == 0) {
				p->ef_state = EF_FOUND;
				p->ef_end = ++p->ef_pos;
				return p->ef_end;
			}
		} else
			p->ef_prev = c;
	}
	return end;
}

/* Expat is between stanzas with nothing held: the fast path may go. */
static int
expat_idle(const struct xs_parser *p)
{
	return p->fast && p->status == XS_OK && p->depth == 1 &&
	    !p->in_stanza && p->last_end == p->fed_xp;
}

/*
 * Takes white space and simple stanzas from fed_xp on without expat, up
 * to end; at the first stanza it declines, starts the end finder there.
 */
static void
fast_stanzas(struct xs_parser *p, uint64_t end)
{
	const unsigned char *w = (const unsigned char *)p->win.p - p->win_off;
	uint64_t at = p->fed_xp;
	size_t n;

	while (p->status == XS_OK) {
		while (at < end && fs_space(w[at]))
			at++;
		p->skipped += at - p->fed_xp;
		p->fed_xp = p->last_end = at;
		if (at >= end || w[at] != '<' || (at + 1 < end &&
		    (w[at + 1] == '/' || w[at + 1] == '!' || w[at + 1] == '?')))
			break;	/* the stream's end, or markup: expat's */
		if (at + 1 >= end || (n = fast_scan(p, w + at, w + end)) == 0) {
			/* Declined, or not complete yet: expat parses this
			 * stanza, and only this one. */
			ef_begin(p, at);
			break;
		}
		p->in_stanza = 1;
		p->st_start = at;
		p->skipped += n;
		p->fed_xp = p->last_end = at + n;
		deliver_at(p, at + n);
		at += n;
	}
}

/* Hands expat the window's bytes from fed_xp up to stream offset limit. */
static void
feed_expat(struct xs_parser *p, uint64_t limit)
{
	const char *data = p->win.p + (p->fed_xp - p->win_off);
	size_t len = (size_t)(limit - p->fed_xp), n;

	/* XML_Parse copies what it keeps, so pointing into the window is
	 * safe; handlers do not change the window. */
	p->fed_xp = limit;
	while (len > 0) {
		n = len > INT_MAX ? INT_MAX : len;
		if (XML_Parse(p->xp, data, (int)n, XML_FALSE) ==
		    XML_STATUS_ERROR) {
			/* A status set by a handler stands; otherwise the
			 * error is expat's own. */
			if (p->status == XS_OK) {
				p->status = map_error(XML_GetErrorCode(p->xp));
				if (p->status == XS_ERR_XML && is_markup_decl(p))
					p->status = XS_ERR_RESTRICTED;
			}
			return;
		}
		data += n;
		len -= n;
	}
}

enum xs_status
xs_feed(struct xs_parser *p, const char *data, size_t len)
{
	uint64_t end, limit;

	if (p->status != XS_OK)
		return p->status;
	vbuf_add(&p->win, data, len);
	if (tag_still_open(p)) {
		trim_window(p);
		return p->status;
	}
	/* Everything not yet consumed, including bytes held back by
	 * tag_still_open: simple stanzas by the fast path, the rest by
	 * expat, one declined stanza at a time. */
	end = p->win_off + p->win.len;
	while (p->fed_xp < end && p->status == XS_OK) {
		limit = end;
		if (p->fast && p->depth == 0 && p->hdr_pieces < 4) {
			/* Up to the stream header: feed expat up to each '>'
			 * (a few times at most: expat re-scans an unfinished
			 * tag on each call), so that the stanzas in the same
			 * chunk as the header can take the fast path. */
			const char *w = p->win.p - p->win_off;
			const char *gt = memchr(w + p->fed_xp, '>',
			    (size_t)(end - p->fed_xp));

			p->hdr_pieces++;
			if (gt != NULL)
				limit = (uint64_t)(gt - w) + 1;
		} else if (p->fast) {
			if (expat_idle(p)) {
				fast_stanzas(p, end);
				if (p->fed_xp >= end || p->status != XS_OK)
					break;
			}
			limit = ef_limit(p, end);
		}
		feed_expat(p, limit);
	}
	if (p->status != XS_OK) {
		vbuf_free(&p->win);
		return p->status;
	}
	trim_window(p);
	return p->status;
}

const char *
xs_condition(enum xs_status s)
{
	switch (s) {
	case XS_ERR_XML:
		return "not-well-formed";
	case XS_ERR_RESTRICTED:
		return "restricted-xml";
	case XS_ERR_POLICY:
		return "policy-violation";
	case XS_ERR_NS:
		return "invalid-namespace";
	default:
		return NULL;
	}
}

void
xs_stop(struct xs_parser *p)
{
	fail(p, XS_ERR_STOPPED);
}

void
xs_reset(struct xs_parser *p)
{
	/* A fresh expat parser is simpler than XML_ParserReset, which
	 * clears every handler and setting that make_expat applies. */
	XML_ParserFree(p->xp);
	if (make_expat(p) == -1)
		xoom(0);
	clear_state(p);
}

void
xs_set_fastpath(struct xs_parser *p, bool on)
{
	p->fast = on;
}

void
xs_free(struct xs_parser *p)
{
	if (p == NULL)
		return;
	XML_ParserFree(p->xp);
	vbuf_free(&p->win);
	vbuf_free(&p->strs);
	vbuf_free(&p->text);
	vbuf_free(&p->err_text);
	vbuf_free(&p->hdr);
	vbuf_free(&p->rawhdr);
	vbuf_free(&p->inh);
	vbuf_free(&p->rebuilt);
	vbuf_free(&p->dflt);
	free(p);
}

size_t
xs_buffered(const struct xs_parser *p)
{
	return p->win.len;
}

const char *
xs_header(const struct xs_parser *p, size_t *len)
{
	*len = p->rawhdr.len;
	return p->rawhdr.p;
}

/* After xs_feed returned, trim_window has cut the window back to the
 * '<' of the unfinished element, or to the end of the last event between
 * elements: what is left is exactly what no callback has reported. */
const char *
xs_pending(const struct xs_parser *p, size_t *len)
{
	*len = p->status == XS_OK ? p->win.len : 0;
	return p->win.p;
}

enum xs_status
xs_prime(struct xs_parser *p, const char *hdr, size_t len)
{
	struct xs_callbacks cb = p->cb;
	enum xs_status s;

	memset(&p->cb, 0, sizeof p->cb);
	s = xs_feed(p, hdr, len);
	p->cb = cb;
	/* Exactly one header, nothing after it: a stanza that followed it
	 * would have been reported to no one (swallowed). */
	if (s == XS_OK && (p->depth != 1 || p->rawhdr.len != len ||
	    p->win.len != 0))
		s = p->status = XS_ERR_XML;
	return s;
}

const char *
xs_attr_get(const struct xs_attr *attrs, size_t nattrs, const char *name)
{
	for (size_t i = 0; i < nattrs; i++)
		if (strcmp(attrs[i].name, name) == 0)
			return attrs[i].value;
	return NULL;
}
