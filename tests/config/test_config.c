/*
 * test_config.c: hv_config. Defaults, a full file, and every class of error with the key, line and
 * column it must name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_config.h"

static const char sha_a[] = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
static const char sha_b[] = "3BB80D537B1DA3E38BD30361AA855686BDE0EACD7162FEF6A25FE97BF527A25B";

static hv_config_status load(const char *yaml, hv_config *c, hv_config_error *e) {
  return hv_config_load_buffer("test.yaml", yaml, strlen(yaml), c, e);
}

/* Loads yaml, expects `status` naming `key` at line:col, and a message holding `needle`. */
static void expect_error(const char *yaml, hv_config_status status, const char *key, unsigned line,
                         unsigned col, const char *needle) {
  hv_config c;
  hv_config_error e;
  memset(&e, 0, sizeof e);
  hv_config_status st = load(yaml, &c, &e);
  if (st != status || strcmp(e.key, key) != 0 || e.line != line || e.column != col ||
      strstr(e.message, needle) == NULL) {
    fail_msg("yaml:\n%s\nwant %s key=%s at %u:%u with \"%s\"\ngot  %s key=%s at %u:%u: %s", yaml,
             hv_config_status_name(status), key, line, col, needle, hv_config_status_name(st),
             e.key, e.line, e.column, e.message);
  }
  assert_int_equal(e.status, status);
  /* The message reads "test.yaml:LINE:COL: KEY: ..." */
  char prefix[128];
  if (key[0] != '\0')
    snprintf(prefix, sizeof prefix, "test.yaml:%u:%u: %s: ", line, col, key);
  else
    snprintf(prefix, sizeof prefix, "test.yaml:%u:%u: ", line, col);
  if (strncmp(e.message, prefix, strlen(prefix)) != 0)
    fail_msg("message \"%s\" does not start with \"%s\"", e.message, prefix);
  /* A failed load leaves the defaults and nothing to free. */
  assert_null(c.auth.api_keys);
  assert_int_equal(c.server.port, 3000);
  hv_config_free(&c);
}

static void assert_defaults(const hv_config *c) {
  assert_string_equal(c->server.host, "127.0.0.1");
  assert_int_equal(c->server.port, 3000);
  assert_int_equal(c->server.workers, 4);
  assert_int_equal(c->server.max_body_bytes, 16777216);
  assert_int_equal(c->wasm.max_memory_mb, 64);
  assert_int_equal(c->wasm.max_execution_time_seconds, 10);
  assert_int_equal(c->wasm.max_concurrent_executions, 100);
  assert_true(c->wasm.default_gas_limit == UINT64_C(10000000000));
  assert_true(c->wasm.max_result_bytes == UINT64_C(16777216));
  assert_int_equal(c->wasm.wasi, HV_CONFIG_WASI_NONE);
  assert_int_equal(c->crypto.key_rotation_hours, 1);
  assert_int_equal(c->crypto.commitment_retention_days, 7);
  assert_string_equal(c->crypto.key_dir, "./data/keys");
  assert_int_equal(c->storage.backend, HV_CONFIG_BACKEND_SQLITE);
  assert_string_equal(c->storage.path, "./data/audit.db");
  assert_string_equal(c->storage.dsn, "");
  assert_int_equal(c->auth.api_key_count, 0);
  assert_null(c->auth.api_keys);
  assert_int_equal(c->rate_limit.requests_per_second, 50);
  assert_int_equal(c->rate_limit.burst, 100);
  assert_int_equal(c->logging.level, HV_LOG_INFO);
  assert_string_equal(c->logging.file, "");
}

/* ---- Defaults and valid files ---------------------------------------------------------------- */

static void test_defaults_are_the_protocols(void **state) {
  (void)state;
  hv_config c;
  hv_config_defaults(&c);
  assert_defaults(&c);
  hv_config_error e;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_OK);
  hv_config_free(&c);
}

static void test_empty_documents_mean_defaults(void **state) {
  (void)state;
  static const char *const docs[] = {"",
                                     "# nothing here\n",
                                     "---\n",
                                     "{}\n",
                                     "server:\nwasm: null\nauth: ~\n",
                                     "auth:\n  api_keys:\n"};
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    hv_config c;
    hv_config_error e;
    if (load(docs[i], &c, &e) != HV_CONFIG_OK) fail_msg("%s: %s", docs[i], e.message);
    assert_defaults(&c);
    hv_config_free(&c);
  }
}

static void test_full_file(void **state) {
  (void)state;
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "# every key\n"
           "server:\n"
           "  host: 0.0.0.0\n"
           "  port: 8443\n"
           "  workers: 16\n"
           "  max_body_bytes: 1048576\n"
           "wasm: {max_memory_mb: 128, max_execution_time_seconds: 30,\n"
           "       max_concurrent_executions: 10, default_gas_limit: 20_000_000_000,\n"
           "       max_result_bytes: 1048576}\n"
           "crypto:\n"
           "  key_rotation_hours: 24\n"
           "  commitment_retention_days: 30\n"
           "  key_dir: \"/var/lib/hypervisor/keys\"\n"
           "storage:\n"
           "  backend: sqlite\n"
           "  path: /var/lib/hypervisor/audit.db\n"
           "auth:\n"
           "  api_keys:\n"
           "    - id: dev\n"
           "      sha256: %s\n"
           "    - {id: ci.runner-2, sha256: '%s'}\n"
           "rate_limit:\n"
           "  requests_per_second: 5\n"
           "  burst: 10\n"
           "logging:\n"
           "  level: debug\n"
           "  file: /var/log/hypervisor.log\n",
           sha_a, sha_b);
  hv_config c;
  hv_config_error e;
  if (load(yaml, &c, &e) != HV_CONFIG_OK) fail_msg("%s", e.message);
  assert_string_equal(c.server.host, "0.0.0.0");
  assert_int_equal(c.server.port, 8443);
  assert_int_equal(c.server.workers, 16);
  assert_int_equal(c.server.max_body_bytes, 1048576);
  assert_int_equal(c.wasm.max_memory_mb, 128);
  assert_int_equal(c.wasm.max_execution_time_seconds, 30);
  assert_int_equal(c.wasm.max_concurrent_executions, 10);
  assert_true(c.wasm.default_gas_limit == UINT64_C(20000000000));
  assert_true(c.wasm.max_result_bytes == UINT64_C(1048576));
  assert_int_equal(c.crypto.key_rotation_hours, 24);
  assert_int_equal(c.crypto.commitment_retention_days, 30);
  assert_string_equal(c.crypto.key_dir, "/var/lib/hypervisor/keys");
  assert_int_equal(c.storage.backend, HV_CONFIG_BACKEND_SQLITE);
  assert_string_equal(c.storage.path, "/var/lib/hypervisor/audit.db");
  assert_int_equal(c.auth.api_key_count, 2);
  assert_string_equal(c.auth.api_keys[0].id, "dev");
  assert_int_equal(c.auth.api_keys[0].sha256[0], 0x2b);
  assert_int_equal(c.auth.api_keys[0].sha256[31], 0x5b);
  assert_string_equal(c.auth.api_keys[1].id, "ci.runner-2");
  assert_int_equal(c.auth.api_keys[1].sha256[0], 0x3b); /* upper-case hex accepted */
  assert_int_equal(c.rate_limit.requests_per_second, 5);
  assert_int_equal(c.rate_limit.burst, 10);
  assert_int_equal(c.logging.level, HV_LOG_DEBUG);
  assert_string_equal(c.logging.file, "/var/log/hypervisor.log");
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_OK);

  /* Key lookup by hash. */
  uint8_t h[32];
  memcpy(h, c.auth.api_keys[1].sha256, 32);
  assert_int_equal(hv_config_find_api_key(&c, h), 1);
  memcpy(h, c.auth.api_keys[0].sha256, 32);
  assert_int_equal(hv_config_find_api_key(&c, h), 0);
  h[17] ^= 1;
  assert_int_equal(hv_config_find_api_key(&c, h), -1);
  hv_config_free(&c);
  assert_null(c.auth.api_keys);
  assert_int_equal(c.auth.api_key_count, 0);
}

static void test_partial_file_keeps_other_defaults(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  assert_int_equal(load("server:\n  port: 4000\nlogging:\n  file: null\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.server.port, 4000);
  c.server.port = 3000;
  assert_defaults(&c);
  hv_config_free(&c);
}

static void test_postgres_backend(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  assert_int_equal(
      load("storage:\n  backend: postgres\n  dsn: \"host=db user=hv password=s3cret\"\n", &c, &e),
      HV_CONFIG_OK);
  assert_int_equal(c.storage.backend, HV_CONFIG_BACKEND_POSTGRES);
  assert_string_equal(c.storage.dsn, "host=db user=hv password=s3cret");
  assert_string_equal(c.storage.path, ""); /* the sqlite default does not apply */
  assert_int_equal(c.storage.connections, 4); /* the default pool */
  hv_config_free(&c);
  assert_string_equal(c.storage.dsn, ""); /* wiped */
  assert_int_equal(load("storage:\n  backend: postgres\n  dsn: \"host=db\"\n  connections: 16\n"
                        "crypto:\n  kek_file: \"/etc/hypervisor/kek\"\n",
                        &c, &e),
                   HV_CONFIG_OK);
  assert_int_equal(c.storage.connections, 16);
  assert_string_equal(c.crypto.kek_file, "/etc/hypervisor/kek");
  hv_config_free(&c);
  assert_int_equal(load("storage:\n  connections: 65\n", &c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "storage.connections");
  assert_int_equal(load("storage:\n  connections: 0\n", &c, &e), HV_CONFIG_BAD_VALUE);
}

/* wasm.wasi: none (the default) or stdio, and nothing else. */
static void test_wasi_profile(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  assert_int_equal(load("wasm:\n  wasi: stdio\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.wasi, HV_CONFIG_WASI_STDIO);
  assert_string_equal(hv_config_wasi_name(c.wasm.wasi), "stdio");
  hv_config_free(&c);
  assert_int_equal(load("wasm:\n  wasi: none\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.wasi, HV_CONFIG_WASI_NONE);
  assert_string_equal(hv_config_wasi_name(c.wasm.wasi), "none");
  hv_config_free(&c);
  expect_error("wasm:\n  wasi: preview1\n", HV_CONFIG_BAD_VALUE, "wasm.wasi", 2, 9,
               "unknown WASI profile 'preview1' (expected none or stdio)");
  hv_config_defaults(&c);
  c.wasm.wasi = (hv_config_wasi)5;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "wasm.wasi");
}

/* server.cors_origins: exact origins as browsers send them, or "*" alone; none by default. */
static void test_cors_origins(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  assert_int_equal(load("server:\n  port: 3000\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.server.cors_origin_count, 0);
  hv_config_free(&c);
  assert_int_equal(load("server:\n  cors_origins:\n    - https://app.example.com\n"
                        "    - http://localhost:5173\n    - \"http://127.0.0.1:8080\"\n"
                        "    - http://[::1]:3000\n",
                        &c, &e),
                   HV_CONFIG_OK);
  assert_int_equal(c.server.cors_origin_count, 4);
  assert_string_equal(c.server.cors_origins[0], "https://app.example.com");
  assert_string_equal(c.server.cors_origins[1], "http://localhost:5173");
  assert_string_equal(c.server.cors_origins[2], "http://127.0.0.1:8080");
  assert_string_equal(c.server.cors_origins[3], "http://[::1]:3000");
  hv_config_free(&c);
  assert_int_equal(load("server: {cors_origins: [\"*\"]}\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.server.cors_origin_count, 1);
  assert_string_equal(c.server.cors_origins[0], "*");
  hv_config_free(&c);
  assert_int_equal(load("server:\n  cors_origins: []\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.server.cors_origin_count, 0);
  hv_config_free(&c);
  assert_int_equal(load("server:\n  cors_origins:\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.server.cors_origin_count, 0);
  hv_config_free(&c);

  const char *head = "server:\n  cors_origins:\n    - https://ok.example\n    - ";
  struct {
    const char *origin, *needle;
  } bad[] = {
      {"https://app.example.com/", "no path"},
      {"https://app.example.com/api", "no path"},
      {"app.example.com", "must start with http:// or https://"},
      {"ftp://app.example.com", "must start with http:// or https://"},
      {"https://App.Example.com", "lowercase"},
      {"https://app.example.com:443", "default port"},
      {"http://app.example.com:80", "default port"},
      {"https://app.example.com:0", "port must be a number from 1 to 65535"},
      {"https://app.example.com:65536", "port must be a number from 1 to 65535"},
      {"https://app.example.com:08080", "port must be a number from 1 to 65535"},
      {"https://app.example.com:", "port must be a number from 1 to 65535"},
      {"https://user@app.example.com", "user name"},
      {"https://", "host is missing"},
      {"https://bad_host.example", "not a host name"},
      {"http://[::1", "closing ']'"},
      {"http://[zz]:80", "not an IPv6 address"},
      {"null", "never allowed"},
      {"https://ok.example", "already server.cors_origins[0]"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char yaml[256];
    snprintf(yaml, sizeof yaml, "%s\"%s\"\n", head, bad[i].origin);
    expect_error(yaml, HV_CONFIG_BAD_VALUE, "server.cors_origins[1]", 4, 7, bad[i].needle);
  }
  expect_error("server:\n  cors_origins:\n    - https://a.example\n    - \"*\"\n",
               HV_CONFIG_BAD_VALUE, "server.cors_origins[1]", 4, 7, "must be the only entry");
  expect_error("server:\n  cors_origins: https://a.example\n", HV_CONFIG_WRONG_TYPE,
               "server.cors_origins", 2, 17, "expected a list");
  expect_error("server:\n  cors_origins: \"\"\n", HV_CONFIG_WRONG_TYPE, "server.cors_origins",
               2, 17, "expected a list, got a quoted string");
  expect_error("server:\n  cors_origins:\n    - {a: 1}\n", HV_CONFIG_WRONG_TYPE,
               "server.cors_origins[0]", 3, 7, "expected a string");
  expect_error("server:\n  cors_origins:\n    - ~\n", HV_CONFIG_WRONG_TYPE,
               "server.cors_origins[0]", 3, 7, "null");

  /* More than HV_CONFIG_CORS_ORIGINS_MAX entries. */
  size_t cap = 64 + (HV_CONFIG_CORS_ORIGINS_MAX + 1) * 40;
  char *yaml = malloc(cap);
  assert_non_null(yaml);
  size_t n = (size_t)snprintf(yaml, cap, "server:\n  cors_origins:\n");
  for (unsigned i = 0; i <= HV_CONFIG_CORS_ORIGINS_MAX; i++)
    n += (size_t)snprintf(yaml + n, cap - n, "    - https://h%u.example\n", i);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "server.cors_origins", 3, 5, "at most 64 entries");
  free(yaml);

  /* hv_config_validate applies the same rules to a config built in code. */
  hv_config_defaults(&c);
  c.server.cors_origin_count = 1;
  snprintf(c.server.cors_origins[0], sizeof c.server.cors_origins[0], "https://a.example/");
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "server.cors_origins[0]");
  snprintf(c.server.cors_origins[0], sizeof c.server.cors_origins[0], "https://a.example");
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_OK);
  c.server.cors_origin_count = HV_CONFIG_CORS_ORIGINS_MAX + 1;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "server.cors_origins");
}

static void test_transparency_log_switch(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  assert_true(c.storage.transparency_log); /* on unless switched off */
  assert_int_equal(load("storage:\n  transparency_log: false\n", &c, &e), HV_CONFIG_OK);
  assert_false(c.storage.transparency_log);
  assert_string_equal(c.storage.path, "./data/audit.db");
  hv_config_free(&c);
  assert_int_equal(load("storage:\n  transparency_log: true\n", &c, &e), HV_CONFIG_OK);
  assert_true(c.storage.transparency_log);
  hv_config_free(&c);
  expect_error("storage:\n  transparency_log: maybe\n", HV_CONFIG_BAD_VALUE,
               "storage.transparency_log", 2, 21, "expected true or false, got 'maybe'");
}

/* server.playground: on in the embedded defaults (no file), off in a file unless it says true. */
static void test_playground(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  assert_true(c.server.playground);
  assert_string_equal(c.server.playground_dir, "");
  hv_config_free(&c);
  static const char *const off[] = {"", "server:\n  port: 3001\n", "server:\n  playground: false\n"};
  for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
    if (load(off[i], &c, &e) != HV_CONFIG_OK) fail_msg("%s: %s", off[i], e.message);
    assert_false(c.server.playground);
    hv_config_free(&c);
  }
  assert_int_equal(load("server:\n  playground: true\n  playground_dir: /usr/share/hypervisor/playground\n",
                        &c, &e),
                   HV_CONFIG_OK);
  assert_true(c.server.playground);
  assert_string_equal(c.server.playground_dir, "/usr/share/hypervisor/playground");
  hv_config_free(&c);
  expect_error("server:\n  playground: yes\n", HV_CONFIG_BAD_VALUE, "server.playground", 2, 15,
               "expected true or false, got 'yes'");
  expect_error("server:\n  playground: 1\n", HV_CONFIG_BAD_VALUE, "server.playground", 2, 15,
               "expected true or false, got '1'");
}

/* wasm.executor: process (the default) or thread, and nothing else. */
static void test_executor(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  assert_int_equal(c.wasm.executor, HV_CONFIG_EXECUTOR_PROCESS);
  assert_int_equal(load("wasm:\n  executor: process\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.executor, HV_CONFIG_EXECUTOR_PROCESS);
  assert_string_equal(hv_config_executor_name(c.wasm.executor), "process");
  hv_config_free(&c);
  assert_int_equal(load("wasm:\n  executor: thread\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.executor, HV_CONFIG_EXECUTOR_THREAD);
  assert_string_equal(hv_config_executor_name(c.wasm.executor), "thread");
  hv_config_free(&c);
  expect_error("wasm:\n  executor: fork\n", HV_CONFIG_BAD_VALUE, "wasm.executor", 2, 13,
               "unknown executor 'fork' (expected thread or process)");
  hv_config_defaults(&c);
  c.wasm.executor = (hv_config_executor)7;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "wasm.executor");
}

/* wasm.worker_tenancy: dedicated (the default) or shared, and nothing else. */
static void test_worker_tenancy(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  assert_int_equal(c.wasm.worker_tenancy, HV_CONFIG_TENANCY_DEDICATED);
  assert_int_equal(load("wasm:\n  executor: process\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.worker_tenancy, HV_CONFIG_TENANCY_DEDICATED);
  assert_string_equal(hv_config_tenancy_name(c.wasm.worker_tenancy), "dedicated");
  hv_config_free(&c);
  assert_int_equal(load("wasm:\n  worker_tenancy: shared\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.worker_tenancy, HV_CONFIG_TENANCY_SHARED);
  assert_string_equal(hv_config_tenancy_name(c.wasm.worker_tenancy), "shared");
  hv_config_free(&c);
  assert_int_equal(load("wasm:\n  worker_tenancy: dedicated\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.worker_tenancy, HV_CONFIG_TENANCY_DEDICATED);
  hv_config_free(&c);
  expect_error("wasm:\n  worker_tenancy: per-key\n", HV_CONFIG_BAD_VALUE, "wasm.worker_tenancy",
               2, 19, "unknown tenancy 'per-key' (expected dedicated or shared)");
  expect_error("wasm:\n  worker_tenancy:\n", HV_CONFIG_WRONG_TYPE, "wasm.worker_tenancy", 2, 18,
               "expected dedicated or shared, got null");
  hv_config_defaults(&c);
  c.wasm.worker_tenancy = (hv_config_tenancy)7;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "wasm.worker_tenancy");
}

/* wasm.worker_processes: 0 (the default) lets the server choose; at most 1024. */
static void test_worker_processes(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  assert_int_equal(c.wasm.worker_processes, 0);
  assert_int_equal(load("wasm:\n  worker_processes: 12\n", &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.wasm.worker_processes, 12);
  hv_config_free(&c);
  expect_error("wasm:\n  worker_processes: 1025\n", HV_CONFIG_BAD_VALUE, "wasm.worker_processes",
               2, 21, "must be between 0 and 1024 (got 1025)");
}

/* ---- Errors ---------------------------------------------------------------------------------- */

static void test_unknown_keys(void **state) {
  (void)state;
  expect_error("server:\n  host: a.example\n  bogus: 3000\n", HV_CONFIG_UNKNOWN_KEY, "server.bogus",
               3, 3, "unknown key (expected one of: host, port, workers");
  expect_error("# top\nservers:\n  port: 1\n", HV_CONFIG_UNKNOWN_KEY, "servers", 2, 1,
               "unknown key");
  expect_error("auth:\n  api_keys:\n    - id: a\n      sha256: x\n      extra: 1\n",
               HV_CONFIG_UNKNOWN_KEY, "auth.api_keys[0].extra", 5, 7,
               "expected one of: id, sha256");
  expect_error("Server:\n  port: 1\n", HV_CONFIG_UNKNOWN_KEY, "Server", 1, 1, "unknown key");
}

static void test_wrong_types(void **state) {
  (void)state;
  expect_error("\n\nserver:\n  host: a\n  port: abc\n", HV_CONFIG_WRONG_TYPE, "server.port", 5, 9,
               "expected an integer, got 'abc'");
  /* libcyaml 1.3 alone would read these as 1, 1, 0: they must be refused. */
  expect_error("server:\n  port: 1.5\n", HV_CONFIG_WRONG_TYPE, "server.port", 2, 9,
               "expected an integer");
  expect_error("wasm:\n  max_memory_mb: 1e3\n", HV_CONFIG_WRONG_TYPE, "wasm.max_memory_mb", 2, 18,
               "expected an integer");
  expect_error("server:\n  workers: 0b11\n", HV_CONFIG_WRONG_TYPE, "server.workers", 2, 12,
               "expected an integer");
  expect_error("server:\n  port: \"3000\"\n", HV_CONFIG_WRONG_TYPE, "server.port", 2, 9,
               "quoted string");
  expect_error("server:\n  port: true\n", HV_CONFIG_WRONG_TYPE, "server.port", 2, 9,
               "expected an integer");
  expect_error("server:\n  port:\n", HV_CONFIG_WRONG_TYPE, "server.port", 2, 8,
               "expected an integer, got null");
  expect_error("server:\n  port: [1]\n", HV_CONFIG_WRONG_TYPE, "server.port", 2, 9,
               "expected an integer, got a list");
  expect_error("server:\n  host: {a: 1}\n", HV_CONFIG_WRONG_TYPE, "server.host", 2, 9,
               "expected a string, got a mapping");
  expect_error("server:\n  host: null\n", HV_CONFIG_WRONG_TYPE, "server.host", 2, 9,
               "expected a string, got null");
  expect_error("server: 5\n", HV_CONFIG_WRONG_TYPE, "server", 1, 9,
               "expected a mapping, got a scalar");
  expect_error("server: \"null\"\n", HV_CONFIG_WRONG_TYPE, "server", 1, 9,
               "expected a mapping, got a quoted string");
  expect_error("auth:\n  api_keys: {id: a}\n", HV_CONFIG_WRONG_TYPE, "auth.api_keys", 2, 13,
               "expected a list, got a mapping");
  expect_error("- server\n", HV_CONFIG_WRONG_TYPE, "", 1, 1, "must be a mapping");
}

static void test_bad_values(void **state) {
  (void)state;
  expect_error("server:\n  port: 70000\n", HV_CONFIG_BAD_VALUE, "server.port", 2, 9,
               "must be between 1 and 65535 (got 70000)");
  expect_error("server:\n  port: 0\n", HV_CONFIG_BAD_VALUE, "server.port", 2, 9,
               "must be between 1 and 65535");
  expect_error("server:\n  workers: -4\n", HV_CONFIG_BAD_VALUE, "server.workers", 2, 12, "got -4");
  expect_error("wasm:\n  max_memory_mb: 0\n", HV_CONFIG_BAD_VALUE, "wasm.max_memory_mb", 2, 18,
               "must be between 1 and 4096");
  expect_error("wasm:\n  max_execution_time_seconds: 301\n", HV_CONFIG_BAD_VALUE,
               "wasm.max_execution_time_seconds", 2, 31, "between 1 and 300");
  expect_error("wasm:\n  max_result_bytes: 0\n", HV_CONFIG_BAD_VALUE, "wasm.max_result_bytes", 2,
               21, "must be between 1 and 1073741824");
  expect_error("wasm:\n  default_gas_limit: 99999999999999999999999\n", HV_CONFIG_BAD_VALUE,
               "wasm.default_gas_limit", 2, 22, "must be between 1 and 1000000000000000");
  expect_error("crypto:\n  commitment_retention_days: 0\n", HV_CONFIG_BAD_VALUE,
               "crypto.commitment_retention_days", 2, 30, "between 1 and 3650");
  expect_error("rate_limit:\n  burst: 0\n", HV_CONFIG_BAD_VALUE, "rate_limit.burst", 2, 10,
               "between 1 and 1000000");
  expect_error("server:\n  port: 0800\n", HV_CONFIG_BAD_VALUE, "server.port", 2, 9, "leading zero");
  expect_error("server:\n  host: 3000\n", HV_CONFIG_BAD_VALUE, "server.host", 2, 9,
               "not an IP address or a host name");
  expect_error("server:\n  host: \"bad host\"\n", HV_CONFIG_BAD_VALUE, "server.host", 2, 9,
               "not an IP address");
  expect_error("crypto:\n  key_dir: \"\"\n", HV_CONFIG_BAD_VALUE, "crypto.key_dir", 2, 12,
               "must not be empty");
  expect_error("storage:\n  backend: mysql\n", HV_CONFIG_BAD_VALUE, "storage.backend", 2, 12,
               "unknown backend 'mysql' (expected sqlite or postgres)");
  expect_error("logging:\n  level: verbose\n", HV_CONFIG_BAD_VALUE, "logging.level", 2, 10,
               "unknown level 'verbose'");
  expect_error("logging:\n  file: \"null\"\n", HV_CONFIG_BAD_VALUE, "logging.file", 2, 9,
               "not a file");
}

static void test_storage_rules(void **state) {
  (void)state;
  expect_error("storage:\n  backend: postgres\n", HV_CONFIG_MISSING_KEY, "storage.dsn", 2, 12,
               "required with backend postgres");
  /* The DSN is a secret: the message must not quote it. */
  hv_config c;
  hv_config_error e;
  assert_int_equal(load("storage:\n  dsn: \"host=x password=hunter2\"\n", &c, &e),
                   HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "storage.dsn");
  assert_int_equal(e.line, 2);
  assert_null(strstr(e.message, "hunter2"));
  assert_non_null(strstr(e.message, "only used with backend postgres"));
  hv_config_free(&c);
  expect_error("storage:\n  backend: postgres\n  dsn: x\n  path: /tmp/a.db\n", HV_CONFIG_BAD_VALUE,
               "storage.path", 4, 9, "only used with backend sqlite");
}

static void test_api_key_rules(void **state) {
  (void)state;
  char yaml[1024];
  expect_error("auth:\n  api_keys:\n    - id: dev\n      sha256: abc\n", HV_CONFIG_BAD_VALUE,
               "auth.api_keys[0].sha256", 4, 15, "must be 64 hex digits");
  snprintf(yaml, sizeof yaml, "auth:\n  api_keys:\n    - id: dev\n      sha256: %.63sg\n", sha_a);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "auth.api_keys[0].sha256", 4, 15, "64 hex digits");
  expect_error("auth:\n  api_keys:\n    - id: dev\n", HV_CONFIG_MISSING_KEY, "auth.api_keys[0]", 3,
               7, "missing sha256");
  snprintf(yaml, sizeof yaml, "auth:\n  api_keys:\n    - sha256: %s\n", sha_a);
  expect_error(yaml, HV_CONFIG_MISSING_KEY, "auth.api_keys[0]", 3, 7, "missing id");
  snprintf(yaml, sizeof yaml,
           "auth:\n  api_keys:\n    - id: dev\n      sha256: %s\n    - id: dev\n      sha256: %s\n",
           sha_a, sha_b);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "auth.api_keys[1].id", 5, 11,
               "'dev' is already the id of auth.api_keys[0]");
  snprintf(yaml, sizeof yaml,
           "auth:\n  api_keys:\n    - id: a\n      sha256: %s\n    - id: b\n      sha256: %s\n",
           sha_a, sha_a);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "auth.api_keys[1].sha256", 6, 15, "same key hash");
  snprintf(yaml, sizeof yaml, "auth:\n  api_keys:\n    - id: \"has space\"\n      sha256: %s\n",
           sha_a);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "auth.api_keys[0].id", 3, 11, "A-Z a-z 0-9 . _ -");
}

static void test_too_many_api_keys(void **state) {
  (void)state;
  size_t cap = (HV_CONFIG_API_KEYS_MAX + 2) * 100 + 64;
  char *yaml = malloc(cap);
  assert_non_null(yaml);
  size_t len = (size_t)snprintf(yaml, cap, "auth:\n  api_keys:\n");
  for (unsigned i = 0; i <= HV_CONFIG_API_KEYS_MAX; i++)
    len += (size_t)snprintf(yaml + len, cap - len, "    - {id: k%u, sha256: %s}\n", i, sha_a);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "auth.api_keys", 3, 5, "at most 1024 entries");
  free(yaml);
}

static void test_yaml_syntax_and_features(void **state) {
  (void)state;
  expect_error("server: {host: a, port: 3\n", HV_CONFIG_SYNTAX, "", 2, 1,
               "YAML syntax error: did not find expected ',' or '}'");
  expect_error("server:\n\tport: 7\n", HV_CONFIG_SYNTAX, "", 2, 1, "cannot start any token");
  expect_error("server:\n  host: \"\xff\"\n", HV_CONFIG_SYNTAX, "", 2, 10, "UTF-8");
  expect_error("server:\n  host: a\n  host: b\n", HV_CONFIG_DUPLICATE_KEY, "server.host", 3, 3,
               "duplicate key (first at line 2)");
  expect_error("server:\n  port: &p 5\n", HV_CONFIG_UNSUPPORTED_YAML, "server.port", 2, 9,
               "anchors");
  expect_error("wasm: &w {}\nserver: *w\n", HV_CONFIG_UNSUPPORTED_YAML, "wasm", 1, 7, "anchors");
  expect_error("server:\n  port: !!int 5\n", HV_CONFIG_UNSUPPORTED_YAML, "server.port", 2, 9,
               "tags");
  expect_error("server:\n  port: 5\n---\nserver:\n  port: 6\n", HV_CONFIG_UNSUPPORTED_YAML, "", 3,
               1, "more than one YAML document");
  expect_error("? [a]\n: 1\n", HV_CONFIG_UNSUPPORTED_YAML, "", 1, 3, "keys that are not strings");
  expect_error("server:\n  host: \"a\\0b\"\n", HV_CONFIG_BAD_VALUE, "server.host", 2, 9,
               "NUL character");
  expect_error(
      "server:\n  a:\n    b:\n      c:\n        d:\n          e:\n            f:\n"
      "              g:\n                h: 1\n",
      HV_CONFIG_BAD_VALUE, "server.a.b.c.d.e.f.g", 9, 17, "nested more than 8 levels");
}

static void test_validate_checks_code_built_configs(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  c.wasm.max_concurrent_executions = 0;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "wasm.max_concurrent_executions");
  assert_int_equal(e.line, 0);
  assert_string_equal(
      e.message, "config: wasm.max_concurrent_executions: must be between 1 and 10000 (got 0)");
  hv_config_defaults(&c);
  c.storage.backend = HV_CONFIG_BACKEND_POSTGRES;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_MISSING_KEY);
  assert_string_equal(e.key, "storage.dsn");
  hv_config_defaults(&c);
  snprintf(c.server.host, sizeof c.server.host, "-bad-");
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "server.host");
  hv_config_defaults(&c);
  c.logging.level = (hv_log_level)7;
  assert_int_equal(hv_config_validate(&c, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(e.key, "logging.level");
  assert_int_equal(hv_config_validate(NULL, &e), HV_CONFIG_INVALID_ARGUMENT);
}

static void test_check_file(void **state) {
  (void)state;
  char dir[] = "/tmp/hv_config_test.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char good[128], bad[128], missing[128];
  snprintf(good, sizeof good, "%s/good.yaml", dir);
  snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
  snprintf(missing, sizeof missing, "%s/missing.yaml", dir);
  FILE *f = fopen(good, "w");
  assert_non_null(f);
  fputs("server:\n  port: 3001\n", f);
  fclose(f);
  f = fopen(bad, "w");
  assert_non_null(f);
  fputs("server:\n  port: 3001\n  prot: 1\n", f);
  fclose(f);

  hv_config_error e;
  assert_int_equal(hv_config_check_file(good, &e), HV_CONFIG_OK);
  assert_int_equal(hv_config_check_file(bad, &e), HV_CONFIG_UNKNOWN_KEY);
  char want[192];
  snprintf(want, sizeof want, "%s:3:3: server.prot: unknown key", bad);
  assert_memory_equal(e.message, want, strlen(want));
  assert_int_equal(hv_config_check_file(missing, &e), HV_CONFIG_IO);
  assert_non_null(strstr(e.message, missing));
  assert_non_null(strstr(e.message, "No such file"));
  assert_int_equal(hv_config_check_file(dir, &e), HV_CONFIG_IO); /* a directory */
  assert_int_equal(hv_config_check_file(NULL, &e), HV_CONFIG_INVALID_ARGUMENT);

  hv_config c;
  assert_int_equal(hv_config_load_file(good, &c, &e), HV_CONFIG_OK);
  assert_int_equal(c.server.port, 3001);
  hv_config_free(&c);

  /* Over the size cap. */
  f = fopen(bad, "w");
  assert_non_null(f);
  for (unsigned i = 0; i < HV_CONFIG_FILE_MAX / 16 + 1; i++) fputs("# padding line.\n", f);
  fclose(f);
  assert_int_equal(hv_config_check_file(bad, &e), HV_CONFIG_TOO_LARGE);

  unlink(good);
  unlink(bad);
  rmdir(dir);
}

static void test_status_names(void **state) {
  (void)state;
  assert_string_equal(hv_config_status_name(HV_CONFIG_UNKNOWN_KEY), "HV_CONFIG_UNKNOWN_KEY");
  assert_string_equal(hv_config_status_text(HV_CONFIG_WRONG_TYPE), "value of the wrong type");
  assert_string_equal(hv_config_backend_name(HV_CONFIG_BACKEND_POSTGRES), "postgres");
}

/* ---- server.tls, server.metrics_token_sha256 --------------------------------------------------- */

static void test_tls_and_metrics_token(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  char yaml[512];
  snprintf(yaml, sizeof yaml,
           "server:\n  tls:\n    cert: /etc/hv/cert.pem\n    key: /etc/hv/key.pem\n"
           "  metrics_token_sha256: %s\n",
           sha_b);
  assert_int_equal(load(yaml, &c, &e), HV_CONFIG_OK);
  assert_string_equal(c.server.tls_cert, "/etc/hv/cert.pem");
  assert_string_equal(c.server.tls_key, "/etc/hv/key.pem");
  assert_true(c.server.has_metrics_token);
  assert_int_equal(c.server.metrics_token_sha256[0], 0x3b);
  assert_int_equal(c.server.metrics_token_sha256[31], 0x5b);
  hv_config_free(&c);
  /* Without them: plain HTTP, no token. */
  assert_int_equal(load("server:\n  port: 8080\n", &c, &e), HV_CONFIG_OK);
  assert_string_equal(c.server.tls_cert, "");
  assert_false(c.server.has_metrics_token);
  hv_config_free(&c);

  expect_error("server:\n  tls:\n    cert: a.pem\n", HV_CONFIG_MISSING_KEY, "server.tls", 3, 5,
               "missing key");
  expect_error("server:\n  tls:\n    key: a.pem\n", HV_CONFIG_MISSING_KEY, "server.tls", 3, 5,
               "missing cert");
  expect_error("server:\n  tls:\n    cert: a\n    key: b\n    ca: c\n", HV_CONFIG_UNKNOWN_KEY,
               "server.tls.ca", 5, 5, "expected one of: cert, key");
  expect_error("server:\n  metrics_token_sha256: secret\n", HV_CONFIG_BAD_VALUE,
               "server.metrics_token_sha256", 2, 25, "must be 64 hex digits");
  snprintf(yaml, sizeof yaml,
           "server:\n  metrics_token_sha256: %s\nauth:\n  api_keys:\n    - id: a\n      sha256: %s\n",
           sha_a, sha_a);
  expect_error(yaml, HV_CONFIG_BAD_VALUE, "server.metrics_token_sha256", 2, 25,
               "the same hash as auth.api_keys[0]");
}

/* ---- Discovery and environment overrides ------------------------------------------------------ */

static void test_discover(void **state) {
  (void)state;
  char dir[] = "/tmp/hv-config-test-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char present[64], absent[64];
  snprintf(present, sizeof present, "%s/config.yaml", dir);
  snprintf(absent, sizeof absent, "%s/none.yaml", dir);
  FILE *f = fopen(present, "w");
  assert_non_null(f);
  fclose(f);
  const char *path = "unset";
  assert_int_equal(hv_config_discover("a.yaml", "b.yaml", present, &path), HV_CONFIG_SOURCE_OPTION);
  assert_string_equal(path, "a.yaml");
  assert_int_equal(hv_config_discover(NULL, "b.yaml", present, &path), HV_CONFIG_SOURCE_ENV);
  assert_string_equal(path, "b.yaml");
  assert_int_equal(hv_config_discover("", "", present, &path), HV_CONFIG_SOURCE_SYSTEM);
  assert_string_equal(path, present);
  assert_int_equal(hv_config_discover(NULL, NULL, absent, &path), HV_CONFIG_SOURCE_DEFAULTS);
  assert_null(path);
  /* A dangling link is there: loading it will say why it cannot be read. */
  char link[64];
  snprintf(link, sizeof link, "%s/link.yaml", dir);
  assert_int_equal(symlink(absent, link), 0);
  assert_int_equal(hv_config_discover(NULL, NULL, link, &path), HV_CONFIG_SOURCE_SYSTEM);
  assert_string_equal(hv_config_source_name(HV_CONFIG_SOURCE_ENV), "HYPERVISOR_CONFIG");
  assert_string_equal(hv_config_source_name(HV_CONFIG_SOURCE_DEFAULTS), "defaults");
  unlink(link);
  unlink(present);
  rmdir(dir);
}

static void test_apply_env(void **state) {
  (void)state;
  hv_config c;
  hv_config_error e;
  hv_config_defaults(&c);
  assert_int_equal(hv_config_apply_env(&c, NULL, NULL, &e), HV_CONFIG_OK);
  assert_string_equal(c.server.host, "127.0.0.1");
  assert_int_equal(c.server.port, 3000);
  assert_int_equal(hv_config_apply_env(&c, "0.0.0.0", "8443", &e), HV_CONFIG_OK);
  assert_string_equal(c.server.host, "0.0.0.0");
  assert_int_equal(c.server.port, 8443);
  assert_int_equal(hv_config_apply_env(&c, "::1", "65535", &e), HV_CONFIG_OK);
  assert_string_equal(c.server.host, "::1");
  assert_int_equal(c.server.port, 65535);
  static const char *const bad_ports[] = {"0", "65536", "080", "+80", "-1", "80 ", "1e3", "abc",
                                          "99999999999999999999"};
  for (size_t k = 0; k < sizeof bad_ports / sizeof bad_ports[0]; k++) {
    assert_int_equal(hv_config_apply_env(&c, "10.0.0.1", bad_ports[k], &e), HV_CONFIG_BAD_VALUE);
    assert_non_null(strstr(e.message, "HYPERVISOR_PORT: must be a port number"));
    /* Nothing changed, the host neither. */
    assert_string_equal(c.server.host, "::1");
    assert_int_equal(c.server.port, 65535);
  }
  assert_int_equal(hv_config_apply_env(&c, "bad host!", NULL, &e), HV_CONFIG_BAD_VALUE);
  assert_non_null(strstr(e.message, "HYPERVISOR_HOST: 'bad host!' is not an IP address"));
  assert_int_equal(hv_config_apply_env(&c, "3000", NULL, &e), HV_CONFIG_BAD_VALUE);
  assert_string_equal(c.server.host, "::1");
  hv_config_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tls_and_metrics_token),
      cmocka_unit_test(test_discover),
      cmocka_unit_test(test_apply_env),
      cmocka_unit_test(test_defaults_are_the_protocols),
      cmocka_unit_test(test_empty_documents_mean_defaults),
      cmocka_unit_test(test_full_file),
      cmocka_unit_test(test_transparency_log_switch),
      cmocka_unit_test(test_partial_file_keeps_other_defaults),
      cmocka_unit_test(test_postgres_backend),
      cmocka_unit_test(test_wasi_profile),
      cmocka_unit_test(test_cors_origins),
      cmocka_unit_test(test_playground),
      cmocka_unit_test(test_executor),
      cmocka_unit_test(test_worker_tenancy),
      cmocka_unit_test(test_worker_processes),
      cmocka_unit_test(test_unknown_keys),
      cmocka_unit_test(test_wrong_types),
      cmocka_unit_test(test_bad_values),
      cmocka_unit_test(test_storage_rules),
      cmocka_unit_test(test_api_key_rules),
      cmocka_unit_test(test_too_many_api_keys),
      cmocka_unit_test(test_yaml_syntax_and_features),
      cmocka_unit_test(test_validate_checks_code_built_configs),
      cmocka_unit_test(test_check_file),
      cmocka_unit_test(test_status_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
