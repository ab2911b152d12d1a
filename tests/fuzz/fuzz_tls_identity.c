/*
 * fuzz_tls_identity.c — libFuzzer target for the one piece of the peer
 * links' TLS input path that is ours: the acceptor's parsing of the PSK
 * identity a dialler sends in the clear (tls_identity_node, runtime/tls.c).
 * Every other byte a peer sends before authentication goes straight to
 * mbedTLS's record layer.
 *
 * The table is a three-node cluster seen from node "a" (index 0).  Oracle,
 * an abort(): the identity is accepted exactly when it is
 * "vcomp-peer-1 " followed by the name of node 1 or 2, optionally followed
 * by " " and a key id (KID_HEX lowercase hex digits: which secret of
 * a rotation list the dialler proves with), and then names that node.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vcrt.h"

/* The key id's length in hex digits: 8 bytes (runtime/tls.c, TLS_KID_HEX),
 * written out here so that the oracle does not share the code's constant. */
#define KID_HEX 16

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
	size_t n = size;

	/* A key id at the end is not part of the name. */
	if (n >= KID_HEX + 1 && data[n - KID_HEX - 1] == ' ') {
		size_t i = n - KID_HEX;

		while (i < n && ((data[i] >= '0' && data[i] <= '9') ||
		    (data[i] >= 'a' && data[i] <= 'f')))
			i++;
		if (i == n)
			n -= KID_HEX + 1;
	}
	for (int i = 1; i < 3; i++) {
		size_t nl = strlen(fuzz_nodes[i].name);

		if (n == sizeof pre - 1 + nl &&
		    memcmp(data, pre, sizeof pre - 1) == 0 &&
		    memcmp(data + sizeof pre - 1, fuzz_nodes[i].name, nl) == 0)
			want = i;
	}
	got = tls_identity_node((const char *)data, size);
	if (got != want)
		abort();
	return 0;
}
