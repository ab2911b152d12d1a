/*
 * test_tls.c — the pure parts of the peer links' channel (runtime/tls.c):
 * the PSK derivation, checked against Python's hmac module (an
 * independent HKDF, RFC 5869), and the parsing of PSK identities against
 * the fixture table (node1 is this node, node2 the other).
 */
#include <stdio.h>
#include <string.h>

#include "vcrt.h"
#include "../unit.h"

static void
test_derive_psk(void)
{
	uint8_t k[TLS_KEY_LEN];
	char h[2 * TLS_KEY_LEN + 1];

	/* prk = HMAC(salt "vcomp peer link tls 1", "k3y");
	 * okm = HMAC(prk, "psk" || 0x01), computed with Python 3's hmac. */
	tls_derive_psk("k3y", 3, k);
	for (size_t i = 0; i < sizeof k; i++)
		snprintf(h + 2 * i, 3, "%02x", k[i]);
	CU_ASSERT_STRING_EQUAL(h, "670601701f4a674dce3b9ae6d1fc71fa"
	    "d7494a57a30e580a02aacf9c6b0515cb");
	/* The key is not the secret, and another secret gives another key. */
	tls_derive_psk("k3z", 3, k);
	for (size_t i = 0; i < sizeof k; i++)
		snprintf(h + 2 * i, 3, "%02x", k[i]);
	CU_ASSERT_STRING_NOT_EQUAL(h, "670601701f4a674dce3b9ae6d1fc71fa"
	    "d7494a57a30e580a02aacf9c6b0515cb");
}

static int
id(const char *s)
{
	return tls_identity_node(s, strlen(s));
}

static void
test_identity(void)
{
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node2"), 1);
	/* This node itself, an unknown node, a prefix of a name. */
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node1"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node9"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node22"), -1);
	/* No name, another version, no separator, nothing. */
	CU_ASSERT_EQUAL(id("vcomp-peer-1 "), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-2 node2"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1node2"), -1);
	CU_ASSERT_EQUAL(id(""), -1);
	/* With the key id of the secret the dialler proves with (16
	 * lowercase hex digits after a space); a malformed one is part of
	 * the name, which then names no node. */
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node2 0123456789abcdef"), 1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node1 0123456789abcdef"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node2 0123456789ABCDEF"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node2 0123456789abcde"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1 node2  0123456789abcdef"), -1);
	CU_ASSERT_EQUAL(id("vcomp-peer-1  0123456789abcdef"), -1);
	/* A NUL inside the identity does not cut it short. */
	CU_ASSERT_EQUAL(tls_identity_node("vcomp-peer-1 node2\0x", 20), -1);
}

UNIT_SUITE(runtime_tls)
{
	UNIT_TEST(suite, test_derive_psk);
	UNIT_TEST(suite, test_identity);
}
