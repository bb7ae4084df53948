/*
 * test_conventions.c: the conventions both commands share (docs/cli.md, "Conventions"), checked on
 * the built binaries (HV_CLI_BIN, HV_HVCTL_BIN): --version, --help on the program and on every
 * subcommand, one --timeout parser for `hypervisor run` and `hvctl exec`, and every option the
 * usage texts name documented in docs/cli.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "cli_proc.h"

static cli_proc result;

/* An address nothing listens on: hvctl gets as far as connecting, then fails with exit 1. */
#define NO_SERVER "http://127.0.0.1:1"

#define RUN(bin, ...) cli_proc_run(&result, (bin), (const char *const[]){__VA_ARGS__, NULL})

static const char *values_wasm(void) {
  static char path[512];
  snprintf(path, sizeof path, "%s/values.wasm", HV_CLI_WASM_DIR);
  return path;
}

/* --help: exit 0, the usage on stdout (containing `want`), nothing on stderr. */
static void expect_help(const char *what, const char *want) {
  if (result.status != 0) fail_msg("%s: exit %d, stderr: %s", what, result.status, result.err);
  if (strncmp(result.out, "usage: ", 7) != 0) fail_msg("%s: stdout is not a usage: '%s'", what, result.out);
  if (strstr(result.out, want) == NULL) fail_msg("%s: '%s' not in '%s'", what, want, result.out);
  assert_string_equal(result.err, "");
}

static void expect_usage_error(const char *what, const char *want) {
  if (result.status != 2) fail_msg("%s: exit %d (wanted 2), stderr: %s", what, result.status, result.err);
  assert_string_equal(result.out, "");
  if (strstr(result.err, want) == NULL) fail_msg("%s: '%s' not in stderr '%s'", what, want, result.err);
  assert_non_null(strstr(result.err, "usage:"));
}

/* ---- --version ---------------------------------------------------------------------------- */

static void test_version(void **state) {
  (void)state;
  RUN(HV_CLI_BIN, "--version");
  assert_int_equal(result.status, 0);
  assert_string_equal(result.out, "hypervisor " HV_EXPECTED_VERSION "\n");
  assert_string_equal(result.err, "");
  RUN(HV_HVCTL_BIN, "--version");
  assert_int_equal(result.status, 0);
  assert_string_equal(result.out, "hvctl " HV_EXPECTED_VERSION "\n");
  assert_string_equal(result.err, "");
}

/* ---- --help ------------------------------------------------------------------------------- */

static void test_hypervisor_help_everywhere(void **state) {
  (void)state;
  RUN(HV_CLI_BIN, "--help");
  expect_help("hypervisor --help", "hypervisor run");
  RUN(HV_CLI_BIN, "-h");
  expect_help("hypervisor -h", "hypervisor spectest");
  RUN(HV_CLI_BIN, "help");
  expect_help("hypervisor help", "hypervisor --version");
  RUN(HV_CLI_BIN, "serve", "--help");
  expect_help("serve --help", "hypervisor serve");
  RUN(HV_CLI_BIN, "run", "--help");
  expect_help("run --help", "hypervisor run [--invoke NAME]");
  RUN(HV_CLI_BIN, "run", "--gas", "5", "-h");
  expect_help("run --gas 5 -h", "hypervisor run");
  RUN(HV_CLI_BIN, "spectest", "--help");
  expect_help("spectest --help", "hypervisor spectest [--timeout SECONDS]");
  RUN(HV_CLI_BIN, "api-key", "--help");
  expect_help("api-key --help", "hypervisor api-key [--id NAME]");
  RUN(HV_CLI_BIN, "api-key", "--id", "x", "-h");
  expect_help("api-key --id x -h", "hypervisor api-key");
}

static void test_hvctl_help_everywhere(void **state) {
  (void)state;
  static const struct {
    const char *command;
    const char *usage;
  } commands[] = {
      {"keys", "] keys\n"},
      {"health", "] health\n"},
      {"metrics", "] metrics [--json]\n"},
      {"exec", "] exec [--invoke NAME] [--timeout SECONDS] [--gas N] [--result string|bytes] [--out FILE] "
               "[--v1] FILE.wasm [ARG...]\n"},
      {"verify", "] verify REQUEST_ID"},
  };
  RUN(HV_HVCTL_BIN, "--help");
  expect_help("hvctl --help", "hvctl exec");
  RUN(HV_HVCTL_BIN, "-h");
  expect_help("hvctl -h", "hvctl --version");
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
    RUN(HV_HVCTL_BIN, commands[k].command, "--help");
    expect_help(commands[k].command, commands[k].usage);
    assert_null(strstr(result.out, "COMMAND ...")); /* that command's usage, not the whole list */
    RUN(HV_HVCTL_BIN, "--server", NO_SERVER, commands[k].command, "-h");
    expect_help(commands[k].command, commands[k].usage);
  }
  /* exec's options before FILE, and no API key needed for help. */
  RUN(HV_HVCTL_BIN, "exec", "--invoke", "add", "--timeout", "5", "--help");
  expect_help("exec ... --help", "] exec [--invoke NAME]");
  RUN(HV_HVCTL_BIN, "verify", "0b8e1a2c-0000-4000-8000-000000000000", "--help");
  expect_help("verify ID --help", "] verify REQUEST_ID");
  /* After FILE, --help is an argument of the function: exec goes on (and finds no server). */
  RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", values_wasm(), "--help");
  assert_int_equal(result.status, 1);
  assert_string_equal(result.out, "");
}

/* ---- --timeout ---------------------------------------------------------------------------- */

static void test_timeout_forms_are_the_same_in_run_and_exec(void **state) {
  (void)state;
  /* Accepted by both (exec's bound is the protocol's 300 s). */
  static const char *const accepted[] = {"10", "0.5", ".5", "1.", "007", "2.25", "300", "300.0"};
  /* Refused by both: zero, signs, exponents, units, spaces, hex, words, empty, too large. */
  static const char *const refused[] = {"0",   "0.0", "-1",  "+1",   "1e1", "1s",  " 1",
                                        "1 ",  "",    ".",   "0x10", "inf", "nan", "3601",
                                        "1,5", "\xef\xbc\x91"};
  char eq[64];
  for (size_t k = 0; k < sizeof accepted / sizeof accepted[0]; k++) {
    const char *t = accepted[k];
    RUN(HV_CLI_BIN, "run", "--timeout", t, values_wasm());
    if (result.status != 0) fail_msg("run --timeout '%s': exit %d, %s", t, result.status, result.err);
    assert_string_equal(result.out, "42\n");
    snprintf(eq, sizeof eq, "--timeout=%s", t);
    RUN(HV_CLI_BIN, "run", eq, values_wasm());
    assert_int_equal(result.status, 0);
    /* exec parses it, reads and types the module, then cannot reach the server: exit 1. */
    RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", "--timeout", t, values_wasm());
    if (result.status != 1 || strstr(result.err, "usage:") != NULL || strstr(result.err, NO_SERVER) == NULL)
      fail_msg("exec --timeout '%s': exit %d, %s", t, result.status, result.err);
    RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", eq, values_wasm());
    if (result.status != 1 || strstr(result.err, "usage:") != NULL)
      fail_msg("exec %s: exit %d, %s", eq, result.status, result.err);
  }
  for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++) {
    const char *t = refused[k];
    RUN(HV_CLI_BIN, "run", "--timeout", t, values_wasm());
    expect_usage_error(t, "--timeout");
    RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", "--timeout", t, values_wasm());
    expect_usage_error(t, "--timeout");
    snprintf(eq, sizeof eq, "--timeout=%s", t);
    RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", eq, values_wasm());
    expect_usage_error(eq, "--timeout");
  }
  /* The bounds: run up to an hour, exec up to the protocol's 300 s. */
  RUN(HV_CLI_BIN, "run", "--timeout", "3600", values_wasm());
  assert_int_equal(result.status, 0);
  RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", "--timeout", "300.5", values_wasm());
  expect_usage_error("exec --timeout 300.5", "at most 300");
  RUN(HV_HVCTL_BIN, "--server", NO_SERVER, "--api-key", "k", "exec", "--timeout", values_wasm());
  assert_int_equal(result.status, 2); /* the file name is taken as the value */
}

static void test_timeout_rounds_up_to_the_protocols_whole_seconds(void **state) {
  (void)state;
  uint64_t ns = 0;
  assert_true(cli_parse_seconds("0.5", 300.0, &ns));
  assert_int_equal(cli_seconds_round_up(ns), 1);
  assert_true(cli_parse_seconds("2.25", 300.0, &ns));
  assert_int_equal(cli_seconds_round_up(ns), 3);
  assert_true(cli_parse_seconds("10", 300.0, &ns));
  assert_int_equal(cli_seconds_round_up(ns), 10);
  assert_true(cli_parse_seconds("300.0", 300.0, &ns));
  assert_int_equal(cli_seconds_round_up(ns), 300);
  assert_true(cli_parse_seconds("0.000000001", 300.0, &ns));
  assert_int_equal(ns, 1);
  assert_int_equal(cli_seconds_round_up(ns), 1);
  assert_int_equal(cli_seconds_round_up(1000000001u), 2);
  assert_false(cli_parse_seconds("300.000001", 300.0, &ns));
}

/* ---- docs/cli.md ---------------------------------------------------------------------------- */

/* Every "--option" in `text` must appear in the doc as "`--option". */
static void expect_options_documented(const char *doc, const char *text, const char *what) {
  for (const char *p = strstr(text, "--"); p != NULL; p = strstr(p, "--")) {
    size_t n = 2;
    while ((p[n] >= 'a' && p[n] <= 'z') || p[n] == '-') n++;
    char needle[64];
    snprintf(needle, sizeof needle, "`%.*s", (int)n, p);
    if (n > 2 && strstr(doc, needle) == NULL) fail_msg("%s: %s is not in docs/cli.md", what, needle + 1);
    p += n;
  }
}

static char *read_doc(void) {
  const char *src = getenv("HV_SOURCE_DIR");
  assert_non_null(src);
  char path[1024];
  snprintf(path, sizeof path, "%s/docs/cli.md", src);
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s", path);
  char *doc = calloc(1, 1 << 20);
  assert_non_null(doc);
  size_t n = fread(doc, 1, (1 << 20) - 1, f);
  assert_true(n > 0);
  fclose(f);
  return doc;
}

static void test_every_option_is_documented(void **state) {
  (void)state;
  char *doc = read_doc();
  static const char *const hypervisor[][2] = {{"--help", NULL}, {"serve", "--help"}, {"run", "--help"},
                                              {"spectest", "--help"}, {"api-key", "--help"}};
  for (size_t k = 0; k < sizeof hypervisor / sizeof hypervisor[0]; k++) {
    RUN(HV_CLI_BIN, hypervisor[k][0], hypervisor[k][1]);
    assert_int_equal(result.status, 0);
    expect_options_documented(doc, result.out, hypervisor[k][0]);
  }
  static const char *const hvctl[] = {"keys", "health", "metrics", "exec", "verify"};
  RUN(HV_HVCTL_BIN, "--help");
  expect_options_documented(doc, result.out, "hvctl --help");
  for (size_t k = 0; k < sizeof hvctl / sizeof hvctl[0]; k++) {
    RUN(HV_HVCTL_BIN, hvctl[k], "--help");
    assert_int_equal(result.status, 0);
    expect_options_documented(doc, result.out, hvctl[k]);
  }
  free(doc);
}

int main(void) {
  /* hvctl must not find a key or a server of the caller's. */
  unsetenv("HYPERVISOR_API_KEY");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version),
      cmocka_unit_test(test_hypervisor_help_everywhere),
      cmocka_unit_test(test_hvctl_help_everywhere),
      cmocka_unit_test(test_timeout_forms_are_the_same_in_run_and_exec),
      cmocka_unit_test(test_timeout_rounds_up_to_the_protocols_whole_seconds),
      cmocka_unit_test(test_every_option_is_documented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
