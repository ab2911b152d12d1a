/*
 * test_auth.c — handshake, stream ids and HMAC (runtime/auth.c), against
 * published vectors: the xmpp-rs handshake test and RFC 4231.
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "../unit.h"

static void
test_handshake_kat(void)
{
	char out[41];

	/* xmpp-rs parsers/src/component.rs: password "123456", sid "sid". */
	xep0114_handshake("sid", "123456", out);
	CU_ASSERT_STRING_EQUAL(out, "9accec263ab84a43c6037ccf7cd48cb1d3f6df8e");
	/* The secret is hashed raw, not XML-escaped (XEP-0114 v1.6):
	 * sha1("x&<") computed independently with sha1sum. */
	xep0114_handshake("x", "&<", out);
	CU_ASSERT_STRING_EQUAL(out, "e1468c18e8d0cc2d56c35c7db247be71400a469f");
}

static void
test_handshake_verify(void)
{
	const char *good = "9accec263ab84a43c6037ccf7cd48cb1d3f6df8e";

	CU_ASSERT_TRUE(xep0114_verify("sid", "123456", good));
	CU_ASSERT_TRUE(xep0114_verify("sid", "123456",
	    "9ACCEC263AB84A43C6037CCF7CD48CB1D3F6DF8E"));
	CU_ASSERT_TRUE(xep0114_verify("sid", "123456",
	    "9AcCeC263ab84a43c6037ccf7cd48cb1d3f6df8E"));
	CU_ASSERT_FALSE(xep0114_verify("sid", "1234567", good));
	CU_ASSERT_FALSE(xep0114_verify("sid2", "123456", good));
	/* One digit off, at the start and at the end. */
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456",
	    "8accec263ab84a43c6037ccf7cd48cb1d3f6df8e"));
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456",
	    "9accec263ab84a43c6037ccf7cd48cb1d3f6df8f"));
	/* Short, long, empty, NULL. */
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456",
	    "9accec263ab84a43c6037ccf7cd48cb1d3f6df8"));
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456",
	    "9accec263ab84a43c6037ccf7cd48cb1d3f6df8e0"));
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456", ""));
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456", NULL));
	/* Case folding applies to letters only: '%' is 'e' - 0x40 and
	 * '\x05' is 'e' & 0x1f; neither may fold into 'e'. */
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456",
	    "9accec263ab84a43c6037ccf7cd48cb1d3f6df8\x05"));
	CU_ASSERT_FALSE(xep0114_verify("sid", "123456",
	    "9accec263ab84a43c6037ccf7cd48cb1d3f6df8%"));
}

static int
all_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static void
test_random_stream_id(void)
{
	char a[33], b[33];

	memset(a, 'X', sizeof a);
	memset(b, 'X', sizeof b);
	random_stream_id(a);
	random_stream_id(b);
	CU_ASSERT_EQUAL(strlen(a), STREAM_ID_LEN);
	CU_ASSERT_EQUAL(strlen(b), STREAM_ID_LEN);
	CU_ASSERT_TRUE(all_hex(a));
	CU_ASSERT_TRUE(all_hex(b));
	/* 128 random bits: equal ids mean a broken source. */
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static void
hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
test_hmac_sha256_rfc4231(void)
{
	uint8_t key[20], mac[32];
	char h[65];

	/* RFC 4231 §4.2, test case 1. */
	memset(key, 0x0b, sizeof key);
	hmac_sha256(key, sizeof key, "Hi There", 8, mac);
	hex(mac, sizeof mac, h);
	CU_ASSERT_STRING_EQUAL(h, "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7");
	/* RFC 4231 §4.3, test case 2. */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hex(mac, sizeof mac, h);
	CU_ASSERT_STRING_EQUAL(h, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

static void
test_ct_equal(void)
{
	uint8_t a[32], b[32];

	memset(a, 7, sizeof a);
	memcpy(b, a, sizeof b);
	CU_ASSERT_TRUE(ct_equal(a, b, sizeof a));
	CU_ASSERT_TRUE(ct_equal(a, b, 0));
	b[31] ^= 0x80;
	CU_ASSERT_FALSE(ct_equal(a, b, sizeof a));
	CU_ASSERT_TRUE(ct_equal(a, b, 31));
	b[31] = a[31];
	b[0] ^= 1;
	CU_ASSERT_FALSE(ct_equal(a, b, sizeof a));
}

UNIT_SUITE(runtime_auth)
{
	UNIT_TEST(suite, test_handshake_kat);
	UNIT_TEST(suite, test_handshake_verify);
	UNIT_TEST(suite, test_random_stream_id);
	UNIT_TEST(suite, test_hmac_sha256_rfc4231);
	UNIT_TEST(suite, test_ct_equal);
}
