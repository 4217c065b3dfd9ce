/* The command-line surface: one entry per (sub)command with its options, from which option
 * parsing, --help and shell completion (`hmctl __complete`) are all derived, so they cannot
 * disagree. Global options (-c FILE, -v, --no-color) come before the command, git style. */
#ifndef HM_CLI_H
#define HM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "lib/config.h"

/* One option. `arg` names its argument ("FILE", "text|json|nagios"), NULL for a flag; a `|` list
 * is also what completion offers. `id` is what hm_opt_next returns: the short letter, or a value
 * >= 256 for long-only options. */
struct hm_opt {
    const char *name; /* long name without "--" */
    int id;
    const char *arg;
    const char *help;
    const char *complete; /* "file", "dir", "services", or NULL (choices come from arg) */
};

typedef struct hm_ctx hm_ctx;

struct hm_cmd {
    const char *name;
    const char *summary;  /* one line, for `hmctl --help` */
    const char *usage;    /* "[--json] [SERVICE...]" */
    const char *description; /* a paragraph for `hmctl CMD --help`, may be NULL */
    const struct hm_opt *opts; /* terminated by {0}; --help is implicit */
    int (*run)(hm_ctx *ctx, int argc, char **argv);
    const struct hm_cmd *const *subs; /* subcommands (NULL-terminated), or NULL */
    const char *complete_args; /* what positional arguments complete to: "services", "file", a
                                  "a|b|c" list, or NULL */
};

/* Global state of one invocation, set up by main. */
struct hm_ctx {
    const char *config_path; /* -c FILE */
    int verbose;             /* -v count */
    bool no_color;           /* --no-color or NO_COLOR */
    bool color;              /* stdout is a terminal and colour is allowed */
    hm_config *cfg;          /* loaded on first use by hm_ctx_config */
    const struct hm_cmd *cmd; /* the command being run */
    const char *cmd_path;    /* "alerts ack", for messages */
};

/* The command table (generated from the cmd-*.c files into build/gen/commands.c). */
extern const struct hm_cmd *const hm_commands[];

/* Loads the configuration on first use. Prints every error ("hmctl: FILE:LINE: ...") and
 * returns NULL when there is one; prints warnings and goes on otherwise. */
hm_config *hm_ctx_config(hm_ctx *ctx);

/* Option parsing over getopt_long. Usage:
 *   hm_optparse op; hm_opt_init(&op, ctx, argc, argv);
 *   for (int c; (c = hm_opt_next(&op)) != -1;) switch (c) {
 *       case 'j': ...; break;
 *       default: return op.status;   (HM_OPT_EXIT: --help printed (0) or bad usage (2))
 *   }
 *   then op.argc/op.argv hold the positional arguments. */
enum { HM_OPT_MAX = 40 };

typedef struct hm_optparse {
    hm_ctx *ctx;
    int argc;
    char **argv;
    const char *arg; /* the current option's argument */
    int status;      /* exit status when hm_opt_next returned HM_OPT_EXIT */
    int in_argc;
    char **in_argv;
    bool done;
    /* getopt_long's tables, built from the command's options; no heap, so a command may
     * return from inside its option loop */
    struct { const char *name; int has_arg; int *flag; int val; } longs[HM_OPT_MAX + 2];
    char shorts[3 * HM_OPT_MAX + 8];
} hm_optparse;

enum { HM_OPT_EXIT = -2 };

void hm_opt_init(hm_optparse *op, hm_ctx *ctx, int argc, char **argv);
int hm_opt_next(hm_optparse *op);
/* Lets options follow the positional arguments ("hmctl ssh trust HOST --yes"), getopt's GNU
 * permutation; `--` still ends the options. Call right after hm_opt_init. */
void hm_opt_permute(hm_optparse *op);

/* Prints `hmctl CMD --help` for the context's command to f. */
void hm_cmd_help(const hm_ctx *ctx, FILE *f);
/* Reports a usage error ("hmctl status: unexpected argument 'x'") plus the usage line; returns
 * 2, the usage exit status. */
int hm_usage_error(const hm_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "hmctl: message" to stderr; returns 1. */
int hm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hm_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug output on stderr when -v was given. */
void hm_debug(const hm_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Asks a yes/no question on the terminal; returns true for y/yes. When stdin is not a
 * terminal, returns false and prints why (the caller says to use --yes). */
bool hm_confirm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a subcommand table: argv[0] is the subcommand name (unique prefixes accepted). */
int hm_run_subcommand(hm_ctx *ctx, const struct hm_cmd *parent, int argc, char **argv);

/* Shell completion: prints candidates for the words typed so far (argv[argc-1] is the word being
 * completed, possibly empty), one per line. */
int hm_complete(hm_ctx *ctx, int argc, char **argv);

#endif
