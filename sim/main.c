/* hmsim: serves the console API of shared/console-api.md over HTTPS for tests and demos. */
#include "sim/sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"

static const char usage[] =
    "usage: hmsim [options]\n"
    "  --seed N            fleet seed (default 1)\n"
    "  --hosts N           protected hosts (default 50)\n"
    "  --gateways N        cloud sync gateways (default 3)\n"
    "  --jobs N            jobs in the history (default: a sync every 4 hours per host,\n"
    "                      at most 1000000)\n"
    "  --history-days N    days of job history (default 90)\n"
    "  --port N            TCP port, 0 picks a free one (default 0)\n"
    "  --bind ADDR         listen address (default 127.0.0.1)\n"
    "  --cert-out FILE     write the generated certificate (PEM) to FILE\n"
    "  --user NAME         API user (default admin)\n"
    "  --password PASS     API password (default admin)\n"
    "  --speed FACTOR      run live jobs FACTOR times faster than real time (default 1)\n"
    "  --boot-delay D      time a boot takes, like 30s (default 30s, divided by --speed)\n"
    "  --clean-delay D     time a cleanup takes (default 20s, divided by --speed)\n"
    "  --sync-delay D      time a sync takes (default 60s, divided by --speed)\n"
    "  --live-fail-percent P  share of periodic syncs that fail while running (default 0)\n"
    "  --ready-file FILE   write the API URL to FILE once listening\n"
    "  --pid-file FILE     write the process id to FILE\n"
    "  --help              show this help\n";

/* Writes text to path through a temporary file, so a reader polling for it never sees half. */
static int write_file(const char *path, const char *text)
{
    char *tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
    FILE *fp = fopen(tmp, "w");
    int rc = -1;
    if (fp) {
        rc = fputs(text, fp) < 0 ? -1 : 0;
        if (fclose(fp) != 0) rc = -1;
        if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    }
    if (rc) {
        fprintf(stderr, "hmsim: cannot write '%s': %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

static int opt_count(const char *name, const char *v, long max, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *v == '\0' || *end != '\0' || n < 0 || n > max) {
        fprintf(stderr, "hmsim: invalid %s '%s': expected 0 to %ld\n", name, v, max);
        return -1;
    }
    *out = n;
    return 0;
}

static int opt_duration(const char *name, const char *v, int64_t *out)
{
    if (hm_parse_duration(v, out) == 0) return 0;
    fprintf(stderr, "hmsim: invalid %s '%s': expected a duration like 30s or 2m\n", name, v);
    return -1;
}

int main(int argc, char **argv)
{
    struct sim_opts o = {.seed = 1,
                         .hosts = 50,
                         .gateways = 3,
                         .speed = 1,
                         .history_days = 90,
                         .boot_delay_ms = 30000,
                         .clean_delay_ms = 20000,
                         .sync_delay_ms = 60000};
    const char *bind_ip = "127.0.0.1", *cert_out = NULL, *ready_file = NULL, *pid_file = NULL;
    const char *user = "admin", *password = "admin";
    long port = 0, n;
    enum { O_SEED = 256, O_HOSTS, O_GWS, O_JOBS, O_DAYS, O_PORT, O_BIND, O_CERT, O_USER, O_PASS,
           O_SPEED, O_BOOT, O_CLEAN, O_SYNC, O_FAILP, O_READY, O_PID, O_HELP };
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"hosts", required_argument, NULL, O_HOSTS},
        {"gateways", required_argument, NULL, O_GWS},
        {"jobs", required_argument, NULL, O_JOBS},
        {"history-days", required_argument, NULL, O_DAYS},
        {"port", required_argument, NULL, O_PORT},
        {"bind", required_argument, NULL, O_BIND},
        {"cert-out", required_argument, NULL, O_CERT},
        {"user", required_argument, NULL, O_USER},
        {"password", required_argument, NULL, O_PASS},
        {"speed", required_argument, NULL, O_SPEED},
        {"boot-delay", required_argument, NULL, O_BOOT},
        {"clean-delay", required_argument, NULL, O_CLEAN},
        {"sync-delay", required_argument, NULL, O_SYNC},
        {"live-fail-percent", required_argument, NULL, O_FAILP},
        {"ready-file", required_argument, NULL, O_READY},
        {"pid-file", required_argument, NULL, O_PID},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int bad = 0;
        char *end;
        switch (c) {
        case O_SEED:
            errno = 0;
            o.seed = strtoull(optarg, &end, 0);
            if (errno || *optarg == '\0' || *end != '\0') {
                fprintf(stderr, "hmsim: invalid --seed '%s'\n", optarg);
                bad = 1;
            }
            break;
        case O_HOSTS:
            bad = opt_count("--hosts", optarg, 1000000, &n);
            o.hosts = (size_t)n;
            break;
        case O_GWS:
            bad = opt_count("--gateways", optarg, 1000, &n) || (n == 0 && fprintf(stderr,
                                                            "hmsim: --gateways must be at least 1\n"));
            o.gateways = (size_t)n;
            break;
        case O_JOBS:
            bad = opt_count("--jobs", optarg, 50000000, &n);
            o.jobs = (size_t)n;
            break;
        case O_DAYS:
            bad = opt_count("--history-days", optarg, 3650, &n) || (n == 0 && fprintf(stderr,
                                                            "hmsim: --history-days must be at least 1\n"));
            o.history_days = (int)n;
            break;
        case O_PORT:
            bad = opt_count("--port", optarg, 65535, &port);
            break;
        case O_BIND: bind_ip = optarg; break;
        case O_CERT: cert_out = optarg; break;
        case O_USER: user = optarg; break;
        case O_PASS: password = optarg; break;
        case O_SPEED:
            o.speed = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(o.speed > 0) || o.speed > 1e6) {
                fprintf(stderr, "hmsim: invalid --speed '%s': expected a factor above 0\n", optarg);
                bad = 1;
            }
            break;
        case O_BOOT: bad = opt_duration("--boot-delay", optarg, &o.boot_delay_ms); break;
        case O_CLEAN: bad = opt_duration("--clean-delay", optarg, &o.clean_delay_ms); break;
        case O_SYNC: bad = opt_duration("--sync-delay", optarg, &o.sync_delay_ms); break;
        case O_FAILP:
            bad = opt_count("--live-fail-percent", optarg, 100, &n);
            o.live_fail_percent = (int)n;
            break;
        case O_READY: ready_file = optarg; break;
        case O_PID: pid_file = optarg; break;
        case 'h':
        case O_HELP: fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
        if (bad) return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "hmsim: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        fprintf(stderr, "hmsim: this libmicrohttpd was built without TLS support\n");
        return 1;
    }

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_TLS;
    bool v6 = false;
    if (inet_pton(AF_INET, bind_ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, bind_ip, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
        v6 = true;
    } else {
        fprintf(stderr, "hmsim: invalid --bind '%s': expected an IP address\n", bind_ip);
        return 2;
    }

    hm_err err;
    char *key = NULL, *cert = NULL;
    if (tls_make_cert(bind_ip, &key, &cert, &err)) {
        fprintf(stderr, "hmsim: %s\n", err.msg);
        return 1;
    }
    if (cert_out && write_file(cert_out, cert)) return 1;

    /* signals are taken by sigwait below; every thread inherits the blocked mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sim_server *s = xcalloc(1, sizeof *s);
    s->user = user;
    s->password = password;
    s->started_ms = hm_now_ms();
    atomic_init(&s->stopping, false);
    atomic_init(&s->requests, 0);
    fleet_init(&s->fleet, &o, s->started_ms);

    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, api_handle, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
        MHD_OPTION_NOTIFY_COMPLETED, api_completed, s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)1000,
        /* each connection holds a thread: reap keep-alive connections a client forgot */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "hmsim: cannot listen on %s port %ld: %s\n", bind_ip, port,
                errno ? strerror(errno) : "libmicrohttpd refused the configuration");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned bound = info ? info->port : (unsigned)port;
    char *url = xasprintf("https://%s%s%s:%u/hypermotion/v1", v6 ? "[" : "", bind_ip,
                          v6 ? "]" : "", bound);
    printf("hmsim: serving %s\n", url);
    fflush(stdout);
    char *pid = xasprintf("%ld\n", (long)getpid());
    char *ready = xasprintf("%s\n", url);
    int rc = 0;
    if ((pid_file && write_file(pid_file, pid)) || (ready_file && write_file(ready_file, ready)))
        rc = 1;
    while (rc == 0) {
        int sig;
        if (sigwait(&sigs, &sig) == 0) break;
    }
    atomic_store(&s->stopping, true);
    MHD_stop_daemon(d);
    if (ready_file) unlink(ready_file);
    if (pid_file) unlink(pid_file);
    fleet_free(&s->fleet);
    free(s->tokens);
    free(s);
    free(url);
    free(pid);
    free(ready);
    free(key);
    free(cert);
    return rc;
}
