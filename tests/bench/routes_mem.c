/*
 * routes_mem.c — section 5 of `make bench`: the memory of a home's
 * return-route table (runtime/retroute.c, from libvcrt.a) holding N realistic
 * full JIDs, as the table counts it (rroutes_memory) and as the process's
 * RSS grows, beside the bytes of the JIDs themselves (the payload floor).
 * Also times learn and lookup, beside a loop that only formats the JIDs.
 *
 * usage: routes_mem ENTRIES RUNS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchlib.h"
#include "retroute.h"

int
main(int argc, char **argv)
{
	size_t n, runs;
	char buf[256];

	if (argc != 3) {
		fprintf(stderr, "usage: routes_mem ENTRIES RUNS\n");
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	runs = strtoul(argv[2], NULL, 10);
	for (size_t r = 0; r < runs; r++) {
		long rss0 = proc_status_kib(getpid(), "VmRSS"), rss1;
		double t0, t1, t2, tf;
		size_t payload = 0, hits = 0, sink = 0;
		struct rroutes *rt = rroutes_new((uint32_t)n);
		uint16_t node;

		/* The floor: formatting the same JIDs, nothing stored. */
		tf = now_s();
		for (uint32_t i = 0; i < n; i++)
			sink += (size_t)bench_jid(buf, sizeof buf, i) + (uint8_t)buf[5];
		tf = now_s() - tf;
		t0 = now_s();
		for (uint32_t i = 0; i < n; i++) {
			int l = bench_jid(buf, sizeof buf, i);

			rroutes_learn(rt, buf, (size_t)l, (uint16_t)(i % 16));
			payload += (size_t)l;
		}
		t1 = now_s();
		for (uint32_t i = 0; i < n; i++) {
			int l = bench_jid(buf, sizeof buf, (i * 7919u) % (uint32_t)n);

			hits += rroutes_lookup(rt, buf, (size_t)l, &node);
		}
		t2 = now_s();
		rss1 = proc_status_kib(getpid(), "VmRSS");
		if (hits != n || rroutes_count(rt) != n) {
			fprintf(stderr, "routes_mem: %zu hits, %zu entries of %zu\n",
			    hits, rroutes_count(rt), n);
			return 1;
		}
		result("5-memory", "routes_table_bytes", "MiB",
		    (double)rroutes_memory(rt) / 1048576.0, "jid_payload_MiB",
		    (double)payload / 1048576.0);
		/* Later runs reuse the heap the first one freed. */
		if (r == 0)
			result("5-memory", "routes_rss_growth", "MiB",
			    (double)(rss1 - rss0) / 1024.0, "jid_payload_MiB",
			    (double)payload / 1048576.0);
		result("5-memory", "routes_bytes_per_entry", "B",
		    (double)rroutes_memory(rt) / (double)n, "jid_avg_B",
		    (double)payload / (double)n);
		result("5-memory", "routes_learn_ns", "ns", (t1 - t0) / (double)n * 1e9,
		    "format_only_ns", tf / (double)n * 1e9);
		result("5-memory", "routes_lookup_ns", "ns", (t2 - t1) / (double)n * 1e9,
		    "format_only_ns", tf / (double)n * 1e9);
		rroutes_free(rt);
		fprintf(stderr, "routes_mem: run %zu: %zu entries (sink %zu)\n",
		    r + 1, n, sink % 10);
	}
	return 0;
}
