/*
 * preauth.c — bounds on the connections a listener holds before they
 * authenticate (the home listener, home.c; the peer listener, peer.c).
 *
 * Anyone who can reach a listener can open connections and say nothing.
 * A plain cap that refuses new connections once reached hands the
 * listener to whoever holds the most idle sockets: 64 of them locked a
 * real component out of the home listener, 16 kept a restarted node's
 * peer link down.  So nothing is refused here; when a bound is reached a
 * connection is evicted instead, and it is the one that has proved least:
 *
 *   - at most max_source unauthenticated connections per source address
 *     (the host, without the port): a new one evicts one of that source,
 *     so a stranger's sockets only ever push out each other, never those
 *     of another host;
 *   - at most max_total in all: a new one evicts one of any source;
 *   - the victim is the oldest connection that has not shown it speaks the
 *     protocol (preauth_progress: a valid stream header, a valid HELLO),
 *     else the oldest of all.
 *
 * A legitimate component or peer speaks at once and authenticates within
 * a round trip or two, so it is never the oldest idle connection, and to
 * push it out an attacker must open the whole per-source bound of
 * connections that also speak the protocol within that round trip.  The
 * owner arms a short authentication timeout on each connection besides.
 *
 * Ownership: struct preauth is the listener owner's (static in home.c and
 * peer.c); connections are only linked into its list, never owned.
 * conn_close() takes a connection off its list (preauth_remove), so the
 * list never holds a dead one.
 */
#include <inttypes.h>
#include <string.h>

#include "vcrt.h"

/* Evictions are logged at most this often per listener (with a count). */
#define PREAUTH_LOG_EVERY_MS	1000

static bool
same_source(const struct conn *a, const char *src)
{
	return strcmp(a->pa_src, src) == 0;
}

/* The oldest connection of src (NULL: of any source) that made no
 * progress, else the oldest of src at all. */
static struct conn *
victim(struct preauth *pa, const char *src)
{
	struct conn *any = NULL;

	for (struct conn *c = pa->head; c != NULL; c = c->pa_next) {
		if (src != NULL && !same_source(c, src))
			continue;
		if (!c->pa_progress)
			return c;
		if (any == NULL)
			any = c;
	}
	return any;
}

static void
evict(struct preauth *pa, struct conn *c, const char *why)
{
	uint64_t now = loop_now();

	pa->evicted++;
	if (pa->logged_at == 0 || now - pa->logged_at >= PREAUTH_LOG_EVERY_MS) {
		vlog(VL_WARN, "%s: %s; closed %" PRIu64 " unauthenticated "
		    "connection(s) to make room, the oldest idle first (last: "
		    "%s)", pa->what, why, pa->evicted - pa->evicted_logged,
		    c->name);
		pa->logged_at = now;
		pa->evicted_logged = pa->evicted;
	}
	conn_close(c, "evicted before authenticating");
}

/* The source of peer ("HOST:PORT", HOST possibly an IPv6 address) into
 * src: everything before the last ':'. */
static void
source_of(const char *peer, char *src, size_t size)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);

	if (n >= size)
		n = size - 1;
	memcpy(src, peer, n);
	src[n] = '\0';
}

struct conn *
preauth_victim(struct preauth *pa, const char *peer, const char **why)
{
	char src[sizeof ((struct conn *)0)->pa_src];
	size_t k = 0;
	struct conn *v;

	source_of(peer, src, sizeof src);
	for (struct conn *o = pa->head; o != NULL; o = o->pa_next)
		if (same_source(o, src))
			k++;
	if (k >= pa->max_source && (v = victim(pa, src)) != NULL) {
		*why = "too many unauthenticated connections from one address";
		return v;
	}
	if (pa->n >= pa->max_total && (v = victim(pa, NULL)) != NULL) {
		*why = "too many unauthenticated connections";
		return v;
	}
	return NULL;
}

void
preauth_add(struct preauth *pa, struct conn *c, const char *peer)
{
	struct conn *v;
	const char *why;

	if ((v = preauth_victim(pa, peer, &why)) != NULL)
		evict(pa, v, why);
	source_of(peer, c->pa_src, sizeof c->pa_src);
	c->pa = pa;
	c->pa_progress = false;
	c->pa_next = NULL;
	c->pa_prev = pa->tail;
	if (pa->tail != NULL)
		pa->tail->pa_next = c;
	else
		pa->head = c;
	pa->tail = c;
	pa->n++;
}

void
preauth_progress(struct conn *c, bool progress)
{
	c->pa_progress = progress;
}

void
preauth_remove(struct conn *c)
{
	struct preauth *pa = c->pa;

	if (pa == NULL)
		return;
	if (c->pa_prev != NULL)
		c->pa_prev->pa_next = c->pa_next;
	else
		pa->head = c->pa_next;
	if (c->pa_next != NULL)
		c->pa_next->pa_prev = c->pa_prev;
	else
		pa->tail = c->pa_prev;
	c->pa = NULL;
	c->pa_next = c->pa_prev = NULL;
	pa->n--;
}
