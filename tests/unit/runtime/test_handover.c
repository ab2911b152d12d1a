/*
 * test_handover.c — the in-place upgrade's state format (runtime/
 * handover.c): a round trip keeps every field, and a truncated, garbled,
 * other-version or other-node state is refused with a reason, never
 * half-read.  Also the parser's part of a handover (xmlstream.c): the
 * saved header and unreported bytes continue a stream in a fresh parser.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "handover.h"
#include "xmlstream.h"

static char *
dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	memcpy(p, s, n);
	return p;
}

/* A state with one of everything. */
static void
sample(struct handover *h)
{
	struct ho_listener *l;
	struct ho_conn *c;
	struct ho_stanza *s;
	struct ho_seen *u;

	memset(h, 0, sizeof *h);
	h->node = dup("node1");
	l = handover_add_listener(h);
	l->kind = HO_L_HOME;
	l->fd = 7;
	l = handover_add_listener(h);
	l->kind = HO_L_PEER;
	l->fd = 8;
	c = handover_add_conn(h);
	c->kind = HO_C_UPSTREAM;
	c->fd = 9;
	c->comp_id = 0xdeadbeef;
	c->domain = dup("muc.example.test");
	vbuf_addstr(&c->hdr, "<stream:stream xmlns='jabber:component:accept' "
	    "xmlns:stream='http://etherx.jabber.org/streams' id='x'>");
	vbuf_addstr(&c->in, "<message to='a@b'><bo");
	vbuf_addstr(&c->out, "<presence/>");
	s = handover_add_stanza(h);
	s->queue = HO_Q_NODE;
	s->replayed = 1;
	s->comp_id = 0xdeadbeef;
	s->node = dup("node2");
	s->age_ms = 1234;
	vbuf_addstr(&s->raw, "<message to='a@b' id='m1'/>");
	s->name = dup("message");
	s->to = dup("a@b");
	s->id = dup("m1");
	u = handover_add_seen(h);
	u->comp_id = 0xdeadbeef;
	u->jid = dup("bob@example.test/r");
}

static void
test_round_trip(void)
{
	struct handover a, b;
	struct vbuf w = { 0 };
	char why[128];

	sample(&a);
	handover_write(&a, &w);
	CU_ASSERT_EQUAL_FATAL(handover_read(&b, w.p, w.len, "node1", why,
	    sizeof why), 0);
	CU_ASSERT_STRING_EQUAL(b.node, "node1");
	CU_ASSERT_EQUAL(b.nlisteners, 2);
	CU_ASSERT_EQUAL(b.listeners[1].kind, HO_L_PEER);
	CU_ASSERT_EQUAL(b.listeners[1].fd, 8);
	CU_ASSERT_EQUAL_FATAL(b.nconns, 1);
	CU_ASSERT_EQUAL(b.conns[0].kind, HO_C_UPSTREAM);
	CU_ASSERT_EQUAL(b.conns[0].fd, 9);
	CU_ASSERT_EQUAL(b.conns[0].comp_id, 0xdeadbeef);
	CU_ASSERT_STRING_EQUAL(b.conns[0].domain, "muc.example.test");
	CU_ASSERT(b.conns[0].hdr.len == a.conns[0].hdr.len &&
	    memcmp(b.conns[0].hdr.p, a.conns[0].hdr.p, a.conns[0].hdr.len) == 0);
	CU_ASSERT(b.conns[0].in.len == 21 &&
	    memcmp(b.conns[0].in.p, "<message to='a@b'><bo", 21) == 0);
	CU_ASSERT(b.conns[0].out.len == 11);
	CU_ASSERT_EQUAL_FATAL(b.nstanzas, 1);
	CU_ASSERT_EQUAL(b.stanzas[0].queue, HO_Q_NODE);
	CU_ASSERT_EQUAL(b.stanzas[0].replayed, 1);
	CU_ASSERT_STRING_EQUAL(b.stanzas[0].node, "node2");
	CU_ASSERT_EQUAL(b.stanzas[0].age_ms, 1234);
	CU_ASSERT_STRING_EQUAL(b.stanzas[0].name, "message");
	CU_ASSERT_PTR_NULL(b.stanzas[0].from);
	CU_ASSERT_PTR_NULL(b.stanzas[0].type);
	CU_ASSERT_STRING_EQUAL(b.stanzas[0].id, "m1");
	CU_ASSERT_EQUAL_FATAL(b.nseen, 1);
	CU_ASSERT_STRING_EQUAL(b.seen[0].jid, "bob@example.test/r");
	handover_free(&a);
	handover_free(&b);
	vbuf_free(&w);
}

static void
test_refusals(void)
{
	struct handover a, b;
	struct vbuf w = { 0 };
	char why[128], *g;

	sample(&a);
	handover_write(&a, &w);
	handover_free(&a);
	/* Every truncation is refused. */
	for (size_t n = 0; n < w.len; n++) {
		CU_ASSERT_EQUAL(handover_read(&b, w.p, n, "node1", why,
		    sizeof why), -1);
		CU_ASSERT_PTR_NULL(b.conns);
	}
	/* Every single flipped bit is refused (the checksum, or the
	 * version or magic before it). */
	g = malloc(w.len);
	for (size_t i = 0; i < w.len; i++) {
		memcpy(g, w.p, w.len);
		g[i] ^= 0x10;
		CU_ASSERT_EQUAL(handover_read(&b, g, w.len, "node1", why,
		    sizeof why), -1);
	}
	/* Another version. */
	memcpy(g, w.p, w.len);
	g[4] = HANDOVER_VERSION + 1;
	CU_ASSERT_EQUAL(handover_read(&b, g, w.len, "node1", why, sizeof why),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "version"));
	free(g);
	/* Another node's state. */
	CU_ASSERT_EQUAL(handover_read(&b, w.p, w.len, "node2", why,
	    sizeof why), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "node1"));
	CU_ASSERT_PTR_NULL(b.node);
	/* Not a state at all. */
	CU_ASSERT_EQUAL(handover_read(&b, "garbage garbage garbage", 23,
	    "node1", why, sizeof why), -1);
	vbuf_free(&w);
}

/* A session without a stream header costs only itself: it is skipped
 * (counted), the rest of the state is read. */
static void
test_headerless_session_dropped(void)
{
	struct handover a, b;
	struct vbuf w = { 0 };
	struct ho_conn *c;
	char why[128];

	sample(&a);
	c = handover_add_conn(&a);
	c->kind = HO_C_HOME;
	c->fd = 10;
	c->comp_id = 7;
	c->domain = dup("x.example.test");
	handover_write(&a, &w);
	CU_ASSERT_EQUAL_FATAL(handover_read(&b, w.p, w.len, "node1", why,
	    sizeof why), 0);
	CU_ASSERT_EQUAL(b.nconns, 1);
	CU_ASSERT_EQUAL(b.conns[0].fd, 9);
	CU_ASSERT_EQUAL(b.ndropped, 1);
	CU_ASSERT_EQUAL(b.nstanzas, 1);
	handover_free(&a);
	handover_free(&b);
	vbuf_free(&w);
}

/* The limits: a list longer than the reader takes is refused before it
 * is allocated, and the writer knows it in advance (handover_fits). */
static void
test_limits(void)
{
	struct handover a, b;
	struct vbuf w = { 0 };
	char why[160];

	sample(&a);
	CU_ASSERT_TRUE(handover_fits(&a, 1000, why, sizeof why));
	CU_ASSERT_FALSE(handover_fits(&a, (size_t)HANDOVER_MAX_BYTES + 1, why,
	    sizeof why));
	while (a.nlisteners <= HANDOVER_MAX_LISTENERS) {
		struct ho_listener *l = handover_add_listener(&a);

		l->kind = HO_L_HOME;
		l->fd = 100 + (int)a.nlisteners;
	}
	CU_ASSERT_FALSE(handover_fits(&a, 1000, why, sizeof why));
	handover_write(&a, &w);
	CU_ASSERT_EQUAL(handover_read(&b, w.p, w.len, "node1", why,
	    sizeof why), -1);
	CU_ASSERT_STRING_EQUAL(why, "too many entries");
	handover_free(&a);
	vbuf_free(&w);
}

/* What a parser reports, as text: "S:name;" per stanza. */
static void
on_stanza(void *ud, const struct xs_stanza *st)
{
	vbuf_addstr(ud, "S:");
	vbuf_add(ud, st->raw, st->raw_len);
	vbuf_addstr(ud, ";");
}

static void
on_open(void *ud, const struct xs_attr *a, size_t n)
{
	vbuf_addstr(ud, "OPEN;");
}

static void
test_parser_continues(void)
{
	static const char hdr[] = "<?xml version='1.0'?><stream:stream "
	    "xmlns='jabber:component:accept' xmlns:x='urn:x' "
	    "xmlns:stream='http://etherx.jabber.org/streams' id='abc'>";
	static const char rest[] = "<message id='1'/> <iq id='2'><x:q/></iq>"
	    "<message id='3'><bo";
	static const char more[] = "dy>hi</body></message>";
	struct xs_callbacks cb = { .open = on_open, .stanza = on_stanza };
	struct vbuf got1 = { 0 }, got2 = { 0 };
	struct xs_parser *p1 = xs_new(&cb, &got1, 65536), *p2;
	const char *h, *pend;
	size_t hn, pn;

	CU_ASSERT_EQUAL(xs_feed(p1, hdr, sizeof hdr - 1), XS_OK);
	CU_ASSERT_EQUAL(xs_feed(p1, rest, sizeof rest - 1), XS_OK);
	h = xs_header(p1, &hn);
	pend = xs_pending(p1, &pn);
	CU_ASSERT(hn > 0 && memcmp(h, "<stream:stream ", 15) == 0 &&
	    h[hn - 1] == '>');
	CU_ASSERT(pn == 19 && memcmp(pend, "<message id='3'><bo", 19) == 0);
	/* The next image's parser: primed silently, then the remainder. */
	p2 = xs_new(&cb, &got2, 65536);
	CU_ASSERT_EQUAL(xs_prime(p2, h, hn), XS_OK);
	CU_ASSERT_EQUAL(got2.len, 0);
	CU_ASSERT_EQUAL(xs_feed(p2, pend, pn), XS_OK);
	CU_ASSERT_EQUAL(xs_feed(p2, more, sizeof more - 1), XS_OK);
	vbuf_addch(&got2, '\0');
	CU_ASSERT_STRING_EQUAL(got2.p,
	    "S:<message id='3'><body>hi</body></message>;");
	/* A prefix the header declared still applies (re-declared). */
	CU_ASSERT_PTR_NOT_NULL(strstr(got1.p, "xmlns:x='urn:x'"));
	/* Not a stream header: refused. */
	xs_free(p2);
	p2 = xs_new(&cb, &got2, 65536);
	CU_ASSERT_NOT_EQUAL(xs_prime(p2, "<message/>", 10), XS_OK);
	/* A header and a stanza after it: refused, not swallowed. */
	xs_free(p2);
	p2 = xs_new(&cb, &got2, 65536);
	{
		struct vbuf two = { 0 };

		vbuf_add(&two, h, hn);
		vbuf_addstr(&two, "<message id='9'/>");
		CU_ASSERT_NOT_EQUAL(xs_prime(p2, two.p, two.len), XS_OK);
		vbuf_free(&two);
	}
	xs_free(p1);
	xs_free(p2);
	vbuf_free(&got1);
	vbuf_free(&got2);
}

UNIT_SUITE(runtime_handover)
{
	UNIT_TEST(suite, test_round_trip);
	UNIT_TEST(suite, test_refusals);
	UNIT_TEST(suite, test_limits);
	UNIT_TEST(suite, test_headerless_session_dropped);
	UNIT_TEST(suite, test_parser_continues);
}
