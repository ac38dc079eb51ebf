/* trace.c — `pyflare trace`: run a script under the in-process deterministic
 * profiler (the pyflare._tracer extension module, module/tracer.c).
 *
 *   pyflare trace [-o OUT] [options] -- python [python options] (script.py | -m module | -c code) [args]
 *
 * The module is built once per interpreter (module/module.mk), so this asks
 * the given interpreter which one it is (version tag and extension suffix, the
 * same tag module/pyinfo.py gives the build), finds that build beside this
 * binary (build/pyflare -> build/module/<tag>/) or under an install prefix
 * (PREFIX/bin/pyflare -> PREFIX/lib/pyflare/<tag>/), and then becomes
 *   python [python options] -m pyflare -o OUT ... (-- script.py | -m module | -c code) args
 * (the options that python -m pyflare also takes, from the one option table,
 * passed on as they were given) with PYTHONPATH pointing at it: exec, not a child, so the exit status and
 * signals are the script's own. PYFLARE_MODULE_DIR overrides the search; an
 * interpreter that can already import pyflare._tracer (pip install) is used
 * as it is when no build is found.
 *
 * An interpreter of another root, `pyflare trace -- chroot [OPTIONS] ROOT
 * python ...` (Debian sid's 3.14/3.15 here), is asked through the same chroot,
 * and this system's build of the module is handed to it as /proc/self/fd/N: a
 * directory descriptor left open across exec, whose /proc link reaches the
 * directory from inside the root (the root needs /proc mounted). -o names a
 * file here, passed the same way (its directory's descriptor); the script's
 * own paths are the root's. Nothing is copied into the root. */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "output/writer.h"

static const cli_command trace_command = {
    .id = CMD_TRACE, .display = "pyflare trace", .command_after_dashes = 1, .command_at_word = 1,
    .usage = "usage: pyflare trace [-o OUT] [options] -- python [python options] (SCRIPT | -m MODULE | -c CODE) "
             "[ARGS...]\n\n"
             "Runs SCRIPT under pyflare's in-process deterministic profiler: every call is\n"
             "counted and timed (like cProfile, at lower cost), then the profile is written\n"
             "(without -o: a text report on standard output).\n",
    .epilog = "The exit status is the script's. For an interpreter in another root, put chroot\n"
              "first: pyflare trace -o OUT -- chroot ROOT python3.15 /app/app.py (OUT is a path\n"
              "here, the script's paths are the root's; ROOT needs /proc mounted).\n",
};

/* Asked of the interpreter: "<tag>|<extension suffix>|<1 if pyflare._tracer imports>".
 * The tag must match module/pyinfo.py's. Works on Python 2.7 and 3.x. */
static const char query_code[] =
    "import sys, sysconfig\n"
    "tag = '%d.%d.%d' % sys.version_info[:3] + getattr(sys, 'abiflags', '').replace('m', '')\n"
    "suffix = sysconfig.get_config_var('EXT_SUFFIX') or sysconfig.get_config_var('SO')\n"
    "try:\n"
    "    import pyflare._tracer\n"
    "    have = 1\n"
    "except Exception:\n"
    "    have = 0\n"
    "sys.stdout.write('%s|%s|%d' % (tag, suffix, have))\n";

/* Runs `[launcher...] python -c query_code` (with the user's environment, so
 * PYTHONPATH and virtualenvs count) and reads its one line into out. 0, or -1
 * with a message. launcher: the chroot command before python, or none. */
static int ask_python(char **launcher, int nlauncher, const char *python, char *out, size_t cap) {
    char *argv[64];
    if (nlauncher > 60) {
        fputs("pyflare: trace: too many chroot options\n", stderr);
        return -1;
    }
    for (int i = 0; i < nlauncher; i++)
        argv[i] = launcher[i];
    argv[nlauncher] = (char *)python;
    argv[nlauncher + 1] = "-c";
    argv[nlauncher + 2] = (char *)query_code;
    argv[nlauncher + 3] = NULL;
    int fds[2];
    if (pipe(fds) < 0) {
        perror("pyflare: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("pyflare: fork");
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "pyflare: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used < cap - 1 && ((n = read(fds[0], out + used, cap - 1 - used)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
            used += (size_t)n;
    out[used] = 0;
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strchr(out, '|')) {
        if (!(WIFEXITED(status) && WEXITSTATUS(status) == 127))
            fprintf(stderr, "pyflare: %s did not say which Python it is (is it a Python interpreter?)\n", python);
        return -1;
    }
    return 0;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory holding pyflare/_tracer<suffix> for tag, into dir; 0 or -1. */
static int find_module(const char *tag, const char *suffix, char *dir, size_t cap) {
    char exe[PATH_MAX], file[PATH_MAX + 64];
    const char *env = getenv("PYFLARE_MODULE_DIR");
    if (env && *env) {
        snprintf(dir, cap, "%s", env);
        snprintf(file, sizeof file, "%s/pyflare/_tracer%s", dir, suffix);
        return is_file(file) ? 0 : -1;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    const char *bindir = dirname(exe);
    const char *layouts[] = {"%s/module/%s", "%s/../lib/pyflare/%s"};
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        snprintf(dir, cap, layouts[i], bindir, tag);
        snprintf(file, sizeof file, "%s/pyflare/_tracer%s", dir, suffix);
        if (is_file(file))
            return 0;
    }
    return -1;
}

/* `chroot [OPTION...] ROOT python ...`: how many words come before python
 * (0: not chroot), and ROOT; -1 with a message when the command cannot be
 * read (GNU chroot's options are --userspec=, --groups=, --skip-chdir). */
static int chroot_launcher(char **command, int n, const char **root) {
    const char *slash = strrchr(command[0], '/');
    if (strcmp(slash ? slash + 1 : command[0], "chroot"))
        return 0;
    int i = 1;
    for (; i < n && command[i][0] == '-'; i++)
        if (strncmp(command[i], "--userspec=", 11) && strncmp(command[i], "--groups=", 9) &&
            strcmp(command[i], "--skip-chdir")) {
            fprintf(stderr, "pyflare: trace: chroot option %s is not understood (use --userspec=U:G, --groups=G,"
                            " --skip-chdir)\n", command[i]);
            return -1;
        }
    if (i + 1 >= n) {
        fputs("pyflare: trace: chroot needs a root and a python: chroot ROOT python script.py\n", stderr);
        return -1;
    }
    *root = command[i];
    return i + 1;
}

/* An O_PATH descriptor of dir left open across exec, as "/proc/self/fd/N"
 * (into buf); NULL with a message. */
static const char *fd_path(const char *dir, char *buf, size_t cap) {
    int fd = open(dir, O_PATH | O_DIRECTORY);
    if (fd < 0) {
        fprintf(stderr, "pyflare: cannot open %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    snprintf(buf, cap, "/proc/self/fd/%d", fd);
    return buf;
}

int cmd_trace(int argc, char **argv) {
    cli_args ca;
    int rc = cli_start(&trace_command, argc, argv, &ca);
    if (rc >= 0)
        return rc;
    if (!ca.command)
        return cli_usage_error("trace: no command: pyflare trace -o OUT -- python script.py [args]");
    const char *output = ca.text[OPT_OUTPUT];
    if (!cli_output(&ca, output, "text", &rc))
        return rc;
    int i = ca.command_index;

    char **command = argv + i;
    int ncommand = argc - i;
    const char *root = NULL;
    int nlauncher = chroot_launcher(command, ncommand, &root);
    if (nlauncher < 0)
        return 2;
    char **launcher = command;
    command += nlauncher;
    ncommand -= nlauncher;
    const char *python = command[0];

    char info[512];
    if (ask_python(launcher, nlauncher, python, info, sizeof info) < 0)
        return 1;
    char *tag = info, *suffix = strchr(info, '|');
    *suffix++ = 0;
    char *have = strchr(suffix, '|');
    if (have)
        *have++ = 0;
    char dir[PATH_MAX];
    int found = find_module(tag, suffix, dir, sizeof dir) == 0;
    if (!found && !(have && *have == '1')) {
        fprintf(stderr,
                "pyflare: no pyflare tracer module built for Python %s (%s): run 'make' (or 'pip install .'),"
                " or set PYFLARE_MODULE_DIR\n",
                tag, python);
        return 1;
    }

    /* Inside another root, our module and output directory go as descriptors. */
    char module_fd[64], outdir_fd[64], output_fd[PATH_MAX + 64];
    const char *shown = output;
    if (root) {
        char proc[PATH_MAX];
        snprintf(proc, sizeof proc, "%s/proc/self/fd", root);
        if (access(proc, F_OK) != 0) {
            fprintf(stderr, "pyflare: /proc is not mounted in %s (mount -t proc proc %s/proc): pyflare trace reaches "
                            "the interpreter there through /proc/self/fd\n", root, root);
            return 1;
        }
        if (found && !fd_path(dir, module_fd, sizeof module_fd))
            return 1;
        if (found)
            snprintf(dir, sizeof dir, "%s", module_fd);
        if (output && strcmp(output, "-")) {
            char copy[PATH_MAX], base[PATH_MAX];
            snprintf(copy, sizeof copy, "%s", output);
            snprintf(base, sizeof base, "%s", output);
            if (!fd_path(dirname(copy), outdir_fd, sizeof outdir_fd))
                return 1;
            snprintf(output_fd, sizeof output_fd, "%s/%s", outdir_fd, basename(base));
            output = output_fd;
        }
    }

    /* [chroot ROOT] python [its options] -m pyflare [ours] -- script args | -m module args | -c code args */
    char **args = calloc((size_t)ncommand + (size_t)nlauncher + 2 * OPT_COUNT + 8, sizeof *args);
    char names[OPT_COUNT][32];
    if (!args) {
        fputs("pyflare: out of memory\n", stderr);
        return 1;
    }
    int n = 0, j = 1;
    for (int k = 0; k < nlauncher; k++)
        args[n++] = launcher[k];
    args[n++] = (char *)python;
    for (; j < ncommand; j++) {
        const char *a = command[j];
        if (a[0] != '-' || !strcmp(a, "-") || !strcmp(a, "-m") || !strcmp(a, "-c"))
            break;
        args[n++] = command[j];
        /* Options whose value is the next word. */
        if ((!strcmp(a, "-X") || !strcmp(a, "-W") || !strcmp(a, "--check-hash-based-pycs")) && j + 1 < ncommand)
            args[n++] = command[++j];
    }
    if (j >= ncommand)
        return cli_usage_error("trace: no script in the command: python script.py [args]");
    if ((!strcmp(command[j], "-m") || !strcmp(command[j], "-c")) && j + 1 >= ncommand)
        return cli_usage_error("trace: python %s needs a value", command[j]);
    args[n++] = "-m";
    args[n++] = "pyflare";
    if (output) {
        args[n++] = "-o";
        args[n++] = (char *)output;
        if (shown != output) { /* say the name the user gave, not /proc/self/fd/N/... */
            args[n++] = "--output-name";
            args[n++] = (char *)shown;
        }
    }
    /* Ours that python -m pyflare takes too, as the table spells them. */
    for (int id = 0; id < OPT_COUNT; id++) {
        const cli_option *o = cli_option_for((cli_opt)id, CMD_MODULE);
        if (!ca.given[id] || id == OPT_OUTPUT || !o)
            continue;
        cli_option_name(o, names[id], sizeof names[id]);
        args[n++] = names[id];
        if (ca.text[id])
            args[n++] = (char *)ca.text[id];
    }
    if (strcmp(command[j], "-m") && strcmp(command[j], "-c"))
        args[n++] = "--"; /* -m and -c end python -m pyflare's options too */
    for (; j < ncommand; j++)
        args[n++] = command[j];
    args[n] = NULL;

    if (found) {
        const char *old = getenv("PYTHONPATH");
        size_t len = strlen(dir) + (old ? strlen(old) : 0) + 2;
        char *path = malloc(len);
        if (!path) {
            fputs("pyflare: out of memory\n", stderr);
            return 1;
        }
        snprintf(path, len, "%s%s%s", dir, old && *old ? ":" : "", old && *old ? old : "");
        setenv("PYTHONPATH", path, 1);
        free(path);
    }
    fflush(NULL);
    execvp(args[0], args);
    fprintf(stderr, "pyflare: cannot run %s: %s\n", args[0], strerror(errno));
    free(args);
    return 127;
}
