/*
 * test_retroute.c — the bounded LRU return-route table (runtime/retroute.c).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retroute.h"
#include "../unit.h"

static void
learn(struct rroutes *r, const char *jid, uint16_t node)
{
	rroutes_learn(r, jid, strlen(jid), node);
}

/* The node of jid, or -1 when it has no route. */
static int
look(struct rroutes *r, const char *jid)
{
	uint16_t n = 0xffff;

	if (!rroutes_lookup(r, jid, strlen(jid), &n))
		return -1;
	return n;
}

static void
test_learn_lookup_update(void)
{
	struct rroutes *r = rroutes_new(10);

	CU_ASSERT_EQUAL(rroutes_count(r), 0);
	CU_ASSERT_EQUAL(look(r, "a@x/1"), -1);
	learn(r, "a@x/1", 1);
	learn(r, "b@x/1", 2);
	CU_ASSERT_EQUAL(look(r, "a@x/1"), 1);
	CU_ASSERT_EQUAL(look(r, "b@x/1"), 2);
	CU_ASSERT_EQUAL(rroutes_count(r), 2);
	/* Learning again updates in place. */
	learn(r, "a@x/1", 3);
	CU_ASSERT_EQUAL(look(r, "a@x/1"), 3);
	CU_ASSERT_EQUAL(rroutes_count(r), 2);
	/* Byte-exact: case, prefixes and embedded NULs all differ. */
	CU_ASSERT_EQUAL(look(r, "A@x/1"), -1);
	CU_ASSERT_EQUAL(look(r, "a@x/"), -1);
	CU_ASSERT_EQUAL(look(r, "a@x/12"), -1);
	rroutes_learn(r, "a@x/1\0z", 7, 7);
	CU_ASSERT_EQUAL(look(r, "a@x/1"), 3);
	{
		uint16_t n;

		CU_ASSERT_TRUE(rroutes_lookup(r, "a@x/1\0z", 7, &n));
		CU_ASSERT_EQUAL(n, 7);
	}
	/* The empty JID is a key like any other. */
	learn(r, "", 9);
	CU_ASSERT_EQUAL(look(r, ""), 9);
	CU_ASSERT_EQUAL(rroutes_count(r), 4);
	rroutes_free(r);
	rroutes_free(NULL);
}

static void
test_lru_order(void)
{
	struct rroutes *r = rroutes_new(3);

	learn(r, "a", 1);
	learn(r, "b", 2);
	learn(r, "c", 3);
	/* A lookup refreshes a, so b is now the least recently used. */
	CU_ASSERT_EQUAL(look(r, "a"), 1);
	learn(r, "d", 4);
	CU_ASSERT_EQUAL(rroutes_count(r), 3);
	CU_ASSERT_EQUAL(look(r, "b"), -1);
	/* Order now (oldest first): c a d.  Re-learning c refreshes it. */
	learn(r, "c", 5);
	learn(r, "e", 6);
	CU_ASSERT_EQUAL(look(r, "a"), -1);
	CU_ASSERT_EQUAL(look(r, "c"), 5);
	CU_ASSERT_EQUAL(look(r, "d"), 4);
	CU_ASSERT_EQUAL(look(r, "e"), 6);
	/* Order: c d e.  Without lookups, learning evicts in learn order. */
	learn(r, "f", 7);
	CU_ASSERT_EQUAL(rroutes_count(r), 3);
	learn(r, "g", 8);
	CU_ASSERT_EQUAL(rroutes_count(r), 3);
	CU_ASSERT_EQUAL(look(r, "c"), -1);
	CU_ASSERT_EQUAL(look(r, "d"), -1);
	CU_ASSERT_EQUAL(look(r, "e"), 6);
	CU_ASSERT_EQUAL(look(r, "f"), 7);
	CU_ASSERT_EQUAL(look(r, "g"), 8);
	rroutes_free(r);

	/* max 0 is taken as 1. */
	r = rroutes_new(0);
	learn(r, "a", 1);
	learn(r, "b", 2);
	CU_ASSERT_EQUAL(rroutes_count(r), 1);
	CU_ASSERT_EQUAL(look(r, "a"), -1);
	CU_ASSERT_EQUAL(look(r, "b"), 2);
	rroutes_free(r);
}

static void
test_bound(void)
{
	struct rroutes *r = rroutes_new(1000);
	char jid[64];
	size_t mem1000 = 0, present = 0;

	for (int i = 0; i < 100000; i++) {
		snprintf(jid, sizeof jid, "user%d@example.test/res-%06x", i,
		    i * 2654435761u & 0xffffff);
		learn(r, jid, (uint16_t)(i % 7));
		if (i == 999)
			mem1000 = rroutes_memory(r);
	}
	CU_ASSERT_EQUAL(rroutes_count(r), 1000);
	/* Churn through 99 000 evictions did not grow the table. */
	CU_ASSERT(rroutes_memory(r) <= mem1000 + 1000 * 16);
	CU_ASSERT(rroutes_memory(r) < 1000 * 160);
	for (int i = 0; i < 100000; i++) {
		snprintf(jid, sizeof jid, "user%d@example.test/res-%06x", i,
		    i * 2654435761u & 0xffffff);
		if (i < 99000)
			present += look(r, jid) >= 0;
		else
			CU_ASSERT_EQUAL(look(r, jid), i % 7);
	}
	CU_ASSERT_EQUAL(present, 0);
	rroutes_free(r);
}

/*
 * RFC 7622 bounds a JID at 3071 bytes (three parts of 1023 and two
 * separators).  A longer "JID" — the parser does not bound attribute
 * values — is not learned, neither as a new entry nor as an update, so
 * a user cannot pin max-stanza bytes per route entry.
 */
static void
test_jid_length_bound(void)
{
	struct rroutes *r = rroutes_new(10);
	size_t big = 70000;
	char *jid = malloc(big);
	uint16_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(jid);
	CU_ASSERT_EQUAL(RROUTES_MAX_JID, 3071);
	memset(jid, 'a', big);
	/* 3071 bytes: the longest valid JID is learned and found. */
	CU_ASSERT_TRUE(rroutes_learn(r, jid, 3071, 4));
	CU_ASSERT_TRUE(rroutes_lookup(r, jid, 3071, &n));
	CU_ASSERT_EQUAL(n, 4);
	/* 3072 bytes: refused; the table is unchanged. */
	CU_ASSERT_FALSE(rroutes_learn(r, jid, 3072, 5));
	CU_ASSERT_FALSE(rroutes_lookup(r, jid, 3072, &n));
	CU_ASSERT_EQUAL(rroutes_count(r), 1);
	/* Lengths the old 16-bit field still accepted, and beyond it. */
	CU_ASSERT_FALSE(rroutes_learn(r, jid, 65535, 5));
	CU_ASSERT_FALSE(rroutes_learn(r, jid, 65536, 5));
	CU_ASSERT_FALSE(rroutes_learn(r, jid, big, 5));
	CU_ASSERT_EQUAL(rroutes_count(r), 1);
	CU_ASSERT_TRUE(rroutes_lookup(r, jid, 3071, &n));
	CU_ASSERT_EQUAL(n, 4);
	free(jid);
	rroutes_free(r);
}

static void
test_forget_node(void)
{
	struct rroutes *r = rroutes_new(100);
	char jid[32];

	for (int i = 0; i < 60; i++) {
		snprintf(jid, sizeof jid, "u%d@x", i);
		learn(r, jid, (uint16_t)(i % 3));
	}
	rroutes_forget_node(r, 1);
	CU_ASSERT_EQUAL(rroutes_count(r), 40);
	for (int i = 0; i < 60; i++) {
		snprintf(jid, sizeof jid, "u%d@x", i);
		CU_ASSERT_EQUAL(look(r, jid), i % 3 == 1 ? -1 : i % 3);
	}
	/* The table still works after removals from the middle. */
	learn(r, "u1@x", 2);
	CU_ASSERT_EQUAL(look(r, "u1@x"), 2);
	rroutes_forget_node(r, 0);
	rroutes_forget_node(r, 2);
	CU_ASSERT_EQUAL(rroutes_count(r), 0);
	learn(r, "v@x", 5);
	CU_ASSERT_EQUAL(look(r, "v@x"), 5);
	rroutes_free(r);
}

/*
 * Memory per entry at the default bound, with JIDs of the realistic
 * shape "user12345@example.test/res-abcdef" (32 to 33 bytes).  The
 * figure the table reports is checked against the heap's own growth
 * (mallinfo2; skipped under AddressSanitizer, whose allocator glibc does
 * not see) and printed for the operator's note.
 */
static void
test_memory_per_entry(void)
{
	enum { N = 1000000 };
	struct mallinfo2 before, after;
	struct rroutes *r;
	char jid[64];
	double per, heap;

	before = mallinfo2();
	r = rroutes_new(N);
	for (int i = 0; i < N; i++) {
		snprintf(jid, sizeof jid, "user%05d@example.test/res-%06x",
		    i % 100000, (unsigned)i * 2654435761u & 0xffffff);
		learn(r, jid, (uint16_t)(i & 3));
	}
	after = mallinfo2();
	CU_ASSERT_EQUAL(rroutes_count(r), N);
	per = (double)rroutes_memory(r) / N;
	/* Small chunks are in uordblks, the bucket array (megabytes) is
	 * mmapped and counted in hblkhd. */
	heap = (double)(after.uordblks + after.hblkhd - before.uordblks -
	    before.hblkhd) / N;
	printf("\n    routes: %d entries, %.1f bytes/entry (table), "
	    "%.1f bytes/entry (heap growth) ", N, per, heap);
	/* One entry is 18 bytes of slot, 4 of bucket and its record: the
	 * localpart and resource (26 bytes here) and three bytes of
	 * header; the domain is interned.  About 50 with the arena's
	 * slack. */
	CU_ASSERT(per < 64);
	if (after.uordblks + after.hblkhd > before.uordblks + before.hblkhd) {
		/* glibc malloc: the table's own count is honest. */
		CU_ASSERT(heap < per * 1.05 && heap > per * 0.95);
	}
	rroutes_free(r);
}

/*
 * Keys that split oddly: several '@' and '/', either missing, empty
 * parts, embedded NULs.  Each is its own key, and none is confused with
 * another that has the same bytes in other parts.
 */
static void
test_odd_keys(void)
{
	static const char *const keys[] = {
		"", "@", "/", "@/", "/@", "a", "a@", "@a", "a/", "/a",
		"a@b", "a@b/", "a@/b", "@a/b", "a/b@c", "a@b@c/d/e",
		"a@b@c/d", "a@b/c@d", "ab@/", "a@b/c/", "b@c/a", "c/a@b",
	};
	size_t n = sizeof keys / sizeof keys[0];
	struct rroutes *r = rroutes_new(100);

	for (size_t i = 0; i < n; i++)
		learn(r, keys[i], (uint16_t)i);
	CU_ASSERT_EQUAL(rroutes_count(r), n);
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(look(r, keys[i]), (int)i);
	rroutes_learn(r, "a\0@b\0/\0", 6, 77);
	CU_ASSERT_EQUAL(look(r, "a"), 5);
	{
		uint16_t v;

		CU_ASSERT_TRUE(rroutes_lookup(r, "a\0@b\0/\0", 6, &v));
		CU_ASSERT_EQUAL(v, 77);
		CU_ASSERT_FALSE(rroutes_lookup(r, "a\0@b\0/", 5, &v));
	}
	rroutes_free(r);
}

/*
 * Random learns, lookups and node drops against a plain array kept in
 * recency order: every answer and the eviction order must agree.  Many
 * domains come and go (interning and its reuse of numbers), and the
 * churn compacts the arena many times.
 */
static void
test_against_model(void)
{
	enum { MAX = 64, KEYS = 400, OPS = 200000 };
	struct { int key; uint16_t node; } model[MAX];
	int nmodel = 0;
	struct rroutes *r = rroutes_new(MAX);
	uint32_t seed = 12345;
	char jid[96];
	size_t mismatches = 0;

	for (int op = 0; op < OPS; op++) {
		int k, i, kind;
		uint16_t v = 0;
		bool found;

		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 8) % KEYS);
		kind = (int)((seed >> 20) % 16);
		/* Lengths vary so dead bytes come in all sizes. */
		snprintf(jid, sizeof jid, "u%d%.*s@d%d.test/r%d", k, k % 23,
		    "xxxxxxxxxxxxxxxxxxxxxxx", k % 37, k % 5);
		for (i = 0; i < nmodel && model[i].key != k; i++)
			;
		if (kind < 7) {
			uint16_t node = (uint16_t)(seed % 4);

			learn(r, jid, node);
			if (i < nmodel)
				memmove(&model[1], &model[0], i * sizeof model[0]);
			else {
				if (nmodel == MAX)
					nmodel--;
				memmove(&model[1], &model[0],
				    nmodel * sizeof model[0]);
				nmodel++;
			}
			model[0].key = k;
			model[0].node = node;
		} else if (kind < 15) {
			found = rroutes_lookup(r, jid, strlen(jid), &v);
			if (found != (i < nmodel) ||
			    (found && v != model[i].node))
				mismatches++;
			if (i < nmodel) {
				uint16_t node = model[i].node;

				memmove(&model[1], &model[0], i * sizeof model[0]);
				model[0].key = k;
				model[0].node = node;
			}
		} else {
			uint16_t node = (uint16_t)(seed % 4);
			int j = 0;

			rroutes_forget_node(r, node);
			for (i = 0; i < nmodel; i++)
				if (model[i].node != node)
					model[j++] = model[i];
			nmodel = j;
		}
		if (rroutes_count(r) != (size_t)nmodel)
			mismatches++;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	/* Churn keeps the table near its size: slots stay at MAX, the
	 * arena at its 4 KiB minimum (64 keys of at most 60 bytes), beside
	 * the 3 KiB scratch key and the domains. */
	CU_ASSERT(rroutes_memory(r) < 12 * 1024);
	rroutes_free(r);
}

/*
 * The bench's JIDs (tests/bench/routes_mem.c: 51 bytes on average, four
 * domains): at most 64 bytes an entry at a million, the issue's bound.
 * After half the table was churned (longer JIDs replacing shorter ones,
 * compactions), the arena may also hold up to an eighth of dead bytes
 * and its growth slack: at most 72.
 */
static void
test_bench_shape(void)
{
	enum { N = 1000000 };
	static const char *const domains[] = {
		"example.test", "chat.example.test", "users.example.org",
		"im.example.net",
	};
	static const char *const clients[] = {
		"Conversations", "gajim", "Dino", "Psi+", "monal", "Siskin",
	};
	struct rroutes *r = rroutes_new(N);
	char jid[128];
	double per;

	for (uint32_t i = 0; i < N + N / 2; i++) {
		snprintf(jid, sizeof jid, "user%u.%x@%s/%s.%08x", i,
		    i * 2654435761u, domains[i % 4], clients[(i / 4) % 6],
		    i * 40503u);
		learn(r, jid, (uint16_t)(i % 16));
		if (i == N - 1) {
			per = (double)rroutes_memory(r) / N;
			printf("\n    routes: bench JIDs, %.1f bytes/entry full, ",
			    per);
			CU_ASSERT(per <= 64);
		}
	}
	per = (double)rroutes_memory(r) / N;
	printf("%.1f after churn ", per);
	CU_ASSERT(per <= 72);
	CU_ASSERT_EQUAL(look(r, "user1499999.0@example.test/x"), -1);
	snprintf(jid, sizeof jid, "user%u.%x@%s/%s.%08x", 1499999u,
	    1499999u * 2654435761u, domains[1499999 % 4],
	    clients[(1499999 / 4) % 6], 1499999u * 40503u);
	CU_ASSERT_EQUAL(look(r, jid), 1499999 % 16);
	rroutes_free(r);
}

struct each_seen {
	char jids[8][64];
	uint16_t nodes[8];
	int n;
};

static void
collect(const char *jid, size_t len, uint16_t node, void *arg)
{
	struct each_seen *e = arg;

	if (e->n < 8) {
		snprintf(e->jids[e->n], 64, "%.*s", (int)len, jid);
		e->nodes[e->n] = node;
	}
	e->n++;
}

/* rroutes_each gives every JID back byte for byte (whatever its shape),
 * least recent first; rroutes_learn_new never replaces a route. */
static void
test_each_and_learn_new(void)
{
	struct rroutes *r = rroutes_new(10);
	struct each_seen e = { .n = 0 };

	learn(r, "a@x/1", 1);
	learn(r, "x.example", 2);
	learn(r, "b@x", 3);
	learn(r, "x/r@s", 4);
	CU_ASSERT_FALSE(rroutes_learn_new(r, "a@x/1", 5, 7));
	CU_ASSERT_EQUAL(look(r, "a@x/1"), 1);
	CU_ASSERT(rroutes_learn_new(r, "c@x/2", 5, 7));
	rroutes_each(r, collect, &e);
	CU_ASSERT_EQUAL_FATAL(e.n, 5);
	/* a@x/1 became the most recent through the lookups above. */
	CU_ASSERT_STRING_EQUAL(e.jids[0], "x.example");
	CU_ASSERT_EQUAL(e.nodes[0], 2);
	CU_ASSERT_STRING_EQUAL(e.jids[1], "b@x");
	CU_ASSERT_STRING_EQUAL(e.jids[2], "x/r@s");
	CU_ASSERT_STRING_EQUAL(e.jids[3], "a@x/1");
	CU_ASSERT_STRING_EQUAL(e.jids[4], "c@x/2");
	CU_ASSERT_EQUAL(e.nodes[4], 7);
	rroutes_free(r);
}

UNIT_SUITE(retroute)
{
	UNIT_TEST(suite, test_each_and_learn_new);
	UNIT_TEST(suite, test_odd_keys);
	UNIT_TEST(suite, test_against_model);
	UNIT_TEST(suite, test_bench_shape);
	UNIT_TEST(suite, test_learn_lookup_update);
	UNIT_TEST(suite, test_lru_order);
	UNIT_TEST(suite, test_bound);
	UNIT_TEST(suite, test_jid_length_bound);
	UNIT_TEST(suite, test_forget_node);
	UNIT_TEST(suite, test_memory_per_entry);
}
