/*
 * fuzz_handover.c — libFuzzer target for the in-place upgrade's state
 * reader (runtime/handover.c), which the new image runs on what the old
 * one wrote.
 *
 * Input: a state, as the old image would write it (the seeds) or garbled.
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handover h;
	struct vbuf w = { 0 };
	char why[256];
	uint8_t *g;

	if (handover_read(&h, data, size, "node1", why, sizeof why) < 0) {
		if (why[0] == '\0' || h.node != NULL || h.conns != NULL)
			abort();
		return 0;
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
	if (w.len != size || memcmp(w.p, data, size) != 0)
		abort();
	handover_free(&h);
	vbuf_free(&w);
	g = malloc(size);
	memcpy(g, data, size);
	g[size - 1] ^= 1;
	if (handover_read(&h, g, size, "node1", why, sizeof why) == 0)
		abort();
	free(g);
	return 0;
}
