/*
 * hotline-recorder: the merge job.
 *
 *   hotline-recorder --job merge OUT PATH SIDE OFFSET_MS [PATH SIDE ...]
 *
 * SIDE is "left" (customer) or "right" (agent), OFFSET_MS where the
 * file's time 0 lies on the call's timeline.  Writes OUT (a WebM: stereo
 * Opus, and VP8 1280x480 when an input has video) and prints one JSON
 * line: size, duration_ms, frames, and the CPU time it took.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "jobs.h"
#include "merge_job.h"


#define REC_MERGE_MAX_INPUTS  64


static int
rec_merge_run(const char *out, rec_merge_input_t *in, unsigned n,
    json_t *res)
{
    int                 rc, key;
    size_t              len;
    int64_t             at, vt, end;
    uint64_t            atrack, vtrack, size, aframes, vframes;
    unsigned            pre_skip, vk;
    u_char              pkt[4000];
    rec_webm_t         *w;
    const u_char       *vdata;
    rec_merge_audio_t  *a;
    rec_merge_video_t  *v;

    pre_skip = 312;
    a = rec_merge_audio_open(in, n, &pre_skip);
    v = rec_merge_video_open(in, n);
    w = rec_webm_open(out);

    if (w == NULL || (a == NULL && v == NULL)) {
        rec_merge_audio_close(a);
        rec_merge_video_close(v);

        if (w != NULL) {
            (void) rec_webm_close(w, &size);
        }

        return REC_ERROR;
    }

    atrack = a != NULL ? rec_webm_add_opus(w, 2, pre_skip) : 0;
    vtrack = v != NULL ? rec_webm_add_vp8(w, REC_MERGE_WIDTH,
                                          REC_MERGE_HEIGHT) : 0;
    rc = REC_OK;
    aframes = vframes = 0;
    end = 0;
    vk = 0;

    /* both tracks in time order: 20 ms of audio, 1/15 s of video */

    for ( ;; ) {
        at = a != NULL ? (int64_t) aframes * 20000000 : INT64_MAX;
        vt = v != NULL ? (int64_t) vk * 1000000000 / REC_MERGE_FPS
                       : INT64_MAX;

        if (at == INT64_MAX && vt == INT64_MAX) {
            break;
        }

        if (at <= vt) {
            rc = rec_merge_audio_next(a, pkt, sizeof(pkt), &len);

            if (rc == 0) {
                rec_merge_audio_close(a);
                a = NULL;
                rc = REC_OK;
                continue;
            }

            if (rc < 0 || rec_webm_write(w, atrack, pkt, len, (uint64_t) at,
                                         0) != 0)
            {
                rc = REC_ERROR;
                break;
            }

            aframes++;
            end = at + 20000000 > end ? at + 20000000 : end;
            rc = REC_OK;
            continue;
        }

        if (rec_merge_video_done(v)) {
            rec_merge_video_close(v);
            v = NULL;
            continue;
        }

        rc = rec_merge_video_frame(v, vt, &vdata, &len, &key);
        vk++;

        if (rc < 0) {
            rc = REC_ERROR;
            break;
        }

        if (rc > 0) {
            if (rec_webm_write(w, vtrack, vdata, len,
                               (uint64_t) (vt / 1000000 * 1000000), key)
                != 0)
            {
                rc = REC_ERROR;
                break;
            }

            vframes++;
            end = vt + 1000000000 / REC_MERGE_FPS > end
                  ? vt + 1000000000 / REC_MERGE_FPS : end;
        }

        rc = REC_OK;
    }

    rec_merge_audio_close(a);
    rec_merge_video_close(v);

    if (end > 0) {
        rec_webm_set_duration(w, (uint64_t) end);
    }

    if (rec_webm_close(w, &size) != 0 || rc != REC_OK) {
        return REC_ERROR;
    }

    json_object_set_new(res, "size", json_integer((json_int_t) size));
    json_object_set_new(res, "duration_ms",
                        json_integer((json_int_t) (end / 1000000)));
    json_object_set_new(res, "audio_frames",
                        json_integer((json_int_t) aframes));
    json_object_set_new(res, "video_frames",
                        json_integer((json_int_t) vframes));

    return REC_OK;
}


int
rec_merge_main(int argc, char **argv)
{
    int                 i, rc;
    char               *end;
    json_t             *res;
    unsigned            n;
    struct rusage       ru;
    rec_merge_input_t   in[REC_MERGE_MAX_INPUTS];

    if (argc < 4 || (argc - 1) % 3 != 0
        || (argc - 1) / 3 > REC_MERGE_MAX_INPUTS)
    {
        fprintf(stderr, "usage: hotline-recorder --job merge OUT "
                "PATH left|right OFFSET_MS ...\n");
        return 2;
    }

    n = 0;

    for (i = 1; i < argc; i += 3) {
        in[n].path = argv[i];
        in[n].side = strcmp(argv[i + 1], "right") == 0 ? REC_MERGE_RIGHT
                                                        : REC_MERGE_LEFT;
        in[n].offset_ns = strtoll(argv[i + 2], &end, 10) * 1000000;

        if (*end != '\0' || in[n].offset_ns < 0) {
            fprintf(stderr, "hotline-recorder: bad merge offset\n");
            return 2;
        }

        n++;
    }

    res = json_object();
    rc = rec_merge_run(argv[0], in, n, res);

    if (rc != REC_OK) {
        json_object_clear(res);
        json_object_set_new(res, "error", json_string("merge failed"));
        (void) remove(argv[0]);
    }

    json_object_set_new(res, "nice", json_integer(getpriority(PRIO_PROCESS,
                                                              0)));

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        json_object_set_new(res, "cpu_ms", json_integer(
            (json_int_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000
            + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000));
    }

    json_dumpf(res, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(res);

    return rc == REC_OK ? 0 : 1;
}
