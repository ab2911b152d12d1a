/*
 * main.c — main() of a node binary: options, then node_run().
 *
 * Only main() is exported, so that linking libvcrt.a into a program that
 * has its own main (the unit tests) never pulls this file in.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_proto.h"
#include "vcrt.h"

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
	    "usage: %s [-v | -q] [--secrets FILE] [--check | --check-upgrade]\n"
	    "       %s --version | --help\n"
	    "\n"
	    "The vcomp runtime of node %s, with its routing table built in.\n"
	    "\n"
	    "  --check         read every secret, resolve every address, test-bind\n"
	    "                  every listening address; exit 0 (OK) or 1\n"
	    "  --check-upgrade read every secret, resolve every address, test-\n"
	    "                  bind the listening ports the running image does\n"
	    "                  not hold, print the handover format this binary\n"
	    "                  reads; exit 0 or 1 (SIGUSR2 runs it first)\n"
	    "  --secrets FILE  secrets bundle (default: %s.secrets beside the binary)\n"
	    "  -v, --verbose   log debug messages\n"
	    "  -q, --quiet     log errors only\n"
	    "  --version       print versions, the spec and its digest, the node\n"
	    "  --help          print this help\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT graceful shutdown, SIGUSR1 log the counters,\n"
	    "SIGUSR2 upgrade in place: execute this binary's path again (install\n"
	    "the new binary there first), keeping the component sessions.\n"
	    "See docs/runtime.md.\n",
	    prog, prog, vcomp_table.nodes[vcomp_table.self].name,
	    vcomp_table.nodes[vcomp_table.self].name);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "check-upgrade", no_argument, NULL, 'u' },
		{ "secrets", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char prog[300];
	const char *node = vcomp_table.nodes[vcomp_table.self].name;
	struct node_opts o = { 0 };
	int ch;

	snprintf(prog, sizeof prog, "vcomp-%s", node);
	vlog_prog = prog;
	while ((ch = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.check = true;
			break;
		case 'u':
			o.check_upgrade = true;
			break;
		case 's':
			o.secrets = optarg;
			break;
		case 'v':
			vlog_level = VL_DEBUG;
			break;
		case 'q':
			vlog_level = VL_ERR;
			break;
		case 'V':
			printf("%s (vcomp runtime %s)\n", prog, VCOMP_VERSION);
			printf("vcompc %s\n", vcomp_table.vcompc_version);
			printf("peer protocol %d-%d\n", PEER_VERSION_MIN,
			    PEER_VERSION_MAX);
			printf("node %s\n", node);
			return 0;
		case 'h':
			usage(stdout, prog);
			return 0;
		default:
			usage(stderr, prog);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
		    argv[optind]);
		usage(stderr, prog);
		return 2;
	}
	o.argv = argv;
	return node_run(&o);
}
