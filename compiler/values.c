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

/* ---------------------------------------------------------------- limits */

/*
 * The limits, in the order of struct ir_limits' fields (and of
 * spec->limits_pos): the key, the field, how the value is written and the
 * largest value the field holds.  One list feeds limit_names[] (for "did
 * you mean") and limit_defs[] (for limit_set).
 */
#define LIMITS(X) \
	X("queue-bytes",  queue_bytes,     LIMIT_SIZE, UINT64_MAX) \
	X("queue-age",    queue_age_ms,    LIMIT_TIME, UINT32_MAX) \
	X("max-stanza",   max_stanza,      LIMIT_SIZE, UINT32_MAX) \
	X("output-cap",   output_cap,      LIMIT_SIZE, UINT32_MAX) \
	X("routes",       routes,          LIMIT_UINT, UINT32_MAX) \
	X("keepalive",    keepalive_ms,    LIMIT_TIME, UINT32_MAX) \
	X("peer-timeout", peer_timeout_ms, LIMIT_TIME, UINT32_MAX) \
	X("backoff-min",  backoff_min_ms,  LIMIT_TIME, UINT32_MAX) \
	X("backoff-max",  backoff_max_ms,  LIMIT_TIME, UINT32_MAX)

enum limit_kind { LIMIT_SIZE, LIMIT_TIME, LIMIT_UINT };

struct limit_def {
	const char *name;
	enum limit_kind kind;
	size_t off, width;	/* the field in struct ir_limits */
	uint64_t max;		/* LIMIT_TIME: parse_duration_ms's own bound */
};

#define NAME(name, field, kind, max) name,
const char *const limit_names[] = { LIMITS(NAME) };
#undef NAME
const size_t nlimit_names = sizeof limit_names / sizeof limit_names[0];

#define DEF(name, field, kind, max) \
	{ name, kind, offsetof(struct ir_limits, field), \
	  sizeof ((struct ir_limits *)0)->field, max },
static const struct limit_def limit_defs[] = { LIMITS(DEF) };
#undef DEF

void
ir_limits_default(struct ir_limits *l)
{
	l->queue_bytes = VC_DEFAULT_QUEUE_BYTES;
	l->queue_age_ms = VC_DEFAULT_QUEUE_AGE_MS;
	l->max_stanza = VC_DEFAULT_MAX_STANZA;
	l->output_cap = VC_DEFAULT_OUTPUT_CAP;
	l->routes = VC_DEFAULT_ROUTES;
	l->keepalive_ms = VC_DEFAULT_KEEPALIVE_MS;
	l->peer_timeout_ms = VC_DEFAULT_PEER_TIMEOUT_MS;
	l->backoff_min_ms = VC_DEFAULT_BACKOFF_MIN_MS;
	l->backoff_max_ms = VC_DEFAULT_BACKOFF_MAX_MS;
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

	for (i = 0; i < nlimit_names; i++)
		if (strcmp(key, limit_defs[i].name) == 0) {
			d = &limit_defs[i];
			break;
		}
	*known = d != NULL;
	if (d == NULL)
		return false;
	switch (d->kind) {
	case LIMIT_SIZE:
		ok = parse_size(key, v, d->max, &n);
		break;
	case LIMIT_UINT:
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
