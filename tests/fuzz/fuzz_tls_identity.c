/*
 * fuzz_tls_identity.c — libFuzzer target for the one piece of the peer
 * links' TLS input path that is ours: the acceptor's parsing of the PSK
 * identity a dialler sends in the clear (tls_identity_node, runtime/tls.c).
 * Every other byte a peer sends before authentication goes straight to
 * mbedTLS's record layer.
 *
 * The table is a three-node cluster seen from node "a" (index 0).  Oracle,
 * an abort(): the identity is accepted exactly when it is
 * "vcomp-peer-1 " followed by the name of node 1 or 2, and then names it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vcrt.h"

static const struct vc_node fuzz_nodes[3] = {
	{ "a", { "127.0.0.1", 1 } },
	{ "node-b", { "127.0.0.1", 2 } },
	{ "c", { "127.0.0.1", 3 } },
};

const struct vc_table vcomp_table = {
	.version = VCOMP_TABLE_VERSION,
	.self = 0,
	.nodes = fuzz_nodes,
	.nnodes = 3,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pre[] = "vcomp-peer-1 ";
	int want = -1, got;

	for (int i = 1; i < 3; i++) {
		size_t nl = strlen(fuzz_nodes[i].name);

		if (size == sizeof pre - 1 + nl &&
		    memcmp(data, pre, sizeof pre - 1) == 0 &&
		    memcmp(data + sizeof pre - 1, fuzz_nodes[i].name, nl) == 0)
			want = i;
	}
	got = tls_identity_node((const char *)data, size);
	if (got != want)
		abort();
	return 0;
}
