/*
 * test_caps.c — XEP-0115 verification strings (compiler/caps.c) against
 * the XEP's two official examples (§5.2, §5.3; PROTOCOL-NOTES §2.3).
 */
#include <string.h>

#include "../unit.h"
#include "vcompc.h"

#define F_CAPS   "http://jabber.org/protocol/caps"
#define F_INFO   "http://jabber.org/protocol/disco#info"
#define F_ITEMS  "http://jabber.org/protocol/disco#items"
#define F_MUC    "http://jabber.org/protocol/muc"

static struct ir_identity
identity(const char *cat, const char *type, const char *lang, const char *name)
{
	struct ir_identity id = { 0 };

	id.category.s = (char *)cat;
	id.type.s = (char *)type;
	id.lang.s = (char *)lang;
	id.name.s = (char *)name;
	return id;
}

/* §5.2: the worked S includes the caps feature, so the input does too. */
static void
test_vector_simple(void)
{
	struct ir_identity ids[1] = {
		identity("client", "pc", NULL, "Exodus 0.9.1"),
	};
	const char *feat[] = { F_INFO, F_ITEMS, F_MUC, F_CAPS };
	char ver[29];

	caps_ver(ids, 1, feat, 4, NULL, 0, ver);
	CU_ASSERT_STRING_EQUAL(ver, "QgayPKawpkPSDYmwT/WM94uAlu0=");
}

/* Without the caps feature the hash differs: the gotcha the notes record. */
static void
test_vector_simple_without_caps_feature(void)
{
	struct ir_identity ids[1] = {
		identity("client", "pc", NULL, "Exodus 0.9.1"),
	};
	const char *feat[] = { F_INFO, F_ITEMS, F_MUC };
	char ver[29];

	caps_ver(ids, 1, feat, 3, NULL, 0, ver);
	CU_ASSERT_STRING_EQUAL(ver, "SrFo9ar2CCk2EnOH4q4QANeuxLQ=");
}

/*
 * §5.3, given deliberately out of order (en before el, features and
 * fields and values shuffled) so that every sort is exercised.  "Psi 0.11"
 * has an ordinary space; Ψ is U+03A8.
 */
static void
test_vector_complex(void)
{
	struct ir_identity ids[2] = {
		identity("client", "pc", "en", "Psi 0.11"),
		identity("client", "pc", "el", "\xce\xa8 0.11"),
	};
	const char *feat[] = { F_MUC, F_ITEMS, F_CAPS, F_INFO };
	const char *ipv[] = { "ipv6", "ipv4" };
	const char *os[] = { "Mac" };
	const char *osv[] = { "10.5.1" };
	const char *sw[] = { "Psi" };
	const char *swv[] = { "0.11" };
	const char *ft[] = { "urn:xmpp:dataforms:softwareinfo" };
	struct caps_form_field fields[] = {
		{ "software_version", swv, 1 },
		{ "os", os, 1 },
		{ "FORM_TYPE", ft, 1 },
		{ "ip_version", ipv, 2 },
		{ "software", sw, 1 },
		{ "os_version", osv, 1 },
	};
	struct caps_form form = {
		"urn:xmpp:dataforms:softwareinfo", fields,
		sizeof fields / sizeof fields[0],
	};
	char ver[29];

	caps_ver(ids, 2, feat, 4, &form, 1, ver);
	CU_ASSERT_STRING_EQUAL(ver, "q07IKJEyjvHSyhy//CH0CxmKi8w=");
	/* Inputs are not reordered. */
	CU_ASSERT_STRING_EQUAL(ids[0].lang.s, "en");
	CU_ASSERT_STRING_EQUAL(feat[0], F_MUC);
	CU_ASSERT_STRING_EQUAL(fields[0].var, "software_version");
	CU_ASSERT_STRING_EQUAL(ipv[0], "ipv6");
}

/* A non-breaking space (as the XEP's HTML shows it) gives another hash. */
static void
test_vector_complex_nbsp_differs(void)
{
	struct ir_identity ids[2] = {
		identity("client", "pc", "en", "Psi\xc2\xa0" "0.11"),
		identity("client", "pc", "el", "\xce\xa8\xc2\xa0" "0.11"),
	};
	const char *feat[] = { F_CAPS, F_INFO, F_ITEMS, F_MUC };
	char ver[29];

	caps_ver(ids, 2, feat, 4, NULL, 0, ver);
	CU_ASSERT_STRING_NOT_EQUAL(ver, "q07IKJEyjvHSyhy//CH0CxmKi8w=");
	CU_ASSERT_EQUAL(strlen(ver), 28);
}

/* Two forms: sorted by FORM_TYPE regardless of input order. */
static void
test_forms_sorted(void)
{
	struct ir_identity ids[1] = { identity("a", "b", NULL, NULL) };
	const char *v1[] = { "1" }, *v2[] = { "2" };
	struct caps_form_field f1[] = { { "x", v1, 1 } };
	struct caps_form_field f2[] = { { "y", v2, 1 } };
	struct caps_form ab[2] = { { "urn:a", f1, 1 }, { "urn:b", f2, 1 } };
	struct caps_form ba[2] = { { "urn:b", f2, 1 }, { "urn:a", f1, 1 } };
	char x[29], y[29];

	caps_ver(ids, 1, NULL, 0, ab, 2, x);
	caps_ver(ids, 1, NULL, 0, ba, 2, y);
	CU_ASSERT_STRING_EQUAL(x, y);
	/* And the forms count: without them the hash changes. */
	caps_ver(ids, 1, NULL, 0, NULL, 0, y);
	CU_ASSERT_STRING_NOT_EQUAL(x, y);
}

UNIT_SUITE(caps)
{
	UNIT_TEST(suite, test_vector_simple);
	UNIT_TEST(suite, test_vector_simple_without_caps_feature);
	UNIT_TEST(suite, test_vector_complex);
	UNIT_TEST(suite, test_vector_complex_nbsp_differs);
	UNIT_TEST(suite, test_forms_sorted);
}
