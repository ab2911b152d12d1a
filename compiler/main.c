/*
 * main.c — vcompc's command line: read one spec, check it, write the
 * outputs for one node or for all of them.
 *
 *   read_spec_file -> front end -> node defaults -> check_spec
 *     -> (errors: exit 1, nothing written) -> emit C / JSON / binary
 *
 * Exit status: 0 success, 1 errors in the spec (or an output could not be
 * written), 2 usage errors.  Usage errors are printed GNU style,
 * "vcompc: message" followed by "Try 'vcompc --help' ...".
 *
 * Nothing is lost on failure: every output file is first written to a
 * hidden temporary file in its own directory and renamed into place only
 * when every output of the run is complete.  Until then an atexit handler
 * (and a handler for SIGINT, SIGTERM and SIGHUP) removes the temporary
 * files, so an error, die() or ^C half way through --all leaves the
 * previous outputs untouched.
 *
 * Memory: the IR lives in the arena (util.c) and is released at exit.
 * The table of pending outputs is heap memory owned by this file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vcompc.h"
#include "vcomp_table.h"

enum emit_kind { EMIT_BIN, EMIT_C, EMIT_JSON, EMIT_KEYS, EMIT_DOT };

static const char *const emit_names[] = {
	[EMIT_BIN] = "binary", [EMIT_C] = "c", [EMIT_JSON] = "json",
	[EMIT_KEYS] = "keys", [EMIT_DOT] = "dot",
};

/* ------------------------------------------------------------ usage */

static void
usage(FILE *f)
{
	fputs(
"Usage: vcompc [OPTION]... SPEC\n"
"  or:  vcompc plan [--format=FORMAT] OLD NEW\n"
"Compile a vcomp cluster spec (YAML, Tigase init.properties or Tigase 8\n"
"config.tdsl) into one static runtime binary, or one C routing table, per\n"
"node.  'vcompc plan' compares the spec a cluster runs with a new one:\n"
"what changes per node, which binaries are unchanged, the order to roll\n"
"it, and whether it can roll without an outage (see 'vcompc plan --help').\n"
"\n"
"What to build:\n"
"      --node=NAME        build for node NAME\n"
"      --all              build for every node (needs -d DIR)\n"
"      --check            check the spec only; write nothing\n"
"  -c                     write the C routing table instead of a binary\n"
"                         (same as --emit=c)\n"
"      --emit=KIND        c: the C routing table; json: the node's view of\n"
"                         the spec as JSON; keys: every key of a properties\n"
"                         or tdsl spec as read, one JSON object per line\n"
"                         (no --node); dot: the whole cluster for Graphviz\n"
"                         (no --node)\n"
"\n"
"Where to write:\n"
"  -o, --output=FILE      write the output to FILE ('-' = standard output)\n"
"  -d, --dir=DIR          write DIR/NODE.c, DIR/NODE.json or DIR/vcomp-NODE\n"
"                         Without -o and -d, C and JSON go to standard\n"
"                         output and a binary to ./vcomp-NODE.  Inline\n"
"                         secrets go to NODE.secrets (mode 0600) beside\n"
"                         the outputs.\n"
"  -M                     also write a make rule 'OUTPUTS: SPEC'\n"
"  -MF FILE               the file -M writes (required with -M)\n"
"\n"
"Input:\n"
"      --format=FORMAT    yaml, properties or tdsl (default: by extension,\n"
"                         .yaml/.yml, .properties or .tdsl)\n"
"\n"
"Diagnostics:\n"
"  -Wunused               list the Tigase keys vcompc ignores\n"
"  -Werror                treat warnings as errors\n"
"  -w                     do not print warnings\n"
"      --list-checks      list the named checks and exit\n"
"  -h, --help             print this help and exit\n"
"      --version          print the version and exit\n"
"\n"
"Environment (binaries only): CC (default cc), VCOMP_LIBDIR (where\n"
"libvcrt.a and vcomp_table.h are), VCOMP_STATIC=0 (link dynamically),\n"
"VCOMP_EXTRA_CFLAGS (more compiler flags).\n"
"\n"
"Exit status: 0 success, 1 errors in the spec or its outputs, 2 usage error.\n"
"See vcompc(1) and docs/cli.md.\n", f);
}

/* ------------------------------------------------------------ outputs */

/* One output file of this run.  tmp is the hidden temporary file it is
 * written to; it becomes `final` in outputs_commit(). */
struct output {
	char *final;
	char *tmp;
};

static struct output *outputs;
static size_t noutputs;

/* SIGINT, SIGTERM, SIGHUP: remove the temporary files, then die of the
 * signal.  unlink() is async-signal-safe; the table is only changed with
 * these signals blocked (signals_block), so the handler never sees it
 * half-updated. */
static void
on_signal(int sig)
{
	for (size_t i = 0; i < noutputs; i++)
		if (outputs[i].tmp != NULL)
			unlink(outputs[i].tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
signals_block(bool block)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* atexit: remove what was not committed, then free the table. */
static void
outputs_cleanup(void)
{
	/* Left blocked: the process is exiting anyway. */
	signals_block(true);
	for (size_t i = 0; i < noutputs; i++) {
		if (outputs[i].tmp != NULL)
			unlink(outputs[i].tmp);
		free(outputs[i].tmp);
		free(outputs[i].final);
	}
	free(outputs);
	outputs = NULL;
	noutputs = 0;
}

/* The directory part of path ("." when there is none).  Heap. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* Creates the temporary file for `final` and records it.  Returns the
 * open descriptor, or -1 after reporting the error.  *tmp receives the
 * temporary path (owned by the output table). */
static int
output_begin(const char *final, const char **tmp)
{
	char *dir = dir_of(final);
	const char *base = strrchr(final, '/');
	char *t;
	int fd;

	base = base == NULL ? final : base + 1;
	if (dir == NULL)
		oom();
	size_t n = strlen(dir) + strlen(base) + sizeof "/..XXXXXX";
	if ((t = malloc(n)) == NULL)
		oom();
	snprintf(t, n, "%s/.%s.XXXXXX", dir, base);
	free(dir);
	signals_block(true);
	fd = mkstemp(t);
	if (fd < 0) {
		signals_block(false);
		error_at(NULL, "cannot write '%s': %s", final, strerror(errno));
		free(t);
		return -1;
	}
	struct output *o = realloc(outputs, (noutputs + 1) * sizeof *o);
	if (o == NULL)
		oom();
	outputs = o;
	outputs[noutputs].final = strdup(final);
	outputs[noutputs].tmp = t;
	if (outputs[noutputs].final == NULL)
		oom();
	noutputs++;
	signals_block(false);
	*tmp = t;
	return fd;
}

/* Opens a stdio stream on a new output.  mkstemp creates files 0600;
 * a generated source file gets the usual 0666 & ~umask instead. */
static FILE *
output_open(const char *final)
{
	const char *tmp;
	int fd = output_begin(final, &tmp);
	mode_t um;
	FILE *f;

	if (fd < 0)
		return NULL;
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um) < 0 || (f = fdopen(fd, "w")) == NULL) {
		error_at(NULL, "cannot write '%s': %s", final, strerror(errno));
		close(fd);
		return NULL;
	}
	return f;
}

/* Closes a stream written by an emitter and reports write errors
 * (a full disk shows up here, not in the emitter). */
static bool
output_close(FILE *f, const char *name)
{
	bool bad = ferror(f) != 0;

	if (fclose(f) != 0 || bad) {
		error_at(NULL, "cannot write '%s': %s", name,
			 errno ? strerror(errno) : "write error");
		return false;
	}
	return true;
}

/* Renames every temporary file into place. */
static bool
outputs_commit(void)
{
	bool ok = true;

	signals_block(true);
	for (size_t i = 0; i < noutputs; i++) {
		if (rename(outputs[i].tmp, outputs[i].final) < 0) {
			error_at(NULL, "cannot rename '%s' to '%s': %s",
				 outputs[i].tmp, outputs[i].final,
				 strerror(errno));
			ok = false;
			continue;
		}
		free(outputs[i].tmp);
		outputs[i].tmp = NULL;
	}
	signals_block(false);
	return ok;
}

/* ------------------------------------------------------------ depfile */

/* Writes a target or prerequisite name escaped the way GNU make reads
 * it: spaces and tabs with a backslash, '#' as \#, '$' as $$. */
static void
make_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '#')
			fputc('\\', f);
		else if (*s == '$')
			fputc('$', f);
		fputc(*s, f);
	}
}

static bool
write_depfile(const char *depfile, const char *spec_path)
{
	FILE *f = output_open(depfile);
	size_t n = noutputs;

	if (f == NULL)
		return false;
	/* The depfile is itself in the table now; it is not a target of
	 * the rule it writes. */
	for (size_t i = 0; i + 1 < n; i++) {
		if (i > 0)
			fputc(' ', f);
		make_escape(f, outputs[i].final);
	}
	fputs(": ", f);
	make_escape(f, spec_path);
	fputc('\n', f);
	return output_close(f, depfile);
}

/* ------------------------------------------------------------ helpers */

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* The spec's name for banners and tables: the path as given, unless it
 * is absolute — generated files must not name this machine's file
 * system — in which case only its last component. */
static const char *
spec_display_name(const char *path)
{
	const char *slash;

	if (path[0] != '/')
		return path;
	slash = strrchr(path, '/');
	return slash[1] != '\0' ? slash + 1 : path;
}

static char *
join(const char *dir, const char *name)
{
	return xprintf("%s%s%s", dir,
		       has_suffix(dir, "/") ? "" : "/", name);
}

static size_t
find_node(const struct ir_spec *spec, const char *name)
{
	const char **names = xmalloc(sizeof *names * (spec->nnodes + 1));
	const char *hint;

	for (size_t i = 0; i < spec->nnodes; i++) {
		if (strcmp(spec->nodes[i].name.s, name) == 0)
			return i;
		names[i] = spec->nodes[i].name.s;
	}
	hint = did_you_mean(name, names, spec->nnodes);
	fprintf(stderr, "vcompc: unknown node '%s' in --node", name);
	if (hint != NULL)
		fprintf(stderr, "; did you mean '%s'?", hint);
	fputs("\nvcompc: the spec's nodes are:", stderr);
	for (size_t i = 0; i < spec->nnodes && i < 16; i++)
		fprintf(stderr, " %s", names[i]);
	if (spec->nnodes > 16)
		fprintf(stderr, " ... (%zu in all)", spec->nnodes);
	fputc('\n', stderr);
	exit(2);
}

/* ------------------------------------------------------------ main */

struct opts {
	const char *node;
	bool all, check;
	enum emit_kind emit;
	bool emit_given, c_given;
	const char *output, *dir;
	bool depend;
	const char *depfile;
	int format;          /* -1: by extension */
	const char *spec;
};

enum {
	OPT_NODE = 256, OPT_ALL, OPT_CHECK, OPT_EMIT, OPT_FORMAT,
	OPT_LIST_CHECKS, OPT_VERSION,
};

static const struct option longopts[] = {
	{ "node", required_argument, NULL, OPT_NODE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "emit", required_argument, NULL, OPT_EMIT },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "output", required_argument, NULL, 'o' },
	{ "dir", required_argument, NULL, 'd' },
	{ "list-checks", no_argument, NULL, OPT_LIST_CHECKS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* -MF FILE is read by getopt as -M followed by -F FILE ("MF:" in the
 * short options), which is what makes the GCC spelling work. */
static const char shortopts[] = ":co:d:MF:W:wh";

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int ch;

	memset(o, 0, sizeof *o);
	o->format = -1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_NODE:
			if (o->node != NULL)
				cli_usage_error("vcompc", "--node given twice");
			if (optarg[0] == '\0')
				cli_usage_error("vcompc", "--node needs a node name");
			o->node = optarg;
			break;
		case OPT_ALL:
			o->all = true;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case 'c':
			o->c_given = true;
			break;
		case OPT_EMIT:
			if (strcmp(optarg, "c") == 0)
				o->emit = EMIT_C;
			else if (strcmp(optarg, "json") == 0)
				o->emit = EMIT_JSON;
			else if (strcmp(optarg, "dot") == 0)
				o->emit = EMIT_DOT;
			else if (strcmp(optarg, "keys") == 0)
				o->emit = EMIT_KEYS;
			else
				cli_usage_error("vcompc", "invalid argument '%s' for '--emit' (use c, json, keys or dot)",
					    optarg);
			o->emit_given = true;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "yaml") == 0)
				o->format = FMT_YAML;
			else if (strcmp(optarg, "properties") == 0)
				o->format = FMT_PROPERTIES;
			else if (strcmp(optarg, "tdsl") == 0)
				o->format = FMT_TDSL;
			else
				cli_usage_error("vcompc", "invalid argument '%s' for '--format' (use yaml, properties or tdsl)",
					    optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'M':
			o->depend = true;
			break;
		case 'F':
			o->depfile = optarg;
			break;
		case 'W':
			if (strcmp(optarg, "unused") == 0)
				diag_wunused = true;
			else if (strcmp(optarg, "error") == 0)
				diag_werror = true;
			else
				cli_usage_error("vcompc", "unknown warning option '-W%s' (known: -Wunused, -Werror)",
					    optarg);
			break;
		case 'w':
			diag_nowarn = true;
			break;
		case OPT_LIST_CHECKS:
			check_list(stdout);
			exit(fflush(stdout) == 0 ? 0 : 1);
		case 'h':
			usage(stdout);
			exit(fflush(stdout) == 0 ? 0 : 1);
		case OPT_VERSION:
			printf("vcompc %s (table layout %d)\n", VCOMPC_VERSION,
			    VCOMP_TABLE_VERSION);
			exit(fflush(stdout) == 0 ? 0 : 1);
		case ':':
			if (optopt == 'F')
				cli_usage_error("vcompc", "option '-MF' requires an argument");
			if (optopt > 0 && optopt < 256)
				cli_usage_error("vcompc", "option '-%c' requires an argument",
					    optopt);
			cli_usage_error("vcompc", "option '%s' requires an argument",
				    argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256)
				cli_usage_error("vcompc", "invalid option -- '%c'", optopt);
			cli_usage_error("vcompc", "unrecognized option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		cli_usage_error("vcompc", "no spec file given");
	if (argc - optind > 1)
		cli_usage_error("vcompc", "one spec file at a time ('%s' and '%s' given); to compare two specs use 'vcompc plan OLD NEW'",
			    argv[optind], argv[optind + 1]);
	o->spec = argv[optind];

	/* -c and --emit=c are the same request; -c with another --emit is
	 * a contradiction. */
	if (o->c_given) {
		if (o->emit_given && o->emit != EMIT_C)
			cli_usage_error("vcompc", "-c contradicts --emit=%s", emit_names[o->emit]);
		o->emit = EMIT_C;
	}
	if (o->depfile != NULL)
		o->depend = true;
	if (o->check && (o->c_given || o->emit_given || o->output != NULL ||
			 o->dir != NULL || o->depend || o->all))
		cli_usage_error("vcompc", "--check writes nothing; it takes no -c, --emit, -o, -d, -M or --all");
	if (o->node != NULL && o->all)
		cli_usage_error("vcompc", "--node and --all exclude each other");
	if (o->output != NULL && o->dir != NULL)
		cli_usage_error("vcompc", "-o and -d exclude each other");
	if (o->emit == EMIT_KEYS || o->emit == EMIT_DOT) {
		if (o->node != NULL || o->all || o->dir != NULL || o->depend)
			cli_usage_error("vcompc", "--emit=%s describes the whole %s; it takes no --node, --all, -d or -M",
				    emit_names[o->emit], o->emit == EMIT_KEYS ? "file" : "cluster");
		return;
	}
	if (o->check)
		return;
	if (o->node == NULL && !o->all)
		cli_usage_error("vcompc", "nothing to do: give --node NAME, --all -d DIR or --check");
	if (o->all && o->dir == NULL)
		cli_usage_error("vcompc", "--all writes one output per node; it needs -d DIR");
	if (o->emit == EMIT_BIN && o->output != NULL &&
	    strcmp(o->output, "-") == 0)
		cli_usage_error("vcompc", "a binary cannot go to standard output; use -c or --emit=json, or -o FILE");
	if (o->depend && o->depfile == NULL)
		cli_usage_error("vcompc", "-M needs -MF FILE");
	if (o->depend && o->emit != EMIT_BIN && o->dir == NULL &&
	    (o->output == NULL || strcmp(o->output, "-") == 0))
		cli_usage_error("vcompc", "-M needs an output file (-o FILE or -d DIR)");
}

static int
spec_format(const struct opts *o)
{
	if (o->format >= 0)
		return o->format;
	if (has_suffix(o->spec, ".yaml") || has_suffix(o->spec, ".yml"))
		return FMT_YAML;
	if (has_suffix(o->spec, ".properties"))
		return FMT_PROPERTIES;
	if (has_suffix(o->spec, ".tdsl"))
		return FMT_TDSL;
	cli_usage_error("vcompc", "cannot tell the format of '%s' from its name; use --format=yaml, --format=properties or --format=tdsl",
		    o->spec);
}

/* Where the output for node `i` goes; NULL = standard output. */
static const char *
output_path(const struct opts *o, const struct ir_spec *spec, size_t i)
{
	const char *name = spec->nodes[i].name.s;
	const char *base;

	if (o->output != NULL)
		return strcmp(o->output, "-") == 0 ? NULL : o->output;
	switch (o->emit) {
	case EMIT_C:
		base = xprintf("%s.c", name);
		break;
	case EMIT_JSON:
		base = xprintf("%s.json", name);
		break;
	default:
		base = xprintf("vcomp-%s", name);
		break;
	}
	if (o->dir != NULL)
		return join(o->dir, base);
	return o->emit == EMIT_BIN ? base : NULL;
}

/* Standard output was the output: flush it and say whether every byte
 * got there (a full disk, a closed pipe). */
static bool
stdout_done(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		error_at(NULL, "cannot write standard output: %s",
			 strerror(errno));
		return false;
	}
	return true;
}

/* Builds every output of node i (not yet committed). */
static bool
build_node(const struct opts *o, const struct ir_spec *spec, size_t i,
	   const struct emit_opts *eo)
{
	const char *path = output_path(o, spec, i);
	FILE *f;

	if (o->emit == EMIT_BIN) {
		const char *tmp;
		int fd = output_begin(path, &tmp);
		if (fd < 0)
			return false;
		close(fd);
		if (!link_node(spec, i, eo, tmp))
			return false;
		/* The linker keeps mkstemp's 0600 (plus x bits): give the
		 * binary the mode a new executable gets. */
		mode_t um = umask(0);
		umask(um);
		if (chmod(tmp, 0777 & ~um) < 0) {
			error_at(NULL, "cannot chmod '%s': %s", tmp,
				 strerror(errno));
			return false;
		}
	} else if (path == NULL) {
		if (o->emit == EMIT_C)
			emit_c(stdout, spec, i, eo);
		else
			emit_json(stdout, spec, i);
		if (!stdout_done())
			return false;
	} else {
		if ((f = output_open(path)) == NULL)
			return false;
		if (o->emit == EMIT_C)
			emit_c(f, spec, i, eo);
		else
			emit_json(f, spec, i);
		if (!output_close(f, path))
			return false;
	}
	return true;
}

/* --emit=dot: the whole cluster, to -o FILE or standard output. */
static bool
write_dot(const struct opts *o, const struct ir_spec *spec)
{
	struct emit_opts eo = { .spec_name = spec_display_name(o->spec) };
	FILE *f;

	if (o->output == NULL || strcmp(o->output, "-") == 0) {
		emit_dot(stdout, spec, &eo);
		return stdout_done();
	}
	if ((f = output_open(o->output)) == NULL)
		return false;
	emit_dot(f, spec, &eo);
	return output_close(f, o->output) && outputs_commit();
}

/* The secrets bundle of node i goes beside its output. */
static bool
write_secrets(const struct opts *o, const struct ir_spec *spec, size_t i)
{
	const char *path = output_path(o, spec, i);
	char *dir;
	bool ok;

	if (o->emit == EMIT_JSON || !secrets_needed(spec, i))
		return true;
	if (o->dir != NULL)
		return secrets_write_bundle(spec, i, o->dir);
	dir = dir_of(path != NULL ? path : "./x");
	if (dir == NULL)
		oom();
	ok = secrets_write_bundle(spec, i, dir);
	free(dir);
	return ok;
}

/* The tdsl front end; with --emit=keys, the whole run (the caller exits
 * with its result). */
static bool
tdsl_main(const struct opts *o, struct ir_spec *spec, const char *text,
	  size_t len)
{
	struct td_state *doc;
	bool ok = tdsl_read(o->spec, text, len, &doc);
	FILE *f;

	if (o->emit != EMIT_KEYS)
		return ok && tdsl_to_ir(doc, spec);
	if (!ok || diag_failed())
		return false;
	if (o->output == NULL || strcmp(o->output, "-") == 0) {
		tdsl_emit_keys(stdout, doc);
		return stdout_done();
	}
	if ((f = output_open(o->output)) == NULL)
		return false;
	tdsl_emit_keys(f, doc);
	return output_close(f, o->output) && outputs_commit();
}

/* --emit=keys: every key of a properties file as read, no checks. */
static int
emit_keys(const struct opts *o)
{
	struct prop *props = NULL;
	size_t nprops = 0, len;
	char *text;
	bool ok;
	FILE *f;

	if ((text = read_spec_file(o->spec, &len)) == NULL)
		return 1;
	ok = properties_read(o->spec, text, len, &props, &nprops);
	if (!ok || diag_failed())
		return 1;
	if (o->output == NULL || strcmp(o->output, "-") == 0) {
		properties_emit_keys(stdout, props, nprops);
		return stdout_done() ? 0 : 1;
	}
	if ((f = output_open(o->output)) == NULL)
		return 1;
	properties_emit_keys(f, props, nprops);
	if (!output_close(f, o->output) || !outputs_commit())
		return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct ir_spec spec;
	struct emit_opts eo;

	/* `vcompc plan OLD NEW` is a subcommand with its own options. */
	if (argc >= 2 && strcmp(argv[1], "plan") == 0) {
		atexit(arena_release);
		return plan_main(argc - 1, argv + 1);
	}
	parse_args(argc, argv, &o);
	atexit(arena_release);
	atexit(outputs_cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	if (o.emit == EMIT_KEYS) {
		char *text;
		size_t len;

		if (spec_format(&o) == FMT_YAML)
			cli_usage_error("vcompc", "--emit=keys is for properties and tdsl specs only");
		if (spec_format(&o) == FMT_PROPERTIES)
			return emit_keys(&o);
		memset(&spec, 0, sizeof spec);
		spec.path = o.spec;
		spec.format = FMT_TDSL;
		ir_limits_default(&spec.limits);
		if ((text = read_spec_file(o.spec, &len)) == NULL)
			return 1;
		return tdsl_main(&o, &spec, text, len) ? 0 : 1;
	}
	if (!spec_load(o.spec, spec_format(&o), &spec) || diag_failed())
		return 1;

	size_t first = 0, last = spec.nnodes;
	if (o.node != NULL) {
		first = find_node(&spec, o.node);
		last = first + 1;
	}
	if (o.check)
		return 0;
	if (o.emit == EMIT_DOT)
		return write_dot(&o, &spec) ? 0 : 1;

	/* -d DIR is created when missing (one level, like go build -o DIR/):
	 * a CI job's fresh workspace has no output directory yet. */
	if (o.dir != NULL && mkdir(o.dir, 0755) < 0 && errno != EEXIST) {
		error_at(NULL, "cannot create the output directory '%s': %s",
			 o.dir, strerror(errno));
		return 1;
	}
	eo.spec_name = spec_display_name(o.spec);
	for (size_t i = first; i < last; i++)
		if (!build_node(&o, &spec, i, &eo))
			return 1;
	if (o.depend && !write_depfile(o.depfile, o.spec))
		return 1;
	/* Secrets bundles are written (and renamed) last, once every other
	 * output is complete, so a failed run leaves no new bundle. */
	for (size_t i = first; i < last; i++)
		if (!write_secrets(&o, &spec, i))
			return 1;
	if (!outputs_commit())
		return 1;
	return 0;
}
