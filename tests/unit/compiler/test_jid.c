/*
 * test_jid.c — RFC 7622 checks (runtime/jid.c, shared with the runtime).
 *
 * The corpus is RFC 7622's Tables 1 and 2 as jxmpp ships them, plus
 * Prosody's invalid cases (see PROTOCOL-NOTES §3.5).  Two invalid JIDs of
 * Table 2 need the PRECIS tables vcompc does not carry; they are tested as
 * accepted, so that the day someone adds the tables the test says so.
 */
#include <string.h>

#include "../unit.h"
#include "vcompc.h"

static void
expect_ok(const char *jid)
{
	const char *why = NULL;
	size_t off = 0;
	bool ok = jid_check_jid(jid, &why, &off);

	if (!ok)
		fprintf(stderr, "\n  '%s' rejected: %s at %zu\n", jid, why, off);
	CU_ASSERT_TRUE(ok);
}

/* Rejected, for a reason containing `part`, at byte `want_off`. */
static void
expect_bad(const char *jid, const char *part, size_t want_off)
{
	const char *why = NULL;
	size_t off = 12345;

	CU_ASSERT_FALSE_FATAL(jid_check_jid(jid, &why, &off));
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	if (strstr(why, part) == NULL || off != want_off)
		fprintf(stderr, "\n  '%s': got '%s' at %zu, want '%s' at %zu\n",
			jid, why, off, part, want_off);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, part));
	CU_ASSERT_EQUAL(off, want_off);
}

static void
expect_domain_bad(const char *d, const char *part, size_t want_off)
{
	const char *why = NULL;
	size_t off = 12345;

	CU_ASSERT_FALSE_FATAL(jid_check_domain(d, &why, &off));
	if (strstr(why, part) == NULL || off != want_off)
		fprintf(stderr, "\n  '%s': got '%s' at %zu, want '%s' at %zu\n",
			d, why, off, part, want_off);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, part));
	CU_ASSERT_EQUAL(off, want_off);
}

static void
expect_domain_ok(const char *d)
{
	const char *why = NULL;
	size_t off = 0;
	bool ok = jid_check_domain(d, &why, &off);

	if (!ok)
		fprintf(stderr, "\n  '%s' rejected: %s at %zu\n", d, why, off);
	CU_ASSERT_TRUE(ok);
}

static void
test_rfc7622_valid(void)
{
	expect_ok("juliet@example.com/foo bar");
	expect_ok("juliet@example.com/foo@bar");
	expect_ok("foo\\20bar@example.com");
	expect_ok("fu\xc3\x9f" "ball@example.com");        /* fußball */
	expect_ok("\xcf\x80@example.com");                  /* π */
	expect_ok("\xce\xa3@example.com");                  /* Σ */
	expect_ok("king@example.com/\xe2\x99\x9a");         /* ♚ */
	expect_ok("a.example.com/b@example.net");
	expect_ok("example.com");
	expect_ok("muc.example.test");
}

static void
test_rfc7622_invalid(void)
{
	expect_bad("\"juliet\"@example.com", "forbidden", 0);
	expect_bad("foo bar@example.com", "space", 3);
	expect_bad("@example.com/", "localpart is empty", 0);
	expect_bad("juliet@", "domainpart is empty", 7);
	expect_bad("/foobar", "domainpart is empty", 0);
	/* Prosody's corpus. */
	expect_bad("node@/server", "domainpart is empty", 5);
	expect_bad("@server", "localpart is empty", 0);
	expect_bad("user@@host", "'@'", 5);
	expect_bad("user@host/", "resourcepart is empty", 10);
	expect_bad("a:b@host", "forbidden", 1);
	expect_bad("a<b@host", "forbidden", 1);
	expect_bad("a\x01" "b@host", "control", 1);
	expect_bad("user@host/a\x7f", "control", 11);
	expect_bad("user@host/a\xc2\x85", "control", 11);    /* U+0085 NEL */
	expect_bad("a\xc2\xa0" "b@host", "space", 1);       /* NBSP */
	expect_bad("user@ho st", "space", 7);
	expect_bad("user@host.", "ends with a dot", 9);
}

/*
 * henryⅣ (U+2163, compatibility decomposition) and ♚ (a symbol) are
 * disallowed in a localpart by PRECIS IdentifierClass.  Deciding that needs
 * the Unicode derived properties, which jid.c does not carry (see the top
 * of jid.c).  They are well-formed UTF-8 without controls or spaces, so we
 * accept them; the XMPP server applies the full profile.
 */
static void
test_precis_only_cases_accepted(void)
{
	expect_ok("henry\xe2\x85\xa3@example.com");
	expect_ok("\xe2\x99\x9a@example.com");
}

static void
test_lengths(void)
{
	char big[1024 + 64];
	const char *why;
	size_t off;

	/* Localpart of exactly 1023 octets, then 1024. */
	memset(big, 'a', 1023);
	strcpy(big + 1023, "@example.com");
	expect_ok(big);
	memset(big, 'a', 1024);
	strcpy(big + 1024, "@example.com");
	expect_bad(big, "localpart is longer than 1023", 1023);

	/* Resourcepart of 1023 octets, then 1024. */
	strcpy(big, "a@b/");
	memset(big + 4, 'r', 1023);
	big[4 + 1023] = '\0';
	expect_ok(big);
	memset(big + 4, 'r', 1024);
	big[4 + 1024] = '\0';
	expect_bad(big, "resourcepart is longer than 1023", 4 + 1023);

	/* Domainpart of 1023 octets: labels of 63 octets with dots. */
	size_t n = 0;
	while (n < 1023) {
		size_t take = 1023 - n >= 64 ? 63 : 1023 - n;
		memset(big + n, 'd', take);
		n += take;
		if (n < 1023)
			big[n++] = '.';
	}
	big[n] = '\0';
	CU_ASSERT_EQUAL(strlen(big), 1023);
	CU_ASSERT_NOT_EQUAL(big[1022], '.');
	expect_domain_ok(big);
	big[1023] = 'd';
	big[1024] = '\0';
	CU_ASSERT_FALSE(jid_check_domain(big, &why, &off));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "longer than 1023"));
	CU_ASSERT_EQUAL(off, 1023);

	/* Labels: 63 octets fine, 64 not. */
	memset(big, 'x', 63);
	strcpy(big + 63, ".test");
	expect_domain_ok(big);
	memset(big, 'x', 64);
	strcpy(big + 64, ".test");
	expect_domain_bad(big, "longer than 63", 63);

	/* A U-label's limit is its A-label's length (RFC 5890 §2.3.2.1),
	 * not its UTF-8 length: 22 times U+65E5 is 66 octets of UTF-8 and
	 * "xn--" plus 24 of Punycode; 10 times U+65E5 U+672C U+8A9E is
	 * 90 octets and an A-label of 45. */
	big[0] = '\0';
	for (int i = 0; i < 22; i++)
		strcat(big, "\xe6\x97\xa5");
	strcat(big, ".test");
	expect_domain_ok(big);
	big[0] = '\0';
	for (int i = 0; i < 10; i++)
		strcat(big, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	strcat(big, ".test");
	expect_domain_ok(big);
	/* 55 'a' and a u-umlaut: an A-label of 63 octets; 56: 64, reported
	 * at the label (its UTF-8 is only 58 octets). */
	memset(big, 'a', 55);
	strcpy(big + 55, "\xc3\xbc.test");
	expect_domain_ok(big);
	memset(big, 'a', 56);
	strcpy(big + 56, "\xc3\xbc.test");
	expect_domain_bad(big, "longer than 63", 0);
	/* 51 octets of UTF-8 (16 scattered code points), an A-label of 66:
	 * the offset is the label's start, not past its end. */
	expect_domain_bad("a.\xf3\x9d\x82\x85\xc6\x92\xc3\x89\xf4\x87\x8a\x9b\xf2\xb0\x9b\x80\xf2\x91\xb6\xaa\xe9\x82\xba\xf2\xa5\xa4\x98\xd7\xb4\xea\x8c\x96\xf0\xb9\xb0\x8e\xe9\xa9\xab\xc5\x95\xf3\xa4\xb9\x84\xf0\xaf\xb6\xaf\xdd\x94.test", "longer than 63", 2);
}

static void
test_domain_labels(void)
{
	expect_domain_ok("a-b.example.test");
	expect_domain_ok("xn--bcher-kva.example");
	expect_domain_ok("b\xc3\xbc" "cher.example");       /* bücher, a U-label */
	expect_domain_ok("localhost");
	expect_domain_ok("1a.example");
	expect_domain_bad("", "empty", 0);
	expect_domain_bad("-ab.example", "starts with a hyphen", 0);
	expect_domain_bad("ab-.example", "ends with a hyphen", 2);
	expect_domain_bad("a..b", "empty label", 2);
	expect_domain_bad(".a", "empty label", 0);
	expect_domain_bad("a_b.example", "letter, digit", 1);
	expect_domain_bad("a/b", "'/'", 1);
	expect_domain_bad("muc.example.test.", "ends with a dot", 16);
	expect_domain_bad("a\tb", "control", 1);
	expect_domain_bad("\xc3\x28.example", "UTF-8", 0);
	expect_domain_bad("ex\xe3\x80\x80" "ample", "space", 2); /* U+3000 */
}

static void
test_ip_literals(void)
{
	expect_domain_ok("127.0.0.1");
	expect_domain_ok("192.0.2.255");
	expect_domain_ok("[::1]");
	expect_domain_ok("[2001:db8::1]");
	expect_domain_ok("[::ffff:192.0.2.1]");
	expect_domain_bad("256.1.1.1", "IPv4", 0);
	expect_domain_bad("1.2.3", "IPv4", 0);
	expect_domain_bad("[::1", "closing", 4);
	expect_domain_bad("[::1]x", "follow", 5);
	expect_domain_bad("[]", "IPv6", 1);
	expect_domain_bad("[::g]", "IPv6", 1);
	expect_domain_bad("[127.0.0.1]", "IPv6", 1);
	expect_ok("user@[::1]/r");
	expect_ok("user@192.0.2.1");
}

static void
test_utf8(void)
{
	size_t bad = 99;

	CU_ASSERT_TRUE(utf8_valid("", 0, &bad));
	CU_ASSERT_TRUE(utf8_valid("a\tb", 3, &bad));
	CU_ASSERT_TRUE(utf8_valid("\xce\xa8 0.11", 7, &bad));
	CU_ASSERT_TRUE(utf8_valid("\xf4\x8f\xbf\xbf", 4, &bad));   /* U+10FFFF */
	CU_ASSERT_TRUE(utf8_valid("\xef\xbf\xbd", 3, &bad));       /* U+FFFD */

	CU_ASSERT_FALSE(utf8_valid("ab\ncd", 5, &bad));
	CU_ASSERT_EQUAL(bad, 2);
	CU_ASSERT_FALSE(utf8_valid("a\0b", 3, &bad));              /* NUL */
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_FALSE(utf8_valid("x\xc0\xaf", 3, &bad));         /* overlong '/' */
	CU_ASSERT_EQUAL(bad, 1);
	CU_ASSERT_FALSE(utf8_valid("\xe0\x80\xaf", 3, &bad));      /* overlong, 3 bytes */
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_FALSE(utf8_valid("\xf0\x80\x80\xaf", 4, &bad));  /* overlong, 4 bytes */
	CU_ASSERT_FALSE(utf8_valid("ab\xed\xa0\x80", 5, &bad));    /* surrogate D800 */
	CU_ASSERT_EQUAL(bad, 2);
	CU_ASSERT_FALSE(utf8_valid("\xf4\x90\x80\x80", 4, &bad));  /* U+110000 */
	CU_ASSERT_FALSE(utf8_valid("\xf5\x80\x80\x80", 4, &bad));
	CU_ASSERT_FALSE(utf8_valid("abc\xe2\x82", 5, &bad));       /* truncated */
	CU_ASSERT_EQUAL(bad, 3);
	CU_ASSERT_FALSE(utf8_valid("\x80", 1, &bad));              /* stray continuation */
	/* len bounds the scan: the bad byte after len is not seen. */
	CU_ASSERT_TRUE(utf8_valid("ab\x80", 2, &bad));
}

UNIT_SUITE(jid)
{
	UNIT_TEST(suite, test_rfc7622_valid);
	UNIT_TEST(suite, test_rfc7622_invalid);
	UNIT_TEST(suite, test_precis_only_cases_accepted);
	UNIT_TEST(suite, test_lengths);
	UNIT_TEST(suite, test_domain_labels);
	UNIT_TEST(suite, test_ip_literals);
	UNIT_TEST(suite, test_utf8);
}
