/*
 * test_run.c: drives the real `hypervisor` binary (HV_CLI_BIN, through cli_proc) and checks its
 * stdout, stderr and exit status for `hypervisor run` and the usage errors. The modules come from
 * tests/cli/wat/, converted by wat2wasm into HV_CLI_WASM_DIR at build time.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli_proc.h"

static cli_proc result;

/* Runs HV_CLI_BIN with the given arguments (NULL-terminated) into `result`. */
static void hv(const char *first, ...) {
  const char *args[CLI_PROC_ARGV_MAX];
  size_t n = 0;
  va_list ap;
  va_start(ap, first);
  for (const char *a = first; a; a = va_arg(ap, const char *)) {
    assert_true(n < CLI_PROC_ARGV_MAX - 2);
    args[n++] = a;
  }
  va_end(ap);
  args[n] = NULL;
  cli_proc_run(&result, HV_CLI_BIN, args);
}

static const char *wasm(const char *name) {
  static char paths[8][512];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s.wasm", HV_CLI_WASM_DIR, name);
  return p;
}

/* Success: exit 0, exactly `out` on stdout, nothing on stderr. */
static void expect_ok(const char *out) {
  if (result.status != 0) fail_msg("exit %d, stderr: %s", result.status, result.err);
  assert_string_equal(result.out, out);
  assert_string_equal(result.err, "");
}

/* Failure: exit 1, nothing on stdout, one stderr line starting with `prefix`. */
static void expect_fail(const char *prefix) {
  if (result.status != 1) fail_msg("exit %d (wanted 1), stdout: %s stderr: %s", result.status, result.out, result.err);
  assert_string_equal(result.out, "");
  if (strncmp(result.err, prefix, strlen(prefix)) != 0) fail_msg("stderr '%s' does not start with '%s'", result.err, prefix);
  char *nl = strchr(result.err, '\n');
  assert_non_null(nl);
  assert_string_equal(nl + 1, ""); /* one line */
}

static void expect_usage(void) {
  if (result.status != 2) fail_msg("exit %d (wanted 2), stderr: %s", result.status, result.err);
  assert_string_equal(result.out, "");
  assert_non_null(strstr(result.err, "usage:"));
}

/* ---- results ------------------------------------------------------------------------------ */

static void test_default_export_main(void **state) {
  hv("run", wasm("values"), NULL);
  expect_ok("42\n");
}

static void test_no_results_prints_nothing(void **state) {
  hv("run", "--invoke", "none", wasm("values"), NULL);
  expect_ok("");
}

static void test_integers(void **state) {
  hv("run", "--invoke", "neg", wasm("values"), NULL);
  expect_ok("-1\n");
  hv("run", "--invoke", "add", wasm("values"), "2", "3", NULL);
  expect_ok("5\n");
  hv("run", "--invoke=add", wasm("values"), "-7", "3", NULL); /* a negative ARG is not an option */
  expect_ok("-4\n");
  hv("run", "--invoke", "add", wasm("values"), "0x10", "0X20", NULL);
  expect_ok("48\n");
  hv("run", "--invoke", "add", wasm("values"), "4294967295", "0", NULL);
  expect_ok("-1\n");
  hv("run", "--invoke", "add", wasm("values"), "2147483647", "1", NULL);
  expect_ok("-2147483648\n");
  hv("run", "--invoke", "add64", wasm("values"), "9223372036854775807", "1", NULL);
  expect_ok("-9223372036854775808\n");
  hv("run", "--invoke", "add64", wasm("values"), "0x100000000", "-1", NULL);
  expect_ok("4294967295\n");
}

static void test_floats(void **state) {
  hv("run", "--invoke", "id32", wasm("values"), "0.1", NULL);
  expect_ok("0.1\n");
  hv("run", "--invoke", "id64", wasm("values"), "0.1", NULL);
  expect_ok("0.1\n");
  hv("run", "--invoke", "div32", wasm("values"), "1", "3", NULL);
  expect_ok("0.33333334\n");
  hv("run", "--invoke", "div64", wasm("values"), "1", "3", NULL);
  expect_ok("0.3333333333333333\n");
  hv("run", "--invoke", "div64", wasm("values"), "-1", "0", NULL);
  expect_ok("-inf\n");
  hv("run", "--invoke", "id64", wasm("values"), "-0", NULL);
  expect_ok("-0\n");
  hv("run", "--invoke", "id64", wasm("values"), "123456789012345678", NULL);
  expect_ok("1.2345678901234568e+17\n");
  hv("run", "--invoke", "id32", wasm("values"), "1e-45", NULL);
  expect_ok("1e-45\n");
}

static void test_nan_and_infinities(void **state) {
  hv("run", "--invoke", "nan32", wasm("values"), NULL);
  expect_ok("nan\n");
  hv("run", "--invoke", "negnan64", wasm("values"), NULL);
  expect_ok("nan\n");
  hv("run", "--invoke", "inf64", wasm("values"), NULL);
  expect_ok("inf\n");
  hv("run", "--invoke", "neginf32", wasm("values"), NULL);
  expect_ok("-inf\n");
  hv("run", "--invoke", "id64", wasm("values"), "nan", NULL);
  expect_ok("nan\n");
  hv("run", "--invoke", "id32", wasm("values"), "-inf", NULL);
  expect_ok("-inf\n");
  hv("run", "--invoke", "div32", wasm("values"), "inf", "inf", NULL);
  expect_ok("nan\n");
}

static void test_multi_value(void **state) {
  hv("run", "--invoke", "multi", wasm("values"), NULL);
  expect_ok("-7\n9223372036854775807\n1.5\n1e+100\n");
}

static void test_reference_result(void **state) {
  hv("run", "--invoke", "nullfunc", wasm("values"), NULL);
  expect_ok("null\n");
}

/* ---- failures ----------------------------------------------------------------------------- */

static void test_wrong_argument_count(void **state) {
  hv("run", "--invoke", "add", wasm("values"), "1", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "add", wasm("values"), "1", "2", "3", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", wasm("values"), "1", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
}

static void test_wrong_argument_type(void **state) {
  hv("run", "--invoke", "add", wasm("values"), "1.5", "2", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "add", wasm("values"), "12abc", "2", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "add", wasm("values"), "4294967296", "2", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "add", wasm("values"), "", "2", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "id32", wasm("values"), "1e39", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "id64", wasm("values"), "0.5 ", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "ref", wasm("values"), "null", NULL); /* references cannot be written */
  expect_fail("INVALID_ARGUMENTS: ");
}

static void test_missing_export(void **state) {
  hv("run", "--invoke", "nope", wasm("values"), NULL);
  expect_fail("FUNCTION_NOT_FOUND: ");
  hv("run", "--invoke", "grow", wasm("values"), NULL); /* memory.wasm has it, values.wasm not */
  expect_fail("FUNCTION_NOT_FOUND: ");
}

static void test_malformed_module(void **state) {
  char path[] = "/tmp/hv_cli_test_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static const unsigned char bytes[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x7f};
  assert_int_equal(write(fd, bytes, sizeof bytes), (ssize_t)sizeof bytes);
  close(fd);
  hv("run", path, NULL);
  expect_fail("INVALID_WASM: ");
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_int_equal(write(fd, "hello", 5), 5);
  close(fd);
  hv("run", path, NULL);
  expect_fail("INVALID_WASM: ");
  unlink(path);
}

static void test_import_is_invalid_wasm(void **state) {
  hv("run", wasm("import"), NULL);
  expect_fail("INVALID_WASM: ");
  assert_non_null(strstr(result.err, "env.f"));
}

static void test_trap(void **state) {
  hv("run", "--invoke", "divs", wasm("values"), "1", "0", NULL);
  expect_fail("EXECUTION_TRAP: integer divide by zero");
  hv("run", "--invoke", "divs", wasm("values"), "-2147483648", "-1", NULL);
  expect_fail("EXECUTION_TRAP: integer overflow");
  hv("run", "--invoke", "trap", wasm("values"), NULL);
  expect_fail("EXECUTION_TRAP: unreachable");
}

static void test_runaway_recursion(void **state) {
  hv("run", "--invoke", "recurse", wasm("values"), "0", NULL);
  expect_fail("EXECUTION_TRAP: call stack exhausted");
}

static void test_timeout(void **state) {
  hv("run", "--invoke", "loop", "--timeout", "1", "--gas", "18446744073709551615", wasm("values"), NULL);
  expect_fail("EXECUTION_TIMEOUT: ");
}

static void test_timeout_covers_start_function(void **state) {
  hv("run", "--timeout", "0.2", "--gas", "18446744073709551615", wasm("start_loop"), NULL);
  expect_fail("EXECUTION_TIMEOUT: ");
}

static void test_gas_exhausted(void **state) {
  hv("run", "--invoke", "loop", "--gas", "1000", wasm("values"), NULL);
  expect_fail("GAS_EXHAUSTED: ");
  hv("run", "--gas", "0", wasm("values"), NULL);
  expect_fail("GAS_EXHAUSTED: ");
}

static void test_memory_exceeded(void **state) {
  hv("run", wasm("memory"), NULL); /* 100 pages fit in 64 MiB */
  expect_ok("100\n");
  hv("run", "--memory-mb", "4", wasm("memory"), NULL);
  expect_fail("MEMORY_EXCEEDED: ");
  hv("run", "--memory-mb", "7", "--invoke", "grow", wasm("memory"), "100", NULL); /* past the cap: -1 */
  expect_ok("-1\n");
  hv("run", "--memory-mb", "7", "--invoke", "grow", wasm("memory"), "12", NULL); /* 112 pages = 7 MiB */
  expect_ok("100\n");
  hv("run", "--invoke", "grow_then_trap", wasm("memory"), NULL);
  expect_fail("MEMORY_EXCEEDED: ");
}

static void test_stats(void **state) {
  hv("run", "--stats", "--invoke", "add", wasm("values"), "1", "2", NULL);
  assert_int_equal(result.status, 0);
  assert_string_equal(result.out, "3\n");
  static const char *const keys[] = {"gas_used: ", "execution_ms: ", "translation_ms: ", "peak_memory_bytes: "};
  const char *p = result.err;
  for (size_t i = 0; i < 4; i++) {
    if (strncmp(p, keys[i], strlen(keys[i])) != 0) fail_msg("line %zu of '%s' is not %s", i, result.err, keys[i]);
    p = strchr(p, '\n');
    assert_non_null(p);
    p++;
  }
  assert_string_equal(p, "");
}

static void test_unreadable_file(void **state) {
  hv("run", "/nonexistent/x.wasm", NULL);
  assert_int_equal(result.status, 1);
  assert_string_equal(result.out, "");
  assert_non_null(strstr(result.err, "cannot read"));
  hv("run", "/", NULL); /* a directory */
  assert_int_equal(result.status, 1);
}

/* ---- strings and bytes (the Canonical ABI, strings.wat) --------------------------------------- */

/* A temporary file holding len bytes; the caller unlinks `path`. */
static void temp_file(char *path, const void *data, size_t len) {
  strcpy(path, "/tmp/hv_cli_arg_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const uint8_t *p = data;
  for (size_t done = 0; done < len;) {
    ssize_t n = write(fd, p + done, len - done);
    assert_true(n > 0);
    done += (size_t)n;
  }
  close(fd);
}

/* The whole content of path into buf (at most size bytes); returns the length. */
static size_t read_back(const char *path, uint8_t *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, size, f);
  fclose(f);
  return n;
}

static void test_string_argument_and_result(void **state) {
  hv("run", "--invoke", "greet", "--result", "string", wasm("strings"), "s:w\xc3\xb6rld", NULL);
  expect_ok("hello, w\xc3\xb6rld\n");
  hv("run", "--invoke", "greet", "--result=string", wasm("strings"), "s:", NULL); /* the empty string */
  expect_ok("hello, \n");
  hv("run", "--invoke", "greet", "--result", "string", wasm("strings"), "s:s:x", NULL); /* one prefix */
  expect_ok("hello, s:x\n");
  hv("run", "--invoke", "echo_s", "--result", "string", wasm("strings"), "s:two\nlines", NULL);
  expect_ok("two\nlines\n"); /* as it is, then one newline */
}

static void test_bytes_arguments_in_base64(void **state) {
  hv("run", "--invoke", "echo", "--result", "bytes", wasm("strings"), "b64:AAEC/w==", NULL);
  expect_ok("AAEC/w==\n");
  hv("run", "--invoke", "echo", "--result", "bytes", wasm("strings"), "b64:AAEC_w", NULL); /* url-safe, unpadded */
  expect_ok("AAEC/w==\n"); /* always printed in standard base64 with padding */
  hv("run", "--invoke", "echo", "--result", "bytes", wasm("strings"), "b64:", NULL);
  expect_ok("\n");
  hv("run", "--invoke", "len", wasm("strings"), "b64:AAAAAAAA", NULL); /* a number result */
  expect_ok("6\n");
}

static void test_bytes_argument_from_file(void **state) {
  static uint8_t data[3 * 1024 * 1024 + 7];
  for (size_t k = 0; k < sizeof data; k++) data[k] = (uint8_t)(k * 7 + (k >> 11));
  data[0] = 0;
  char path[64], at[80], out_path[64], out_opt[80];
  temp_file(path, data, sizeof data);
  snprintf(at, sizeof at, "@%s", path);
  hv("run", "--invoke", "len", wasm("strings"), at, NULL);
  expect_ok("3145735\n");
  /* the result's raw bytes into a file: nothing on stdout */
  temp_file(out_path, "", 0);
  snprintf(out_opt, sizeof out_opt, "--out=%s", out_path);
  hv("run", "--invoke", "echo", "--result", "bytes", out_opt, wasm("strings"), at, NULL);
  expect_ok("");
  static uint8_t back[sizeof data + 16];
  assert_int_equal(read_back(out_path, back, sizeof back), sizeof data);
  assert_memory_equal(back, data, sizeof data);
  /* an empty file is empty bytes */
  temp_file(path + 0, "", 0);
  snprintf(at, sizeof at, "@%s", path);
  hv("run", "--invoke", "len", wasm("strings"), at, NULL);
  expect_ok("0\n");
  unlink(path);
  unlink(out_path);
}

static void test_string_result_to_file(void **state) {
  char out_path[64];
  uint8_t back[64];
  temp_file(out_path, "old content, longer than the result", 35);
  hv("run", "--invoke", "greet", "--result", "string", "--out", out_path, wasm("strings"), "s:x", NULL);
  expect_ok("");
  assert_int_equal(read_back(out_path, back, sizeof back), 8); /* no newline in the file */
  assert_memory_equal(back, "hello, x", 8);
  /* a failure leaves the file alone */
  hv("run", "--invoke", "bad_utf8", "--result", "string", "--out", out_path, wasm("strings"), NULL);
  expect_fail("EXECUTION_TRAP: ");
  assert_int_equal(read_back(out_path, back, sizeof back), 8);
  unlink(out_path);
  /* a file that cannot be written */
  hv("run", "--invoke", "greet", "--result", "string", "--out", "/nonexistent/dir/x", wasm("strings"), "s:x", NULL);
  assert_int_equal(result.status, 1);
  assert_string_equal(result.out, "");
  assert_non_null(strstr(result.err, "hypervisor run: cannot write '/nonexistent/dir/x'"));
}

static void test_mixed_arguments(void **state) {
  hv("run", "--invoke", "repeat", "--result", "string", wasm("strings"), "s:ab", "3", NULL);
  expect_ok("ababab\n");
  hv("run", "--invoke", "repeat", "--result", "string", wasm("strings"), "s:ab", "0", NULL);
  expect_ok("\n");
  /* the number is typed by its core parameter, the third */
  hv("run", "--invoke", "repeat", "--result", "string", wasm("strings"), "s:ab", "x", NULL);
  expect_fail("INVALID_ARGUMENTS: argument 2 ('x') is not a valid i32: ");
}

static void test_bad_string_and_bytes_arguments(void **state) {
  hv("run", "--invoke", "len", wasm("strings"), "s:\xff", NULL);
  expect_fail("INVALID_ARGUMENTS: argument 1 (");
  assert_non_null(strstr(result.err, "not valid UTF-8"));
  hv("run", "--invoke", "len", wasm("strings"), "s:\xed\xa0\x80", NULL); /* a surrogate */
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "len", wasm("strings"), "b64:A", NULL);
  expect_fail("INVALID_ARGUMENTS: argument 1 ('b64:A'): not valid base64: ");
  hv("run", "--invoke", "len", wasm("strings"), "b64:ab+_", NULL); /* both alphabets */
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "len", wasm("strings"), "b64:AA AA", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "len", wasm("strings"), "@/nonexistent/file", NULL);
  expect_fail("INVALID_ARGUMENTS: argument 1 ('@/nonexistent/file'): cannot read '/nonexistent/file': ");
  hv("run", "--invoke", "len", wasm("strings"), "@", NULL);
  expect_fail("INVALID_ARGUMENTS: argument 1 ('@'): no file name after @");
  /* counts: a string is two core parameters */
  hv("run", "--invoke", "len", wasm("strings"), "s:a", "s:b", NULL);
  expect_fail("INVALID_ARGUMENTS: len takes 2 core parameters (i32, i32); the arguments make 4");
  hv("run", "--invoke", "repeat", wasm("strings"), "s:a", NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  /* a string where the export takes i64, i64 */
  hv("run", "--invoke", "add64", wasm("values"), "s:a", NULL);
  expect_fail("INVALID_ARGUMENTS: add64: argument 1 (string) needs core parameters 1 and 2 to be i32, i32");
  /* a module without cabi_realloc */
  hv("run", "--invoke", "add", wasm("values"), "s:a", NULL);
  expect_fail("INVALID_ARGUMENTS: a string or bytes argument needs the export cabi_realloc");
}

static void test_declared_result_mismatch(void **state) {
  hv("run", "--invoke", "nan32", "--result", "string", wasm("values"), NULL);
  expect_fail("INVALID_ARGUMENTS: nan32: a string result needs the export to return exactly one i32");
  hv("run", "--invoke", "multi", "--result", "bytes", wasm("values"), NULL);
  expect_fail("INVALID_ARGUMENTS: ");
  hv("run", "--invoke", "main", "--result", "bytes", wasm("values"), NULL); /* an i32, but no memory */
  expect_fail("INVALID_ARGUMENTS: a string or bytes result needs the export memory");
}

static void test_lying_results(void **state) {
  hv("run", "--invoke", "bad_utf8", "--result", "string", wasm("strings"), NULL);
  expect_fail("EXECUTION_TRAP: the string result (2 bytes at 96) is not valid UTF-8");
  hv("run", "--invoke", "bad_utf8", "--result", "bytes", wasm("strings"), NULL); /* fine as bytes */
  expect_ok("wK8=\n");
  hv("run", "--invoke", "bad_ptr", "--result", "bytes", wasm("strings"), NULL);
  expect_fail("EXECUTION_TRAP: the bytes result at retptr 16 is 2 bytes at 65535; the memory has 65536 bytes");
  hv("run", "--invoke", "misaligned", "--result", "bytes", wasm("strings"), NULL);
  expect_fail("EXECUTION_TRAP: the export returned retptr 18, which is not 4-byte aligned");
}

static void test_max_result_bytes(void **state) {
  hv("run", "--invoke", "zeros", "--result", "bytes", "--max-result-bytes", "4", wasm("strings"), "4", NULL);
  expect_ok("AAAAAA==\n");
  hv("run", "--invoke", "zeros", "--result", "bytes", "--max-result-bytes", "3", wasm("strings"), "4", NULL);
  expect_fail("EXECUTION_TRAP: the bytes result is 4 bytes; the limit is 3");
  hv("run", "--invoke", "zeros", "--result", "bytes", "--max-result-bytes=0", wasm("strings"), "0", NULL);
  expect_ok("\n");
  hv("run", "--invoke", "zeros", "--result", "bytes", wasm("strings"), "32768", NULL); /* under the 16 MiB default */
  assert_int_equal(result.status, 0);
  assert_int_equal(strlen(result.out), 43692 + 1);
}

static void test_guest_calls_fail(void **state) {
  hv("run", "--invoke", "f", wasm("realloc_trap"), "s:x", "1", NULL);
  expect_fail("EXECUTION_TRAP: unreachable (cabi_realloc for argument 1 trapped)");
  hv("run", "--invoke", "post_trap", "--result", "string", wasm("strings"), NULL);
  expect_fail("EXECUTION_TRAP: unreachable (cabi_post_post_trap trapped)");
  /* without --result the export's core result is printed and cabi_post_post_trap is not called */
  hv("run", "--invoke", "post_trap", wasm("strings"), NULL);
  expect_ok("16\n");
  hv("run", "--invoke", "greet", "--result", "string", "--gas", "10", wasm("strings"), "s:x", NULL);
  expect_fail("GAS_EXHAUSTED: execution used up its gas limit of 10 (cabi_realloc for argument 1 ran out of gas)");
}

/* ---- usage errors ------------------------------------------------------------------------- */

static void test_usage_errors(void **state) {
  /* Without a subcommand `hypervisor` is the service: an unknown option is its usage error. */
  hv("--bogus", NULL);
  expect_usage();
  hv("serve", "--bogus", NULL);
  expect_usage();
  hv("frobnicate", NULL);
  expect_usage();
  hv("run", NULL);
  expect_usage();
  hv("run", "--bogus", wasm("values"), NULL);
  expect_usage();
  hv("run", "--invoke", NULL);
  expect_usage();
  hv("run", "--timeout", "0", wasm("values"), NULL);
  expect_usage();
  hv("run", "--timeout", "3601", wasm("values"), NULL);
  expect_usage();
  hv("run", "--timeout", "-1", wasm("values"), NULL);
  expect_usage();
  hv("run", "--timeout", "1s", wasm("values"), NULL);
  expect_usage();
  hv("run", "--gas", "-1", wasm("values"), NULL);
  expect_usage();
  hv("run", "--gas", "18446744073709551616", wasm("values"), NULL);
  expect_usage();
  hv("run", "--memory-mb", "4097", wasm("values"), NULL);
  expect_usage();
  hv("run", "--memory-mb", "x", wasm("values"), NULL);
  expect_usage();
  hv("run", "--result", "i32", wasm("values"), NULL);
  expect_usage();
  hv("run", "--result", NULL);
  expect_usage();
  hv("run", "--out", "/tmp/x", wasm("values"), NULL); /* --out needs --result */
  expect_usage();
  hv("run", "--result", "bytes", "--out", "", wasm("values"), NULL);
  expect_usage();
  hv("run", "--max-result-bytes", "-1", wasm("values"), NULL);
  expect_usage();
  hv("run", "--max-result-bytes", "1k", wasm("values"), NULL);
  expect_usage();
  hv("spectest", NULL);
  expect_usage();
}

static void test_limits_at_their_bounds_are_accepted(void **state) {
  hv("run", "--timeout", "3600", "--gas", "18446744073709551615", "--memory-mb", "4096", wasm("values"), NULL);
  expect_ok("42\n");
  hv("run", "--timeout=0.5", "--gas=0x10000", "--memory-mb=0", wasm("values"), NULL);
  expect_ok("42\n");
}

static void test_help(void **state) {
  hv("--help", NULL);
  assert_int_equal(result.status, 0);
  assert_non_null(strstr(result.out, "hypervisor run"));
  hv("run", "--help", NULL);
  assert_int_equal(result.status, 0);
  assert_non_null(strstr(result.out, "usage:"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_export_main),
      cmocka_unit_test(test_no_results_prints_nothing),
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_nan_and_infinities),
      cmocka_unit_test(test_multi_value),
      cmocka_unit_test(test_reference_result),
      cmocka_unit_test(test_wrong_argument_count),
      cmocka_unit_test(test_wrong_argument_type),
      cmocka_unit_test(test_missing_export),
      cmocka_unit_test(test_malformed_module),
      cmocka_unit_test(test_import_is_invalid_wasm),
      cmocka_unit_test(test_trap),
      cmocka_unit_test(test_runaway_recursion),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_timeout_covers_start_function),
      cmocka_unit_test(test_gas_exhausted),
      cmocka_unit_test(test_memory_exceeded),
      cmocka_unit_test(test_stats),
      cmocka_unit_test(test_unreadable_file),
      cmocka_unit_test(test_string_argument_and_result),
      cmocka_unit_test(test_bytes_arguments_in_base64),
      cmocka_unit_test(test_bytes_argument_from_file),
      cmocka_unit_test(test_string_result_to_file),
      cmocka_unit_test(test_mixed_arguments),
      cmocka_unit_test(test_bad_string_and_bytes_arguments),
      cmocka_unit_test(test_declared_result_mismatch),
      cmocka_unit_test(test_lying_results),
      cmocka_unit_test(test_max_result_bytes),
      cmocka_unit_test(test_guest_calls_fail),
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_limits_at_their_bounds_are_accepted),
      cmocka_unit_test(test_help),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
