/*
 * cli.h: the subcommands of the `hypervisor` executable. Each takes the arguments after the
 * subcommand name (argv[0] is the subcommand itself) and returns the process exit status.
 */
#ifndef HV_CLI_H
#define HV_CLI_H

#include <stdbool.h>
#include <stdint.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

#define CLI_RUN_USAGE                                                                   \
  "hypervisor run [--invoke NAME] [--timeout SECONDS] [--gas N] [--memory-mb N] [--stats] " \
  "FILE.wasm [ARG...]"
#define CLI_SPECTEST_USAGE "hypervisor spectest [--timeout SECONDS] FILE.json..."

/* `hypervisor run`: runs one export of a module under the service's limits (docs/cli.md). */
int cli_run(int argc, char **argv);
/* `hypervisor spectest`: runs wast2json command files against the engine (docs/cli.md). */
int cli_spectest(int argc, char **argv);

/*
 * Parses strict decimal seconds ("10", "0.5"; no sign, exponent or space) with
 * 0 < seconds <= max_seconds into nanoseconds. False if the text is not such a number.
 */
bool cli_parse_seconds(const char *text, double max_seconds, uint64_t *out_ns);

/*
 * Matches argv[*i] against the long option `name` ("--gas"), taking its value from "--gas=N" or
 * from the next argument (advancing *i). Returns 1 with *value set on a match, 0 if argv[*i] is
 * another option, -1 if the option matched but its value is missing.
 */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);

#endif /* HV_CLI_H */
