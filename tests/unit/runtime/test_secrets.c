/*
 * test_secrets.c — reading secrets from files, the environment and the
 * secrets bundle (runtime/secrets.c).  Files are made under $TMPDIR (or
 * /tmp) and removed by each test.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit.h"
#include "vcrt.h"

static char path[256];

/* Writes n bytes of s to a fresh temporary file with the given mode. */
static const char *
tmpfile_with(const char *s, size_t n, mode_t mode)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof path, "%s/vcomp-secret-XXXXXX",
	    dir ? dir : "/tmp");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, s, n) == (ssize_t)n);
	fchmod(fd, mode);
	close(fd);
	return path;
}

static char *
load(int kind, const char *ref, const char *bundle)
{
	struct vc_secret s = { (uint8_t)kind, ref };
	int saved = vlog_level;
	char *v;

	vlog_level = -1;   /* the failures below are expected: keep quiet */
	v = secret_load(&s, bundle, "test secret");
	vlog_level = saved;
	return v;
}

static void
test_file(void)
{
	char *v;

	/* One trailing newline is stripped, and only one. */
	v = load(VC_SECRET_FILE, tmpfile_with("s3cr3t\n", 7, 0600), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "s3cr3t");
	free(v);
	unlink(path);
	v = load(VC_SECRET_FILE, tmpfile_with("ab\n\n", 4, 0600), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "ab\n");
	free(v);
	unlink(path);
	/* Spaces are part of the secret. */
	v = load(VC_SECRET_FILE, tmpfile_with(" x ", 3, 0600), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, " x ");
	free(v);
	unlink(path);
	/* Readable by others: a warning, but it loads. */
	v = load(VC_SECRET_FILE, tmpfile_with("open", 4, 0644), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "open");
	free(v);
	unlink(path);
}

static void
test_file_refused(void)
{
	/* Empty, only a newline, a NUL inside, missing: all refused. */
	CU_ASSERT_PTR_NULL(load(VC_SECRET_FILE, tmpfile_with("", 0, 0600),
	    NULL));
	unlink(path);
	CU_ASSERT_PTR_NULL(load(VC_SECRET_FILE, tmpfile_with("\n", 1, 0600),
	    NULL));
	unlink(path);
	CU_ASSERT_PTR_NULL(load(VC_SECRET_FILE,
	    tmpfile_with("a\0b", 3, 0600), NULL));
	unlink(path);
	CU_ASSERT_PTR_NULL(load(VC_SECRET_FILE,
	    "/nonexistent/vcomp/secret", NULL));
	/* A directory is not a secret file. */
	CU_ASSERT_PTR_NULL(load(VC_SECRET_FILE, "/", NULL));
}

static void
test_env(void)
{
	char *v;

	setenv("VCOMP_UNIT_SECRET", "from-env", 1);
	v = load(VC_SECRET_ENV, "VCOMP_UNIT_SECRET", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "from-env");
	free(v);
	setenv("VCOMP_UNIT_SECRET", "", 1);
	CU_ASSERT_PTR_NULL(load(VC_SECRET_ENV, "VCOMP_UNIT_SECRET", NULL));
	unsetenv("VCOMP_UNIT_SECRET");
	CU_ASSERT_PTR_NULL(load(VC_SECRET_ENV, "VCOMP_UNIT_SECRET", NULL));
}

static void
test_bundle(void)
{
	static const char b[] =
	    "# vcompc secrets bundle\n"
	    "cluster=abc=def\n"
	    "muc=m1\r\n"
	    "empty=\n"
	    "mucx=wrong\n"
	    "last=no-newline";
	const char *p = tmpfile_with(b, sizeof b - 1, 0600);
	char bundle[256], *v;

	snprintf(bundle, sizeof bundle, "%s", p);
	/* The value runs to the end of the line, '=' included. */
	v = load(VC_SECRET_BUNDLE, "cluster", bundle);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "abc=def");
	free(v);
	/* A CR of a CRLF line end is not part of the value; a key is not
	 * matched by a longer key that starts with it. */
	v = load(VC_SECRET_BUNDLE, "muc", bundle);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "m1");
	free(v);
	v = load(VC_SECRET_BUNDLE, "last", bundle);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(v, "no-newline");
	free(v);
	CU_ASSERT_PTR_NULL(load(VC_SECRET_BUNDLE, "empty", bundle));
	CU_ASSERT_PTR_NULL(load(VC_SECRET_BUNDLE, "nosuch", bundle));
	CU_ASSERT_PTR_NULL(load(VC_SECRET_BUNDLE, "mu", bundle));
	CU_ASSERT_PTR_NULL(load(VC_SECRET_BUNDLE, "muc", NULL));
	unlink(bundle);
	CU_ASSERT_PTR_NULL(load(VC_SECRET_BUNDLE, "muc", bundle));
	CU_ASSERT_PTR_NULL(load(0, "x", NULL));
}

static void
test_default_bundle(void)
{
	char *p = secret_default_bundle("node1");
	size_t n;

	/* Beside the running binary: an absolute path ending in
	 * "/node1.secrets". */
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	n = strlen(p);
	CU_ASSERT_EQUAL(p[0], '/');
	CU_ASSERT(n > 14 && strcmp(p + n - 14, "/node1.secrets") == 0);
	free(p);
}

UNIT_SUITE(runtime_secrets)
{
	UNIT_TEST(suite, test_file);
	UNIT_TEST(suite, test_file_refused);
	UNIT_TEST(suite, test_env);
	UNIT_TEST(suite, test_bundle);
	UNIT_TEST(suite, test_default_bundle);
}
