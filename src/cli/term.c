/* term.c — raw mode, alternate screen and their restoring (see term.h). */
#include "cli/term.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

volatile sig_atomic_t term_resized;

static struct termios saved, raw_mode;
static volatile sig_atomic_t entered;

/* Show the cursor, reset colours, leave the alternate screen. */
static const char RESTORE[] = "\033[?25h\033[0m\033[?1049l";
/* Alternate screen, cursor hidden, screen cleared. */
static const char ENTER[] = "\033[?1049h\033[?25l\033[H\033[2J";

static void write_all(const char *buf, size_t len) {
    while (len) {
        ssize_t n = write(1, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void term_write(const char *buf, size_t len) { write_all(buf, len); }

/* Async-signal-safe: write(2) and tcsetattr(3) only. */
static void restore(void) {
    if (!entered)
        return;
    entered = 0;
    write_all(RESTORE, sizeof RESTORE - 1);
    tcsetattr(0, TCSAFLUSH, &saved);
}

void term_leave(void) { restore(); }

static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};

/* The process dies of this signal anyway: first give the terminal back. */
static void on_fatal(int sig) {
    int saved_errno = errno;
    restore();
    signal(sig, SIG_DFL);
    raise(sig);
    errno = saved_errno;
}

/* Ctrl-Z: give the shell its terminal back, stop, and on being continued
 * take the screen again (the caller redraws it whole: term_resized). */
static void on_tstp(int sig) {
    (void)sig;
    int saved_errno = errno;
    if (entered) {
        restore();
        raise(SIGSTOP); /* cannot be blocked: stops here, goes on at SIGCONT */
        if (tcsetattr(0, TCSAFLUSH, &raw_mode) == 0) {
            entered = 1;
            write_all(ENTER, sizeof ENTER - 1);
        }
        term_resized = 1;
    } else {
        raise(SIGSTOP);
    }
    errno = saved_errno;
}

static void on_winch(int sig) {
    (void)sig;
    term_resized = 1;
}

int term_enter(void) {
    if (!isatty(0) || !isatty(1) || tcgetattr(0, &saved) != 0)
        return -1;
    raw_mode = saved;
    raw_mode.c_lflag &= ~(tcflag_t)(ICANON | ECHO | IEXTEN);
    raw_mode.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
    raw_mode.c_cc[VMIN] = 0;
    raw_mode.c_cc[VTIME] = 0;
    if (tcsetattr(0, TCSAFLUSH, &raw_mode) != 0)
        return -1;
    entered = 1;
    static int once;
    if (!once) {
        once = 1;
        atexit(term_leave);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal;
        sa.sa_flags = SA_RESETHAND;
        for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
            sigaction(fatal[i], &sa, NULL);
        sa.sa_handler = on_winch;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGWINCH, &sa, NULL);
        sa.sa_handler = on_tstp;
        sigaction(SIGTSTP, &sa, NULL);
    }
    write_all(ENTER, sizeof ENTER - 1);
    return 0;
}

void term_size(int *rows, int *cols) {
    struct winsize ws;
    *rows = 24;
    *cols = 80;
    if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

int term_key(void) {
    unsigned char c;
    ssize_t n = read(0, &c, 1);
    if (n != 1)
        return -1;
    if (c == 033) { /* an escape sequence (arrow keys...): read and drop the rest */
        unsigned char rest[16];
        while (read(0, rest, sizeof rest) > 0) {
        }
    }
    return c;
}

int term_wait_key(int ms) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return -1;
    return term_key();
}
