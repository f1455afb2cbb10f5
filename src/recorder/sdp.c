/*
 * hotline-recorder: SDP offer parser (RFC 8866, RFC 8829 subset).
 *
 * The parser is strict and bounded: it accepts at most REC_SDP_MAX_LEN
 * bytes, REC_SDP_MAX_LINES lines of at most REC_SDP_MAX_LINE bytes, only
 * printable characters, and refuses everything it cannot answer safely.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdp.h"


typedef struct {
    rec_sdp_offer_t  *offer;
    rec_sdp_media_t  *m;
    char             *err;
    size_t            errlen;
} rec_sdp_ctx_t;


static int rec_sdp_fail(rec_sdp_ctx_t *c, const char *fmt, const char *arg);
static int rec_sdp_line(rec_sdp_ctx_t *c, const char *line, size_t len);
static int rec_sdp_media_line(rec_sdp_ctx_t *c, const char *v);
static int rec_sdp_attr(rec_sdp_ctx_t *c, const char *a);
static int rec_sdp_rtpmap(rec_sdp_ctx_t *c, const char *v);
static int rec_sdp_fingerprint(rec_sdp_ctx_t *c, rec_sdp_transport_t *t,
    const char *v);
static int rec_sdp_copy(char *dst, size_t size, const char *src);
static int rec_sdp_ice_chars(const char *s);
static int rec_sdp_split(rec_sdp_ctx_t *c, const char *sdp, size_t len);
static int rec_sdp_in_list(const char *list, const char *mid);
static void rec_sdp_bundle(rec_sdp_offer_t *offer);
static void rec_sdp_transport(rec_sdp_offer_t *o, const rec_sdp_media_t *m,
    rec_sdp_transport_t *t);
static void rec_sdp_candidates(rec_sdp_offer_t *o);


static int
rec_sdp_fail(rec_sdp_ctx_t *c, const char *fmt, const char *arg)
{
    if (c->err != NULL && c->errlen > 0) {
        snprintf(c->err, c->errlen, fmt, arg ? arg : "");
    }

    return REC_ERROR;
}


static int
rec_sdp_copy(char *dst, size_t size, const char *src)
{
    size_t  n;

    n = strlen(src);

    if (n >= size) {
        return REC_ERROR;
    }

    memcpy(dst, src, n + 1);

    return REC_OK;
}


/* ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839) */

static int
rec_sdp_ice_chars(const char *s)
{
    for ( /* void */ ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || *s == '+' || *s == '/'))
        {
            return REC_ERROR;
        }
    }

    return REC_OK;
}


static int
rec_sdp_split(rec_sdp_ctx_t *c, const char *sdp, size_t len)
{
    size_t       i, start, end, nlines;
    char         line[REC_SDP_MAX_LINE + 1];

    nlines = 0;
    start = 0;

    while (start < len) {

        for (i = start; i < len && sdp[i] != '\n'; i++) {
            if ((u_char) sdp[i] < 0x20 && sdp[i] != '\r' && sdp[i] != '\t') {
                return rec_sdp_fail(c, "control character in SDP", NULL);
            }

            if ((u_char) sdp[i] == 0x7f) {
                return rec_sdp_fail(c, "control character in SDP", NULL);
            }
        }

        end = i;

        if (end > start && sdp[end - 1] == '\r') {
            end--;
        }

        if (end - start > REC_SDP_MAX_LINE) {
            return rec_sdp_fail(c, "SDP line too long", NULL);
        }

        if (++nlines > REC_SDP_MAX_LINES) {
            return rec_sdp_fail(c, "too many SDP lines", NULL);
        }

        memcpy(line, sdp + start, end - start);
        line[end - start] = '\0';

        if (nlines == 1 && strcmp(line, "v=0") != 0) {
            return rec_sdp_fail(c, "SDP must start with \"v=0\"", NULL);
        }

        if (end > start && rec_sdp_line(c, line, end - start) != REC_OK) {
            return REC_ERROR;
        }

        start = i + 1;
    }

    if (nlines == 0) {
        return rec_sdp_fail(c, "empty SDP", NULL);
    }

    return REC_OK;
}


/* is mid one of the space separated words of list */

static int
rec_sdp_in_list(const char *list, const char *mid)
{
    size_t       n;
    const char  *p;

    n = strlen(mid);

    if (n == 0) {
        return 0;
    }

    for (p = list; (p = strstr(p, mid)) != NULL; p += n) {
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0')) {
            return 1;
        }
    }

    return 0;
}


/*
 * The first BUNDLE group decides (RFC 8843): its sections share one
 * transport; a section outside it or bundle-only outside it is declined,
 * a bundle-only section (port 0) inside it is accepted.
 */

static void
rec_sdp_bundle(rec_sdp_offer_t *o)
{
    unsigned          i;
    rec_sdp_media_t  *m;

    for (i = 0; i < o->n_media; i++) {
        m = &o->media[i];
        m->in_bundle = o->has_bundle && rec_sdp_in_list(o->bundle, m->mid);

        if (m->port_zero && !(m->bundle_only && m->in_bundle)) {
            m->rejected = 1;
        }

        if (o->has_bundle && !m->in_bundle) {
            m->rejected = 1;
        }
    }
}


/* the attributes in effect for a section: its own, else the session's */

static void
rec_sdp_transport(rec_sdp_offer_t *o, const rec_sdp_media_t *m,
    rec_sdp_transport_t *t)
{
    const rec_sdp_transport_t  *s;

    s = &o->session;

    if (m->tp.ufrag[0] != '\0' || m->tp.pwd[0] != '\0') {
        memcpy(t->ufrag, m->tp.ufrag, sizeof(t->ufrag));
        memcpy(t->pwd, m->tp.pwd, sizeof(t->pwd));

    } else {
        memcpy(t->ufrag, s->ufrag, sizeof(t->ufrag));
        memcpy(t->pwd, s->pwd, sizeof(t->pwd));
    }

    if (m->tp.has_fingerprint) {
        memcpy(t->fingerprint, m->tp.fingerprint, 32);
        t->has_fingerprint = 1;

    } else {
        memcpy(t->fingerprint, s->fingerprint, 32);
        t->has_fingerprint = s->has_fingerprint;
    }

    t->setup_active = m->tp.setup_active || s->setup_active;
}


/*
 * Keeps the candidates of the chosen transport: those at session level
 * and those of sections with the same ICE credentials (or none of their
 * own); notes the mids of those sections for trickle ICE.
 */

static void
rec_sdp_candidates(rec_sdp_offer_t *o)
{
    int                  keep[REC_SDP_MAX_MEDIA];
    size_t               len;
    unsigned             i, n;
    rec_sdp_media_t     *m;
    rec_sdp_transport_t  t;

    len = 0;
    o->mids[len++] = ' ';

    for (i = 0; i < o->n_media; i++) {
        m = &o->media[i];
        rec_sdp_transport(o, m, &t);

        keep[i] = m->tp.ufrag[0] == '\0' || strcmp(t.ufrag, o->ufrag) == 0;

        if (keep[i] && m->mid[0] != '\0') {
            n = strlen(m->mid);
            memcpy(o->mids + len, m->mid, n);
            len += n;
            o->mids[len++] = ' ';
        }
    }

    o->mids[len] = '\0';

    for (i = 0, n = 0; i < o->n_candidates; i++) {
        if (o->cand_media[i] >= 0 && !keep[o->cand_media[i]]) {
            continue;
        }

        if (n != i) {
            memcpy(o->candidates[n], o->candidates[i],
                   sizeof(o->candidates[0]));
            o->cand_media[n] = o->cand_media[i];
        }

        n++;
    }

    o->n_candidates = n;
}


int
rec_sdp_parse_offer(rec_sdp_offer_t *offer, const char *sdp, size_t len,
    char *err, size_t errlen)
{
    int                   first;
    unsigned              i, usable;
    rec_sdp_ctx_t         c;
    rec_sdp_media_t      *m;
    rec_sdp_transport_t   t;

    memset(offer, 0, sizeof(rec_sdp_offer_t));
    memset(&c, 0, sizeof(rec_sdp_ctx_t));
    c.offer = offer;
    c.err = err;
    c.errlen = errlen;

    if (len == 0) {
        return rec_sdp_fail(&c, "empty SDP", NULL);
    }

    if (len > REC_SDP_MAX_LEN) {
        return rec_sdp_fail(&c, "SDP too large", NULL);
    }

    if (rec_sdp_split(&c, sdp, len) != REC_OK) {
        return REC_ERROR;
    }

    if (offer->n_media == 0) {
        return rec_sdp_fail(&c, "no media section in SDP", NULL);
    }

    rec_sdp_bundle(offer);

    usable = 0;
    first = -1;

    for (i = 0; i < offer->n_media; i++) {
        m = &offer->media[i];

        if (m->mid[0] == '\0') {
            return rec_sdp_fail(&c, "media section without a=mid", NULL);
        }

        if (m->kind == REC_SDP_OTHER || m->pt < 0
            || m->direction == REC_SDP_RECVONLY
            || m->direction == REC_SDP_INACTIVE
            || strcmp(m->proto, "UDP/TLS/RTP/SAVPF") != 0)
        {
            m->rejected = 1;
        }

        if (m->rejected) {
            continue;
        }

        /* without BUNDLE one transport carries one section only */

        if (first >= 0 && !offer->has_bundle) {
            m->rejected = 1;
            continue;
        }

        if (first < 0) {
            first = (int) i;
        }

        usable++;
    }

    if (usable == 0) {
        return rec_sdp_fail(&c, "no sendable opus or VP8 media in offer",
                            NULL);
    }

    rec_sdp_transport(offer, &offer->media[first], &t);

    memcpy(offer->ufrag, t.ufrag, sizeof(offer->ufrag));
    memcpy(offer->pwd, t.pwd, sizeof(offer->pwd));
    memcpy(offer->fingerprint, t.fingerprint, 32);
    offer->has_fingerprint = t.has_fingerprint;
    offer->setup_active = t.setup_active;

    if (offer->ufrag[0] == '\0' || offer->pwd[0] == '\0') {
        return rec_sdp_fail(&c, "missing a=ice-ufrag or a=ice-pwd", NULL);
    }

    if (strlen(offer->ufrag) < 4 || strlen(offer->pwd) < 22) {
        return rec_sdp_fail(&c, "ICE credentials too short", NULL);
    }

    if (!offer->has_fingerprint) {
        return rec_sdp_fail(&c, "missing a=fingerprint:sha-256", NULL);
    }

    if (!offer->setup_active) {
        return rec_sdp_fail(&c, "a=setup must be actpass or active", NULL);
    }

    rec_sdp_candidates(offer);

    return REC_OK;
}


int
rec_sdp_parse_frag(rec_sdp_offer_t *frag, const char *body, size_t len,
    const char *mids, char *err, size_t errlen)
{
    int            other;
    rec_sdp_ctx_t  c;
    size_t         i, start, end;
    char           line[REC_SDP_MAX_LINE + 1];

    memset(frag, 0, sizeof(rec_sdp_offer_t));
    memset(&c, 0, sizeof(rec_sdp_ctx_t));
    c.offer = frag;
    c.err = err;
    c.errlen = errlen;

    if (len > REC_SDP_MAX_LEN) {
        return rec_sdp_fail(&c, "SDP fragment too large", NULL);
    }

    start = 0;
    other = 0;

    while (start < len) {
        for (i = start; i < len && body[i] != '\n'; i++) {
            if ((u_char) body[i] < 0x20 && body[i] != '\r') {
                return rec_sdp_fail(&c, "control character in SDP", NULL);
            }
        }

        end = i;

        if (end > start && body[end - 1] == '\r') {
            end--;
        }

        if (end - start > REC_SDP_MAX_LINE) {
            return rec_sdp_fail(&c, "SDP line too long", NULL);
        }

        memcpy(line, body + start, end - start);
        line[end - start] = '\0';

        if (line[0] == 'a' && line[1] == '=') {
            if (strncmp(line + 2, "mid:", 4) == 0) {
                other = mids != NULL && !rec_sdp_in_list(mids, line + 6);

            } else if (strncmp(line + 2, "ice-ufrag:", 10) == 0
                       || strncmp(line + 2, "ice-pwd:", 8) == 0
                       || (strncmp(line + 2, "candidate:", 10) == 0
                           && !other))
            {
                if (rec_sdp_attr(&c, line + 2) != REC_OK) {
                    return REC_ERROR;
                }
            }

        } else if (line[0] == 'm' && line[1] == '=') {
            /* the media line only identifies the bundle transport */

        } else if (end > start) {
            return rec_sdp_fail(&c, "unexpected line in SDP fragment",
                                NULL);
        }

        start = i + 1;
    }

    memcpy(frag->ufrag, frag->session.ufrag, sizeof(frag->ufrag));
    memcpy(frag->pwd, frag->session.pwd, sizeof(frag->pwd));

    return REC_OK;
}


static int
rec_sdp_line(rec_sdp_ctx_t *c, const char *line, size_t len)
{
    if (len < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z') {
        return rec_sdp_fail(c, "malformed SDP line \"%.40s\"", line);
    }

    switch (line[0]) {

    case 'm':
        return rec_sdp_media_line(c, line + 2);

    case 'a':
        return rec_sdp_attr(c, line + 2);

    default:
        return REC_OK;
    }
}


static int
rec_sdp_media_line(rec_sdp_ctx_t *c, const char *v)
{
    int               n;
    char              kind[16], proto[32];
    unsigned          port;
    rec_sdp_media_t  *m;

    if (c->offer->n_media >= REC_SDP_MAX_MEDIA) {
        return rec_sdp_fail(c, "too many media sections", NULL);
    }

    n = 0;

    if (sscanf(v, "%15s %u %31s %n", kind, &port, proto, &n) != 3
        || n == 0 || port > 65535)
    {
        return rec_sdp_fail(c, "malformed m= line \"%.40s\"", v);
    }

    m = &c->offer->media[c->offer->n_media++];
    c->m = m;

    m->pt = -1;
    m->direction = REC_SDP_SENDRECV;

    if (strcmp(kind, "audio") == 0) {
        m->kind = REC_SDP_AUDIO;

    } else if (strcmp(kind, "video") == 0) {
        m->kind = REC_SDP_VIDEO;

    } else {
        m->kind = REC_SDP_OTHER;
    }

    m->port_zero = port == 0;

    (void) rec_sdp_copy(m->proto, sizeof(m->proto), proto);

    if (rec_sdp_copy(m->fmts, sizeof(m->fmts), v + n) != REC_OK) {
        return rec_sdp_fail(c, "too many formats in m= line", NULL);
    }

    return REC_OK;
}


static int
rec_sdp_attr(rec_sdp_ctx_t *c, const char *a)
{
    size_t                n;
    const char           *mid;
    rec_sdp_offer_t      *o;
    rec_sdp_transport_t  *t;

    o = c->offer;

    /* transport attributes: of the media section, or of the session */

    t = c->m != NULL ? &c->m->tp : &o->session;

    if (strncmp(a, "ice-ufrag:", 10) == 0) {
        a += 10;

        if (t->ufrag[0] != '\0') {
            if (strcmp(t->ufrag, a) != 0) {
                return rec_sdp_fail(c, "conflicting a=ice-ufrag", NULL);
            }

            return REC_OK;
        }

        if (rec_sdp_copy(t->ufrag, sizeof(t->ufrag), a) != REC_OK
            || rec_sdp_ice_chars(t->ufrag) != REC_OK)
        {
            t->ufrag[0] = '\0';
            return rec_sdp_fail(c, "invalid a=ice-ufrag", NULL);
        }

        return REC_OK;
    }

    if (strncmp(a, "ice-pwd:", 8) == 0) {
        a += 8;

        if (t->pwd[0] != '\0') {
            if (strcmp(t->pwd, a) != 0) {
                return rec_sdp_fail(c, "conflicting a=ice-pwd", NULL);
            }

            return REC_OK;
        }

        if (rec_sdp_copy(t->pwd, sizeof(t->pwd), a) != REC_OK
            || rec_sdp_ice_chars(t->pwd) != REC_OK)
        {
            t->pwd[0] = '\0';
            return rec_sdp_fail(c, "invalid a=ice-pwd", NULL);
        }

        return REC_OK;
    }

    if (strncmp(a, "fingerprint:", 12) == 0) {
        return rec_sdp_fingerprint(c, t, a + 12);
    }

    if (strncmp(a, "setup:", 6) == 0) {
        a += 6;

        if (strcmp(a, "actpass") == 0 || strcmp(a, "active") == 0) {
            t->setup_active = 1;
            return REC_OK;
        }

        if (strcmp(a, "passive") == 0 || strcmp(a, "holdconn") == 0) {
            return rec_sdp_fail(c, "a=setup:%s is not supported", a);
        }

        return rec_sdp_fail(c, "invalid a=setup", NULL);
    }

    if (strncmp(a, "group:BUNDLE", 12) == 0) {
        if (o->has_bundle) {
            return REC_OK;      /* the first group is the one used */
        }

        if (rec_sdp_copy(o->bundle, sizeof(o->bundle), a + 12) != REC_OK) {
            return rec_sdp_fail(c, "a=group:BUNDLE too long", NULL);
        }

        o->has_bundle = 1;
        return REC_OK;
    }

    if (strncmp(a, "candidate:", 10) == 0) {
        if (o->n_candidates >= REC_SDP_MAX_CANDIDATES) {
            return REC_OK;   /* ignore the excess, ICE needs only a few */
        }

        if (rec_sdp_copy(o->candidates[o->n_candidates],
                         sizeof(o->candidates[0]), a) != REC_OK)
        {
            return rec_sdp_fail(c, "a=candidate too long", NULL);
        }

        o->cand_media[o->n_candidates] = c->m != NULL
                                         ? (int) (c->m - o->media) : -1;
        o->n_candidates++;
        return REC_OK;
    }

    if (c->m == NULL) {
        return REC_OK;      /* other session level attributes */
    }

    if (strncmp(a, "mid:", 4) == 0) {
        mid = a + 4;
        n = strlen(mid);

        if (n == 0 || n >= sizeof(c->m->mid)
            || strspn(mid, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n)
        {
            return rec_sdp_fail(c, "invalid a=mid", NULL);
        }

        memcpy(c->m->mid, mid, n + 1);
        return REC_OK;
    }

    if (strncmp(a, "rtpmap:", 7) == 0) {
        return rec_sdp_rtpmap(c, a + 7);
    }

    if (strcmp(a, "bundle-only") == 0) {
        c->m->bundle_only = 1;
        return REC_OK;
    }

    if (strcmp(a, "sendrecv") == 0) {
        c->m->direction = REC_SDP_SENDRECV;

    } else if (strcmp(a, "sendonly") == 0) {
        c->m->direction = REC_SDP_SENDONLY;

    } else if (strcmp(a, "recvonly") == 0) {
        c->m->direction = REC_SDP_RECVONLY;

    } else if (strcmp(a, "inactive") == 0) {
        c->m->direction = REC_SDP_INACTIVE;
    }

    return REC_OK;
}


static int
rec_sdp_rtpmap(rec_sdp_ctx_t *c, const char *v)
{
    int        n;
    char       name[32];
    unsigned   pt, clock, channels;

    channels = 1;
    n = sscanf(v, "%u %31[^/]/%u/%u", &pt, name, &clock, &channels);

    if (n < 3 || pt > 127 || clock == 0 || channels == 0 || channels > 8) {
        return rec_sdp_fail(c, "malformed a=rtpmap \"%.40s\"", v);
    }

    if (c->m->pt >= 0) {
        return REC_OK;      /* the first usable codec wins */
    }

    if (c->m->kind == REC_SDP_AUDIO && strcasecmp(name, "opus") == 0
        && clock == 48000 && channels == 2)
    {
        c->m->pt = (int) pt;
        c->m->clock = clock;
        c->m->channels = channels;

    } else if (c->m->kind == REC_SDP_VIDEO && strcasecmp(name, "VP8") == 0
               && clock == 90000)
    {
        c->m->pt = (int) pt;
        c->m->clock = clock;
        c->m->channels = 0;
    }

    return REC_OK;
}


static int
rec_sdp_fingerprint(rec_sdp_ctx_t *c, rec_sdp_transport_t *t,
    const char *v)
{
    int        hi, lo;
    size_t     i;
    u_char     fp[32];
    const char *p;

    if (strncasecmp(v, "sha-256 ", 8) != 0) {
        /* other hash functions are ignored; sha-256 is mandatory */
        return REC_OK;
    }

    p = v + 8;

    for (i = 0; i < 32; i++) {
        hi = p[0];
        lo = hi ? p[1] : 0;

#define rec_hex(ch)                                                           \
        ((ch) >= '0' && (ch) <= '9' ? (ch) - '0'                              \
         : (ch) >= 'a' && (ch) <= 'f' ? (ch) - 'a' + 10                       \
         : (ch) >= 'A' && (ch) <= 'F' ? (ch) - 'A' + 10 : -1)

        if (rec_hex(hi) < 0 || rec_hex(lo) < 0) {
            return rec_sdp_fail(c, "malformed a=fingerprint", NULL);
        }

        fp[i] = (u_char) (rec_hex(hi) << 4 | rec_hex(lo));

#undef rec_hex

        p += 2;

        if (i < 31) {
            if (*p != ':') {
                return rec_sdp_fail(c, "malformed a=fingerprint", NULL);
            }

            p++;
        }
    }

    if (*p != '\0') {
        return rec_sdp_fail(c, "malformed a=fingerprint", NULL);
    }

    if (t->has_fingerprint && memcmp(t->fingerprint, fp, 32) != 0) {
        return rec_sdp_fail(c, "conflicting a=fingerprint", NULL);
    }

    memcpy(t->fingerprint, fp, 32);
    t->has_fingerprint = 1;

    return REC_OK;
}
