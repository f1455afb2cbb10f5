/*
 * libFuzzer target: SDP offer and trickle fragment parsers, and the answer
 * built from whatever offer parses.
 */

#include <stdlib.h>
#include <string.h>

#include "sdp.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                     err[256], *answer;
    const char              *cands[1] = { "candidate:1 1 UDP 1 127.0.0.1 "
                                          "9 typ host" };
    rec_sdp_offer_t         *offer;
    rec_sdp_answer_params_t  ap;

    offer = malloc(sizeof(rec_sdp_offer_t));
    if (offer == NULL) {
        return 0;
    }

    (void) rec_sdp_parse_frag(offer, (const char *) data, size, " 0 a ",
                              err, sizeof(err));

    if (rec_sdp_parse_offer(offer, (const char *) data, size, err,
                            sizeof(err)) == REC_OK)
    {
        memset(&ap, 0, sizeof(ap));
        ap.ufrag = "abcd";
        ap.pwd = "abcdefghijklmnopqrstuvwx";
        ap.fingerprint = "00:11";
        ap.candidates = cands;
        ap.n_candidates = 1;

        answer = rec_sdp_build_answer(offer, &ap);
        if (answer == NULL || strncmp(answer, "v=0\r\n", 5) != 0) {
            abort();
        }

        free(answer);
    }

    free(offer);

    return 0;
}
