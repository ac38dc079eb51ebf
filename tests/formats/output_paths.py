"""tests/formats/output_paths.py — where an output goes, as a user names it (-o, convert's OUT, Profile.write).

The truth is the file system itself (lstat of what was named, the link's target,
the mode bits, what a FIFO's reader received) and the target program's own marker
file (a refused `record` must not have started it). Run by tests/formats/run.py.
"""
import glob
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

FOLDED = b"main;work;leaf 5\nmain;other 3\n"


def one_line(err):
    return len([l for l in err.splitlines() if l.strip()]) == 1


class Paths:
    def __init__(self, pyflare, build, tmp, check, skip):
        self.pyflare, self.build, self.tmp, self.check, self.Skip = pyflare, build, tmp, check, skip
        self.n = 0

    def dir(self):
        self.n += 1
        d = os.path.join(self.tmp, "paths%d" % self.n)
        os.makedirs(d)
        src = os.path.join(d, "in.folded")
        with open(src, "wb") as fh:
            fh.write(FOLDED)
        return d, src

    def run(self, args, stdin=None, timeout=60, **kw):
        r = subprocess.run([self.pyflare] + args, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kw)
        return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")

    def leftovers(self, d, keep):
        return sorted(set(os.listdir(d)) - set(keep))

    # ---- the tests ----

    def t_device(self):
        """A character device stays a device: its node is written, never replaced."""
        if os.geteuid() != 0:
            raise self.Skip("mknod needs root")
        d, src = self.dir()
        dev = os.path.join(d, "null.folded")
        try:
            os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same device as /dev/null
            fd = os.open(dev, os.O_WRONLY)
            os.close(fd)
        except OSError as e:
            raise self.Skip("cannot make a usable device node here: %s" % e)
        rc, _, err = self.run(["convert", src, dev])
        st = os.lstat(dev)
        self.check(stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3),
                   "the device node was replaced by a %s" % stat.filemode(st.st_mode))
        self.check(rc == 0, "convert to a device failed (%d): %s" % (rc, err))
        self.check(self.leftovers(d, ["in.folded", "null.folded"]) == [], "left behind: %r" % self.leftovers(d, ["in.folded", "null.folded"]))
        rc, _, err = self.run(["flamegraph", src, "-o", "/dev/null"])
        self.check(rc == 0 and stat.S_ISCHR(os.lstat("/dev/null").st_mode), "flamegraph -o /dev/null: %d %s" % (rc, err))

    def t_fifo(self):
        """A FIFO stays a FIFO, and its reader gets the whole output."""
        d, src = self.dir()
        fifo = os.path.join(d, "pipe.folded")
        os.mkfifo(fifo)
        got = []

        def reader():
            with open(fifo, "rb") as fh:
                got.append(fh.read())

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        rc, _, err = self.run(["convert", src, fifo], timeout=30)
        t.join(30)
        if t.is_alive():  # nothing opened the FIFO for writing: let the reader go
            with open(fifo, "wb"):
                pass
            t.join(5)
        self.check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a regular file")
        self.check(rc == 0 and got and sorted(got[0].splitlines()) == sorted(FOLDED.splitlines()),
                   "the reader got %r (exit %d: %s)" % (got, rc, err))
        self.check(self.leftovers(d, ["in.folded", "pipe.folded"]) == [], "left behind: %r" % os.listdir(d))

    def t_socket(self):
        """A Unix socket is written by connecting to it; it stays a socket."""
        d, src = self.dir()
        path = os.path.join(d, "sock.folded")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        got = []

        def serve():
            try:
                c, _ = srv.accept()
            except OSError:  # the socket was replaced under us
                return
            data = b""
            while True:
                b = c.recv(65536)
                if not b:
                    break
                data += b
            got.append(data)
            c.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        rc, _, err = self.run(["convert", src, path], timeout=30)
        t.join(10)
        srv.close()
        self.check(stat.S_ISSOCK(os.lstat(path).st_mode), "the socket was replaced")
        self.check(rc == 0 and got and sorted(got[0].splitlines()) == sorted(FOLDED.splitlines()),
                   "the socket got %r (exit %d: %s)" % (got, rc, err))

    def t_proc_fd(self):
        """/proc/self/fd/1 on a pipe (what `-o >(cmd)` and /dev/stdout amount to) is written into the pipe."""
        d, src = self.dir()
        rc, out, err = self.run(["convert", "--format", "folded", src, "/proc/self/fd/1"])
        self.check(rc == 0 and sorted(out.splitlines()) == sorted(FOLDED.splitlines()),
                   "exit %d, got %r: %s" % (rc, out, err))

    def t_symlink(self):
        """A symlink is written through: the link stays, its target gets the output (also a dangling link)."""
        d, src = self.dir()
        os.makedirs(os.path.join(d, "real"))
        target = os.path.join(d, "real", "out.folded")
        with open(target, "wb") as fh:
            fh.write(b"old\n")
        link = os.path.join(d, "link.folded")
        os.symlink("real/out.folded", link)
        rc, _, err = self.run(["convert", src, link])
        self.check(rc == 0, "convert through a symlink failed (%d): %s" % (rc, err))
        self.check(os.path.islink(link) and os.readlink(link) == "real/out.folded", "the link was replaced")
        with open(target, "rb") as fh:
            self.check(sorted(fh.read().splitlines()) == sorted(FOLDED.splitlines()), "the target was not written")
        dangling = os.path.join(d, "dangling.folded")
        os.symlink("real/new.folded", dangling)
        rc, _, err = self.run(["convert", src, dangling])
        self.check(rc == 0 and os.path.islink(dangling) and os.path.isfile(os.path.join(d, "real", "new.folded")),
                   "dangling link: exit %d, %s, %r" % (rc, err, os.listdir(os.path.join(d, "real"))))
        self.check(self.leftovers(os.path.join(d, "real"), ["out.folded", "new.folded"]) == [],
                   "left behind: %r" % os.listdir(os.path.join(d, "real")))

    def t_planted_temp(self):
        """A symlink planted at the temporary name (the old OUT.tmp.PID) is not followed:
        the file it points to is untouched and the output is right."""
        d, src = self.dir()
        victim = os.path.join(d, "victim")
        with open(victim, "wb") as fh:
            fh.write(b"precious\n")
        out = os.path.join(d, "out.folded")
        # The child plants links at every temporary name it can predict for its own pid, then becomes pyflare.
        code = ("import os,sys\n"
                "out, victim = sys.argv[1], sys.argv[2]\n"
                "for n in [out + '.tmp.%d' % os.getpid()]:\n"
                "    os.symlink(victim, n)\n"
                "os.execv(sys.argv[3], sys.argv[3:])\n")
        r = subprocess.run([sys.executable, "-c", code, out, victim, self.pyflare, "convert", src, out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        with open(victim, "rb") as fh:
            self.check(fh.read() == b"precious\n", "the planted link's target was overwritten")
        self.check(r.returncode == 0 and os.path.isfile(out) and not os.path.islink(out),
                   "exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")))
        with open(out, "rb") as fh:
            self.check(sorted(fh.read().splitlines()) == sorted(FOLDED.splitlines()), "wrong output")

    def t_mode(self):
        """An existing file's mode carries over (0600 stays 0600); a new file gets the umask's."""
        d, src = self.dir()
        out = os.path.join(d, "secret.svg")
        with open(out, "wb") as fh:
            fh.write(b"x")
        os.chmod(out, 0o600)
        rc, _, err = self.run(["convert", src, out])
        mode = stat.S_IMODE(os.stat(out).st_mode)
        self.check(rc == 0 and mode == 0o600, "mode became %o (exit %d: %s)" % (mode, rc, err))
        new = os.path.join(d, "new.svg")
        old = os.umask(0o027)
        try:
            rc, _, err = self.run(["convert", src, new])
        finally:
            os.umask(old)
        mode = stat.S_IMODE(os.stat(new).st_mode)
        self.check(rc == 0 and mode == 0o640, "a new file got mode %o under umask 027 (exit %d)" % (mode, rc))

    def t_long_name(self):
        """A name near NAME_MAX (250 bytes, and a multi-byte one) can be written."""
        d, src = self.dir()
        for name in ["a" * 246 + ".svg", "\u00e9" * 123 + ".svg"]:
            out = os.path.join(d, name)
            rc, _, err = self.run(["convert", src, out])
            self.check(rc == 0 and os.path.isfile(out), "%d-byte name: exit %d: %s" % (len(name.encode()), rc, err))
        self.check(len(os.listdir(d)) == 3, "left behind: %r" % os.listdir(d))

    def t_refused_early(self):
        """A directory or an unwritable place is refused before any input is read: one line, non-zero."""
        d, src = self.dir()
        os.makedirs(os.path.join(d, "adir.svg"))
        cases = [["convert", "-", os.path.join(d, "adir.svg")],
                 ["flamegraph", "-", "-o", os.path.join(d, "adir.svg")],
                 ["convert", "-", os.path.join(d, "missing", "out.svg")],
                 ["diff", "-", src, "-o", os.path.join(d, "adir.svg")]]
        for args in cases:
            # stdin is a pipe nobody writes to or closes: a command that read its input first would wait here.
            p = subprocess.Popen([self.pyflare] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            try:
                out, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                raise AssertionError("%s read its input before refusing the output" % " ".join(args))
            finally:
                p.stdin.close() if p.stdin and not p.stdin.closed else None
            err = err.decode("utf-8", "replace")
            self.check(p.returncode != 0 and one_line(err) and ("directory" in err or "No such file" in err),
                       "%s: exit %d, %r" % (" ".join(args), p.returncode, err))
        self.check(os.path.isdir(os.path.join(d, "adir.svg")), "the directory was replaced")

    def t_sigterm(self):
        """SIGTERM (and SIGINT) while convert writes leaves no temporary file and no output."""
        d, src = self.dir()
        big = os.path.join(d, "big.folded")
        with open(big, "wb") as fh:
            for i in range(150000):
                fh.write(b"main;mod%d;f%d;g%d;leaf%d 1\n" % (i % 97, i % 1013, i, i * 7))
        for sig, cmd in [(signal.SIGTERM, "convert"), (signal.SIGINT, "flamegraph")]:
            out = os.path.join(d, "big%d.html" % sig)
            args = ["convert", big, out] if cmd == "convert" else ["flamegraph", big, "-o", out]
            p = subprocess.Popen([self.pyflare] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            keep = set(os.listdir(d))
            caught = False
            deadline = time.time() + 60
            while p.poll() is None and time.time() < deadline:
                if set(os.listdir(d)) - keep:  # the temporary file exists: the write has begun
                    p.send_signal(sig)
                    caught = True
                    break
                time.sleep(0.001)
            p.communicate(timeout=60)
            if not caught:
                raise self.Skip("%s finished before its temporary file was seen" % cmd)
            self.check(p.returncode == -sig, "%s: exit %r after signal %d" % (cmd, p.returncode, sig))
            left = sorted(set(os.listdir(d)) - keep)
            self.check(not left, "%s killed by signal %d left %r" % (cmd, sig, left))

    def t_record_refused(self):
        """record refuses a directory or a missing directory before it starts the program."""
        d, _ = self.dir()
        os.makedirs(os.path.join(d, "adir.svg"))
        marker = os.path.join(d, "started")
        prog = "open(%r, 'w').close()\nimport time\ntime.sleep(2)\n" % marker
        for out in [os.path.join(d, "adir.svg"), os.path.join(d, "nope", "x.svg"), d + "/"]:
            rc, _, err = self.run(["record", "-o", out, "--duration", "3", "--", sys.executable, "-c", prog])
            self.check(rc != 0 and one_line(err), "record -o %s: exit %d, %r" % (out, rc, err))
            self.check(not os.path.exists(marker), "record -o %s started the program before refusing" % out)

    def module_python(self):
        """An interpreter with a built pyflare module, and the PYTHONPATH for it."""
        ver = "%d.%d.%d" % sys.version_info[:3]
        for tag in [ver] + sorted(os.listdir(os.path.join(self.build, "module")) if os.path.isdir(
                os.path.join(self.build, "module")) else []):
            path = os.path.join(self.build, "module", tag)
            if tag == ver and glob.glob(os.path.join(path, "pyflare", "_tracer*")):
                return sys.executable, path
        raise self.Skip("no pyflare module built for %s" % ver)

    def t_module_write(self):
        """Profile.write has the same rules: device, symlink, mode, directory refused, long name."""
        py, path = self.module_python()
        d, _ = self.dir()
        os.makedirs(os.path.join(d, "adir.svg"))
        os.makedirs(os.path.join(d, "real"))
        with open(os.path.join(d, "real", "t.folded"), "wb") as fh:
            fh.write(b"old")
        os.symlink("real/t.folded", os.path.join(d, "link.folded"))
        with open(os.path.join(d, "secret.folded"), "wb") as fh:
            fh.write(b"x")
        os.chmod(os.path.join(d, "secret.folded"), 0o600)
        fifo = os.path.join(d, "pipe.folded")
        os.mkfifo(fifo)
        code = r'''
import os, sys, stat, threading
import pyflare
d = sys.argv[1]
def work():
    return sum(range(1000))
with pyflare.Profile() as p:
    work()
p.write(os.path.join(d, "link.folded"))
p.write(os.path.join(d, "secret.folded"))
p.write(os.path.join(d, "a" * 246 + ".svg"))
got = []
t = threading.Thread(target=lambda: got.append(open(os.path.join(d, "pipe.folded"), "rb").read()))
t.start()
p.write(os.path.join(d, "pipe.folded"))
t.join()
print("fifo", len(got[0]))
try:
    p.write(os.path.join(d, "adir.svg"))
    print("dir written")
except (IOError, OSError, ValueError) as e:
    print("dir refused:", e)
'''
        env = dict(os.environ, PYTHONPATH=path)
        # Under `make asan` the module is built with the sanitizers: the
        # uninstrumented interpreter needs their runtime preloaded (module.mk
        # names it in build/module/asan-runtime, as tests/tracer uses it).
        runtime = os.path.join(self.build, "module", "asan-runtime")
        if os.path.exists(runtime):
            with open(runtime) as fh:
                env.update(LD_PRELOAD=fh.read().strip(), ASAN_OPTIONS="detect_leaks=0")
        r = subprocess.run([py, "-c", code, d], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
        out = r.stdout.decode(errors="replace")
        self.check(r.returncode == 0, "module run failed: %s %s" % (out, r.stderr.decode(errors="replace")))
        self.check(os.path.islink(os.path.join(d, "link.folded")), "Profile.write replaced the symlink")
        with open(os.path.join(d, "real", "t.folded"), "rb") as fh:
            self.check(b"work" in fh.read(), "the link's target was not written")
        mode = stat.S_IMODE(os.stat(os.path.join(d, "secret.folded")).st_mode)
        self.check(mode == 0o600, "Profile.write made a 0600 file %o" % mode)
        self.check(stat.S_ISFIFO(os.lstat(fifo).st_mode) and "fifo 0" not in out, "FIFO: %s" % out)
        self.check("dir refused" in out and "directory" in out and os.path.isdir(os.path.join(d, "adir.svg")), out)
        self.check(os.path.isfile(os.path.join(d, "a" * 246 + ".svg")), "the long name was not written")
        left = [f for f in os.listdir(d) if f.startswith(".") or ".tmp" in f]
        self.check(not left, "left behind: %r" % left)


def run_all(run_test, pyflare, build, tmp, check, skip):
    p = Paths(pyflare, build, tmp, check, skip)
    for name, fn in [("output to a device stays a device", p.t_device), ("output to a FIFO", p.t_fifo),
                     ("output to a Unix socket", p.t_socket), ("output through a symlink", p.t_symlink),
                     ("output to /proc/self/fd/1, a pipe", p.t_proc_fd),
                     ("a symlink planted at the temporary name", p.t_planted_temp),
                     ("an existing file's mode is kept", p.t_mode), ("a 250-byte output name", p.t_long_name),
                     ("a directory or missing directory refused first", p.t_refused_early),
                     ("SIGTERM/SIGINT while writing leaves no temporary file", p.t_sigterm),
                     ("record refuses a bad output before starting", p.t_record_refused),
                     ("Profile.write: device, symlink, mode, directory", p.t_module_write)]:
        run_test(name, fn)
