/*
 * test_wasi.c: WASI commands (wasm.wasi: stdio; docs/wasi.md) over real HTTP against the real
 * server, through the client library, hvctl and `hypervisor run --wasi`:
 *   - the example programs (examples/wasi: C with wasi-libc, Rust std) run over the encrypted API
 *     and print what their native builds (the host's cc and rustc, built with the tests) print
 *     for the same argv and stdin; wc also what coreutils' wc counts;
 *   - under the default configuration (wasm.wasi: none) they are INVALID_WASM, as before;
 *   - inconsistent requests (another function_name, arguments, declared results, v1, argv and
 *     stdin for a module that is no command) are INVALID_ARGUMENTS, other imports INVALID_WASM;
 *   - hostile programs: 1 GiB to stdout (stopped at the capture limit, fast), poll_oneoff in a loop
 *     (gas, wall clock), random_get over 4 GiB and over 16 MiB, proc_exit three calls deep;
 *   - nothing of argv, stdin or the output in the plaintext reply or the server's log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "hv_client.h"

static ht_server wasi_server;  /* wasm.wasi: stdio */
static ht_server plain_server; /* the default, none */
static char tmpdir[] = "/tmp/hv-wasi-test-XXXXXX";

static int setup(void **state) {
  (void)state;
  ht_options o = {.wasi_stdio = true};
  ht_start(&wasi_server, &o);
  ht_start(&plain_server, NULL);
  assert_non_null(mkdtemp(tmpdir));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ht_stop(&wasi_server);
  ht_cleanup(&wasi_server);
  ht_stop(&plain_server);
  ht_cleanup(&plain_server);
  char *rm[] = {"/bin/rm", "-rf", tmpdir, NULL};
  ht_run(rm, NULL, NULL, NULL);
  return ht_failures();
}

/* ---- Helpers ------------------------------------------------------------------------------ */

/* The whole of a file; caller frees. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  buf[n] = 0;
  *len = (size_t)n;
  return buf;
}

static uint8_t *example(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", HV_EXAMPLES_WASI_DIR, name);
  return read_file(path, len);
}

/* Writes `text` to a file in tmpdir; returns its path (static buffer per call site). */
static const char *write_temp(const char *name, const char *text, size_t len) {
  static char paths[8][600];
  static int next;
  char *path = paths[next++ % 8];
  snprintf(path, 600, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  return path;
}

typedef struct wasi_call {
  hv_client_key *key;
  json_t *body;
} wasi_call;

/* A v1.1 request for `wasm` with the invocation document as text. */
static wasi_call request_text(ht_server *s, const uint8_t *wasm, size_t wasm_len,
                              const char *invocation) {
  uint8_t pk[65];
  char key_id[17];
  ht_current_key(s, pk, key_id);
  wasi_call c = {0};
  assert_int_equal(hv_client_key_generate(&c.key, NULL), HV_CRYPTO_OK);
  hv_client_sealed sw, si;
  hv_crypto_err err = {0};
  if (hv_client_seal_request_v11(c.key, pk, sizeof pk, wasm, wasm_len, (const uint8_t *)invocation,
                                 strlen(invocation), &sw, &si, &err) != HV_CRYPTO_OK)
    fail_msg("seal: %s", err.message);
  char *pub = NULL;
  assert_int_equal(hv_client_key_public_base64(c.key, &pub, NULL), HV_CRYPTO_OK);
  c.body = json_object();
  json_object_set_new(c.body, "encrypted_wasm", json_string(sw.base64));
  json_object_set_new(c.body, "encrypted_invocation", json_string(si.base64));
  json_object_set_new(c.body, "key_id", json_string(key_id));
  json_object_set_new(c.body, "public_key", json_string(pub));
  free(pub);
  hv_client_sealed_free(&sw);
  hv_client_sealed_free(&si);
  return c;
}

/* A WASI command's request (hv_client_wasi_invocation_build). */
static wasi_call request(ht_server *s, const uint8_t *wasm, size_t wasm_len,
                         const char *const *argv, size_t argc, const char *input) {
  char *inv = NULL;
  hv_crypto_err err = {0};
  if (hv_client_wasi_invocation_build(argv, argc, (const uint8_t *)input, strlen(input), &inv, NULL,
                                      &err) != HV_CRYPTO_OK)
    fail_msg("invocation: %s", err.message);
  wasi_call c = request_text(s, wasm, wasm_len, inv);
  free(inv);
  return c;
}

static void call_free(wasi_call *c) {
  hv_client_key_free(c->key);
  json_decref(c->body);
}

/* Opens a 200 and checks all three commitments, the arguments being argv then stdin. */
static hv_result_document *open_command(const ht_resp *r, const wasi_call *c, const uint8_t *wasm,
                                        size_t wasm_len, const char *const *argv, size_t argc,
                                        const char *input) {
  hv_value *args = calloc(argc + 1, sizeof *args);
  assert_non_null(args);
  for (size_t k = 0; k < argc; k++)
    args[k] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)argv[k], strlen(argv[k]));
  args[argc] = hv_value_blob(HV_TYPE_BYTES, (const uint8_t *)input, strlen(input));
  hv_result_document *doc = ht_open_result_values(r, c->key, "_start", wasm, wasm_len, args, argc + 1);
  free(args);
  assert_true(doc->wasi);
  assert_int_equal(doc->result_count, 0);
  return doc;
}

/* The sealed error detail of an error reply (caller frees), after checking the code. */
static char *open_error(const ht_resp *r, const hv_client_key *key, long status, const char *code) {
  ht_assert_error(r, status, code);
  const char *rid = json_string_value(json_object_get(r->json, "request_id"));
  const char *sealed = json_string_value(json_object_get(r->json, "encrypted_error"));
  if (!rid || !sealed) fail_msg("no sealed error in %s", r->body);
  char *ecode = NULL, *msg = NULL;
  hv_crypto_err err = {0};
  if (hv_client_open_error_base64(key, rid, sealed, strlen(sealed), &ecode, &msg, &err) !=
      HV_CRYPTO_OK)
    fail_msg("cannot open the sealed error: %s", err.message);
  assert_string_equal(ecode, code);
  free(ecode);
  return msg;
}

/* Runs `program args...` natively as argv[0] `name` with stdin from `input_path`; returns its
 * exit status. */
static int run_native(const char *name, const char *program, const char *const *args, size_t n,
                      const char *input_path, char **out, char **err) {
  char *argv[32];
  size_t k = 0;
  argv[k++] = "/bin/bash";
  argv[k++] = "-c";
  argv[k++] = "f=$1; n=$2; shift 2; exec -a \"$n\" \"$@\" < \"$f\"";
  argv[k++] = "bash";
  argv[k++] = (char *)input_path;
  argv[k++] = (char *)name;
  argv[k++] = (char *)program;
  for (size_t i = 0; i < n && k < 31; i++) argv[k++] = (char *)args[i];
  argv[k] = NULL;
  return ht_run(argv, NULL, out, err);
}

/* Runs `name` over HTTP with argv [name, args...] and `input`, and natively; the output, the
 * error output and the exit code must be the same. */
static void assert_same_as_native(const char *name, const char *native, const char *const *args,
                                  size_t n, const char *input) {
  size_t wasm_len;
  uint8_t *wasm = example(name, &wasm_len);
  const char *argv[16];
  argv[0] = name;
  for (size_t k = 0; k < n; k++) argv[k + 1] = args[k];
  wasi_call c = request(&wasi_server, wasm, wasm_len, argv, n + 1, input);
  ht_resp r = ht_execute(&wasi_server, c.body, HT_API_KEY);
  hv_result_document *doc = open_command(&r, &c, wasm, wasm_len, argv, n + 1, input);

  char *out = NULL, *err = NULL;
  int rc = run_native(name, native, args, n, write_temp("native-input", input, strlen(input)), &out, &err);
  if (strlen(out) != doc->stdout_len || memcmp(out, doc->stdout_data, doc->stdout_len) != 0)
    fail_msg("%s: stdout differs\nwasi:\n%s\nnative:\n%s", name, (const char *)doc->stdout_data, out);
  assert_string_equal((const char *)doc->stderr_data, err);
  assert_int_equal(doc->exit_code, rc);
  free(out);
  free(err);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
}

/* ---- The example programs ----------------------------------------------------------------- */

static const char text[] =
    "the quick brown fox\njumps over\nthe lazy dog\n\n  tabs\tand  spaces \nzebra\napple pie\n";

static void test_examples_match_native(void **state) {
  (void)state;
  const char *none[] = {NULL};
  const char *verbose[] = {"-v", "extra"};
  const char *reverse[] = {"-r"};
  const char *fail[] = {"one", "--fail"};
  assert_same_as_native("wc", HV_NATIVE_WC, none, 0, text);
  assert_same_as_native("wc", HV_NATIVE_WC, verbose, 2, text);
  assert_same_as_native("wc", HV_NATIVE_WC, none, 0, ""); /* exit code 3 */
  assert_same_as_native("sortlines", HV_NATIVE_SORTLINES, none, 0, text);
  assert_same_as_native("sortlines", HV_NATIVE_SORTLINES, reverse, 1, text);
  assert_same_as_native("sortlines", HV_NATIVE_SORTLINES, reverse + 0, 0, "");
  const char *bad[] = {"--bogus"};
  assert_same_as_native("sortlines", HV_NATIVE_SORTLINES, bad, 1, text); /* stderr, exit 2 */
  assert_same_as_native("rev", HV_NATIVE_REV, none, 0, "h\xc3\xa9llo w\xc3\xb6rld\nabc\n");
  assert_same_as_native("rev", HV_NATIVE_REV, fail, 2, text); /* stderr, exit 4 */
}

/* wc against coreutils' wc (an independent count), on 64 KiB of text: many fd_read calls. */
static void test_wc_matches_coreutils(void **state) {
  (void)state;
  size_t len = 64 * 1024;
  char *input = malloc(len + 1);
  assert_non_null(input);
  for (size_t k = 0; k < len; k++) input[k] = (k % 7 == 6) ? ' ' : (k % 61 == 60) ? '\n' : 'a' + (char)(k % 26);
  input[len] = '\0';
  const char *path = write_temp("wc-input", input, len);
  char *expected = NULL;
  char *sh[] = {"/bin/sh", "-c", "LC_ALL=C wc -l -w -c < \"$1\" | awk '{print $1, $2, $3}'", "sh",
                (char *)path, NULL};
  assert_int_equal(ht_run(sh, NULL, &expected, NULL), 0);

  size_t wasm_len;
  uint8_t *wasm = example("wc", &wasm_len);
  const char *argv[] = {"wc"};
  wasi_call c = request(&wasi_server, wasm, wasm_len, argv, 1, input);
  ht_resp r = ht_execute(&wasi_server, c.body, HT_API_KEY);
  hv_result_document *doc = open_command(&r, &c, wasm, wasm_len, argv, 1, input);
  assert_string_equal((const char *)doc->stdout_data, expected);
  assert_int_equal(doc->exit_code, 0);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
  free(expected);
  free(input);
}

/* The line of `out` that starts with `start` also holds `needle`. */
static void assert_line(const char *out, const char *start, const char *needle) {
  for (const char *p = out; *p;) {
    const char *end = strchr(p, '\n');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (strncmp(p, start, strlen(start)) == 0) {
      char line[256];
      snprintf(line, sizeof line, "%.*s", (int)len, p);
      if (!strstr(line, needle)) fail_msg("'%s' lacks '%s'", line, needle);
      return;
    }
    p += len + (end != NULL);
  }
  fail_msg("no line starts with '%s' in:\n%s", start, out);
}

/* sandbox.c: every file, directory and socket call refused with libc's error, exit code 0. */
static void test_sandbox_refuses_files_and_sockets(void **state) {
  (void)state;
  size_t wasm_len;
  uint8_t *wasm = example("sandbox", &wasm_len);
  const char *argv[] = {"sandbox"};
  wasi_call c = request(&wasi_server, wasm, wasm_len, argv, 1, "");
  ht_resp r = ht_execute(&wasi_server, c.body, HT_API_KEY);
  hv_result_document *doc = open_command(&r, &c, wasm, wasm_len, argv, 1, "");
  const char *out = (const char *)doc->stdout_data;
  assert_int_equal(doc->exit_code, 0);
  assert_string_equal((const char *)doc->stderr_data, "0 of 9 attempts got through\n");
  int lines = 0;
  for (const char *p = out; (p = strchr(p, '\n')) != NULL; p++) lines++;
  assert_int_equal(lines, 9);
  assert_null(strstr(out, "SUCCEEDED"));
  /* no preopened directory: wasi-libc finds no capability for any path */
  assert_line(out, "fopen(\"/etc/passwd\", \"r\")", "refused (errno 76: Capabilities insufficient)");
  assert_line(out, "fopen(\"/tmp/wasi-sandbox-out\", \"w\")", "refused (errno 76");
  assert_line(out, "opendir(\".\")", "refused (errno 76: Capabilities insufficient)");
  assert_line(out, "accept(3)", "refused (errno 8: Bad file descriptor)");
  assert_line(out, "recv(3)", "refused (errno 8: Bad file descriptor)");
  assert_line(out, "send(1) (stdout is no socket)", "refused (errno 52: Function not implemented)");
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
}

/* ---- Configuration and inconsistent requests ---------------------------------------------- */

static void test_default_config_refuses_wasi(void **state) {
  (void)state;
  size_t wasm_len;
  uint8_t *wasm = example("wc", &wasm_len);
  const char *argv[] = {"wc"};
  wasi_call c = request(&plain_server, wasm, wasm_len, argv, 1, "a b\n");
  ht_resp r = ht_execute(&plain_server, c.body, HT_API_KEY);
  char *detail = open_error(&r, c.key, 422, "INVALID_WASM");
  assert_non_null(strstr(detail, "wasi_snapshot_preview1"));
  assert_null(strstr(r.body, "wasi_snapshot_preview1")); /* the import's name only sealed */
  free(detail);
  ht_resp_free(&r);
  call_free(&c);

  /* argv or stdin for a module that imports nothing: no command can run here */
  uint8_t *add = ht_wasm("add", &wasm_len);
  c = request_text(&plain_server, add, wasm_len, "{\"function_name\":\"add\",\"arguments\":[],\"stdin\":\"\"}");
  r = ht_execute(&plain_server, c.body, HT_API_KEY);
  detail = open_error(&r, c.key, 400, "INVALID_ARGUMENTS");
  assert_non_null(strstr(detail, "wasm.wasi: none"));
  free(detail);
  ht_resp_free(&r);
  call_free(&c);
  free(add);
  free(wasm);
}

/* One request to the WASI server that must fail with `code`, its sealed detail holding `needle`. */
static void assert_refused(const uint8_t *wasm, size_t wasm_len, const char *invocation, long status,
                           const char *code, const char *needle) {
  wasi_call c = request_text(&wasi_server, wasm, wasm_len, invocation);
  ht_resp r = ht_execute(&wasi_server, c.body, HT_API_KEY);
  char *detail = open_error(&r, c.key, status, code);
  if (!strstr(detail, needle)) fail_msg("%s: the detail '%s' lacks '%s'", invocation, detail, needle);
  free(detail);
  ht_resp_free(&r);
  call_free(&c);
}

static void test_inconsistent_requests(void **state) {
  (void)state;
  size_t len, add_len, other_len;
  uint8_t *wc = example("wc", &len);
  assert_refused(wc, len, "{\"function_name\":\"main\",\"argv\":[\"wc\"]}", 400, "INVALID_ARGUMENTS",
                 "function_name must be \"_start\", not 'main'");
  assert_refused(wc, len, "{\"function_name\":\"_start\",\"arguments\":[{\"value\":1}]}", 400,
                 "INVALID_ARGUMENTS", "not arguments");
  assert_refused(wc, len, "{\"function_name\":\"_start\",\"results\":[\"string\"]}", 400,
                 "INVALID_ARGUMENTS", "not declared results");
  assert_refused(wc, len, "{\"function_name\":\"_start\",\"argv\":[\"a\",1]}", 400,
                 "INVALID_REQUEST", "argv[1]");
  assert_refused(wc, len, "{\"function_name\":\"_start\",\"stdin\":\"not base64!\"}", 400,
                 "INVALID_REQUEST", "stdin");

  uint8_t *add = ht_wasm("add", &add_len);
  assert_refused(add, add_len, "{\"function_name\":\"add\",\"argv\":[\"x\"]}", 400,
                 "INVALID_ARGUMENTS", "argv and stdin are only for WASI commands");
  /* a module that imports nothing may still be run as a command when argv or stdin say so */
  assert_refused(add, add_len, "{\"function_name\":\"_start\",\"argv\":[]}", 422,
                 "FUNCTION_NOT_FOUND", "no function '_start'");
  uint8_t *other = ht_wasm("wasi_env_import", &other_len);
  assert_refused(other, other_len, "{\"function_name\":\"_start\"}", 422, "INVALID_WASM",
                 "imports from module \"env\" are not allowed");
  free(other);
  other = ht_wasm("wasi_no_start", &other_len);
  assert_refused(other, other_len, "{\"function_name\":\"_start\"}", 422, "FUNCTION_NOT_FOUND",
                 "no function '_start'");
  free(other);

  /* v1 cannot carry argv, stdin or the output: a command needs v1.1 */
  hv_client_key *key = NULL;
  json_t *v1 = ht_exec_request(&wasi_server, wc, len, "_start", NULL, &key);
  ht_resp r = ht_execute(&wasi_server, v1, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_ARGUMENTS");
  assert_non_null(strstr(r.body, "protocol v1.1"));
  ht_resp_free(&r);
  json_decref(v1);
  hv_client_key_free(key);

  /* numbers to a module without imports still work on the WASI server */
  const char *argv_none[] = {NULL};
  (void)argv_none;
  v1 = ht_exec_request(&wasi_server, add, add_len, "add", NULL, &key);
  json_t *args = json_array();
  json_array_append_new(args, json_pack("{s:i}", "value", 2));
  json_array_append_new(args, json_pack("{s:i}", "value", 40));
  json_object_set_new(v1, "arguments", args);
  r = ht_execute(&wasi_server, v1, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  json_decref(v1);
  hv_client_key_free(key);
  free(add);
  free(wc);
}

/* ---- Hostile programs --------------------------------------------------------------------- */

/* Runs a tests/server/wat command with extra request fields; returns the reply. */
static ht_resp run_hostile(const char *name, const char *extra_key, json_t *extra_value,
                           wasi_call *c, uint8_t **wasm, size_t *len) {
  *wasm = ht_wasm(name, len);
  const char *argv[] = {name};
  *c = request(&wasi_server, *wasm, *len, argv, 1, "");
  if (extra_key) json_object_set_new(c->body, extra_key, extra_value);
  return ht_execute(&wasi_server, c->body, HT_API_KEY);
}

static void test_flood_stops_at_the_capture_limit(void **state) {
  (void)state;
  wasi_call c;
  uint8_t *wasm;
  size_t len;
  double t0 = ht_now();
  ht_resp r = run_hostile("wasi_flood", NULL, NULL, &c, &wasm, &len);
  double took = ht_now() - t0;
  char *detail = open_error(&r, c.key, 422, "EXECUTION_TRAP");
  assert_non_null(strstr(detail, "stdout exceeded its limit of 16777216 bytes (wasm.max_result_bytes)"));
  if (took > 5.0) fail_msg("1 GiB to stdout took %.1f s to stop", took);
  free(detail);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
}

static void test_poll_spin_ends_by_gas_or_clock(void **state) {
  (void)state;
  wasi_call c;
  uint8_t *wasm;
  size_t len;
  ht_resp r = run_hostile("wasi_poll", "gas_limit", json_integer(1000000), &c, &wasm, &len);
  char *detail = open_error(&r, c.key, 422, "GAS_EXHAUSTED");
  free(detail);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);

  double t0 = ht_now();
  r = run_hostile("wasi_poll", "timeout_seconds", json_integer(1), &c, &wasm, &len);
  double took = ht_now() - t0;
  detail = open_error(&r, c.key, 422, "EXECUTION_TIMEOUT");
  if (took > 4.0) fail_msg("a 1 s limit took %.1f s", took);
  free(detail);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
}

static void test_random_get_huge(void **state) {
  (void)state;
  wasi_call c;
  uint8_t *wasm;
  size_t len;
  ht_resp r = run_hostile("wasi_random", NULL, NULL, &c, &wasm, &len);
  const char *argv[] = {"wasi_random"};
  hv_result_document *doc = open_command(&r, &c, wasm, len, argv, 1, "");
  assert_int_equal(doc->exit_code, 21 * 100 + 0); /* EFAULT, then success */
  json_t *summary = json_object_get(r.json, "execution_summary");
  assert_true(json_integer_value(json_object_get(summary, "gas_used")) > 16000000); /* per byte */
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);

  /* the same with less gas than the 16 MiB cost: stopped before a byte is written */
  r = run_hostile("wasi_random", "gas_limit", json_integer(1000000), &c, &wasm, &len);
  char *detail = open_error(&r, c.key, 422, "GAS_EXHAUSTED");
  free(detail);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
}

static void test_exit_from_nested_call(void **state) {
  (void)state;
  wasi_call c;
  uint8_t *wasm;
  size_t len;
  ht_resp r = run_hostile("wasi_exit", NULL, NULL, &c, &wasm, &len);
  const char *argv[] = {"wasi_exit"};
  hv_result_document *doc = open_command(&r, &c, wasm, len, argv, 1, "");
  assert_int_equal(doc->exit_code, 42);
  assert_string_equal((const char *)doc->stdout_data, "before\n");
  assert_int_equal(doc->stderr_len, 0);
  hv_commit_document_free(doc);
  ht_resp_free(&r);
  call_free(&c);
  free(wasm);
}

/* ---- Nothing in the clear ------------------------------------------------------------------ */

static void test_nothing_in_plaintext(void **state) {
  (void)state;
  size_t len;
  uint8_t *wasm = example("rev", &len);
  const char *argv[] = {"rev", "ARGV-MARKER-4711", "--fail"};
  const char *input = "STDIN-MARKER-0815\n";
  wasi_call c = request(&wasi_server, wasm, len, argv, 3, input);
  ht_resp r = ht_execute(&wasi_server, c.body, HT_API_KEY);
  hv_result_document *doc = open_command(&r, &c, wasm, len, argv, 3, input);
  assert_int_equal(doc->exit_code, 4);
  assert_non_null(strstr((const char *)doc->stdout_data, "5180-REKRAM-NIDTS"));
  assert_string_equal((const char *)doc->stderr_data, "rev: failing as asked\n");
  hv_commit_document_free(doc);
  for (const char *const *m = (const char *const[]){"MARKER", "REKRAM", "failing", NULL}; *m; m++)
    assert_null(strstr(r.body, *m));
  ht_resp_free(&r);
  call_free(&c);
  char *log = ht_read_text(wasi_server.log);
  assert_non_null(log);
  assert_null(strstr(log, "MARKER"));
  assert_null(strstr(log, "REKRAM"));
  assert_null(strstr(log, "failing as asked"));
  assert_null(strstr(log, "Capabilities insufficient"));
  free(log);
  free(wasm);
}

/* ---- hvctl exec --wasi and hypervisor run --wasi ------------------------------------------ */

static void test_hvctl_exec_wasi(void **state) {
  (void)state;
  char wc[512], rev[512];
  snprintf(wc, sizeof wc, "%s/wc.wasm", HV_EXAMPLES_WASI_DIR);
  snprintf(rev, sizeof rev, "%s/rev.wasm", HV_EXAMPLES_WASI_DIR);
  const char *in = write_temp("hvctl-in", text, strlen(text));
  char *out = NULL, *err = NULL;
  char *a1[] = {HV_HVCTL_BIN, "--server", wasi_server.url, "--api-key", HT_API_KEY, "exec", "--wasi",
                "--stdin", (char *)in, wc, "-v", "x", NULL};
  int rc = ht_run(a1, NULL, &out, &err);
  assert_int_equal(rc, 0);
  assert_string_equal(out, "7 15 81\n");
  assert_true(strncmp(err, "wc.wasm: 3 arguments\n", 21) == 0); /* argv[0]: the file's name */
  assert_non_null(strstr(err, "hvctl: commitments: verified"));
  free(out);
  free(err);

  /* the program's exit code is hvctl's; no --stdin: empty stdin (wc exits 3) */
  char *a2[] = {HV_HVCTL_BIN, "--server", wasi_server.url, "--api-key", HT_API_KEY, "exec", "--wasi", wc, NULL};
  rc = ht_run(a2, NULL, &out, &err);
  assert_int_equal(rc, 3);
  assert_string_equal(out, "0 0 0\n");
  free(out);
  free(err);
  char *a3[] = {HV_HVCTL_BIN, "--server", wasi_server.url, "--api-key", HT_API_KEY, "exec", "--wasi",
                "--stdin", (char *)in, rev, "--fail", NULL};
  rc = ht_run(a3, NULL, &out, &err);
  assert_int_equal(rc, 4);
  assert_true(strncmp(err, "rev: failing as asked\n", 22) == 0);
  free(out);
  free(err);

  /* a server that runs no WASI: its error, and hvctl's own failure status 125 */
  char *a4[] = {HV_HVCTL_BIN, "--server", plain_server.url, "--api-key", HT_API_KEY, "exec", "--wasi", wc, NULL};
  rc = ht_run(a4, NULL, &out, &err);
  assert_int_equal(rc, 125);
  assert_non_null(strstr(err, "INVALID_WASM"));
  free(out);
  free(err);
  /* options that make no sense with --wasi are usage errors */
  char *a5[] = {HV_HVCTL_BIN, "--server", wasi_server.url, "--api-key", HT_API_KEY, "exec", "--wasi",
                "--result", "string", wc, NULL};
  rc = ht_run(a5, NULL, &out, &err);
  assert_int_equal(rc, 2);
  free(out);
  free(err);
}

static void test_hypervisor_run_wasi(void **state) {
  (void)state;
  char wc[512], sort[512], flood[512];
  snprintf(wc, sizeof wc, "%s/wc.wasm", HV_EXAMPLES_WASI_DIR);
  snprintf(sort, sizeof sort, "%s/sortlines.wasm", HV_EXAMPLES_WASI_DIR);
  snprintf(flood, sizeof flood, "%s/wasi_flood.wasm", HV_SERVER_WASM_DIR);
  const char *in = write_temp("run-in", text, strlen(text));
  char *out = NULL, *err = NULL;
  char *a1[] = {HV_SERVE_BIN, "run", "--wasi", "--stdin", (char *)in, wc, "-v", NULL};
  assert_int_equal(ht_run(a1, NULL, &out, &err), 0);
  assert_string_equal(out, "7 15 81\n");
  assert_string_equal(err, "wc.wasm: 2 arguments\n");
  free(out);
  free(err);
  char *a2[] = {HV_SERVE_BIN, "run", "--wasi", wc, NULL}; /* no --stdin: empty, exit 3 */
  assert_int_equal(ht_run(a2, NULL, &out, &err), 3);
  assert_string_equal(out, "0 0 0\n");
  free(out);
  free(err);
  char *a3[] = {HV_SERVE_BIN, "run", "--wasi", "--stdin", (char *)in, sort, "--bogus", NULL};
  assert_int_equal(ht_run(a3, NULL, &out, &err), 2);
  assert_string_equal(err, "sortlines.wasm: unknown option '--bogus'\n");
  free(out);
  free(err);
  /* over the limit: what fitted (the first 100000 bytes, zeros) is written, then the error line,
   * status 125 */
  char *a4[] = {HV_SERVE_BIN, "run", "--wasi", "--max-result-bytes", "100000", flood, NULL};
  assert_int_equal(ht_run(a4, NULL, &out, &err), 125);
  assert_non_null(strstr(err, "EXECUTION_TRAP: stdout exceeded its limit of 100000 bytes"));
  free(out);
  free(err);
  char *a5[] = {HV_SERVE_BIN, "run", "--stdin", (char *)in, wc, NULL};
  assert_int_equal(ht_run(a5, NULL, &out, &err), 2);
  assert_non_null(strstr(err, "--stdin needs --wasi"));
  free(out);
  free(err);
  char *a6[] = {HV_SERVE_BIN, "run", wc, NULL}; /* without --wasi: the sandbox refuses it */
  assert_int_equal(ht_run(a6, NULL, &out, &err), 1);
  assert_non_null(strstr(err, "INVALID_WASM"));
  free(out);
  free(err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_examples_match_native),
      cmocka_unit_test(test_wc_matches_coreutils),
      cmocka_unit_test(test_sandbox_refuses_files_and_sockets),
      cmocka_unit_test(test_default_config_refuses_wasi),
      cmocka_unit_test(test_inconsistent_requests),
      cmocka_unit_test(test_flood_stops_at_the_capture_limit),
      cmocka_unit_test(test_poll_spin_ends_by_gas_or_clock),
      cmocka_unit_test(test_random_get_huge),
      cmocka_unit_test(test_exit_from_nested_call),
      cmocka_unit_test(test_nothing_in_plaintext),
      cmocka_unit_test(test_hvctl_exec_wasi),
      cmocka_unit_test(test_hypervisor_run_wasi),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
