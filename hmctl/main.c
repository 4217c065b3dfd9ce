/* hmctl: global options, then the command from the generated table (git style). */
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collectors/collector.h"
#include "lib/clock.h"
#include "lib/cli.h"

static void usage(FILE *f)
{
    fputs("usage: hmctl [-c FILE] [-v] [--no-color] COMMAND [ARGS]\n"
          "       hmctl --version | --help\n\n"
          "Watch and operate a HyperBDR disaster-recovery console.\n\ncommands:\n", f);
    for (const struct hm_cmd *const *c = hm_commands; *c; c++)
        if ((*c)->name[0] != '_') fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
    fputs("\nglobal options:\n"
          "  -c, --config FILE   read FILE instead of /etc/hmctl/hmctl.conf (also $HMCTL_CONFIG)\n"
          "  -v, --verbose       say more on stderr (repeat for more)\n"
          "      --no-color      no colours (also NO_COLOR=1)\n"
          "      --version       print the version\n"
          "  -h, --help          show this help\n\n"
          "Run 'hmctl COMMAND --help' for a command's options; see hmctl(1).\n", f);
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    hm_ctx ctx = {0};
    const char *now = getenv("HMCTL_NOW");
    if (now && *now) {
        int64_t ms;
        if (hm_parse_time(now, &ms) < 0) return hm_error("invalid HMCTL_NOW '%s'", now), 2;
        hm_clock_pin(ms);
    }
    const char *nc = getenv("NO_COLOR");
    ctx.no_color = nc && *nc;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
            if (++i >= argc) {
                hm_error("option '%s' needs a FILE", a);
                return 2;
            }
            ctx.config_path = argv[i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            ctx.config_path = a + 9;
        } else if (strncmp(a, "-c", 2) == 0 && a[1] == 'c') {
            ctx.config_path = a + 2; /* -cFILE */
        } else if (strcmp(a, "--verbose") == 0) {
            ctx.verbose++;
        } else if (a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
            ctx.verbose += (int)strlen(a + 1); /* -v, -vv, -vvv */
        } else if (strcmp(a, "--no-color") == 0) {
            ctx.no_color = true;
        } else if (strcmp(a, "--version") == 0) {
            puts("hmctl " HMCTL_VERSION);
            return 0;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            hm_error("unknown global option '%s' (command options go after the command)", a);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    ctx.color = !ctx.no_color && isatty(STDOUT_FILENO);
    const char *name = argv[i];
    if (strcmp(name, "__complete") == 0) return hm_complete(&ctx, argc - i - 1, argv + i + 1);
    const struct hm_cmd *hit = NULL;
    bool ambiguous = false;
    size_t n = strlen(name);
    for (const struct hm_cmd *const *c = hm_commands; *c; c++) {
        if (strcmp((*c)->name, name) == 0) { hit = *c; ambiguous = false; break; }
        if (strncmp((*c)->name, name, n) == 0) {
            if (hit) ambiguous = true;
            hit = *c;
        }
    }
    if (!hit || ambiguous) {
        hm_error("%s command '%s'; see 'hmctl --help'", ambiguous ? "ambiguous" : "unknown", name);
        return 2;
    }
    ctx.cmd = hit;
    ctx.cmd_path = hit->name;
    int rc;
    if (hit->subs && !hit->run) rc = hm_run_subcommand(&ctx, hit, argc - i - 1, argv + i + 1);
    else rc = hit->run(&ctx, argc - i, argv + i);
    /* A collector abandoned at its deadline may still read the configuration. */
    if (!hm_poll_abandoned_running()) config_free(ctx.cfg);
    fflush(stdout);
    if (ferror(stdout)) {
        hm_error("cannot write to standard output");
        return 1;
    }
    return rc;
}
