/*
 * xs_log.h — the stream parser's callbacks written into a byte log, for
 * the fuzz targets that compare two runs (fuzz_xmlstream: a whole feed
 * against a chunked one; fuzz_xmlstream_fast: the fast path against
 * expat alone).  Every field is logged, absent ones as \x01, so two logs
 * are equal exactly when the callbacks saw the same things.
 */
#ifndef XS_LOG_H
#define XS_LOG_H

#include "buf.h"
#include "xmlstream.h"

static void
xs_log_str(struct vbuf *log, const char *s)
{
	vbuf_addstr(log, s != NULL ? s : "\x01");
	vbuf_addch(log, '\0');
}

static void
xs_log_open(void *ud, const struct xs_attr *a, size_t n)
{
	struct vbuf *log = ud;

	vbuf_addstr(log, "open");
	for (size_t i = 0; i < n; i++) {
		xs_log_str(log, a[i].name);
		xs_log_str(log, a[i].value);
	}
	vbuf_addch(log, '\n');
}

static void
xs_log_stanza(struct vbuf *log, const struct xs_stanza *st)
{
	vbuf_addstr(log, "stanza");
	xs_log_str(log, st->name);
	xs_log_str(log, st->ns);
	xs_log_str(log, st->from);
	xs_log_str(log, st->to);
	xs_log_str(log, st->id);
	xs_log_str(log, st->type);
	xs_log_str(log, st->child_name);
	xs_log_str(log, st->child_ns);
	xs_log_str(log, st->child_node);
	xs_log_str(log, st->text);
	xs_log_str(log, st->err_condition);
	xs_log_str(log, st->err_text);
	vbuf_add(log, st->raw, st->raw_len);
	vbuf_addch(log, '\n');
}

static void
xs_log_close(void *ud)
{
	vbuf_addstr(ud, "close\n");
}

#endif /* XS_LOG_H */
