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

	end = (uint64_t)XML_GetCurrentByteIndex(p->xp) +
	    (uint64_t)XML_GetCurrentByteCount(p->xp);
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
	p->st_start = (uint64_t)XML_GetCurrentByteIndex(p->xp);
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

static void
deliver(struct xs_parser *p)
{
	struct xs_stanza st;
	uint64_t end;
	const char *s[F_COUNT];

	end = (uint64_t)XML_GetCurrentByteIndex(p->xp) +
	    (uint64_t)XML_GetCurrentByteCount(p->xp);
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
	vbuf_clear(&p->inh);
	p->ninh = 0;
	p->inh_used = p->inh_declared = 0;
	vbuf_clear(&p->rebuilt);
}

struct xs_parser *
xs_new(const struct xs_callbacks *cb, void *ud, size_t max_stanza)
{
	struct xs_parser *p;

	p = xcalloc(1, sizeof *p);
	p->cb = *cb;
	p->ud = ud;
	p->max = max_stanza > 0 ? max_stanza : 1;
	/* expat reports its own allocation failure only as -1. */
	if (make_expat(p) == -1)
		xoom(sizeof *p);
	clear_state(p);
	return p;
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
	uint64_t at = (uint64_t)XML_GetCurrentByteIndex(p->xp);
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

enum xs_status
xs_feed(struct xs_parser *p, const char *data, size_t len)
{
	size_t n;

	if (p->status != XS_OK)
		return p->status;
	vbuf_add(&p->win, data, len);
	if (tag_still_open(p)) {
		trim_window(p);
		return p->status;
	}
	/* Everything not yet given to expat, including bytes held back by
	 * tag_still_open.  XML_Parse copies what it keeps, so pointing into
	 * the window is safe; handlers do not change the window. */
	data = p->win.p + (p->fed_xp - p->win_off);
	len = (size_t)(p->win_off + p->win.len - p->fed_xp);
	p->fed_xp += len;
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
			vbuf_free(&p->win);
			return p->status;
		}
		data += n;
		len -= n;
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
	vbuf_free(&p->inh);
	vbuf_free(&p->rebuilt);
	free(p);
}

size_t
xs_buffered(const struct xs_parser *p)
{
	return p->win.len;
}

const char *
xs_attr_get(const struct xs_attr *attrs, size_t nattrs, const char *name)
{
	for (size_t i = 0; i < nattrs; i++)
		if (strcmp(attrs[i].name, name) == 0)
			return attrs[i].value;
	return NULL;
}
