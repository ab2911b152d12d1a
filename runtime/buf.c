/*
 * buf.c — the growable byte buffer described in buf.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
vbuf_reserve(struct vbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	/* One extra byte for the NUL terminator that buf.h promises. */
	if (n > (size_t)-1 - b->len - 1) {
		fputs("vcomp: buffer size overflow\n", stderr);
		abort();
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	p = xrealloc(b->p, cap);
	b->p = p;
	b->cap = cap;
}

void
vbuf_add(struct vbuf *b, const void *s, size_t n)
{
	vbuf_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
vbuf_addstr(struct vbuf *b, const char *s)
{
	vbuf_add(b, s, strlen(s));
}

void
vbuf_addch(struct vbuf *b, char c)
{
	vbuf_add(b, &c, 1);
}

void
vbuf_drop(struct vbuf *b, size_t n)
{
	if (n >= b->len) {
		vbuf_clear(b);
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void
vbuf_clear(struct vbuf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
vbuf_free(struct vbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
xoom(size_t n)
{
	/* fprintf may itself need memory; a fixed message is safest. */
	char msg[64];
	int len = snprintf(msg, sizeof msg, "vcomp: out of memory (%zu bytes)\n",
	    n);

	if (len > 0)
		fwrite(msg, 1, (size_t)len, stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		xoom(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		xoom(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		xoom(n);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}
