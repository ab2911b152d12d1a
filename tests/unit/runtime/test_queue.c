/*
 * test_queue.c — the per-destination queue and the bounce rules
 * (runtime/queue.c), and the reconnect backoff (runtime/upstream.c).
 *
 * Time is a plain number passed in (a fake clock), so expiry is tested
 * exactly at and around its boundary without sleeping.  Stanzas are built
 * by hand as the stream parser would report them.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "vcrt.h"

/* A stanza as xmlstream.c hands it over: raw bytes plus attributes. */
static struct xs_stanza
mk(const char *raw, const char *name, const char *type, const char *id)
{
	struct xs_stanza st;

	memset(&st, 0, sizeof st);
	st.raw = raw;
	st.raw_len = strlen(raw);
	st.name = name;
	st.ns = "jabber:component:accept";
	st.from = "alice@example.test/r";
	st.to = "room@muc.example.test";
	st.id = id;
	st.type = type;
	st.text = "";
	return st;
}

#define MSG "<message from='alice@example.test/r' " \
	"to='room@muc.example.test' id='m1'><body>hi</body></message>"

/* What an entry for st should cost, worked out from the strings: the
 * header, the raw bytes and each present field, each NUL-terminated. */
static size_t
entry_cost(const struct xs_stanza *st)
{
	const char *f[5] = { st->name, st->from, st->to, st->id, st->type };
	size_t n = sizeof(struct qent) + st->raw_len + 1;

	for (int i = 0; i < 5; i++)
		if (f[i] != NULL)
			n += strlen(f[i]) + 1;
	return n;
}

static void
test_fifo_and_bytes(void)
{
	struct queue q = { 0 };
	struct xs_stanza a = mk(MSG, "message", NULL, "m1");
	struct xs_stanza b = mk("<presence/>", "presence", NULL, NULL);
	size_t ca = entry_cost(&a), cb = entry_cost(&b);
	struct qent *e;

	/* MSG is 97 bytes; name, from, to, id add 8 + 21 + 22 + 3, the
	 * raw copy's NUL 1: 152 plus the header. */
	CU_ASSERT_EQUAL(ca, sizeof(struct qent) + 152);
	CU_ASSERT_TRUE(queue_push(&q, &a, 10, 1000));
	CU_ASSERT_TRUE(queue_push(&q, &b, 11, 1000));
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(q.bytes, ca + cb);
	CU_ASSERT_EQUAL(qent_size(q.head), ca);
	CU_ASSERT_EQUAL(qent_size(q.tail), cb);
	/* A stanza whose entry would take the queue over its byte limit is
	 * refused and the queue is unchanged — even when its raw bytes
	 * alone would fit. */
	CU_ASSERT_FALSE(queue_push(&q, &a, 12, q.bytes + ca - 1));
	CU_ASSERT_FALSE(queue_push(&q, &a, 12, q.bytes + strlen(MSG)));
	CU_ASSERT_EQUAL(q.count, 2);
	CU_ASSERT_EQUAL(q.bytes, ca + cb);
	/* Exactly at the limit fits. */
	CU_ASSERT_TRUE(queue_push(&q, &a, 12, q.bytes + ca));
	CU_ASSERT_EQUAL(q.count, 3);
	CU_ASSERT_EQUAL(q.bytes, 2 * ca + cb);

	e = queue_pop(&q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->len, strlen(MSG));
	CU_ASSERT_EQUAL(memcmp(e->data, MSG, e->len), 0);
	CU_ASSERT_EQUAL(e->t, 10);
	CU_ASSERT_EQUAL(q.bytes, ca + cb);
	/* Put back at the front: it comes out first again, counted again. */
	queue_unpop(&q, e);
	CU_ASSERT_EQUAL(q.count, 3);
	CU_ASSERT_EQUAL(q.bytes, 2 * ca + cb);
	e = queue_pop(&q);
	CU_ASSERT_EQUAL(e->t, 10);
	free(e);
	e = queue_pop(&q);
	CU_ASSERT_EQUAL(e->len, strlen("<presence/>"));
	free(e);
	e = queue_pop(&q);
	CU_ASSERT_EQUAL(e->t, 12);
	free(e);
	CU_ASSERT_PTR_NULL(queue_pop(&q));
	CU_ASSERT_EQUAL(q.bytes, 0);
	CU_ASSERT_PTR_NULL(q.tail);
}

/*
 * The limit bounds memory: many small stanzas count their overhead, so
 * far fewer fit than their raw bytes suggest; and an empty queue takes one
 * stanza even when its entry alone is over the limit (queue-bytes may
 * equal max-stanza, and a stanza of that size must be able to wait).
 */
static void
test_small_stanzas_count_overhead(void)
{
	struct queue q = { 0 };
	struct xs_stanza p = mk("<presence/>", "presence", NULL, NULL);
	size_t cp = entry_cost(&p), limit = 100 * strlen("<presence/>");
	size_t n = 0;

	while (queue_push(&q, &p, 0, limit))
		n++;
	/* By raw bytes 100 would fit; by memory only limit / cost. */
	CU_ASSERT_EQUAL(n, limit / cp);
	CU_ASSERT(n < 100 / 4);
	CU_ASSERT(q.bytes <= limit);
	CU_ASSERT_EQUAL(q.bytes, n * cp);
	queue_clear(&q);
	CU_ASSERT_EQUAL(q.bytes, 0);
	CU_ASSERT_EQUAL(q.count, 0);

	/* Empty: one entry always fits; a second one does not. */
	CU_ASSERT_TRUE(queue_push(&q, &p, 0, strlen("<presence/>")));
	CU_ASSERT_EQUAL(q.bytes, cp);
	CU_ASSERT_FALSE(queue_push(&q, &p, 0, strlen("<presence/>")));
	CU_ASSERT_EQUAL(q.count, 1);
	queue_clear(&q);
}

static void
test_expiry_fake_clock(void)
{
	struct queue q = { 0 };
	struct xs_stanza a = mk(MSG, "message", NULL, "m1");
	struct qent *e;

	CU_ASSERT_TRUE(queue_push(&q, &a, 1000, 1 << 20));
	CU_ASSERT_TRUE(queue_push(&q, &a, 1500, 1 << 20));
	/* Age 30000 ms: nothing is due one millisecond early. */
	CU_ASSERT_PTR_NULL(queue_pop_expired(&q, 30999, 30000));
	e = queue_pop_expired(&q, 31000, 30000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->t, 1000);
	free(e);
	/* The second is not due yet even though the first was. */
	CU_ASSERT_PTR_NULL(queue_pop_expired(&q, 31000, 30000));
	e = queue_pop_expired(&q, 40000, 30000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->t, 1500);
	free(e);
	CU_ASSERT_PTR_NULL(queue_pop_expired(&q, 99999, 30000));
	queue_clear(&q);
}

static void
test_entry_keeps_attributes(void)
{
	struct queue q = { 0 };
	struct xs_stanza a = mk(MSG, "message", "chat", "m1"), back;
	struct qent *e;

	a.from = NULL;   /* absent attributes stay absent */
	CU_ASSERT_TRUE(queue_push(&q, &a, 0, 1 << 20));
	e = queue_pop(&q);
	qent_stanza(e, &back);
	CU_ASSERT_STRING_EQUAL(back.name, "message");
	CU_ASSERT_STRING_EQUAL(back.type, "chat");
	CU_ASSERT_STRING_EQUAL(back.id, "m1");
	CU_ASSERT_STRING_EQUAL(back.to, "room@muc.example.test");
	CU_ASSERT_PTR_NULL(back.from);
	CU_ASSERT_EQUAL(back.raw_len, strlen(MSG));
	CU_ASSERT_EQUAL(memcmp(back.raw, MSG, back.raw_len), 0);
	free(e);
}

/* Bounces a queued copy of st and returns what was built (malloc'd) or
 * NULL when nothing was. */
static char *
bounce_of(const struct xs_stanza *st, enum bounce_reason r)
{
	struct queue q = { 0 };
	struct xs_stanza back;
	struct vbuf out = { 0 };
	struct qent *e;
	bool built;

	CU_ASSERT_TRUE(queue_push(&q, st, 0, 1 << 20));
	e = queue_pop_expired(&q, 30000, 30000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	qent_stanza(e, &back);
	built = bounce_build(&out, &back, "muc.example.test", r);
	free(e);
	CU_ASSERT_EQUAL(built, out.len > 0);
	if (!built) {
		vbuf_free(&out);
		return NULL;
	}
	return out.p;
}

static void
test_bounce_rules(void)
{
	struct xs_stanza m = mk(MSG, "message", NULL, "m1");
	struct xs_stanza err = mk("<message type='error'/>", "message",
	    "error", "e1");
	struct xs_stanza res = mk("<iq type='result'/>", "iq", "result",
	    "r1");
	struct xs_stanza get = mk("<iq type='get'/>", "iq", "get", "g1");
	struct xs_stanza pres = mk("<presence/>", "presence", NULL, NULL);
	struct xs_stanza perr = mk("<presence type='error'/>", "presence",
	    "error", NULL);
	struct xs_stanza other = mk("<handshake/>", "handshake", NULL, NULL);
	char *b;

	/* Expired: wait/remote-server-timeout with a text naming the
	 * component, addressed back to the sender. */
	b = bounce_of(&m, BOUNCE_TIMEOUT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "type='error'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "to='alice@example.test/r'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "from='room@muc.example.test'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "id='m1'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "<error type='wait'>"
	    "<remote-server-timeout"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b,
	    ">muc.example.test: component not connected</text>"));
	CU_ASSERT_EQUAL(strncmp(b, "<message ", 9), 0);
	free(b);

	/* Overflow: cancel/service-unavailable. */
	b = bounce_of(&get, BOUNCE_OVERFLOW);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(strncmp(b, "<iq ", 4), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "<error type='cancel'>"
	    "<service-unavailable"));
	free(b);

	b = bounce_of(&pres, BOUNCE_SHUTDOWN);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "shutting down"));
	free(b);

	/* No error for an error, none for an iq result, none for what is
	 * not a stanza — whatever the reason. */
	for (int r = BOUNCE_TIMEOUT; r <= BOUNCE_SHUTDOWN; r++) {
		CU_ASSERT_PTR_NULL(bounce_of(&err, (enum bounce_reason)r));
		CU_ASSERT_PTR_NULL(bounce_of(&perr, (enum bounce_reason)r));
		CU_ASSERT_PTR_NULL(bounce_of(&res, (enum bounce_reason)r));
		CU_ASSERT_PTR_NULL(bounce_of(&other, (enum bounce_reason)r));
	}
}

static void
test_backoff(void)
{
	/* Equal jitter: within [d/2, d] where d doubles from min up to max. */
	for (int i = 0; i < 200; i++) {
		uint64_t d1 = backoff_delay(1, 250, 30000);
		uint64_t d3 = backoff_delay(3, 250, 30000);
		uint64_t d30 = backoff_delay(30, 250, 30000);

		CU_ASSERT(d1 >= 125 && d1 <= 250);
		CU_ASSERT(d3 >= 500 && d3 <= 1000);
		CU_ASSERT(d30 >= 15000 && d30 <= 30000);
	}
	/* A huge failure count neither overflows nor busy-loops. */
	CU_ASSERT(backoff_delay(UINT32_MAX, 250, 30000) <= 30000);
	/* min 0 still waits at least a millisecond. */
	CU_ASSERT(backoff_delay(1, 0, 0) >= 1);
}

UNIT_SUITE(runtime_queue)
{
	UNIT_TEST(suite, test_fifo_and_bytes);
	UNIT_TEST(suite, test_small_stanzas_count_overhead);
	UNIT_TEST(suite, test_expiry_fake_clock);
	UNIT_TEST(suite, test_entry_keeps_attributes);
	UNIT_TEST(suite, test_bounce_rules);
	UNIT_TEST(suite, test_backoff);
}
