/* cli_common.c: option helpers shared by the subcommands and by hvctl (see cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hv_version.h"

bool cli_parse_seconds(const char *text, double max_seconds, uint64_t *out_ns) {
  const char *s = text;
  size_t digits = 0;
  while (*s >= '0' && *s <= '9') s++, digits++;
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') s++, digits++;
  }
  if (digits == 0 || *s != '\0' || s - text > 32) return false;
  double seconds = strtod(text, NULL);
  if (!(seconds > 0.0) || seconds > max_seconds) return false;
  double ns = seconds * 1e9 + 0.5;
  *out_ns = ns < 1.0 ? 1 : (uint64_t)ns;
  return true;
}

uint64_t cli_seconds_round_up(uint64_t ns) {
  return ns / 1000000000u + (ns % 1000000000u != 0);
}

/* Flushes stdout after a --version or --help text; a failure is exit status 1. */
static int cli_flush_stdout(int printed) {
  if (printed < 0 || fflush(stdout) != 0) {
    fprintf(stderr, "cannot write to stdout: %s\n", strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

int cli_print_version(const char *name) {
  return cli_flush_stdout(printf("%s %s\n", name, HV_VERSION));
}

int cli_print_usage(const char *usage) {
  return cli_flush_stdout(printf("usage: %s\n", usage));
}

int cli_option(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0) return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0') return 0;
  if (*i + 1 >= argc) return -1;
  *value = argv[++*i];
  return 1;
}
