/*
 * values.c — parsing of the value kinds both spec formats share
 * (endpoints, sizes, durations), the limits table, "did you mean" hints
 * and the node defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "vcompc.h"

bool
parse_uint(const char *key, const struct ir_str *v, uint64_t max,
	   uint64_t *out)
{
	const char *s = v->s;
	uint64_t n = 0;

	if (*s == '\0' || !isdigit((unsigned char)*s)) {
		error_at(&v->pos, "'%s' must be a non-negative integer, not '%s'",
			 key, s);
		return false;
	}
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (n > (UINT64_MAX - d) / 10 || n * 10 + d > max) {
			error_at(&v->pos, "'%s' is out of range (at most %llu)",
				 key, (unsigned long long)max);
			return false;
		}
		n = n * 10 + d;
	}
	if (*s != '\0') {
		error_at(&v->pos, "'%s' must be a non-negative integer, not '%s'",
			 key, v->s);
		return false;
	}
	*out = n;
	return true;
}

/* Splits "123unit" into the number and the unit; the unit may be empty. */
static bool
split_number(const char *s, uint64_t *n, const char **unit)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	while (*s == ' ')
		s++;
	*n = v;
	*unit = s;
	return true;
}

static const struct {
	const char *unit;
	uint64_t mul;
} size_units[] = {
	{ "", 1 }, { "B", 1 },
	{ "K", 1024 }, { "KiB", 1024 }, { "KB", 1000 }, { "k", 1024 },
	{ "M", 1024 * 1024 }, { "MiB", 1024 * 1024 }, { "MB", 1000 * 1000 },
	{ "G", 1024 * 1024 * 1024 }, { "GiB", 1024 * 1024 * 1024 },
	{ "GB", 1000 * 1000 * 1000 },
};

bool
parse_size(const char *key, const struct ir_str *v, uint64_t max,
	   uint64_t *out)
{
	uint64_t n;
	const char *unit;

	if (!split_number(v->s, &n, &unit)) {
		error_at(&v->pos, "'%s' must be a size such as 8MiB or 524288, not '%s'",
			 key, v->s);
		return false;
	}
	for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++) {
		if (strcmp(unit, size_units[i].unit) != 0)
			continue;
		if (n > max / size_units[i].mul) {
			error_at(&v->pos, "'%s' is out of range (at most %llu bytes)",
				 key, (unsigned long long)max);
			return false;
		}
		*out = n * size_units[i].mul;
		return true;
	}
	error_at(&v->pos, "'%s' has an unknown size unit '%s' (use K, KiB, M, MiB, G, GiB, KB, MB or GB)",
		 key, unit);
	return false;
}

bool
parse_duration_ms(const char *key, const struct ir_str *v, uint32_t *out)
{
	uint64_t n, mul;
	const char *unit;

	if (!split_number(v->s, &n, &unit)) {
		error_at(&v->pos, "'%s' must be a duration such as 30s or 250ms, not '%s'",
			 key, v->s);
		return false;
	}
	if (strcmp(unit, "") == 0 || strcmp(unit, "ms") == 0)
		mul = 1;
	else if (strcmp(unit, "s") == 0)
		mul = 1000;
	else if (strcmp(unit, "m") == 0 || strcmp(unit, "min") == 0)
		mul = 60000;
	else if (strcmp(unit, "h") == 0)
		mul = 3600000;
	else {
		error_at(&v->pos, "'%s' has an unknown time unit '%s' (use ms, s, m or h)",
			 key, unit);
		return false;
	}
	if (n > UINT32_MAX / mul) {
		error_at(&v->pos, "'%s' is out of range (at most %u ms)", key,
			 UINT32_MAX);
		return false;
	}
	*out = (uint32_t)(n * mul);
	return true;
}

bool
parse_endpoint(const char *key, const struct ir_str *v, struct ir_endpoint *out)
{
	const char *s = v->s, *colon;
	char *host;
	uint64_t port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':') {
			error_at(&v->pos, "'%s' must be [IPv6]:PORT, not '%s'", key, s);
			return false;
		}
		host = xstrndup(s + 1, (size_t)(close - s - 1));
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			error_at(&v->pos, "'%s' must be HOST:PORT, not '%s' (the port is missing)",
				 key, s);
			return false;
		}
		host = xstrndup(s, (size_t)(colon - s));
		if (strchr(host, ':') != NULL) {
			error_at(&v->pos, "'%s': an IPv6 address must be in brackets, as in [::1]:5347",
				 key);
			return false;
		}
	}
	if (host[0] == '\0') {
		error_at(&v->pos, "'%s' has an empty host in '%s'", key, s);
		return false;
	}
	struct ir_str p = { (char *)colon + 1, ir_str_at(v, (size_t)(colon + 1 - s)),
			    v->verbatim };
	if (p.s[0] == '\0') {
		error_at(&p.pos, "'%s' has an empty port in '%s'", key, s);
		return false;
	}
	if (!parse_uint(key, &p, 65535, &port))
		return false;
	if (port == 0) {
		error_at(&p.pos, "'%s': port 0 is not a usable port (1-65535)", key);
		return false;
	}
	out->host.s = host;
	out->host.pos = ir_str_at(v, s[0] == '[' ? 1 : 0);
	out->host.verbatim = v->verbatim;
	out->port = (int)port;
	out->pos = v->pos;
	return true;
}

struct pos
ir_str_at(const struct ir_str *s, size_t off)
{
	struct pos p = s->pos;

	if (s->verbatim && p.line > 0)
		p.col += (int)off;
	return p;
}

bool
parse_disco_mode(const char *key, const struct ir_str *v,
		 enum disco_mode *out)
{
	static const char *const modes[] = { "local", "forward" };
	const char *hint;

	if (strcmp(v->s, "local") == 0) {
		*out = DISCO_LOCAL;
		return true;
	}
	if (strcmp(v->s, "forward") == 0) {
		*out = DISCO_FORWARD;
		return true;
	}
	hint = did_you_mean(v->s, modes, 2);
	if (hint != NULL)
		error_at(&v->pos, "'%s' must be 'local' or 'forward', not '%s'; did you mean '%s'?",
			 key, v->s, hint);
	else
		error_at(&v->pos, "'%s' must be 'local' or 'forward', not '%s'",
			 key, v->s);
	return false;
}

bool
parse_peer_encryption(const char *key, const struct ir_str *v,
		      enum peer_enc *out)
{
	static const char *const modes[] = { "tls", "none" };
	const char *hint;

	if (strcmp(v->s, "tls") == 0) {
		*out = PEER_ENC_TLS;
		return true;
	}
	if (strcmp(v->s, "none") == 0) {
		*out = PEER_ENC_NONE;
		return true;
	}
	hint = did_you_mean(v->s, modes, 2);
	if (hint != NULL)
		error_at(&v->pos, "'%s' must be 'tls' or 'none', not '%s'; did you mean '%s'?",
			 key, v->s, hint);
	else
		error_at(&v->pos, "'%s' must be 'tls' or 'none', not '%s'",
			 key, v->s);
	return false;
}

/* ---------------------------------------------------------------- limits */

/*
 * The limits come from the one list, VC_LIMITS (runtime/vcomp_table.h):
 * the key, the field, how the value is written and its default.  Each
 * table below is one expansion of it, in the order of enum limit_index.
 */
struct limit_def {
	size_t off, width;	/* the field in struct ir_limits */
	uint64_t max;		/* largest value the field holds */
};

#define NAME(field, type, key, kind, def, what) key,
const char *const limit_names[LIM_COUNT] = { VC_LIMITS(NAME) };
#undef NAME
const size_t nlimit_names = LIM_COUNT;

const char *const nkey_names[NKEY_N] = { "server", "peer", "listen", "stats" };
const char *const ckey_names[VCK_N] = {
	"secret-file", "secret-env", "secret-previous-file",
	"secret-previous-env", "disco",
};

const char **
vcomp_key_candidates(const struct ir_spec *spec, const char *const *comps,
		     size_t ncomps, bool blocks, size_t *n)
{
	static const char *const fixed[] = {
		"vcomp/cluster-secret-file", "vcomp/cluster-secret-env",
		"vcomp/cluster-secret-previous-file",
		"vcomp/cluster-secret-previous-env",
		"vcomp/peer-encryption", "vcomp/servers",
	};
	const char **c = NULL;
	size_t nc = 0;

	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		*IR_PUSH(c, nc) = fixed[i];
	if (blocks) {
		*IR_PUSH(c, nc) = "vcomp/node";
		*IR_PUSH(c, nc) = "vcomp/component";
	}
	for (size_t i = 0; i < nlimit_names; i++)
		*IR_PUSH(c, nc) = xprintf("vcomp/%s", limit_names[i]);
	for (size_t i = 0; i < spec->nnodes; i++)
		for (size_t j = 0; j < NKEY_N; j++)
			*IR_PUSH(c, nc) = xprintf("vcomp/node/%s/%s",
						  spec->nodes[i].name.s,
						  nkey_names[j]);
	for (size_t i = 0; i < ncomps; i++)
		for (size_t j = 0; j < VCK_N; j++)
			*IR_PUSH(c, nc) = xprintf("vcomp/component/%s/%s",
						  comps[i], ckey_names[j]);
	*n = nc;
	return c;
}

#define KIND(field, type, key, kind, def, what) LIMIT_##kind,
const enum limit_kind limit_kinds[LIM_COUNT] = { VC_LIMITS(KIND) };
#undef KIND

#define WHAT(field, type, key, kind, def, what) what,
const char *const limit_whats[LIM_COUNT] = { VC_LIMITS(WHAT) };
#undef WHAT

#define FIELD(field, type, key, kind, def, what) #field,
const char *const limit_fields[LIM_COUNT] = { VC_LIMITS(FIELD) };
#undef FIELD

#define DEF(field, type, key, kind, def, what) \
	{ offsetof(struct ir_limits, field), sizeof(type), \
	  sizeof(type) == sizeof(uint64_t) ? UINT64_MAX : UINT32_MAX },
static const struct limit_def limit_defs[LIM_COUNT] = { VC_LIMITS(DEF) };
#undef DEF

/* parse_duration_ms gives 32 bits: every TIME limit is a uint32_t. */
#define TIME32(field, type, key, kind, def, what) \
	_Static_assert(LIMIT_##kind != LIMIT_TIME || \
	    sizeof(type) == sizeof(uint32_t), "TIME limit " key " is not 32-bit");
VC_LIMITS(TIME32)
#undef TIME32

void
ir_limits_default(struct ir_limits *l)
{
#define SET(field, type, key, kind, def, what) l->field = (def);
	VC_LIMITS(SET)
#undef SET
}

uint64_t
ir_limit_get(const struct ir_limits *l, enum limit_index k)
{
	const char *field = (const char *)l + limit_defs[k].off;
	uint64_t x64;
	uint32_t x32;

	if (limit_defs[k].width == sizeof x64) {
		memcpy(&x64, field, sizeof x64);
		return x64;
	}
	memcpy(&x32, field, sizeof x32);
	return x32;
}

bool
limit_set(struct ir_spec *spec, const char *key, const struct ir_str *v,
	  bool *known)
{
	const struct limit_def *d = NULL;
	char *field;
	uint64_t n = 0;
	uint32_t ms;
	size_t i;
	bool ok;

	for (i = 0; i < LIM_COUNT; i++)
		if (strcmp(key, limit_names[i]) == 0) {
			d = &limit_defs[i];
			break;
		}
	*known = d != NULL;
	if (d == NULL)
		return false;
	switch (limit_kinds[i]) {
	case LIMIT_SIZE:
		ok = parse_size(key, v, d->max, &n);
		break;
	case LIMIT_COUNT:
		ok = parse_uint(key, v, d->max, &n);
		break;
	default:
		ok = parse_duration_ms(key, v, &ms);
		n = ms;
		break;
	}
	if (!ok)
		return false;
	/* Every field is a uint64_t or a uint32_t, and the parsers kept n
	 * within d->max, so the value fits the field. */
	field = (char *)&spec->limits + d->off;
	if (d->width == sizeof(uint64_t)) {
		uint64_t x = n;
		memcpy(field, &x, sizeof x);
	} else {
		uint32_t x = (uint32_t)n;
		memcpy(field, &x, sizeof x);
	}
	spec->limits_pos[i] = v->pos;
	return true;
}

/* ---------------------------------------------------------------- hints */

static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64 + 1];

	if (lb > 64 || la > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) ==
			    tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = diag + cost;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			if (up + 1 < best)
				best = up + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *
did_you_mean(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;
	size_t limit = strlen(word) / 3 + 1;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return bestd <= limit ? best : NULL;
}

/* ---------------------------------------------------------------- nodes */

void
ir_apply_node_defaults(struct ir_spec *spec)
{
	for (size_t i = 0; i < spec->nnodes; i++) {
		struct ir_node *nd = &spec->nodes[i];
		if (nd->server.host.s == NULL) {
			nd->server.host.s = VC_DEFAULT_SERVER_HOST;
			nd->server.port = VC_DEFAULT_SERVER_PORT;
		}
		if (nd->peer.host.s == NULL) {
			nd->peer.host.s = nd->name.s;
			nd->peer.host.pos = nd->name.pos;
		}
		if (nd->peer.port == 0)
			nd->peer.port = VC_DEFAULT_PEER_PORT;
		if (nd->listen.host.s == NULL) {
			nd->listen.host.s = VC_DEFAULT_LISTEN_HOST;
			nd->listen.port = VC_DEFAULT_LISTEN_PORT;
		}
	}
}

bool
parse_servers(const char *key, const struct ir_str *v, enum servers_kind *out)
{
	static const char *const kinds[] = { "independent", "clustered" };
	const char *hint;

	for (int i = 0; i < 2; i++)
		if (strcmp(v->s, kinds[i]) == 0) {
			*out = i == 0 ? SERVERS_INDEPENDENT : SERVERS_CLUSTERED;
			return true;
		}
	hint = did_you_mean(v->s, kinds, 2);
	if (hint != NULL)
		error_at(&v->pos, "'%s' must be 'independent' or 'clustered', not '%s'; did you mean '%s'?",
			 key, v->s, hint);
	else
		error_at(&v->pos, "'%s' must be 'independent' or 'clustered', not '%s'",
			 key, v->s);
	return false;
}
