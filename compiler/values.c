/*
 * values.c — parsing of the value kinds both spec formats share
 * (endpoints, sizes, durations), the limits table, "did you mean" hints
 * and the node defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
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
	struct ir_str p = { (char *)colon + 1, v->pos };
	p.pos.col += (int)(colon + 1 - s);
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
	out->host.pos = v->pos;
	out->port = (int)port;
	out->pos = v->pos;
	return true;
}

/* ---------------------------------------------------------------- limits */

#define LIMITS(X) \
	X("queue-bytes",  queue_bytes,     SIZE, UINT64_MAX) \
	X("queue-age",    queue_age_ms,    TIME, 0) \
	X("max-stanza",   max_stanza,      SIZE, UINT32_MAX) \
	X("output-cap",   output_cap,      SIZE, UINT32_MAX) \
	X("routes",       routes,          UINT, UINT32_MAX) \
	X("keepalive",    keepalive_ms,    TIME, 0) \
	X("peer-timeout", peer_timeout_ms, TIME, 0) \
	X("backoff-min",  backoff_min_ms,  TIME, 0) \
	X("backoff-max",  backoff_max_ms,  TIME, 0)

#define NAME(n, f, kind, max) n,
const char *const limit_names[] = { LIMITS(NAME) };
#undef NAME
const size_t nlimit_names = sizeof limit_names / sizeof limit_names[0];

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
	size_t i = 0;
	uint64_t n;
	uint32_t ms;

	*known = true;
#define SET(name, field, kind, max)                                           \
	if (strcmp(key, name) == 0) {                                         \
		if (LIMIT_##kind(name, field, max))                           \
			return false;                                         \
		spec->limits_pos[i] = v->pos;                                 \
		return true;                                                  \
	}                                                                     \
	i++;
#define LIMIT_SIZE(name, field, max) \
	(!parse_size(name, v, max, &n) || ((spec->limits.field = (__typeof__(spec->limits.field))n), 0))
#define LIMIT_UINT(name, field, max) \
	(!parse_uint(name, v, max, &n) || ((spec->limits.field = (__typeof__(spec->limits.field))n), 0))
#define LIMIT_TIME(name, field, max) \
	(!parse_duration_ms(name, v, &ms) || ((spec->limits.field = ms), 0))
	LIMITS(SET)
#undef SET
	*known = false;
	return false;
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
