/*
 * fuzz_http.c — libFuzzer target for the stats listener's request parser
 * (runtime/http.c).
 *
 * Input: what a client sent.  Oracles, each an abort():
 *   - http_head_end finds the first end of a head: a prefix one byte
 *     shorter has none, and the head ends with "\n\n" or "\n\r\n";
 *   - http_parse of the head returns 0, 400 or 505, and the same on a
 *     second copy (no state);
 *   - a served request has a non-empty token method, a non-empty path
 *     without space, control character or '?', and HTTP/1.1 implies Host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define MAX_HEAD	8192

static bool
is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != 0 &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[MAX_HEAD], b[MAX_HEAD];
	struct http_request ra, rb;
	size_t n;
	int sa, sb;

	if (size > MAX_HEAD)
		size = MAX_HEAD;
	n = http_head_end((const char *)data, size);
	if (n == 0)
		return 0;
	if (n > size || n < 2 || data[n - 1] != '\n' ||
	    http_head_end((const char *)data, n - 1) != 0)
		abort();
	if (!(data[n - 2] == '\n' || (n >= 3 && data[n - 2] == '\r' &&
	    data[n - 3] == '\n')))
		abort();
	memcpy(a, data, n);
	memcpy(b, data, n);
	sa = http_parse(a, n, &ra);
	sb = http_parse(b, n, &rb);
	if (sa != sb || (sa != 0 && sa != 400 && sa != 505))
		abort();
	if (sa != 0)
		return 0;
	if (ra.method == NULL || ra.path == NULL || ra.method[0] == '\0' ||
	    ra.path[0] == '\0' || strchr(ra.path, '?') != NULL)
		abort();
	for (const char *p = ra.method; *p != '\0'; p++)
		if (!is_tchar((unsigned char)*p))
			abort();
	for (const char *p = ra.path; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			abort();
	if (ra.http11 && !ra.has_host)
		abort();
	if (strcmp(ra.method, rb.method) != 0 || strcmp(ra.path, rb.path) != 0)
		abort();
	return 0;
}
