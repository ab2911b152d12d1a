/*
 * test_http.c — the stats listener's request parser (runtime/http.c):
 * where a head ends, and which heads are served, 400 or 505.
 */
#include <string.h>

#include "http.h"
#include "../unit.h"

/* Parses the NUL-terminated head s (copied: http_parse cuts it). */
static int
parse(const char *s, struct http_request *req)
{
	static char buf[1024];
	size_t n = strlen(s);

	CU_ASSERT_FATAL(n < sizeof buf);
	memcpy(buf, s, n + 1);
	return http_parse(buf, n, req);
}

static void
test_http_head_end(void)
{
	CU_ASSERT_EQUAL(http_head_end("GET / HTTP/1.0\r\n\r\n", 18), 18);
	CU_ASSERT_EQUAL(http_head_end("GET / HTTP/1.0\n\n", 16), 16);
	CU_ASSERT_EQUAL(http_head_end("GET / HTTP/1.0\r\n\r\nbody", 22), 18);
	CU_ASSERT_EQUAL(http_head_end("GET / HTTP/1.0\r\n\r", 17), 0);
	CU_ASSERT_EQUAL(http_head_end("GET / HTTP/1.0\r\nHost: x\r\n", 25), 0);
	CU_ASSERT_EQUAL(http_head_end("", 0), 0);
}

static void
test_http_served(void)
{
	struct http_request r;

	CU_ASSERT_EQUAL(parse("GET /metrics HTTP/1.1\r\nHost: a\r\n"
	    "Accept: */*\r\n\r\n", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.method, "GET");
	CU_ASSERT_STRING_EQUAL(r.path, "/metrics");
	CU_ASSERT(r.http11 && r.has_host);
	/* The query is not part of the path; HTTP/1.0 needs no Host. */
	CU_ASSERT_EQUAL(parse("HEAD /health?x=1 HTTP/1.0\n\n", &r), 0);
	CU_ASSERT_STRING_EQUAL(r.method, "HEAD");
	CU_ASSERT_STRING_EQUAL(r.path, "/health");
	CU_ASSERT(!r.http11);
	/* Any token is a method (405 is the caller's answer), field names
	 * are case-insensitive, values may be empty. */
	CU_ASSERT_EQUAL(parse("PROPFIND / HTTP/1.1\r\nhOsT:\r\nX-A: \r\n\r\n",
	    &r), 0);
	CU_ASSERT_STRING_EQUAL(r.method, "PROPFIND");
}

static void
test_http_rejected(void)
{
	static const char *const bad[] = {
		"\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET  /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\nHost: a\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n\r\n",                 /* no Host */
		"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n",
		"G(T /metrics HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /metrics HTTP/1.10\r\nHost: a\r\n\r\n",
		"GET /metrics http/1.1\r\nHost: a\r\n\r\n",
		"GET /metrics HTTP/1.1\rX\r\nHost: a\r\n\r\n",
		"GET ?h HTTP/1.0\n\n",     /* only a query (found by fuzz_http) */
	};
	struct http_request r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int st = parse(bad[i], &r);

		if (st != 400)
			fprintf(stderr, "\n  not a 400 (%d): %s", st, bad[i]);
		CU_ASSERT_EQUAL(st, 400);
	}
	CU_ASSERT_EQUAL(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &r), 505);
	CU_ASSERT_EQUAL(parse("GET / HTTP/0.9\r\n\r\n", &r), 505);
	{
		/* A NUL inside the head. */
		char nul[] = "GET /m HTTP/1.0\r\nX: a\0b\r\n\r\n";

		CU_ASSERT_EQUAL(http_parse(nul, sizeof nul - 1, &r), 400);
	}
}

UNIT_SUITE(runtime_http)
{
	UNIT_TEST(suite, test_http_head_end);
	UNIT_TEST(suite, test_http_served);
	UNIT_TEST(suite, test_http_rejected);
}
