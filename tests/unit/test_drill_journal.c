/* Runs, journal and the run lock in a real store, with other processes holding or abandoning the
 * lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drill/journal.h"

static char dir[64];
static char path[128];

static hm_store *open_store(void)
{
    hm_store *st = NULL;
    hm_err e = {{0}};
    if (store_open(path, 0, &st, &e) < 0 || drill_store_init(st, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    return st;
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/hmctl-journal-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/hmctl.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char *cmd = xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void test_runs_and_journal(void **state)
{
    hm_store *st = open_store();
    assert_non_null(st);
    hm_err e = {{0}};
    drill_run_info info = {.plan = "wordpress", .plan_file = "/etc/hmctl/plans/wordpress.plan",
                           .plan_text = "[plan]\nname = wordpress\n", .mode = "drill",
                           .operator_name = "alice", .started_ms = 1000, .rto_target_ms = 900000};
    int64_t id1, id2;
    assert_int_equal(drill_run_create(st, &info, &id1, &e), 0);
    info.mode = "takeover";
    assert_int_equal(drill_run_create(st, &info, &id2, &e), 0);
    assert_true(id2 > id1);

    assert_int_equal(drill_journal_add(st, id1, 1001, "run_started", NULL, 0, NULL, NULL, &e), 1);
    assert_int_equal(drill_journal_add(st, id1, 1002, "step_started", "boot", 0, NULL,
                                       json_pack("{s:s}", "stage", "recover"), &e), 2);
    assert_int_equal(drill_journal_add(st, id2, 1003, "run_started", NULL, 0, NULL, NULL, &e), 1);
    assert_int_equal(drill_journal_add(st, id1, 1004, "boot_requested", "boot", 1, "web",
                                       json_pack("{s:s}", "snapshot_id", "s1"), &e), 3);

    drill_entry *en;
    size_t n;
    assert_int_equal(drill_journal_read(st, id1, &en, &n, &e), 0);
    assert_int_equal(n, 3);
    assert_string_equal(en[2].event, "boot_requested");
    assert_string_equal(en[2].step, "boot");
    assert_string_equal(en[2].host, "web");
    assert_int_equal(en[2].attempt, 1);
    assert_string_equal(json_string_value(json_object_get(en[2].data, "snapshot_id")), "s1");
    assert_null(en[0].step);
    assert_null(en[0].data);
    drill_entries_free(en, n);

    assert_int_equal(drill_run_set_state(st, id1, "succeeded", 5000, &e), 0);
    drill_run_info got = {0};
    assert_int_equal(drill_run_get(st, id1, &got, &e), 1);
    assert_string_equal(got.state, "succeeded");
    assert_int_equal(got.ended_ms, 5000);
    assert_string_equal(got.plan_text, "[plan]\nname = wordpress\n");
    assert_string_equal(got.operator_name, "alice");
    assert_null(got.console);
    drill_run_info_clear(&got);
    assert_int_equal(drill_run_get(st, 999, &got, &e), 0);

    drill_run_info *runs;
    assert_int_equal(drill_run_list(st, &runs, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(runs[0].id, id2); /* newest first */
    assert_string_equal(runs[0].state, "running");
    for (size_t i = 0; i < n; i++) drill_run_info_clear(&runs[i]);
    free(runs);
    store_close(st);
}

/* In a child: opens the store, tries the lock and exits 0 (taken), 1 (held) or 2 (error); with
 * hold > 0 it keeps the lock and sleeps that many seconds. */
static pid_t child_lock(int hold, int notify_fd)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    hm_store *st = open_store();
    if (!st) _exit(2);
    drill_lock_info h = {0};
    hm_err e = {{0}};
    int r = drill_lock_acquire(st, 0, "child", "drill", 1, &h, &e);
    if (notify_fd >= 0) {
        char c = (char)('0' + r);
        if (write(notify_fd, &c, 1) != 1) _exit(2);
    }
    if (r == 0 && hold) sleep((unsigned)hold);
    _exit(r < 0 ? 2 : r);
}

static void test_lock_across_processes(void **state)
{
    hm_store *st = open_store();
    assert_non_null(st);
    hm_err e = {{0}};
    drill_lock_info h = {0};
    assert_int_equal(drill_lock_peek(st, &h, &e), 0);
    assert_int_equal(drill_lock_acquire(st, 0, "wordpress", "drill", 10, &h, &e), 0);
    assert_int_equal(drill_lock_set_run(st, 7, &e), 0);
    /* taking it again in the same process is fine (a resume in the same process) */
    assert_int_equal(drill_lock_acquire(st, 7, "wordpress", "drill", 10, &h, &e), 0);

    /* another process is refused and told who holds it */
    int status;
    pid_t c = child_lock(0, -1);
    assert_int_equal(waitpid(c, &status, 0), c);
    assert_int_equal(WEXITSTATUS(status), 1);

    assert_int_equal(drill_lock_peek(st, &h, &e), 1);
    assert_int_equal(h.pid, getpid());
    assert_int_equal(h.run_id, 7);
    assert_string_equal(h.plan, "wordpress");
    drill_lock_info_clear(&h);

    /* released: another process takes it, and while it lives we are refused */
    assert_int_equal(drill_lock_release(st, &e), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    c = child_lock(30, fds[1]);
    char got;
    assert_int_equal(read(fds[0], &got, 1), 1);
    assert_int_equal(got, '0');
    assert_int_equal(drill_lock_acquire(st, 0, "wordpress", "drill", 20, &h, &e), 1);
    assert_int_equal(h.pid, c);
    assert_string_equal(h.plan, "child");
    drill_lock_info_clear(&h);
    /* our release never removes another process's lock */
    assert_int_equal(drill_lock_release(st, &e), 0);
    assert_int_equal(drill_lock_peek(st, NULL, &e), 1);

    /* killed with SIGKILL: its lock is stale and taken over */
    kill(c, SIGKILL);
    assert_int_equal(waitpid(c, &status, 0), c);
    assert_int_equal(drill_lock_peek(st, NULL, &e), 0);
    assert_int_equal(drill_lock_acquire(st, 0, "wordpress", "takeover", 30, &h, &e), 0);
    assert_int_equal(drill_lock_peek(st, &h, &e), 1);
    assert_int_equal(h.pid, getpid());
    assert_string_equal(h.mode, "takeover");
    drill_lock_info_clear(&h);
    assert_int_equal(drill_lock_release(st, &e), 0);
    close(fds[0]);
    close(fds[1]);
    store_close(st);
}

static void test_pid_start(void **state)
{
    int64_t mine = drill_pid_start(getpid());
    assert_true(mine > 0);
    assert_true(drill_pid_alive(getpid(), mine));
    /* the same pid with another start time is another process */
    assert_false(drill_pid_alive(getpid(), mine + 1));
    assert_false(drill_pid_alive(0, 0));
    pid_t c = fork();
    if (c == 0) _exit(0);
    int status;
    waitpid(c, &status, 0);
    assert_int_equal(drill_pid_start(c), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_runs_and_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_across_processes, setup, teardown),
        cmocka_unit_test(test_pid_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
