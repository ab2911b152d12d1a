/*
 * buf.h — a growable byte buffer, shared by the whole runtime.
 *
 * A struct vbuf owns p (heap memory, NULL while cap is 0).  The content is
 * p[0..len); it is kept NUL-terminated whenever p is not NULL, so a buffer
 * that holds text can be passed to printf-style functions directly, but the
 * terminator is not counted in len and the content may itself contain NUL
 * bytes.  A zero-initialised struct vbuf ({0}) is a valid empty buffer.
 *
 * Memory exhaustion is fatal: the runtime is a single small process and
 * cannot usefully continue half-way through building a stanza, so every
 * function here aborts with a message on stderr when malloc fails (as
 * Redis's zmalloc does).  Callers therefore never check for allocation
 * failure; they bound sizes before appending instead.  The x* allocators
 * below apply the same rule to every other allocation of the runtime.
 */
#ifndef VCOMP_BUF_H
#define VCOMP_BUF_H

#include <stddef.h>

struct vbuf {
	char *p;
	size_t len, cap;
};

/* Append n bytes from s (s may be NULL when n is 0). */
void vbuf_add(struct vbuf *b, const void *s, size_t n);
/* Append a NUL-terminated string, without its terminator. */
void vbuf_addstr(struct vbuf *b, const char *s);
/* Append one byte. */
void vbuf_addch(struct vbuf *b, char c);
/* Make room for at least n more bytes without changing len. */
void vbuf_reserve(struct vbuf *b, size_t n);
/* Remove the first n bytes (n > len empties the buffer); keeps the memory.
 * Used for output buffers that are written out from the front. */
void vbuf_drop(struct vbuf *b, size_t n);
/* Set len to 0 and keep the memory for reuse. */
void vbuf_clear(struct vbuf *b);
/* Release the memory; the buffer is empty and reusable afterwards. */
void vbuf_free(struct vbuf *b);

/*
 * The runtime's one way to allocate: like malloc, calloc, realloc and
 * strdup, but they never return NULL.  On exhaustion they write
 * "vcomp: out of memory (N bytes)" to stderr and abort(), for the reason
 * given above; the core dump shows where.  No file of the runtime calls
 * malloc and checks for NULL itself.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* Reports exhaustion of n bytes and aborts (for allocators the runtime
 * does not call itself, such as expat's). */
void xoom(size_t n) __attribute__((noreturn));

#endif /* VCOMP_BUF_H */
