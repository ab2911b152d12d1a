/*
 * secrets.c — the node's secrets bundle, NODE.secrets.
 *
 * Generated C never holds a secret.  When the spec gives one inline (only
 * Tigase's --cluster-nodes password can), vcompc writes it to
 * DIR/NODE.secrets, "key=value" lines, mode 0600, and the table refers to
 * the key (VC_SECRET_BUNDLE).  The runtime reads the bundle from beside
 * its binary or from --secrets FILE.
 *
 * The file is created with O_CREAT|O_EXCL|O_NOFOLLOW on a fresh hidden
 * temporary name, mode 0600 from the first byte (never chmod'ed down
 * afterwards, so the secret is never readable by others, not even for a
 * moment), and renamed over NODE.secrets when complete.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vcompc.h"

const char *
secrets_bundle_key(const struct ir_component *c)
{
	if (c == NULL)
		return "cluster";
	return xprintf("component/%s", c->domain.s);
}

/* The component secrets node i uses: all of them, since every node runs
 * an upstream for every component (virtual or home). */
bool
secrets_needed(const struct ir_spec *spec, size_t node)
{
	if (spec->cluster_secret.kind == SECRET_INLINE)
		return true;
	for (size_t i = 0; i < spec->ncomponents; i++)
		if (spec->components[i].secret.kind == SECRET_INLINE)
			return true;
	return false;
}

/* A value must fit on its line: the bundle format has no escapes. */
static bool
add_line(struct buf *b, const char *key, const struct ir_secret *s)
{
	if (strpbrk(s->ref.s, "\n\r") != NULL) {
		error_at(&s->pos, "the inline secret for '%s' contains a line break, which NODE.secrets cannot hold",
			 key);
		return false;
	}
	buf_printf(b, "%s=%s\n", key, s->ref.s);
	return true;
}

static bool
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

bool
secrets_write_bundle(const struct ir_spec *spec, size_t node,
		     const char *dir)
{
	const char *name = spec->nodes[node].name.s;
	const char *final = xprintf("%s/%s.secrets", dir, name);
	struct buf b = { 0 };
	char *tmp = NULL;
	bool ok = true;
	int fd = -1;

	if (spec->cluster_secret.kind == SECRET_INLINE)
		ok = add_line(&b, secrets_bundle_key(NULL), &spec->cluster_secret);
	for (size_t i = 0; ok && i < spec->ncomponents; i++) {
		const struct ir_component *c = &spec->components[i];
		if (c->secret.kind == SECRET_INLINE)
			ok = add_line(&b, secrets_bundle_key(c), &c->secret);
	}
	if (!ok || b.len == 0)
		goto out;

	/* mkstemp's random suffix, but opened by hand so the flags and the
	 * mode are exactly what this file promises. */
	for (unsigned try = 0; try < 100 && fd < 0; try++) {
		tmp = xprintf("%s/.%s.secrets.%ld.%u", dir, name, (long)getpid(),
			      try);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		error_at(NULL, "cannot write '%s': %s", final, strerror(errno));
		ok = false;
		goto out;
	}
	/* The umask can only remove bits; 0600 stays 0600 or less. */
	if (!write_all(fd, b.data, b.len) || fsync(fd) < 0) {
		error_at(NULL, "cannot write '%s': %s", final, strerror(errno));
		ok = false;
	}
	if (close(fd) < 0 && ok) {
		error_at(NULL, "cannot write '%s': %s", final, strerror(errno));
		ok = false;
	}
	if (ok && rename(tmp, final) < 0) {
		error_at(NULL, "cannot rename '%s' to '%s': %s", tmp, final,
			 strerror(errno));
		ok = false;
	}
	if (!ok)
		unlink(tmp);
out:
	/* Do not leave the secret in freed heap memory. */
	if (b.data != NULL)
		memset(b.data, 0, b.cap);
	buf_free(&b);
	return ok;
}
