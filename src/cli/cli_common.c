/* cli_common.c: option helpers shared by the subcommands (see cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
