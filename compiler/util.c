/*
 * util.c — the arena, output buffers, file reading and fatal helpers.
 *
 * The arena is a singly linked list of blocks.  Allocations are never freed
 * one by one; arena_release() frees all blocks at exit.  xrealloc() copies
 * into a new allocation (the old one stays in the arena until exit), which
 * is fine for a one-shot compiler: arrays grow geometrically in IR_PUSH
 * users only up to the spec's size.
 */
#include <stdarg.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "vcompc.h"

#define ARENA_BLOCK (64u * 1024)

struct block {
	struct block *next;
	size_t used, size;
	max_align_t data[];
};

static struct block *arena;

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("vcompc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* n bytes of arena memory, not zeroed: for callers that fill all of it
 * (strings), so they do not pay for clearing what they overwrite. */
static void *
arena_alloc(size_t n)
{
	size_t align = sizeof(max_align_t);
	size_t need = (n + align - 1) / align * align;
	struct block *b = arena;

	if (need < n)
		oom();
	if (b == NULL || b->size - b->used < need) {
		size_t size = need > ARENA_BLOCK ? need : ARENA_BLOCK;
		b = malloc(sizeof *b + size);
		if (b == NULL)
			oom();
		b->size = size;
		b->used = 0;
		b->next = arena;
		arena = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

void
oom(void)
{
	die(1, "out of memory");
}

void
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", cmd);
	exit(2);
}

void *
xmalloc(size_t n)
{
	return memset(arena_alloc(n), 0, n);
}

void *
xrealloc(void *p, size_t old, size_t n)
{
	/* Grow geometrically from the caller's point of view: when the
	 * caller asks for one more element, keep capacity in powers of two
	 * so that IR_PUSH stays amortised O(1).  The capacity is implied by
	 * `old`: we only copy when `old` is zero or a power of two times the
	 * element size, which IR_PUSH guarantees by construction. */
	if (n <= old)
		return p;
	size_t cap = 16;
	while (cap < n)
		cap *= 2;
	if (p != NULL && old > 0) {
		size_t oldcap = 16;
		while (oldcap < old)
			oldcap *= 2;
		if (oldcap >= n)
			return p;
	}
	/* Zero only what the caller has not written yet. */
	char *q = arena_alloc(cap);
	if (p != NULL && old > 0)
		memcpy(q, p, old);
	else
		old = 0;
	memset(q + old, 0, cap - old);
	return q;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = arena_alloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die(1, "formatting failed");
	char *p = arena_alloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_release(void)
{
	while (arena != NULL) {
		struct block *next = arena->next;
		free(arena);
		arena = next;
	}
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (d == NULL)
			oom();
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die(1, "formatting failed");
	char *tmp = malloc((size_t)n + 1);
	if (tmp == NULL)
		oom();
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf_add(b, tmp, (size_t)n);
	free(tmp);
}

void
buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static size_t
str_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return (size_t)h;
}

bool
strmap_get(const struct strmap *m, const char *key, size_t len, size_t *val)
{
	if (m->cap == 0)
		return false;
	for (size_t i = str_hash(key, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == NULL)
			return false;
		if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
			*val = m->vals[i];
			return true;
		}
	}
}

void
strmap_put(struct strmap *m, const char *key, size_t len, size_t val)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct strmap g = { 0 };
		g.cap = m->cap ? m->cap * 2 : 64;
		g.keys = xmalloc(g.cap * sizeof *g.keys);
		g.lens = xmalloc(g.cap * sizeof *g.lens);
		g.vals = xmalloc(g.cap * sizeof *g.vals);
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i] != NULL)
				strmap_put(&g, m->keys[i], m->lens[i], m->vals[i]);
		*m = g;
	}
	size_t i = str_hash(key, len) & (m->cap - 1);
	for (; m->keys[i] != NULL; i = (i + 1) & (m->cap - 1))
		if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
			m->vals[i] = val;
			return;
		}
	m->keys[i] = key;
	m->lens[i] = len;
	m->vals[i] = val;
	m->n++;
}

char *
read_spec_file(const char *path, size_t *len)
{
	struct pos whole = { path, 0, 0 };
	struct stat st;
	int fd;

	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for
	 * a writer, forever.  Nothing but a regular file is read below, so
	 * the flag never reaches a read(). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		error_at(&whole, "cannot open spec: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		error_at(&whole, "cannot stat spec: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		error_at(&whole, "is a directory, not a spec file");
		close(fd);
		return NULL;
	}
	/* A FIFO, a socket or a device could block a read forever or never
	 * end, and its digest would not name the file's content: a spec is
	 * a regular file. */
	if (!S_ISREG(st.st_mode)) {
		error_at(&whole, "is %s, not a regular file; a spec must be one",
			 S_ISFIFO(st.st_mode) ? "a FIFO"
			 : S_ISCHR(st.st_mode) ? "a character device"
			 : S_ISBLK(st.st_mode) ? "a block device"
			 : S_ISSOCK(st.st_mode) ? "a socket" : "a special file");
		close(fd);
		return NULL;
	}
	/* Read at most one byte past the limit so that a file that grows
	 * while it is read is bounded too. */
	size_t cap = (uintmax_t)st.st_size < VC_MAX_SPEC_BYTES
	    ? (size_t)st.st_size + 1 : 64 * 1024;
	char *data = malloc(cap + 1);
	size_t n = 0;
	if (data == NULL)
		oom();
	for (;;) {
		if (n == cap) {
			if (cap > VC_MAX_SPEC_BYTES)
				break;
			cap *= 2;
			char *d = realloc(data, cap + 1);
			if (d == NULL)
				oom();
			data = d;
		}
		ssize_t r = read(fd, data + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			error_at(&whole, "cannot read spec: %s", strerror(errno));
			free(data);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > VC_MAX_SPEC_BYTES) {
		error_at(&whole, "spec is larger than %u bytes; is this the right file?",
			 VC_MAX_SPEC_BYTES);
		free(data);
		return NULL;
	}
	char *out = xstrndup(data, n);
	free(data);
	*len = n;
	return out;
}

bool
text_check_nul(const char *path, const char *text, size_t len,
	       const char *what)
{
	const char *nul = memchr(text, '\0', len);
	struct pos p = { path, 1, 1 };

	if (nul == NULL)
		return true;
	for (const char *c = text; c < nul; c++) {
		if (*c == '\n' || (*c == '\r' && c[1] != '\n')) {
			p.line++;
			p.col = 1;
		} else if (*c != '\r')
			p.col++;
	}
	error_at(&p, "NUL byte: this is not a text file (%s is UTF-8 text)",
		 what);
	return false;
}
