/*
 * xmlstream.h — the XMPP stream parser: bytes in, three callbacks out.
 *
 * Modelled on libstrophe's parser.h.  The parser knows nothing about
 * sockets: the connection code feeds it whatever it read, in any chunking,
 * and gets told when the stream header arrived, when each complete top-level
 * element (a "stanza": message, presence, iq, handshake, stream:error, ...)
 * arrived, and when the stream was closed.  It is built on expat, with a
 * fast path of its own for simple stanzas (expat parses all the rest); see
 * docs/runtime-parser.md for why and for the exact rules.
 *
 * What the parser enforces, so that callers need not:
 *   - well-formed XML in UTF-8 (XS_ERR_XML);
 *   - restricted XML, RFC 6120 §11.1: no DOCTYPE/DTD, no entity
 *     declarations, no comments, no processing instructions (a leading
 *     <?xml ...?> declaration is allowed), and no entity references other
 *     than the five predefined ones (XS_ERR_RESTRICTED);
 *   - the stream header is {http://etherx.jabber.org/streams}stream
 *     (XS_ERR_NS);
 *   - limits: a top-level element larger than max_stanza bytes, deeper than
 *     XS_MAX_DEPTH, or with more than XS_MAX_ATTRS attributes on one element
 *     is a policy violation (XS_ERR_POLICY).  Memory held for the current
 *     element is bounded by max_stanza plus the chunk being fed, even when
 *     the element never ends.
 *   - non-whitespace character data between stanzas is XS_ERR_XML;
 *     whitespace there (keepalives, RFC 6120 §4.6.1) is ignored.
 *
 * What it does not check: the stanza namespace (reported in st->ns; it is
 * jabber:component:accept on XEP-0114 streams and something else on peer
 * links), stanza names, or required attributes.
 *
 * Errors are sticky: the first error is returned by xs_feed and by every
 * later xs_feed until xs_reset.  The caller then sends the stream error
 * named by xs_condition() and closes the connection.
 *
 * Ownership: xs_new allocates; xs_free releases everything.  Every pointer
 * handed to a callback points into the parser and is valid only until the
 * callback returns; copy what you keep.
 */
#ifndef VCOMP_XMLSTREAM_H
#define VCOMP_XMLSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#define XS_NS_STREAMS	"http://etherx.jabber.org/streams"
#define XS_NS_STREAM_ERRORS "urn:ietf:params:xml:ns:xmpp-streams"

#define XS_MAX_DEPTH	64	/* open elements, counting the stream header */
#define XS_MAX_ATTRS	64	/* attributes (and xmlns declarations) on one element */
#define XS_MAX_TEXT	1024	/* bytes kept of st->text and st->err_text */

struct xs_parser;

/* One attribute of the stream header.  name is spelled as in the document
 * ("to", "xml:lang", "xmlns", "xmlns:stream"); value is unescaped. */
struct xs_attr {
	const char *name;
	const char *value;
};

/* A complete top-level element.  Valid only during the stanza callback. */
struct xs_stanza {
	/* The element's bytes exactly as received, from its '<' to the end of
	 * its end tag (or of "/>"), with one exception: when it uses a prefix
	 * that only the stream header declares (other than "xml", and
	 * "stream" bound to XS_NS_STREAMS), that declaration is added after
	 * its element name (" xmlns:x='urn:x'", in header order), so the
	 * bytes are well-formed on their own in any stream that binds the
	 * default namespace and "stream" as the runtime's headers do.  raw_len
	 * may then exceed max_stanza by the declarations' size.  The default
	 * xmlns is never added. */
	const char *raw;
	size_t raw_len;
	const char *name;	/* local name: "message", "iq", "handshake", "error" */
	const char *ns;		/* namespace URI; "" when the element has none */
	/* Unprefixed attributes of the element, unescaped; NULL if absent. */
	const char *from, *to, *id, *type;
	/* First child element: its local name, namespace URI ("" if none) and
	 * unprefixed node attribute; all NULL when there is no child (and
	 * child_node NULL when the child has no node attribute). */
	const char *child_name, *child_ns, *child_node;
	/* Character data directly inside the element (not inside children),
	 * leading and trailing XML whitespace trimmed, at most XS_MAX_TEXT
	 * bytes (longer text is cut); "" when there is none. */
	const char *text;
	/* Only for {XS_NS_STREAMS}error, otherwise NULL: the local name of the
	 * first child in XS_NS_STREAM_ERRORS other than <text/> (the defined
	 * condition), and the trimmed, bounded content of <text/> (NULL when
	 * there is no <text/>). */
	const char *err_condition, *err_text;
};

struct xs_callbacks {
	/* The stream header <stream:stream ...> arrived.  attrs lists its
	 * namespace declarations first, then its other attributes, each
	 * group in document order. */
	void (*open)(void *ud, const struct xs_attr *attrs, size_t nattrs);
	/* A complete top-level element arrived. */
	void (*stanza)(void *ud, const struct xs_stanza *st);
	/* </stream:stream> arrived.  Anything after it but whitespace is an
	 * XS_ERR_XML error. */
	void (*close)(void *ud);
};

enum xs_status {
	XS_OK = 0,
	XS_ERR_XML,		/* not-well-formed */
	XS_ERR_RESTRICTED,	/* restricted-xml */
	XS_ERR_POLICY,		/* policy-violation: size, depth or attribute limit */
	XS_ERR_NS,		/* invalid-namespace: not a stream header */
	XS_ERR_STOPPED,		/* xs_stop() was called */
};

/*
 * Create a parser.  cb is copied; any callback may be NULL.  ud is passed to
 * every callback.  max_stanza bounds the raw size of one top-level element
 * (and of the stream header); it must be at least 1.  Never NULL: out of
 * memory aborts (buf.h).
 */
struct xs_parser *xs_new(const struct xs_callbacks *cb, void *ud,
    size_t max_stanza);

/*
 * Parse len more bytes of the stream.  Callbacks run from inside this call.
 * Returns XS_OK, or the first error of this stream; once an error happened
 * every later call returns it again without parsing.  Chunk boundaries never
 * change what is reported.
 */
enum xs_status xs_feed(struct xs_parser *p, const char *data, size_t len);

/*
 * The RFC 6120 stream error condition for a status: "not-well-formed",
 * "restricted-xml", "policy-violation", "invalid-namespace"; NULL for XS_OK
 * and XS_ERR_STOPPED (no stream error is implied by stopping).
 */
const char *xs_condition(enum xs_status s);

/*
 * Stop delivering callbacks.  Meant to be called from a callback (e.g. after
 * a failed handshake): the rest of the current chunk is not parsed and
 * xs_feed returns XS_ERR_STOPPED, now and later, until xs_reset.
 */
void xs_stop(struct xs_parser *p);

/*
 * Forget everything and expect a new stream header, keeping callbacks, ud
 * and max_stanza.  Must not be called from inside a callback (call xs_stop
 * there and xs_reset after xs_feed returned).
 */
void xs_reset(struct xs_parser *p);

/*
 * The fast path (xmlstream.c) checks and reports simple stanzas without
 * expat; on by default.  Off, expat parses every byte: the reference the
 * tests and tests/fuzz/fuzz_xmlstream_fast.c compare it with.  What is
 * reported is the same either way.
 */
void xs_set_fastpath(struct xs_parser *p, bool on);

/* Release the parser.  NULL is allowed.  Not from inside a callback. */
void xs_free(struct xs_parser *p);

/* Bytes of the stream the parser holds right now (the unfinished
 * top-level element or tag); for statistics and for the tests that check
 * the memory bound. */
size_t xs_buffered(const struct xs_parser *p);

/*
 * For an in-place upgrade (docs/runtime.md, "Upgrading in place"): the
 * stream header's start tag exactly as received (len 0 before it
 * arrived), and the bytes fed that no callback has reported yet (the
 * unfinished element and what follows it; len 0 after an error).  Both
 * point into the parser and are valid until the next xs_feed.
 */
const char *xs_header(const struct xs_parser *p, size_t *len);
const char *xs_pending(const struct xs_parser *p, size_t *len);
/*
 * Feeds a fresh parser the start tag another parser saw (xs_header),
 * with every callback suppressed, so that it continues that stream: the
 * namespaces and prefixes it declared apply to what is fed next.  Not
 * XS_OK when hdr is not exactly one valid stream header and nothing
 * else (a stanza after it would be swallowed unreported).
 */
enum xs_status xs_prime(struct xs_parser *p, const char *hdr, size_t len);

/* Value of the attribute spelled name in attrs (as passed to the open
 * callback), or NULL. */
const char *xs_attr_get(const struct xs_attr *attrs, size_t nattrs,
    const char *name);

#endif /* VCOMP_XMLSTREAM_H */
