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
  "[--result string|bytes] [--out FILE] [--max-result-bytes N] FILE.wasm [ARG...]\n"           \
  "       hypervisor run --wasi [--stdin FILE] [--timeout SECONDS] [--gas N] [--memory-mb N] "  \
  "[--stats] [--max-result-bytes N] FILE.wasm [ARG...]"
#define CLI_SPECTEST_USAGE "hypervisor spectest [--timeout SECONDS] FILE.json..."
#define CLI_API_KEY_USAGE "hypervisor api-key [--id NAME]"

/* `hypervisor run`: runs one export of a module under the service's limits (docs/cli.md). */
int cli_run(int argc, char **argv);
/* `hypervisor spectest`: runs wast2json command files against the engine (docs/cli.md). */
int cli_spectest(int argc, char **argv);
/* `hypervisor api-key`: makes an API key, prints it and its auth.api_keys entry (docs/cli.md). */
int cli_api_key(int argc, char **argv);

/*
 * Parses strict decimal seconds ("10", "0.5", ".5", "1."; no sign, exponent or space) with
 * 0 < seconds <= max_seconds into nanoseconds (at least 1). False if the text is not such a number.
 * The one parser of every --timeout: `hypervisor run`, `hypervisor spectest` and `hvctl exec`.
 */
bool cli_parse_seconds(const char *text, double max_seconds, uint64_t *out_ns);

/* Nanoseconds rounded up to whole seconds, the unit of the protocol's timeout_seconds (0.5 s is 1). */
uint64_t cli_seconds_round_up(uint64_t ns);

/*
 * Prints "NAME VERSION" (the project's version, HV_VERSION) on stdout for --version. Returns
 * CLI_EXIT_OK, or CLI_EXIT_FAILURE (with a line on stderr) when stdout cannot be written.
 */
int cli_print_version(const char *name);

/*
 * Prints "usage: USAGE" on stdout for --help; the exit status as cli_print_version's.
 */
int cli_print_usage(const char *usage);

/*
 * Matches argv[*i] against the long option `name` ("--gas"), taking its value from "--gas=N" or
 * from the next argument (advancing *i). Returns 1 with *value set on a match, 0 if argv[*i] is
 * another option, -1 if the option matched but its value is missing.
 */
int cli_option(int argc, char **argv, int *i, const char *name, const char **value);

#endif /* HV_CLI_H */
