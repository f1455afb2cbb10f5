/*
 * hotline-recorder: SRTP/SRTCP with the keys exported by DTLS.
 */

#include <string.h>

#include "srtp.h"


int
rec_srtp_init(void)
{
    return srtp_init() == srtp_err_status_ok ? REC_OK : REC_ERROR;
}


static int
rec_srtp_session(srtp_t *session, int profile, const u_char *key,
    int inbound)
{
    srtp_policy_t   policy;
    srtp_profile_t  p;
    u_char          k[REC_SRTP_MAX_KEY];

    p = profile == REC_SRTP_AEAD_AES_128_GCM ? srtp_profile_aead_aes_128_gcm
                                             : srtp_profile_aes128_cm_sha1_80;

    memset(&policy, 0, sizeof(srtp_policy_t));

    if (srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, p)
        != srtp_err_status_ok
        || srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, p)
        != srtp_err_status_ok)
    {
        return REC_ERROR;
    }

    memcpy(k, key, REC_SRTP_MAX_KEY);

    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = k;
    policy.window_size = 1024;
    policy.allow_repeat_tx = 0;
    policy.next = NULL;

    if (srtp_create(session, &policy) != srtp_err_status_ok) {
        return REC_ERROR;
    }

    return REC_OK;
}


int
rec_srtp_create(rec_srtp_t *s, const rec_dtls_keys_t *keys)
{
    memset(s, 0, sizeof(rec_srtp_t));

    if (rec_srtp_session(&s->in, keys->profile, keys->remote, 1) != REC_OK) {
        return REC_ERROR;
    }

    if (rec_srtp_session(&s->out, keys->profile, keys->local, 0) != REC_OK)
    {
        srtp_dealloc(s->in);
        s->in = NULL;
        return REC_ERROR;
    }

    return REC_OK;
}


int
rec_srtp_unprotect(rec_srtp_t *s, u_char *buf, size_t *len)
{
    int  n;

    n = (int) *len;

    if (srtp_unprotect(s->in, buf, &n) != srtp_err_status_ok) {
        return REC_ERROR;
    }

    *len = (size_t) n;

    return REC_OK;
}


int
rec_srtp_unprotect_rtcp(rec_srtp_t *s, u_char *buf, size_t *len)
{
    int  n;

    n = (int) *len;

    if (srtp_unprotect_rtcp(s->in, buf, &n) != srtp_err_status_ok) {
        return REC_ERROR;
    }

    *len = (size_t) n;

    return REC_OK;
}


int
rec_srtp_protect_rtcp(rec_srtp_t *s, u_char *buf, size_t *len)
{
    int  n;

    n = (int) *len;

    if (srtp_protect_rtcp(s->out, buf, &n) != srtp_err_status_ok) {
        return REC_ERROR;
    }

    *len = (size_t) n;

    return REC_OK;
}


void
rec_srtp_free(rec_srtp_t *s)
{
    if (s->in != NULL) {
        srtp_dealloc(s->in);
    }

    if (s->out != NULL) {
        srtp_dealloc(s->out);
    }

    memset(s, 0, sizeof(rec_srtp_t));
}
