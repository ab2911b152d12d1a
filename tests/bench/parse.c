/*
 * parse.c — section 1 of `make bench`: the bare rate of the runtime's own
 * stream parser (xs_* from libvcrt.a) over a generated stream of realistic
 * stanzas fed in 4 KiB chunks, beside the memory floor (memcpy + memchr over
 * the same bytes in the same chunks), measured alternately in this run.
 *
 * usage: parse STANZAS RUNS
 *
 * Prints result lines (benchlib.h): stanzas/s and MB/s of the parser, the
 * floor's MB/s, each with the floor as baseline.
 */
#include <stdio.h>
#include <stdlib.h>

#include "benchlib.h"

int
main(int argc, char **argv)
{
	struct bench_stream s;
	size_t n, runs, count, lt;

	if (argc != 3) {
		fprintf(stderr, "usage: parse STANZAS RUNS\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	runs = strtoul(argv[2], NULL, 10);
	bench_stream(&s, n, 1, 5000);
	fprintf(stderr, "parse: %zu stanzas (%zu messages, %zu presence, "
	    "%zu iq), %zu bytes, avg %.0f bytes\n", s.nstanzas, s.nmsg, s.npres,
	    s.niq, s.len, (double)s.len / (double)s.nstanzas);
	/* One untimed pass each to fault in the pages and warm the caches. */
	bench_parse(&s, &count);
	bench_memfloor(&s, &lt);
	for (size_t r = 0; r < runs; r++) {
		double tp = bench_parse(&s, &count);
		double tm = bench_memfloor(&s, &lt);
		double mbp = (double)s.len / tp / 1e6, mbm = (double)s.len / tm / 1e6;

		result("1-parser", "parse_rate", "stanzas/s", (double)n / tp,
		    "memfloor_stanzas/s", (double)n / tm);
		result("1-parser", "parse_bandwidth", "MB/s", mbp,
		    "memfloor_MB/s", mbm);
		result("1-parser", "parse_ns_per_stanza", "ns", tp / (double)n * 1e9,
		    "-", 0);
	}
	free(s.p);
	return 0;
}
