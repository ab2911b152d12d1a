/*
 * test_delivery.c — the delivery layer of a peer link (runtime/delivery.c)
 * as a state machine, with no sockets: its operations are the fakes below
 * (the "wire" is a buffer whose frames are decoded again, destinations are
 * struct conns that were never opened, and how much of a destination the
 * far host received is a number the test sets), and time is the loop's
 * clock, set with loop_set_now(), which also runs the ACK timer when due.
 *
 * Covered: frames sent with consecutive sequence numbers and kept until
 * acknowledged; ACKs that release them and the paused sources; a lost link
 * handing every kept frame back in order (resent); a bad ACK or an
 * out-of-order STANZA refused; receipts acknowledged only once the
 * destination's far host has the bytes, at once for stanzas queued here,
 * every DLV_ACK_EVERY frames or after DLV_ACK_DELAY_MS; a destination that
 * closes with receipts pending reported lost and never acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "peer_proto.h"
#include "vcrt.h"
#include "../unit.h"

#define NCOMP	3

/* ---------------------------------------------------- the fake world */

static struct vbuf wire;          /* bytes the dlv wrote */
static struct conn *last_src;     /* src of the last write */
static struct conn dst[2];        /* destinations stanzas go to */
static uint64_t far[2];           /* bytes of dst[i] the far host has */
static struct conn *deliver_to;   /* where the next stanza goes; NULL */
static char delivered_from[8][64];
static int ndelivered;
static struct {
	size_t ci;
	bool to_home;
	char id[16];
} requeued[64];
static int nrequeued, nroom, nlost;
static uint32_t returned[16];     /* seqs of the last RETURN on the wire */
static int nreturned;
static struct dlv d;
static struct pstats st;

static void
f_write(void *arg, struct conn *src, const void *p, size_t n)
{
	vbuf_add(&wire, p, n);
	last_src = src;
}

static bool refuse_next;         /* the next stanza is refused */

static struct conn *
f_deliver(void *arg, size_t ci, bool to_home, const struct xs_stanza *s,
    bool *refused)
{
	if (refuse_next) {
		refuse_next = false;
		*refused = true;
		return NULL;
	}
	if (ndelivered < 8)
		snprintf(delivered_from[ndelivered], 64, "%s",
		    s->from ? s->from : "");
	ndelivered++;
	if (deliver_to != NULL)
		deliver_to->nqueued += s->raw_len;
	return deliver_to;
}

static void
f_requeue(void *arg, size_t ci, bool to_home, struct qent *e)
{
	if (nrequeued < 64) {
		requeued[nrequeued].ci = ci;
		requeued[nrequeued].to_home = to_home;
		snprintf(requeued[nrequeued].id, 16, "%s",
		    e->id ? e->data + e->id : "");
	}
	nrequeued++;
	free(e);
}

static uint64_t
f_delivered(const struct conn *c)
{
	return c == &dst[0] ? far[0] : c == &dst[1] ? far[1] : 0;
}

static void
f_room(void *arg)
{
	nroom++;
}

static const struct dlv_ops ops = {
	.write = f_write,
	.deliver = f_deliver,
	.requeue = f_requeue,
	.delivered = f_delivered,
	.room = f_room,
};

static void
setup(size_t cap)
{
	vbuf_clear(&wire);
	memset(dst, 0, sizeof dst);
	for (int i = 0; i < 2; i++) {
		dst[i].io.fd = -1;
		snprintf(dst[i].name, sizeof dst[i].name, "dst%d", i);
	}
	far[0] = far[1] = 0;
	deliver_to = NULL;
	ndelivered = nrequeued = nroom = nlost = 0;
	refuse_next = false;
	memset(&st, 0, sizeof st);
	vlog_level = VL_ERR;            /* refusals are expected here */
	loop_set_now(1000000);
	dlv_init(&d, &ops, NULL, &st, "node2", NCOMP, 4096, cap);
	dlv_start(&d);
}

static void
teardown(void)
{
	dlv_free(&d);
}

/* A queue entry for a message with id and from. */
static struct qent *
entry(const char *id, const char *from)
{
	char raw[256];
	struct xs_stanza s = { 0 };

	snprintf(raw, sizeof raw, "<message from='%s' to='room@muc.example' "
	    "id='%s'><body>x</body></message>", from, id);
	s.raw = raw;
	s.raw_len = strlen(raw);
	s.name = "message";
	s.ns = "";
	s.from = from;
	s.to = "room@muc.example";
	s.id = id;
	s.text = "";
	return qent_new(&s, loop_now());
}

/* Decodes the frames on the wire: their types into types[], STANZA seqs
 * into seqs[], the last ACK's seq into *ack.  Returns the count. */
static int
frames(uint8_t *types, uint32_t *seqs, uint32_t *ack)
{
	struct peer_decoder dec;
	struct peer_frame f;
	const char *why;
	int n = 0;

	peer_decoder_init(&dec, 1 << 20);
	peer_decoder_feed(&dec, wire.p, wire.len);
	while (peer_decoder_next(&dec, &f, &why) > 0) {
		if (types != NULL)
			types[n] = f.type;
		if (seqs != NULL)
			seqs[n] = f.seq;
		if (f.type == PT_ACK && ack != NULL)
			CU_ASSERT(peer_parse_ack(&f, ack));
		if (f.type == PT_RETURN) {
			uint32_t s;

			nreturned = 0;
			for (size_t i = 0; peer_return_seq(&f, i, &s) &&
			    nreturned < 16; i++)
				returned[nreturned++] = s;
		}
		n++;
	}
	peer_decoder_free(&dec);
	return n;
}

/* Feeds d a frame built by put (an ACK of seq, or a STANZA). */
static bool
feed_ack(uint32_t seq)
{
	struct vbuf b = { 0 };
	struct peer_decoder dec;
	struct peer_frame f;
	const char *why;
	bool ok;

	peer_put_ack(&b, seq);
	peer_decoder_init(&dec, 1 << 20);
	peer_decoder_feed(&dec, b.p, b.len);
	CU_ASSERT_FATAL(peer_decoder_next(&dec, &f, &why) > 0);
	ok = dlv_got_ack(&d, &f);
	peer_decoder_free(&dec);
	vbuf_free(&b);
	return ok;
}

static bool
feed_stanza(uint32_t seq, uint16_t comp, uint8_t flags, const char *from)
{
	static const char raw[] = "<message to='room@muc.example' id='r'>"
	    "<body>hi</body></message>";
	struct vbuf b = { 0 };
	struct peer_decoder dec;
	struct peer_frame f;
	const char *why;
	bool ok;

	CU_ASSERT_FATAL(peer_put_stanza(&b, flags, comp, seq, from,
	    strlen(from), raw, sizeof raw - 1));
	peer_decoder_init(&dec, 1 << 20);
	peer_decoder_feed(&dec, b.p, b.len);
	CU_ASSERT_FATAL(peer_decoder_next(&dec, &f, &why) > 0);
	ok = dlv_got_stanza(&d, &f);
	peer_decoder_free(&dec);
	vbuf_free(&b);
	return ok;
}

/* ------------------------------------------------------------ sending */

static void
test_sent_and_acked(void)
{
	uint8_t types[16];
	uint32_t seqs[16];

	setup(1 << 20);
	dlv_send(&d, NULL, 0, PF_TO_HOME, entry("a", "u@x/1"));
	dlv_send(&d, NULL, 1, PF_TO_HOME, entry("b", "u@x/1"));
	dlv_send(&d, NULL, 2, PF_TO_USER, entry("c", "muc.example"));
	CU_ASSERT_EQUAL(frames(types, seqs, NULL), 3);
	CU_ASSERT(types[0] == PT_STANZA && types[2] == PT_STANZA);
	CU_ASSERT(seqs[0] == 1 && seqs[1] == 2 && seqs[2] == 3);
	CU_ASSERT_EQUAL(d.nunacked, 3);
	CU_ASSERT_EQUAL(st.out, 3);
	/* An ACK releases every frame up to its seq, no further. */
	CU_ASSERT(feed_ack(2));
	CU_ASSERT_EQUAL(d.nunacked, 1);
	CU_ASSERT_EQUAL(st.acked, 2);
	CU_ASSERT(feed_ack(2));         /* a repeat changes nothing */
	CU_ASSERT_EQUAL(d.nunacked, 1);
	/* An ACK for a frame never sent breaks the protocol. */
	CU_ASSERT_FALSE(feed_ack(4));
	CU_ASSERT(feed_ack(3));
	CU_ASSERT_EQUAL(d.nunacked, 0);
	CU_ASSERT_EQUAL(d.unacked_bytes, 0);
	teardown();
}

static void
test_lost_link_resends_in_order(void)
{
	uint32_t seqs[8];

	setup(1 << 20);
	dlv_send(&d, NULL, 0, PF_TO_HOME, entry("a", "u@x/1"));
	dlv_send(&d, NULL, 1, PF_TO_USER, entry("b", "muc.example"));
	dlv_send(&d, NULL, 0, PF_TO_HOME, entry("c", "u@x/1"));
	CU_ASSERT(feed_ack(1));
	dlv_end(&d);
	/* Only the unacknowledged frames go back, each to its own
	 * component and direction, newest first: each is pushed to the
	 * front of its queue, so the queue holds them oldest first. */
	CU_ASSERT_EQUAL(nrequeued, 2);
	CU_ASSERT_STRING_EQUAL(requeued[0].id, "c");
	CU_ASSERT_EQUAL(requeued[0].ci, 0);
	CU_ASSERT(requeued[0].to_home);
	CU_ASSERT_STRING_EQUAL(requeued[1].id, "b");
	CU_ASSERT_EQUAL(requeued[1].ci, 1);
	CU_ASSERT_FALSE(requeued[1].to_home);
	CU_ASSERT_EQUAL(st.resent, 2);
	CU_ASSERT_EQUAL(d.nunacked, 0);
	/* A second end (the link's close after peer_stop) resends nothing. */
	dlv_end(&d);
	CU_ASSERT_EQUAL(nrequeued, 2);
	/* A new link numbers from 1 again. */
	vbuf_clear(&wire);
	dlv_start(&d);
	dlv_send(&d, NULL, 0, PF_TO_HOME, entry("d", "u@x/1"));
	CU_ASSERT_EQUAL(frames(NULL, seqs, NULL), 1);
	CU_ASSERT_EQUAL(seqs[0], 1);
	teardown();
}

static void
test_cap_pauses_source(void)
{
	struct conn src = { 0 };
	size_t one;

	src.io.fd = -1;
	snprintf(src.name, sizeof src.name, "upstream");
	setup(1 << 20);
	dlv_send(&d, &src, 0, PF_TO_HOME, entry("a", "u@x/1"));
	one = d.unacked_bytes;
	CU_ASSERT_PTR_EQUAL(last_src, &src);
	dlv_free(&d);
	/* A cap of three frames: the third pauses its source. */
	setup(3 * one);
	dlv_send(&d, &src, 0, PF_TO_HOME, entry("a", "u@x/1"));
	dlv_send(&d, &src, 0, PF_TO_HOME, entry("b", "u@x/1"));
	CU_ASSERT_FALSE(dlv_full(&d));
	CU_ASSERT_FALSE(conn_paused(&src));
	dlv_send(&d, &src, 0, PF_TO_HOME, entry("c", "u@x/1"));
	CU_ASSERT(dlv_full(&d));
	CU_ASSERT(conn_paused(&src));
	/* One ACK leaves two frames: below the cap (room for queued
	 * stanzas) but not below half of it, so the source stays paused. */
	CU_ASSERT(feed_ack(1));
	CU_ASSERT_FALSE(dlv_full(&d));
	CU_ASSERT_EQUAL(nroom, 1);
	CU_ASSERT(conn_paused(&src));
	CU_ASSERT(feed_ack(2));
	CU_ASSERT_FALSE(conn_paused(&src));
	CU_ASSERT_EQUAL(nroom, 1);
	/* A paused source that closes is forgotten, not resumed later. */
	dlv_send(&d, &src, 0, PF_TO_HOME, entry("d", "u@x/1"));
	dlv_send(&d, &src, 0, PF_TO_HOME, entry("e", "u@x/1"));
	CU_ASSERT(conn_paused(&src));
	CU_ASSERT_EQUAL(d.npaused, 1);
	dlv_conn_closed(&src, NULL);
	CU_ASSERT_EQUAL(d.npaused, 0);
	CU_ASSERT_EQUAL(nlost, 0);
	teardown();
}

/* ---------------------------------------------------------- receiving */

static void
test_receipts_and_acks(void)
{
	uint8_t types[64];
	uint32_t ack = 0;

	setup(1 << 20);
	deliver_to = &dst[0];
	CU_ASSERT(feed_stanza(1, 0, PF_TO_HOME, "u@x/1"));
	CU_ASSERT(feed_stanza(2, 0, PF_TO_HOME, "u@x/2"));
	CU_ASSERT_EQUAL(ndelivered, 2);
	CU_ASSERT_STRING_EQUAL(delivered_from[1], "u@x/2");
	CU_ASSERT_EQUAL(st.in, 2);
	/* Nothing reached the far host yet: no ACK, the timer waits. */
	dlv_tick(&d);
	CU_ASSERT_EQUAL(frames(NULL, NULL, NULL), 0);
	CU_ASSERT(timer_armed(&d.ack_timer));
	loop_set_now(loop_now() + DLV_ACK_DELAY_MS);
	CU_ASSERT_EQUAL(frames(NULL, NULL, NULL), 0);
	/* The first stanza's bytes arrived: the timer acknowledges it. */
	far[0] = dst[0].nqueued / 2 + 1;
	loop_set_now(loop_now() + DLV_ACK_DELAY_MS - 1);
	CU_ASSERT_EQUAL(frames(NULL, NULL, NULL), 0);
	loop_set_now(loop_now() + 1);
	CU_ASSERT_EQUAL(frames(types, NULL, &ack), 1);
	CU_ASSERT_EQUAL(types[0], PT_ACK);
	CU_ASSERT_EQUAL(ack, 1);
	/* All of it: the next pass acknowledges the second. */
	far[0] = dst[0].nqueued;
	vbuf_clear(&wire);
	loop_set_now(loop_now() + DLV_ACK_DELAY_MS);
	CU_ASSERT_EQUAL(frames(NULL, NULL, &ack), 1);
	CU_ASSERT_EQUAL(ack, 2);
	/* Stanzas queued here (no destination connection) count as handed
	 * on at once; DLV_ACK_EVERY of them are acknowledged without
	 * waiting for the timer. */
	vbuf_clear(&wire);
	deliver_to = NULL;
	for (uint32_t s = 3; s < 3 + DLV_ACK_EVERY; s++)
		CU_ASSERT(feed_stanza(s, 1, PF_TO_USER, "muc.example"));
	dlv_tick(&d);
	CU_ASSERT_EQUAL(frames(NULL, NULL, &ack), 1);
	CU_ASSERT_EQUAL(ack, 2 + DLV_ACK_EVERY);
	teardown();
}

static void
test_bad_stanzas_refused(void)
{
	setup(1 << 20);
	CU_ASSERT(feed_stanza(1, 0, PF_TO_HOME, "u@x/1"));
	CU_ASSERT_FALSE(feed_stanza(3, 0, PF_TO_HOME, "u@x/1"));   /* gap */
	CU_ASSERT_FALSE(feed_stanza(1, 0, PF_TO_HOME, "u@x/1"));   /* repeat */
	CU_ASSERT_FALSE(feed_stanza(2, NCOMP, PF_TO_HOME, "u@x/1"));
	CU_ASSERT_FALSE(feed_stanza(2, 0, 0x7, "u@x/1"));
	CU_ASSERT(feed_stanza(2, 0, PF_TO_USER, "u@x/1"));
	CU_ASSERT_EQUAL(ndelivered, 2);
	teardown();
}

static void
test_destination_lost(void)
{
	uint8_t types[8];
	uint32_t ack = 0;
	int n;

	setup(1 << 20);
	deliver_to = &dst[1];
	CU_ASSERT(feed_stanza(1, 0, PF_TO_HOME, "u@x/1"));
	deliver_to = &dst[0];
	CU_ASSERT(feed_stanza(2, 0, PF_TO_USER, "u@x/1"));
	CU_ASSERT(feed_stanza(3, 0, PF_TO_USER, "u@x/1"));
	deliver_to = &dst[1];
	CU_ASSERT(feed_stanza(4, 0, PF_TO_HOME, "u@x/1"));
	far[1] = dst[1].nqueued;
	/* dst[0] (an upstream) closes with stanzas 2 and 3 unconfirmed:
	 * exactly those go back to the sender in a RETURN, ahead of the
	 * ACK that then covers everything; the link stays up. */
	dlv_conn_closed(&dst[0], NULL);
	dlv_tick(&d);
	loop_set_now(loop_now() + DLV_ACK_DELAY_MS);
	n = frames(types, NULL, &ack);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(types[0], PT_RETURN);
	CU_ASSERT_EQUAL(types[1], PT_ACK);
	CU_ASSERT_EQUAL(nreturned, 2);
	CU_ASSERT(returned[0] == 2 && returned[1] == 3);
	CU_ASSERT_EQUAL(ack, 4);
	CU_ASSERT_EQUAL(st.returned, 2);
	CU_ASSERT(d.active);
	/* A close of a connection no receipt names sends nothing. */
	vbuf_clear(&wire);
	dlv_conn_closed(&dst[1], NULL);
	CU_ASSERT_EQUAL(frames(NULL, NULL, NULL), 0);
	teardown();
}

/* The sender's side of a RETURN: only the frames named go back, in the
 * order they were sent; the others stay kept; their ACK is unaffected. */
static void
test_return_resends_only_those(void)
{
	struct vbuf b = { 0 };
	struct peer_decoder dec;
	struct peer_frame f;
	const char *why;
	static const uint8_t pl[] = { 0, 0, 0, 2, 0, 0, 0, 4 };

	setup(1 << 20);
	dlv_send(&d, NULL, 0, PF_TO_HOME, entry("a", "u@x/1"));
	dlv_send(&d, NULL, 1, PF_TO_USER, entry("b", "muc.example"));
	dlv_send(&d, NULL, 2, PF_TO_HOME, entry("c", "u@x/1"));
	dlv_send(&d, NULL, 1, PF_TO_USER, entry("d", "muc.example"));
	peer_put_frame(&b, PT_RETURN, 0, 0, 0, pl, sizeof pl);
	peer_decoder_init(&dec, 1 << 20);
	peer_decoder_feed(&dec, b.p, b.len);
	CU_ASSERT_FATAL(peer_decoder_next(&dec, &f, &why) > 0);
	CU_ASSERT(dlv_got_return(&d, &f));
	/* Pushed to the front newest first: d, then b. */
	CU_ASSERT_EQUAL(nrequeued, 2);
	CU_ASSERT_STRING_EQUAL(requeued[0].id, "d");
	CU_ASSERT_STRING_EQUAL(requeued[1].id, "b");
	CU_ASSERT_FALSE(requeued[1].to_home);
	CU_ASSERT_EQUAL(d.nunacked, 2);
	CU_ASSERT_EQUAL(st.resent, 2);
	/* The rest are acknowledged as usual; nothing else goes back. */
	CU_ASSERT(feed_ack(4));
	CU_ASSERT_EQUAL(d.nunacked, 0);
	dlv_end(&d);
	CU_ASSERT_EQUAL(nrequeued, 2);
	/* A RETURN of a frame never sent breaks the protocol. */
	vbuf_clear(&b);
	peer_put_frame(&b, PT_RETURN, 0, 0, 0, "\0\0\0\x09", 4);
	peer_decoder_feed(&dec, b.p, b.len);
	CU_ASSERT_FATAL(peer_decoder_next(&dec, &f, &why) > 0);
	dlv_start(&d);
	CU_ASSERT_FALSE(dlv_got_return(&d, &f));
	peer_decoder_free(&dec);
	vbuf_free(&b);
	teardown();
}

/* A stopping node refuses what it cannot write at once: given back at
 * once, never acknowledged as delivered. */
static void
test_refused_given_back(void)
{
	uint8_t types[8];
	uint32_t ack = 0;

	setup(1 << 20);
	deliver_to = NULL;
	CU_ASSERT(feed_stanza(1, 0, PF_TO_USER, "u@x/1"));
	refuse_next = true;
	CU_ASSERT(feed_stanza(2, 0, PF_TO_USER, "u@x/1"));
	CU_ASSERT(dlv_busy(&d));
	dlv_tick(&d);
	loop_set_now(loop_now() + DLV_ACK_DELAY_MS);
	CU_ASSERT_EQUAL(frames(types, NULL, &ack), 2);
	CU_ASSERT_EQUAL(types[0], PT_RETURN);
	CU_ASSERT(nreturned == 1 && returned[0] == 2);
	CU_ASSERT_EQUAL(types[1], PT_ACK);
	CU_ASSERT_EQUAL(ack, 2);
	CU_ASSERT_FALSE(dlv_busy(&d));
	teardown();
}

UNIT_SUITE(delivery)
{
	UNIT_TEST(suite, test_sent_and_acked);
	UNIT_TEST(suite, test_lost_link_resends_in_order);
	UNIT_TEST(suite, test_cap_pauses_source);
	UNIT_TEST(suite, test_receipts_and_acks);
	UNIT_TEST(suite, test_bad_stanzas_refused);
	UNIT_TEST(suite, test_destination_lost);
	UNIT_TEST(suite, test_return_resends_only_those);
	UNIT_TEST(suite, test_refused_given_back);
}
