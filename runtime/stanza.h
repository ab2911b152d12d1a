/*
 * stanza.h — building the few stanzas the runtime writes itself, and the
 * small inspections it makes of stanzas it routes.  Pure functions on byte
 * strings: no sockets, no global state.
 *
 * Every builder appends to a struct vbuf (buf.h) that the caller owns; the
 * appended text is complete, escaped XML ready to be written to a stream
 * whose default namespace is the stanza namespace (jabber:component:accept)
 * and whose "stream" prefix is bound to http://etherx.jabber.org/streams.
 */
#ifndef VCOMP_STANZA_H
#define VCOMP_STANZA_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "vcomp_table.h"
#include "xmlstream.h"

#define NS_COMPONENT_ACCEPT	"jabber:component:accept"
#define NS_DISCO_INFO		"http://jabber.org/protocol/disco#info"
#define NS_STANZA_ERRORS	"urn:ietf:params:xml:ns:xmpp-stanzas"

/*
 * Append s[0..n) escaped for use in an attribute value or character data:
 * & < > " ' become &amp; &lt; &gt; &quot; &apos;.  Returns the number of
 * bytes appended.
 */
size_t xml_escape(struct vbuf *out, const char *s, size_t n);

/* Is st an <iq type='get'> whose first child is a disco#info <query/>? */
bool stanza_is_disco_info_get(const struct xs_stanza *st);

enum disco_outcome {
	DISCO_RESULT = 0,	/* a result carrying the compiled <query/> */
	DISCO_NOT_FOUND = 1,	/* an item-not-found error for an unknown node */
};

/*
 * Append the answer to a disco#info get (stanza_is_disco_info_get(st)) sent
 * to component c: <iq type='result' id=ID to=FROM from=TO> followed by
 * c->query, or by c->query_node when the query's node equals c->disco_node,
 * and </iq>.  A node that c does not have gets a cancel/item-not-found
 * error echoing <query xmlns='...disco#info' node='...'/> (XEP-0030 §7).
 * id, to and from are escaped; an absent one is left out.  Returns the enum
 * disco_outcome of what was built.
 */
int disco_reply(struct vbuf *out, const struct vc_component *c,
    const struct xs_stanza *st);

/*
 * Append an RFC 6120 §8.3 error reply to st: the same element name and id,
 * from and to swapped, type='error', and
 * <error type=ERR_TYPE [by=BY]><CONDITION xmlns='...xmpp-stanzas'/>
 * [<text xmlns='...xmpp-stanzas' xml:lang='en'>TEXT</text>]</error>.
 * err_type is "cancel", "wait", "modify", "auth" or "continue"; text and by
 * may be NULL.  The original payload is not echoed.
 * Returns false and appends nothing when st must not be answered: it is not
 * a message, presence or iq, its type is error (RFC 6120 §8.3.1 rule 8), or
 * it is an iq result (§8.2.3).
 */
bool stanza_bounce(struct vbuf *out, const struct xs_stanza *st,
    const char *err_type, const char *condition, const char *text,
    const char *by);

/*
 * Append a stream error and the end of the stream:
 * <stream:error><CONDITION xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>
 * [<text xmlns=... xml:lang='en'>TEXT</text>]</stream:error></stream:stream>.
 * text may be NULL.  condition is normally xs_condition() or one of
 * not-authorized, host-unknown, conflict, invalid-from, ...
 */
void stream_error(struct vbuf *out, const char *condition, const char *text);

/*
 * Is the domainpart of jid (RFC 7622: after the first '@' that precedes the
 * first '/', before that '/') exactly domain[0..dlen)?  ASCII letters compare
 * case-insensitively, as DNS names do.  "d", "u@d", "u@d/r" and "d/r" are
 * inside domain d; "x.d" (a subdomain) and "d.x" are not.  jid NULL is
 * false.  Used to check the from of stanzas written by a real component.
 */
bool jid_domain_is(const char *jid, const char *domain, size_t dlen);

/*
 * Would a server cut the stream over st's addresses if a component wrote
 * it?  A component's from must be a JID (RFC 7622, jid.h) inside domain
 * d[0..dlen), and its to a JID: Prosody and ejabberd close the whole
 * component stream with invalid-from otherwise.  An absent from or to is
 * fine.  Returns true when st may go; otherwise sets the stanza error to
 * answer with — *etype "modify" and *cond "jid-malformed" for a JID that
 * is not one ("from '@d' is not a valid JID: localpart is empty"),
 * "cancel"/"not-allowed" for a from outside the domain ("from 'x@e' is
 * not in domain d") — and appends that text to *text (the caller's).
 */
bool stanza_addresses_ok(const struct xs_stanza *st, const char *domain,
    size_t dlen, const char **etype, const char **cond, struct vbuf *text);

/*
 * XEP-0114 stream headers (with an XML declaration in front).  The client
 * side (what a component sends) carries to=TO; the server side (what the
 * runtime sends to a real component) carries from=FROM and the stream id.
 * Both declare xmlns='jabber:component:accept' and the stream prefix.
 */
void stream_header_client(struct vbuf *out, const char *to);
void stream_header_server(struct vbuf *out, const char *from, const char *id);

/*
 * Fills st from a stanza's raw bytes without the XML parser: the element
 * name (without a prefix) and the from, to, id and type attributes of its
 * start tag, unescaped (the five predefined entities and character
 * references), which is all that queueing and bouncing need.  Used on
 * STANZA frames from a peer: their bytes were checked by the ingress
 * runtime's parser (xmlstream.h), so they are well-formed; on such input
 * the results equal that parser's (tests/unit/runtime/test_stanza_peek.c
 * compares them over the fuzz corpus).  st->ns and st->text are "", and
 * the child fields NULL.  The strings live in b, which is cleared first:
 * they stay valid until b changes.  from, when flen > 0 (the frame carried
 * the sender's JID), is taken as st->from and the start tag's own from
 * attribute is not looked for.
 */
void stanza_peek(struct xs_stanza *st, const char *raw, size_t len,
    const char *from, size_t flen, struct vbuf *b);

#endif /* VCOMP_STANZA_H */
