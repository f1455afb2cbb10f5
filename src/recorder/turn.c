/*
 * hotline-recorder: ICE server Link headers with TURN REST credentials:
 * the username is "<expiry>:hotline-<random>" (no person's name reaches
 * the TURN server's logs), the password base64(HMAC-SHA1(secret,
 * username)), as coturn's use-auth-secret and the module's
 * hotline_ice_servers compute them.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "turn.h"


int
rec_turn_url(const char *url)
{
    return strncmp(url, "turn:", 5) == 0 || strncmp(url, "turns:", 6) == 0;
}


static int
rec_turn_credentials(char *user, size_t ulen, char *cred, size_t clen)
{
    char      rnd[17];
    u_char    md[EVP_MAX_MD_SIZE];
    unsigned  mdlen;

    if (rec_random_hex(rnd, 8) != REC_OK) {
        return REC_ERROR;
    }

    if (snprintf(user, ulen, "%lld:hotline-%s",
                 (long long) time(NULL) + rec_conf.turn_ttl, rnd)
        >= (int) ulen)
    {
        return REC_ERROR;
    }

    if (HMAC(EVP_sha1(), rec_conf.turn_secret, (int) rec_conf.turn_secret_len,
             (const u_char *) user, strlen(user), md, &mdlen) == NULL
        || clen < 4 * ((mdlen + 2) / 3) + 1)
    {
        return REC_ERROR;
    }

    EVP_EncodeBlock((u_char *) cred, md, (int) mdlen);

    return REC_OK;
}


int
rec_turn_links(char *buf, size_t size, int credentials)
{
    int          n;
    char         user[64], cred[64];
    size_t       len;
    unsigned     i;
    const char  *url;

    len = 0;
    buf[0] = '\0';

    for (i = 0; i < rec_conf.n_ice_servers; i++) {
        url = rec_conf.ice_servers[i];

        if (!rec_turn_url(url)) {
            n = snprintf(buf + len, size - len,
                         "Link: <%s>; rel=\"ice-server\"\r\n", url);

        } else if (!credentials) {
            continue;

        } else {
            if (rec_turn_credentials(user, sizeof(user), cred, sizeof(cred))
                != REC_OK)
            {
                return REC_ERROR;
            }

            n = snprintf(buf + len, size - len,
                         "Link: <%s>; rel=\"ice-server\"; username=\"%s\"; "
                         "credential=\"%s\"; credential-type=\"password\"\r\n",
                         url, user, cred);
        }

        if (n < 0 || (size_t) n >= size - len) {
            buf[0] = '\0';
            return REC_ERROR;
        }

        len += (size_t) n;
    }

    return REC_OK;
}
