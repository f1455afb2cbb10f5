/*
 * hotline-recorder: DTLS 1.2 server with use_srtp, a self-signed ECDSA
 * P-256 certificate generated at start, and verification of the peer's
 * certificate against the a=fingerprint of its offer.
 *
 * Records go out through a tiny BIO that sends each write as one datagram
 * over ICE; records come in through a memory BIO fed one datagram at a
 * time.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "dtls.h"


#define REC_DTLS_MTU  1200


struct rec_dtls_s {
    SSL               *ssl;
    BIO               *rbio;
    rec_dtls_send_pt   send;
    void              *data;
    u_char             peer_fp[32];
    int                done;
};


static SSL_CTX     *rec_dtls_ssl_ctx;
static BIO_METHOD  *rec_dtls_bio_method;
static char         rec_dtls_fp[32 * 3];


static int
rec_dtls_bio_write(BIO *b, const char *buf, int len)
{
    rec_dtls_t  *d;

    d = BIO_get_data(b);

    if (d != NULL && len > 0) {
        (void) d->send(d->data, (const u_char *) buf, (size_t) len);
    }

    return len;
}


static long
rec_dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void) b;
    (void) num;
    (void) ptr;

    switch (cmd) {

    case BIO_CTRL_FLUSH:
        return 1;

    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return REC_DTLS_MTU;

    default:
        return 0;
    }
}


static int
rec_dtls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}


static int
rec_dtls_verify(int ok, X509_STORE_CTX *ctx)
{
    (void) ok;
    (void) ctx;

    /* self-signed peers: the fingerprint is checked after the handshake */

    return 1;
}


static int
rec_dtls_make_cert(void)
{
    int           rc;
    u_char        md[EVP_MAX_MD_SIZE];
    u_char        serial[8];
    unsigned      i, n;
    X509         *x;
    BIGNUM       *bn;
    EVP_PKEY     *pkey;
    X509_NAME    *name;

    rc = REC_ERROR;
    x = NULL;
    bn = NULL;

    pkey = EVP_EC_gen("P-256");
    if (pkey == NULL) {
        return REC_ERROR;
    }

    x = X509_new();
    if (x == NULL) {
        goto done;
    }

    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        goto done;
    }

    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);

    if (bn == NULL
        || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL
        || X509_set_version(x, 2) != 1
        || X509_gmtime_adj(X509_getm_notBefore(x), -86400) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) == NULL
        || X509_set_pubkey(x, pkey) != 1)
    {
        goto done;
    }

    name = X509_get_subject_name(x);

    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const u_char *) "hotline-recorder",
                                   -1, -1, 0) != 1
        || X509_set_issuer_name(x, name) != 1
        || X509_sign(x, pkey, EVP_sha256()) == 0)
    {
        goto done;
    }

    if (SSL_CTX_use_certificate(rec_dtls_ssl_ctx, x) != 1
        || SSL_CTX_use_PrivateKey(rec_dtls_ssl_ctx, pkey) != 1
        || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
    {
        goto done;
    }

    for (i = 0; i < n; i++) {
        snprintf(rec_dtls_fp + 3 * i, 4, i + 1 < n ? "%02X:" : "%02X",
                 md[i]);
    }

    rc = REC_OK;

done:

    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(pkey);

    return rc;
}


int
rec_dtls_init(void)
{
    rec_dtls_ssl_ctx = SSL_CTX_new(DTLS_server_method());
    if (rec_dtls_ssl_ctx == NULL) {
        return REC_ERROR;
    }

    SSL_CTX_set_min_proto_version(rec_dtls_ssl_ctx, DTLS1_2_VERSION);
    SSL_CTX_set_verify(rec_dtls_ssl_ctx,
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       rec_dtls_verify);
    SSL_CTX_set_options(rec_dtls_ssl_ctx, SSL_OP_NO_QUERY_MTU);

    if (SSL_CTX_set_tlsext_use_srtp(rec_dtls_ssl_ctx,
                                    "SRTP_AEAD_AES_128_GCM:"
                                    "SRTP_AES128_CM_SHA1_80") != 0)
    {
        return REC_ERROR;
    }

    if (rec_dtls_make_cert() != REC_OK) {
        return REC_ERROR;
    }

    rec_dtls_bio_method = BIO_meth_new(BIO_get_new_index()
                                       | BIO_TYPE_SOURCE_SINK,
                                       "hotline dtls out");
    if (rec_dtls_bio_method == NULL
        || BIO_meth_set_write(rec_dtls_bio_method, rec_dtls_bio_write) != 1
        || BIO_meth_set_ctrl(rec_dtls_bio_method, rec_dtls_bio_ctrl) != 1
        || BIO_meth_set_create(rec_dtls_bio_method, rec_dtls_bio_create)
           != 1)
    {
        return REC_ERROR;
    }

    return REC_OK;
}


const char *
rec_dtls_fingerprint(void)
{
    return rec_dtls_fp;
}


const char *
rec_dtls_profile_name(int profile)
{
    switch (profile) {

    case REC_SRTP_AEAD_AES_128_GCM:
        return "SRTP_AEAD_AES_128_GCM";

    case REC_SRTP_AES128_CM_SHA1_80:
        return "SRTP_AES128_CM_SHA1_80";

    default:
        return "none";
    }
}


void *
rec_dtls_ctx(void)
{
    return rec_dtls_ssl_ctx;
}


rec_dtls_t *
rec_dtls_create(rec_dtls_send_pt send, void *data,
    const u_char *peer_fingerprint)
{
    BIO         *wbio;
    rec_dtls_t  *d;

    d = calloc(1, sizeof(rec_dtls_t));
    if (d == NULL) {
        return NULL;
    }

    d->send = send;
    d->data = data;
    memcpy(d->peer_fp, peer_fingerprint, 32);

    d->ssl = SSL_new(rec_dtls_ssl_ctx);
    d->rbio = BIO_new(BIO_s_mem());
    wbio = BIO_new(rec_dtls_bio_method);

    if (d->ssl == NULL || d->rbio == NULL || wbio == NULL) {
        BIO_free(d->rbio);
        BIO_free(wbio);
        SSL_free(d->ssl);
        free(d);
        return NULL;
    }

    BIO_set_mem_eof_return(d->rbio, -1);
    BIO_set_data(wbio, d);
    SSL_set_bio(d->ssl, d->rbio, wbio);
    SSL_set_mtu(d->ssl, REC_DTLS_MTU);
    SSL_set_accept_state(d->ssl);

    return d;
}


static int
rec_dtls_check_peer(rec_dtls_t *d, const char **reason)
{
    int        ok;
    u_char     md[EVP_MAX_MD_SIZE];
    unsigned   n;
    X509      *peer;

    peer = SSL_get1_peer_certificate(d->ssl);
    if (peer == NULL) {
        *reason = "no DTLS peer certificate";
        return REC_ERROR;
    }

    ok = X509_digest(peer, EVP_sha256(), md, &n) == 1 && n == 32
         && CRYPTO_memcmp(md, d->peer_fp, 32) == 0;

    X509_free(peer);

    if (!ok) {
        *reason = "DTLS fingerprint mismatch";
        return REC_ERROR;
    }

    return REC_OK;
}


static int
rec_dtls_export(rec_dtls_t *d, rec_dtls_keys_t *keys, const char **reason)
{
    size_t                 klen, slen;
    u_char                 km[2 * REC_SRTP_MAX_KEY];
    SRTP_PROTECTION_PROFILE  *prof;

    prof = SSL_get_selected_srtp_profile(d->ssl);
    if (prof == NULL) {
        *reason = "no SRTP profile negotiated";
        return REC_ERROR;
    }

    klen = 16;

    if (prof->id == REC_SRTP_AES128_CM_SHA1_80) {
        slen = 14;

    } else if (prof->id == REC_SRTP_AEAD_AES_128_GCM) {
        slen = 12;

    } else {
        *reason = "unsupported SRTP profile";
        return REC_ERROR;
    }

    if (SSL_export_keying_material(d->ssl, km, 2 * (klen + slen),
                                   "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0)
        != 1)
    {
        *reason = "DTLS-SRTP key export failed";
        return REC_ERROR;
    }

    /* client key, server key, client salt, server salt (RFC 5764) */

    keys->profile = (int) prof->id;
    keys->len = klen + slen;
    memcpy(keys->remote, km, klen);
    memcpy(keys->remote + klen, km + 2 * klen, slen);
    memcpy(keys->local, km + klen, klen);
    memcpy(keys->local + klen, km + 2 * klen + slen, slen);

    OPENSSL_cleanse(km, sizeof(km));

    return REC_OK;
}


int
rec_dtls_input(rec_dtls_t *d, const u_char *buf, size_t len,
    rec_dtls_keys_t *keys, const char **reason)
{
    int     rc, err;
    u_char  tmp[2048];

    *reason = NULL;

    if (BIO_write(d->rbio, buf, (int) len) != (int) len) {
        *reason = "DTLS buffer error";
        return REC_ERROR;
    }

    if (!d->done) {
        rc = SSL_do_handshake(d->ssl);

        if (rc == 1) {
            d->done = 1;

            if (rec_dtls_check_peer(d, reason) != REC_OK
                || rec_dtls_export(d, keys, reason) != REC_OK)
            {
                return REC_ERROR;
            }

            return REC_OK;
        }

        err = SSL_get_error(d->ssl, rc);
        ERR_clear_error();

        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            return REC_AGAIN;
        }

        *reason = "DTLS handshake failed";
        return REC_ERROR;
    }

    rc = SSL_read(d->ssl, tmp, sizeof(tmp));

    if (rc > 0) {
        return REC_DECLINED;            /* no data channel here */
    }

    err = SSL_get_error(d->ssl, rc);
    ERR_clear_error();

    if (err == SSL_ERROR_ZERO_RETURN) {
        return REC_DONE;
    }

    if (err == SSL_ERROR_WANT_READ) {
        return REC_DECLINED;
    }

    *reason = "DTLS error";
    return REC_ERROR;
}


void
rec_dtls_timer(rec_dtls_t *d)
{
    if (!d->done) {
        (void) DTLSv1_handle_timeout(d->ssl);
    }
}


void
rec_dtls_free(rec_dtls_t *d)
{
    if (d == NULL) {
        return;
    }

    if (d->done) {
        (void) SSL_shutdown(d->ssl);
    }

    SSL_free(d->ssl);
    free(d);
}
