/* main.c: the `hypervisor` executable: dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hv_server.h"

#define CLI_SERVE_USAGE \
  "hypervisor [serve] [--config FILE] | hypervisor [serve] --check-config FILE   (the default command)"

static const struct {
  const char *name;
  int (*main)(int argc, char **argv);
  const char *usage;
} cli_commands[] = {
    {"serve", hv_server_main, CLI_SERVE_USAGE},
    {"run", cli_run, CLI_RUN_USAGE},
    {"spectest", cli_spectest, CLI_SPECTEST_USAGE},
    {"api-key", cli_api_key, CLI_API_KEY_USAGE},
};

#define CLI_COMMAND_COUNT (sizeof cli_commands / sizeof cli_commands[0])

static void cli_usage(FILE *out) {
  fprintf(out, "usage: hypervisor [COMMAND] [OPTION...] [ARG...]   (no COMMAND: serve)\n");
  for (size_t i = 0; i < CLI_COMMAND_COUNT; i++) fprintf(out, "  %s\n", cli_commands[i].usage);
  fprintf(out, "  hypervisor --version\n  hypervisor [COMMAND] --help\n");
}

int main(int argc, char **argv) {
  /* No subcommand, or options straight away: the service, as `hypervisor serve` would run. */
  if (argc < 2) return hv_server_main(1, (char *[]){"serve", NULL});
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    cli_usage(stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  }
  if (strcmp(argv[1], "--version") == 0) return cli_print_version("hypervisor");
  if (argv[1][0] == '-') {
    argv[0] = "serve";
    return hv_server_main(argc, argv);
  }
  for (size_t i = 0; i < CLI_COMMAND_COUNT; i++)
    if (strcmp(argv[1], cli_commands[i].name) == 0) return cli_commands[i].main(argc - 1, argv + 1);
  fprintf(stderr, "hypervisor: unknown command '%s'\n", argv[1]);
  cli_usage(stderr);
  return CLI_EXIT_USAGE;
}
