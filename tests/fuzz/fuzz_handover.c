/*
 * fuzz_handover.c — libFuzzer target for the in-place upgrade's state
 * reader (runtime/handover.c), which the new image runs on what the old
 * one wrote.
 *
 * Input: a state, as the old image would write it (the seeds) or garbled;
 * it is read as it is, and again with a correct checksum appended (so
 * that the fuzzer reaches the lists behind the checksum).
 * Oracles, each an abort():
 *   - handover_read either refuses (-1, a reason, nothing left allocated:
 *     LeakSanitizer) or accepts;
 *   - an accepted state names node "node1", every fd is above 2, every
 *     kind is known, and writing it again gives back the input's bytes
 *     exactly (the format has one encoding, and nothing is lost);
 *   - since the checksum covers every byte, the input with its last byte
 *     changed is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "handover.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* handover.c's checksum, FNV-1a 64, written little-endian after body. */
static uint8_t *
with_sum(const uint8_t *body, size_t n)
{
	uint8_t *p = malloc(n + 8);
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= body[i];
		h *= 0x100000001b3ULL;
	}
	memcpy(p, body, n);
	for (int i = 0; i < 8; i++)
		p[n + i] = (uint8_t)(h >> (8 * i));
	return p;
}

static void
check(const uint8_t *data, size_t size)
{
	struct handover h;
	struct vbuf w = { 0 };
	char why[256];
	uint8_t *g;

	if (handover_read(&h, data, size, "node1", why, sizeof why) < 0) {
		if (why[0] == '\0' || h.node != NULL || h.conns != NULL)
			abort();
		return;
	}
	if (strcmp(h.node, "node1") != 0)
		abort();
	for (size_t i = 0; i < h.nlisteners; i++)
		if (h.listeners[i].fd < 3 || h.listeners[i].kind < HO_L_HOME ||
		    h.listeners[i].kind > HO_L_STATS)
			abort();
	for (size_t i = 0; i < h.nconns; i++)
		if (h.conns[i].fd < 3 || h.conns[i].hdr.len == 0)
			abort();
	handover_write(&h, &w);
	/* Sessions without a header are skipped, so only a state with
	 * none writes back the same bytes. */
	if (h.ndropped == 0 && (w.len != size || memcmp(w.p, data, size) != 0))
		abort();
	handover_free(&h);
	vbuf_free(&w);
	g = malloc(size);
	memcpy(g, data, size);
	g[size - 1] ^= 1;
	if (handover_read(&h, g, size, "node1", why, sizeof why) == 0)
		abort();
	free(g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	check(data, size);
	if (size > 8) {
		fixed = with_sum(data, size - 8);
		check(fixed, size);
		free(fixed);
	}
	return 0;
}
