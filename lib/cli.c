#include "lib/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hm_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hmctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

void hm_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("hmctl: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void hm_debug(const hm_ctx *ctx, const char *fmt, ...)
{
    if (!ctx || ctx->verbose < 1) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("hmctl: debug: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

hm_config *hm_ctx_config(hm_ctx *ctx)
{
    if (ctx->cfg) return ctx->cfg;
    hm_config *c = config_load(ctx->config_path);
    for (size_t i = 0; i < c->warnings.n; i++) hm_warn("%s", c->warnings.v[i]);
    if (c->errors.n) {
        for (size_t i = 0; i < c->errors.n; i++) hm_error("%s", c->errors.v[i]);
        config_free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->files.n; i++) hm_debug(ctx, "read %s", c->files.v[i]);
    ctx->cfg = c;
    return c;
}

void hm_opt_init(hm_optparse *op, hm_ctx *ctx, int argc, char **argv)
{
    memset(op, 0, sizeof *op);
    op->ctx = ctx;
    op->in_argc = argc;
    op->in_argv = argv;
    _Static_assert(sizeof op->longs[0] == sizeof(struct option), "option layout");
    struct option *longs = (struct option *)op->longs;
    size_t n = 0, k = 0;
    const struct hm_opt *opts = ctx->cmd ? ctx->cmd->opts : NULL;
    /* "+": stop at the first positional; ":": report missing arguments as ':' */
    op->shorts[k++] = '+';
    op->shorts[k++] = ':';
    op->shorts[k++] = 'h';
    for (const struct hm_opt *o = opts; o && o->name && n < HM_OPT_MAX; o++, n++) {
        longs[n] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->id};
        if (o->id > 0 && o->id < 256) {
            op->shorts[k++] = (char)o->id;
            if (o->arg) op->shorts[k++] = ':';
        }
    }
    op->shorts[k] = '\0';
    longs[n] = (struct option){"help", no_argument, NULL, 'h'};
    longs[n + 1] = (struct option){NULL, 0, NULL, 0};
    optind = 0; /* full reinitialisation of getopt */
    opterr = 0;
}

void hm_opt_permute(hm_optparse *op)
{
    /* hm_opt_init starts the short options with "+" (stop at the first positional) */
    if (op->shorts[0] == '+') memmove(op->shorts, op->shorts + 1, strlen(op->shorts));
}

int hm_opt_next(hm_optparse *op)
{
    if (op->done) return -1;
    int c = getopt_long(op->in_argc, op->in_argv, op->shorts, (struct option *)op->longs, NULL);
    op->arg = optarg;
    if (c == -1) {
        op->argc = op->in_argc - optind;
        op->argv = op->in_argv + optind;
        op->done = true;
        return -1;
    }
    if (c == 'h') {
        hm_cmd_help(op->ctx, stdout);
        op->status = 0;
        op->done = true;
        return HM_OPT_EXIT;
    }
    if (c == '?' || c == ':') {
        const char *bad = op->in_argv[optind - 1];
        if (c == ':') op->status = hm_usage_error(op->ctx, "option '%s' needs an argument", bad);
        else if (optopt && optopt < 256 && bad && bad[0] == '-' && bad[1] != '-')
            op->status = hm_usage_error(op->ctx, "unknown option '-%c'", optopt);
        else op->status = hm_usage_error(op->ctx, "unknown option '%s'", bad ? bad : "?");
        op->done = true;
        return HM_OPT_EXIT;
    }
    return c;
}

static void print_usage_line(const hm_ctx *ctx, FILE *f)
{
    const struct hm_cmd *c = ctx->cmd;
    fprintf(f, "usage: hmctl %s%s%s\n", ctx->cmd_path ? ctx->cmd_path : c->name,
            c->usage && *c->usage ? " " : "", c->usage ? c->usage : "");
}

void hm_cmd_help(const hm_ctx *ctx, FILE *f)
{
    const struct hm_cmd *c = ctx->cmd;
    print_usage_line(ctx, f);
    fprintf(f, "\n%s\n", c->summary);
    if (c->description) fprintf(f, "\n%s\n", c->description);
    if (c->subs) {
        fputs("\ncommands:\n", f);
        for (const struct hm_cmd *const *s = c->subs; *s; s++)
            fprintf(f, "  %-14s %s\n", (*s)->name, (*s)->summary);
    }
    fputs("\noptions:\n", f);
    for (const struct hm_opt *o = c->opts; o && o->name; o++) {
        char left[96];
        if (o->id > 0 && o->id < 256)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->id, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else snprintf(left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        if (strlen(left) > 26) fprintf(f, "  %s\n  %-26s %s\n", left, "", o->help);
        else fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help");
    /* subcommands are documented in their command's page: "config show" -> hmctl-config(1) */
    const char *path = ctx->cmd_path ? ctx->cmd_path : c->name;
    fprintf(f, "\nSee hmctl-%.*s(1).\n", (int)strcspn(path, " "), path);
}

int hm_usage_error(const hm_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hmctl %s: ", ctx->cmd_path ? ctx->cmd_path : ctx->cmd ? ctx->cmd->name : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (ctx->cmd) print_usage_line(ctx, stderr);
    return 2;
}

bool hm_confirm(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!isatty(STDIN_FILENO)) {
        va_end(ap);
        return false;
    }
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" [y/N] ", stderr);
    fflush(stderr);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return false;
    hm_strip(line);
    return strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
}

static const struct hm_cmd *find_cmd(const struct hm_cmd *const *table, const char *name,
                                     bool *ambiguous)
{
    const struct hm_cmd *hit = NULL;
    size_t n = strlen(name);
    *ambiguous = false;
    for (const struct hm_cmd *const *c = table; *c; c++) {
        if (strcmp((*c)->name, name) == 0) return *c;
        if (n && strncmp((*c)->name, name, n) == 0) {
            if (hit) *ambiguous = true;
            hit = *c;
        }
    }
    return *ambiguous ? NULL : hit;
}

int hm_run_subcommand(hm_ctx *ctx, const struct hm_cmd *parent, int argc, char **argv)
{
    const struct hm_cmd *saved = ctx->cmd;
    const char *saved_path = ctx->cmd_path;
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        ctx->cmd = parent;
        hm_cmd_help(ctx, argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    bool amb;
    const struct hm_cmd *sub = find_cmd(parent->subs, argv[0], &amb);
    if (!sub) {
        ctx->cmd = parent;
        return hm_usage_error(ctx, "%s command '%s'", amb ? "ambiguous" : "unknown", argv[0]);
    }
    char *path = xasprintf("%s %s", saved_path ? saved_path : parent->name, sub->name);
    ctx->cmd = sub;
    ctx->cmd_path = path;
    int rc = sub->subs && !sub->run ? hm_run_subcommand(ctx, sub, argc - 1, argv + 1)
                                    : sub->run(ctx, argc, argv);
    ctx->cmd = saved;
    ctx->cmd_path = saved_path;
    free(path);
    return rc;
}

/* Completion ---------------------------------------------------------------------------- */

static void complete_list(const char *choices, const char *prefix)
{
    const char *c = choices;
    size_t n = strlen(prefix);
    while (c && *c) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len >= n && strncmp(c, prefix, n) == 0) printf("%.*s\n", (int)len, c);
        c = bar ? bar + 1 : NULL;
    }
}

/* Completion for dynamic kinds ("services") is provided by the command modules through this
 * weak hook, so lib/ needs no knowledge of Docker. */
void hm_complete_dynamic(hm_ctx *ctx, const char *kind, const char *prefix) __attribute__((weak));

static void complete_kind(hm_ctx *ctx, const char *kind, const char *prefix)
{
    if (!kind) return;
    if (strcmp(kind, "file") == 0 || strcmp(kind, "dir") == 0) {
        printf(":%s\n", kind); /* the shell script completes paths itself */
        return;
    }
    if (strchr(kind, '|')) {
        complete_list(kind, prefix);
        return;
    }
    if (hm_complete_dynamic) hm_complete_dynamic(ctx, kind, prefix);
}

static const struct hm_opt *find_opt(const struct hm_cmd *c, const char *word)
{
    for (const struct hm_opt *o = c->opts; o && o->name; o++) {
        if (word[0] == '-' && word[1] == '-' && strcmp(word + 2, o->name) == 0) return o;
        if (word[0] == '-' && word[1] == o->id && word[2] == '\0' && o->id < 256) return o;
    }
    return NULL;
}

int hm_complete(hm_ctx *ctx, int argc, char **argv)
{
    /* argv: words after "hmctl" (global options included), the last is being completed. */
    if (argc < 1) return 0;
    const char *cur = argv[argc - 1];
    int i = 0;
    /* skip global options */
    while (i < argc - 1 && argv[i][0] == '-') {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
            if (i + 1 == argc - 1) {
                puts(":file");
                return 0;
            }
            ctx->config_path = argv[i + 1]; /* dynamic completions read the same file */
            i++;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            ctx->config_path = argv[i] + 9;
        } else if (strncmp(argv[i], "-c", 2) == 0) {
            ctx->config_path = argv[i] + 2;
        }
        i++;
    }
    if (i == argc - 1) {
        if (cur[0] == '-') complete_list("-c|--config|-v|--verbose|--no-color|--version|--help", cur);
        else
            for (const struct hm_cmd *const *c = hm_commands; *c; c++)
                if (hm_starts_with((*c)->name, cur) && (*c)->name[0] != '_') puts((*c)->name);
        return 0;
    }
    bool amb;
    const struct hm_cmd *cmd = find_cmd(hm_commands, argv[i], &amb);
    if (!cmd) return 0;
    i++;
    while (cmd->subs) {
        if (i == argc - 1) {
            for (const struct hm_cmd *const *s = cmd->subs; *s; s++)
                if (hm_starts_with((*s)->name, cur)) puts((*s)->name);
            if (cur[0] == '-') complete_list("--help", cur);
            return 0;
        }
        const struct hm_cmd *sub = find_cmd(cmd->subs, argv[i], &amb);
        if (!sub) return 0;
        cmd = sub;
        i++;
    }
    /* the previous word may be an option waiting for its argument */
    if (argc >= 2 && i <= argc - 2) {
        const struct hm_opt *o = find_opt(cmd, argv[argc - 2]);
        if (o && o->arg) {
            complete_kind(ctx, o->complete ? o->complete : o->arg, cur);
            return 0;
        }
    }
    if (cur[0] == '-') {
        for (const struct hm_opt *o = cmd->opts; o && o->name; o++) {
            char buf[64];
            snprintf(buf, sizeof buf, "--%s", o->name);
            if (hm_starts_with(buf, cur)) puts(buf);
        }
        if (hm_starts_with("--help", cur)) puts("--help");
        return 0;
    }
    complete_kind(ctx, cmd->complete_args, cur);
    return 0;
}
