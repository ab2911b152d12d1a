/*
 * routes.h — a home's return-route table: full JID -> the node a user's
 * stanza came through, so that replies from the real component go back
 * out of that node's upstream (docs/peer-protocol.md).
 *
 * A bounded LRU map: at most max entries; learning a new JID when full
 * evicts the least recently learned or looked-up one.  Learn and lookup
 * are O(1).  JIDs are compared byte for byte (the server normalised them).
 * The table owns copies of the JIDs; callers keep ownership of theirs.
 * Memory exhaustion aborts, as everywhere in the runtime (buf.h).
 */
#ifndef VCOMP_ROUTES_H
#define VCOMP_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct routes;

/* An empty table holding at most max entries (max 0 is taken as 1). */
struct routes *routes_new(uint32_t max);
/* Frees the table and every entry; r may be NULL. */
void routes_free(struct routes *r);
/* The longest JID RFC 7622 allows: localpart, domainpart and resource of
 * at most 1023 bytes each, with '@' and '/'. */
#define ROUTES_MAX_JID	(1023 + 1 + 1023 + 1 + 1023)

/* jid[0..len) now routes via node; the entry becomes the most recently
 * used.  An existing entry is updated in place; a new one may evict the
 * least recently used.  A JID longer than ROUTES_MAX_JID is not a valid
 * JID and is not learned (replies to it go out of the home's upstream);
 * returns false then, true when learned. */
bool routes_learn(struct routes *r, const char *jid, size_t len,
    uint16_t node);
/* If jid[0..len) has a route, stores its node in *node, makes the entry
 * the most recently used and returns true.  Never true for a JID longer
 * than ROUTES_MAX_JID. */
bool routes_lookup(struct routes *r, const char *jid, size_t len,
    uint16_t *node);
/* Drops every route via node (O(entries)). */
void routes_forget_node(struct routes *r, uint16_t node);
/* Number of entries. */
size_t routes_count(const struct routes *r);
/* Bytes the table has allocated (entries, JID copies and hash buckets),
 * as counted by the table itself, for stats and capacity planning. */
size_t routes_memory(const struct routes *r);

#endif /* VCOMP_ROUTES_H */
