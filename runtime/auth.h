/*
 * auth.h — the cryptography of XEP-0114 handshakes and of peer links.
 * Built on nettle.  No allocation, no global state except the kernel's
 * random source.
 */
#ifndef VCOMP_AUTH_H
#define VCOMP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XEP0114_HEX_LEN	40	/* Fills p with n bytes from getrandom(2); aborts if the kernel has none
 * to give (stream ids, nonces and hash keys must not be guessable). */
void random_bytes(void *p, size_t n);

/* hex digits of a SHA-1 handshake */
#define STREAM_ID_LEN	32	/* hex digits of random_stream_id() */

/*
 * The XEP-0114 handshake value: lowercase hex SHA-1 of the bytes of sid
 * followed by the bytes of secret (no escaping, XEP-0114 v1.6).  out gets
 * 40 digits and a NUL.
 */
void xep0114_handshake(const char *sid, const char *secret, char out[41]);

/*
 * Does given (the text of a <handshake/>) match sid and secret?  Hex digits
 * compare case-insensitively, as Prosody does.  The comparison takes the
 * same time whatever the content of given; only its length can show.
 * given NULL is false.
 */
bool xep0114_verify(const char *sid, const char *secret, const char *given);

/*
 * An unpredictable stream id: 128 bits from getrandom(2) in lowercase hex,
 * 32 digits and a NUL.  Aborts if the kernel's random source is unusable,
 * because a guessable id would weaken the handshake.
 */
void random_stream_id(char out[33]);

/* HMAC-SHA-256 of msg under key, for peer-link authentication. */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
    uint8_t out[32]);

/* Are a[0..n) and b[0..n) equal?  Takes time depending on n only. */
bool ct_equal(const void *a, const void *b, size_t n);

#endif /* VCOMP_AUTH_H */
