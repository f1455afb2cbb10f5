
/*
 * Copyright (C) hotline authors
 */


/*
 * Unit tests for src/ngx_http_hotline_jwt.c.  Test tokens are minted here
 * with OpenSSL's own base64 (EVP_EncodeBlock) and HMAC, independently of
 * the unit's codec; known answers come from RFC 7515 A.1 and from Perl's
 * Crypt::JWT 0.034.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <stdlib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "ngx_http_hotline_jwt.h"
#include "ngx_hotline_tap.h"


#define T_KEY         "hotline-unit-test-key-0123456789abcdef"
#define T_NOW         1700000100
#define T_HDR         "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

#define T_MAX         (NGX_HOTLINE_JWT_MAX_TOKEN * 2)


/*
 * minted by Crypt::JWT 0.034:
 *   encode_jwt(payload => { sub => "agent-7", role => "agent",
 *       jti => "j-42", iat => 1700000000, nbf => 1700000000,
 *       exp => 4102444800 }, alg => "HS256", key => T_KEY,
 *       extra_headers => { typ => "JWT" })
 */

static const char  t_crypt_jwt[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
    "eyJleHAiOjQxMDI0NDQ4MDAsImlhdCI6MTcwMDAwMDAwMCwianRpIjoiai00MiIsIm5i"
    "ZiI6MTcwMDAwMDAwMCwicm9sZSI6ImFnZW50Iiwic3ViIjoiYWdlbnQtNyJ9."
    "EgqhR8EJQXj4gM_8zdPK5sYJZX3KRMvOhmuz5_8w-DE";


/* RFC 7515 A.1: valid HS256 signature, claims without "sub" */

static const char  t_rfc7515[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
    "LmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

static const u_char  t_rfc7515_key[] = {
    0x03, 0x23, 0x35, 0x4b, 0x2b, 0x0f, 0xa5, 0xbc, 0x83, 0x7e, 0x06, 0x65,
    0x77, 0x7b, 0xa6, 0x8f, 0x5a, 0xb3, 0x28, 0xe6, 0xf0, 0x54, 0xc9, 0x28,
    0xa9, 0x0f, 0x84, 0xb2, 0xd2, 0x50, 0x2e, 0xbf, 0xd3, 0xfb, 0x5a, 0x92,
    0xd2, 0x06, 0x47, 0xef, 0x96, 0x8a, 0xb4, 0xc3, 0x77, 0x62, 0x3d, 0x22,
    0x3d, 0x2e, 0x21, 0x72, 0x05, 0x2e, 0x4f, 0x08, 0xc0, 0xcd, 0x9a, 0xf5,
    0x67, 0xd0, 0x80, 0xa3
};


/* base64url without padding, via OpenSSL's standard base64 */

static size_t
t_b64url(char *dst, const void *src, size_t len)
{
    int     n;
    size_t  i;

    n = EVP_EncodeBlock((u_char *) dst, src, (int) len);

    while (n > 0 && dst[n - 1] == '=') {
        n--;
    }

    for (i = 0; i < (size_t) n; i++) {
        if (dst[i] == '+') {
            dst[i] = '-';

        } else if (dst[i] == '/') {
            dst[i] = '_';
        }
    }

    dst[n] = '\0';

    return n;
}


/* header and claims JSON as given, signed with key */

static size_t
t_mint(char *dst, const char *hdr, const char *claims, const char *key)
{
    size_t        n;
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned int  md_len;

    n = t_b64url(dst, hdr, strlen(hdr));
    dst[n++] = '.';
    n += t_b64url(dst + n, claims, strlen(claims));

    HMAC(EVP_sha256(), key, (int) strlen(key), (u_char *) dst, n, md,
         &md_len);

    dst[n++] = '.';
    n += t_b64url(dst + n, md, md_len);

    return n;
}


static ngx_int_t
t_verify_at(const char *token, size_t len, int64_t now, int64_t leeway,
    ngx_http_hotline_jwt_claims_t *claims, const char **err)
{
    ngx_http_hotline_jwt_claims_t  c;

    if (claims == NULL) {
        claims = &c;
    }

    *err = "unset";

    return ngx_http_hotline_jwt_verify((const u_char *) token, len,
                                       (const u_char *) T_KEY,
                                       sizeof(T_KEY) - 1, now, leeway,
                                       claims, err);
}


/* mints claims with the test key and returns the err of verify */

static const char *
t_claims(const char *claims, int64_t now, int64_t leeway)
{
    char        *tok;
    size_t       n;
    ngx_int_t    rc;
    const char  *err;

    tok = malloc(T_MAX);
    if (tok == NULL) {
        return "test out of memory";
    }

    n = t_mint(tok, T_HDR, claims, T_KEY);
    rc = t_verify_at(tok, n, now, leeway, NULL, &err);

    free(tok);

    if (rc == NGX_OK) {
        return err == NULL ? "OK" : "OK with err set";
    }

    return rc == NGX_DECLINED ? err : "NGX_ERROR";
}


static const char *
t_header(const char *hdr)
{
    char         tok[1024];
    size_t       n;
    ngx_int_t    rc;
    const char  *err;

    n = t_mint(tok, hdr, "{\"sub\":\"a\",\"exp\":4102444800}", T_KEY);
    rc = t_verify_at(tok, n, T_NOW, 0, NULL, &err);

    return rc == NGX_OK ? "OK" : (rc == NGX_DECLINED ? err : "NGX_ERROR");
}


static const char *
t_raw(const char *token)
{
    ngx_int_t    rc;
    const char  *err;

    rc = t_verify_at(token, strlen(token), T_NOW, 0, NULL, &err);

    return rc == NGX_OK ? "OK" : (rc == NGX_DECLINED ? err : "NGX_ERROR");
}


static void
t_test_known_answers(void)
{
    char                           tok[512];
    ngx_int_t                      rc;
    const char                    *err;
    ngx_http_hotline_jwt_claims_t  c;

    ngx_memzero(&c, sizeof(c));

    rc = t_verify_at(t_crypt_jwt, sizeof(t_crypt_jwt) - 1, T_NOW, 0, &c, &err);
    ok(rc == NGX_OK && err == NULL, "Crypt::JWT token verifies");
    ok(c.sub_len == 7 && strcmp((char *) c.sub, "agent-7") == 0
       && c.role_len == 5 && strcmp((char *) c.role, "agent") == 0
       && c.jti_len == 4 && strcmp((char *) c.jti, "j-42") == 0,
       "Crypt::JWT token: sub, role, jti");
    ok(c.iat == 1700000000 && c.nbf == 1700000000 && c.exp == 4102444800LL,
       "Crypt::JWT token: iat, nbf, exp");

    rc = ngx_http_hotline_jwt_verify((u_char *) t_rfc7515,
                                     sizeof(t_rfc7515) - 1, t_rfc7515_key,
                                     sizeof(t_rfc7515_key), 1300819000, 0,
                                     &c, &err);
    ok(rc == NGX_DECLINED && strcmp(err, "bad claims") == 0,
       "RFC 7515 A.1: signature accepted, no \"sub\" -> bad claims");

    ngx_memcpy(tok, t_rfc7515, sizeof(t_rfc7515));
    tok[sizeof(t_rfc7515) - 2] = 'Y';     /* ...jXk -> ...jXY */

    rc = ngx_http_hotline_jwt_verify((u_char *) tok, sizeof(t_rfc7515) - 1,
                                     t_rfc7515_key, sizeof(t_rfc7515_key),
                                     1300819000, 0, &c, &err);
    ok(rc == NGX_DECLINED && strcmp(err, "bad signature") == 0,
       "RFC 7515 A.1 with its signature changed -> bad signature");

    is_str(t_raw(t_crypt_jwt), "OK", "same token through the helper");
}


static void
t_test_sign(void)
{
    char                           ref[1024], *dot;
    u_char                         out[1024];
    size_t                         n, m;
    ngx_int_t                      rc;
    const char                    *err;
    ngx_http_hotline_jwt_claims_t  c, v;

    ngx_memzero(&c, sizeof(c));
    ngx_memcpy(c.sub, "customer-\xc3\xa9", 11);
    c.sub_len = 11;
    ngx_memcpy(c.role, "customer", 8);
    c.role_len = 8;
    ngx_memcpy(c.jti, "0123456789abcdef", 16);
    c.jti_len = 16;
    c.iat = T_NOW - 10;
    c.nbf = T_NOW - 5;
    c.exp = T_NOW + 3600;

    n = ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                  out, sizeof(out));
    ok(n > 0 && n < sizeof(out) && out[n] == '\0', "sign: token minted");

    ngx_memset(&v, 0xaa, sizeof(v));
    rc = t_verify_at((char *) out, n, T_NOW, 0, &v, &err);
    ok(rc == NGX_OK, "sign: own token verifies");
    ok(v.sub_len == c.sub_len && ngx_memcmp(v.sub, c.sub, 12) == 0
       && v.role_len == 8 && ngx_memcmp(v.role, c.role, 9) == 0
       && v.jti_len == 16 && ngx_memcmp(v.jti, c.jti, 17) == 0
       && v.iat == c.iat && v.nbf == c.nbf && v.exp == c.exp,
       "sign: claims round trip");

    /* the same token minted independently from the JSON sign wrote */

    dot = strchr((char *) out, '.');
    ok(dot && strncmp((char *) out, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
                      dot - (char *) out) == 0,
       "sign: header is {\"alg\":\"HS256\",\"typ\":\"JWT\"}");

    m = t_mint(ref, T_HDR,
               "{\"sub\":\"customer-\xc3\xa9\",\"role\":\"customer\","
               "\"jti\":\"0123456789abcdef\",\"iat\":1700000090,"
               "\"nbf\":1700000095,\"exp\":1700003700}", T_KEY);
    ok(m == n && ngx_memcmp(ref, out, n) == 0,
       "sign: byte-identical to the independent mint");

    /* optional claims left out */

    ngx_memzero(&c, sizeof(c));
    c.sub[0] = 'x';
    c.sub_len = 1;
    c.iat = T_NOW;
    c.exp = T_NOW + 60;

    n = ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                  out, sizeof(out));
    m = t_mint(ref, T_HDR, "{\"sub\":\"x\",\"iat\":1700000100,"
               "\"exp\":1700000160}", T_KEY);
    ok(n == m && ngx_memcmp(ref, out, n) == 0,
       "sign: no role, jti, nbf when empty or zero");

    ngx_memset(&v, 0xaa, sizeof(v));
    rc = t_verify_at((char *) out, n, T_NOW, 0, &v, &err);
    ok(rc == NGX_OK && v.role_len == 0 && v.role[0] == '\0'
       && v.jti_len == 0 && v.jti[0] == '\0' && v.nbf == 0,
       "absent role, jti, nbf verify as empty and zero");

    /* output size: exact fits, one less does not */

    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, m) == m, "sign: exact size fits");
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, m - 1) == 0, "sign: size - 1 -> 0");
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, 0) == 0, "sign: size 0 -> 0");

    /* never mints what verify refuses */

    c.sub_len = 0;
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, sizeof(out)) == 0,
       "sign: empty sub refused");

    c.sub_len = 65;
    ngx_memset(c.sub, 's', 65);
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, sizeof(out)) == 0,
       "sign: 65 byte sub refused");

    c.sub_len = 64;
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, sizeof(out)) > 0,
       "sign: 64 byte sub accepted");

    c.sub[3] = '\n';
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, sizeof(out)) == 0,
       "sign: control character in sub refused");

    c.sub[3] = 0xff;
    ok(ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 1,
                                 out, sizeof(out)) == 0,
       "sign: invalid UTF-8 in sub refused");

    /* a different key (one byte shorter) does not verify */

    c.sub[3] = 's';
    n = ngx_http_hotline_jwt_sign(&c, (u_char *) T_KEY, sizeof(T_KEY) - 2,
                                  out, sizeof(out));
    rc = t_verify_at((char *) out, n, T_NOW, 0, NULL, &err);
    ok(n > 0 && rc == NGX_DECLINED && strcmp(err, "bad signature") == 0,
       "token signed with another key -> bad signature");
}


static void
t_test_tamper(void)
{
    char                           tok[1024], mut[1024];
    size_t                         n, i, k, accepted;
    ngx_int_t                      rc;
    const char                    *err, *p;
    ngx_http_hotline_jwt_claims_t  c, before;

    n = t_mint(tok, T_HDR, "{\"sub\":\"agent-1\",\"role\":\"agent\","
               "\"exp\":4102444800}", T_KEY);

    ngx_memcpy(mut, tok, n + 1);
    mut[n - 43] = (mut[n - 43] == 'A') ? 'B' : 'A';
    is_str(t_raw(mut), "bad signature", "first signature char changed");

    ngx_memcpy(mut, tok, n + 1);
    p = strchr(tok, '.') + 5;
    mut[p - tok] = (*p == 'A') ? 'B' : 'A';
    is_str(t_raw(mut), "bad signature", "payload char changed");

    ngx_memcpy(mut, tok, n + 1);
    mut[n - 43] = '\0';
    is_str(t_raw(mut), "bad signature", "signature removed");

    ngx_memcpy(mut, tok, n + 1);
    mut[n - 1] = '\0';
    is_str(t_raw(mut), "bad signature", "signature one char short");

    ngx_memcpy(mut, tok, n + 1);
    mut[n] = 'A';
    mut[n + 1] = '\0';
    is_str(t_raw(mut), "bad signature", "signature one char long");

    /* no single-byte change of any kind verifies; claims stay untouched */

    accepted = 0;
    ngx_memset(&before, 0x5a, sizeof(before));

    for (i = 0; i < n; i++) {
        for (k = 0; k < 256; k++) {
            if (k == (u_char) tok[i]) {
                continue;
            }

            ngx_memcpy(mut, tok, n);
            mut[i] = (char) k;
            c = before;

            rc = t_verify_at(mut, n, T_NOW, 0, &c, &err);

            if (rc != NGX_DECLINED || err == NULL
                || ngx_memcmp(&c, &before, sizeof(c)) != 0)
            {
                accepted++;
            }
        }
    }

    is(accepted, 0, "none of the single-byte changes of a token verifies");
}


static void
t_test_header(void)
{
    char  tok[1024];

    is_str(t_header(T_HDR), "OK", "header alg HS256, typ JWT");
    is_str(t_header("{\"alg\":\"HS256\"}"), "OK", "header without typ");
    is_str(t_header("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"k1\"}"),
           "OK", "kid is ignored");
    is_str(t_header("{\"alg\":\"none\",\"typ\":\"JWT\"}"), "unsupported alg",
           "alg none (signed) rejected");
    is_str(t_header("{\"alg\":\"HS512\"}"), "unsupported alg",
           "alg HS512 rejected");
    is_str(t_header("{\"alg\":\"hs256\"}"), "unsupported alg",
           "alg hs256 rejected");
    is_str(t_header("{\"alg\":\"HS256 \"}"), "unsupported alg",
           "alg \"HS256 \" rejected");
    is_str(t_header("{\"alg\":\"RS256\"}"), "unsupported alg",
           "alg RS256 rejected");
    is_str(t_header("{\"alg\":\"\"}"), "unsupported alg",
           "empty alg rejected");
    is_str(t_header("{\"alg\":\"HS256\\u0000\"}"), "bad header",
           "alg with NUL rejected");
    is_str(t_header("{\"typ\":\"JWT\"}"), "bad header", "no alg");
    is_str(t_header("{\"alg\":256}"), "bad header", "numeric alg");
    is_str(t_header("{\"alg\":[\"HS256\"]}"), "bad header", "array alg");
    is_str(t_header("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}"), "bad header",
           "crit rejected");
    is_str(t_header("{\"alg\":\"HS256\",\"crit\":[]}"), "bad header",
           "empty crit rejected");
    is_str(t_header("{\"alg\":\"HS256\",\"alg\":\"HS256\"}"), "bad header",
           "duplicate alg rejected");
    is_str(t_header("{\"alg\":\"none\",\"alg\":\"HS256\"}"), "bad header",
           "duplicate alg none/HS256 rejected");
    is_str(t_header("[\"HS256\"]"), "bad header", "array header");
    is_str(t_header("\"HS256\""), "bad header", "string header");
    is_str(t_header("null"), "bad header", "null header");
    is_str(t_header("{\"alg\":\"HS256\""), "bad header", "truncated JSON");
    is_str(t_header("{\"alg\":\"HS256\"} x"), "bad header", "trailing data");
    is_str(t_header("{\"alg\":\"HS256\"}{}"), "bad header",
           "two objects");

    /* alg none as attackers send it: empty signature */

    t_b64url(tok, "{\"alg\":\"none\"}", 14);
    strcat(tok, ".");
    t_b64url(tok + strlen(tok), "{\"sub\":\"a\",\"exp\":4102444800}", 28);
    strcat(tok, ".");
    is_str(t_raw(tok), "unsupported alg", "alg none, empty signature");

    t_b64url(tok, "{\"alg\":\"HS256\"}", 15);
    strcat(tok, ".");
    t_b64url(tok + strlen(tok), "{\"sub\":\"a\",\"exp\":4102444800}", 28);
    strcat(tok, ".");
    is_str(t_raw(tok), "bad signature", "alg HS256, empty signature");
}


static void
t_test_claims(void)
{
    char    buf[512];

    is_str(t_claims("{\"sub\":\"a\"}", T_NOW, 0), "bad claims",
           "missing exp");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":\"4102444800\"}", T_NOW, 0),
           "bad claims", "string exp");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":true}", T_NOW, 0), "bad claims",
           "boolean exp");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":null}", T_NOW, 0), "bad claims",
           "null exp");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":1e300}", T_NOW, 0), "bad claims",
           "exp 1e300");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":99999999999999999999}", T_NOW, 0),
           "bad claims", "exp beyond 64 bits");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":9007199254740993}", T_NOW, 0),
           "bad claims", "exp beyond 2^53");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800.5}", T_NOW, 0), "OK",
           "real exp");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":1700000100.9}", T_NOW, 0),
           "expired", "real exp floored: now == floor(exp) is expired");

    /* exp and nbf against now, with and without leeway */

    is_str(t_claims("{\"sub\":\"a\",\"exp\":1700000100}", T_NOW, 0),
           "expired", "exp == now is expired");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":1700000101}", T_NOW, 0), "OK",
           "exp == now + 1 is valid");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":1600000000}", T_NOW, 0),
           "expired", "long expired");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":1700000041}", T_NOW, 60), "OK",
           "expired 59 s ago, leeway 60: valid");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":1700000040}", T_NOW, 60),
           "expired", "expired 60 s ago, leeway 60: expired");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":-5}", T_NOW, 0), "expired",
           "negative exp");

    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"nbf\":1700000101}",
                    T_NOW, 0), "not yet valid", "nbf in the future");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"nbf\":1700000100}",
                    T_NOW, 0), "OK", "nbf == now");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"nbf\":1700000160}",
                    T_NOW, 60), "OK", "nbf 60 s ahead, leeway 60");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"nbf\":1700000161}",
                    T_NOW, 60), "not yet valid", "nbf 61 s ahead, leeway 60");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"nbf\":\"0\"}",
                    T_NOW, 0), "bad claims", "string nbf");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"iat\":{}}",
                    T_NOW, 0), "bad claims", "object iat");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"iat\":1.5}",
                    T_NOW, 0), "OK", "real iat");

    /* sub, role, jti */

    is_str(t_claims("{\"exp\":4102444800}", T_NOW, 0), "bad claims",
           "missing sub");
    is_str(t_claims("{\"sub\":\"\",\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "empty sub");
    is_str(t_claims("{\"sub\":7,\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "numeric sub");
    is_str(t_claims("{\"sub\":null,\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "null sub");

    snprintf(buf, sizeof(buf), "{\"sub\":\"%064d\",\"exp\":4102444800}", 0);
    is_str(t_claims(buf, T_NOW, 0), "OK", "64 byte sub");
    snprintf(buf, sizeof(buf), "{\"sub\":\"%065d\",\"exp\":4102444800}", 0);
    is_str(t_claims(buf, T_NOW, 0), "bad claims", "65 byte sub");
    snprintf(buf, sizeof(buf),
             "{\"sub\":\"%s\",\"exp\":4102444800}",
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
             "a");
    is_str(t_claims(buf, T_NOW, 0), "bad claims",
           "sub of 32 two-byte characters plus one: 65 bytes");

    snprintf(buf, sizeof(buf),
             "{\"sub\":\"a\",\"role\":\"%064d\",\"exp\":4102444800}", 0);
    is_str(t_claims(buf, T_NOW, 0), "OK", "64 byte role");
    snprintf(buf, sizeof(buf),
             "{\"sub\":\"a\",\"role\":\"%065d\",\"exp\":4102444800}", 0);
    is_str(t_claims(buf, T_NOW, 0), "bad claims", "65 byte role");
    snprintf(buf, sizeof(buf),
             "{\"sub\":\"a\",\"jti\":\"%064d\",\"exp\":4102444800}", 0);
    is_str(t_claims(buf, T_NOW, 0), "OK", "64 byte jti");
    snprintf(buf, sizeof(buf),
             "{\"sub\":\"a\",\"jti\":\"%065d\",\"exp\":4102444800}", 0);
    is_str(t_claims(buf, T_NOW, 0), "bad claims", "65 byte jti");
    is_str(t_claims("{\"sub\":\"a\",\"role\":\"\",\"exp\":4102444800}",
                    T_NOW, 0), "OK", "empty role");
    is_str(t_claims("{\"sub\":\"a\",\"role\":1,\"exp\":4102444800}",
                    T_NOW, 0), "bad claims", "numeric role");
    is_str(t_claims("{\"sub\":\"a\",\"jti\":[],\"exp\":4102444800}",
                    T_NOW, 0), "bad claims", "array jti");

    is_str(t_claims("{\"sub\":\"a\\nb\",\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "newline in sub");
    is_str(t_claims("{\"sub\":\"a\\u0001\",\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "U+0001 in sub");
    is_str(t_claims("{\"sub\":\"a\\u007f\",\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "DEL in sub");
    is_str(t_claims("{\"sub\":\"a\\u0085\",\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "U+0085 (C1 control) in sub");
    is_str(t_claims("{\"sub\":\"a\\u0000\",\"exp\":4102444800}", T_NOW, 0),
           "bad claims", "NUL in sub");
    is_str(t_claims("{\"sub\":\"a\",\"role\":\"x\\ty\",\"exp\":4102444800}",
                    T_NOW, 0), "bad claims", "tab in role");
    is_str(t_claims("{\"sub\":\"a\",\"jti\":\"x\\u001b[0m\","
                    "\"exp\":4102444800}", T_NOW, 0), "bad claims",
           "escape in jti");
    is_str(t_claims("{\"sub\":\"a\\u00a0b\",\"exp\":4102444800}", T_NOW, 0),
           "OK", "U+00A0 is not a control character");

    /* structure */

    is_str(t_claims("{\"sub\":\"a\",\"sub\":\"b\",\"exp\":4102444800}",
                    T_NOW, 0), "bad claims", "duplicate sub");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"exp\":1}",
                    T_NOW, 0), "bad claims", "duplicate exp");
    is_str(t_claims("[{\"sub\":\"a\",\"exp\":4102444800}]", T_NOW, 0),
           "bad claims", "claims in an array");
    is_str(t_claims("\"sub\"", T_NOW, 0), "bad claims", "claims a string");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800", T_NOW, 0),
           "bad claims", "truncated claims JSON");
    is_str(t_claims("", T_NOW, 0), "malformed", "empty claims part");
    is_str(t_claims("{\"sub\":\"a\",\"exp\":4102444800,\"x\":{\"y\":[1,2]}}",
                    T_NOW, 0), "OK", "unknown claims are ignored");

    /* NumericDate fractions: floor, also below zero */

    {
        char                           tok[512];
        size_t                         n;
        ngx_int_t                      rc;
        const char                    *err;
        ngx_http_hotline_jwt_claims_t  c;

        n = t_mint(tok, T_HDR, "{\"sub\":\"a\",\"exp\":4102444800.99,"
                   "\"iat\":-1.5,\"nbf\":1.25}", T_KEY);
        rc = t_verify_at(tok, n, T_NOW, 0, &c, &err);
        ok(rc == NGX_OK && c.exp == 4102444800LL && c.iat == -2
           && c.nbf == 1, "real dates are floored");
    }
}


static void
t_test_encoding(void)
{
    char        tok[T_MAX], mut[T_MAX], *dot1, *dot2;
    size_t      n, i, m;
    const char  *err;

    n = t_mint(tok, T_HDR, "{\"sub\":\"ab\",\"exp\":4102444800}", T_KEY);
    dot1 = strchr(tok, '.');
    dot2 = strchr(dot1 + 1, '.');

    is_str(t_raw(tok), "OK", "reference token");

    /* padding */

    ngx_memcpy(mut, tok, n + 1);
    strcat(mut, "=");
    is_str(t_raw(mut), "malformed", "'=' after the signature");

    m = dot2 - tok;
    ngx_memcpy(mut, tok, m);
    ngx_memcpy(mut + m, "==", 2);
    ngx_memcpy(mut + m + 2, dot2, n - m + 1);
    is_str(t_raw(mut), "malformed", "'==' padding after the payload");

    /* standard base64 characters and others */

    {
        static const char  bad[] = "+/= \t\n\r%*!~\x80\xff\"\\";

        m = 0;

        for (i = 0; i < sizeof(bad) - 1; i++) {
            ngx_memcpy(mut, tok, n + 1);
            mut[(dot1 - tok) + 3] = bad[i];

            if (strcmp(t_raw(mut), "malformed") != 0) {
                m++;
            }

            ngx_memcpy(mut, tok, n + 1);
            mut[2] = bad[i];

            if (strcmp(t_raw(mut), "malformed") != 0) {
                m++;
            }

            ngx_memcpy(mut, tok, n + 1);
            mut[n - 3] = bad[i];

            if (strcmp(t_raw(mut), "malformed") != 0) {
                m++;
            }
        }

        is(m, 0, "non-alphabet bytes in each part -> malformed");
    }

    ngx_memcpy(mut, tok, n + 1);
    mut[5] = '\0';
    ok(t_verify_at(mut, n, T_NOW, 0, NULL, &err) == NGX_DECLINED
       && strcmp(err, "malformed") == 0, "NUL byte inside the token");

    /* length 4k+1 and unused bits: every string has one encoding only */

    ngx_memcpy(mut, tok, n + 1);
    m = dot1 - tok;
    mut[m] = 'A';
    mut[m + 1] = '.';
    ngx_memcpy(mut + m + 2, dot1 + 1, n - m);
    is_str(t_raw(mut), "malformed", "header of length 4k+1");

    /*
     * {"alg":"HS256","kid":"k"} is 25 bytes: its last character carries
     * 2 bits and 4 unused zero bits; "fQ" -> "fR" sets one unused bit
     */

    m = t_mint(mut, "{\"alg\":\"HS256\",\"kid\":\"k\"}",
               "{\"sub\":\"ab\",\"exp\":4102444800}", T_KEY);
    is_str(t_raw(mut), "OK", "token with a 25 byte header");

    dot1 = strchr(mut, '.');
    ok(dot1 - mut == 34 && mut[33] == 'Q', "its header ends in 'Q'");
    mut[33] = 'R';
    is_str(t_raw(mut), "malformed", "non-zero unused bits in the header");
    dot1 = strchr(tok, '.');

    /*
     * signed correctly, but the payload's last character has unused bits
     * set: {"sub":"ab","exp":4102444800} is 29 bytes, its encoding ends in
     * "H0" ('0' = 110100: 4 bits used, 2 unused); "H1" sets an unused bit
     */

    {
        u_char        md[EVP_MAX_MD_SIZE];
        unsigned int  md_len;

        m = dot2 - tok;
        ngx_memcpy(mut, tok, m);
        ok(mut[m - 1] == '0', "payload ends in '0'");
        mut[m - 1] = '1';

        HMAC(EVP_sha256(), T_KEY, sizeof(T_KEY) - 1, (u_char *) mut, m, md,
             &md_len);
        mut[m] = '.';
        t_b64url(mut + m + 1, md, md_len);

        is_str(t_raw(mut), "malformed",
               "correctly signed, non-zero unused bits in the payload");
    }

    ngx_memcpy(mut, tok, n + 1);
    mut[n - 1] = (tok[n - 1] == 'A') ? 'B' : tok[n - 1] + 1;
    is_str(t_raw(mut), "bad signature",
           "last signature char changed (unused bits or value)");

    /* segments */

    is_str(t_raw(""), "malformed", "empty token");
    is_str(t_raw("."), "malformed", "one dot");
    is_str(t_raw(".."), "malformed", "two dots only");
    is_str(t_raw("abc"), "malformed", "no dot");
    is_str(t_raw("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0"), "malformed",
           "two parts");

    ngx_memcpy(mut, tok, n + 1);
    strcat(mut, ".AAAA");
    is_str(t_raw(mut), "malformed", "four parts");

    is_str(t_raw(dot1), "malformed", "empty header part");

    m = dot1 - tok + 1;
    ngx_memcpy(mut, tok, m);
    ngx_memcpy(mut + m, dot2, n - (dot2 - tok) + 1);
    is_str(t_raw(mut), "malformed", "empty payload part");
}


static void
t_test_size(void)
{
    char        *tok, *claims;
    size_t       n, f;
    ngx_int_t    rc;
    const char  *err;

    tok = malloc(T_MAX);
    claims = malloc(T_MAX);

    if (tok == NULL || claims == NULL) {
        ok(0, "test out of memory");
        return;
    }

    /* grow a filler claim until the token is exactly the limit */

    n = 0;

    for (f = 1000; f < 1600; f++) {
        snprintf(claims, T_MAX, "{\"sub\":\"a\",\"exp\":4102444800,"
                 "\"x\":\"%0*d\"}", (int) f, 0);
        n = t_mint(tok, T_HDR, claims, T_KEY);

        if (n >= NGX_HOTLINE_JWT_MAX_TOKEN) {
            break;
        }
    }

    ok(n == NGX_HOTLINE_JWT_MAX_TOKEN, "token of exactly %d bytes built",
       NGX_HOTLINE_JWT_MAX_TOKEN);
    is_str(t_raw(tok), "OK", "token of the maximum size verifies");

    for ( /* void */ ; n <= NGX_HOTLINE_JWT_MAX_TOKEN; f++) {
        snprintf(claims, T_MAX, "{\"sub\":\"a\",\"exp\":4102444800,"
                 "\"x\":\"%0*d\"}", (int) f, 0);
        n = t_mint(tok, T_HDR, claims, T_KEY);
    }

    rc = t_verify_at(tok, n, T_NOW, 0, NULL, &err);
    ok(rc == NGX_DECLINED && strcmp(err, "malformed") == 0,
       "correctly signed token of %u bytes -> malformed", (unsigned) n);

    ngx_memset(tok, 'A', T_MAX);
    tok[100] = '.';
    tok[200] = '.';

    rc = t_verify_at(tok, T_MAX, T_NOW, 0, NULL, &err);
    ok(rc == NGX_DECLINED && strcmp(err, "malformed") == 0,
       "%d byte token -> malformed", T_MAX);

    rc = ngx_http_hotline_jwt_verify(NULL, 0, (u_char *) T_KEY,
                                     sizeof(T_KEY) - 1, T_NOW, 0, NULL, &err);
    ok(rc == NGX_DECLINED && strcmp(err, "malformed") == 0,
       "no token -> malformed");

    free(tok);
    free(claims);
}


int
main(void)
{
    t_test_known_answers();
    t_test_sign();
    t_test_tamper();
    t_test_header();
    t_test_claims();
    t_test_encoding();
    t_test_size();

    return ngx_tap_done();
}
