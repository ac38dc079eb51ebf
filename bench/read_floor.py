#!/usr/bin/env python3
"""What the kernel alone charges for the reads one sample makes, beside what
pyflare spends per sample: how much of a sample's CPU is pyflare's own code.

    python3 bench/read_floor.py [SECONDS]      (VERSIONS=3.12,3.15 by default)

For each interpreter it starts bench/deep_target.py (one thread spinning at
depth 10 and at depth 100), then:
  pyflare   `pyflare record --pid --rate 1000000` for SECONDS (default 3):
            CPU per sample (user + system, RUSAGE_CHILDREN ÷ samples), as
            bench/sample_cost.py measures it;
  reads     the ranges of one steady-state sample's process_vm_readv, taken
            from `strace -X raw -e verbose=all` of a short recording of the
            same target (remote address and length of each range of the last
            call with the commonest number of ranges), and the schedstat pread
            pyflare makes per running thread;
  floor     a C program built in the run that replays exactly those ranges
            (one process_vm_readv with the same iovecs, then one pread of the
            thread's schedstat) 200 000 times against the same live target:
            CPU per replay. No user-space work at all: the kernel's price for
            the bytes a sample needs.
  own       pyflare minus floor: pyflare's own code per sample.
Also printed: the same floor for one range of 8 bytes (a system call's cost
on this machine) and the cost each extra range adds. Needs strace. Figures
only; nothing is asserted."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from common import PYFLARE, ROOT, build_c, pyflare_summary, run_timed, start, stop, table, target_command

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
VERSIONS = os.environ.get("VERSIONS", "3.12,3.15").split(",")
DEPTHS = [10, 100]
TARGET = os.path.join(ROOT, "bench", "deep_target.py")
REPLAYS = 200000

REPLAY_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>
/* replay PID TID N ADDR:LEN...: N times one process_vm_readv of those ranges
 * and one pread of the thread's schedstat; prints CPU us per replay. */
static double cpu(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}
int main(int argc, char **argv) {
    pid_t pid = atoi(argv[1]);
    long n = atol(argv[3]);
    int k = argc - 4;
    struct iovec *local = calloc((size_t)k, sizeof *local), *remote = calloc((size_t)k, sizeof *remote);
    size_t total = 0;
    for (int i = 0; i < k; i++) {
        char *colon;
        remote[i].iov_base = (void *)strtoull(argv[4 + i], &colon, 16);
        remote[i].iov_len = strtoull(colon + 1, NULL, 10);
        total += remote[i].iov_len;
    }
    char *buf = malloc(total + 1);
    for (int i = 0, off = 0; i < k; off += (int)remote[i].iov_len, i++) {
        local[i].iov_base = buf + off;
        local[i].iov_len = remote[i].iov_len;
    }
    char path[64], stat[128];
    snprintf(path, sizeof path, "/proc/%d/task/%s/schedstat", pid, argv[2]);
    int fd = open(path, O_RDONLY);
    if (fd < 0 || process_vm_readv(pid, local, (unsigned long)k, remote, (unsigned long)k, 0) != (ssize_t)total) {
        fprintf(stderr, "replay: the ranges cannot be read whole\n");
        return 1;
    }
    double t = cpu();
    for (long r = 0; r < n; r++) {
        process_vm_readv(pid, local, (unsigned long)k, remote, (unsigned long)k, 0);
        if (pread(fd, stat, sizeof stat - 1, 0) < 0)
            return 1;
    }
    printf("%.3f\n", (cpu() - t) / (double)n * 1e6);
    return 0;
}
"""

IOV = re.compile(r"iov_base=(0x[0-9a-f]+), iov_len=(\d+)")


def last_ranges(pid, tmp):
    """The remote ranges of the last process_vm_readv of a short recording."""
    log = os.path.join(tmp, "strace.log")
    subprocess.run(["strace", "-f", "-X", "raw", "-e", "trace=process_vm_readv", "-e", "verbose=all",
                    "-o", log, PYFLARE, "record", "--pid", str(pid), "--rate", "1000", "--duration", "1",
                    "-o", os.path.join(tmp, "s.folded")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    calls = []
    for line in open(log):
        if "process_vm_readv(" in line and "= " in line:
            # Only the remote iovecs show as addresses (the local ones, as the bytes read).
            calls.append([(int(a, 16), int(n)) for a, n in IOV.findall(line)])
    if not calls:
        return []
    # A steady-state sample: of the calls of more than one range (attaching
    # reads symbols and structures one range at a time; a sample reads at
    # least a thread state and a word re-read last), the last with the
    # commonest number of ranges (a sample that finds something changed
    # reads more).
    calls = [c for c in calls if len(c) > 1]
    if not calls:
        return []
    counts = [len(c) for c in calls]
    common = max(set(counts), key=counts.count)
    return [c for c in calls if len(c) == common][-1]


def pages(ranges):
    return sum((a + n - 1) // 4096 - a // 4096 + 1 for a, n in ranges)


def replay(exe, pid, ranges, n=REPLAYS):
    out = subprocess.run([exe, str(pid), str(pid), str(n)] + ["%x:%d" % r for r in ranges],
                         capture_output=True, text=True)
    return float(out.stdout) if out.returncode == 0 else None


def main():
    if not shutil.which("strace"):
        print("SKIP read_floor: strace is not installed (apt-get install strace)")
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_c(tmp, "replay", REPLAY_C)
        for version in VERSIONS:
            cmd, why = target_command(version, TARGET, tmp)
            if not cmd:
                print("SKIP %s: %s" % (version, why))
                continue
            for depth in DEPTHS:
                target = start(cmd + [str(depth), "1"], settle=1.0)
                try:
                    ranges = last_ranges(target.pid, tmp)
                    if not ranges:
                        print("SKIP %s depth %d: no process_vm_readv seen under strace" % (version, depth))
                        continue
                    one = replay(exe, target.pid, [(ranges[0][0], 8)])
                    floor = replay(exe, target.pid, ranges)
                    cpu, _, err, _, _ = run_timed([PYFLARE, "record", "--pid", str(target.pid), "--rate", "1000000",
                                                   "--duration", str(SECONDS), "-o", os.path.join(tmp, "c.folded")])
                    samples = pyflare_summary(err)[1]
                    us = cpu / samples * 1e6
                    per_range = (floor - one) / (len(ranges) - 1) if floor and one and len(ranges) > 1 else 0
                    rows.append([version, depth, len(ranges), pages(ranges), "%.2f" % one, "%.2f" % per_range,
                                 "%.2f" % floor, "%.2f" % us, "%.2f" % (us - floor), "%.0f%%" % (100 * floor / us)])
                finally:
                    stop(target)
    table(rows, ["python", "depth", "ranges", "pages", "1 range + pread us", "each more range us",
                 "floor us (kernel)", "pyflare us/sample", "own us", "floor share"])


if __name__ == "__main__":
    main()
