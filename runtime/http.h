/*
 * http.h — the request side of the stats listener's HTTP/1.1 (RFC 9112),
 * as pure functions on a buffer: no sockets, testable and fuzzable alone.
 *
 * Only what a read-only endpoint needs: finding the end of the request
 * head, and parsing its request line and header fields strictly enough to
 * answer malformed requests with 400 (RFC 9112 says a server must, e.g.
 * for whitespace before a field's colon or an HTTP/1.1 request without
 * Host).  The body, if any, is never read.
 */
#ifndef VCOMP_HTTP_H
#define VCOMP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct http_request {
	const char *method;     /* "GET"; points into the parsed buffer */
	const char *path;       /* the target without its query: "/metrics" */
	bool http11;            /* HTTP/1.1 (else 1.0) */
	bool has_host;
};

/*
 * The length of the request head in p[0..n) including the empty line that
 * ends it ("\r\n\r\n", or bare "\n\n" as RFC 9112 2.2 lets a recipient
 * accept), or 0 when the head is not complete yet.
 */
size_t http_head_end(const char *p, size_t n);

/*
 * Parses the head p[0..n) (n from http_head_end; p is modified: lines and
 * the request line's parts are NUL-terminated in place) into *req.
 * Returns 0 for a request to serve, 400 for a malformed one, 505 for an
 * HTTP major version other than 1.  req's strings point into p.
 */
int http_parse(char *p, size_t n, struct http_request *req);

#endif
