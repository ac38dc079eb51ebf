/* test_native.c — src/target/native.c against a stack known by construction.
 *
 * The test forks a child that spins in pf_test_leaf, called by
 * pf_test_middle, called by main (each noinline and doing work after its
 * call, so none is a tail call), stops it as --native does (target_pause),
 * and unwinds it: the innermost frames must be exactly pf_test_leaf,
 * pf_test_middle, main — named from this test binary's own symbol table —
 * with stack pointers growing outwards; the child must run on once resumed.
 * An address in no mapped object is named "0x...". A thread that is not
 * stopped cannot be unwound (-1, never a crash). */
#include "target/native.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile unsigned long sink;

__attribute__((noinline)) static void pf_test_leaf(void) {
    for (;;)
        sink = sink * 6364136223846793005ul + 1;
}

__attribute__((noinline)) static void pf_test_middle(void) {
    pf_test_leaf();
    sink++;
}

static unsigned long cpu_ticks(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime);
    return utime + stime;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        pf_test_middle();
        return 0;
    }
    pid_t child = fork();
    if (child == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(127);
    }
    struct timespec settle = {0, 200000000};
    nanosleep(&settle, NULL);

    pf_error err = {0};
    target *t = NULL;
    target_native *n = NULL;
    CHECK(target_open(child, &t, &err) == 0);
    CHECK(t && target_native_open(t, &n, &err) == 0);
    if (!t || !n) {
        fprintf(stderr, "test_native: %s\n", err.msg);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        return check_report("test_native");
    }

    uint64_t pcs[TARGET_NATIVE_MAX_FRAMES], sps[TARGET_NATIVE_MAX_FRAMES];
    /* Running, not stopped by us: no registers to read. */
    CHECK_EQ_INT(target_native_unwind(n, child, pcs, sps, TARGET_NATIVE_MAX_FRAMES, &err), -1);

    CHECK(target_pause(t, &err) == 0);
    int got = target_native_unwind(n, child, pcs, sps, TARGET_NATIVE_MAX_FRAMES, &err);
    target_resume(t);
    CHECK(got >= 3);
    const char *want[] = {"pf_test_leaf", "pf_test_middle", "main"};
    for (int i = 0; i < 3 && i < got; i++) {
        target_native_sym sym;
        target_native_symbol(n, pcs[i], &sym);
        CHECK_EQ_STR(sym.function, want[i]);
        CHECK(sym.named);
        CHECK_EQ_STR(sym.object, "test_native");
        if (i)
            CHECK(sps[i] > sps[i - 1]);
    }
    /* The cap holds. */
    CHECK(target_pause(t, &err) == 0);
    CHECK_EQ_INT(target_native_unwind(n, child, pcs, sps, 2, &err), 2);
    target_resume(t);

    target_native_sym none;
    target_native_symbol(n, 0x10, &none);
    CHECK_EQ_STR(none.function, "0x10");
    CHECK_EQ_STR(none.object, "");
    CHECK(!none.named);

    /* Resumed: the child runs on. */
    unsigned long before = cpu_ticks(child);
    nanosleep(&settle, NULL);
    CHECK(cpu_ticks(child) > before);

    target_native_close(n);
    target_close(t);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return check_report("test_native");
}
