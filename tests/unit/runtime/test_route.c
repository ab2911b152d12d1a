/*
 * test_route.c — routing (runtime/route.c) as a state machine, with no
 * sockets: the components are those of tests/unit/fixture.yaml for node1
 * (muc.example.test homed here, pubsub.example.test homed on node2), the
 * upstream and real-component connections are struct conns that were
 * never opened (what routing writes stays in their output buffers), the
 * other node is the fake struct route_peers below, and time is the loop's
 * clock, set with loop_set_now(), which also runs the queues' expiry
 * timers.
 *
 * Covered: return routes learned from a peer's to_home stanza, used for
 * replies; replies for a node whose link is down waiting for it (then
 * answered to the component after queue-age); a route moved to this
 * node's own server; a restarted home waiting for re-announcements;
 * refusals while stopping; with clustered servers, replies given back
 * leaving by this node's upstream and a suspended upstream giving replies
 * back; a stanza for a remote home queued
 * while no home is available, flushed when one announces itself, and
 * bounced (remote-server-timeout) after queue-age; unacknowledged frames
 * handed back to the front of their queue; the queues and users seen
 * carried through an in-place upgrade's handover state; a removed
 * component's queues answered on its inherited upstream; a saved stanza
 * bounced on restore leaving the previous entry's replayed flag alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_proto.h"
#include "vcrt.h"
#include "../unit.h"

#define MUC	0       /* comps[] index of muc.example.test (home: node1) */
#define PUBSUB	1       /* pubsub.example.test (home: node2) */

/* ---------------------------------------------------- the fake node */

static struct conn up[2], home;   /* upstreams of both, muc's component */
static bool reach[4], hascomp[4];
static struct {
	uint16_t node;
	size_t ci;
	uint8_t flags;
	char to[64], id[16];
} sent[64];
static int nsent, nstatus;

static bool f_reachable(uint16_t n) { return n < 4 && reach[n]; }
static bool f_has_comp(uint16_t n, size_t ci) { return n < 4 && reach[n] && hascomp[n]; }
static bool f_carries(uint16_t n, size_t ci) { return n < 4 && reach[n]; }
static bool f_decided(uint16_t n, size_t ci) { return n < 4 && reach[n]; }
static bool f_full(uint16_t n) { return !f_reachable(n); }
static void f_status_changed(void) { nstatus++; }

static void
f_send(uint16_t node, struct conn *src, size_t ci, uint8_t flags,
    struct qent *e)
{
	if (nsent < 64) {
		sent[nsent].node = node;
		sent[nsent].ci = ci;
		sent[nsent].flags = flags;
		snprintf(sent[nsent].to, 64, "%s", e->to ? e->data + e->to : "");
		snprintf(sent[nsent].id, 16, "%s", e->id ? e->data + e->id : "");
	}
	nsent++;
	free(e);
}

static const struct route_peers fake_peers = {
	.reachable = f_reachable,
	.has_comp = f_has_comp,
	.carries = f_carries,
	.decided = f_decided,
	.full = f_full,
	.send = f_send,
	.status_changed = f_status_changed,
};

/* A connection that was never opened; routing writes to its output. */
static void
fake_conn(struct conn *c, const char *name)
{
	/* Its output buffer is reused; C_PENDING (set by the first write)
	 * stays set, so the conn is put on conn.c's pending list once and
	 * never flushed: nothing here calls conn_flush. */
	vbuf_clear(&c->out);
	c->ooff = 0;
	c->io.fd = -1;
	c->cap = 1 << 20;
	c->flags = (c->flags & C_PENDING) | C_READY;
	snprintf(c->name, sizeof c->name, "%s", name);
}

static bool
wrote(const struct conn *c, const char *needle)
{
	return c->out.p != NULL && strstr(c->out.p, needle) != NULL;
}

static void
setup(void)
{
	ncomps = table->ncomponents;
	comps = calloc(ncomps, sizeof *comps);
	CU_ASSERT_FATAL(comps != NULL && ncomps == 2);
	for (size_t i = 0; i < ncomps; i++)
		comps[i].vc = &table->components[i];
	CU_ASSERT_STRING_EQUAL(comps[MUC].vc->domain, "muc.example.test");
	fake_conn(&up[0], "upstream muc");
	fake_conn(&up[1], "upstream pubsub");
	fake_conn(&home, "component muc");
	comps[MUC].up = &up[0];
	comps[PUBSUB].up = &up[1];
	comps[MUC].home = &home;
	memset(reach, 0, sizeof reach);
	memset(hascomp, 0, sizeof hascomp);
	nsent = nstatus = 0;
	shutting_down = false;
	vlog_level = VL_ERR;
	loop_set_now(5000000);
	route_set_peers(&fake_peers);
	route_init();
}

static void
teardown(void)
{
	for (size_t i = 0; i < ncomps; i++) {
		queue_clear(&comps[i].to_home);
		queue_clear(&comps[i].to_up);
		queue_clear(&comps[i].replay);
		timer_stop(&comps[i].to_home.timer);
		timer_stop(&comps[i].to_up.timer);
	}
	route_free();
	route_set_peers(NULL);
	free(comps);
	comps = NULL;
	ncomps = 0;
}

/* Parses raw into st (strings in b) the way a STANZA frame is read. */
static void
stanza(struct xs_stanza *st, struct vbuf *b, const char *raw)
{
	stanza_peek(st, raw, strlen(raw), NULL, 0, b);
}

/* ------------------------------------------------------------- routes */

static void
test_routes_learned_and_used(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	struct conn *dst;
	bool refused = false;

	setup();
	reach[1] = true;
	/* alice's message came in on node2: it reaches the component here
	 * and teaches the route. */
	stanza(&st, &b, "<message from='alice@example.test/a' "
	    "to='room@muc.example.test' id='m1'/>");
	dst = route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	CU_ASSERT_PTR_EQUAL(dst, &home);
	CU_ASSERT(wrote(&home, "id='m1'"));
	/* The component's reply goes back through node2. */
	stanza(&st, &b, "<message from='room@muc.example.test/x' "
	    "to='alice@example.test/a' id='r1'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 1);
	CU_ASSERT_EQUAL(sent[0].node, 1);
	CU_ASSERT_EQUAL(sent[0].flags, PF_TO_USER);
	CU_ASSERT_STRING_EQUAL(sent[0].id, "r1");
	CU_ASSERT_FALSE(wrote(&up[0], "r1"));
	/* A JID nobody announced leaves by this node's own upstream. */
	stanza(&st, &b, "<message from='room@muc.example.test/x' "
	    "to='bob@example.test/b' id='r2'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 1);
	CU_ASSERT(wrote(&up[0], "id='r2'"));
	/* Routes are per full JID: another resource is unknown. */
	stanza(&st, &b, "<message from='room@muc.example.test/x' "
	    "to='alice@example.test/other' id='r3'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT(wrote(&up[0], "id='r3'"));
	vbuf_free(&b);
	teardown();
}

static void
test_route_while_link_down(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	bool refused = false;

	setup();
	reach[1] = true;
	stanza(&st, &b, "<presence from='carol@example.test/c' "
	    "to='room@muc.example.test/carol'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	/* node2's link is down: the reply waits for node2 (out of this
	 * node's upstream it would reach a server that does not know
	 * carol, which bounces it and makes the room drop her). */
	reach[1] = false;
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='carol@example.test/c' id='d1'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 0);
	CU_ASSERT_FALSE(wrote(&up[0], "id='d1'"));
	/* Back up: the waiting reply goes first, then the next one. */
	reach[1] = true;
	route_homes_changed();
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='carol@example.test/c' id='d2'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 2);
	CU_ASSERT_STRING_EQUAL(sent[0].id, "d1");
	CU_ASSERT_STRING_EQUAL(sent[1].id, "d2");
	CU_ASSERT_EQUAL(sent[1].node, 1);
	/* Down for good: after queue-age the reply is answered to the real
	 * component (it learns the user is gone), never sent elsewhere. */
	reach[1] = false;
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='carol@example.test/c' id='d3'/>");
	route_from_home(&comps[MUC], &home, &st);
	loop_set_now(loop_now() + table->limits.queue_age_ms);
	CU_ASSERT_EQUAL(nsent, 2);
	CU_ASSERT_FALSE(wrote(&up[0], "id='d3'"));
	CU_ASSERT(wrote(&home, "id='d3'"));
	CU_ASSERT(wrote(&home, "remote-server-timeout"));
	vbuf_free(&b);
	teardown();
}

/* Item 4 of issue 10: a user who came through node2 and now talks through
 * this node's own server gets the replies here. */
static void
test_route_moves_to_own_server(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	bool refused = false;

	setup();
	reach[1] = true;
	stanza(&st, &b, "<message from='erin@example.test/e' "
	    "to='room@muc.example.test' id='e1'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	stanza(&st, &b, "<message from='erin@example.test/e' "
	    "to='room@muc.example.test' id='e2'/>");
	route_from_upstream(&comps[MUC], &up[0], &st);
	CU_ASSERT(wrote(&home, "id='e2'"));
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='erin@example.test/e' id='e3'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 0);
	CU_ASSERT(wrote(&up[0], "id='e3'"));
	/* And back to node2 when the user returns there. */
	stanza(&st, &b, "<message from='erin@example.test/e' "
	    "to='room@muc.example.test' id='e4'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='erin@example.test/e' id='e5'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 1);
	vbuf_free(&b);
	teardown();
}

/* Item 3 of issue 10: a restarted home waits (bounded) for its links to
 * re-announce their users before a reply to an unknown JID leaves by its
 * own upstream; an announcement never overrides a learned route. */
static void
test_restarted_home_waits_for_announcements(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;

	setup();
	reach[1] = true;
	route_await_routes(ROUTES_WAIT_MS);
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='frank@example.test/f' id='w1'/>");
	route_from_home(&comps[MUC], &home, &st);
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='gina@example.test/g' id='w2'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT_EQUAL(nsent, 0);
	CU_ASSERT_FALSE(wrote(&up[0], "id='w1'"));
	/* node2 announces frank; its end marker completes the wait. */
	route_learn(MUC, "frank@example.test/f", 20, 1);
	route_routes_complete();
	CU_ASSERT_EQUAL(nsent, 1);
	CU_ASSERT_STRING_EQUAL(sent[0].id, "w1");
	CU_ASSERT(wrote(&up[0], "id='w2'"));
	/* Learned routes win over announced ones. */
	stanza(&st, &b, "<message from='hal@example.test/h' "
	    "to='room@muc.example.test' id='h1'/>");
	route_from_upstream(&comps[MUC], &up[0], &st);
	route_learn(MUC, "hal@example.test/h", 18, 1);
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='hal@example.test/h' id='h2'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT(wrote(&up[0], "id='h2'"));
	CU_ASSERT_EQUAL(nsent, 1);
	teardown();
	/* Without any announcement the wait ends at its bound. */
	setup();
	route_await_routes(ROUTES_WAIT_MS);
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='ivy@example.test/i' id='i1'/>");
	route_from_home(&comps[MUC], &home, &st);
	loop_set_now(loop_now() + ROUTES_WAIT_MS - 1);
	CU_ASSERT_FALSE(wrote(&up[0], "id='i1'"));
	loop_set_now(loop_now() + 1);
	CU_ASSERT(wrote(&up[0], "id='i1'"));
	vbuf_free(&b);
	teardown();
}

/* Items 1 and 6 of issue 10: while stopping, a stanza from a peer that
 * cannot be written at once is refused (given back), not queued here to
 * be bounced later. */
static void
test_stopping_refuses(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	bool refused = false;
	struct conn *dst;

	setup();
	route_stopping = true;
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='jo@example.test/j' id='s1'/>");
	dst = route_from_peer(&comps[MUC], NULL, &st, false, 1, &refused);
	CU_ASSERT_PTR_EQUAL(dst, &up[0]);
	CU_ASSERT_FALSE(refused);
	up[0].flags &= ~C_READY;        /* the closing handshake began */
	dst = route_from_peer(&comps[MUC], NULL, &st, false, 1, &refused);
	CU_ASSERT_PTR_NULL(dst);
	CU_ASSERT(refused);
	CU_ASSERT_EQUAL(comps[MUC].to_up.count, 0);
	refused = false;
	home.flags &= ~C_READY;
	stanza(&st, &b, "<message from='jo@example.test/j' "
	    "to='room@muc.example.test' id='s2'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	CU_ASSERT(refused);
	CU_ASSERT_EQUAL(comps[MUC].to_home.count, 0);
	route_stopping = false;
	vbuf_free(&b);
	teardown();
}

/* ------------------------------------------------------------- queues */

static void
test_queued_flushed_and_expired(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	uint32_t age = table->limits.queue_age_ms;

	setup();
	/* pubsub's home is node2, whose link is down: the iq waits. */
	stanza(&st, &b, "<iq type='get' from='dave@example.test/d' "
	    "to='pubsub.example.test' id='q1'><ping/></iq>");
	route_from_upstream(&comps[PUBSUB], &up[1], &st);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.count, 1);
	CU_ASSERT_EQUAL(nsent, 0);
	/* node2 comes up and says its real component is there: the queue
	 * is flushed to it, in order. */
	reach[1] = hascomp[1] = true;
	route_homes_changed();
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.count, 0);
	CU_ASSERT_EQUAL(nsent, 1);
	CU_ASSERT_EQUAL(sent[0].flags, PF_TO_HOME);
	CU_ASSERT_STRING_EQUAL(sent[0].id, "q1");
	/* The link drops with that frame unacknowledged: it goes back to
	 * the front of the queue (delivery.c hands it back) ... */
	reach[1] = hascomp[1] = false;
	route_requeue(&comps[PUBSUB], qent_new(&st, loop_now()), true, 1);
	stanza(&st, &b, "<iq type='get' from='dave@example.test/d' "
	    "to='pubsub.example.test' id='q2'><ping/></iq>");
	route_from_upstream(&comps[PUBSUB], &up[1], &st);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.count, 2);
	CU_ASSERT_STRING_EQUAL(comps[PUBSUB].to_home.head->data +
	    comps[PUBSUB].to_home.head->id, "q1");
	/* ... and both are answered once queue-age passed since this node
	 * first took them: nothing earlier, both then. */
	loop_set_now(loop_now() + age - 1);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.count, 2);
	CU_ASSERT_FALSE(wrote(&up[1], "remote-server-timeout"));
	loop_set_now(loop_now() + 1);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.count, 0);
	CU_ASSERT(wrote(&up[1], "id='q1'"));
	CU_ASSERT(wrote(&up[1], "id='q2'"));
	CU_ASSERT(wrote(&up[1], "remote-server-timeout"));
	CU_ASSERT_EQUAL(comps[PUBSUB].st.bounced, 2);
	vbuf_free(&b);
	teardown();
}

static void
test_local_home_changes_are_announced(void)
{
	setup();
	route_home_changed(&comps[MUC]);
	CU_ASSERT_EQUAL(nstatus, 1);
	teardown();
}

/* A real component that leaves may not have processed what it got in its
 * last moments: that is delivered again (at least once), in order; not
 * when this node closed it itself while stopping, and not what is older
 * than REPLAY_MS. */
static void
test_replay_when_component_leaves(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	bool refused = false;

	setup();
	stanza(&st, &b, "<message from='max@example.test/m' "
	    "to='room@muc.example.test' id='old'/>");
	route_from_upstream(&comps[MUC], &up[0], &st);
	loop_set_now(loop_now() + REPLAY_MS + 1);
	stanza(&st, &b, "<message from='max@example.test/m' "
	    "to='room@muc.example.test' id='r1'/>");
	route_from_upstream(&comps[MUC], &up[0], &st);
	stanza(&st, &b, "<message from='nia@example.test/n' "
	    "to='room@muc.example.test' id='r2'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	CU_ASSERT(wrote(&home, "id='r2'"));
	comps[MUC].home = NULL;
	route_home_lost(&comps[MUC]);
	CU_ASSERT_EQUAL(comps[MUC].to_home.count, 2);
	CU_ASSERT_STRING_EQUAL(comps[MUC].to_home.head->data +
	    comps[MUC].to_home.head->id, "r1");
	/* The next instance gets them first. */
	fake_conn(&home, "component muc");
	comps[MUC].home = &home;
	route_flush_home(&comps[MUC]);
	CU_ASSERT_EQUAL(comps[MUC].to_home.count, 0);
	CU_ASSERT(strstr(home.out.p, "id='r1'") < strstr(home.out.p, "id='r2'"));
	CU_ASSERT_PTR_NULL(strstr(home.out.p, "id='old'"));
	/* A replayed stanza that finds no home in time is dropped, never
	 * answered with an error: it may well have been handled. */
	comps[MUC].home = NULL;
	route_home_lost(&comps[MUC]);
	CU_ASSERT_EQUAL(comps[MUC].to_home.count, 2);
	loop_set_now(loop_now() + table->limits.queue_age_ms);
	CU_ASSERT_EQUAL(comps[MUC].to_home.count, 0);
	CU_ASSERT_FALSE(wrote(&up[0], "remote-server-timeout"));
	CU_ASSERT_EQUAL(comps[MUC].st.bounced, 0);
	fake_conn(&home, "component muc");
	comps[MUC].home = &home;
	/* Closed by this node's own stop: nothing is replayed. */
	route_stopping = true;
	comps[MUC].home = NULL;
	route_home_lost(&comps[MUC]);
	CU_ASSERT_EQUAL(comps[MUC].to_home.count, 0);
	CU_ASSERT_EQUAL(comps[MUC].replay.count, 0);
	route_stopping = false;
	vbuf_free(&b);
	teardown();
}

static int navail, nunavail;

static void
observe(struct comp *c, bool available)
{
	if (available)
		navail++;
	else
		nunavail++;
}

/* servers: clustered — the server cluster reaches every user, so a reply
 * whose node is away leaves by this node's upstream at once, a restarted
 * home waits for nothing, and the availability of a home is reported (a
 * virtual node registers upstream only while there is one). */
static void
test_clustered_servers(void)
{
	static struct vc_table clustered_table;
	const struct vc_table *saved = table;
	struct vbuf b = { 0 };
	struct xs_stanza st;
	bool refused = false;

	clustered_table = *table;
	clustered_table.servers = VC_SERVERS_CLUSTERED;
	table = &clustered_table;
	setup();
	navail = nunavail = 0;
	route_observe_homes(observe);
	reach[1] = true;
	route_await_routes(ROUTES_WAIT_MS);
	stanza(&st, &b, "<message from='kim@example.test/k' "
	    "to='room@muc.example.test' id='k1'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	reach[1] = false;
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='kim@example.test/k' id='k2'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT(wrote(&up[0], "id='k2'"));
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='lee@example.test/l' id='k3'/>");
	route_from_home(&comps[MUC], &home, &st);
	CU_ASSERT(wrote(&up[0], "id='k3'"));
	/* A reply node2 gave back (RETURN: its upstream closed before the
	 * bytes were confirmed, or it is suspended) leaves by this node's
	 * upstream, not by node2's queue: the server cluster reaches kim. */
	reach[1] = true;
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='kim@example.test/k' id='k4'/>");
	route_requeue(&comps[MUC], qent_new(&st, loop_now()), false, 1);
	CU_ASSERT_EQUAL(comps[MUC].to_up.count, 1);
	route_flush_up(&comps[MUC]);
	CU_ASSERT(wrote(&up[0], "id='k4'"));
	CU_ASSERT_EQUAL(comps[MUC].to_up.count, 0);
	CU_ASSERT_EQUAL(nsent, 0);
	/* pubsub's home is node2: available when node2 says so, gone when
	 * its link goes. */
	reach[1] = hascomp[1] = true;
	route_homes_changed();
	CU_ASSERT(navail >= 1);
	reach[1] = hascomp[1] = false;
	route_homes_changed();
	CU_ASSERT(nunavail >= 1);
	route_observe_homes(NULL);
	vbuf_free(&b);
	teardown();
	table = saved;
}

/* servers: clustered — a virtual node that unregistered (no home
 * available) gives back a reply the home sent it, instead of holding it
 * until queue-age and answering it to the real component as if the user
 * were gone (seen against ejabberd: the replies in flight when the home
 * stopped). */
static void
test_suspended_upstream_refuses_replies(void)
{
	struct vbuf b = { 0 };
	struct xs_stanza st;
	bool refused = false;
	struct conn *dst;

	setup();
	reach[1] = true;
	/* pubsub is virtual here (its home is node2). */
	comps[PUBSUB].up_suspended = true;
	up[1].flags &= ~C_READY;        /* closing handshake sent */
	stanza(&st, &b, "<message from='pubsub.example.test' "
	    "to='ola@example.test/o' id='u1'/>");
	dst = route_from_peer(&comps[PUBSUB], NULL, &st, false, 1, &refused);
	CU_ASSERT_PTR_NULL(dst);
	CU_ASSERT(refused);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_up.count, 0);
	/* An upstream merely down (the server restarts) keeps it. */
	comps[PUBSUB].up_suspended = false;
	refused = false;
	route_from_peer(&comps[PUBSUB], NULL, &st, false, 1, &refused);
	CU_ASSERT_FALSE(refused);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_up.count, 1);
	vbuf_free(&b);
	teardown();
}

/* The in-place upgrade (SIGUSR2): the queues and the users seen go into
 * the handover state and come back in the next image, in order, with
 * their age, and are flushed once their destinations are up. */
static void
collect_seen(const char *jid, size_t len, uint16_t node, void *arg)
{
	vbuf_add(arg, jid, len);
	vbuf_addch(arg, ';');
}

static void
test_handover_queues(void)
{
	struct vbuf b = { 0 }, w = { 0 }, seen = { 0 };
	struct xs_stanza st;
	struct handover h = { 0 }, r;
	bool refused = false;
	char why[128];
	uint64_t t0;

	setup();
	reach[1] = true;
	/* carol is behind node2; node2 goes away: her reply waits. */
	stanza(&st, &b, "<presence from='carol@example.test/c' "
	    "to='room@muc.example.test/carol'/>");
	route_from_peer(&comps[MUC], NULL, &st, true, 1, &refused);
	reach[1] = false;
	stanza(&st, &b, "<message from='room@muc.example.test' "
	    "to='carol@example.test/c' id='q1'/>");
	route_from_home(&comps[MUC], &home, &st);
	/* A local user's stanzas for pubsub (homed on node2) wait too. */
	stanza(&st, &b, "<message from='dan@example.test/d' "
	    "to='pubsub.example.test' id='q2'/>");
	route_from_upstream(&comps[PUBSUB], &up[1], &st);
	stanza(&st, &b, "<message from='dan@example.test/d' "
	    "to='pubsub.example.test' id='q3'/>");
	route_from_upstream(&comps[PUBSUB], &up[1], &st);
	CU_ASSERT_EQUAL(nsent, 0);
	t0 = loop_now();
	loop_set_now(t0 + 1000);
	h.node = strdup("node1");
	route_handover_save(&h);
	CU_ASSERT_EQUAL(h.nstanzas, 3);
	CU_ASSERT_EQUAL(h.nseen, 1);
	handover_write(&h, &w);
	handover_free(&h);
	teardown();

	/* The next image. */
	setup();
	loop_set_now(t0 + 1500);
	CU_ASSERT_EQUAL_FATAL(handover_read(&r, w.p, w.len, "node1", why,
	    sizeof why), 0);
	CU_ASSERT_EQUAL(route_handover_restore(&r), 0);
	handover_free(&r);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.count, 2);
	/* They keep the age they had (1 s); the time the execve() took
	 * is not counted. */
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.head->t, loop_now() - 1000);
	route_seen_each(PUBSUB, collect_seen, &seen);
	vbuf_addch(&seen, '\0');
	CU_ASSERT_STRING_EQUAL(seen.p, "dan@example.test/d;");
	/* node2 is back: everything goes, each queue in its order. */
	reach[1] = hascomp[1] = true;
	route_homes_changed();
	CU_ASSERT_EQUAL_FATAL(nsent, 3);
	{
		int q1 = -1, q2 = -1, q3 = -1;

		for (int i = 0; i < 3; i++) {
			if (strcmp(sent[i].id, "q1") == 0)
				q1 = i;
			if (strcmp(sent[i].id, "q2") == 0)
				q2 = i;
			if (strcmp(sent[i].id, "q3") == 0)
				q3 = i;
		}
		CU_ASSERT_FATAL(q1 >= 0 && q2 >= 0 && q3 >= 0);
		CU_ASSERT(q2 < q3);
		CU_ASSERT_EQUAL(sent[q1].flags, PF_TO_USER);
		CU_ASSERT_EQUAL(sent[q1].node, 1);
		CU_ASSERT_EQUAL(sent[q3].flags, PF_TO_HOME);
		CU_ASSERT_EQUAL(sent[q3].ci, PUBSUB);
	}
	vbuf_free(&b);
	vbuf_free(&w);
	vbuf_free(&seen);
	teardown();
}

/* A saved stanza (the handover's form of a queued one). */
static void
ho_stanza(struct handover *h, uint8_t queue, uint32_t comp_id,
    const char *node, const char *raw, const char *type, uint8_t replayed)
{
	struct ho_stanza *s = handover_add_stanza(h);

	s->queue = queue;
	s->comp_id = comp_id;
	s->replayed = replayed;
	s->node = node != NULL ? strdup(node) : NULL;
	vbuf_addstr(&s->raw, raw);
	s->name = strdup("message");
	s->from = strdup("a@example.test/r");
	s->to = strdup("gone.example.test");
	s->id = strdup("g1");
	s->type = type != NULL ? strdup(type) : NULL;
}

/* A component the new table lacks: everything it had queued leaves on
 * its inherited upstream — the stanzas toward users (its to_up queue and
 * its replies waiting for another node) as they are, those for it
 * answered — and what cannot be answered (an error) is counted. */
static void
test_handover_removed_component(void)
{
	struct handover h = { 0 };
	struct vbuf out = { 0 };
	struct ho_conn *c;
	const uint32_t gone = 0x7e57;

	setup();
	CU_ASSERT_PTR_NULL_FATAL(comp_find_id(gone));
	h.node = strdup("node1");
	c = handover_add_conn(&h);
	c->kind = HO_C_UPSTREAM;
	c->comp_id = gone;
	ho_stanza(&h, HO_Q_TO_HOME, gone, NULL, "<message id='toh'/>", NULL,
	    0);
	ho_stanza(&h, HO_Q_TO_UP, gone, NULL, "<message id='tou'/>", NULL, 0);
	ho_stanza(&h, HO_Q_NODE, gone, "node2", "<message id='ton'/>", NULL,
	    0);
	ho_stanza(&h, HO_Q_TO_HOME, gone, NULL, "<message id='err'/>",
	    "error", 0);
	CU_ASSERT_EQUAL(route_handover_answer(&h, gone, "gone.example.test",
	    &out), 1);
	vbuf_addch(&out, '\0');
	CU_ASSERT_PTR_NOT_NULL(strstr(out.p, "<message id='tou'/>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out.p, "<message id='ton'/>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out.p, "service-unavailable"));
	CU_ASSERT_PTR_NULL(strstr(out.p, "<message id='err'/>"));
	/* None of them is queued in the new image. */
	CU_ASSERT_EQUAL(route_handover_restore(&h), 4);
	for (size_t i = 0; i < ncomps; i++)
		CU_ASSERT(comps[i].to_home.count == 0 &&
		    comps[i].to_up.count == 0);
	handover_free(&h);
	vbuf_free(&out);
	teardown();
}

/* A saved stanza that no longer fits its queue is bounced; the entry
 * queued before it keeps its own replayed flag. */
static void
test_handover_restore_bounced_keeps_flags(void)
{
	struct handover h = { 0 };
	struct vbuf big = { 0 };
	uint32_t id;

	setup();
	id = comps[PUBSUB].vc->id;
	h.node = strdup("node1");
	ho_stanza(&h, HO_Q_TO_HOME, id, NULL, "<message id='small'/>", NULL,
	    0);
	vbuf_addstr(&big, "<message id='big'><body>");
	for (uint64_t n = 0; n <= table->limits.queue_bytes; n += 64)
		vbuf_addstr(&big, "0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef");
	vbuf_addstr(&big, "</body></message>");
	vbuf_addch(&big, '\0');
	ho_stanza(&h, HO_Q_TO_HOME, id, NULL, big.p, NULL, 1);
	CU_ASSERT_EQUAL(route_handover_restore(&h), 0);
	CU_ASSERT_EQUAL_FATAL(comps[PUBSUB].to_home.count, 1);
	CU_ASSERT_EQUAL(comps[PUBSUB].to_home.tail->replayed, 0);
	handover_free(&h);
	vbuf_free(&big);
	teardown();
}

/* An upgrade whose execve() failed: the held upstream, started again,
 * sends its whitespace keepalives again (upstream_hold stopped them). */
static void
test_keepalive_after_failed_upgrade(void)
{
	struct comp *c;

	setup();
	c = &comps[MUC];
	CU_ASSERT_FATAL(table->limits.keepalive_ms > 0);
	up[0].state = UP_READY;
	upstream_start(c);
	CU_ASSERT_NOT_EQUAL(c->up_keepalive.slot, 0);
	upstream_hold(c);
	CU_ASSERT_EQUAL(c->up_keepalive.slot, 0);
	upstream_start(c);
	CU_ASSERT_NOT_EQUAL(c->up_keepalive.slot, 0);
	timer_stop(&c->up_keepalive);
	timer_stop(&c->up_retry);
	teardown();
}

/* Clustered servers: an upstream adopted after an upgrade is registered
 * while its destination is unknown; with no home reachable it is
 * reported unavailable once the grace is over (so node.c unregisters
 * it), and with one reachable at once. */
static int ngood[2], nbad[2];

static void
count_homes(struct comp *c, bool available)
{
	if (available)
		ngood[c - comps]++;
	else
		nbad[c - comps]++;
}

static void
test_unknown_dest_reported(void)
{
	uint64_t t0;

	setup();
	memset(ngood, 0, sizeof ngood);
	memset(nbad, 0, sizeof nbad);
	route_observe_homes(count_homes);
	t0 = loop_now();
	route_dest_unknown(&comps[PUBSUB], 5000);
	route_homes_changed();
	/* The links may still come up: not yet. */
	CU_ASSERT_EQUAL(nbad[PUBSUB], 0);
	loop_set_now(t0 + 4000);
	CU_ASSERT_EQUAL(nbad[PUBSUB], 0);
	/* Grace over, no home: reported without any other event. */
	loop_set_now(t0 + 5001);
	CU_ASSERT_EQUAL(nbad[PUBSUB], 1);
	CU_ASSERT_EQUAL(ngood[PUBSUB], 0);
	route_homes_changed();
	CU_ASSERT_EQUAL(nbad[PUBSUB], 1);
	/* A home reachable at the first evaluation: reported available. */
	route_dest_unknown(&comps[PUBSUB], 5000);
	reach[1] = hascomp[1] = true;
	route_homes_changed();
	CU_ASSERT_EQUAL(ngood[PUBSUB], 1);
	CU_ASSERT_EQUAL(comps[PUBSUB].dest, 2);
	route_observe_homes(NULL);
	teardown();
}

UNIT_SUITE(route)
{
	UNIT_TEST(suite, test_unknown_dest_reported);
	UNIT_TEST(suite, test_keepalive_after_failed_upgrade);
	UNIT_TEST(suite, test_handover_removed_component);
	UNIT_TEST(suite, test_handover_restore_bounced_keeps_flags);
	UNIT_TEST(suite, test_handover_queues);
	UNIT_TEST(suite, test_routes_learned_and_used);
	UNIT_TEST(suite, test_route_while_link_down);
	UNIT_TEST(suite, test_route_moves_to_own_server);
	UNIT_TEST(suite, test_restarted_home_waits_for_announcements);
	UNIT_TEST(suite, test_stopping_refuses);
	UNIT_TEST(suite, test_clustered_servers);
	UNIT_TEST(suite, test_suspended_upstream_refuses_replies);
	UNIT_TEST(suite, test_replay_when_component_leaves);
	UNIT_TEST(suite, test_queued_flushed_and_expired);
	UNIT_TEST(suite, test_local_home_changes_are_announced);
}
