/*
 * test_hardening.c: the attacks and faults of the hardening issue, each repeated from outside
 * against the real server on loopback:
 *
 *   signals      SIGUSR1/SIGUSR2/SIGALRM do not end the server; SIGHUP reopens the log (rotation)
 *                and reloads the API keys, the rate limits and the log level
 *   storage      the audit database removed under the server: no 200, /health 503; a full file
 *                system (a tmpfs, as root): /health 503, executions refused, both back once room
 *                returns
 *   slowloris    1100 connections trickling header bytes: a fresh /health answers within 1 s, and
 *                the header deadline closes them
 *   slow bodies  100 execute requests whose bodies trickle hold no execution slot
 *   flood        one key's 110 infinite loops: another key's small execution answers in < 2 s,
 *                and every one of the 110 is answered within its limit (queue time counts)
 *   privacy      nothing of a refused program (import names, export names, signatures) in a
 *                plaintext reply or the log; the module cache is per API key
 *   protocol     X-API-Key with whitespace around it; a port in use and a data directory in use
 *                refuse to start; the development key is shown only once the server serves;
 *                logging.level debug logs an execution's phases
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static long health_status(ht_server *s) {
  ht_req req = {.path = "/health", .timeout_s = 5};
  ht_resp r = ht_http(s, &req);
  long st = r.status;
  ht_resp_free(&r);
  return st;
}

static bool health_503(void *arg) { return health_status(arg) == 503; }
static bool health_200(void *arg) { return health_status(arg) == 200; }

/* add(2, 3) of add.wat under `api_key`: the response (caller frees). */
static ht_resp run_add(ht_server *s, const char *api_key) {
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(s, wasm, len, "add", NULL, &key);
  json_object_set_new(req, "arguments", json_pack("[{s:i},{s:i}]", "value", 2, "value", 3));
  ht_resp r = ht_execute(s, req, api_key);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
  return r;
}

static bool file_has(const char *path, const char *needle) {
  char *text = ht_read_text(path);
  bool found = strstr(text, needle) != NULL;
  free(text);
  return found;
}

static void raise_fd_limit(rlim_t want) {
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
  if (rl.rlim_cur < want && rl.rlim_max >= want) {
    rl.rlim_cur = want;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  }
}

static bool fd_limit_at_least(rlim_t want) {
  raise_fd_limit(want);
  struct rlimit rl;
  return getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= want;
}

/* ---- 1. Signals and SIGHUP ---------------------------------------------------------------- */

typedef struct log_wait {
  const char *path, *needle;
} log_wait;

static bool log_has(void *arg) {
  log_wait *w = arg;
  return file_has(w->path, w->needle);
}

static void test_signals_and_reload(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {0};
  ht_start(&s, &o);
  /* Stray signals: logged, the server keeps serving. */
  int stray[] = {SIGUSR1, SIGUSR2, SIGALRM};
  for (size_t k = 0; k < 3; k++) {
    assert_int_equal(kill(s.pid, stray[k]), 0);
    sleep_ms(100);
    assert_int_equal(health_status(&s), 200);
  }
  log_wait w = {s.log, "\"event\":\"signal.ignored\""};
  assert_true(ht_wait_for(log_has, &w, 5));

  /* The third key is refused until the configuration that names it is reloaded. */
  ht_resp r = ht_get(&s, "/metrics", HT_THIRD_API_KEY);
  assert_int_equal(r.status, 401);
  ht_resp_free(&r);

  /* Rotation: the log is moved away, the configuration changes, SIGHUP. */
  char rotated[400];
  snprintf(rotated, sizeof rotated, "%s.1", s.log);
  assert_int_equal(rename(s.log, rotated), 0);
  s.opt.third_key = true;
  s.opt.rps = 1;
  s.opt.burst = 1;
  ht_write_config(&s);
  assert_int_equal(kill(s.pid, SIGHUP), 0);
  log_wait reloaded = {s.log, "\"event\":\"config.reloaded\""};
  assert_true(ht_wait_for(log_has, &reloaded, 10));
  assert_true(file_has(s.log, "\"event\":\"log.reopened\""));
  assert_false(file_has(rotated, "\"event\":\"config.reloaded\""));

  /* The new key works; the new rate limit (1 per second, burst 1) holds for it. */
  r = ht_get(&s, "/metrics", HT_THIRD_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  r = ht_get(&s, "/metrics", HT_THIRD_API_KEY);
  ht_assert_error(&r, 429, "RATE_LIMITED");
  ht_resp_free(&r);
  /* Requests after the reload are logged in the new file. */
  assert_true(file_has(s.log, "\"path\":\"/metrics\""));

  /* A configuration that no longer loads changes nothing. */
  FILE *f = fopen(s.config, "a");
  assert_non_null(f);
  fputs("bogus_section: {x: 1}\n", f);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(kill(s.pid, SIGHUP), 0);
  log_wait failed = {s.log, "\"event\":\"config.reload_failed\""};
  assert_true(ht_wait_for(log_has, &failed, 10));
  assert_int_equal(health_status(&s), 200);
  sleep_ms(1100);
  r = ht_get(&s, "/metrics", HT_THIRD_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);

  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 2. The audit store removed while running --------------------------------------------- */

static void remove_store(ht_server *s) {
  const char *suffix[] = {"", "-wal", "-shm"};
  for (size_t k = 0; k < 3; k++) {
    char path[400];
    snprintf(path, sizeof path, "%s/data/audit.db%s", s->dir, suffix[k]);
    unlink(path);
  }
}

static void test_store_removed(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {0};
  ht_start(&s, &o);
  ht_resp r = run_add(&s, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);

  remove_store(&s);
  /* At once (the health answer may still be cached): no 200 for a record written to a file that
   * no longer has a name. */
  r = run_add(&s, HT_API_KEY);
  ht_assert_error(&r, 500, "INTERNAL_ERROR");
  ht_resp_free(&r);
  assert_true(ht_wait_for(health_503, &s, 5));
  r = ht_get(&s, "/health", NULL);
  assert_string_equal(str(r.json, "storage"), "unavailable");
  ht_resp_free(&r);
  /* Refused before running, with a clear message: 503, retry later. */
  r = run_add(&s, HT_API_KEY);
  ht_assert_error(&r, 503, "CAPACITY_EXCEEDED");
  assert_string_equal(r.retry_after, "5");
  assert_non_null(strstr(str(r.json, "message"), "audit store"));
  assert_null(json_object_get(r.json, "request_id"));
  ht_resp_free(&r);
  assert_true(file_has(s.log, "\"event\":\"storage.unhealthy\""));

  /* A restart makes a new store and serves again. */
  ht_stop(&s);
  ht_restart(&s);
  r = run_add(&s, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 3. A full file system ---------------------------------------------------------------- */

/* Writes zeros to `path` until the file system is full. */
static void fill(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  static char zeros[65536];
  while (write(fd, zeros, sizeof zeros) > 0) {
  }
  assert_int_equal(errno, ENOSPC);
  close(fd);
}

static void test_disk_full(void **state) {
  (void)state;
  if (geteuid() != 0) {
    fprintf(stderr, "test_disk_full: skipped: mounting a small tmpfs needs root\n");
    skip();
  }
  char mnt[64];
  snprintf(mnt, sizeof mnt, "/tmp/hv-full-XXXXXX");
  assert_non_null(mkdtemp(mnt));
  if (mount("tmpfs", mnt, "tmpfs", 0, "size=8m,mode=0700") != 0) {
    fprintf(stderr, "test_disk_full: skipped: cannot mount a tmpfs here: %s\n", strerror(errno));
    rmdir(mnt);
    skip();
  }
  ht_server s;
  ht_options o = {.data_dir = mnt};
  ht_start(&s, &o);
  ht_resp r = run_add(&s, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);

  char filler[128];
  snprintf(filler, sizeof filler, "%s/filler", mnt);
  fill(filler);
  assert_true(ht_wait_for(health_503, &s, 5));
  r = run_add(&s, HT_API_KEY);
  assert_true(r.status != 200);
  ht_assert_error(&r, 503, "CAPACITY_EXCEEDED");
  ht_resp_free(&r);

  /* Room again: healthy and executing, without a restart. */
  assert_int_equal(unlink(filler), 0);
  assert_true(ht_wait_for(health_200, &s, 5));
  r = run_add(&s, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);

  ht_stop(&s);
  ht_cleanup(&s);
  assert_int_equal(umount(mnt), 0);
  rmdir(mnt);
}

/* ---- 4. Header slowloris ------------------------------------------------------------------ */

#define SLOW_CONNECTIONS 1100

/* A fresh /health must answer within a second while the attack runs. */
static void assert_fresh_health(ht_server *s) {
  ht_req req = {.path = "/health", .timeout_s = 1};
  double t0 = ht_now();
  ht_resp r = ht_http(s, &req);
  double took = ht_now() - t0;
  if (r.status != 200 || took >= 1.0)
    fail_msg("a fresh GET /health during the attack: HTTP %ld after %.3f s", r.status, took);
  ht_resp_free(&r);
}

static void test_slowloris(void **state) {
  (void)state;
  if (!fd_limit_at_least(SLOW_CONNECTIONS + 256)) {
    fprintf(stderr, "test_slowloris: skipped: fewer than %d file descriptors allowed\n",
            SLOW_CONNECTIONS + 256);
    skip();
  }
  ht_server s;
  ht_options o = {0};
  ht_start(&s, &o);
  static int fds[SLOW_CONNECTIONS];
  static const char start[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ";
  for (int k = 0; k < SLOW_CONNECTIONS; k++) {
    fds[k] = ht_connect(&s);
    if (!ht_send_all(fds[k], start, sizeof start - 1)) {
      close(fds[k]);
      fds[k] = -1;
    }
  }
  /* One byte per connection every second: each keeps libmicrohttpd's idle timeout from firing. */
  int open_at_end = 0;
  for (int second = 0; second < 14; second++) {
    int open = 0;
    for (int k = 0; k < SLOW_CONNECTIONS; k++) {
      if (fds[k] < 0) continue;
      if (!ht_send_all(fds[k], "a", 1)) {
        close(fds[k]);
        fds[k] = -1;
        continue;
      }
      open++;
    }
    if (second == 1 || second == 4 || second == 7) assert_fresh_health(&s);
    open_at_end = open;
    sleep_ms(1000);
  }
  /* After the header deadline (10 s) every trickling connection has been closed by the server:
   * a send may still succeed once after the close, so look at what a read says. */
  int still_open = 0;
  for (int k = 0; k < SLOW_CONNECTIONS; k++) {
    if (fds[k] < 0) continue;
    char c;
    struct timeval tv = {0, 200000};
    setsockopt(fds[k], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = recv(fds[k], &c, 1, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) still_open++;
    close(fds[k]);
  }
  fprintf(stderr, "slowloris: %d connections open at 13 s, %d still open after the deadline\n",
          open_at_end, still_open);
  assert_int_equal(still_open, 0);
  assert_fresh_health(&s);
  assert_true(file_has(s.log, "\"event\":\"http.slow_clients_closed\""));
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 5. Slow bodies hold no execution slot ------------------------------------------------ */

static void test_slow_bodies(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {0};
  ht_start(&s, &o);
  enum { N = 100 };
  int fds[N];
  char head[512];
  snprintf(head, sizeof head,
           "POST /v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\n"
           "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"encrypted_wasm\":\"",
           HT_API_KEY);
  for (int k = 0; k < N; k++) {
    fds[k] = ht_connect(&s);
    assert_true(ht_send_all(fds[k], head, strlen(head)));
  }
  sleep_ms(300);
  for (int round = 0; round < 3; round++) {
    for (int k = 0; k < N; k++) (void)ht_send_all(fds[k], "A", 1);
    /* Another request of the same key is served at once; nothing waits for those bodies. */
    double t0 = ht_now();
    ht_resp r = run_add(&s, HT_API_KEY);
    assert_int_equal(r.status, 200);
    ht_resp_free(&r);
    assert_true(ht_now() - t0 < 5.0);
    assert_fresh_health(&s);
    r = ht_get(&s, "/health", NULL);
    json_t *cap = json_object_get(r.json, "capacity");
    assert_int_equal(json_integer_value(json_object_get(cap, "queued_executions")), 0);
    ht_resp_free(&r);
    sleep_ms(500);
  }
  for (int k = 0; k < N; k++) close(fds[k]);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 6. One key's flood does not starve another key --------------------------------------- */

static void test_flood_fairness(void **state) {
  (void)state;
  enum { N = 110 };
  if (!fd_limit_at_least(N + 256)) skip();
  ht_server s;
  ht_options o = {.max_exec_seconds = 10};
  ht_start(&s, &o);
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "spin", NULL, &key);
  json_object_set_new(req, "timeout_seconds", json_integer(2));
  char *body = json_dumps(req, JSON_COMPACT);
  assert_non_null(body);
  size_t body_len = strlen(body);
  char head[512];
  snprintf(head, sizeof head,
           "POST /v1/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: %s\r\nConnection: close\r\n"
           "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
           HT_API_KEY, body_len);
  int fds[N];
  double t0 = ht_now();
  for (int k = 0; k < N; k++) {
    fds[k] = ht_connect(&s);
    assert_true(ht_send_all(fds[k], head, strlen(head)));
    assert_true(ht_send_all(fds[k], body, body_len));
  }
  sleep_ms(200); /* let the flood be admitted first */

  double t1 = ht_now();
  ht_resp r = run_add(&s, HT_OTHER_API_KEY);
  double other = ht_now() - t1;
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  fprintf(stderr, "flood: the other key's add(2, 3) answered in %.3f s\n", other);
  assert_true(other < 2.0);

  int ok = 0, timeout = 0, refused = 0, other_status = 0;
  for (int k = 0; k < N; k++) {
    char *rbody = NULL;
    int st = ht_read_response(fds[k], 30, &rbody);
    json_t *j = rbody ? json_loads(rbody, 0, NULL) : NULL;
    const char *code = j ? str(j, "error_code") : NULL;
    if (st == 422 && code && strcmp(code, "EXECUTION_TIMEOUT") == 0)
      timeout++;
    else if (st == 503 && code && strcmp(code, "CAPACITY_EXCEEDED") == 0)
      refused++;
    else if (st == 200)
      ok++;
    else
      other_status++;
    json_decref(j);
    free(rbody);
    close(fds[k]);
  }
  double all = ht_now() - t0;
  fprintf(stderr, "flood: %d timed out, %d refused (503), %d other, all answered in %.1f s\n",
          timeout, refused, other_status, all);
  assert_int_equal(ok + other_status, 0);
  assert_int_equal(timeout + refused, N);
  /* The key's share (50 of 100 slots) was admitted at most; the rest were refused at once. */
  assert_true(refused >= N - 50);
  /* Queue time counts against the 2 s limit: nobody waits for the whole queue to drain. */
  assert_true(all < 10.0);

  free(body);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 7 and 8. Nothing of the program in plaintext; the cache is per key ------------------- */

static void test_program_privacy(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {0};
  ht_start(&s, &o);
  size_t len;
  uint8_t *wasm = ht_wasm("secret_import", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "main", NULL, &key);
  ht_resp r = ht_execute(&s, req, HT_API_KEY);
  ht_assert_error(&r, 422, "INVALID_WASM");
  assert_null(strstr(r.body, "secret"));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);

  /* A missing export and a wrong argument count: neither the name nor the signature. */
  wasm = ht_wasm("add", &len);
  req = ht_exec_request(&s, wasm, len, "secret_export_name", NULL, &key);
  r = ht_execute(&s, req, HT_API_KEY);
  ht_assert_error(&r, 422, "FUNCTION_NOT_FOUND");
  assert_null(strstr(r.body, "secret"));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  req = ht_exec_request(&s, wasm, len, "add", NULL, &key);
  json_object_set_new(req, "arguments", json_pack("[{s:i}]", "value", 1));
  r = ht_execute(&s, req, HT_API_KEY);
  ht_assert_error(&r, 400, "INVALID_ARGUMENTS");
  assert_null(strstr(r.body, "i32"));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
  assert_false(file_has(s.log, "secret"));

  /* The module cache: a key that runs a program another key ran compiles it anew. */
  r = run_add(&s, HT_API_KEY);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  r = run_add(&s, HT_API_KEY);
  assert_true(json_is_true(json_object_get(json_object_get(r.json, "execution_summary"), "module_cached")));
  ht_resp_free(&r);
  r = run_add(&s, HT_OTHER_API_KEY);
  assert_int_equal(r.status, 200);
  assert_true(json_is_false(json_object_get(json_object_get(r.json, "execution_summary"), "module_cached")));
  ht_resp_free(&r);
  r = run_add(&s, HT_OTHER_API_KEY);
  assert_true(json_is_true(json_object_get(json_object_get(r.json, "execution_summary"), "module_cached")));
  ht_resp_free(&r);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 9. Whitespace around X-API-Key ------------------------------------------------------- */

static int raw_get_status(ht_server *s, const char *key_line) {
  char reqtext[512];
  snprintf(reqtext, sizeof reqtext,
           "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\nConnection: close\r\n\r\n", key_line);
  int fd = ht_connect(s);
  assert_true(ht_send_all(fd, reqtext, strlen(reqtext)));
  int st = ht_read_response(fd, 10, NULL);
  close(fd);
  return st;
}

static void test_api_key_whitespace(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {0};
  ht_start(&s, &o);
  assert_int_equal(raw_get_status(&s, "X-API-Key: " HT_API_KEY " \t"), 200);
  assert_int_equal(raw_get_status(&s, "X-API-Key: \t " HT_API_KEY), 200);
  assert_int_equal(raw_get_status(&s, "X-API-Key:" HT_API_KEY "\t \t"), 200);
  assert_int_equal(raw_get_status(&s, "X-API-Key: " HT_API_KEY "x "), 401);
  assert_int_equal(raw_get_status(&s, "X-API-Key:  \t "), 401);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 10. A port or a data directory in use ------------------------------------------------ */

static int run_serve(ht_server *s, char **out, char **err) {
  char *argv[] = {HV_SERVE_BIN, "serve", "--config", s->config, NULL};
  return ht_run(argv, NULL, out, err);
}

static void test_port_and_directory_in_use(void **state) {
  (void)state;
  ht_server a, b, c;
  ht_options o = {0};
  ht_start(&a, &o);

  /* Another directory, the same port: refused, naming the port. */
  ht_options ob = {.port = a.port};
  ht_prepare(&b, &ob);
  char *out = NULL, *err = NULL;
  assert_int_equal(run_serve(&b, &out, &err), 1);
  char port[32];
  snprintf(port, sizeof port, "port %u", (unsigned)a.port);
  if (!strstr(err, port) || !strstr(err, "in use")) fail_msg("stderr: %s", err);
  free(out);
  free(err);

  /* Another port, the same data directory: refused, naming the lock. */
  char data[300];
  snprintf(data, sizeof data, "%s/data", a.dir);
  ht_options oc = {.data_dir = data};
  ht_prepare(&c, &oc);
  assert_int_equal(run_serve(&c, &out, &err), 1);
  if (!strstr(err, "another hypervisor") || !strstr(err, "hypervisor.lock"))
    fail_msg("stderr: %s", err);
  free(out);
  free(err);

  /* The first server never noticed. */
  assert_int_equal(health_status(&a), 200);
  ht_stop(&a);
  /* Once it is gone, the directory is free again. */
  ht_restart(&c);
  assert_int_equal(health_status(&c), 200);
  ht_stop(&c);
  ht_cleanup(&a);
  ht_cleanup(&b);
  ht_cleanup(&c);
}

/* ---- 12. The development key is shown only once the server serves ------------------------- */

static void test_dev_key_after_bind(void **state) {
  (void)state;
  /* Hold a port so that the first start fails at the bind. */
  int blocker = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(blocker >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(blocker, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(blocker, 1), 0);
  socklen_t alen = sizeof a;
  assert_int_equal(getsockname(blocker, (struct sockaddr *)&a, &alen), 0);

  ht_server s;
  ht_options o = {.no_api_keys = true, .port = ntohs(a.sin_port)};
  ht_prepare(&s, &o);
  char *out = NULL, *err = NULL;
  assert_int_equal(run_serve(&s, &out, &err), 1);
  assert_null(strstr(out, "hvk_"));
  char hash_file[400];
  snprintf(hash_file, sizeof hash_file, "%s/data/dev-api-key.sha256", s.dir);
  struct stat st;
  assert_int_not_equal(stat(hash_file, &st), 0); /* nothing kept for a key nobody saw */
  free(out);
  free(err);

  close(blocker);
  ht_restart(&s);
  /* The key is printed just after the server starts answering (srv_dev_key_publish follows
   * srv_http_start), so a healthy server may not have printed it yet: wait up to 10 s. */
  char *printed = NULL;
  const char *k = NULL;
  for (int tries = 0; tries < 200 && k == NULL; tries++) {
    free(printed);
    printed = ht_read_text(s.out);
    k = strstr(printed, "hvk_");
    if (k == NULL || strspn(k, "hvk_0123456789abcdef") < 68) {
      k = NULL;
      usleep(50 * 1000);
    }
  }
  assert_non_null(k);
  char key[80];
  size_t n = strspn(k, "hvk_0123456789abcdef");
  assert_int_equal(n, 68);
  snprintf(key, sizeof key, "%.*s", (int)n, k);
  free(printed);
  assert_int_equal(stat(hash_file, &st), 0);
  ht_resp r = ht_get(&s, "/metrics", key);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- 15. logging.level debug: an execution's phases --------------------------------------- */

static void test_debug_phases(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {0}; /* the harness configures logging.level: debug */
  ht_start(&s, &o);
  ht_resp r = run_add(&s, HT_API_KEY);
  assert_int_equal(r.status, 200);
  char id[64];
  snprintf(id, sizeof id, "\"request_id\":\"%s\"", str(r.json, "request_id"));
  ht_resp_free(&r);
  ht_stop(&s);
  char *log = ht_read_text(s.log);
  const char *events[] = {"execute.opened", "execute.ran", "execute.recorded"};
  for (size_t k = 0; k < 3; k++) {
    char ev[64];
    snprintf(ev, sizeof ev, "\"event\":\"%s\"", events[k]);
    const char *line = strstr(log, ev);
    if (!line) fail_msg("no %s line in the log", events[k]);
    const char *eol = strchr(line, '\n');
    const char *found = strstr(line, id);
    assert_true(found && (!eol || found < eol));
  }
  free(log);
  ht_cleanup(&s);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signals_and_reload),
      cmocka_unit_test(test_store_removed),
      cmocka_unit_test(test_disk_full),
      cmocka_unit_test(test_slowloris),
      cmocka_unit_test(test_slow_bodies),
      cmocka_unit_test(test_flood_fairness),
      cmocka_unit_test(test_program_privacy),
      cmocka_unit_test(test_api_key_whitespace),
      cmocka_unit_test(test_port_and_directory_in_use),
      cmocka_unit_test(test_dev_key_after_bind),
      cmocka_unit_test(test_debug_phases),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  return failed + ht_failures();
}
