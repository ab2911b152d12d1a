/*
 * queue.c — bounded FIFOs of raw stanzas, and the bounce rules.
 *
 * A queue holds stanzas for a destination that is away (the real component
 * is not connected, the upstream is reconnecting).  It is bounded in bytes
 * (limits.queue_bytes) by queue_push, which refuses a stanza that does not
 * fit.  The bytes counted are the whole entry — header, raw bytes and the
 * copied fields — because for small stanzas the overhead is most of the
 * memory: counting only raw bytes let a queue of presences take two to
 * three times queue-bytes.  It is bounded in age (limits.queue_age_ms) by its owner, which pops expired
 * entries with queue_pop_expired when the queue's timer fires.  Time is
 * always passed in, so the rules can be tested with a fake clock.
 *
 * Every refused or expired stanza is answered (bounce_build) or, when it is
 * an error or an iq result — which must never be answered with an error —
 * counted as dropped by the caller.  Nothing leaves a queue silently.
 *
 * Ownership: an entry is one malloc'd block owned by the queue until popped;
 * the popper frees it.
 */
#include <stdlib.h>
#include <string.h>

#include "vcrt.h"

/* Copies s (if not NULL) to data + *off and returns its offset, or 0. */
static uint32_t
put_field(char *data, size_t *off, const char *s)
{
	size_t at = *off, n;

	if (s == NULL)
		return 0;
	n = strlen(s) + 1;
	memcpy(data + at, s, n);
	*off += n;
	return (uint32_t)at;
}

static size_t
field_len(const char *s)
{
	return s == NULL ? 0 : strlen(s) + 1;
}

/* Bytes of data[] for a copy of st. */
static size_t
data_size(const struct xs_stanza *st)
{
	return st->raw_len + 1 + field_len(st->name) + field_len(st->from) +
	    field_len(st->to) + field_len(st->id) + field_len(st->type);
}

struct qent *
qent_new(const struct xs_stanza *st, uint64_t now)
{
	struct qent *e;
	size_t size = data_size(st), off;

	e = xmalloc(sizeof *e + size);
	e->next = NULL;
	e->t = now;
	e->comp = 0;
	e->replayed = 0;
	e->len = st->raw_len;
	e->size = (uint32_t)size;
	memcpy(e->data, st->raw, st->raw_len);
	e->data[st->raw_len] = '\0';
	off = st->raw_len + 1;
	e->name = put_field(e->data, &off, st->name);
	e->from = put_field(e->data, &off, st->from);
	e->to = put_field(e->data, &off, st->to);
	e->id = put_field(e->data, &off, st->id);
	e->type = put_field(e->data, &off, st->type);
	return e;
}

size_t
qent_size(const struct qent *e)
{
	return sizeof *e + e->size;
}

bool
queue_push(struct queue *q, const struct xs_stanza *st, uint64_t now,
    uint64_t max_bytes)
{
	struct qent *e;

	if (q->head != NULL &&
	    q->bytes + sizeof(struct qent) + data_size(st) > max_bytes)
		return false;
	e = qent_new(st, now);
	if (q->tail != NULL)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	q->bytes += qent_size(e);
	q->count++;
	return true;
}

void
queue_unpop(struct queue *q, struct qent *e)
{
	e->next = q->head;
	q->head = e;
	if (q->tail == NULL)
		q->tail = e;
	q->bytes += qent_size(e);
	q->count++;
}

struct qent *
queue_pop(struct queue *q)
{
	struct qent *e = q->head;

	if (e == NULL)
		return NULL;
	q->head = e->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->bytes -= qent_size(e);
	q->count--;
	e->next = NULL;
	return e;
}

struct qent *
queue_pop_expired(struct queue *q, uint64_t now, uint32_t age_ms)
{
	if (q->head == NULL || now - q->head->t < age_ms)
		return NULL;
	return queue_pop(q);
}

void
queue_clear(struct queue *q)
{
	struct qent *e;

	while ((e = queue_pop(q)) != NULL)
		free(e);
}

void
qent_stanza(const struct qent *e, struct xs_stanza *st)
{
	memset(st, 0, sizeof *st);
	st->raw = e->data;
	st->raw_len = e->len;
	st->name = e->name ? e->data + e->name : "";
	st->ns = "";
	st->from = e->from ? e->data + e->from : NULL;
	st->to = e->to ? e->data + e->to : NULL;
	st->id = e->id ? e->data + e->id : NULL;
	st->type = e->type ? e->data + e->type : NULL;
	st->text = "";
}

bool
bounce_build(struct vbuf *out, const struct xs_stanza *st, const char *domain,
    enum bounce_reason reason)
{
	struct vbuf text = { 0 };
	bool ok;

	vbuf_addstr(&text, domain);
	switch (reason) {
	case BOUNCE_TIMEOUT:
		vbuf_addstr(&text, ": component not connected");
		ok = stanza_bounce(out, st, "wait", "remote-server-timeout",
		    text.p, NULL);
		break;
	case BOUNCE_OVERFLOW:
		vbuf_addstr(&text, ": component not connected, queue full");
		ok = stanza_bounce(out, st, "cancel", "service-unavailable",
		    text.p, NULL);
		break;
	default:
		vbuf_addstr(&text, ": shutting down");
		ok = stanza_bounce(out, st, "cancel", "service-unavailable",
		    text.p, NULL);
		break;
	}
	vbuf_free(&text);
	return ok;
}
