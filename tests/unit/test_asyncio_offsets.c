/* test_asyncio_offsets.c — the _asyncio module's debug offsets: real tables, and tables that lie.
 *
 * The fixtures are the AsyncioDebug sections of Debian's interpreters (read
 * with `objcopy -O binary --only-section=.AsyncioDebug` from 3.14's
 * lib-dynload/_asyncio.cpython-314-x86_64-linux-gnu.so and from the python3.15
 * binary, which builds the module in). What they mean end to end is checked
 * by tests/async against CPython's own reader; here: they are read word for
 * word, and any table whose offsets do not fit its declared sizes, or whose
 * length is not the shape's, is refused with a reason. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "cpython/asyncio.h"

static const uint64_t fixture_314[13] = {168, 136, 96, 108, 109, 128, 152, 225864, 10880, 936, 864, 872, 880};
static const uint64_t fixture_315[13] = {168, 136, 96, 108, 109, 128, 152, 226240, 10856, 1104, 1024, 1032, 1048};

static int refused(const uint64_t *words, size_t len, const char *expect) {
    py_asyncio_offsets o;
    pf_error err = {0};
    if (py_asyncio_offsets_parse((const uint8_t *)words, len, &o, &err) == 0)
        return 0;
    return err.kind == PF_ERR_CORRUPT && strstr(err.msg, expect) != NULL;
}

int main(void) {
    const uint64_t *fixtures[] = {fixture_314, fixture_315};
    for (size_t i = 0; i < 2; i++) {
        const uint64_t *w = fixtures[i];
        py_asyncio_offsets o;
        pf_error err = {0};
        CHECK(py_asyncio_offsets_parse((const uint8_t *)w, PY_ASYNCIO_OFFSETS_BYTES, &o, &err) == 0);
        CHECK_EQ_INT(o.task_size, (int64_t)w[0]);
        CHECK_EQ_INT(o.task_name, (int64_t)w[1]);
        CHECK_EQ_INT(o.task_awaited_by, (int64_t)w[2]);
        CHECK_EQ_INT(o.task_is_task, (int64_t)w[3]);
        CHECK_EQ_INT(o.task_awaited_by_is_set, (int64_t)w[4]);
        CHECK_EQ_INT(o.task_coro, (int64_t)w[5]);
        CHECK_EQ_INT(o.task_node, (int64_t)w[6]);
        CHECK_EQ_INT(o.interp_tasks_head, (int64_t)w[8]);
        CHECK_EQ_INT(o.tstate_running_loop, (int64_t)w[10]);
        CHECK_EQ_INT(o.tstate_running_task, (int64_t)w[11]);
        CHECK_EQ_INT(o.tstate_tasks_head, (int64_t)w[12]);

        uint64_t bad[14];
        /* A task field past the task's declared size (task_node's 16 bytes must fit). */
        memcpy(bad, w, sizeof fixture_314);
        bad[6] = w[0] - 8;
        CHECK(refused(bad, PY_ASYNCIO_OFFSETS_BYTES, "asyncio_task_object.task_node at"));
        /* A thread-state field past the thread state. */
        memcpy(bad, w, sizeof fixture_314);
        bad[11] = w[9];
        CHECK(refused(bad, PY_ASYNCIO_OFFSETS_BYTES, "asyncio_thread_state.asyncio_running_task at"));
        /* An offset near 2^64 (no wrap-around in the check). */
        memcpy(bad, w, sizeof fixture_314);
        bad[1] = UINT64_MAX - 2;
        CHECK(refused(bad, PY_ASYNCIO_OFFSETS_BYTES, "asyncio_task_object.task_name at"));
        /* Sizes beyond reason, or none. */
        memcpy(bad, w, sizeof fixture_314);
        bad[0] = 1 << 20;
        CHECK(refused(bad, PY_ASYNCIO_OFFSETS_BYTES, "the size of asyncio_task_object is 1048576"));
        memcpy(bad, w, sizeof fixture_314);
        bad[7] = 0;
        CHECK(refused(bad, PY_ASYNCIO_OFFSETS_BYTES, "the size of asyncio_interpreter_state is 0"));
        /* Another shape's length (a newer module with more fields). */
        memcpy(bad, w, sizeof fixture_314);
        bad[13] = 0;
        CHECK(refused(bad, sizeof bad, "not the 104 of the shape"));
        CHECK(refused(bad, 96, "not the 104 of the shape"));
    }
    return check_report("asyncio_offsets");
}
