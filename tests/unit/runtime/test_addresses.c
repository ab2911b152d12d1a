/*
 * test_addresses.c — the address check on stanzas of a real component
 * (stanza_addresses_ok, runtime/stanza.c, on runtime/jid.c): what would
 * make Prosody or ejabberd close the component's whole stream with
 * invalid-from must be refused here, one stanza at a time, with the right
 * stanza error; everything a server accepts must pass.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "stanza.h"
#include "../unit.h"
#include "xmlstream.h"

#define D "pubsub.example.test"

/* Runs the check on a message with that from and to (either may be NULL)
 * and returns whether it passed; the condition is copied to cond. */
static bool
check(const char *from, const char *to, char *cond, size_t condsz,
    struct vbuf *text)
{
	struct xs_stanza st = {
		.name = "message", .ns = "jabber:component:accept",
		.from = from, .to = to, .text = "",
	};
	const char *etype = NULL, *c = NULL;
	bool ok;

	vbuf_clear(text);
	ok = stanza_addresses_ok(&st, D, strlen(D), &etype, &c, text);
	snprintf(cond, condsz, "%s/%s", etype ? etype : "",
	    c ? c : "");
	if (!ok)
		vbuf_addch(text, '\0');
	return ok;
}

static void
expect_ok(const char *from, const char *to)
{
	struct vbuf t = { 0 };
	char cond[64];

	if (!check(from, to, cond, sizeof cond, &t))
		fprintf(stderr, "\n  from '%s' to '%s' refused: %s (%s)\n",
		    from ? from : "(none)", to ? to : "(none)", cond, t.p);
	CU_ASSERT_TRUE(check(from, to, cond, sizeof cond, &t));
	vbuf_free(&t);
}

static void
expect_bad(const char *from, const char *to, const char *want_cond,
    const char *want_text)
{
	struct vbuf t = { 0 };
	char cond[64];
	bool ok = check(from, to, cond, sizeof cond, &t);

	CU_ASSERT_FALSE(ok);
	CU_ASSERT_STRING_EQUAL(cond, want_cond);
	if (!ok && want_text != NULL && strcmp(t.p, want_text) != 0) {
		fprintf(stderr, "\n  text '%s', want '%s'\n", t.p, want_text);
		CU_FAIL("text");
	}
	vbuf_free(&t);
}

/* The three JIDs of the issue: each made Prosody close the upstream. */
static void
test_issue_cases(void)
{
	expect_bad("@" D, "alice@example.test/r", "modify/jid-malformed",
	    "from '@" D "' is not a valid JID: localpart is empty");
	expect_bad("room@" D "/", "alice@example.test/r",
	    "modify/jid-malformed",
	    "from 'room@" D "/' is not a valid JID: resourcepart is empty");
	expect_bad(D "/", "alice@example.test/r", "modify/jid-malformed",
	    "from '" D "/' is not a valid JID: resourcepart is empty");
}

static void
test_malformed_from(void)
{
	char big[1100];

	expect_bad("", NULL, "modify/jid-malformed", NULL);
	expect_bad("@", NULL, "modify/jid-malformed", NULL);
	expect_bad("room@@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a:b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a<b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a'b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a\"b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a&b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("a\x7f" "b@" D, NULL, "modify/jid-malformed", NULL);
	expect_bad("room@" D "/\x01", NULL, "modify/jid-malformed", NULL);
	expect_bad("room@" D "/a\xc2\x85" "b", NULL, "modify/jid-malformed",
	    NULL);                      /* C1 control NEL */
	expect_bad("room@" D "/\xef\xbf\xbf", NULL, "modify/jid-malformed",
	    NULL);                      /* noncharacter U+FFFF */
	/* Domain labels: empty, trailing dot, hyphens, bad characters. */
	expect_bad("room@pubsub..example.test", NULL, "modify/jid-malformed",
	    NULL);
	expect_bad("room@" D ".", NULL, "modify/jid-malformed", NULL);
	expect_bad("room@-pubsub.example.test", NULL, "modify/jid-malformed",
	    NULL);
	expect_bad("room@pubsub-.example.test", NULL, "modify/jid-malformed",
	    NULL);
	expect_bad("room@pub_sub.example.test", NULL, "modify/jid-malformed",
	    NULL);
	/* Lengths: a localpart of 1024 octets; a label of 64. */
	memset(big, 'a', 1024);
	snprintf(big + 1024, sizeof big - 1024, "@" D);
	expect_bad(big, NULL, "modify/jid-malformed",
	    NULL);
	memset(big, 'b', 64);
	snprintf(big + 64, sizeof big - 64, "." D);
	expect_bad(big, NULL, "modify/jid-malformed", NULL);
	/* 1023 octets is still fine. */
	memset(big, 'a', 1023);
	snprintf(big + 1023, sizeof big - 1023, "@" D);
	expect_ok(big, NULL);
}

static void
test_malformed_to(void)
{
	expect_bad(D, "@example.test", "modify/jid-malformed",
	    "to '@example.test' is not a valid JID: localpart is empty");
	expect_bad(D, "alice@example.test/", "modify/jid-malformed", NULL);
	expect_bad(D, "example.test/", "modify/jid-malformed", NULL);
	expect_bad(D, "alice@", "modify/jid-malformed", NULL);
	expect_bad(D, "", "modify/jid-malformed", NULL);
	expect_bad(D, "alice@exa mple.test", "modify/jid-malformed", NULL);
	/* A bad from is reported before a bad to. */
	expect_bad("@" D, "@example.test", "modify/jid-malformed",
	    "from '@" D "' is not a valid JID: localpart is empty");
}

static void
test_outside_domain(void)
{
	expect_bad("room@example.test", NULL, "cancel/not-allowed",
	    "from 'room@example.test' is not in domain " D);
	expect_bad("x." D, NULL, "cancel/not-allowed", NULL);
	expect_bad(D ".evil", NULL, "cancel/not-allowed", NULL);
}

static void
test_good(void)
{
	expect_ok(NULL, NULL);
	expect_ok(NULL, "alice@example.test/r");
	expect_ok(D, "alice@example.test/r");
	expect_ok("PubSub.Example.Test", "alice@example.test");
	expect_ok("room@" D, "example.test");
	expect_ok("room@" D "/nick with spaces @ and / too", "[::1]");
	expect_ok("r\xc3\xa9union@" D "/\xe2\x98\x83", "alice@127.0.0.1/r");
	expect_ok(D "/component", "alice@xn--bcher-kva.example/r");
	/* 22 times U+65E5: 66 octets of UTF-8 in one label, but an A-label
	 * (what the DNS limit of 63 applies to) of 28; Prosody accepts it. */
	expect_ok(D, "alice@\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
	    "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
	    "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
	    "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5"
	    "\xe6\x97\xa5\xe6\x97\xa5\xe6\x97\xa5.example/r");
}

UNIT_SUITE(runtime_addresses)
{
	UNIT_TEST(suite, test_issue_cases);
	UNIT_TEST(suite, test_malformed_from);
	UNIT_TEST(suite, test_malformed_to);
	UNIT_TEST(suite, test_outside_domain);
	UNIT_TEST(suite, test_good);
}
