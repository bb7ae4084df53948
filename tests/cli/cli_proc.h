/*
 * cli_proc.h: runs a built command (`hypervisor`, `hvctl`) as a child process with posix_spawn and
 * captures its stdout, stderr and exit status, for the tests that drive the binaries. Every
 * failure to spawn or wait fails the current cmocka test.
 */
#ifndef HV_TESTS_CLI_PROC_H
#define HV_TESTS_CLI_PROC_H

#define CLI_PROC_OUT_MAX 65536 /* each stream is cut there, NUL-terminated */
#define CLI_PROC_ARGV_MAX 32

typedef struct cli_proc {
  int status; /* exit status; a death by signal fails the test */
  char out[CLI_PROC_OUT_MAX];
  char err[CLI_PROC_OUT_MAX];
} cli_proc;

/* Runs `bin` with `args` (NULL-terminated, after argv[0]) and the test's environment into *r. */
void cli_proc_run(cli_proc *r, const char *bin, const char *const *args);

#endif /* HV_TESTS_CLI_PROC_H */
