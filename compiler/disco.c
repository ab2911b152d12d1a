/*
 * disco.c — the disco#info <query/> a component's runtime answers with,
 * pre-rendered at compile time.
 *
 * The element is built with libxml2's tree API and serialised by libxml2,
 * so attribute values are escaped by the library that also parses XML
 * (< & " and the white-space characters become references); nothing here
 * escapes by hand.  The output is one line, without an XML declaration,
 * with attributes in a fixed order and children sorted, so the same
 * component always gives the same bytes (the generated C is diffed in CI).
 *
 * Identities are sorted as XEP-0115 sorts them (category, type, xml:lang,
 * then name) and features byte-wise, so the response lists them in the
 * order its caps hash was computed in.  XEP-0030 sets no order on the wire;
 * a stable one is ours.
 *
 * Memory: disco_features() returns arena memory.  disco_render_query()
 * returns a malloc'ed string the caller frees; the libxml2 document and
 * buffer it uses are freed before it returns.  disco_query() keeps an
 * arena copy in the component's memo and returns that.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "vcompc.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
disco_features(const struct ir_component *c, size_t *n)
{
	const char **f;
	size_t k = 0;

	f = xmalloc((c->nfeatures + 1) * sizeof *f);
	/* XEP-0030 §3.1: every entity supports disco#info. */
	f[k++] = VC_NS_DISCO_INFO;
	for (size_t i = 0; i < c->nfeatures; i++)
		if (c->features[i].s != NULL)
			f[k++] = c->features[i].s;
	qsort(f, k, sizeof *f, cmp_str);
	/* Drop repeats, disco#info given by the spec among them. */
	size_t out = 0;
	for (size_t i = 0; i < k; i++)
		if (out == 0 || strcmp(f[out - 1], f[i]) != 0)
			f[out++] = f[i];
	*n = out;
	return f;
}

static const char *
str_or_empty(const struct ir_str *s)
{
	return s->s != NULL ? s->s : "";
}

static void *
check_alloc(void *p)
{
	if (p == NULL)
		oom();
	return p;
}

static void
set_attr(xmlNodePtr n, const char *name, const char *value)
{
	check_alloc(xmlNewProp(n, (const xmlChar *)name,
			       (const xmlChar *)value));
}

char *
disco_render_query(const struct ir_component *c, bool with_node)
{
	const struct ir_identity **ids;
	const char **features;
	size_t nfeatures;
	xmlDocPtr doc;
	xmlNodePtr query, child;
	xmlBufferPtr xb;
	char *out;

	/*
	 * A document, not a lone node: xml:lang resolves to the XML namespace
	 * the document holds (no stray xmlns:xml declaration), and with the
	 * document's encoding set to UTF-8 libxml2 writes non-ASCII
	 * characters as they are instead of as &#x...; references.
	 */
	doc = check_alloc(xmlNewDoc((const xmlChar *)"1.0"));
	doc->encoding = check_alloc(xmlStrdup((const xmlChar *)"UTF-8"));
	query = check_alloc(xmlNewDocNode(doc, NULL, (const xmlChar *)"query",
					  NULL));
	xmlDocSetRootElement(doc, query);
	xmlSetNs(query, check_alloc(xmlNewNs(query,
	    (const xmlChar *)VC_NS_DISCO_INFO, NULL)));
	if (with_node && c->disco_node.s != NULL && c->disco_node.s[0] != '\0')
		set_attr(query, "node", c->disco_node.s);

	ids = xmalloc((c->nids ? c->nids : 1) * sizeof *ids);
	for (size_t i = 0; i < c->nids; i++)
		ids[i] = &c->ids[i];
	qsort(ids, c->nids, sizeof *ids, caps_identity_cmp);
	for (size_t i = 0; i < c->nids; i++) {
		child = check_alloc(xmlNewChild(query, NULL,
		    (const xmlChar *)"identity", NULL));
		set_attr(child, "category", str_or_empty(&ids[i]->category));
		set_attr(child, "type", str_or_empty(&ids[i]->type));
		if (ids[i]->name.s != NULL)
			set_attr(child, "name", ids[i]->name.s);
		if (ids[i]->lang.s != NULL && ids[i]->lang.s[0] != '\0')
			xmlNodeSetLang(child, (const xmlChar *)ids[i]->lang.s);
	}

	features = disco_features(c, &nfeatures);
	for (size_t i = 0; i < nfeatures; i++) {
		child = check_alloc(xmlNewChild(query, NULL,
		    (const xmlChar *)"feature", NULL));
		set_attr(child, "var", features[i]);
	}

	xb = check_alloc(xmlBufferCreate());
	if (xmlNodeDump(xb, doc, query, 0, 0) < 0)
		die(1, "cannot serialise the disco#info response of '%s'",
		    str_or_empty(&c->domain));
	out = check_alloc(strdup((const char *)xmlBufferContent(xb)));
	xmlBufferFree(xb);
	xmlFreeDoc(doc);
	return out;
}

const char *
disco_query(struct ir_component *c, bool with_node, size_t *len)
{
	int k = with_node ? 1 : 0;

	if (c->query_memo[k] == NULL) {
		char *q = disco_render_query(c, with_node);
		c->query_memo_len[k] = strlen(q);
		c->query_memo[k] = xstrndup(q, c->query_memo_len[k]);
		free(q);
	}
	*len = c->query_memo_len[k];
	return c->query_memo[k];
}

size_t
disco_reply_size(const struct ir_component *c, size_t query_len)
{
	/* runtime/stanza.c, disco_reply(): <iq type='result' id='ID'
	 * to='FROM' from='DOMAIN'>QUERY</iq>, here with ID and FROM empty.
	 * The domain needs no escaping: domain-syntax allows no ' < &. */
	static const char head[] = "<iq type='result' id='' to='' from='";
	static const char tail[] = "'></iq>";

	return sizeof head - 1 + strlen(str_or_empty(&c->domain)) +
	    sizeof tail - 1 + query_len;
}
