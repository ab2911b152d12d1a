/*
 * compat.c — what two nodes must agree on, per component, for its stanzas
 * to cross a peer link between them; the rest of a spec may differ while
 * a change is rolled through the cluster one node at a time.
 *
 * A component's identity on the links is a 32-bit number derived from its
 * domain alone (the first four bytes of SHA-256("vcomp-component-id" 0
 * domain), never 0), not its position in the sorted component list:
 * adding or removing a component must not renumber the others.  check.c
 * refuses a spec in which two domains share an id.
 *
 * The compat digest is SHA-256("vcomp-forward-1" 0 domain).  It covers
 * exactly what forwarding depends on, and the reasons for leaving out the
 * rest are the protocol's:
 *   - the domain: it names the component on both nodes' servers, in the
 *     `from` the home checks on the real component's replies and in the
 *     return routes; a stanza forwarded under another domain would be
 *     another component's;
 *   - the version of the forwarding rules ("vcomp-forward-1"): a later
 *     vcomp that forwards a component differently changes the label, and
 *     its nodes then treat this version's definition as incompatible
 *     instead of misreading its frames.
 * Left out:
 *   - the home list and its order: a virtual node sends to the first home
 *     whose STATUS says the real component is connected, so two nodes
 *     that list homes differently still agree whenever the real component
 *     is connected to one home (the normal case), and no node sends to a
 *     node whose STATUS does not say the real component is connected
 *     there.  `vcompc plan` checks that some home is in both the old and
 *     the new list;
 *   - disco identities, features, node and mode: answered by each node
 *     from its own table, never across a link;
 *   - secrets (checked by handshakes, not compared), limits (local to
 *     each runtime), the component's Tigase name, comments, key order and
 *     formatting (never part of the IR).
 *
 * Memory: arena (see vcompc.h).
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "vcompc.h"

#define ID_LABEL	"vcomp-component-id"
#define FORWARD_LABEL	"vcomp-forward-1"

static const struct ir_spec *sort_spec;

static int
cmp_domain(const void *a, const void *b)
{
	const char *da = sort_spec->components[*(const size_t *)a].domain.s;
	const char *db = sort_spec->components[*(const size_t *)b].domain.s;
	size_t la = strlen(da), lb = strlen(db);
	int r = memcmp(da, db, la < lb ? la : lb);

	if (r != 0)
		return r;
	return la < lb ? -1 : la > lb;
}

size_t *
compat_table_order(const struct ir_spec *spec)
{
	size_t *ix = xmalloc(sizeof *ix * (spec->ncomponents + 1));

	for (size_t i = 0; i < spec->ncomponents; i++)
		ix[i] = i;
	sort_spec = spec;
	qsort(ix, spec->ncomponents, sizeof *ix, cmp_domain);
	sort_spec = NULL;
	return ix;
}

/* SHA-256(label 0 domain). */
static void
labelled_hash(const char *label, const char *domain, uint8_t out[32])
{
	struct sha256_ctx h;

	sha256_init(&h);
	sha256_update(&h, strlen(label) + 1, (const uint8_t *)label);
	sha256_update(&h, strlen(domain), (const uint8_t *)domain);
	sha256_digest(&h, 32, out);
}

void
compat_compute(struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		struct ir_component *c = &spec->components[i];
		uint8_t h[32];

		if (c->domain.s == NULL)
			continue;
		labelled_hash(ID_LABEL, c->domain.s, h);
		c->id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
		    (uint32_t)h[2] << 8 | h[3];
		/* 0 means "no component" in frame headers. */
		if (c->id == 0)
			c->id = 1;
		labelled_hash(FORWARD_LABEL, c->domain.s, c->compat);
	}
}
