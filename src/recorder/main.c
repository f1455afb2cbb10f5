/*
 * hotline-recorder: command line, start-up checks, main loop, graceful
 * shutdown on SIGTERM/SIGINT (every open recording is finalized).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib-unix.h>
#include <openssl/crypto.h>

#include "dtls.h"
#include "http.h"
#include "http_client.h"
#include "calls.h"
#include "events.h"
#include "jobs.h"
#include "recover.h"
#include "retention.h"
#include "session.h"
#include "srtp.h"
#include "turn.h"


rec_conf_t  rec_conf;

static GMainLoop  *rec_loop;


/*
 * The main loop wakes up at most every --batch-ms while busy: packets
 * wait in the socket buffers a little and are read in batches, instead
 * of one wake-up (a poll of every socket) for each of them.  Nothing
 * here needs a faster answer: recordings, the 20 ms tick, HTTP.
 */

static gint
rec_poll(GPollFD *fds, guint n, gint timeout)
{
    gint64         now, idle;
    static gint64  last;

    now = g_get_monotonic_time();
    idle = (gint64) rec_conf.batch_ms * 1000 - (now - last);

    if (timeout != 0 && idle > 0) {
        if (timeout > 0 && (gint64) timeout * 1000 <= idle) {
            g_usleep((gulong) timeout * 1000);
            timeout = 0;

        } else {
            g_usleep((gulong) idle);

            if (timeout > 0) {
                timeout -= (gint) (idle / 1000);
            }
        }
    }

    n = (guint) g_poll(fds, n, timeout);
    last = g_get_monotonic_time();

    return (gint) n;
}


static void
rec_usage(void)
{
    fprintf(stderr,
        "usage: hotline-recorder --recordings DIR --secret-file FILE "
        "[options]\n"
        "  --listen ADDR          127.0.0.1:8088 (default), [::1]:PORT or "
        "unix:/PATH\n"
        "  --prefix PATH          WHIP endpoint path (default /whip)\n"
        "  --ice-address IP       local ICE address, repeatable "
        "(default 127.0.0.1)\n"
        "  --ice-server URL       STUN/TURN URL sent in Link headers, "
        "repeatable\n"
        "  --turn-secret-file F   TURN REST secret (coturn static-auth-"
        "secret)\n"
        "  --turn-ttl SEC         TURN credentials valid for, default "
        "3600\n"
        "  --ice-ports MIN-MAX    UDP port range for ICE\n"
        "  --max-sessions N       default 100\n"
        "  --max-recordings N     per call and role, default 20\n"
        "  --max-conn-per-addr N  HTTP connections per client address, "
        "default 32\n"
        "  --max-duration SEC     per recording, default 14400\n"
        "  --idle-timeout SEC     no media for this long ends it, default "
        "30\n"
        "  --min-free-disk MB     refuse and stop below, default 512\n"
        "  --video-bitrate KBPS   bitrate asked of video senders (REMB), "
        "default 1500\n"
        "  --admin-token-file F   bearer token of /admin/, 32 bytes or "
        "more\n"
        "  --check-url URL        ask nginx (hotline_recording_check) "
        "before each\n"
        "                         recording whether its call is in "
        "progress\n"
        "  --check-timeout MS     its answer within, default 3000\n"
        "  --event-url URL        POST signed recording.completed events\n"
        "  --event-secret-file F  their HMAC-SHA256 key, 32 bytes or more\n"
        "  --complete-after SEC   a call is complete this long after its "
        "last\n"
        "                         session ended, default 10\n"
        "  --retention-days N     delete calls older than this, default 0 "
        "(keep)\n"
        "  --retention-max-mb N   delete the oldest calls above this, "
        "default 0\n"
        "  --retention-interval S how often retention runs, default 60\n"
        "  --merge on|off         merge each call into call.webm, default on"
        "\n"
        "  --jobs N               finalize/merge jobs at once, default 1\n"
        "  --batch-ms MS          read packets in batches, every MS at "
        "most, default 20\n"
        "  --job-nice N           their nice value, default 10\n"
        "  --log-level LEVEL      error, warn, info (default), debug\n");
}


/*
 * A secret file: at least "min" bytes, trailing newlines ignored (as the
 * module does), a warning when the file is world accessible.
 */

static int
rec_read_secret(const char *path, u_char *buf, size_t size, size_t *len,
    size_t min)
{
    int          fd;
    ssize_t      n;
    struct stat  st;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fprintf(stderr, "hotline-recorder: cannot open secret file %s: %s\n",
                path, strerror(errno));
        return REC_ERROR;
    }

    if (fstat(fd, &st) == 0 && (st.st_mode & 0007)) {
        fprintf(stderr, "hotline-recorder: warning: secret file %s is "
                "world accessible\n", path);
    }

    n = read(fd, buf, size);
    close(fd);

    if (n < 0 || (size_t) n >= size) {
        fprintf(stderr, "hotline-recorder: bad secret file %s\n", path);
        return REC_ERROR;
    }

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if ((size_t) n < min) {
        fprintf(stderr, "hotline-recorder: the secret in %s must be at "
                "least %zu bytes\n", path, min);
        return REC_ERROR;
    }

    *len = (size_t) n;

    return REC_OK;
}


/* the secret files that were given, each with its least length */

static int
rec_read_secrets(void)
{
    unsigned  i;

    struct {
        const char  *file;
        u_char      *buf;
        size_t       size;
        size_t      *len;
        size_t       min;
    }  s[] = {
        { rec_conf.secret_file, rec_conf.secret, sizeof(rec_conf.secret),
          &rec_conf.secret_len, 32 },
        { rec_conf.turn_secret_file, rec_conf.turn_secret,
          sizeof(rec_conf.turn_secret), &rec_conf.turn_secret_len, 16 },
        { rec_conf.admin_token_file, rec_conf.admin_token,
          sizeof(rec_conf.admin_token), &rec_conf.admin_token_len, 32 },
        { rec_conf.event_secret_file, rec_conf.event_secret,
          sizeof(rec_conf.event_secret), &rec_conf.event_secret_len, 32 },
    };

    for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        if (s[i].file != NULL
            && rec_read_secret(s[i].file, s[i].buf, s[i].size, s[i].len,
                               s[i].min)
               != REC_OK)
        {
            return REC_ERROR;
        }
    }

    return REC_OK;
}


static gboolean
rec_quit(gpointer data)
{
    (void) data;

    g_main_loop_quit(rec_loop);

    return G_SOURCE_REMOVE;
}


static gboolean
rec_on_signal(gpointer data)
{
    rec_log(REC_LOG_INFO, "%s: finalizing %u recording(s)",
            (const char *) data, rec_sessions_count());

    rec_sessions_end_all("shutdown");

    /* after the session destroy handlers */
    g_idle_add_full(G_PRIORITY_LOW, rec_quit, NULL, NULL);

    return G_SOURCE_CONTINUE;
}


/* the numeric options, each within its bounds */

static int
rec_arg_number(int c, const char *arg)
{
    char           *end;
    unsigned long   v;
    unsigned        i;

    static const struct {
        int            opt;
        const char    *name;
        unsigned long  min;
        unsigned long  max;
    }  bounds[] = {
        { 'm', "--max-sessions", 0, 100000000 },
        { 'd', "--max-duration", 0, 100000000 },
        { 't', "--idle-timeout", 0, 100000000 },
        { 'f', "--min-free-disk", 0, 100000000 },
        { 'b', "--video-bitrate", 0, 100000000 },
        { 'u', "--turn-ttl", 60, 86400 },
        { 'R', "--max-recordings", 1, 1000 },
        { 'C', "--max-conn-per-addr", 1, 1000 },
        { 'c', "--complete-after", 0, 86400 },
        { 'D', "--retention-days", 0, 36500 },
        { 'M', "--retention-max-mb", 0, 100000000 },
        { 'I', "--retention-interval", 1, 86400 },
        { 'j', "--jobs", 1, 64 },
        { 'B', "--batch-ms", 0, 50 },
        { 'n', "--job-nice", 0, 19 },
        { 'k', "--check-timeout", 100, 8000 },
    };

    for (i = 0; bounds[i].opt != c; i++) {
        /* void */
    }

    v = strtoul(arg, &end, 10);

    if (*end != '\0' || end == arg || arg[0] == '-' || v < bounds[i].min
        || v > bounds[i].max)
    {
        fprintf(stderr, "hotline-recorder: %s must be a number from %lu to "
                "%lu\n", bounds[i].name, bounds[i].min, bounds[i].max);
        return REC_ERROR;
    }

    switch (c) {
    case 'm':
        rec_conf.max_sessions = (unsigned) v;
        break;

    case 'd':
        rec_conf.max_duration = (unsigned) v;
        break;

    case 't':
        rec_conf.idle_timeout = v ? (unsigned) v : 1;
        break;

    case 'f':
        rec_conf.min_free_disk = (uint64_t) v * 1024 * 1024;
        break;

    case 'b':
        rec_conf.video_bitrate = (uint64_t) v * 1000;
        break;

    case 'u':
        rec_conf.turn_ttl = (unsigned) v;
        break;

    case 'R':
        rec_conf.max_recordings = (unsigned) v;
        break;

    case 'C':
        rec_conf.max_conn_per_addr = (unsigned) v;
        break;

    case 'c':
        rec_conf.complete_after = (unsigned) v;
        break;

    case 'D':
        rec_conf.retention_days = (unsigned) v;
        break;

    case 'M':
        rec_conf.retention_max_bytes = (uint64_t) v * 1024 * 1024;
        break;

    case 'I':
        rec_conf.retention_interval = (unsigned) v;
        break;

    case 'j':
        rec_conf.jobs = (unsigned) v;
        break;

    case 'B':
        rec_conf.batch_ms = (unsigned) v;
        break;

    case 'k':
        rec_conf.check_timeout = (unsigned) v;
        break;

    default:
        rec_conf.job_nice = (int) v;
        break;
    }

    return REC_OK;
}


static int
rec_parse_args(int argc, char **argv)
{
    int            c;
    char          *end;
    unsigned long  v, v2;

    static const struct option  opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "prefix", required_argument, NULL, 'p' },
        { "recordings", required_argument, NULL, 'r' },
        { "secret-file", required_argument, NULL, 's' },
        { "ice-address", required_argument, NULL, 'a' },
        { "ice-server", required_argument, NULL, 'i' },
        { "ice-ports", required_argument, NULL, 'P' },
        { "turn-secret-file", required_argument, NULL, 'T' },
        { "turn-ttl", required_argument, NULL, 'u' },
        { "max-sessions", required_argument, NULL, 'm' },
        { "max-recordings", required_argument, NULL, 'R' },
        { "max-conn-per-addr", required_argument, NULL, 'C' },
        { "max-duration", required_argument, NULL, 'd' },
        { "idle-timeout", required_argument, NULL, 't' },
        { "min-free-disk", required_argument, NULL, 'f' },
        { "video-bitrate", required_argument, NULL, 'b' },
        { "admin-token-file", required_argument, NULL, 'A' },
        { "event-url", required_argument, NULL, 'E' },
        { "check-url", required_argument, NULL, 'K' },
        { "check-timeout", required_argument, NULL, 'k' },
        { "event-secret-file", required_argument, NULL, 'S' },
        { "complete-after", required_argument, NULL, 'c' },
        { "retention-days", required_argument, NULL, 'D' },
        { "retention-max-mb", required_argument, NULL, 'M' },
        { "retention-interval", required_argument, NULL, 'I' },
        { "merge", required_argument, NULL, 'G' },
        { "jobs", required_argument, NULL, 'j' },
        { "batch-ms", required_argument, NULL, 'B' },
        { "job-nice", required_argument, NULL, 'n' },
        { "log-level", required_argument, NULL, 'L' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    rec_conf.listen = "127.0.0.1:8088";
    rec_conf.prefix = "/whip";
    rec_conf.max_sessions = 100;
    rec_conf.max_recordings = 20;
    rec_conf.max_conn_per_addr = 32;
    rec_conf.max_duration = 14400;
    rec_conf.idle_timeout = 30;
    rec_conf.min_free_disk = 512ULL * 1024 * 1024;
    rec_conf.video_bitrate = 1500000;
    rec_conf.turn_ttl = 3600;
    rec_conf.jobs = 1;
    rec_conf.batch_ms = 20;
    rec_conf.merge = 1;
    rec_conf.complete_after = 10;
    rec_conf.retention_interval = 60;
    rec_conf.job_nice = 10;
    rec_conf.check_timeout = 3000;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {

        switch (c) {

        case 'l':
            rec_conf.listen = optarg;
            break;

        case 'p':
            if (optarg[0] != '/' || strlen(optarg) > 200) {
                fprintf(stderr, "hotline-recorder: bad --prefix\n");
                return REC_ERROR;
            }

            rec_conf.prefix = optarg;
            rec_conf.prefix[strlen(optarg) - (optarg[1] != '\0'
                                              && optarg[strlen(optarg) - 1]
                                                 == '/')] = '\0';
            break;

        case 'r':
            rec_conf.recordings_dir = optarg;
            break;

        case 's':
            rec_conf.secret_file = optarg;
            break;

        case 'a':
            if (rec_conf.n_ice_addrs == REC_MAX_ICE_ADDRS) {
                fprintf(stderr, "hotline-recorder: too many --ice-address\n");
                return REC_ERROR;
            }

            rec_conf.ice_addrs[rec_conf.n_ice_addrs++] = optarg;
            break;

        case 'i':
            if (rec_conf.n_ice_servers == REC_MAX_ICE_SERVERS
                || strlen(optarg) > 200
                || strpbrk(optarg, "\"\\ \t\r\n<>") != NULL
                || (strncmp(optarg, "stun:", 5) != 0
                    && strncmp(optarg, "stuns:", 6) != 0
                    && !rec_turn_url(optarg)))
            {
                fprintf(stderr, "hotline-recorder: bad --ice-server\n");
                return REC_ERROR;
            }

            rec_conf.ice_servers[rec_conf.n_ice_servers++] = optarg;
            break;

        case 'T':
            rec_conf.turn_secret_file = optarg;
            break;

        case 'A':
            rec_conf.admin_token_file = optarg;
            break;

        case 'G':
            if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0) {
                fprintf(stderr, "hotline-recorder: --merge on or off\n");
                return REC_ERROR;
            }

            rec_conf.merge = optarg[1] == 'n';
            break;

        case 'S':
            rec_conf.event_secret_file = optarg;
            break;

        case 'E':
        case 'K':
            if ((strncmp(optarg, "http://", 7) != 0
                 && strncmp(optarg, "https://", 8) != 0)
                || strlen(optarg) > 1000
                || strpbrk(optarg, " \t\r\n\"<>\\") != NULL)
            {
                fprintf(stderr, "hotline-recorder: --%s-url must be an "
                        "http or https URL\n", c == 'E' ? "event" : "check");
                return REC_ERROR;
            }

            *(c == 'E' ? &rec_conf.event_url : &rec_conf.check_url) = optarg;
            break;

        case 'P':
            v = strtoul(optarg, &end, 10);
            v2 = (*end == '-') ? strtoul(end + 1, &end, 10) : 0;

            if (*end != '\0' || v == 0 || v2 < v || v2 > 65535) {
                fprintf(stderr, "hotline-recorder: bad --ice-ports\n");
                return REC_ERROR;
            }

            rec_conf.port_min = (unsigned) v;
            rec_conf.port_max = (unsigned) v2;
            break;

        case 'm':
        case 'd':
        case 't':
        case 'f':
        case 'b':
        case 'u':
        case 'c':
        case 'D':
        case 'M':
        case 'I':
        case 'R':
        case 'C':
        case 'j':
        case 'B':
        case 'n':
        case 'k':
            if (rec_arg_number(c, optarg) != REC_OK) {
                return REC_ERROR;
            }

            break;

        case 'L':
            if (strcmp(optarg, "error") == 0) {
                rec_log_level = REC_LOG_ERR;

            } else if (strcmp(optarg, "warn") == 0) {
                rec_log_level = REC_LOG_WARN;

            } else if (strcmp(optarg, "info") == 0) {
                rec_log_level = REC_LOG_INFO;

            } else if (strcmp(optarg, "debug") == 0) {
                rec_log_level = REC_LOG_DEBUG;

            } else {
                fprintf(stderr, "hotline-recorder: bad --log-level\n");
                return REC_ERROR;
            }

            break;

        default:
            rec_usage();
            return REC_ERROR;
        }
    }

    if (optind != argc || rec_conf.recordings_dir == NULL
        || rec_conf.secret_file == NULL)
    {
        rec_usage();
        return REC_ERROR;
    }

    if (rec_conf.n_ice_addrs == 0) {
        rec_conf.ice_addrs[rec_conf.n_ice_addrs++] = "127.0.0.1";
    }

    return REC_OK;
}


int
main(int argc, char **argv)
{
    char         self[PATH_MAX];
    ssize_t      n;
    unsigned     i;
    struct stat  st;

    /* a job: the same binary, run by the job queue (jobs.c) */

    if (argc >= 2 && strcmp(argv[1], "--job") == 0) {
        return rec_job_main(argc, argv);
    }

    if (rec_parse_args(argc, argv) != REC_OK) {
        return 2;
    }

    if ((rec_conf.event_url == NULL) != (rec_conf.event_secret_file == NULL))
    {
        fprintf(stderr, "hotline-recorder: --event-url and "
                "--event-secret-file go together\n");
        return 1;
    }

    if (rec_read_secrets() != REC_OK) {
        return 1;
    }

    for (i = 0; i < rec_conf.n_ice_servers; i++) {
        if (rec_turn_url(rec_conf.ice_servers[i])
            && rec_conf.turn_secret_file == NULL)
        {
            fprintf(stderr, "hotline-recorder: --ice-server %s needs "
                    "--turn-secret-file\n", rec_conf.ice_servers[i]);
            return 1;
        }
    }

    if (stat(rec_conf.recordings_dir, &st) != 0 || !S_ISDIR(st.st_mode)
        || access(rec_conf.recordings_dir, W_OK) != 0)
    {
        fprintf(stderr, "hotline-recorder: %s is not a writable "
                "directory\n", rec_conf.recordings_dir);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);

    /* recordings are personal data: rwxr-x--- directories, rw-r----- files */
    umask(027);

    if (rec_dtls_init() != REC_OK) {
        fprintf(stderr, "hotline-recorder: DTLS init failed\n");
        return 1;
    }

    if (rec_srtp_init() != REC_OK || rec_sessions_init() != REC_OK
        || rec_http_client_init() != REC_OK || rec_calls_init() != REC_OK)
    {
        fprintf(stderr, "hotline-recorder: init failed\n");
        return 1;
    }

    n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n <= 0 || rec_jobs_init((self[n] = '\0', self)) != REC_OK) {
        fprintf(stderr, "hotline-recorder: cannot find its own binary\n");
        return 1;
    }

    if (rec_http_listen(rec_conf.listen, rec_whip_handle) != REC_OK) {
        return 1;
    }

    (void) rec_recover_start();
    (void) rec_retention_init();

    rec_loop = g_main_loop_new(NULL, FALSE);
    if (rec_conf.batch_ms) {
        g_main_context_set_poll_func(NULL, rec_poll);
    }

    g_unix_signal_add(SIGTERM, rec_on_signal, "SIGTERM");
    g_unix_signal_add(SIGINT, rec_on_signal, "SIGINT");

    rec_log(REC_LOG_INFO, "listening on %s%s, recordings in %s, "
            "fingerprint sha-256 %s", rec_conf.listen, rec_conf.prefix,
            rec_conf.recordings_dir, rec_dtls_fingerprint());

    if (rec_conf.check_url != NULL) {
        rec_log(REC_LOG_INFO, "new recordings are checked at %s",
                rec_conf.check_url);

    } else {
        rec_log(REC_LOG_WARN, "no --check-url: a token starts recordings "
                "until it expires, whatever happens to its call");
    }

    g_main_loop_run(rec_loop);

    rec_jobs_shutdown();

    OPENSSL_cleanse(rec_conf.secret, sizeof(rec_conf.secret));
    OPENSSL_cleanse(rec_conf.turn_secret, sizeof(rec_conf.turn_secret));
    OPENSSL_cleanse(rec_conf.admin_token, sizeof(rec_conf.admin_token));
    OPENSSL_cleanse(rec_conf.event_secret, sizeof(rec_conf.event_secret));
    rec_log(REC_LOG_INFO, "exiting");

    return 0;
}
