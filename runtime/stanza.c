/*
 * stanza.c — the stanzas the runtime writes itself (stanza.h).
 *
 * Attribute values are always written between single quotes, and every
 * value that came from the network goes through xml_escape, which escapes
 * both quote characters, so no input can end an attribute early.
 */
#include <stdlib.h>
#include <string.h>

#include "jid.h"
#include "stanza.h"

size_t
xml_escape(struct vbuf *out, const char *s, size_t n)
{
	size_t start = out->len, run = 0;
	const char *rep;

	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			continue;
		}
		/* Copy the plain run before this byte in one piece. */
		vbuf_add(out, s + run, i - run);
		vbuf_addstr(out, rep);
		run = i + 1;
	}
	vbuf_add(out, s + run, n - run);
	return out->len - start;
}

/* Append " name='escaped value'" when value is not NULL. */
static void
attr(struct vbuf *out, const char *name, const char *value)
{
	if (value == NULL)
		return;
	vbuf_addch(out, ' ');
	vbuf_addstr(out, name);
	vbuf_addstr(out, "='");
	xml_escape(out, value, strlen(value));
	vbuf_addch(out, '\'');
}

static int
str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

bool
stanza_is_disco_info_get(const struct xs_stanza *st)
{
	return str_eq(st->name, "iq") && str_eq(st->type, "get") &&
	    str_eq(st->child_name, "query") &&
	    str_eq(st->child_ns, NS_DISCO_INFO);
}

/* The start of a reply to st: <NAME type='TYPE' id=.. to=FROM from=TO>. */
static void
reply_head(struct vbuf *out, const char *name, const char *type,
    const struct xs_stanza *st)
{
	vbuf_addch(out, '<');
	vbuf_addstr(out, name);
	attr(out, "type", type);
	attr(out, "id", st->id);
	attr(out, "to", st->from);
	attr(out, "from", st->to);
	vbuf_addch(out, '>');
}

int
disco_reply(struct vbuf *out, const struct vc_component *c,
    const struct xs_stanza *st)
{
	if (st->child_node == NULL) {
		reply_head(out, "iq", "result", st);
		vbuf_add(out, c->query, c->query_len);
		vbuf_addstr(out, "</iq>");
		return DISCO_RESULT;
	}
	if (c->disco_node != NULL && c->query_node != NULL &&
	    strcmp(st->child_node, c->disco_node) == 0) {
		reply_head(out, "iq", "result", st);
		vbuf_add(out, c->query_node, c->query_node_len);
		vbuf_addstr(out, "</iq>");
		return DISCO_RESULT;
	}
	/* XEP-0030 §7: an unknown node is item-not-found, and the error
	 * echoes the query with its node. */
	reply_head(out, "iq", "error", st);
	vbuf_addstr(out, "<query xmlns='" NS_DISCO_INFO "'");
	attr(out, "node", st->child_node);
	vbuf_addstr(out, "/><error type='cancel'><item-not-found xmlns='"
	    NS_STANZA_ERRORS "'/></error></iq>");
	return DISCO_NOT_FOUND;
}

/* The inside of a stanza or stream error (RFC 6120 §8.3.2, §4.9.2): the
 * defined condition in namespace ns and an optional English text. */
static void
error_condition(struct vbuf *out, const char *ns, const char *condition,
    const char *text)
{
	vbuf_addch(out, '<');
	vbuf_addstr(out, condition);
	vbuf_addstr(out, " xmlns='");
	vbuf_addstr(out, ns);
	vbuf_addstr(out, "'/>");
	if (text != NULL) {
		vbuf_addstr(out, "<text xmlns='");
		vbuf_addstr(out, ns);
		vbuf_addstr(out, "' xml:lang='en'>");
		xml_escape(out, text, strlen(text));
		vbuf_addstr(out, "</text>");
	}
}

bool
stanza_bounce(struct vbuf *out, const struct xs_stanza *st,
    const char *err_type, const char *condition, const char *text,
    const char *by)
{
	if (!str_eq(st->name, "message") && !str_eq(st->name, "presence") &&
	    !str_eq(st->name, "iq"))
		return false;
	/* RFC 6120 §8.3.1 rule 8: never answer an error with an error, and
	 * §8.2.3: never answer an iq response. */
	if (str_eq(st->type, "error"))
		return false;
	if (str_eq(st->name, "iq") && str_eq(st->type, "result"))
		return false;
	reply_head(out, st->name, "error", st);
	vbuf_addstr(out, "<error");
	attr(out, "type", err_type);
	attr(out, "by", by);
	vbuf_addch(out, '>');
	error_condition(out, NS_STANZA_ERRORS, condition, text);
	vbuf_addstr(out, "</error></");
	vbuf_addstr(out, st->name);
	vbuf_addch(out, '>');
	return true;
}

void
stream_error(struct vbuf *out, const char *condition, const char *text)
{
	vbuf_addstr(out, "<stream:error>");
	error_condition(out, XS_NS_STREAM_ERRORS, condition, text);
	vbuf_addstr(out, "</stream:error></stream:stream>");
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
jid_domain_is(const char *jid, const char *domain, size_t dlen)
{
	const char *start, *end, *at;

	if (jid == NULL)
		return false;
	/* The resource starts at the first '/'; only an '@' before it ends
	 * a localpart (a resource may contain '@'). */
	if ((end = strchr(jid, '/')) == NULL)
		end = jid + strlen(jid);
	start = jid;
	for (at = jid; at < end; at++)
		if (*at == '@') {
			start = at + 1;
			break;
		}
	if ((size_t)(end - start) != dlen)
		return false;
	for (size_t i = 0; i < dlen; i++)
		if (ascii_lower(start[i]) != ascii_lower(domain[i]))
			return false;
	return true;
}

bool
stanza_addresses_ok(const struct xs_stanza *st, const char *domain,
    size_t dlen, const char **etype, const char **cond, struct vbuf *text)
{
	const char *why, *which = NULL, *jid = NULL;
	size_t off;

	if (st->from != NULL && !jid_check_jid(st->from, &why, &off))
		which = "from", jid = st->from;
	else if (st->to != NULL && !jid_check_jid(st->to, &why, &off))
		which = "to", jid = st->to;
	if (which != NULL) {
		*etype = "modify";
		*cond = "jid-malformed";
		/* The whole JID (bounded by max-stanza): cutting it at a byte
		 * count could split a UTF-8 sequence and make the reply
		 * ill-formed XML, which would cost the component its
		 * stream. */
		vbuf_addstr(text, which);
		vbuf_addstr(text, " '");
		vbuf_addstr(text, jid);
		vbuf_addstr(text, "' is not a valid JID: ");
		vbuf_addstr(text, why);
		return false;
	}
	if (st->from != NULL && !jid_domain_is(st->from, domain, dlen)) {
		*etype = "cancel";
		*cond = "not-allowed";
		vbuf_addstr(text, "from '");
		vbuf_addstr(text, st->from);
		vbuf_addstr(text, "' is not in domain ");
		vbuf_add(text, domain, dlen);
		return false;
	}
	return true;
}

#define STREAM_OPEN "<?xml version='1.0'?><stream:stream xmlns='" \
	NS_COMPONENT_ACCEPT "' xmlns:stream='" XS_NS_STREAMS "'"

void
stream_header_client(struct vbuf *out, const char *to)
{
	vbuf_addstr(out, STREAM_OPEN);
	attr(out, "to", to);
	vbuf_addch(out, '>');
}

void
stream_header_server(struct vbuf *out, const char *from, const char *id)
{
	vbuf_addstr(out, STREAM_OPEN);
	attr(out, "from", from);
	attr(out, "id", id);
	vbuf_addch(out, '>');
}

/* ------------------------------------------------------------ peek */

/* Copies the value of an attribute as an XML parser reports it: the
 * predefined entities and character references unescaped, literal white
 * space normalised, NUL-terminated. */
static void
unescape_into(struct vbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		static const struct { const char *e; char c; } ents[] = {
			{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
			{ "&quot;", '"' }, { "&apos;", '\'' },
		};
		bool done = false;

		/* Attribute-value normalisation (XML 1.0 §3.3.3, after
		 * §2.11's line-end handling): a literal tab, line feed,
		 * carriage return or CR LF pair is one space, as the
		 * parser reports it.  Character references are not
		 * normalised. */
		if (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			vbuf_addch(b, ' ');
			continue;
		}
		if (s[i] != '&') {
			vbuf_addch(b, s[i]);
			continue;
		}
		for (size_t k = 0; k < 5 && !done; k++) {
			size_t el = strlen(ents[k].e);

			if (n - i >= el && memcmp(s + i, ents[k].e, el) == 0) {
				vbuf_addch(b, ents[k].c);
				i += el - 1;
				done = true;
			}
		}
		if (!done && i + 2 < n && s[i + 1] == '#') {
			const char *semi = memchr(s + i, ';', n - i);
			unsigned long cp;
			char *end;

			if (semi != NULL) {
				cp = s[i + 2] == 'x' ?
				    strtoul(s + i + 3, &end, 16) :
				    strtoul(s + i + 2, &end, 10);
				if (end == semi && cp < 0x110000) {
					if (cp < 0x80)
						vbuf_addch(b, (char)cp);
					else if (cp < 0x800) {
						vbuf_addch(b, (char)(0xc0 | cp >> 6));
						vbuf_addch(b, (char)(0x80 | (cp & 0x3f)));
					} else if (cp < 0x10000) {
						vbuf_addch(b, (char)(0xe0 | cp >> 12));
						vbuf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
						vbuf_addch(b, (char)(0x80 | (cp & 0x3f)));
					} else {
						vbuf_addch(b, (char)(0xf0 | cp >> 18));
						vbuf_addch(b, (char)(0x80 | (cp >> 12 & 0x3f)));
						vbuf_addch(b, (char)(0x80 | (cp >> 6 & 0x3f)));
						vbuf_addch(b, (char)(0x80 | (cp & 0x3f)));
					}
					i = (size_t)(semi - s);
					done = true;
				}
			}
		}
		if (!done)
			vbuf_addch(b, '&');
	}
	vbuf_addch(b, '\0');
}

/* The contract is in stanza.h.  The start tag is scanned once, left to
 * right; the first occurrence of each attribute wins, as it would for a
 * parser that rejected duplicates (the ingress parser did). */
void
stanza_peek(struct xs_stanza *st, const char *raw, size_t len,
    const char *from, size_t flen, struct vbuf *b)
{
	size_t i = 1, s, off[5] = { 0 };
	static const char *const names[5] = { "from", "to", "id", "type", "" };
	const char **fields[4] = { &st->from, &st->to, &st->id, &st->type };
	bool have[5] = { false };

	memset(st, 0, sizeof *st);
	st->raw = raw;
	st->raw_len = len;
	vbuf_clear(b);
	vbuf_addch(b, '\0');        /* offset 0 is "absent" */
	if (flen > 0) {
		off[0] = b->len;
		vbuf_add(b, from, flen);
		vbuf_addch(b, '\0');
		have[0] = true;
	}
	s = i;
	while (i < len && raw[i] != ' ' && raw[i] != '\t' && raw[i] != '\r' &&
	    raw[i] != '\n' && raw[i] != '/' && raw[i] != '>') {
		if (raw[i] == ':')
			s = i + 1;
		i++;
	}
	off[4] = b->len;
	unescape_into(b, raw + s, i - s);
	have[4] = true;
	while (i < len && raw[i] != '>' && raw[i] != '/') {
		size_t an, ae;
		char q;
		const char *ve;

		while (i < len && (raw[i] == ' ' || raw[i] == '\t' ||
		    raw[i] == '\r' || raw[i] == '\n'))
			i++;
		an = i;
		/* XML allows any whitespace before the '='. */
		while (i < len && raw[i] != '=' && raw[i] != ' ' &&
		    raw[i] != '\t' && raw[i] != '\r' && raw[i] != '\n' &&
		    raw[i] != '>' && raw[i] != '/')
			i++;
		ae = i;
		while (i < len && raw[i] != '\'' && raw[i] != '"' &&
		    raw[i] != '>')
			i++;
		if (i >= len || raw[i] == '>' || ae == an)
			break;
		q = raw[i++];
		if ((ve = memchr(raw + i, q, len - i)) == NULL)
			break;
		for (int k = 0; k < 4; k++)
			if (!have[k] && strlen(names[k]) == ae - an &&
			    memcmp(raw + an, names[k], ae - an) == 0) {
				off[k] = b->len;
				unescape_into(b, raw + i, (size_t)(ve - raw) - i);
				have[k] = true;
			}
		i = (size_t)(ve - raw) + 1;
	}
	/* Pointers only now: b does not move any more. */
	st->name = b->p + off[4];
	st->ns = "";
	st->text = "";
	for (int k = 0; k < 4; k++)
		*fields[k] = have[k] ? b->p + off[k] : NULL;
}
