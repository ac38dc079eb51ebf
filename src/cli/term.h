/* term.h — the terminal for a full-screen view (`pyflare top`), with plain
 * VT100/ANSI sequences only: no terminfo database is needed, so it works in a
 * bare container and over ssh.
 *
 * term_enter() saves the terminal's modes, switches to the alternate screen
 * with keys read one at a time (no echo, no line editing; Ctrl-C still sends
 * SIGINT), and hides the cursor. term_leave() puts everything back; it runs at
 * exit and from a handler for the signals that would end the process without
 * running it (SIGSEGV, SIGABRT, SIGQUIT, ...), a handler that only writes the
 * restore sequence, restores the modes and dies of the same signal. Ctrl-Z
 * (SIGTSTP) gives the terminal back before stopping and takes it again when
 * continued (term_resized is then set so that the screen is drawn whole). */
#ifndef PYFLARE_CLI_TERM_H
#define PYFLARE_CLI_TERM_H

#include <signal.h>
#include <stddef.h>

/* Set by SIGWINCH once term_enter() ran; the caller clears it. */
extern volatile sig_atomic_t term_resized;

/* 0, or -1 when fd 0 or 1 is not a terminal (nothing changed). */
int term_enter(void);
/* Idempotent; safe to call when term_enter() was not. */
void term_leave(void);
/* The window's size (24x80 when unknown). */
void term_size(int *rows, int *cols);
/* The next key pressed, or -1 when none is waiting (never blocks). */
int term_key(void);
/* Waits up to ms milliseconds for a key: the key, or -1. */
int term_wait_key(int ms);
/* Writes all of buf to standard output (the screen). */
void term_write(const char *buf, size_t len);

#endif
