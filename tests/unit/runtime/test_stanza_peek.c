/*
 * test_stanza_peek.c — stanza_peek() (runtime/stanza.c), the scanner that
 * reads a STANZA frame's element name and from/to/id/type without the XML
 * parser, checked against the parser itself: every top-level element that
 * xmlstream.c reports for the fuzz corpus of the stream parser
 * (tests/fuzz/corpus/fuzz_xmlstream, each file a chunking byte and then
 * the stream, as tests/fuzz/fuzz_xmlstream.c reads it), and for a few streams written here
 * for the corners (quotes, whitespace around '=', entity and character
 * references, line ends inside values, prefixed attributes), must peek to
 * the same name and attributes that the parser reported.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stanza.h"
#include "xmlstream.h"
#include "../unit.h"

#define CORPUS "tests/fuzz/corpus/fuzz_xmlstream"

struct cmp {
	int stanzas;        /* elements compared */
	int mismatches;
	struct vbuf fields;
};

static int
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
report(const char *what, const struct xs_stanza *st, const char *want,
    const char *got)
{
	fprintf(stderr, "\n    peek differs on %s of <%.*s>: parser '%s', "
	    "peek '%s'", what, (int)(st->raw_len > 120 ? 120 : st->raw_len),
	    st->raw, want ? want : "(absent)", got ? got : "(absent)");
}

static void
on_stanza(void *ud, const struct xs_stanza *st)
{
	struct cmp *c = ud;
	struct xs_stanza p;
	const char *jid = "frame@example.test/sender";

	c->stanzas++;
	stanza_peek(&p, st->raw, st->raw_len, NULL, 0, &c->fields);
	if (!same(p.name, st->name)) {
		report("the name", st, st->name, p.name);
		c->mismatches++;
	}
	if (!same(p.from, st->from)) {
		report("from", st, st->from, p.from);
		c->mismatches++;
	}
	if (!same(p.to, st->to)) {
		report("to", st, st->to, p.to);
		c->mismatches++;
	}
	if (!same(p.id, st->id)) {
		report("id", st, st->id, p.id);
		c->mismatches++;
	}
	if (!same(p.type, st->type)) {
		report("type", st, st->type, p.type);
		c->mismatches++;
	}
	if (p.raw != st->raw || p.raw_len != st->raw_len)
		c->mismatches++;
	/* A from carried by the frame replaces the start tag's. */
	stanza_peek(&p, st->raw, st->raw_len, jid, strlen(jid), &c->fields);
	if (!same(p.from, jid) || !same(p.to, st->to) || !same(p.id, st->id)) {
		report("from (frame)", st, jid, p.from);
		c->mismatches++;
	}
}

static const struct xs_callbacks cb = { .stanza = on_stanza };

/* Feeds buf to a fresh parser in one piece; every element it reports is
 * compared.  Parse errors only end the stream: the elements before the
 * error still count. */
static void
run_stream(struct cmp *c, const char *buf, size_t len)
{
	struct xs_parser *xp = xs_new(&cb, c, 65536);

	xs_feed(xp, buf, len);
	xs_free(xp);
}

static void
test_corpus(void)
{
	DIR *d = opendir(CORPUS);
	struct dirent *de;
	struct cmp c = { 0 };
	int files = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)) != NULL) {
		char path[512], *buf;
		FILE *f;
		long n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", CORPUS, de->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		buf = malloc((size_t)n + 1);
		CU_ASSERT_FATAL(buf != NULL &&
		    fread(buf, 1, (size_t)n, f) == (size_t)n);
		fclose(f);
		/* The fuzz target reads its first byte as the chunking
		 * seed; the stream is the rest. */
		if (n > 1)
			run_stream(&c, buf + 1, (size_t)n - 1);
		free(buf);
		files++;
	}
	closedir(d);
	vbuf_free(&c.fields);
	/* The corpus has seven streams with stanzas in most of them; a
	 * corpus that yields nothing would make this test vacuous. */
	CU_ASSERT(files >= 5);
	printf("\n    peek: %d files, %d elements compared ", files,
	    c.stanzas);
	CU_ASSERT(c.stanzas >= 3);
	CU_ASSERT_EQUAL(c.mismatches, 0);
}

static void
test_corners(void)
{
	static const char *const bodies[] = {
		"<message from=\"a@b/c\" to='d@e' id=\"x'y\" type='chat'/>",
		"<iq  type = 'get'\n\tid =\"1\" to\n='c.example'><q/></iq>",
		"<presence to='a&amp;b@c/&lt;r&gt;' id='&#65;&#x42;&#x263A;"
		    "&#x1F600;&quot;&apos;'/>",
		"<message id='l\r\nf' to='t\tab' from='n\nl'/>",
		"<message xmlns:p='urn:x' p:from='no' p:to='no' from='yes'/>",
		"<message id='a>b' to='c/d'><body>x</body></message>",
		"<message id='1' id2='2' type='error'><error/></message>",
		"<p:iq xmlns:p='jabber:client' type='set' id='7'/>",
		"<presence/>",
		"<message to=''/>",
	};
	struct cmp c = { 0 };

	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		struct vbuf s = { 0 };

		vbuf_addstr(&s, "<stream:stream xmlns='jabber:component:"
		    "accept' xmlns:stream='http://etherx.jabber.org/streams'>");
		vbuf_addstr(&s, bodies[i]);
		run_stream(&c, s.p, s.len);
		vbuf_free(&s);
	}
	vbuf_free(&c.fields);
	CU_ASSERT_EQUAL(c.stanzas, (int)(sizeof bodies / sizeof bodies[0]));
	CU_ASSERT_EQUAL(c.mismatches, 0);
}

UNIT_SUITE(peek)
{
	UNIT_TEST(suite, test_corpus);
	UNIT_TEST(suite, test_corners);
}
