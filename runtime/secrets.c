/*
 * secrets.c — reading the secrets the table names, at start.
 *
 * The table never holds a secret, only where to find it (vcomp_table.h):
 * a file, an environment variable, or a key of the node's secrets bundle
 * (NODE.secrets, "key=value" lines, written by vcompc with mode 0600).  A
 * secret that is missing or empty stops the node from starting: running
 * with an empty XEP-0114 secret would either fail every handshake or, worse,
 * accept a component that knows no secret.
 *
 * Ownership: secret_load() and secret_default_bundle() return malloc'd
 * strings that the caller frees; a secret with secret_free(), which wipes
 * it first.  Every buffer that held secret bytes here (a secret file's
 * text, the whole bundle's text, a value that turned out empty) is wiped
 * with explicit_bzero before it is freed, so no copy lingers in freed heap
 * memory for a later allocation or a core dump to show.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vcrt.h"

/* Secrets are short; a bigger file is the wrong file. */
#define SECRET_FILE_MAX (64 * 1024)

/* Reads a whole small file into a malloc'd NUL-terminated string.  Warns
 * when group or others may read it.  NULL after logging why. */
static char *
read_small(const char *path, const char *what, size_t *lenp)
{
	struct stat sb;
	char *p;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		vlog(VL_ERR, "%s: cannot open %s: %s", what, path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		vlog(VL_ERR, "%s: %s is not a regular file", what, path);
		close(fd);
		return NULL;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO))
		vlog(VL_WARN, "%s: %s is accessible by group or others "
		    "(mode %03o); chmod 600 it", what, path,
		    (unsigned)(sb.st_mode & 0777));
	p = xmalloc(SECRET_FILE_MAX + 1);
	for (;;) {
		ssize_t n = read(fd, p + len, SECRET_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vlog(VL_ERR, "%s: cannot read %s: %s", what, path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > SECRET_FILE_MAX) {
			vlog(VL_ERR, "%s: %s is larger than %d bytes", what,
			    path, SECRET_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	p[len] = '\0';
	*lenp = len;
	return p;
fail:
	close(fd);
	explicit_bzero(p, len < SECRET_FILE_MAX + 1 ? len : SECRET_FILE_MAX + 1);
	free(p);
	return NULL;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Wipes and frees a buffer of len bytes that may contain NUL bytes. */
static void
wipe_free(char *p, size_t len)
{
	explicit_bzero(p, len);
	free(p);
}

/* Finds key in a bundle's text: the value of the first line "key=value".
 * Returns a malloc'd copy or NULL. */
static char *
bundle_lookup(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (n > klen && memcmp(line, key, klen) == 0 &&
		    line[klen] == '=') {
			const char *v = line + klen + 1;
			size_t vlen = n - klen - 1;
			char *out;

			if (vlen > 0 && v[vlen - 1] == '\r')
				vlen--;
			out = xmalloc(vlen + 1);
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return out;
		}
		line += n;
		if (*line == '\n')
			line++;
	}
	return NULL;
}

char *
secret_load(const struct vc_secret *s, const char *bundle, const char *what)
{
	char *v = NULL, *text;
	const char *e;
	size_t len;

	switch (s->kind) {
	case VC_SECRET_FILE:
		if ((v = read_small(s->ref, what, &len)) == NULL)
			return NULL;
		/* Exactly one trailing newline is the file's line end, not
		 * part of the secret (echo secret > file). */
		if (len > 0 && v[len - 1] == '\n')
			v[--len] = '\0';
		if (len != strlen(v)) {
			vlog(VL_ERR, "%s: %s contains a NUL byte", what,
			    s->ref);
			wipe_free(v, len);
			return NULL;
		}
		if (len == 0) {
			vlog(VL_ERR, "%s: %s is empty", what, s->ref);
			wipe_free(v, len);
			return NULL;
		}
		return v;
	case VC_SECRET_ENV:
		e = getenv(s->ref);
		if (e == NULL || *e == '\0') {
			vlog(VL_ERR, "%s: environment variable %s is %s", what,
			    s->ref, e == NULL ? "not set" : "empty");
			return NULL;
		}
		v = xstrdup(e);
		return v;
	case VC_SECRET_BUNDLE:
		if (bundle == NULL) {
			vlog(VL_ERR, "%s: no secrets bundle (use --secrets "
			    "FILE)", what);
			return NULL;
		}
		if ((text = read_small(bundle, what, &len)) == NULL)
			return NULL;
		v = bundle_lookup(text, s->ref);
		/* The bundle holds every secret of the node, not only this
		 * one. */
		wipe_free(text, len);
		if (v == NULL || *v == '\0') {
			vlog(VL_ERR, "%s: key %s is %s in %s", what, s->ref,
			    v == NULL ? "missing" : "empty", bundle);
			secret_free(v);
			return NULL;
		}
		return v;
	default:
		vlog(VL_ERR, "%s: unknown secret source %u", what, s->kind);
		return NULL;
	}
}

char *
secret_default_bundle(const char *node)
{
	char exe[PATH_MAX], *slash, *out;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	size_t len;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return NULL;
	slash[1] = '\0';
	len = strlen(exe) + strlen(node) + sizeof ".secrets";
	out = xmalloc(len);
	snprintf(out, len, "%s%s.secrets", exe, node);
	return out;
}
