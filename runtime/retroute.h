/*
 * retroute.h — a home's return-route table ("rroutes"): full JID -> the
 * node a user's stanza came through, so that replies from the real
 * component go back out of that node's upstream (docs/peer-protocol.md).
 *
 * Not to be confused with routing (route.c), which decides where each
 * stanza goes: this is only the memory that routing consults for replies.
 * route.c owns the node's one table; nothing else reads or writes it.
 *
 * A bounded LRU map: at most max entries; learning a new JID when full
 * evicts the least recently learned or looked-up one.  Learn and lookup
 * are O(1).  JIDs are compared byte for byte (the server normalised them).
 * The table owns compact copies of the JIDs (retroute.c: the domain part
 * interned); callers keep ownership of theirs.
 * Memory exhaustion aborts, as everywhere in the runtime (buf.h).
 */
#ifndef VCOMP_RETROUTE_H
#define VCOMP_RETROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rroutes;

/* An empty table holding at most max entries (max 0 is taken as 1). */
struct rroutes *rroutes_new(uint32_t max);
/* Frees the table and every entry; r may be NULL. */
void rroutes_free(struct rroutes *r);
/* The longest JID RFC 7622 allows: localpart, domainpart and resource of
 * at most 1023 bytes each, with '@' and '/'. */
#define RROUTES_MAX_JID	(1023 + 1 + 1023 + 1 + 1023)

/* jid[0..len) now routes via node; the entry becomes the most recently
 * used.  An existing entry is updated in place; a new one may evict the
 * least recently used.  A JID longer than RROUTES_MAX_JID is not a valid
 * JID and is not learned (replies to it go out of the home's upstream);
 * returns false then, true when learned. */
bool rroutes_learn(struct rroutes *r, const char *jid, size_t len,
    uint16_t node);
/* Like rroutes_learn, but only when jid has no route yet (an announced
 * route never replaces one learned from a stanza).  true when learned. */
bool rroutes_learn_new(struct rroutes *r, const char *jid, size_t len,
    uint16_t node);
/* Calls fn for every entry, least recently used first.  fn must not
 * change r. */
void rroutes_each(const struct rroutes *r,
    void (*fn)(const char *jid, size_t len, uint16_t node, void *arg),
    void *arg);
/* If jid[0..len) has a route, stores its node in *node, makes the entry
 * the most recently used and returns true.  Never true for a JID longer
 * than RROUTES_MAX_JID. */
bool rroutes_lookup(struct rroutes *r, const char *jid, size_t len,
    uint16_t *node);
/* Drops every route via node (O(entries)). */
void rroutes_forget_node(struct rroutes *r, uint16_t node);
/* Number of entries. */
size_t rroutes_count(const struct rroutes *r);
/* Bytes the table has allocated (slots, key arena, buckets and domains),
 * as counted by the table itself, for stats and capacity planning. */
size_t rroutes_memory(const struct rroutes *r);

#endif /* VCOMP_RETROUTE_H */
