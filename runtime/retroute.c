/*
 * retroute.c — the bounded LRU return-route table (retroute.h).
 *
 * Sized for a million entries in at most 64 bytes each, JID included
 * (docs/performance.md, section 5).  The layout:
 *
 *   - Entries are slots of parallel arrays indexed by a 32-bit number:
 *     recency links (prev, next), the hash chain (hnext), the offset of
 *     the entry's key record in the arena (off) and the node: 18 bytes a
 *     slot, no pointers.  The arrays double up to max slots; freed slots
 *     are reused through a free list threaded on hnext.
 *   - The bucket array holds slot numbers (4 bytes each) and doubles up
 *     to the first power of two not below max, so at most about 4 bytes
 *     per entry; it never rehashes once the table is full.
 *   - Keys are stored as compact records in one arena.  A JID's domain
 *     part is interned (a home sees users of a handful of servers: the
 *     cluster's own), so a record is the domain's number, the lengths of
 *     the localpart and of the resource, and their bytes, without the
 *     '@' and '/'.  The record is a bijection of the JID's bytes (see
 *     encode()), so comparing records is comparing JIDs byte for byte.
 *   - Evicted records leave dead bytes in the arena.  When the dead bytes
 *     reach an eighth of it, the live records are copied into a fresh
 *     arena in recency order (one O(entries) pass per eighth of the table
 *     churned; about 4 ms at a million entries).  The arena grows by a
 *     sixteenth at a time (realloc: glibc moves large blocks with mremap),
 *     so its slack stays small.
 *
 * The JIDs are chosen by remote users, so the bucket index comes from
 * SipHash-2-4 under a key drawn from getrandom(2) per table: nobody can
 * aim many JIDs at one chain.  The same holds for the domain table.  A
 * user can make every domain distinct; that costs one domain entry (its
 * bytes plus about 40) per route entry, counted by rroutes_memory(), and
 * is still bounded by max.
 *
 * Ownership: the table owns every array, the arena and the domain
 * strings; rroutes_free() releases them all.  Callers keep their JIDs.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "retroute.h"

#define NIL	UINT32_MAX

/* One interned domain part. */
struct dom {
	uint32_t hnext;             /* next domain number in the bucket */
	uint32_t refs;              /* entries whose JID has this domain */
	uint16_t len;
	char name[];
};

struct rroutes {
	/* Entry slots, parallel arrays of cap elements. */
	uint32_t *prev, *next;      /* recency list: prev is more recent */
	uint32_t *hnext;            /* bucket chain, or free list */
	uint32_t *off;              /* key record's offset in the arena */
	uint16_t *node;
	uint32_t cap, used_slots;   /* allocated; ever handed out */
	uint32_t free_slot;         /* head of the free list */
	uint32_t head, tail;        /* most and least recently used */
	uint32_t count, max;

	uint32_t *buckets;
	uint32_t nbuckets, maxbuckets;  /* powers of two */

	unsigned char *arena;
	size_t aused, acap, adead;

	/* Interned domains: numbers index doms[]; a freed number is kept
	 * in dfree[] for reuse. */
	struct dom **doms;
	uint32_t *dbuckets, *dfree;
	uint32_t dcap, dused, ndfree, ndoms, ndbuckets;
	size_t dom_bytes;           /* malloc_usable_size of every dom */

	unsigned char *scratch;     /* one encoded key, RROUTES_MAX_REC */
	uint64_t k0, k1;            /* SipHash key */
};

/* Three varints of at most 5 bytes and the JID's bytes. */
#define RROUTES_MAX_REC	(RROUTES_MAX_JID + 15)
#define INITIAL_SLOTS	16
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

/* ------------------------------------------------------ key records */

/*
 * A JID's parts, split the way RFC 7622 reads a JID: the resource starts
 * at the first '/', the localpart ends at the first '@' before it.  Any
 * byte string splits (the table takes any key), and the split is undone
 * exactly: local + '@' (if has_at) + domain + '/' + resource (if
 * has_slash).
 */
struct jid_parts {
	const char *local, *domain, *res;
	size_t llen, dlen, rlen;
	int has_at, has_slash;
};

static void
split(const char *jid, size_t len, struct jid_parts *p)
{
	const char *slash = memchr(jid, '/', len);
	size_t bare = slash != NULL ? (size_t)(slash - jid) : len;
	const char *at = memchr(jid, '@', bare);

	p->has_slash = slash != NULL;
	p->res = slash != NULL ? slash + 1 : jid + len;
	p->rlen = slash != NULL ? len - bare - 1 : 0;
	p->has_at = at != NULL;
	p->local = jid;
	p->llen = at != NULL ? (size_t)(at - jid) : 0;
	p->domain = at != NULL ? at + 1 : jid;
	p->dlen = at != NULL ? bare - p->llen - 1 : bare;
}

static size_t
put_varint(unsigned char *o, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		o[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	o[n++] = (unsigned char)v;
	return n;
}

static uint32_t
get_varint(const unsigned char **pp)
{
	const unsigned char *p = *pp;
	uint32_t v = 0;
	int shift = 0;

	do
		v |= (uint32_t)(*p & 0x7f) << shift, shift += 7;
	while (*p++ & 0x80);
	*pp = p;
	return v;
}

/*
 * The record of a JID whose domain is number d: varint d; varint llen+1,
 * or 0 without '@'; varint rlen+1, or 0 without '/'; then the localpart's
 * and the resource's bytes.  Two JIDs have the same record exactly when
 * they are the same bytes.  Returns the record's length.
 */
static size_t
encode(unsigned char *o, const struct jid_parts *p, uint32_t d)
{
	size_t n = 0;

	n += put_varint(o + n, d);
	n += put_varint(o + n, p->has_at ? (uint32_t)p->llen + 1 : 0);
	n += put_varint(o + n, p->has_slash ? (uint32_t)p->rlen + 1 : 0);
	memcpy(o + n, p->local, p->llen);
	n += p->llen;
	memcpy(o + n, p->res, p->rlen);
	return n + p->rlen;
}

/* The length of the record at rec; its domain number in *d if d. */
static size_t
rec_len(const unsigned char *rec, uint32_t *d)
{
	const unsigned char *p = rec;
	uint32_t dom = get_varint(&p), l = get_varint(&p), r = get_varint(&p);

	if (d != NULL)
		*d = dom;
	return (size_t)(p - rec) + (l > 0 ? l - 1 : 0) + (r > 0 ? r - 1 : 0);
}

/* ---------------------------------------------------------- domains */

static uint32_t
dom_find(const struct rroutes *r, const char *s, size_t len, uint64_t h)
{
	uint32_t d;

	if (r->ndbuckets == 0)
		return NIL;
	for (d = r->dbuckets[h & (r->ndbuckets - 1)]; d != NIL;
	    d = r->doms[d]->hnext)
		if (r->doms[d]->len == len &&
		    memcmp(r->doms[d]->name, s, len) == 0)
			return d;
	return NIL;
}

static void
dom_rehash(struct rroutes *r, uint32_t n)
{
	free(r->dbuckets);
	r->dbuckets = xmalloc(n * sizeof *r->dbuckets);
	r->ndbuckets = n;
	memset(r->dbuckets, 0xff, n * sizeof *r->dbuckets);
	for (uint32_t d = 0; d < r->dused; d++) {
		struct dom *e = r->doms[d];
		uint64_t h;

		if (e == NULL)
			continue;
		h = siphash(r->k0, r->k1, e->name, e->len) & (n - 1);
		e->hnext = r->dbuckets[h];
		r->dbuckets[h] = d;
	}
}

/* The number of domain s, interned now if it was not; one more ref. */
static uint32_t
dom_ref(struct rroutes *r, const char *s, size_t len)
{
	uint64_t h = siphash(r->k0, r->k1, s, len);
	uint32_t d = dom_find(r, s, len, h);
	struct dom *e;

	if (d != NIL) {
		r->doms[d]->refs++;
		return d;
	}
	if (r->ndfree > 0)
		d = r->dfree[--r->ndfree];
	else {
		if (r->dused == r->dcap) {
			r->dcap = r->dcap ? r->dcap * 2 : 16;
			r->doms = xrealloc(r->doms, r->dcap * sizeof *r->doms);
			r->dfree = xrealloc(r->dfree,
			    r->dcap * sizeof *r->dfree);
		}
		d = r->dused++;
	}
	e = xmalloc(sizeof *e + len);
	e->refs = 1;
	e->len = (uint16_t)len;
	memcpy(e->name, s, len);
	r->doms[d] = e;
	r->dom_bytes += malloc_usable_size(e);
	r->ndoms++;
	if (r->ndoms > r->ndbuckets)
		dom_rehash(r, r->ndbuckets ? r->ndbuckets * 2 : 16);
	else {
		e->hnext = r->dbuckets[h & (r->ndbuckets - 1)];
		r->dbuckets[h & (r->ndbuckets - 1)] = d;
	}
	return d;
}

static void
dom_unref(struct rroutes *r, uint32_t d)
{
	struct dom *e = r->doms[d];
	uint32_t *pp;

	if (--e->refs > 0)
		return;
	pp = &r->dbuckets[siphash(r->k0, r->k1, e->name, e->len) &
	    (r->ndbuckets - 1)];
	while (*pp != d)
		pp = &r->doms[*pp]->hnext;
	*pp = e->hnext;
	r->dom_bytes -= malloc_usable_size(e);
	free(e);
	r->doms[d] = NULL;
	r->dfree[r->ndfree++] = d;
	r->ndoms--;
}

/* ---------------------------------------------------------- the table */

struct rroutes *
rroutes_new(uint32_t max)
{
	struct rroutes *r = xmalloc(sizeof *r);
	uint64_t key[2];

	memset(r, 0, sizeof *r);
	r->max = max > 0 ? max : 1;
	r->maxbuckets = INITIAL_BUCKETS;
	while (r->maxbuckets < r->max && r->maxbuckets < (1u << 31))
		r->maxbuckets *= 2;
	r->nbuckets = INITIAL_BUCKETS;
	r->buckets = xmalloc(r->nbuckets * sizeof *r->buckets);
	memset(r->buckets, 0xff, r->nbuckets * sizeof *r->buckets);
	r->head = r->tail = r->free_slot = NIL;
	r->scratch = xmalloc(RROUTES_MAX_REC);
	random_bytes(key, sizeof key);
	r->k0 = key[0];
	r->k1 = key[1];
	return r;
}

void
rroutes_free(struct rroutes *r)
{
	if (r == NULL)
		return;
	free(r->prev);
	free(r->next);
	free(r->hnext);
	free(r->off);
	free(r->node);
	free(r->buckets);
	free(r->arena);
	for (uint32_t d = 0; d < r->dused; d++)
		free(r->doms[d]);
	free(r->doms);
	free(r->dbuckets);
	free(r->dfree);
	free(r->scratch);
	free(r);
}

static void
lru_unlink(struct rroutes *r, uint32_t e)
{
	if (r->prev[e] != NIL)
		r->next[r->prev[e]] = r->next[e];
	else
		r->head = r->next[e];
	if (r->next[e] != NIL)
		r->prev[r->next[e]] = r->prev[e];
	else
		r->tail = r->prev[e];
}

static void
lru_push_front(struct rroutes *r, uint32_t e)
{
	r->prev[e] = NIL;
	r->next[e] = r->head;
	if (r->head != NIL)
		r->prev[r->head] = e;
	else
		r->tail = e;
	r->head = e;
}

static uint64_t
rec_hash(const struct rroutes *r, uint32_t e)
{
	const unsigned char *rec = r->arena + r->off[e];

	return siphash(r->k0, r->k1, rec, rec_len(rec, NULL));
}

/* Unlinks e from the table, frees its slot and drops its record. */
static void
remove_entry(struct rroutes *r, uint32_t e)
{
	uint32_t *pp = &r->buckets[rec_hash(r, e) & (r->nbuckets - 1)];
	uint32_t d;

	while (*pp != e)
		pp = &r->hnext[*pp];
	*pp = r->hnext[e];
	lru_unlink(r, e);
	r->adead += rec_len(r->arena + r->off[e], &d);
	dom_unref(r, d);
	r->hnext[e] = r->free_slot;
	r->free_slot = e;
	r->count--;
}

static uint32_t
find(const struct rroutes *r, const unsigned char *rec, size_t len,
    uint64_t h)
{
	uint32_t e;

	for (e = r->buckets[h & (r->nbuckets - 1)]; e != NIL;
	    e = r->hnext[e]) {
		const unsigned char *s = r->arena + r->off[e];

		if (rec_len(s, NULL) == len && memcmp(s, rec, len) == 0)
			return e;
	}
	return NIL;
}

/* Doubles the bucket array, moving every entry to its new chain. */
static void
grow_buckets(struct rroutes *r)
{
	uint32_t n = r->nbuckets * 2;

	free(r->buckets);
	r->buckets = xmalloc(n * sizeof *r->buckets);
	memset(r->buckets, 0xff, n * sizeof *r->buckets);
	r->nbuckets = n;
	for (uint32_t e = r->head; e != NIL; e = r->next[e]) {
		uint64_t b = rec_hash(r, e) & (n - 1);

		r->hnext[e] = r->buckets[b];
		r->buckets[b] = e;
	}
}

/* A free slot, growing the slot arrays (at most to max) if none is. */
static uint32_t
new_slot(struct rroutes *r)
{
	uint32_t e;

	if (r->free_slot != NIL) {
		e = r->free_slot;
		r->free_slot = r->hnext[e];
		return e;
	}
	if (r->used_slots == r->cap) {
		uint32_t n = r->cap ? r->cap * 2 : INITIAL_SLOTS;

		if (n > r->max || n < r->cap)
			n = r->max;
		r->prev = xrealloc(r->prev, (size_t)n * sizeof *r->prev);
		r->next = xrealloc(r->next, (size_t)n * sizeof *r->next);
		r->hnext = xrealloc(r->hnext, (size_t)n * sizeof *r->hnext);
		r->off = xrealloc(r->off, (size_t)n * sizeof *r->off);
		r->node = xrealloc(r->node, (size_t)n * sizeof *r->node);
		r->cap = n;
	}
	return r->used_slots++;
}

/*
 * Room for need more bytes at the arena's end: compacts when an eighth
 * of the arena is dead, else grows it by a sixteenth (or by need).
 */
static void
arena_reserve(struct rroutes *r, size_t need)
{
	size_t n;

	if (r->aused + need <= r->acap)
		return;
	if (r->adead >= r->acap / 8 && r->adead >= need) {
		size_t live = r->aused - r->adead;
		unsigned char *na;
		size_t o = 0;

		n = live + live / 16 + need;
		na = xmalloc(n);
		for (uint32_t e = r->head; e != NIL; e = r->next[e]) {
			size_t l = rec_len(r->arena + r->off[e], NULL);

			memcpy(na + o, r->arena + r->off[e], l);
			r->off[e] = (uint32_t)o;
			o += l;
		}
		free(r->arena);
		r->arena = na;
		r->aused = o;
		r->adead = 0;
		r->acap = n;
		return;
	}
	n = r->acap + r->acap / 16;
	if (n < r->aused + need)
		n = r->aused + need;
	if (n < 4096)
		n = 4096;
	/* Offsets are 32-bit: 4 GiB of keys is 1.3 M entries of the
	 * longest JIDs, more than any table sized by max-stanza-bound
	 * JIDs and the default bound needs; past it, compact or abort. */
	if (n > UINT32_MAX) {
		fprintf(stderr, "out of memory (route keys past 4 GiB)\n");
		abort();
	}
	r->arena = xrealloc(r->arena, n);
	r->acap = n;
}

bool
rroutes_learn(struct rroutes *r, const char *jid, size_t len, uint16_t node)
{
	struct jid_parts p;
	uint32_t d, e;
	uint64_t h, b;
	size_t rl;

	/* The parser does not bound attribute values, so a user could
	 * otherwise pin up to max-stanza bytes per entry: a million entries
	 * of half a megabyte each.  Nothing longer than a JID can be. */
	if (len > RROUTES_MAX_JID)
		return false;
	split(jid, len, &p);
	d = dom_ref(r, p.domain, p.dlen);
	rl = encode(r->scratch, &p, d);
	h = siphash(r->k0, r->k1, r->scratch, rl);
	if ((e = find(r, r->scratch, rl, h)) != NIL) {
		dom_unref(r, d);
		r->node[e] = node;
		if (e != r->head) {
			lru_unlink(r, e);
			lru_push_front(r, e);
		}
		return true;
	}
	if (r->count >= r->max)
		remove_entry(r, r->tail);
	if (r->count >= r->nbuckets && r->nbuckets < r->maxbuckets)
		grow_buckets(r);
	e = new_slot(r);
	arena_reserve(r, rl);
	memcpy(r->arena + r->aused, r->scratch, rl);
	r->off[e] = (uint32_t)r->aused;
	r->aused += rl;
	r->node[e] = node;
	b = h & (r->nbuckets - 1);
	r->hnext[e] = r->buckets[b];
	r->buckets[b] = e;
	lru_push_front(r, e);
	r->count++;
	return true;
}

bool
rroutes_learn_new(struct rroutes *r, const char *jid, size_t len,
    uint16_t node)
{
	uint16_t old;

	/* The lookup makes an existing entry the most recent: harmless,
	 * since it is being announced as in use. */
	if (len > RROUTES_MAX_JID || rroutes_lookup(r, jid, len, &old))
		return false;
	return rroutes_learn(r, jid, len, node);
}

void
rroutes_each(const struct rroutes *r,
    void (*fn)(const char *jid, size_t len, uint16_t node, void *arg),
    void *arg)
{
	char buf[RROUTES_MAX_JID + 1];

	/* Least recent first, so that a receiver that learns them in order
	 * ends with the same recency order.  Each record is decoded back
	 * into the JID's bytes (the inverse of encode()). */
	for (uint32_t e = r->tail; e != NIL; e = r->prev[e]) {
		const unsigned char *p = r->arena + r->off[e];
		uint32_t d = get_varint(&p), l = get_varint(&p);
		uint32_t rl = get_varint(&p);
		const struct dom *dm = r->doms[d];
		size_t n = 0;

		if (l > 0) {
			memcpy(buf, p, l - 1);
			p += l - 1;
			n = l - 1;
			buf[n++] = '@';
		}
		memcpy(buf + n, dm->name, dm->len);
		n += dm->len;
		if (rl > 0) {
			buf[n++] = '/';
			memcpy(buf + n, p, rl - 1);
			n += rl - 1;
		}
		fn(buf, n, r->node[e], arg);
	}
}

bool
rroutes_lookup(struct rroutes *r, const char *jid, size_t len, uint16_t *node)
{
	struct jid_parts p;
	uint32_t d, e;
	size_t rl;

	if (len > RROUTES_MAX_JID)
		return false;
	split(jid, len, &p);
	/* A JID whose domain no entry has is not in the table. */
	d = dom_find(r, p.domain, p.dlen,
	    siphash(r->k0, r->k1, p.domain, p.dlen));
	if (d == NIL)
		return false;
	rl = encode(r->scratch, &p, d);
	e = find(r, r->scratch, rl, siphash(r->k0, r->k1, r->scratch, rl));
	if (e == NIL)
		return false;
	if (e != r->head) {
		lru_unlink(r, e);
		lru_push_front(r, e);
	}
	*node = r->node[e];
	return true;
}

void
rroutes_forget_node(struct rroutes *r, uint16_t node)
{
	uint32_t e, next;

	for (e = r->head; e != NIL; e = next) {
		next = r->next[e];
		if (r->node[e] == node)
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
	size_t slot = 4 * sizeof(uint32_t) + sizeof(uint16_t);

	/* Every block as allocated (capacity, not use).  The few big
	 * blocks carry one malloc header each, negligible; each domain
	 * string is a small chunk with one size word of its own in glibc,
	 * added here so that the figure matches the heap's growth. */
	return sizeof *r + (size_t)r->cap * slot +
	    (size_t)r->nbuckets * sizeof *r->buckets + r->acap +
	    RROUTES_MAX_REC + (size_t)r->dcap * (sizeof *r->doms +
	    sizeof *r->dfree) + (size_t)r->ndbuckets * sizeof *r->dbuckets +
	    r->dom_bytes + r->ndoms * sizeof(size_t);
}
