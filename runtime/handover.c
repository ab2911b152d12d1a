/*
 * handover.c — the in-place upgrade's state format (handover.h).
 *
 * Written by the old image right before execve() and read by the new one
 * right after; both are the same program only when the upgrade is a
 * restart, so the format carries its version and the reader checks every
 * length against what is left, every fd against the range of descriptors,
 * and a checksum over the whole, before anything is adopted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"

/* Longest string field (a node name, a domain, a JID, a stanza field). */
#define HO_STR_MAX	4096

/* ------------------------------------------------------------ writing */

static void
put_u8(struct vbuf *b, uint8_t v)
{
	vbuf_addch(b, (char)v);
}

static void
put_uint(struct vbuf *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		vbuf_addch(b, (char)(uint8_t)(v >> (8 * i)));
}

static void
put_bytes(struct vbuf *b, const void *p, size_t n)
{
	put_uint(b, n, 4);
	vbuf_add(b, p, n);
}

static void
put_str(struct vbuf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

/* An optional string: present flag, then the string. */
static void
put_opt(struct vbuf *b, const char *s)
{
	put_u8(b, s != NULL);
	if (s != NULL)
		put_str(b, s);
}

/* FNV-1a, 64 bits: catches a garbled state, not an attacker (whoever can
 * write the state can also exec the binary). */
static uint64_t
fnv1a(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
handover_write(const struct handover *h, struct vbuf *out)
{
	size_t start = out->len;

	vbuf_add(out, HANDOVER_MAGIC, 4);
	put_uint(out, HANDOVER_VERSION, 2);
	put_str(out, h->node);
	put_uint(out, h->nlisteners, 4);
	for (size_t i = 0; i < h->nlisteners; i++) {
		put_u8(out, h->listeners[i].kind);
		put_uint(out, (uint32_t)h->listeners[i].fd, 4);
	}
	put_uint(out, h->nconns, 4);
	for (size_t i = 0; i < h->nconns; i++) {
		const struct ho_conn *c = &h->conns[i];

		put_u8(out, c->kind);
		put_uint(out, (uint32_t)c->fd, 4);
		put_uint(out, c->comp_id, 4);
		put_str(out, c->domain);
		put_bytes(out, c->hdr.p, c->hdr.len);
		put_bytes(out, c->in.p, c->in.len);
		put_bytes(out, c->out.p, c->out.len);
	}
	put_uint(out, h->nstanzas, 4);
	for (size_t i = 0; i < h->nstanzas; i++) {
		const struct ho_stanza *s = &h->stanzas[i];

		put_u8(out, s->queue);
		put_u8(out, s->replayed);
		put_uint(out, s->comp_id, 4);
		put_opt(out, s->node);
		put_uint(out, s->age_ms, 8);
		put_bytes(out, s->raw.p, s->raw.len);
		put_opt(out, s->name);
		put_opt(out, s->from);
		put_opt(out, s->to);
		put_opt(out, s->id);
		put_opt(out, s->type);
	}
	put_uint(out, h->nseen, 4);
	for (size_t i = 0; i < h->nseen; i++) {
		put_uint(out, h->seen[i].comp_id, 4);
		put_str(out, h->seen[i].jid);
	}
	put_uint(out, fnv1a(out->p + start, out->len - start), 8);
}

bool
handover_fits(const struct handover *h, size_t len, char *why, size_t whylen)
{
	if (len > HANDOVER_MAX_BYTES)
		snprintf(why, whylen, "%zu bytes, the limit is %u", len,
		    HANDOVER_MAX_BYTES);
	else if (h->nlisteners > HANDOVER_MAX_LISTENERS ||
	    h->nconns > HANDOVER_MAX_CONNS ||
	    h->nstanzas > HANDOVER_MAX_STANZAS ||
	    h->nseen > HANDOVER_MAX_SEEN)
		snprintf(why, whylen, "%zu listeners, %zu sessions, %zu "
		    "stanzas, %zu users seen: more than the reader takes",
		    h->nlisteners, h->nconns, h->nstanzas, h->nseen);
	else
		return true;
	return false;
}

/* ------------------------------------------------------------ reading */

struct rd {
	const unsigned char *p;
	size_t left;
	const char *err;        /* the first problem; NULL while fine */
};

static uint64_t
get_uint(struct rd *r, int bytes)
{
	uint64_t v = 0;

	if (r->err != NULL)
		return 0;
	if (r->left < (size_t)bytes) {
		r->err = "truncated";
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += bytes;
	r->left -= (size_t)bytes;
	return v;
}

static void
get_bytes(struct rd *r, struct vbuf *b)
{
	uint64_t n = get_uint(r, 4);

	if (r->err != NULL)
		return;
	if (n > r->left) {
		r->err = "truncated";
		return;
	}
	vbuf_add(b, r->p, (size_t)n);
	r->p += n;
	r->left -= (size_t)n;
}

/* A string: bounded, without NUL bytes. */
static char *
get_str(struct rd *r)
{
	uint64_t n = get_uint(r, 4);
	char *s;

	if (r->err != NULL)
		return NULL;
	if (n > r->left) {
		r->err = "truncated";
		return NULL;
	}
	if (n > HO_STR_MAX || memchr(r->p, '\0', (size_t)n) != NULL) {
		r->err = "malformed string";
		return NULL;
	}
	s = xmalloc((size_t)n + 1);
	memcpy(s, r->p, (size_t)n);
	s[n] = '\0';
	r->p += n;
	r->left -= (size_t)n;
	return s;
}

static char *
get_opt(struct rd *r)
{
	uint64_t present = get_uint(r, 1);

	if (r->err == NULL && present > 1)
		r->err = "malformed optional field";
	return present == 1 && r->err == NULL ? get_str(r) : NULL;
}

/* A list count: each entry takes at least min bytes, so a count larger
 * than what is left can only be garbage (and would allocate needlessly);
 * and at most max entries (handover.h). */
static size_t
get_count(struct rd *r, size_t min, size_t max)
{
	uint64_t n = get_uint(r, 4);

	if (r->err == NULL && n > r->left / min)
		r->err = "truncated";
	else if (r->err == NULL && n > max)
		r->err = "too many entries";
	return r->err == NULL ? (size_t)n : 0;
}

/* A descriptor the new image inherited: 0, 1 and 2 are never ours. */
static int
get_fd(struct rd *r)
{
	uint64_t fd = get_uint(r, 4);

	if (r->err == NULL && (fd < 3 || fd > 0x7fffffff))
		r->err = "bad file descriptor";
	return (int)fd;
}

static void
read_lists(struct handover *h, struct rd *r)
{
	size_t n;

	n = get_count(r, 5, HANDOVER_MAX_LISTENERS);
	h->listeners = xcalloc(n ? n : 1, sizeof *h->listeners);
	for (size_t i = 0; i < n && r->err == NULL; i++, h->nlisteners++) {
		h->listeners[i].kind = (uint8_t)get_uint(r, 1);
		h->listeners[i].fd = get_fd(r);
		if (r->err == NULL && (h->listeners[i].kind < HO_L_HOME ||
		    h->listeners[i].kind > HO_L_STATS))
			r->err = "unknown listener kind";
	}
	n = get_count(r, 25, HANDOVER_MAX_CONNS);
	h->conns = xcalloc(n ? n : 1, sizeof *h->conns);
	for (size_t i = 0; i < n && r->err == NULL; i++, h->nconns++) {
		struct ho_conn *c = &h->conns[h->nconns];

		c->kind = (uint8_t)get_uint(r, 1);
		c->fd = get_fd(r);
		c->comp_id = (uint32_t)get_uint(r, 4);
		c->domain = get_str(r);
		get_bytes(r, &c->hdr);
		get_bytes(r, &c->in);
		get_bytes(r, &c->out);
		if (r->err == NULL && c->kind != HO_C_UPSTREAM &&
		    c->kind != HO_C_HOME)
			r->err = "unknown connection kind";
		if (r->err == NULL && c->hdr.len == 0) {
			/* That one session cannot continue; the others
			 * can (the caller lets its descriptor go). */
			free(c->domain);
			vbuf_free(&c->hdr);
			vbuf_free(&c->in);
			vbuf_free(&c->out);
			memset(c, 0, sizeof *c);
			h->nconns--;
			h->ndropped++;
		}
	}
	n = get_count(r, 24, HANDOVER_MAX_STANZAS);
	h->stanzas = xcalloc(n ? n : 1, sizeof *h->stanzas);
	for (size_t i = 0; i < n && r->err == NULL; i++, h->nstanzas++) {
		struct ho_stanza *s = &h->stanzas[i];

		s->queue = (uint8_t)get_uint(r, 1);
		s->replayed = (uint8_t)get_uint(r, 1);
		s->comp_id = (uint32_t)get_uint(r, 4);
		s->node = get_opt(r);
		s->age_ms = get_uint(r, 8);
		get_bytes(r, &s->raw);
		s->name = get_opt(r);
		s->from = get_opt(r);
		s->to = get_opt(r);
		s->id = get_opt(r);
		s->type = get_opt(r);
		if (r->err != NULL)
			continue;	/* the loop ends; s is counted, freed */
		if (s->queue < HO_Q_TO_HOME || s->queue > HO_Q_NODE ||
		    s->replayed > 1)
			r->err = "unknown queue";
		else if ((s->queue == HO_Q_NODE) != (s->node != NULL))
			r->err = "node queue without a node";
		else if (s->raw.len == 0 || s->name == NULL ||
		    memchr(s->raw.p, '\0', s->raw.len) != NULL)
			r->err = "malformed queued stanza";
	}
	n = get_count(r, 8, HANDOVER_MAX_SEEN);
	h->seen = xcalloc(n ? n : 1, sizeof *h->seen);
	for (size_t i = 0; i < n && r->err == NULL; i++, h->nseen++) {
		h->seen[i].comp_id = (uint32_t)get_uint(r, 4);
		h->seen[i].jid = get_str(r);
		if (r->err == NULL && h->seen[i].jid[0] == '\0')
			r->err = "empty JID";
	}
}

int
handover_read(struct handover *h, const void *p, size_t n, const char *node,
    char *why, size_t whylen)
{
	struct rd r = { p, n, NULL };
	uint64_t version, sum;

	memset(h, 0, sizeof *h);
	if (n < 4 + 2 + 8 || memcmp(p, HANDOVER_MAGIC, 4) != 0) {
		snprintf(why, whylen, "%s", n < 14 ? "truncated" :
		    "not a handover state");
		return -1;
	}
	sum = 0;
	for (int i = 0; i < 8; i++)
		sum |= (uint64_t)((const unsigned char *)p)[n - 8 + i] <<
		    (8 * i);
	r.p += 4;
	r.left = n - 4 - 8;
	version = get_uint(&r, 2);
	if (version != HANDOVER_VERSION) {
		snprintf(why, whylen, "format version %llu, expected %d",
		    (unsigned long long)version, HANDOVER_VERSION);
		return -1;
	}
	if (fnv1a(p, n - 8) != sum) {
		snprintf(why, whylen, "checksum mismatch (garbled or "
		    "truncated)");
		return -1;
	}
	h->node = get_str(&r);
	if (r.err == NULL && strcmp(h->node, node) != 0) {
		snprintf(why, whylen, "written by node %.100s, not %.100s",
		    h->node, node);
		handover_free(h);
		return -1;
	}
	read_lists(h, &r);
	if (r.err == NULL && r.left != 0)
		r.err = "trailing bytes";
	if (r.err != NULL) {
		snprintf(why, whylen, "%s", r.err);
		handover_free(h);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ building */

/* Grows an array by one zeroed element; returns it. */
static void *
grow(void *pv, size_t *n, size_t size)
{
	void **pp = pv;
	char *a = xrealloc(*pp, (*n + 1) * size);

	memset(a + *n * size, 0, size);
	*pp = a;
	return a + (*n)++ * size;
}

struct ho_listener *
handover_add_listener(struct handover *h)
{
	return grow(&h->listeners, &h->nlisteners, sizeof *h->listeners);
}

struct ho_conn *
handover_add_conn(struct handover *h)
{
	return grow(&h->conns, &h->nconns, sizeof *h->conns);
}

struct ho_stanza *
handover_add_stanza(struct handover *h)
{
	return grow(&h->stanzas, &h->nstanzas, sizeof *h->stanzas);
}

struct ho_seen *
handover_add_seen(struct handover *h)
{
	return grow(&h->seen, &h->nseen, sizeof *h->seen);
}

void
handover_free(struct handover *h)
{
	free(h->node);
	free(h->listeners);
	for (size_t i = 0; i < h->nconns; i++) {
		free(h->conns[i].domain);
		vbuf_free(&h->conns[i].hdr);
		vbuf_free(&h->conns[i].in);
		vbuf_free(&h->conns[i].out);
	}
	free(h->conns);
	for (size_t i = 0; i < h->nstanzas; i++) {
		struct ho_stanza *s = &h->stanzas[i];

		free(s->node);
		vbuf_free(&s->raw);
		free(s->name);
		free(s->from);
		free(s->to);
		free(s->id);
		free(s->type);
	}
	free(h->stanzas);
	for (size_t i = 0; i < h->nseen; i++)
		free(h->seen[i].jid);
	free(h->seen);
	memset(h, 0, sizeof *h);
}
