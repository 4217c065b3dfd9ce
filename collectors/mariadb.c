/* MariaDB collector. */
#include "collectors/mariadb.h"

#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/net.h"
#include "lib/clock.h"

const char *mariadb_version_text(const char *info, char *buf, size_t size)
{
    if (!info) info = "";
    if (strncmp(info, "5.5.5-", 6) == 0) info += 6;
    size_t n = strcspn(info, "-");
    snprintf(buf, size, "%s %.*s", strstr(info, "MariaDB") ? "MariaDB" : "MySQL", (int)n, info);
    return buf;
}

enum hm_state mariadb_error_state(unsigned int err)
{
    return err == 1045 || err == 1044 || err == 1698 ? HM_UNKNOWN : HM_CRITICAL;
}

/* mysql_init calls mysql_library_init implicitly, which is not thread-safe: the poll cycle
 * runs collectors in parallel threads, so the library is initialised exactly once. */
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mysql_library_init(0, NULL, NULL);
}

void collect_mariadb(const hm_collect_ctx *cc, hm_result *out)
{
    const hm_config *cfg = cc->cfg;
    if (!cfg_get_bool(cfg, "mariadb", NULL, "enabled", true)) return;
    const char *host = cfg_get(cfg, "mariadb", NULL, "host");
    const char *portstr = cfg_get(cfg, "mariadb", NULL, "port");
    const char *user = cfg_get(cfg, "mariadb", NULL, "username");
    if (!host) host = "127.0.0.1";
    if (!user) user = "root";
    unsigned int port = portstr ? (unsigned int)strtoul(portstr, NULL, 10) : 3306;
    hm_err e = {{0}};
    char *password = cfg_get_secret(cfg, "mariadb", NULL, "password", &e);
    if (!password && e.msg[0]) {
        hm_result_add_component(out, "mariadb", "mariadb", HM_UNKNOWN, "no password", "%s", e.msg);
        hm_result_add_sample(out, "mariadb.up", 0, "bool", cc->now_ms);
        return;
    }
    pthread_once(&lib_once, lib_init);
    mysql_thread_init();
    MYSQL *db = mysql_init(NULL);
    /* The client's timeouts are whole seconds: round the remaining budget down, at least 1. */
    unsigned int secs = (unsigned int)(net_remaining_ms(cc->deadline_mono) / 1000);
    if (secs < 1) secs = 1;
    mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &secs);
    mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &secs);
    mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &secs);
    enum hm_state state = HM_CRITICAL;
    const char *status = "down";
    double ping_ms = -1;
    if (!mysql_real_connect(db, host, user, password ? password : "", NULL, port, NULL, 0)) {
        unsigned int err = mysql_errno(db);
        state = mariadb_error_state(err);
        if (state == HM_UNKNOWN) {
            status = "auth failed";
            hm_err_set(&e, "MariaDB at %s:%u refused user '%s': %s", host, port, user, mysql_error(db));
        } else {
            hm_err_set(&e, "cannot connect to MariaDB at %s:%u: %s", host, port, mysql_error(db));
        }
    } else {
        int64_t t0 = hm_mono_ms();
        if (mysql_ping(db) != 0) {
            hm_err_set(&e, "MariaDB at %s:%u: ping failed: %s", host, port, mysql_error(db));
        } else {
            ping_ms = (double)(hm_mono_ms() - t0);
            char v[64];
            mariadb_version_text(mysql_get_server_info(db), v, sizeof v);
            state = HM_OK;
            status = "up";
            hm_err_set(&e, "ping %.0f ms, %s", ping_ms, v);
        }
    }
    mysql_close(db);
    mysql_thread_end();
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    hm_result_add_component(out, "mariadb", "mariadb", state, status, "%s", e.msg);
    hm_result_add_sample(out, "mariadb.up", state == HM_OK ? 1 : 0, "bool", cc->now_ms);
    if (ping_ms >= 0) hm_result_add_sample(out, "mariadb.ping.ms", ping_ms, "ms", cc->now_ms);
}
