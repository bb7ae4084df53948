/*
 * test_api_key.c: `hypervisor api-key` (docs/cli.md), run as a process. The printed hash must be
 * the SHA-256 of the printed key (computed here with OpenSSL), and the printed entry, put under
 * auth.api_keys, must load with the project's configuration loader and admit exactly that key
 * through hv_config_find_api_key, the lookup the service's authentication makes.
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
#include <openssl/evp.h>

#include "cli_proc.h"
#include "hv_config.h"

static cli_proc result;

#define RUN(...) cli_proc_run(&result, HV_CLI_BIN, (const char *const[]){__VA_ARGS__, NULL})

typedef struct printed {
  char key[80];
  char entry[256];
} printed;

/* Splits a successful run's stdout into its two lines. */
static printed split_output(void) {
  if (result.status != 0) fail_msg("exit %d, stderr: %s", result.status, result.err);
  printed p = {{0}, {0}};
  const char *nl = strchr(result.out, '\n');
  assert_non_null(nl);
  assert_true((size_t)(nl - result.out) < sizeof p.key);
  memcpy(p.key, result.out, (size_t)(nl - result.out));
  const char *second = nl + 1;
  const char *nl2 = strchr(second, '\n');
  assert_non_null(nl2);
  assert_string_equal(nl2 + 1, ""); /* exactly two lines */
  assert_true((size_t)(nl2 - second) < sizeof p.entry);
  memcpy(p.entry, second, (size_t)(nl2 - second));
  /* The explanation is on stderr and never repeats the key. */
  assert_non_null(strstr(result.err, "auth.api_keys"));
  assert_null(strstr(result.err, p.key));
  return p;
}

static void sha256_hex(const char *text, char hex[65], uint8_t raw[32]) {
  unsigned int len = 0;
  assert_int_equal(EVP_Digest(text, strlen(text), raw, &len, EVP_sha256(), NULL), 1);
  assert_int_equal(len, 32);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", raw[i]);
}

/* The key's form: hvk_ and 64 lowercase hex digits, as the development key. */
static void expect_key_form(const char *key) {
  assert_int_equal(strlen(key), 4 + 64);
  assert_memory_equal(key, "hvk_", 4);
  for (const char *p = key + 4; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) fail_msg("not lowercase hex: %s", key);
}

/* Loads `entry` under auth.api_keys (plus a second key, as a real file would have) and checks that
 * it admits `key` under `id` and nothing else does. */
static void expect_config_admits(const char *entry, const char *key, const char *id) {
  char yaml[1024];
  int n = snprintf(yaml, sizeof yaml,
                   "server: {port: 3000}\n"
                   "auth:\n"
                   "  api_keys:\n"
                   "    - {id: other, sha256: \"%064d\"}\n"
                   "    %s\n",
                   0, entry);
  assert_true(n > 0 && (size_t)n < sizeof yaml);
  hv_config config;
  hv_config_error err = {0};
  if (hv_config_load_buffer("api-key.yaml", yaml, (size_t)n, &config, &err) != HV_CONFIG_OK)
    fail_msg("the entry does not load: %s\n%s", err.message, yaml);
  assert_int_equal(config.auth.api_key_count, 2);
  char hex[65];
  uint8_t raw[32];
  sha256_hex(key, hex, raw);
  long index = hv_config_find_api_key(&config, raw);
  assert_int_equal(index, 1);
  assert_string_equal(config.auth.api_keys[1].id, id);
  sha256_hex("hvk_not-the-key", hex, raw);
  assert_int_equal(hv_config_find_api_key(&config, raw), -1);
  hv_config_free(&config);
}

static void test_named_key(void **state) {
  (void)state;
  RUN("api-key", "--id", "ci-runner.01");
  printed p = split_output();
  expect_key_form(p.key);
  char hex[65], want[256];
  uint8_t raw[32];
  sha256_hex(p.key, hex, raw);
  snprintf(want, sizeof want, "- {id: \"ci-runner.01\", sha256: \"%s\"}", hex);
  assert_string_equal(p.entry, want);
  expect_config_admits(p.entry, p.key, "ci-runner.01");
  /* --id=NAME, and ids YAML would otherwise read as null, a number or a boolean. */
  static const char *const odd[] = {"--id=null", "--id=123", "--id=true", "--id=-x", "--id=0800"};
  for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
    RUN("api-key", odd[k]);
    p = split_output();
    expect_config_admits(p.entry, p.key, odd[k] + 5);
  }
}

static void test_default_id_and_fresh_keys(void **state) {
  (void)state;
  RUN("api-key");
  printed a = split_output();
  RUN("api-key");
  printed b = split_output();
  expect_key_form(a.key);
  expect_key_form(b.key);
  assert_string_not_equal(a.key, b.key);
  char hex[65], id[16];
  uint8_t raw[32];
  sha256_hex(a.key, hex, raw);
  snprintf(id, sizeof id, "key-%.8s", hex);
  expect_config_admits(a.entry, a.key, id);
}

static void test_usage(void **state) {
  (void)state;
  RUN("api-key", "--help");
  assert_int_equal(result.status, 0);
  assert_string_equal(result.out, "usage: hypervisor api-key [--id NAME]\n");
  static const char *const bad[][2] = {{"--id", NULL},          {"--id", ""},  {"--id", "a b"},
                                       {"--id", "caf\xc3\xa9"}, {"--id", "x:y"}, {"--bogus", NULL},
                                       {"extra", NULL}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    RUN("api-key", bad[k][0], bad[k][1]);
    if (result.status != 2) fail_msg("api-key %s: exit %d", bad[k][0], result.status);
    assert_string_equal(result.out, ""); /* no key made */
    assert_non_null(strstr(result.err, "usage: hypervisor api-key"));
  }
  char long_id[66];
  memset(long_id, 'a', 65);
  long_id[65] = '\0';
  RUN("api-key", "--id", long_id);
  assert_int_equal(result.status, 2);
  long_id[64] = '\0';
  RUN("api-key", "--id", long_id);
  printed p = split_output();
  expect_config_admits(p.entry, p.key, long_id);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_named_key),
      cmocka_unit_test(test_default_id_and_fresh_keys),
      cmocka_unit_test(test_usage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
