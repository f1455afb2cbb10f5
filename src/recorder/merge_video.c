/*
 * hotline-recorder: the merged recording's video.  Each input's VP8
 * frames are decoded (libvpx) when the call's time reaches them and drawn,
 * scaled to fit with black borders, into its half of a 1280x480 picture:
 * the customer left, the agent right.  A side shows its latest frame and
 * goes black when its participant sent none for 2 s (camera off, gone).
 * The picture is encoded again (VP8, 15 frames a second).
 */

#include <stdlib.h>
#include <string.h>

#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include "merge_job.h"


#define REC_MERGE_HALF       (REC_MERGE_WIDTH / 2)
#define REC_MERGE_STALE      2000000000LL      /* ns without a frame */
#define REC_MERGE_KBPS       800
#define REC_MERGE_MAX_FRAME  (4 * 1024 * 1024)


typedef struct {
    rec_webm_reader_t  *r;
    vpx_codec_ctx_t     dec;
    int                 dec_ok;
    int                 side;
    int64_t             offset_ns;
    int                 done;
    int                 have;
    int64_t             t;              /* the read frame's call time */
    size_t              len;
    u_char             *data;
    size_t              size;
} rec_merge_vin_t;


struct rec_merge_video_s {
    rec_merge_vin_t    *in;
    unsigned            n;
    vpx_codec_ctx_t     enc;
    int                 enc_ok;
    vpx_image_t        *canvas;
    int64_t             last[2];        /* call time of a side's frame */
    int                 blank[2];
    unsigned            src_w[2];       /* the size drawn on a side */
    unsigned            src_h[2];
    uint16_t            xmap[2][2][REC_MERGE_HALF];  /* luma, chroma */
    int64_t             pts;
    u_char             *out;
    size_t              out_size;
};


static int
rec_merge_video_read(rec_merge_vin_t *i)
{
    int               rc;
    u_char           *p;
    rec_webm_frame_t  f;

    while ((rc = rec_webm_read_next(i->r, &f)) == 1) {
        if (!f.video || f.len == 0 || f.len > REC_MERGE_MAX_FRAME) {
            continue;
        }

        if (f.len > i->size) {
            p = realloc(i->data, f.len);
            if (p == NULL) {
                return -1;
            }

            i->data = p;
            i->size = f.len;
        }

        memcpy(i->data, f.data, f.len);
        i->len = f.len;
        i->t = i->offset_ns + (int64_t) f.ts_ns;
        i->have = 1;

        return 1;
    }

    return rc;
}


/* one side black (Y 16, U and V 128) */

static void
rec_merge_video_clear(rec_merge_video_t *v, int side)
{
    int           p, y, w, h, x0;
    vpx_image_t  *c;

    c = v->canvas;

    for (p = 0; p < 3; p++) {
        w = p ? REC_MERGE_HALF / 2 : REC_MERGE_HALF;
        h = p ? REC_MERGE_HEIGHT / 2 : REC_MERGE_HEIGHT;
        x0 = side * w;

        for (y = 0; y < h; y++) {
            memset(c->planes[p] + y * c->stride[p] + x0, p ? 128 : 16,
                   (size_t) w);
        }
    }
}


/*
 * img scaled to fit its side, nearest neighbour (columns from a table
 * made once per picture size), borders black
 */

static void
rec_merge_video_draw(rec_merge_video_t *v, int side, const vpx_image_t *img)
{
    int           p, x, y, w, h, dw, dh, x0, y0, sw, sh;
    u_char       *d;
    const u_char *s;
    uint16_t     *map;
    vpx_image_t  *c;

    if (img->fmt != VPX_IMG_FMT_I420 || img->d_w == 0 || img->d_h == 0
        || img->d_w > 8192 || img->d_h > 8192)
    {
        return;
    }

    c = v->canvas;

    /* the largest even size of the picture's shape in 640x480 */

    if ((int64_t) img->d_w * REC_MERGE_HEIGHT
        > (int64_t) img->d_h * REC_MERGE_HALF)
    {
        dw = REC_MERGE_HALF;
        dh = (int) ((int64_t) img->d_h * REC_MERGE_HALF / img->d_w);

    } else {
        dh = REC_MERGE_HEIGHT;
        dw = (int) ((int64_t) img->d_w * REC_MERGE_HEIGHT / img->d_h);
    }

    dw &= ~1;
    dh &= ~1;

    if (dw < 2 || dh < 2) {
        return;
    }

    /* a new shape: new borders and column tables */

    if (v->blank[side] || img->d_w != v->src_w[side]
        || img->d_h != v->src_h[side])
    {
        rec_merge_video_clear(v, side);
        v->src_w[side] = img->d_w;
        v->src_h[side] = img->d_h;

        for (p = 0; p < 2; p++) {
            w = p ? dw / 2 : dw;
            sw = p ? (int) (img->d_w + 1) / 2 : (int) img->d_w;

            for (x = 0; x < w; x++) {
                v->xmap[side][p][x] = (uint16_t) (x * sw / w);
            }
        }
    }

    x0 = (side * REC_MERGE_HALF + (REC_MERGE_HALF - dw) / 2) & ~1;
    y0 = ((REC_MERGE_HEIGHT - dh) / 2) & ~1;

    for (p = 0; p < 3; p++) {
        w = p ? dw / 2 : dw;
        h = p ? dh / 2 : dh;
        sh = p ? (int) (img->d_h + 1) / 2 : (int) img->d_h;
        map = v->xmap[side][p ? 1 : 0];

        for (y = 0; y < h; y++) {
            d = c->planes[p] + (y + (p ? y0 / 2 : y0)) * c->stride[p]
                + (p ? x0 / 2 : x0);
            s = img->planes[p] + (y * sh / h) * img->stride[p];

            for (x = 0; x < w; x++) {
                d[x] = s[map[x]];
            }
        }
    }

    v->blank[side] = 0;
}


rec_merge_video_t *
rec_merge_video_open(rec_merge_input_t *in, unsigned n)
{
    unsigned            k;
    rec_merge_vin_t    *i;
    rec_webm_info_t     info;
    rec_merge_video_t  *v;
    vpx_codec_enc_cfg_t cfg;

    v = calloc(1, sizeof(rec_merge_video_t));
    if (v == NULL) {
        return NULL;
    }

    v->in = calloc(n, sizeof(rec_merge_vin_t));
    if (v->in == NULL) {
        free(v);
        return NULL;
    }

    for (k = 0; k < n; k++) {
        i = &v->in[v->n];
        memset(i, 0, sizeof(rec_merge_vin_t));
        i->r = rec_webm_read_open(in[k].path, &info);

        if (i->r == NULL || !info.has_video) {
            rec_webm_read_close(i->r);
            continue;
        }

        if (vpx_codec_dec_init(&i->dec, vpx_codec_vp8_dx(), NULL, 0)
            != VPX_CODEC_OK)
        {
            rec_webm_read_close(i->r);
            continue;
        }

        i->dec_ok = 1;
        i->side = in[k].side;
        i->offset_ns = in[k].offset_ns;
        v->n++;
    }

    if (v->n == 0) {
        rec_merge_video_close(v);
        return NULL;
    }

    v->canvas = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, REC_MERGE_WIDTH,
                              REC_MERGE_HEIGHT, 16);

    if (v->canvas == NULL
        || vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0)
           != VPX_CODEC_OK)
    {
        rec_merge_video_close(v);
        return NULL;
    }

    cfg.g_w = REC_MERGE_WIDTH;
    cfg.g_h = REC_MERGE_HEIGHT;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = REC_MERGE_FPS;
    cfg.rc_target_bitrate = REC_MERGE_KBPS;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_max_dist = 5 * REC_MERGE_FPS;
    cfg.rc_dropframe_thresh = 0;

    if (vpx_codec_enc_init(&v->enc, vpx_codec_vp8_cx(), &cfg, 0)
        != VPX_CODEC_OK)
    {
        rec_merge_video_close(v);
        return NULL;
    }

    v->enc_ok = 1;
    vpx_codec_control(&v->enc, VP8E_SET_CPUUSED, 16);

    rec_merge_video_clear(v, REC_MERGE_LEFT);
    rec_merge_video_clear(v, REC_MERGE_RIGHT);
    v->last[0] = v->last[1] = -1;
    v->blank[0] = v->blank[1] = 1;

    return v;
}


/* decodes what input i has up to t, draws its latest picture */

static int
rec_merge_video_advance(rec_merge_video_t *v, rec_merge_vin_t *i, int64_t t)
{
    int                 rc;
    vpx_image_t        *img, *latest;
    vpx_codec_iter_t    it;

    latest = NULL;

    while (!i->done) {
        if (!i->have) {
            rc = rec_merge_video_read(i);

            if (rc < 0) {
                return REC_ERROR;
            }

            if (rc == 0) {
                i->done = 1;
                break;
            }
        }

        if (i->t > t) {
            break;
        }

        i->have = 0;

        /* a frame that does not decode (a lost reference): skipped */

        if (vpx_codec_decode(&i->dec, i->data, (unsigned) i->len, NULL, 0)
            != VPX_CODEC_OK)
        {
            continue;
        }

        it = NULL;

        while ((img = vpx_codec_get_frame(&i->dec, &it)) != NULL) {
            latest = img;
            v->last[i->side] = i->t;
        }
    }

    /* only the latest picture is shown: drawn once (it stays valid until
     * the decoder is called again) */

    if (latest != NULL) {
        rec_merge_video_draw(v, i->side, latest);
    }

    return REC_OK;
}


int
rec_merge_video_frame(rec_merge_video_t *v, int64_t t_ns,
    const u_char **data, size_t *len, int *key)
{
    int                        side;
    u_char                    *p;
    unsigned                   k;
    vpx_codec_iter_t           it;
    const vpx_codec_cx_pkt_t  *pkt;

    /* the pictures nearest to t: up to half a frame period after it */

    for (k = 0; k < v->n; k++) {
        if (rec_merge_video_advance(v, &v->in[k],
                                    t_ns + 500000000 / REC_MERGE_FPS)
            != REC_OK)
        {
            return -1;
        }
    }

    for (side = 0; side < 2; side++) {
        if (!v->blank[side] && t_ns - v->last[side] > REC_MERGE_STALE) {
            rec_merge_video_clear(v, side);
            v->blank[side] = 1;
        }
    }

    if (vpx_codec_encode(&v->enc, v->canvas, v->pts++, 1, 0,
                         VPX_DL_REALTIME) != VPX_CODEC_OK)
    {
        return -1;
    }

    it = NULL;
    *len = 0;

    while ((pkt = vpx_codec_get_cx_data(&v->enc, &it)) != NULL) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) {
            continue;
        }

        if (pkt->data.frame.sz > v->out_size) {
            p = realloc(v->out, pkt->data.frame.sz);
            if (p == NULL) {
                return -1;
            }

            v->out = p;
            v->out_size = pkt->data.frame.sz;
        }

        memcpy(v->out, pkt->data.frame.buf, pkt->data.frame.sz);
        *len = pkt->data.frame.sz;
        *key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    }

    *data = v->out;

    return *len > 0;
}


int
rec_merge_video_done(rec_merge_video_t *v)
{
    unsigned  k;

    for (k = 0; k < v->n; k++) {
        if (!v->in[k].done) {
            return 0;
        }
    }

    return 1;
}


void
rec_merge_video_close(rec_merge_video_t *v)
{
    unsigned  k;

    if (v == NULL) {
        return;
    }

    for (k = 0; k < v->n; k++) {
        rec_webm_read_close(v->in[k].r);

        if (v->in[k].dec_ok) {
            vpx_codec_destroy(&v->in[k].dec);
        }

        free(v->in[k].data);
    }

    if (v->enc_ok) {
        vpx_codec_destroy(&v->enc);
    }

    if (v->canvas != NULL) {
        vpx_img_free(v->canvas);
    }

    free(v->in);
    free(v->out);
    free(v);
}
