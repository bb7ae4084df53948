/*
 * test_hvctl11.c: `hvctl exec` in protocol v1.1, the real hvctl binary against the real server
 * (docs/cli.md, "hvctl"): string and bytes arguments (s:, b64:, @FILE) and results (--result,
 * --out), sealed error details opened and shown, argument forms refused before the server is
 * contacted, and --v1. A small fake server (below) shows what hvctl sends and how it answers a
 * sealed error it cannot open or a server that knows only v1. The guest is
 * tests/server/wat/strings.wat.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* An address nothing listens on: a command that got as far as the network would fail with 1. */
#define NO_SERVER "http://127.0.0.1:1"

static ht_server server;
static char strings_path[512];
static char *out, *err; /* the last run's stdout and stderr */

static int setup(void **state) {
  (void)state;
  ht_start(&server, NULL);
  snprintf(strings_path, sizeof strings_path, "%s/strings.wasm", HV_SERVER_WASM_DIR);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  free(out);
  free(err);
  ht_stop(&server);
  ht_cleanup(&server);
  return ht_failures();
}

/* Runs `hvctl --server URL --api-key KEY exec ARGS...`; stdout and stderr in out and err. */
static int exec_at(const char *url, const char *const *args) {
  char *argv[40] = {HV_HVCTL_BIN, "--server", (char *)url, "--api-key", HT_API_KEY, "exec"};
  size_t n = 6;
  for (size_t k = 0; args[k]; k++) {
    assert_true(n + 1 < sizeof argv / sizeof argv[0]);
    argv[n++] = (char *)args[k];
  }
  argv[n] = NULL;
  free(out);
  free(err);
  return ht_run(argv, NULL, &out, &err);
}
#define EXEC_AT(url, ...) exec_at((url), (const char *const[]){__VA_ARGS__, NULL})
#define EXEC(...) EXEC_AT(server.url, __VA_ARGS__)

/* A successful exec: exit 0, `value` (what the results print) and then the commitments. */
static void expect_result(int rc, const char *value) {
  if (rc != 0) fail_msg("hvctl exec: exit %d\nstdout: %s\nstderr: %s", rc, out, err);
  size_t n = strlen(value);
  if (strncmp(out, value, n) != 0 || strncmp(out + n, "request_id: ", 12) != 0)
    fail_msg("stdout does not start with '%s' and the request_id: '%s'", value, out);
  assert_non_null(strstr(out, "commitments: verified\n"));
  assert_string_equal(err, "");
}

/* A usage error found before any connection: exit 2, the reason and the usage on stderr. */
static void expect_usage(int rc, const char *reason) {
  if (rc != 2) fail_msg("exit %d (wanted 2)\nstderr: %s", rc, err);
  assert_string_equal(out, "");
  if (!strstr(err, reason)) fail_msg("'%s' not in stderr: %s", reason, err);
  assert_non_null(strstr(err, "usage:"));
  assert_null(strstr(err, NO_SERVER));
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_true(len == 0 || fwrite(data, 1, len, f) == len);
  assert_int_equal(fclose(f), 0);
}

/* The whole file; *len its size. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  size_t cap = 1 << 20, n = 0;
  uint8_t *buf = malloc(cap);
  assert_non_null(buf);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

/* ---- strings and bytes -------------------------------------------------------------------- */

static void test_string_round_trip(void **state) {
  (void)state;
  /* UTF-8 in, the same text out raw, with a newline after it. */
  int rc = EXEC("--invoke", "echo", "--result", "string", strings_path, "s:h\xc3\xa9llo w\xc3\xb6rld");
  expect_result(rc, "h\xc3\xa9llo w\xc3\xb6rld\n");
  /* A string and a number: the core parameters (ptr, len, n) walked as run walks them. */
  rc = EXEC("--invoke", "repeat", "--result=string", strings_path, "s:ab\n", "3");
  expect_result(rc, "ab\nab\nab\n\n");
  /* A string argument, numeric results: the length of the UTF-8 bytes. */
  rc = EXEC("--invoke", "length", strings_path, "s:\xf0\x9f\x94\x92");
  expect_result(rc, "4\n");
  /* The declared result must fit the export: checked locally, as the server would. */
  rc = EXEC("--invoke", "wide", "--result", "string", strings_path);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "INVALID_ARGUMENTS: wide: "));
}

static void test_file_argument_and_out_file(void **state) {
  (void)state;
  char in_path[400], out_path[400];
  snprintf(in_path, sizeof in_path, "%s/in.bin", server.dir);
  snprintf(out_path, sizeof out_path, "%s/out.bin", server.dir);
  size_t n = 70000;
  uint8_t *bytes = malloc(n);
  assert_non_null(bytes);
  assert_int_equal(RAND_bytes(bytes, (int)n), 1);
  bytes[0] = 0;
  bytes[1] = '\n';
  write_file(in_path, bytes, n);
  char at_in[404], out_opt[410];
  snprintf(at_in, sizeof at_in, "@%s", in_path);
  snprintf(out_opt, sizeof out_opt, "--out=%s", out_path);

  /* @FILE in, --out FILE out: the raw bytes, byte for byte, and nothing of them on stdout. */
  int rc = EXEC("--invoke", "echo", "--result", "bytes", "--out", out_path, strings_path, at_in);
  expect_result(rc, "");
  size_t got_len = 0;
  uint8_t *got = read_file(out_path, &got_len);
  assert_int_equal(got_len, n);
  assert_memory_equal(got, bytes, n);
  free(got);

  /* Twice over, through repeat; --out given after the command's name as --out=FILE. */
  rc = EXEC("--result", "bytes", out_opt, "--invoke", "repeat", strings_path, at_in, "2");
  expect_result(rc, "");
  got = read_file(out_path, &got_len);
  assert_int_equal(got_len, 2 * n);
  assert_memory_equal(got, bytes, n);
  assert_memory_equal(got + n, bytes, n);
  free(got);

  /* An empty file is empty bytes, and the out file is truncated to nothing. */
  write_file(in_path, "", 0);
  rc = EXEC("--invoke", "echo", "--result", "bytes", "--out", out_path, strings_path, at_in);
  expect_result(rc, "");
  got = read_file(out_path, &got_len);
  assert_int_equal(got_len, 0);
  free(got);
  free(bytes);

  /* A string result goes to the file as its UTF-8 bytes, without a newline. */
  rc = EXEC("--invoke", "echo", "--result", "string", "--out", out_path, strings_path, "s:caf\xc3\xa9");
  expect_result(rc, "");
  got = read_file(out_path, &got_len);
  assert_int_equal(got_len, 5);
  assert_memory_equal(got, "caf\xc3\xa9", 5);
  free(got);

  /* An @FILE that cannot be read is a failed argument, not a usage error. */
  rc = EXEC_AT(NO_SERVER, "--invoke", "echo", "--result", "bytes", strings_path, "@/nonexistent/x.bin");
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "INVALID_ARGUMENTS: argument 1 ('@/nonexistent/x.bin'): cannot read"));
}

static void test_bytes_result_prints_base64(void **state) {
  (void)state;
  /* url-safe without padding in, standard base64 with padding out. */
  int rc = EXEC("--invoke", "echo", "--result", "bytes", strings_path, "b64:AAEC_w");
  expect_result(rc, "AAEC/w==\n");
  rc = EXEC("--invoke", "echo", "--result", "bytes", strings_path, "b64:");
  expect_result(rc, "\n");
  /* Bytes from text: the string's UTF-8 bytes, base64. */
  rc = EXEC("--invoke", "repeat", "--result", "bytes", strings_path, "s:hi", "2");
  expect_result(rc, "aGloaQ==\n");
}

/* ---- errors --------------------------------------------------------------------------------- */

static void test_sealed_error_detail(void **state) {
  (void)state;
  /* v1.1: the clear reply names only the code; the detail (the trap, the export's name) is sealed
   * and hvctl shows it. */
  int rc = EXEC("--invoke", "confidential_model_v7", strings_path, "s:patient record 4471");
  assert_int_equal(rc, 1);
  assert_string_equal(out, "");
  if (!strstr(err, "EXECUTION_TRAP: the export 'confidential_model_v7' trapped: unreachable\n"))
    fail_msg("stderr: %s", err);
  assert_null(strstr(err, "the details are in encrypted_error"));
  assert_non_null(strstr(err, "request_id: "));

  /* A guest that breaks the ABI: its detail is sealed too. */
  rc = EXEC("--invoke", "lie_utf8", "--result", "string", strings_path);
  assert_int_equal(rc, 1);
  if (!strstr(err, "EXECUTION_TRAP: ") || !strstr(err, "UTF-8")) fail_msg("stderr: %s", err);
  assert_null(strstr(err, "the details are in encrypted_error"));

  /* A v1 request's errors carry the sealed detail as well (docs/service.md, decision 13). */
  rc = EXEC("--v1", "--invoke", "confidential_model_v7", strings_path, "1", "2");
  assert_int_equal(rc, 1);
  if (!strstr(err, "EXECUTION_TRAP: the export 'confidential_model_v7' trapped: unreachable\n"))
    fail_msg("stderr: %s", err);
}

static void test_bad_argument_forms_are_usage_errors(void **state) {
  (void)state;
  /* Found before any connection: the server address is one nothing listens on. */
  int rc = EXEC_AT(NO_SERVER, "--invoke", "echo", "--result", "bytes", strings_path, "b64:@@@");
  expect_usage(rc, "argument 1 ('b64:@@@'): not valid base64");
  rc = EXEC_AT(NO_SERVER, "--invoke", "echo", "--result", "string", strings_path, "s:\xff\xfe");
  expect_usage(rc, "UTF-8");
  rc = EXEC_AT(NO_SERVER, "--invoke", "echo", "--out", "x.bin", strings_path, "s:x");
  expect_usage(rc, "--out needs --result");
  rc = EXEC_AT(NO_SERVER, "--invoke", "echo", "--result", "text", strings_path, "s:x");
  expect_usage(rc, "--result takes string or bytes");
  rc = EXEC_AT(NO_SERVER, "--v1", "--invoke", "length", strings_path, "s:abc");
  expect_usage(rc, "--v1 takes numbers only");
  rc = EXEC_AT(NO_SERVER, "--v1", "--invoke", "echo", "--result", "bytes", strings_path, "@x.bin");
  expect_usage(rc, "--v1 cannot declare a result");
  /* A number that does not fit its parameter is the module's business: INVALID_ARGUMENTS. */
  rc = EXEC_AT(NO_SERVER, "--invoke", "add", strings_path, "1", "x");
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "INVALID_ARGUMENTS: argument 2 ('x') is not a valid i32"));
}

/* ---- --v1 ----------------------------------------------------------------------------------- */

static void test_v1_numbers(void **state) {
  (void)state;
  int rc = EXEC("--v1", "--invoke", "add", strings_path, "40", "2");
  expect_result(rc, "42\n");
  rc = EXEC("--invoke", "wide", "--v1", strings_path);
  expect_result(rc, "7\n");
}

/* ---- what hvctl sends: a fake server ------------------------------------------------------ */

/* Answers GET /v1/keys with the real server's keys and POST /v1/execute with a canned reply,
 * keeping the body it was sent; one request per connection. */
typedef struct fake_server {
  int fd;
  char url[64];
  pthread_t thread;
  char *keys;             /* the real server's GET /v1/keys body */
  const char *reply;      /* the POST /v1/execute answer (JSON) */
  int reply_status;
  char *request;          /* the POST body received */
} fake_server;

/* Reads one request: its first line into line, its body (Content-Length bytes) into *body. */
static bool fake_read(int fd, char *line, size_t line_size, char **body) {
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  if (!buf) return false;
  char *end = NULL;
  for (;;) {
    if (n == cap) {
      char *bigger = realloc(buf, 2 * cap + 1);
      if (!bigger) break;
      buf = bigger;
      cap *= 2;
    }
    ssize_t got = recv(fd, buf + n, cap - n, 0);
    if (got <= 0) break;
    n += (size_t)got;
    buf[n] = '\0';
    if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) end += 4;
    if (end) {
      const char *cl = strcasestr(buf, "\r\nContent-Length:");
      size_t want = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
      if (n - (size_t)(end - buf) >= want) {
        snprintf(line, line_size, "%.*s", (int)strcspn(buf, "\r"), buf);
        *body = strndup(end, want);
        free(buf);
        return *body != NULL;
      }
    }
  }
  free(buf);
  return false;
}

static void fake_answer(int fd, int status, const char *body) {
  char head[256];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, strlen(body));
  if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n) send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void *fake_main(void *arg) {
  fake_server *f = arg;
  for (int served = 0; served < 2;) {
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (poll(&p, 1, 20000) <= 0) break; /* hvctl is gone: the test fails on its output */
    int c = accept(f->fd, NULL, NULL);
    if (c < 0) break;
    char line[256] = "";
    char *body = NULL;
    if (fake_read(c, line, sizeof line, &body)) {
      served++;
      if (strncmp(line, "GET /v1/keys ", 13) == 0) {
        fake_answer(c, 200, f->keys);
      } else {
        free(f->request);
        f->request = body;
        body = NULL;
        fake_answer(c, f->reply_status, f->reply);
      }
    }
    free(body);
    close(c);
  }
  return NULL;
}

static void fake_start(fake_server *f, int reply_status, const char *reply) {
  *f = (fake_server){.reply = reply, .reply_status = reply_status};
  ht_resp keys = ht_get(&server, "/v1/keys", NULL);
  assert_int_equal(keys.status, 200);
  f->keys = strdup(keys.body);
  assert_non_null(f->keys);
  ht_resp_free(&keys);
  f->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(f->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->fd, 4), 0);
  assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &alen), 0);
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
  assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

/* Waits for the fake server; returns the POST body it received, parsed (caller frees). */
static json_t *fake_stop(fake_server *f) {
  pthread_join(f->thread, NULL);
  close(f->fd);
  free(f->keys);
  json_t *request = f->request ? json_loads(f->request, 0, NULL) : NULL;
  free(f->request);
  if (!request) fail_msg("the fake server received no execute request");
  return request;
}

#define SEALED_REPLY                                                                            \
  "{\"error_code\":\"EXECUTION_TRAP\",\"message\":\"the request failed with EXECUTION_TRAP; the " \
  "details are in encrypted_error\",\"request_id\":\"0b8e1a2c-0000-4000-8000-000000000000\","    \
  "\"encrypted_error\":\"AAAAAAAA\",\"timestamp\":\"2026-01-01T00:00:00.000Z\"}"
#define V1_ONLY_REPLY                                                                            \
  "{\"error_code\":\"INVALID_REQUEST\",\"message\":\"function_name is required\","               \
  "\"timestamp\":\"2026-01-01T00:00:00.000Z\"}"

static void test_request_forms(void **state) {
  (void)state;
  /* v1.1 by default: the module and the invocation sealed, nothing of the call in clear. A server
   * that knows only v1 refuses it, and hvctl says what to try. */
  fake_server f;
  fake_start(&f, 400, V1_ONLY_REPLY);
  int rc = EXEC_AT(f.url, "--invoke", "add", "--gas", "1000", strings_path, "40", "2");
  json_t *req = fake_stop(&f);
  assert_int_equal(rc, 1);
  assert_non_null(json_string_value(json_object_get(req, "encrypted_wasm")));
  assert_non_null(json_string_value(json_object_get(req, "encrypted_invocation")));
  assert_non_null(json_string_value(json_object_get(req, "public_key")));
  assert_int_equal(json_integer_value(json_object_get(req, "gas_limit")), 1000);
  assert_null(json_object_get(req, "function_name"));
  assert_null(json_object_get(req, "arguments"));
  json_decref(req);
  assert_non_null(strstr(err, "INVALID_REQUEST: function_name is required"));
  assert_non_null(strstr(err, "try exec --v1"));

  /* --v1: function_name and typed numeric arguments in clear, no invocation. */
  fake_start(&f, 400, V1_ONLY_REPLY);
  rc = EXEC_AT(f.url, "--v1", "--invoke", "add", strings_path, "40", "-2");
  req = fake_stop(&f);
  assert_int_equal(rc, 1);
  assert_null(json_object_get(req, "encrypted_invocation"));
  assert_string_equal(json_string_value(json_object_get(req, "function_name")), "add");
  json_t *args = json_object_get(req, "arguments");
  assert_int_equal(json_array_size(args), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(args, 0), "type")), "i32");
  assert_int_equal(json_integer_value(json_object_get(json_array_get(args, 0), "value")), 40);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(args, 1), "value")), -2);
  json_decref(req);
  assert_null(strstr(err, "--v1")); /* no hint: it was v1 already */
}

static void test_sealed_error_that_cannot_be_opened(void **state) {
  (void)state;
  fake_server f;
  fake_start(&f, 422, SEALED_REPLY);
  int rc = EXEC_AT(f.url, "--invoke", "add", strings_path, "1", "2");
  json_decref(fake_stop(&f));
  assert_int_equal(rc, 1);
  assert_string_equal(out, "");
  if (!strstr(err, "EXECUTION_TRAP: the request failed with EXECUTION_TRAP; the details are in "
                   "encrypted_error\n") ||
      !strstr(err, "the sealed error detail could not be opened") ||
      !strstr(err, "request_id: 0b8e1a2c-0000-4000-8000-000000000000"))
    fail_msg("stderr: %s", err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_string_round_trip),
      cmocka_unit_test(test_file_argument_and_out_file),
      cmocka_unit_test(test_bytes_result_prints_base64),
      cmocka_unit_test(test_sealed_error_detail),
      cmocka_unit_test(test_bad_argument_forms_are_usage_errors),
      cmocka_unit_test(test_v1_numbers),
      cmocka_unit_test(test_request_forms),
      cmocka_unit_test(test_sealed_error_that_cannot_be_opened),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
