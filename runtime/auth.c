/*
 * auth.c — XEP-0114 handshake, stream ids and HMAC (auth.h), on nettle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <nettle/hmac.h>
#include <nettle/sha1.h>

#include "auth.h"

static void
hex_lower(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
xep0114_handshake(const char *sid, const char *secret, char out[41])
{
	struct sha1_ctx ctx;
	uint8_t d[SHA1_DIGEST_SIZE];

	sha1_init(&ctx);
	sha1_update(&ctx, strlen(sid), (const uint8_t *)sid);
	sha1_update(&ctx, strlen(secret), (const uint8_t *)secret);
	sha1_digest(&ctx, sizeof d, d);
	hex_lower(d, sizeof d, out);
}

bool
xep0114_verify(const char *sid, const char *secret, const char *given)
{
	char want[XEP0114_HEX_LEN + 1];
	size_t glen;
	unsigned diff;

	if (given == NULL)
		return false;
	xep0114_handshake(sid, secret, want);
	glen = strlen(given);
	/* Every position is compared whatever came before; the only branch
	 * depends on the length of given, which is not secret.  Upper-case
	 * letters are folded without a data-dependent branch. */
	diff = glen != XEP0114_HEX_LEN;
	for (size_t i = 0; i < XEP0114_HEX_LEN; i++) {
		unsigned c = i < glen ? (unsigned char)given[i] : 0;
		unsigned upper = (c - 'A') < 26u;

		c |= upper << 5;
		diff |= c ^ (unsigned char)want[i];
	}
	return diff == 0;
}

void
random_bytes(void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom((char *)p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* No randomness means no safe stream id, nonce or
			 * hash key: nothing sensible is left to do. */
			perror("vcomp: getrandom");
			abort();
		}
		got += (size_t)r;
	}
}

void
random_stream_id(char out[33])
{
	uint8_t r[16];

	random_bytes(r, sizeof r);
	hex_lower(r, sizeof r, out);
}

void
hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[32])
{
	struct hmac_sha256_ctx ctx;

	hmac_sha256_set_key(&ctx, klen, key);
	hmac_sha256_update(&ctx, mlen, msg);
	hmac_sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

bool
ct_equal(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
