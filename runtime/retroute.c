/*
 * retroute.c — the bounded LRU return-route table (retroute.h).
 *
 * Layout: a chained hash table of individually allocated entries, each
 * carrying its JID inline (one malloc per entry), threaded on an
 * intrusive doubly-linked list in recency order (head = most recent).
 * The bucket array doubles whenever the entries outnumber the buckets, up
 * to the first power of two not below max, so it never costs more than
 * about one pointer per entry and never rehashes once the table is full.
 *
 * The JIDs are chosen by remote users, so the bucket index comes from
 * SipHash-2-4 under a key drawn from getrandom(2) per table: nobody can
 * aim many JIDs at one chain.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "retroute.h"

struct rent {
	struct rent *hnext;         /* next in the same bucket */
	struct rent *prev, *next;   /* recency list: prev is more recent */
	uint32_t hash;
	uint16_t node;
	uint16_t len;               /* at most RROUTES_MAX_JID */
	char jid[];
};

struct rroutes {
	struct rent **buckets;
	size_t nbuckets;            /* a power of two */
	size_t maxbuckets;
	size_t count, max;
	struct rent *head, *tail;   /* most and least recently used */
	size_t entry_bytes;         /* malloc_usable_size of every entry */
	uint64_t k0, k1;            /* SipHash key */
};

#define INITIAL_BUCKETS	16

/* ------------------------------------------------------------ SipHash */

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do {                                                   \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                          \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                          \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
} while (0)

/* SipHash-2-4 (Aumasson and Bernstein, 2012) of p[0..n) under k0, k1. */
static uint64_t
siphash(uint64_t k0, uint64_t k1, const void *p, size_t n)
{
	const uint8_t *in = p;
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
	uint64_t v3 = k1 ^ 0x7465646279746573ULL;
	uint64_t m, b = (uint64_t)n << 56;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | in[i + j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---------------------------------------------------------- the table */

struct rroutes *
rroutes_new(uint32_t max)
{
	struct rroutes *r = xcalloc(1, sizeof *r);
	uint64_t key[2];

	r->max = max > 0 ? max : 1;
	r->maxbuckets = INITIAL_BUCKETS;
	while (r->maxbuckets < r->max)
		r->maxbuckets *= 2;
	r->nbuckets = INITIAL_BUCKETS;
	r->buckets = xcalloc(r->nbuckets, sizeof *r->buckets);
	random_bytes(key, sizeof key);
	r->k0 = key[0];
	r->k1 = key[1];
	return r;
}

void
rroutes_free(struct rroutes *r)
{
	struct rent *e, *next;

	if (r == NULL)
		return;
	for (e = r->head; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	free(r->buckets);
	free(r);
}

static void
lru_unlink(struct rroutes *r, struct rent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		r->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		r->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_front(struct rroutes *r, struct rent *e)
{
	e->prev = NULL;
	e->next = r->head;
	if (r->head != NULL)
		r->head->prev = e;
	else
		r->tail = e;
	r->head = e;
}

/* Removes e from its bucket's chain. */
static void
hash_unlink(struct rroutes *r, struct rent *e)
{
	struct rent **pp = &r->buckets[e->hash & (r->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
}

/* Unlinks and frees e. */
static void
remove_entry(struct rroutes *r, struct rent *e)
{
	hash_unlink(r, e);
	lru_unlink(r, e);
	r->entry_bytes -= malloc_usable_size(e);
	r->count--;
	free(e);
}

static struct rent *
find(const struct rroutes *r, const char *jid, size_t len, uint32_t h)
{
	struct rent *e;

	for (e = r->buckets[h & (r->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->len == len &&
		    memcmp(e->jid, jid, len) == 0)
			return e;
	return NULL;
}

/* Doubles the bucket array, moving every entry to its new chain. */
static void
grow(struct rroutes *r)
{
	size_t n = r->nbuckets * 2;
	struct rent **nb = xcalloc(n, sizeof *nb);

	for (size_t i = 0; i < r->nbuckets; i++) {
		struct rent *e, *next;

		for (e = r->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(r->buckets);
	r->buckets = nb;
	r->nbuckets = n;
}

bool
rroutes_learn(struct rroutes *r, const char *jid, size_t len, uint16_t node)
{
	uint32_t h;
	struct rent *e, **b;

	/* The parser does not bound attribute values, so a user could
	 * otherwise pin up to max-stanza bytes per entry: a million entries
	 * of half a megabyte each.  Nothing longer than a JID can be. */
	if (len > RROUTES_MAX_JID)
		return false;
	h = (uint32_t)siphash(r->k0, r->k1, jid, len);
	if ((e = find(r, jid, len, h)) != NULL) {
		e->node = node;
		lru_unlink(r, e);
		lru_push_front(r, e);
		return true;
	}
	if (r->count >= r->max)
		remove_entry(r, r->tail);
	if (r->count >= r->nbuckets && r->nbuckets < r->maxbuckets)
		grow(r);
	e = xmalloc(sizeof *e + len);
	e->hash = h;
	e->node = node;
	e->len = (uint16_t)len;
	memcpy(e->jid, jid, len);
	b = &r->buckets[h & (r->nbuckets - 1)];
	e->hnext = *b;
	*b = e;
	lru_push_front(r, e);
	r->entry_bytes += malloc_usable_size(e);
	r->count++;
	return true;
}

bool
rroutes_lookup(struct rroutes *r, const char *jid, size_t len, uint16_t *node)
{
	struct rent *e;

	if (len > RROUTES_MAX_JID)
		return false;
	e = find(r, jid, len, (uint32_t)siphash(r->k0, r->k1, jid, len));
	if (e == NULL)
		return false;
	if (e != r->head) {
		lru_unlink(r, e);
		lru_push_front(r, e);
	}
	*node = e->node;
	return true;
}

void
rroutes_forget_node(struct rroutes *r, uint16_t node)
{
	struct rent *e, *next;

	for (e = r->head; e != NULL; e = next) {
		next = e->next;
		if (e->node == node)
			remove_entry(r, e);
	}
}

size_t
rroutes_count(const struct rroutes *r)
{
	return r->count;
}

size_t
rroutes_memory(const struct rroutes *r)
{
	/* malloc_usable_size() counts what the allocator really reserved
	 * for an entry (rounding included); each chunk also carries one
	 * size word of its own in glibc, added here so that the figure
	 * matches the heap's growth. */
	return sizeof *r + r->nbuckets * sizeof *r->buckets +
	    r->entry_bytes + r->count * sizeof(size_t);
}
