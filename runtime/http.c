/*
 * http.c — finding and parsing an HTTP/1.1 request head (see http.h).
 *
 * The grammar checked (RFC 9112 3 and 5, RFC 9110 5.6.2):
 *   request-line = method SP request-target SP HTTP-version
 *   method       = token
 *   target       = no control character, space or DEL (origin-form is
 *                  not required: a client may send absolute-form)
 *   HTTP-version = "HTTP/" DIGIT "." DIGIT
 *   field-line   = field-name ":" OWS field-value OWS
 *   field-name   = token (so no whitespace before the colon)
 * Lines end with CRLF or a bare LF; a line starting with whitespace
 * (obsolete line folding) is rejected, as is a second Host field.
 */
#include <string.h>
#include <strings.h>

#include "http.h"

/* A token character (RFC 9110 5.6.2). */
static bool
tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

size_t
http_head_end(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (i + 1 < n && p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Cuts the line starting at p (within end) at its LF, dropping a CR
 * before it; returns the start of the next line, or NULL if no LF. */
static char *
cut_line(char *p, char *end)
{
	char *eol = memchr(p, '\n', (size_t)(end - p));

	if (eol == NULL)
		return NULL;
	*eol = '\0';
	if (eol > p && eol[-1] == '\r')
		eol[-1] = '\0';
	return eol + 1;
}

int
http_parse(char *p, size_t n, struct http_request *req)
{
	char *end = p + n, *next, *sp1, *sp2, *version, *q;

	memset(req, 0, sizeof *req);
	/* A NUL byte is no part of any HTTP element. */
	if (memchr(p, '\0', n) != NULL)
		return 400;
	if ((next = cut_line(p, end)) == NULL)
		return 400;
	/* Exactly two spaces; the line holds no NUL of its own. */
	if (strlen(p) != strcspn(p, "\r") || (sp1 = strchr(p, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL || strchr(sp2 + 1, ' '))
		return 400;
	*sp1 = *sp2 = '\0';
	req->method = p;
	req->path = sp1 + 1;
	version = sp2 + 1;
	if (*req->method == '\0' || *req->path == '\0')
		return 400;
	for (q = p; *q != '\0'; q++)
		if (!tchar((unsigned char)*q))
			return 400;
	for (q = sp1 + 1; *q != '\0'; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return 400;
	if (strlen(version) != 8 || strncmp(version, "HTTP/", 5) != 0 ||
	    version[5] < '0' || version[5] > '9' || version[6] != '.' ||
	    version[7] < '0' || version[7] > '9')
		return 400;
	if (version[5] != '1')
		return 505;
	req->http11 = version[7] != '0';
	for (p = next; p < end; p = next) {
		if ((next = cut_line(p, end)) == NULL)
			return 400;
		if (*p == '\0')
			break;
		/* Obsolete line folding, or a stray CR. */
		if (*p == ' ' || *p == '\t' || strlen(p) != strcspn(p, "\r"))
			return 400;
		for (q = p; *q != ':' && *q != '\0'; q++)
			if (!tchar((unsigned char)*q))
				return 400;
		if (*q != ':' || q == p)
			return 400;
		if (q - p == 4 && strncasecmp(p, "host", 4) == 0) {
			if (req->has_host)
				return 400;
			req->has_host = true;
		}
	}
	/* RFC 9112 3.2: an HTTP/1.1 request without Host gets a 400. */
	if (req->http11 && !req->has_host)
		return 400;
	/* A target that is only a query ("?x") has no path: no form of
	 * request-target (RFC 9112 3.2) starts with '?'. */
	if ((q = strchr(sp1 + 1, '?')) != NULL)
		*q = '\0';
	if (*req->path == '\0')
		return 400;
	return 0;
}
