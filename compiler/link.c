/*
 * link.c — from a node's table to its static binary.
 *
 * vcompc writes the table's C into a private temporary directory and runs
 *
 *   $CC -std=c17 -O2 -static -s $VCOMP_EXTRA_CFLAGS -I<inc> -o OUT \
 *       table.c <lib>/libvcrt.a -lmbedtls -lmbedx509 -lmbedcrypto \
 *       -lexpat -lnettle
 *
 * with posix_spawnp — no shell, so no file name is ever interpreted.
 *
 * The binary is a function of the table's bytes, libvcrt.a and the
 * toolchain, never of the build's time or place: the temporary directory's
 * random name reaches only the object's symbol table (STT_FILE), which -s
 * strips; no -g, so no DWARF paths; ld's build id is a hash of the
 * content.  So a node whose table did not change gets a byte-identical
 * binary (tests/check-examples.sh checks it), which `vcompc plan` relies
 * on to say "binary unchanged".  CC
 * and VCOMP_EXTRA_CFLAGS are split at white space (CC="ccache gcc"
 * works).  VCOMP_STATIC=0 drops -static: the ASan build cannot link
 * statically.
 *
 * The runtime library and its header are looked up, first match wins:
 *   1. $VCOMP_LIBDIR (libvcrt.a and vcomp_table.h in that directory);
 *   2. the build tree, when vcompc runs from it: libvcrt.a beside the
 *      vcompc binary (build/ or build/san/), vcomp_table.h in the source
 *      tree's runtime/ one or two levels up;
 *   3. ../lib/vcomp from the directory of the vcompc binary: an installed
 *      tree that was moved as a whole (a DESTDIR staging tree, a package
 *      unpacked elsewhere) still finds its own library;
 *   4. the compiled-in VCOMP_LIBDIR (PREFIX/lib/vcomp, filled by
 *      `make install`).
 *
 * Memory: paths are arena strings; the argument vector is arena memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vcompc.h"

#ifndef VCOMP_LIBDIR
#define VCOMP_LIBDIR "/usr/local/lib/vcomp"
#endif

extern char **environ;

static bool
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Sets *inc (directory of vcomp_table.h) and *lib (libvcrt.a).  Returns
 * false after reporting where it looked. */
static bool
find_runtime(const char **inc, const char **lib)
{
	const char *env = getenv("VCOMP_LIBDIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		*inc = env;
		*lib = xprintf("%s/libvcrt.a", env);
		if (is_file(*lib) && is_file(xprintf("%s/vcomp_table.h", env)))
			return true;
		error_at(NULL, "VCOMP_LIBDIR='%s' holds no libvcrt.a and vcomp_table.h",
			 env);
		return false;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash != NULL) {
			const char *dir = xstrndup(exe, (size_t)(slash - exe));
			static const char *const up[] = {
				"", "/../runtime", "/../../runtime",
			};
			*lib = xprintf("%s/libvcrt.a", dir);
			for (size_t i = 0; is_file(*lib) && i < 3; i++) {
				*inc = xprintf("%s%s", dir, up[i]);
				if (is_file(xprintf("%s/vcomp_table.h", *inc)))
					return true;
			}
			*inc = xprintf("%s/../lib/vcomp", dir);
			*lib = xprintf("%s/libvcrt.a", *inc);
			if (is_file(*lib) &&
			    is_file(xprintf("%s/vcomp_table.h", *inc)))
				return true;
		}
	}
	*inc = VCOMP_LIBDIR;
	*lib = VCOMP_LIBDIR "/libvcrt.a";
	if (is_file(*lib) && is_file(VCOMP_LIBDIR "/vcomp_table.h"))
		return true;
	error_at(NULL, "cannot find the runtime library libvcrt.a (looked beside vcompc, in ../lib/vcomp from it, and in %s); build it with 'make', set VCOMP_LIBDIR, or use -c to write C only",
		 VCOMP_LIBDIR);
	return false;
}

/* Appends the white-space separated words of s to the vector. */
static void
add_words(const char ***argv, size_t *argc, const char *s)
{
	while (s != NULL && *s != '\0') {
		size_t n;
		s += strspn(s, " \t\n");
		n = strcspn(s, " \t\n");
		if (n > 0)
			*IR_PUSH(*argv, *argc) = xstrndup(s, n);
		s += n;
	}
}

/*
 * glibc's static getaddrinfo() makes ld warn, on every link, that the
 * binary needs glibc's shared NSS libraries at run time.  That is true
 * only for DNS names in the spec and is documented in docs/runtime.md;
 * repeated on every build it would teach operators to ignore the
 * compiler's output.  These are the lines dropped: the warning and the
 * "in function" line ld prints before it.
 */
#define GETADDRINFO_WARNING \
	"Using 'getaddrinfo' in statically linked applications"

/* Copies the compiler's messages from f to stderr, without the
 * getaddrinfo warning. */
static void
pass_messages(FILE *f)
{
	char *prev = NULL, *line = NULL;
	size_t cap = 0;

	rewind(f);
	while (getline(&line, &cap, f) >= 0) {
		if (strstr(line, GETADDRINFO_WARNING) != NULL) {
			free(prev);		/* its "in function" line */
			prev = NULL;
			continue;
		}
		if (prev != NULL)
			fputs(prev, stderr);
		free(prev);
		prev = strdup(line);
		if (prev == NULL)
			oom();
	}
	if (prev != NULL)
		fputs(prev, stderr);
	free(prev);
	free(line);
}

/* Runs the C compiler; its stderr goes through pass_messages(). */
static bool
run(const char *const *argv, const char *errpath)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, e;
	FILE *errs;

	fflush(stderr);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, errpath,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
			 environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		error_at(NULL, "cannot run the C compiler '%s': %s", argv[0],
			 strerror(e));
		return false;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			error_at(NULL, "waiting for '%s': %s", argv[0],
				 strerror(errno));
			return false;
		}
	}
	if ((errs = fopen(errpath, "r")) != NULL) {
		pass_messages(errs);
		fclose(errs);
	}
	unlink(errpath);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFEXITED(status))
		error_at(NULL, "the C compiler '%s' failed with exit status %d",
			 argv[0], WEXITSTATUS(status));
	else
		error_at(NULL, "the C compiler '%s' was killed by signal %d",
			 argv[0], WTERMSIG(status));
	return false;
}

bool
link_node(const struct ir_spec *spec, size_t node, const struct emit_opts *o,
	  const char *out)
{
	const char *inc, *lib, *cc, *tmpdir;
	const char **argv = NULL;
	size_t argc = 0;
	char *dir, *src;
	FILE *f;
	bool ok;

	if (!find_runtime(&inc, &lib))
		return false;
	tmpdir = getenv("TMPDIR");
	dir = xprintf("%s/vcompc.XXXXXX",
		      tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
	if (mkdtemp(dir) == NULL) {
		error_at(NULL, "cannot create a temporary directory '%s': %s",
			 dir, strerror(errno));
		return false;
	}
	src = xprintf("%s/table.c", dir);
	f = fopen(src, "w");
	if (f == NULL) {
		error_at(NULL, "cannot write '%s': %s", src, strerror(errno));
		rmdir(dir);
		return false;
	}
	emit_c(f, spec, node, o);
	ok = !ferror(f);
	if (fclose(f) != 0 || !ok) {
		error_at(NULL, "cannot write '%s': %s", src, strerror(errno));
		unlink(src);
		rmdir(dir);
		return false;
	}

	cc = getenv("CC");
	add_words(&argv, &argc, cc != NULL && cc[0] != '\0' ? cc : "cc");
	if (argc == 0)
		*IR_PUSH(argv, argc) = "cc";
	*IR_PUSH(argv, argc) = "-std=c17";
	*IR_PUSH(argv, argc) = "-O2";
	const char *st = getenv("VCOMP_STATIC");
	if (st == NULL || strcmp(st, "0") != 0)
		*IR_PUSH(argv, argc) = "-static";
	*IR_PUSH(argv, argc) = "-s";
	add_words(&argv, &argc, getenv("VCOMP_EXTRA_CFLAGS"));
	*IR_PUSH(argv, argc) = xprintf("-I%s", inc);
	*IR_PUSH(argv, argc) = "-o";
	*IR_PUSH(argv, argc) = out;
	*IR_PUSH(argv, argc) = src;
	*IR_PUSH(argv, argc) = lib;
	/* mbedTLS: the peer links' TLS (runtime/tls.c); x509 only because
	 * Debian's libmbedtls needs its symbols. */
	*IR_PUSH(argv, argc) = "-lmbedtls";
	*IR_PUSH(argv, argc) = "-lmbedx509";
	*IR_PUSH(argv, argc) = "-lmbedcrypto";
	*IR_PUSH(argv, argc) = "-lexpat";
	*IR_PUSH(argv, argc) = "-lnettle";
	*IR_PUSH(argv, argc) = NULL;

	ok = run(argv, xprintf("%s/cc.err", dir));
	if (!ok)
		error_at(NULL, "linking the binary of node '%s' failed",
			 spec->nodes[node].name.s);
	unlink(src);
	rmdir(dir);
	return ok;
}
