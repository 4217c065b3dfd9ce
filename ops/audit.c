/* The audit table. */
#include "ops/audit.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"

static const char *const migrations[] = {
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, end_ms INTEGER,"
    " user TEXT NOT NULL, action TEXT NOT NULL, from_version TEXT, to_version TEXT,"
    " result TEXT NOT NULL, detail TEXT)",
};

char *audit_user(void)
{
    const char *sudo = getenv("SUDO_USER");
    if (geteuid() == 0 && sudo && *sudo && strcmp(sudo, "root") != 0)
        return xasprintf("%s (sudo)", sudo);
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name) return xstrdup(pw->pw_name);
    return xasprintf("uid %u", (unsigned)getuid());
}

static int db_fail(hm_store *st, hm_err *e, const char *what)
{
    return hm_err_set(e, "%s: %s the audit log: %s", store_path(st), what,
                      sqlite3_errmsg(store_db(st)));
}

int audit_migrate(hm_store *st, hm_err *e)
{
    return store_migrate(st, "audit", migrations, (int)HM_ARRAY_LEN(migrations), e);
}

hm_store *audit_open(const hm_config *cfg, hm_err *e)
{
    hm_store *st = NULL;
    if (store_open_config(cfg, 0, &st, e) < 0) return NULL;
    if (audit_migrate(st, e) < 0) {
        store_close(st);
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
    if (s) sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(q, i);
}

int64_t audit_begin(hm_store *st, const char *action, const char *from, const char *to,
                    const char *detail, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "INSERT INTO audit(ts_ms, user, action, from_version, to_version, result,"
                           " detail) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot write");
    char *user = audit_user();
    sqlite3_bind_int64(q, 1, hm_now_ms());
    bind_text(q, 2, user);
    bind_text(q, 3, action);
    bind_text(q, 4, from);
    bind_text(q, 5, to);
    bind_text(q, 6, detail);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    free(user);
    if (rc != SQLITE_DONE) return db_fail(st, e, "cannot write");
    return sqlite3_last_insert_rowid(store_db(st));
}

int audit_finish(hm_store *st, int64_t id, const char *result, const char *detail, hm_err *e)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(store_db(st),
                           "UPDATE audit SET result = ?, detail = coalesce(?, detail), end_ms = ?"
                           " WHERE id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot write");
    bind_text(q, 1, result);
    bind_text(q, 2, detail);
    sqlite3_bind_int64(q, 3, hm_now_ms());
    sqlite3_bind_int64(q, 4, id);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : db_fail(st, e, "cannot write");
}

static char *col(sqlite3_stmt *q, int i)
{
    const unsigned char *s = sqlite3_column_text(q, i);
    return s ? xstrdup((const char *)s) : NULL;
}

int audit_list(hm_store *st, int limit, audit_entry **out, hm_err *e)
{
    sqlite3_stmt *q;
    *out = NULL;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id, ts_ms, coalesce(end_ms, 0), user, action, from_version,"
                           " to_version, result, detail FROM audit ORDER BY id DESC LIMIT ?",
                           -1, &q, NULL) != SQLITE_OK)
        return db_fail(st, e, "cannot read");
    sqlite3_bind_int(q, 1, limit > 0 ? limit : -1);
    int n = 0, cap = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = xrealloc(*out, (size_t)cap * sizeof **out);
        }
        audit_entry *a = &(*out)[n++];
        a->id = sqlite3_column_int64(q, 0);
        a->ts_ms = sqlite3_column_int64(q, 1);
        a->end_ms = sqlite3_column_int64(q, 2);
        a->user = col(q, 3);
        a->action = col(q, 4);
        a->from_version = col(q, 5);
        a->to_version = col(q, 6);
        a->result = col(q, 7);
        a->detail = col(q, 8);
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) {
        audit_entries_free(*out, n);
        *out = NULL;
        return db_fail(st, e, "cannot read");
    }
    return n;
}

void audit_entries_free(audit_entry *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].user);
        free(v[i].action);
        free(v[i].from_version);
        free(v[i].to_version);
        free(v[i].result);
        free(v[i].detail);
    }
    free(v);
}
