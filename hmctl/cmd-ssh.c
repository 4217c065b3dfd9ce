/* hmctl ssh trust HOST: show the key a [host] presents and record it in its known_hosts file
 * after confirmation. hmctl never connects to a host whose key is unknown or has changed, and
 * has no option to skip that check: this command is the one way a key becomes trusted. */
#include <string.h>
#include <unistd.h>

#include "collectors/remote.h"
#include "lib/cli.h"

enum { OPT_REPLACE = 256, OPT_FINGERPRINT };

static const struct hm_opt trust_opts[] = {
    {"yes", 'y', NULL, "record the key without asking (scripted provisioning)", NULL},
    {"fingerprint", OPT_FINGERPRINT, "SHA256:...",
     "record the key only if it has this fingerprint (checked out of band)", NULL},
    {"replace", OPT_REPLACE, NULL,
     "replace a recorded key that differs (the host was reinstalled)", NULL},
    {0},
};
static const struct hm_opt no_opts[] = {{0}};

static bool same_fingerprint(const char *given, const char *fp)
{
    if (strncmp(given, "SHA256:", 7) == 0) given += 7;
    return strcmp(given, fp + 7) == 0;
}

static int run_trust(hm_ctx *ctx, int argc, char **argv)
{
    bool yes = false, replace = false;
    const char *want = NULL;
    hm_optparse op;
    hm_opt_init(&op, ctx, argc, argv);
    hm_opt_permute(&op);
    for (int c; (c = hm_opt_next(&op)) != -1;) {
        switch (c) {
        case 'y': yes = true; break;
        case OPT_REPLACE: replace = true; break;
        case OPT_FINGERPRINT: want = op.arg; break;
        default: return op.status;
        }
    }
    if (op.argc == 0) return hm_usage_error(ctx, "which host? (the name of a [host] section)");
    if (op.argc > 1) return hm_usage_error(ctx, "unexpected argument '%s'", op.argv[1]);
    hm_config *cfg = hm_ctx_config(ctx);
    if (!cfg) return 1;
    const char *name = op.argv[0];
    if (!cfg_section_find(cfg, "host", name))
        return hm_error("no [host \"%s\"] in the configuration", name);
    remote_host h;
    hm_err le = {{0}};
    remote_host_load(cfg, name, &h, &le); /* a password that cannot be read does not matter here */

    hm_ssh_hostkey hk;
    hm_ssh_status st;
    int rc = 1;
    if (hm_ssh_fetch_hostkey(&h.target, &hk, &st) < 0) {
        hm_error("cannot get the host key of '%s': %s", name, st.msg);
        goto out;
    }
    printf("%s (%s port %d) presents this %s key:\n  %s\n", name, h.address, h.target.port,
           hk.type, hk.fingerprint);
    if (hk.check == HM_SSH_OK) {
        printf("It is already trusted in %s.\n", h.known_hosts);
        rc = 0;
        goto out_key;
    }
    bool changed = hk.check == HM_SSH_HOSTKEY_CHANGED;
    if (changed) {
        printf("WARNING: it differs from the %s key recorded at %s.\n", hk.type, hk.recorded_at);
        if (!replace) {
            hm_error("refusing to trust a changed key of '%s': someone may be intercepting the "
                     "connection; if the host was reinstalled and the new fingerprint is right, "
                     "run 'hmctl ssh trust %s --replace'",
                     name, name);
            goto out_key;
        }
    } else {
        printf("It is not in %s.\n", h.known_hosts);
    }
    if (want) {
        if (!same_fingerprint(want, hk.fingerprint)) {
            hm_error("the key of '%s' has fingerprint %s, not %s; nothing recorded", name,
                     hk.fingerprint, want);
            goto out_key;
        }
    } else if (!yes) {
        if (!isatty(STDIN_FILENO)) {
            hm_error("no terminal to confirm on: check the fingerprint, then run again with --yes "
                     "or --fingerprint %s", hk.fingerprint);
            goto out_key;
        }
        fflush(stdout);
        if (!hm_confirm("Trust this key for '%s'%s?", name,
                        changed ? " instead of the old one" : "")) {
            hm_error("not trusted; nothing recorded");
            goto out_key;
        }
    }
    hm_err e = {{0}};
    if (hm_ssh_known_hosts_add(&h.target, &hk, changed, &e) < 0) {
        hm_error("%s", e.msg);
        goto out_key;
    }
    printf("Recorded in %s.\n", h.known_hosts);
    rc = 0;
out_key:
    hm_ssh_hostkey_free(&hk);
out:
    remote_host_free(&h);
    return rc;
}

static const struct hm_cmd ssh_trust = {
    .name = "trust",
    .summary = "show a host's key and record it as trusted",
    .usage = "[-y] [--fingerprint SHA256:...] [--replace] HOST",
    .description = "Connects to [host \"HOST\"] as far as the key exchange, prints the key's\n"
                   "SHA-256 fingerprint and, once confirmed (or with --yes, or when it matches\n"
                   "--fingerprint), adds it to the host's known_hosts file. A key that differs\n"
                   "from the recorded one is only replaced with --replace.",
    .opts = trust_opts,
    .run = run_trust,
    .complete_args = "ssh-hosts",
};

static const struct hm_cmd *const subs[] = {&ssh_trust, NULL};

const struct hm_cmd cmd_ssh = {
    .name = "ssh",
    .summary = "manage the SSH client's trusted host keys",
    .usage = "trust",
    .opts = no_opts,
    .subs = subs,
};
