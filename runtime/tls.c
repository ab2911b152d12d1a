/*
 * tls.c — the peer link's secure channel: TLS 1.2 with
 * TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 (RFC 5489, RFC 7905), from
 * mbedTLS, as a transport filter under the link's frames
 * (docs/peer-protocol.md, "Encryption").
 *
 * Place.  conn.c reads ciphertext and hands it to tls_input(), which runs
 * the handshake (non-blocking: whatever arrived is fed to mbedTLS, which
 * answers WANT_READ until a whole flight is there) and then decrypts every
 * whole record, passing the plaintext to the link's own input function
 * (peer.c's frame decoder).  Frames the link sends are staged by
 * conn_send() in plaintext; right before conn.c writes, tls_seal() turns
 * everything staged into records (one record per 16 KiB, however many
 * frames that holds) and queues them with conn_send_wire().  Before the
 * handshake has finished, staged frames simply wait.  peer.c only calls
 * tls_init()/tls_free_all() once, tls_attach() per link, tls_start() when
 * a dialled link connects, and tls_peer_node() to match the HELLO.
 *
 * Keys.  No certificates: both sides hold the cluster secret, and the
 * pre-shared key is HKDF-SHA-256 of it (RFC 5869: salt TLS_SALT, info
 * TLS_INFO, TLS_KEY_LEN bytes), so the PSK is never the secret itself
 * and is bound to this use.  Every handshake is a full ECDHE exchange (X25519, else
 * P-256): the session keys depend on fresh ephemeral keys, so a secret
 * stolen later does not decrypt a recorded link (forward secrecy), and a
 * replayed handshake fails at the Finished messages because the other
 * side's random and key share are new.  There is no session cache and no
 * ticket, so there is no resumption, and no renegotiation.
 *
 * The dialler's PSK identity is "vcomp-peer-1 NODE KEYID": its node name
 * and the key id of the secret it proves with (the first of a rotation
 * list), 16 hex digits of HKDF of that secret with info "key id".  The
 * acceptor refuses an identity that names no other node of its table, and
 * picks, among the secrets it accepts (the cluster secret and, during a
 * rotation, the older ones), the one with that key id; an identity with no
 * key id gets the first.  TLS 1.2 fixes the PSK before the Finished
 * messages, so the key id is what lets one handshake succeed whichever of
 * the acceptor's secrets the dialler holds.  peer.c checks that the HELLO
 * inside the channel names the same node.
 *
 * Ownership: the two configurations and the PSKs are this file's, from
 * tls_init() to tls_free_all() (the PSKs are wiped).  A struct tls belongs
 * to its connection (c->fctx) and is freed by conn.c's reaper through
 * tls_free().
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl.h>
#include <nettle/hkdf.h>
#include <nettle/hmac.h>

#include "auth.h"
#include "vcrt.h"

/* HKDF salt and info of the PSK: a key derived for anything else (or for
 * another version of this channel) is never the same. */
#define TLS_SALT	"vcomp peer link tls 1"
#define TLS_INFO	"psk"
/* The PSK identity: this prefix, a space, the dialler's node name, then
 * a space and the key id (TLS_KID_LEN bytes in hex). */
#define TLS_ID_PREFIX	"vcomp-peer-1 "
#define TLS_KID_INFO	"key id"
#define TLS_KID_LEN	8
#define TLS_KID_HEX	(2 * TLS_KID_LEN)

struct tls {
	mbedtls_ssl_context ssl;
	struct conn *conn;
	/* The ciphertext conn.c just read, while tls_input() runs: bio_recv
	 * serves mbedTLS straight from it (mbedTLS keeps an unfinished
	 * record in its own input buffer), so it is never copied here. */
	const unsigned char *rp;
	size_t rn;
	bool client;
	bool up;                    /* handshake finished */
	int peer_node;              /* acceptor: node its PSK identity named */
};

static const int suites[] = {
	MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, 0
};
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE
};

static mbedtls_ssl_config client_conf, server_conf;
static bool configured;
/* The PSK and key id of every secret this node accepts; keys[0] is the
 * one it proves with. */
struct tls_key {
	uint8_t psk[TLS_KEY_LEN];
	char kid[TLS_KID_HEX + 1];
};
static struct tls_key *keys;
static size_t nkeys;

static const char *identity_kid(const char *id, size_t *len);
static void tls_input(struct conn *c, const char *p, size_t n);
static void tls_seal(struct conn *c);
static void tls_free(void *fctx);

static const struct conn_filter tls_filter = {
	.input = tls_input,
	.seal = tls_seal,
	.free = tls_free,
};

/* mbedTLS's random source: the kernel's, as everywhere in the runtime. */
static int
tls_random(void *arg, unsigned char *p, size_t n)
{
	random_bytes(p, n);
	return 0;
}

/* The few errors a peer link meets, in words; the rest by number. */
static const char *
tls_error(int r, char *buf, size_t len)
{
	switch (r) {
	case MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY:
		return "unknown PSK identity";
	case MBEDTLS_ERR_SSL_BAD_HS_FINISHED:
		return "handshake not verified (not the same cluster secret, "
		    "or a replayed or altered handshake)";
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		return "record failed authentication (altered on the way?)";
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		return "the peer sent a fatal alert (it refused the handshake "
		    "or a record)";
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
		return "no cipher suite in common (the peer runs without "
		    "encryption?)";
	case MBEDTLS_ERR_SSL_INVALID_RECORD:
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
		return "not a TLS 1.2 record (the peer runs without "
		    "encryption?)";
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		return "closed by the peer";
	default:
		snprintf(buf, len, "mbedTLS error -0x%04x", (unsigned)-r);
		return buf;
	}
}

/* ------------------------------------------------------- set-up */

/*
 * Called by mbedTLS on the acceptor with the dialler's PSK identity, in
 * the clear and before anything is authenticated: the PSK of the accepted
 * secret its key id names (the first when it names none), else refused.
 */
static int
psk_lookup(void *arg, mbedtls_ssl_context *ssl, const unsigned char *id,
    size_t len)
{
	/* ssl is embedded in its struct tls (tls_attach). */
	struct tls *t = (struct tls *)((char *)ssl -
	    offsetof(struct tls, ssl));
	int node = tls_identity_node((const char *)id, len);
	const char *kid = identity_kid((const char *)id, &len);

	if (node < 0 || nkeys == 0)
		return -1;
	t->peer_node = node;
	for (size_t i = 0; i < nkeys; i++)
		if (kid == NULL ? i == 0 :
		    memcmp(keys[i].kid, kid, TLS_KID_HEX) == 0)
			return mbedtls_ssl_set_hs_psk(ssl, keys[i].psk,
			    TLS_KEY_LEN);
	return -1;
}

/* The key id at the end of an identity (" " and TLS_KID_HEX lowercase
 * hex digits), with *len shortened to what precedes it; NULL (and *len
 * unchanged) when there is none. */
static const char *
identity_kid(const char *id, size_t *len)
{
	size_t n = *len;

	if (n < TLS_KID_HEX + 1 || id[n - TLS_KID_HEX - 1] != ' ')
		return NULL;
	for (size_t i = n - TLS_KID_HEX; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f')))
			return NULL;
	*len = n - TLS_KID_HEX - 1;
	return id + *len + 1;
}

int
tls_identity_node(const char *id, size_t len)
{
	size_t pl = sizeof TLS_ID_PREFIX - 1;

	(void)identity_kid(id, &len);
	if (len <= pl || memcmp(id, TLS_ID_PREFIX, pl) != 0)
		return -1;
	id += pl;
	len -= pl;
	for (uint16_t i = 0; i < table->nnodes; i++)
		if (i != table->self && strlen(table->nodes[i].name) == len &&
		    memcmp(table->nodes[i].name, id, len) == 0)
			return i;
	return -1;
}

/* HKDF-SHA-256 of secret with this file's salt and the given info. */
static void
derive(const char *secret, size_t len, const char *info, uint8_t *out,
    size_t outlen)
{
	struct hmac_sha256_ctx ctx;
	uint8_t prk[SHA256_DIGEST_SIZE];

	hmac_sha256_set_key(&ctx, sizeof TLS_SALT - 1,
	    (const uint8_t *)TLS_SALT);
	hkdf_extract(&ctx, (nettle_hash_update_func *)hmac_sha256_update,
	    (nettle_hash_digest_func *)hmac_sha256_digest,
	    SHA256_DIGEST_SIZE, len, (const uint8_t *)secret, prk);
	hmac_sha256_set_key(&ctx, sizeof prk, prk);
	hkdf_expand(&ctx, (nettle_hash_update_func *)hmac_sha256_update,
	    (nettle_hash_digest_func *)hmac_sha256_digest,
	    SHA256_DIGEST_SIZE, strlen(info), (const uint8_t *)info,
	    outlen, out);
	explicit_bzero(prk, sizeof prk);
	explicit_bzero(&ctx, sizeof ctx);
}

void
tls_derive_psk(const char *secret, size_t len, uint8_t out[TLS_KEY_LEN])
{
	derive(secret, len, TLS_INFO, out, TLS_KEY_LEN);
}

/* The key id of a secret, in hex: names the secret in the clear without
 * telling anything about it or its PSK (another HKDF output). */
static void
derive_kid(const char *secret, size_t len, char out[TLS_KID_HEX + 1])
{
	uint8_t kid[TLS_KID_LEN];

	derive(secret, len, TLS_KID_INFO, kid, sizeof kid);
	for (size_t i = 0; i < TLS_KID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", kid[i]);
}

static int
conf_common(mbedtls_ssl_config *conf, int endpoint)
{
	int r = mbedtls_ssl_config_defaults(conf, endpoint,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);

	if (r != 0)
		return r;
	mbedtls_ssl_conf_rng(conf, tls_random, NULL);
	mbedtls_ssl_conf_ciphersuites(conf, suites);
	mbedtls_ssl_conf_curves(conf, curves);
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_extended_master_secret(conf,
	    MBEDTLS_SSL_EXTENDED_MS_ENABLED);
	return 0;
}

int
tls_init(const char *secret, char *const *accept, size_t naccept)
{
	char id[sizeof TLS_ID_PREFIX + 256 + TLS_KID_HEX + 1], eb[40];
	int r;

	nkeys = 1 + naccept;
	keys = xcalloc(nkeys, sizeof *keys);
	for (size_t i = 0; i < nkeys; i++) {
		const char *k = i == 0 ? secret : accept[i - 1];

		tls_derive_psk(k, strlen(k), keys[i].psk);
		derive_kid(k, strlen(k), keys[i].kid);
	}
	snprintf(id, sizeof id, "%s%s %s", TLS_ID_PREFIX,
	    table->nodes[table->self].name, keys[0].kid);
	mbedtls_ssl_config_init(&client_conf);
	mbedtls_ssl_config_init(&server_conf);
	configured = true;
	if ((r = conf_common(&client_conf, MBEDTLS_SSL_IS_CLIENT)) != 0 ||
	    (r = conf_common(&server_conf, MBEDTLS_SSL_IS_SERVER)) != 0 ||
	    (r = mbedtls_ssl_conf_psk(&client_conf, keys[0].psk, TLS_KEY_LEN,
	    (const unsigned char *)id, strlen(id))) != 0) {
		vlog(VL_ERR, "peer links: cannot set up TLS: %s",
		    tls_error(r, eb, sizeof eb));
		return -1;
	}
	/* Every handshake is a full one: no tickets, no session cache. */
	mbedtls_ssl_conf_session_tickets(&client_conf,
	    MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
	mbedtls_ssl_conf_psk_cb(&server_conf, psk_lookup, NULL);
	return 0;
}

void
tls_free_all(void)
{
	if (!configured)
		return;
	/* mbedtls_ssl_config_free() wipes the copy of the PSK it holds. */
	mbedtls_ssl_config_free(&client_conf);
	mbedtls_ssl_config_free(&server_conf);
	explicit_bzero(keys, nkeys * sizeof *keys);
	free(keys);
	keys = NULL;
	nkeys = 0;
	configured = false;
}

/* ------------------------------------------------------- the filter */

static int
bio_send(void *arg, const unsigned char *p, size_t n)
{
	struct tls *t = arg;

	/* conn.c buffers everything (its cap is enforced above, on the
	 * plaintext), so a write never blocks here. */
	conn_send_wire(t->conn, p, n);
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* mbedTLS asks for exactly what it still needs (a record header, then
 * the rest of the record) and keeps what it got across WANT_READ, so the
 * bytes read are consumed in full by the time it answers WANT_READ. */
static int
bio_recv(void *arg, unsigned char *p, size_t n)
{
	struct tls *t = arg;

	if (t->rn == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > t->rn)
		n = t->rn;
	if (n > INT32_MAX)
		n = INT32_MAX;
	memcpy(p, t->rp, n);
	t->rp += n;
	t->rn -= n;
	return (int)n;
}

void
tls_attach(struct conn *c, bool client)
{
	struct tls *t = calloc(1, sizeof *t);
	char eb[40];
	int r;

	if (t == NULL)
		vfatal("out of memory (tls)");
	t->conn = c;
	t->client = client;
	t->peer_node = -1;
	mbedtls_ssl_init(&t->ssl);
	if ((r = mbedtls_ssl_setup(&t->ssl, client ? &client_conf :
	    &server_conf)) != 0)
		vfatal("tls: %s", tls_error(r, eb, sizeof eb));
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
	c->filter = &tls_filter;
	c->fctx = t;
}

int
tls_peer_node(const struct conn *c)
{
	const struct tls *t = c->fctx;

	return c->filter == &tls_filter && t->up ? t->peer_node : -1;
}

/* Runs the handshake as far as the bytes at hand allow.  Returns false
 * when it failed (the connection is closed). */
static bool
handshake(struct tls *t)
{
	char why[160], eb[40];
	int r = mbedtls_ssl_handshake(&t->ssl);

	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return true;
	if (r != 0) {
		/* In the handshake, a record that fails authentication is the
		 * other side's Finished under keys from another PSK. */
		if (r == MBEDTLS_ERR_SSL_INVALID_MAC)
			r = MBEDTLS_ERR_SSL_BAD_HS_FINISHED;
		snprintf(why, sizeof why, "TLS handshake failed: %s",
		    tls_error(r, eb, sizeof eb));
		vlog(VL_WARN, "%s: %s", t->conn->name, why);
		/* Write the alert mbedTLS queued, so that the other side
		 * learns why, then close; the frames staged for after the
		 * handshake go nowhere. */
		vbuf_clear(&t->conn->stage);
		conn_finish(t->conn);
		return false;
	}
	t->up = true;
	vlog(VL_DEBUG, "%s: TLS up (%s, %s)", t->conn->name,
	    mbedtls_ssl_get_version(&t->ssl),
	    mbedtls_ssl_get_ciphersuite(&t->ssl));
	/* Frames staged during the handshake can be sealed now. */
	if (t->conn->stage.len > 0)
		conn_kick(t->conn);
	return true;
}

void
tls_start(struct conn *c)
{
	handshake(c->fctx);
}

/*
 * Runs the handshake on, then opens every whole record that t->rp holds
 * and hands its plaintext to the owner.  Every whole record goes to the
 * owner now, even when the owner stopped reading for backpressure: it
 * keeps undecoded frames itself and resumes from them, but it could not
 * know about records left here, which would stall the link.  What is read
 * is bounded by conn.c, which reads nothing more while the owner is
 * blocked.
 */
static void
open_records(struct conn *c, struct tls *t)
{
	/* One record's plaintext at most; the owner copies what it keeps. */
	static unsigned char pt[MBEDTLS_SSL_IN_CONTENT_LEN];
	char why[160], eb[40];
	int r;

	if (!t->up && !handshake(t))
		return;
	while (t->up && !(c->flags & C_DEAD)) {
		r = mbedtls_ssl_read(&t->ssl, pt, sizeof pt);
		if (r > 0) {
			c->ops->input(c, (const char *)pt, (size_t)r);
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ ||
		    r == MBEDTLS_ERR_SSL_WANT_WRITE)
			break;
		if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
			conn_close(c, "closed by the peer (TLS)");
			return;
		}
		snprintf(why, sizeof why, "TLS: %s", tls_error(r, eb,
		    sizeof eb));
		vlog(VL_WARN, "%s: %s; closing", c->name, why);
		conn_close(c, why);
		return;
	}
}

static void
tls_input(struct conn *c, const char *p, size_t n)
{
	struct tls *t = c->fctx;

	t->rp = (const unsigned char *)p;
	t->rn = n;
	open_records(c, t);
	/* All consumed (mbedTLS answers WANT_READ only once bio_recv has
	 * nothing left), or dropped with a link that failed or closed:
	 * nothing may point into conn.c's buffer after this. */
	t->rp = NULL;
	t->rn = 0;
}

static void
tls_seal(struct conn *c)
{
	struct tls *t = c->fctx;
	size_t off = 0;
	char why[160], eb[40];
	int r;

	if (!t->up)
		return;
	while (off < c->stage.len) {
		r = mbedtls_ssl_write(&t->ssl,
		    (const unsigned char *)c->stage.p + off, c->stage.len - off);
		if (r <= 0) {
			snprintf(why, sizeof why, "TLS: cannot seal: %s",
			    tls_error(r, eb, sizeof eb));
			vlog(VL_WARN, "%s: %s", c->name, why);
			conn_close(c, why);
			return;
		}
		off += (size_t)r;
	}
	vbuf_clear(&c->stage);
	/* A burst should not pin its memory. */
	if (c->stage.cap > 65536)
		vbuf_free(&c->stage);
}

static void
tls_free(void *fctx)
{
	struct tls *t = fctx;

	/* mbedtls_ssl_free() wipes the session keys. */
	mbedtls_ssl_free(&t->ssl);
	free(t);
}
