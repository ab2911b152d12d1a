/*
 * check.c — the semantic checks that run on the IR after a front end built
 * it, as a table of named checks (the way dtc does it).
 *
 * Each entry of `checks` has a name, the level its diagnostics carry and a
 * one-line description; `vcompc --list-checks` prints the table and
 * docs/checks.md explains each entry with its fix.  Every diagnostic a check
 * emits ends with " [name]" (diag()'s `check` argument), notes included, so
 * a test or a user can tell which rule fired.
 *
 * The checks are independent of one another and all of them run, in table
 * order, whatever the others found: a spec with five mistakes gets five
 * errors in one run.  They must therefore cope with a partial IR (a NULL
 * string is "not given") and never assume an earlier check passed.
 *
 * Nothing here changes the IR.  Memory: scratch arrays come from the arena
 * (vcompc.h), which lives until exit.
 *
 * Sizes: a spec may have VC_MAX_NODES nodes and VC_MAX_COMPONENTS
 * components, so duplicate detection sorts (find_dups) instead of comparing
 * every pair, and node names are looked up by binary search.  Only the
 * endpoint-conflict check compares pairs, of nodes (at most 1024).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcompc.h"

struct check {
	const char *name;
	enum diag_level level;
	const char *desc;
	void (*fn)(const struct check *, const struct ir_spec *);
};

/* ------------------------------------------------------------ helpers */

/* "The whole file": where a problem that has no key of its own (a missing
 * section, a defaulted limit) is reported. */
static struct pos
file_pos(const struct ir_spec *spec)
{
	struct pos p = { spec->path, 0, 0 };
	return p;
}

/* A key's name in the spec's own format, so that the message names what
 * the user has to write. */
static const char *
key(const struct ir_spec *spec, const char *yaml, const char *props)
{
	/* config.tdsl uses the properties names (its vcomp block flattens
	 * to the same vcomp/ keys). */
	return spec->format != FMT_YAML ? props : yaml;
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

static const char *
comp_label(const struct ir_component *c)
{
	if (c->domain.s != NULL)
		return c->domain.s;
	return or_empty(c->name.s);
}

/* p if it names a place in a file, else fallback. */
static const struct pos *
pos_or(const struct pos *p, const struct pos *fallback)
{
	return p->file != NULL && p->line > 0 ? p : fallback;
}

/*
 * The properties front end turns a virtual component with several virtual
 * hosts into one IR component per domain, all declared at one place and
 * sharing every setting but the domain.  Checks of those settings skip
 * such a twin, so that one mistake is reported once (for the first
 * domain), not once per virtual host.
 */
static bool
same_settings(const struct ir_spec *spec, size_t i)
{
	const struct pos *a, *b;

	if (i == 0)
		return false;
	a = &spec->components[i].pos;
	b = &spec->components[i - 1].pos;
	return a->line > 0 && a->file == b->file && a->line == b->line &&
	    a->col == b->col;
}

/* The comparison find_dups() sorts with.  qsort() takes no context
 * argument; vcompc is single-threaded, so a file-level variable is safe. */
static int (*dup_cmp)(const void *, const void *);

struct dup_item {
	const void *p;
	size_t i;
};

static int
dup_item_cmp(const void *a, const void *b)
{
	const struct dup_item *x = a, *y = b;
	int r = dup_cmp(x->p, y->p);

	if (r != 0)
		return r;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Finds repeated items.  items[i] NULL means "absent, skip".  Returns an
 * arena array: first[i] is the index of the earliest item equal to item i,
 * or SIZE_MAX if item i is the first of its kind (or absent).  Callers
 * report in index order, i.e. in the order of the spec.
 */
static size_t *
find_dups(const void *const *items, size_t n,
	  int (*cmp)(const void *, const void *))
{
	struct dup_item *v = xmalloc((n ? n : 1) * sizeof *v);
	size_t *first = xmalloc((n ? n : 1) * sizeof *first);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		first[i] = SIZE_MAX;
		if (items[i] != NULL) {
			v[k].p = items[i];
			v[k].i = i;
			k++;
		}
	}
	dup_cmp = cmp;
	qsort(v, k, sizeof *v, dup_item_cmp);
	for (size_t j = 1, head = 0; j < k; j++) {
		if (cmp(v[head].p, v[j].p) == 0)
			first[v[j].i] = v[head].i;
		else
			head = j;
	}
	return first;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Node names, sorted, for lookups by name.  names[] is also the candidate
 * list for "did you mean". */
struct node_index {
	const char **names;     /* sorted, duplicates kept */
	size_t *idx;            /* idx[k]: index in spec->nodes of names[k] */
	size_t n;
};

static int
cmp_pcstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct named {
	const char *name;
	size_t i;
};

static int
cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r != 0 ? r : (x->i < y->i ? -1 : x->i > y->i);
}

static struct node_index
node_index(const struct ir_spec *spec)
{
	struct node_index ix;
	size_t m = spec->nnodes ? spec->nnodes : 1;
	struct named *v = xmalloc(m * sizeof *v);

	ix.n = 0;
	for (size_t i = 0; i < spec->nnodes; i++)
		if (spec->nodes[i].name.s != NULL) {
			v[ix.n].name = spec->nodes[i].name.s;
			v[ix.n].i = i;
			ix.n++;
		}
	qsort(v, ix.n, sizeof *v, cmp_named);
	ix.names = xmalloc(m * sizeof *ix.names);
	ix.idx = xmalloc(m * sizeof *ix.idx);
	for (size_t k = 0; k < ix.n; k++) {
		ix.names[k] = v[k].name;
		ix.idx[k] = v[k].i;
	}
	return ix;
}

/* The index in spec->nodes of the node called name, or SIZE_MAX. */
static size_t
node_find(const struct node_index *ix, const char *name)
{
	const char **hit = bsearch(&name, ix->names, ix->n, sizeof *ix->names,
				   cmp_pcstr);

	return hit != NULL ? ix->idx[hit - ix->names] : SIZE_MAX;
}

static bool
node_known(const struct node_index *ix, const char *name)
{
	return node_find(ix, name) != SIZE_MAX;
}

/* No white space, no controls, valid UTF-8; for feature names, identity
 * categories and types, which are tokens. */
static bool
is_token(const char *s, size_t *bad)
{
	size_t len = strlen(s);

	if (!utf8_valid(s, len, bad))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == 0x7f) {
			*bad = i;
			return false;
		}
	}
	return true;
}

/* Text that may hold spaces (an identity name, a disco node): valid UTF-8
 * without controls, tab included, since XML 1.0 cannot carry C0 controls
 * at all and a tab in a name is surely a mistake. */
static bool
is_text(const char *s, size_t *bad)
{
	size_t len = strlen(s);

	if (!utf8_valid(s, len, bad))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\t' || c == 0x7f) {
			*bad = i;
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------ counts */

static void
check_nodes_count(const struct check *ck, const struct ir_spec *spec)
{
	struct pos f = file_pos(spec);

	if (spec->nnodes == 0)
		diag(ck->level, &f, ck->name,
		     "no nodes are declared; add at least one under '%s'",
		     key(spec, "nodes", "--cluster-nodes"));
	else if (spec->nnodes > VC_MAX_NODES)
		diag(ck->level, &f, ck->name,
		     "%zu nodes are declared; at most %d are supported",
		     spec->nnodes, VC_MAX_NODES);
}

static void
check_components_count(const struct check *ck, const struct ir_spec *spec)
{
	struct pos f = file_pos(spec);

	if (spec->ncomponents == 0)
		diag(ck->level, &f, ck->name,
		     "no components are declared; add at least one under '%s'",
		     key(spec, "components",
			 "--comp-class-N=" VC_TIGASE_VIRTUAL_CLASS));
	else if (spec->ncomponents > VC_MAX_COMPONENTS)
		diag(ck->level, &f, ck->name,
		     "%zu components are declared; at most %d are supported",
		     spec->ncomponents, VC_MAX_COMPONENTS);
}

/* ------------------------------------------------------------ nodes */

/* Node names become file names of vcompc's outputs (NODE.c, NODE.secrets,
 * vcomp-NODE), hence the narrow alphabet and the alphanumeric start (no
 * ".", "..", or a leading "-" that reads as an option). */
static void
check_node_name(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->nnodes; i++) {
		const struct ir_str *n = &spec->nodes[i].name;
		size_t len;

		if (n->s == NULL)
			continue;
		len = strlen(n->s);
		if (len == 0) {
			diag(ck->level, &n->pos, ck->name,
			     "node name is empty");
			continue;
		}
		if (len > 255) {
			diag(ck->level, &n->pos, ck->name,
			     "node name '%.20s...' is longer than 255 bytes",
			     n->s);
			continue;
		}
		if (!isalnum((unsigned char)n->s[0])) {
			diag(ck->level, &n->pos, ck->name,
			     "node name '%s' must start with a letter or a digit",
			     n->s);
			continue;
		}
		for (size_t j = 0; j < len; j++) {
			unsigned char c = (unsigned char)n->s[j];
			if (isalnum(c) || c == '.' || c == '_' || c == '-')
				continue;
			struct pos at = ir_str_at(n, j);
			diag(ck->level, &at, ck->name,
			     "node name '%s' may only hold letters, digits, '.', '_' and '-' (it names output files)",
			     n->s);
			break;
		}
	}
}

static void
check_duplicate_node(const struct check *ck, const struct ir_spec *spec)
{
	const void **items = xmalloc((spec->nnodes + 1) * sizeof *items);
	size_t *first;

	for (size_t i = 0; i < spec->nnodes; i++)
		items[i] = spec->nodes[i].name.s;
	first = find_dups(items, spec->nnodes, cmp_cstr);
	for (size_t i = 0; i < spec->nnodes; i++) {
		if (first[i] == SIZE_MAX)
			continue;
		diag(ck->level, &spec->nodes[i].name.pos, ck->name,
		     "node '%s' is declared twice", spec->nodes[i].name.s);
		diag(DIAG_NOTE, &spec->nodes[first[i]].name.pos, ck->name,
		     "'%s' was first declared here", spec->nodes[i].name.s);
	}
}

/* ------------------------------------------------------------ domains */

static void
check_domain_syntax(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		const struct ir_component *c = &spec->components[i];
		const char *why;
		size_t off;

		if (c->domain.s == NULL) {
			diag(ck->level, &c->pos, ck->name,
			     "component '%s' has no domain", or_empty(c->name.s));
			continue;
		}
		if (!jid_check_domain(c->domain.s, &why, &off)) {
			struct pos at = ir_str_at(&c->domain, off);
			diag(ck->level, &at, ck->name,
			     "component domain '%s' is not a valid domain: %s",
			     c->domain.s, why);
		}
	}
}

static void
check_duplicate_domain(const struct check *ck, const struct ir_spec *spec)
{
	const void **items = xmalloc((spec->ncomponents + 1) * sizeof *items);
	size_t *first;

	/* Domains compare without regard to ASCII case (RFC 7622 §3.2
	 * prepares them case-insensitively); non-ASCII case folding needs
	 * Unicode tables and is left to the server. */
	for (size_t i = 0; i < spec->ncomponents; i++) {
		const char *d = spec->components[i].domain.s;
		char *lower;

		if (d == NULL) {
			items[i] = NULL;
			continue;
		}
		lower = xstrdup(d);
		for (char *p = lower; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		items[i] = lower;
	}
	first = find_dups(items, spec->ncomponents, cmp_cstr);
	for (size_t i = 0; i < spec->ncomponents; i++) {
		const struct ir_component *c = &spec->components[i];

		if (first[i] == SIZE_MAX)
			continue;
		diag(ck->level, pos_or(&c->domain.pos, &c->pos), ck->name,
		     "component domain '%s' is declared twice", c->domain.s);
		const struct ir_component *o = &spec->components[first[i]];
		diag(DIAG_NOTE, pos_or(&o->domain.pos, &o->pos), ck->name,
		     "'%s' was first declared here", o->domain.s);
	}
}

/* ------------------------------------------------------------ homes */

static void
check_home_empty(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		if (c->nhomes == 0)
			diag(ck->level, &c->pos, ck->name,
			     "component '%s' has no '%s': name the node where the real component connects",
			     comp_label(c), key(spec, "home", "redirect-to"));
	}
}

static void
check_home_unknown_node(const struct check *ck, const struct ir_spec *spec)
{
	struct node_index ix = node_index(spec);

	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		for (size_t h = 0; h < c->nhomes; h++) {
			const struct ir_str *home = &c->homes[h];
			const char *hint;

			if (home->s == NULL || node_known(&ix, home->s))
				continue;
			hint = did_you_mean(home->s, ix.names, ix.n);
			if (hint != NULL)
				diag(ck->level, pos_or(&home->pos, &c->pos),
				     ck->name,
				     "'%s' of '%s' names node '%s', which is not declared; did you mean '%s'?",
				     key(spec, "home", "redirect-to"),
				     comp_label(c), home->s, hint);
			else
				diag(ck->level, pos_or(&home->pos, &c->pos),
				     ck->name,
				     "'%s' of '%s' names node '%s', which is not declared",
				     key(spec, "home", "redirect-to"),
				     comp_label(c), home->s);
		}
	}
}

static void
check_home_duplicate(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		const void **items = xmalloc((c->nhomes + 1) * sizeof *items);
		size_t *first;

		for (size_t h = 0; h < c->nhomes; h++)
			items[h] = c->homes[h].s;
		first = find_dups(items, c->nhomes, cmp_cstr);
		for (size_t h = 0; h < c->nhomes; h++) {
			if (first[h] == SIZE_MAX)
				continue;
			diag(ck->level, pos_or(&c->homes[h].pos, &c->pos),
			     ck->name,
			     "node '%s' is listed twice in '%s' of '%s'",
			     c->homes[h].s, key(spec, "home", "redirect-to"),
			     comp_label(c));
			diag(DIAG_NOTE, pos_or(&c->homes[first[h]].pos, &c->pos),
			     ck->name, "first listed here");
		}
	}
}

/* A component homed on every node has no virtual instance anywhere: the
 * spec is legal but vcomp does nothing for it.  A one-node cluster is
 * accepted quietly, as the first step of growing one. */
static void
check_all_nodes_home(const struct check *ck, const struct ir_spec *spec)
{
	struct node_index ix = node_index(spec);

	if (spec->nnodes < 2)
		return;
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		const void **items = xmalloc((c->nhomes + 1) * sizeof *items);
		size_t *first, distinct = 0;

		for (size_t h = 0; h < c->nhomes; h++)
			items[h] = c->homes[h].s != NULL &&
			    node_known(&ix, c->homes[h].s) ? c->homes[h].s : NULL;
		first = find_dups(items, c->nhomes, cmp_cstr);
		for (size_t h = 0; h < c->nhomes; h++)
			if (items[h] != NULL && first[h] == SIZE_MAX)
				distinct++;
		if (distinct >= spec->nnodes)
			diag(ck->level, pos_or(&c->homes[0].pos, &c->pos),
			     ck->name,
			     "every node is a home of '%s', so no node runs it virtually; drop a node from '%s' or add a node",
			     comp_label(c), key(spec, "home", "redirect-to"));
	}
}

/* ------------------------------------------------------------ endpoints */

enum { EP_SERVER, EP_PEER, EP_LISTEN, EP_STATS, EP_N };

static const char *const ep_name[EP_N] = {
	[EP_SERVER] = "server", [EP_PEER] = "peer",
	[EP_LISTEN] = "listen", [EP_STATS] = "stats",
};

static const struct ir_endpoint *
node_ep(const struct ir_node *nd, int k)
{
	switch (k) {
	case EP_SERVER:
		return &nd->server;
	case EP_PEER:
		return &nd->peer;
	case EP_LISTEN:
		return &nd->listen;
	default:
		return &nd->stats;
	}
}

/* Where to point for an endpoint: its value, or the node when defaulted. */
static const struct pos *
ep_pos(const struct ir_node *nd, const struct ir_endpoint *ep)
{
	return pos_or(&ep->pos, &nd->name.pos);
}

/* An all-numeric name is a mistyped IPv4 address (see jid.c). */
static bool
dns_name_ok(const char *s, const char **why)
{
	size_t len = strlen(s), label = 0;
	bool numeric = true;

	if (len > 253) {
		*why = "a host name is at most 253 characters";
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (i == label) {
				*why = "the host name has an empty label";
				return false;
			}
			if (i - label > 63) {
				*why = "a host name label is at most 63 characters";
				return false;
			}
			if (s[label] == '-' || s[i - 1] == '-') {
				*why = "a host name label cannot start or end with '-'";
				return false;
			}
			label = i + 1;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
			*why = "a host name holds only letters, digits, '-' and '.'";
			return false;
		}
		if (!isdigit((unsigned char)s[i]))
			numeric = false;
	}
	if (numeric) {
		*why = "not a valid IPv4 address";
		return false;
	}
	return true;
}

static bool
host_ok(const char *s, const char **why)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (*s == '\0') {
		*why = "the host is empty";
		return false;
	}
	if (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1)
		return true;
	if (strchr(s, ':') != NULL) {
		*why = "not a valid IPv6 address";
		return false;
	}
	return dns_name_ok(s, why);
}

static void
check_endpoint_syntax(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->nnodes; i++) {
		const struct ir_node *nd = &spec->nodes[i];

		for (int k = 0; k < EP_N; k++) {
			const struct ir_endpoint *ep = node_ep(nd, k);
			const char *why;

			if (ep->host.s == NULL)
				continue;	/* stats off, or not given */
			if (!host_ok(ep->host.s, &why)) {
				if (ep->pos.line == 0 && k == EP_PEER &&
				    nd->name.s != NULL &&
				    strcmp(ep->host.s, nd->name.s) == 0)
					diag(ck->level, ep_pos(nd, ep), ck->name,
					     "node '%s' has no '%s', and its name is not a host name to default to (%s); give '%s' as HOST:PORT",
					     nd->name.s, ep_name[k], why,
					     ep_name[k]);
				else
					diag(ck->level, ep_pos(nd, ep), ck->name,
					     "'%s' of node '%s': '%s' is not an IPv4 address, IPv6 address or host name: %s",
					     ep_name[k], or_empty(nd->name.s),
					     ep->host.s, why);
			}
			if (ep->port < 1 || ep->port > 65535)
				diag(ck->level, ep_pos(nd, ep), ck->name,
				     "'%s' of node '%s' has port %d; use 1-65535",
				     ep_name[k], or_empty(nd->name.s), ep->port);
		}
	}
}

/* The stats listener prints counters to whoever connects, without
 * authentication: it belongs on a loopback address. */
static bool
is_loopback(const char *h)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(h, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static void
check_stats_loopback(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->nnodes; i++) {
		const struct ir_node *nd = &spec->nodes[i];

		if (nd->stats.host.s != NULL && !is_loopback(nd->stats.host.s))
			diag(ck->level, ep_pos(nd, &nd->stats), ck->name,
			     "'stats' of node '%s' listens on '%s', which is not a loopback address; the counters have no authentication",
			     or_empty(nd->name.s), nd->stats.host.s);
	}
}

/*
 * peer-encryption: none sends every stanza in clear over the peer links:
 * fine on loopback (a test cluster on one host), a leak anywhere else.
 */
static void
check_peer_plaintext(const struct check *ck, const struct ir_spec *spec)
{
	bool noted = false;

	if (spec->peer_encryption != PEER_ENC_NONE || spec->nnodes < 2)
		return;
	for (size_t i = 0; i < spec->nnodes; i++) {
		const struct ir_node *nd = &spec->nodes[i];

		if (nd->peer.host.s == NULL || is_loopback(nd->peer.host.s))
			continue;
		diag(ck->level, ep_pos(nd, &nd->peer), ck->name,
		     "peer links of node '%s' (on '%s', not a loopback address) are not encrypted: with %s every stanza crosses the network in clear, readable and alterable on the way",
		     or_empty(nd->name.s), nd->peer.host.s,
		     key(spec, "'peer-encryption: none'",
			 "'vcomp/peer-encryption=none'"));
		if (!noted && spec->peer_encryption_pos.line > 0)
			note_at(&spec->peer_encryption_pos,
				"plaintext chosen here; remove it to encrypt peer links");
		noted = true;
	}
}

/*
 * A host in a form that compares equal for equal addresses: "localhost"
 * as 127.0.0.1, numeric addresses as inet_ntop writes them, names in
 * lower case.
 */
static const char *
canon_host(const char *h)
{
	char tmp[INET6_ADDRSTRLEN];
	struct in_addr a4;
	struct in6_addr a6;

	if (strcasecmp(h, "localhost") == 0)
		return "127.0.0.1";
	if (inet_pton(AF_INET, h, &a4) == 1 &&
	    inet_ntop(AF_INET, &a4, tmp, sizeof tmp) != NULL)
		return xstrdup(tmp);
	if (inet_pton(AF_INET6, h, &a6) == 1 &&
	    inet_ntop(AF_INET6, &a6, tmp, sizeof tmp) != NULL)
		return xstrdup(tmp);
	char *l = xstrdup(h);
	for (char *p = l; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

static bool
is_wildcard(const char *canon)
{
	return strcmp(canon, "0.0.0.0") == 0 || strcmp(canon, "::") == 0;
}

struct ep_view {
	const char *host;       /* canonical; NULL = not in use */
	int port;
};

/* Which endpoints of node i take part: the server it connects to, its
 * peer listener, its component listener only if it homes something (the
 * runtime binds it only then; see vcomp_table.h), and stats if on. */
static void
node_view(const struct ir_spec *spec, size_t i, const bool *is_home,
	  struct ep_view v[EP_N])
{
	const struct ir_node *nd = &spec->nodes[i];

	for (int k = 0; k < EP_N; k++) {
		const struct ir_endpoint *ep = node_ep(nd, k);
		v[k].host = NULL;
		v[k].port = ep->port;
		if (ep->host.s == NULL || ep->port == 0)
			continue;
		if (k == EP_LISTEN && !is_home[i])
			continue;
		v[k].host = canon_host(ep->host.s);
	}
}

static bool
same_addr(const struct ep_view *a, const struct ep_view *b)
{
	if (a->host == NULL || b->host == NULL || a->port != b->port)
		return false;
	return strcmp(a->host, b->host) == 0 || is_wildcard(a->host) ||
	    is_wildcard(b->host);
}

/*
 * Two nodes run on the same machine when their peer hosts are the same
 * address, or both loopback (a test cluster on one host).  Only then can
 * their listeners collide; nodes on different machines may all use
 * 127.0.0.1:5348 for their component listener.
 */
static bool
same_machine(const struct ep_view *a, const struct ep_view *b)
{
	if (a[EP_PEER].host == NULL || b[EP_PEER].host == NULL)
		return false;
	return strcmp(a[EP_PEER].host, b[EP_PEER].host) == 0 ||
	    (is_loopback(a[EP_PEER].host) && is_loopback(b[EP_PEER].host));
}

static void
report_conflict(const struct check *ck, const struct ir_spec *spec,
		size_t i, int ki, size_t j, int kj)
{
	const struct ir_node *a = &spec->nodes[i], *b = &spec->nodes[j];
	const struct ir_endpoint *ea = node_ep(a, ki), *eb = node_ep(b, kj);

	if (i == j)
		diag(ck->level, ep_pos(b, eb), ck->name,
		     "'%s' and '%s' of node '%s' both use %s:%d",
		     ep_name[kj], ep_name[ki], or_empty(b->name.s),
		     eb->host.s, eb->port);
	else
		diag(ck->level, ep_pos(b, eb), ck->name,
		     "'%s' of node '%s' uses %s:%d, as does '%s' of node '%s' on the same machine",
		     ep_name[kj], or_empty(b->name.s), eb->host.s, eb->port,
		     ep_name[ki], or_empty(a->name.s));
	diag(DIAG_NOTE, ep_pos(a, ea), ck->name, "'%s' of node '%s'%s",
	     ep_name[ki], or_empty(a->name.s),
	     ea->pos.line > 0 ? " is set here" : " is the default");
}

static void
check_endpoint_conflict(const struct check *ck, const struct ir_spec *spec)
{
	struct ep_view (*v)[EP_N];
	bool *is_home;
	struct node_index ix = node_index(spec);

	if (spec->nnodes == 0)
		return;
	v = xmalloc(spec->nnodes * sizeof *v);
	is_home = xmalloc(spec->nnodes * sizeof *is_home);
	/* Mark home nodes; names that are not declared are home-unknown-node's. */
	for (size_t c = 0; c < spec->ncomponents; c++)
		for (size_t h = 0; h < spec->components[c].nhomes; h++) {
			const char *hn = spec->components[c].homes[h].s;
			size_t k = hn != NULL ? node_find(&ix, hn) : SIZE_MAX;
			if (k != SIZE_MAX)
				is_home[k] = true;
		}
	for (size_t i = 0; i < spec->nnodes; i++)
		node_view(spec, i, is_home, v[i]);

	/* Within one node: any two of server, peer, listen, stats. */
	for (size_t i = 0; i < spec->nnodes; i++)
		for (int kb = 1; kb < EP_N; kb++)
			for (int ka = 0; ka < kb; ka++)
				if (same_addr(&v[i][ka], &v[i][kb]))
					report_conflict(ck, spec, i, ka, i, kb);
	/* Between two nodes on one machine: any pair, same kind included
	 * (two nodes sharing one XMPP server is as wrong as two listeners
	 * on one port).  Pairs cost time quadratic in the nodes: past
	 * VC_MAX_NODES, nodes-count has refused the spec already, and a
	 * hostile spec of 600 000 nodes must not cost hours here. */
	if (spec->nnodes > VC_MAX_NODES)
		return;
	for (size_t j = 1; j < spec->nnodes; j++)
		for (size_t i = 0; i < j; i++) {
			if (!same_machine(v[i], v[j]))
				continue;
			for (int kb = 0; kb < EP_N; kb++)
				for (int ka = 0; ka < EP_N; ka++)
					if (same_addr(&v[i][ka], &v[j][kb]))
						report_conflict(ck, spec, i, ka,
								j, kb);
		}
}

/* ------------------------------------------------------------ secrets */

static void
check_secret_missing(const struct check *ck, const struct ir_spec *spec)
{
	struct pos f = file_pos(spec);

	if (spec->cluster_secret.kind == SECRET_NONE)
		diag(ck->level, &f, ck->name,
		     "no cluster secret is given; add %s",
		     key(spec, "'secret: {file: PATH}' or 'secret: {env: NAME}' under 'cluster'",
			 "'vcomp/cluster-secret-file=PATH' or 'vcomp/cluster-secret-env=NAME'"));
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		if (c->secret.kind != SECRET_NONE)
			continue;
		if (spec->format != FMT_YAML)
			diag(ck->level, &c->pos, ck->name,
			     "component '%s' has no secret; add 'vcomp/component/%s/secret-file=PATH' or '.../secret-env=NAME'",
			     comp_label(c), or_empty(c->name.s));
		else
			diag(ck->level, &c->pos, ck->name,
			     "component '%s' has no 'secret'; add 'secret: {file: PATH}' or 'secret: {env: NAME}'",
			     comp_label(c));
	}
}

static bool
env_name_ok(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return false;
	for (s++; *s != '\0'; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return false;
	return true;
}

static void
secret_empty(const struct check *ck, const struct ir_secret *sec,
	     const char *what, const struct pos *fallback)
{
	const struct pos *p = pos_or(&sec->ref.pos, pos_or(&sec->pos, fallback));
	const char *ref = sec->ref.s;

	switch (sec->kind) {
	case SECRET_NONE:
		return;
	case SECRET_FILE:
		if (ref == NULL || ref[0] == '\0')
			diag(ck->level, p, ck->name,
			     "the secret file of %s is an empty path", what);
		return;
	case SECRET_ENV:
		if (ref == NULL || ref[0] == '\0')
			diag(ck->level, p, ck->name,
			     "the secret environment variable of %s has an empty name",
			     what);
		else if (!env_name_ok(ref))
			diag(ck->level, p, ck->name,
			     "'%s' is not an environment variable name (letters, digits and '_', not starting with a digit); it names the secret of %s",
			     ref, what);
		return;
	case SECRET_INLINE:
		if (ref == NULL || ref[0] == '\0')
			diag(ck->level, p, ck->name,
			     "the inline secret of %s is empty", what);
		/* NODE.secrets holds one key=value per line. */
		else if (strpbrk(ref, "\r\n") != NULL)
			diag(ck->level, p, ck->name,
			     "the inline secret of %s contains a line break, which the node's secrets bundle cannot hold",
			     what);
		return;
	}
}

static void
check_secret_empty(const struct check *ck, const struct ir_spec *spec)
{
	struct pos f = file_pos(spec);

	secret_empty(ck, &spec->cluster_secret, "the cluster", &f);
	for (size_t i = 0; i < spec->ncluster_accept; i++)
		secret_empty(ck, &spec->cluster_accept[i], "the cluster", &f);
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		char *what = xprintf("component '%s'", comp_label(c));
		secret_empty(ck, &c->secret, what, &c->pos);
		for (size_t j = 0; j < c->naccept; j++)
			secret_empty(ck, &c->accept[j], what, &c->pos);
	}
}

static bool
same_source(const struct ir_secret *a, const struct ir_secret *b)
{
	return a->kind == b->kind && a->ref.s != NULL && b->ref.s != NULL &&
	    strcmp(a->ref.s, b->ref.s) == 0;
}

/* A rotation list naming one source twice is a slip (the old secret was
 * meant, or the new one): it would accept one secret fewer than it says. */
static void
secret_list_dup(const struct check *ck, const struct ir_secret *first,
		const struct ir_secret *rest, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		const struct ir_secret *a = &rest[i];
		const struct ir_secret *earlier = same_source(first, a) ? first
		    : NULL;
		for (size_t j = 0; j < i && earlier == NULL; j++)
			if (same_source(&rest[j], a))
				earlier = &rest[j];
		if (earlier == NULL)
			continue;
		diag(ck->level, pos_or(&a->ref.pos, &a->pos), ck->name,
		     "the secret list of %s names '%s' twice", what, a->ref.s);
		note_at(pos_or(&earlier->ref.pos, &earlier->pos),
			"first named here");
	}
}

static void
check_secret_list(const struct check *ck, const struct ir_spec *spec)
{
	secret_list_dup(ck, &spec->cluster_secret, spec->cluster_accept,
			spec->ncluster_accept, "the cluster");
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		secret_list_dup(ck, &c->secret, c->accept, c->naccept,
				xprintf("component '%s'", comp_label(c)));
	}
}

/* ------------------------------------------------------------ identity */

/* Peer-link frames name a component by a 32-bit id derived from its
 * domain (compat.c).  Two domains of one spec with the same id cannot be
 * told apart on a link; it takes about 2^16 components to expect one. */
static void
check_component_id(const struct check *ck, const struct ir_spec *spec)
{
	size_t *order = compat_table_order(spec);

	for (size_t a = 0; a < spec->ncomponents; a++) {
		const struct ir_component *ca = &spec->components[order[a]];
		for (size_t b = a + 1; b < spec->ncomponents; b++) {
			const struct ir_component *cb =
			    &spec->components[order[b]];
			if (ca->id != cb->id || ca->domain.s == NULL ||
			    cb->domain.s == NULL)
				continue;
			diag(ck->level, &cb->domain.pos, ck->name,
			     "components '%s' and '%s' have the same peer-link id %08x; rename one of the domains",
			     ca->domain.s, cb->domain.s, (unsigned)cb->id);
			note_at(&ca->domain.pos, "'%s' declared here",
				ca->domain.s);
		}
	}
}

/* ------------------------------------------------------------ disco */

static void
check_identity_missing(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		/* Both front ends default to one identity, so an empty
		 * list means the spec removed it on purpose or by mistake. */
		if (c->nids == 0)
			diag(ck->level, &c->pos, ck->name,
			     "component '%s' has no identity (XEP-0030 requires one); add '%s' and '%s'",
			     comp_label(c),
			     key(spec, "category", "disco-category"),
			     key(spec, "type", "disco-type"));
		for (size_t k = 0; k < c->nids; k++) {
			const struct ir_identity *id = &c->ids[k];
			const struct pos *p = pos_or(&id->pos, &c->pos);

			if (id->category.s == NULL || id->category.s[0] == '\0')
				diag(ck->level, pos_or(&id->category.pos, p),
				     ck->name,
				     "an identity of '%s' has no '%s'",
				     comp_label(c),
				     key(spec, "category", "disco-category"));
			if (id->type.s == NULL || id->type.s[0] == '\0')
				diag(ck->level, pos_or(&id->type.pos, p),
				     ck->name,
				     "an identity of '%s' has no '%s'",
				     comp_label(c),
				     key(spec, "type", "disco-type"));
		}
	}
}

/* BCP 47 shape, without the registry: 1-8 letters, then '-' and 1-8
 * letters or digits, repeated. */
static bool
lang_ok(const char *s)
{
	size_t n = 0;
	bool first = true;

	for (;; s++) {
		if (*s == '-' || *s == '\0') {
			if (n == 0 || n > 8)
				return false;
			if (*s == '\0')
				return true;
			n = 0;
			first = false;
			continue;
		}
		if (first ? !isalpha((unsigned char)*s) :
		    !isalnum((unsigned char)*s))
			return false;
		n++;
	}
}

static void
check_identity_syntax(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		for (size_t k = 0; k < c->nids; k++) {
			const struct ir_identity *id = &c->ids[k];
			const struct ir_str *tok[2] = { &id->category, &id->type };
			const char *tokname[2] = {
				key(spec, "category", "disco-category"),
				key(spec, "type", "disco-type"),
			};
			size_t bad;

			for (int t = 0; t < 2; t++) {
				if (tok[t]->s == NULL || is_token(tok[t]->s, &bad))
					continue;
				struct pos at = ir_str_at(tok[t], bad);
				diag(ck->level, pos_or(&at, &c->pos), ck->name,
				     "identity '%s' of '%s' must not contain spaces or control characters",
				     tokname[t], comp_label(c));
			}
			if (id->name.s != NULL && !is_text(id->name.s, &bad)) {
				struct pos at = ir_str_at(&id->name, bad);
				diag(ck->level, pos_or(&at, &c->pos), ck->name,
				     "identity name of '%s' must be UTF-8 text without control characters",
				     comp_label(c));
			}
			if (id->lang.s != NULL && !lang_ok(id->lang.s))
				diag(ck->level, pos_or(&id->lang.pos, &c->pos),
				     ck->name,
				     "identity lang '%s' of '%s' is not a language tag such as 'en' or 'pt-BR'",
				     id->lang.s, comp_label(c));
		}
	}
}

static int
cmp_identity_key(const void *a, const void *b)
{
	const struct ir_identity *x = a, *y = b;
	int r;

	if ((r = strcmp(x->category.s, y->category.s)) != 0)
		return r;
	if ((r = strcmp(x->type.s, y->type.s)) != 0)
		return r;
	return strcmp(or_empty(x->lang.s), or_empty(y->lang.s));
}

static void
check_identity_duplicate(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		const void **items = xmalloc((c->nids + 1) * sizeof *items);
		size_t *first;

		for (size_t k = 0; k < c->nids; k++)
			items[k] = c->ids[k].category.s != NULL &&
			    c->ids[k].type.s != NULL ? &c->ids[k] : NULL;
		first = find_dups(items, c->nids, cmp_identity_key);
		for (size_t k = 0; k < c->nids; k++) {
			const struct ir_identity *id = &c->ids[k];

			if (first[k] == SIZE_MAX)
				continue;
			diag(ck->level, pos_or(&id->pos, &c->pos), ck->name,
			     "'%s' has two identities %s/%s%s%s; XEP-0030 allows one per category, type and language",
			     comp_label(c), id->category.s, id->type.s,
			     id->lang.s != NULL ? " with lang " : "",
			     or_empty(id->lang.s));
			diag(DIAG_NOTE,
			     pos_or(&c->ids[first[k]].pos, &c->pos), ck->name,
			     "the first one is here");
		}
	}
}

static void
check_feature_syntax(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		for (size_t k = 0; k < c->nfeatures; k++) {
			const struct ir_str *f = &c->features[k];
			size_t bad;

			if (f->s == NULL)
				continue;
			if (f->s[0] == '\0') {
				diag(ck->level, pos_or(&f->pos, &c->pos),
				     ck->name, "'%s' has an empty feature",
				     comp_label(c));
				continue;
			}
			if (!is_token(f->s, &bad)) {
				struct pos at = ir_str_at(f, bad);
				diag(ck->level, pos_or(&at, &c->pos), ck->name,
				     "feature '%s' of '%s' must not contain spaces or control characters",
				     f->s, comp_label(c));
			}
		}
	}
}

static void
check_feature_duplicate(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		const void **items = xmalloc((c->nfeatures + 1) * sizeof *items);
		size_t *first;

		for (size_t k = 0; k < c->nfeatures; k++)
			items[k] = c->features[k].s;
		first = find_dups(items, c->nfeatures, cmp_cstr);
		for (size_t k = 0; k < c->nfeatures; k++) {
			if (first[k] == SIZE_MAX)
				continue;
			diag(ck->level, pos_or(&c->features[k].pos, &c->pos),
			     ck->name,
			     "feature '%s' is listed twice for '%s' (XEP-0115 calls such a response ill-formed)",
			     c->features[k].s, comp_label(c));
			diag(DIAG_NOTE,
			     pos_or(&c->features[first[k]].pos, &c->pos),
			     ck->name, "first listed here");
		}
	}
}

/*
 * An empty disco-node means "none" (it is Tigase's default, and YAML
 * `disco-node: ""` reads the same); XEP-0030 forbids an empty node
 * attribute, so an empty one is never put on the wire.  A non-empty node
 * must be text an attribute can carry.
 */
static void
check_disco_node_syntax(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];
		const struct ir_str *n = &c->disco_node;
		size_t bad;

		if (n->s == NULL || n->s[0] == '\0')
			continue;
		if (!is_text(n->s, &bad)) {
			struct pos at = ir_str_at(n, bad);
			diag(ck->level, pos_or(&at, &c->pos), ck->name,
			     "'disco-node' of '%s' must be UTF-8 text without control characters",
			     comp_label(c));
		}
	}
}

/* disco-node only matters when the runtime answers disco#info itself. */
static void
check_disco_node_unused(const struct check *ck, const struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		const struct ir_component *c = &spec->components[i];

		if (c->disco == DISCO_FORWARD && c->disco_node.s != NULL &&
		    c->disco_node.s[0] != '\0')
			diag(ck->level, pos_or(&c->disco_node.pos, &c->pos),
			     ck->name,
			     "'disco-node' of '%s' has no effect with 'disco: forward' (the real component answers every disco#info)",
			     comp_label(c));
	}
}

/* A disco#info response the server cannot take would make it close the
 * upstream at every disco#info query: anyone could reset the component's
 * stream at will.  Its smallest envelope (an empty id and recipient) must
 * already fit max-stanza. */
static void
check_disco_size(const struct check *ck, const struct ir_spec *spec)
{
	/* The memo in each component is filled here; nothing the checks
	 * read changes. */
	struct ir_component *comps = spec->components;
	uint32_t max = spec->limits.max_stanza;
	const struct pos *lp = &spec->limits_pos[LIM_max_stanza];

	if (max == 0)
		return;	/* limits-sane's */
	for (size_t i = 0; i < spec->ncomponents; i++) {
		if (same_settings(spec, i))
			continue;
		struct ir_component *c = &comps[i];
		bool node = c->disco_node.s != NULL && c->disco_node.s[0] != '\0';
		size_t len, size;

		if (c->disco == DISCO_FORWARD)
			continue;
		/* With the node attribute the response is the longer one. */
		disco_query(c, node, &len);
		size = disco_reply_size(c, len);
		if (size <= max)
			continue;
		diag(ck->level, &c->pos, ck->name,
		     "the disco#info response of '%s' is %zu bytes (%zu features), larger than '%s' (%u bytes): the server would close the stream at every disco#info query",
		     comp_label(c), size, c->nfeatures,
		     spec->format == FMT_PROPERTIES ? "vcomp/max-stanza"
						    : "max-stanza", max);
		if (lp->line > 0)
			note_at(lp, "'max-stanza' is set here");
	}
}

/* ------------------------------------------------------------ limits */

/* RFC 6120 §13.12: a server must accept stanzas of at least 10000 bytes,
 * so a proxy in front of one must too. */
#define MIN_MAX_STANZA 10000u

static const char *
limit_key(const struct ir_spec *spec, enum limit_index k)
{
	if (spec->format != FMT_YAML)
		return xprintf("vcomp/%s", limit_names[k]);
	return limit_names[k];
}

static const struct pos *
limit_pos(const struct ir_spec *spec, enum limit_index k,
	  const struct pos *f)
{
	return pos_or(&spec->limits_pos[k], f);
}

static void
check_limits_sane(const struct check *ck, const struct ir_spec *spec)
{
	const struct ir_limits *l = &spec->limits;
	struct pos f = file_pos(spec);

	/* Every limit, VC_LIMITS' whole list, must be positive. */
	for (enum limit_index k = 0; k < LIM_COUNT; k++)
		if (ir_limit_get(l, k) == 0)
			diag(ck->level, limit_pos(spec, k, &f), ck->name,
			     "'%s' is 0; it must be positive",
			     limit_key(spec, k));
	if (l->backoff_min_ms > l->backoff_max_ms)
		diag(ck->level, limit_pos(spec, LIM_backoff_min_ms, &f), ck->name,
		     "'%s' (%u ms) is larger than '%s' (%u ms)",
		     limit_key(spec, LIM_backoff_min_ms), l->backoff_min_ms,
		     limit_key(spec, LIM_backoff_max_ms), l->backoff_max_ms);
	if (l->max_stanza != 0 && l->max_stanza < MIN_MAX_STANZA)
		diag(ck->level, limit_pos(spec, LIM_max_stanza, &f), ck->name,
		     "'%s' is %u bytes; RFC 6120 requires at least %u",
		     limit_key(spec, LIM_max_stanza), l->max_stanza,
		     MIN_MAX_STANZA);
	if (l->queue_bytes != 0 && l->queue_bytes < l->max_stanza)
		diag(ck->level, limit_pos(spec, LIM_queue_bytes, &f), ck->name,
		     "'%s' (%llu bytes) cannot hold one stanza of '%s' (%u bytes)",
		     limit_key(spec, LIM_queue_bytes),
		     (unsigned long long)l->queue_bytes,
		     limit_key(spec, LIM_max_stanza), l->max_stanza);
	if (l->output_cap != 0 && l->output_cap < l->max_stanza)
		diag(ck->level, limit_pos(spec, LIM_output_cap, &f), ck->name,
		     "'%s' (%u bytes) cannot hold one stanza of '%s' (%u bytes)",
		     limit_key(spec, LIM_output_cap), l->output_cap,
		     limit_key(spec, LIM_max_stanza), l->max_stanza);
}

/* ------------------------------------------------------------ the table */

#define STR_(x) #x
#define STR(x) STR_(x)

static const struct check checks[] = {
	{ "nodes-count", DIAG_ERROR,
	  "at least one node and at most " STR(VC_MAX_NODES),
	  check_nodes_count },
	{ "components-count", DIAG_ERROR,
	  "at least one component and at most " STR(VC_MAX_COMPONENTS),
	  check_components_count },
	{ "node-name", DIAG_ERROR,
	  "node names are 1-255 of A-Z a-z 0-9 . _ -, starting alphanumeric",
	  check_node_name },
	{ "duplicate-node", DIAG_ERROR,
	  "a node name is declared once",
	  check_duplicate_node },
	{ "domain-syntax", DIAG_ERROR,
	  "component domains are RFC 7622 domainparts",
	  check_domain_syntax },
	{ "duplicate-domain", DIAG_ERROR,
	  "a component domain is declared once (ASCII case ignored)",
	  check_duplicate_domain },
	{ "home-empty", DIAG_ERROR,
	  "every component names at least one home node",
	  check_home_empty },
	{ "home-unknown-node", DIAG_ERROR,
	  "every home is a declared node",
	  check_home_unknown_node },
	{ "home-duplicate", DIAG_ERROR,
	  "a node appears once in a component's home list",
	  check_home_duplicate },
	{ "all-nodes-home", DIAG_WARNING,
	  "a component homed on every node has nothing to virtualise",
	  check_all_nodes_home },
	{ "endpoint-syntax", DIAG_ERROR,
	  "endpoint hosts are IPv4, IPv6 or host names; ports 1-65535",
	  check_endpoint_syntax },
	{ "endpoint-conflict", DIAG_ERROR,
	  "no two endpoints of a node, or of nodes on one machine, share host:port",
	  check_endpoint_conflict },
	{ "stats-loopback", DIAG_WARNING,
	  "the unauthenticated stats listener is on a loopback address",
	  check_stats_loopback },
	{ "peer-plaintext", DIAG_WARNING,
	  "peer links are encrypted, or plaintext ones stay on loopback",
	  check_peer_plaintext },
	{ "secret-missing", DIAG_ERROR,
	  "the cluster and every component have a secret source",
	  check_secret_missing },
	{ "secret-empty", DIAG_ERROR,
	  "secret file paths and variable names are non-empty and well-formed",
	  check_secret_empty },
	{ "secret-list", DIAG_ERROR,
	  "a secret rotation list names each source once",
	  check_secret_list },
	{ "component-id", DIAG_ERROR,
	  "no two domains share a peer-link id (a 32-bit hash)",
	  check_component_id },
	{ "identity-missing", DIAG_ERROR,
	  "every component has an identity, each with category and type",
	  check_identity_missing },
	{ "identity-syntax", DIAG_ERROR,
	  "identity category/type are tokens, names are text, lang a tag",
	  check_identity_syntax },
	{ "identity-duplicate", DIAG_ERROR,
	  "one identity per category/type/lang (XEP-0030, XEP-0115 5.4)",
	  check_identity_duplicate },
	{ "feature-syntax", DIAG_ERROR,
	  "features are non-empty, without spaces or control characters",
	  check_feature_syntax },
	{ "feature-duplicate", DIAG_ERROR,
	  "a feature is listed once (XEP-0115 5.4)",
	  check_feature_duplicate },
	{ "disco-node-syntax", DIAG_ERROR,
	  "a non-empty disco-node is text without control characters",
	  check_disco_node_syntax },
	{ "disco-node-unused", DIAG_WARNING,
	  "disco-node is set on a component whose disco#info is forwarded",
	  check_disco_node_unused },
	{ "disco-size", DIAG_ERROR,
	  "a local disco#info response fits max-stanza",
	  check_disco_size },
	{ "limits-sane", DIAG_ERROR,
	  "limits are positive, backoff-min <= backoff-max, queues fit a stanza",
	  check_limits_sane },
};

#define NCHECKS (sizeof checks / sizeof checks[0])

bool
check_spec(struct ir_spec *spec)
{
	int before = diag_error_count();

	/* The component-id check and every later pass need the ids. */
	compat_compute(spec);
	for (size_t i = 0; i < NCHECKS; i++)
		checks[i].fn(&checks[i], spec);
	return diag_error_count() == before;
}

void
check_list(FILE *out)
{
	for (size_t i = 0; i < NCHECKS; i++)
		fprintf(out, "%-20s %-8s %s\n", checks[i].name,
			checks[i].level == DIAG_ERROR ? "error" : "warning",
			checks[i].desc);
}
