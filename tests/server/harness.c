/* harness.c: see harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "harness.h"

static void ht_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

double ht_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool ht_wait_for(bool (*cond)(void *arg), void *arg, double seconds) {
  double end = ht_now() + seconds;
  for (;;) {
    if (cond(arg)) return true;
    if (ht_now() > end) return false;
    ht_sleep_ms(20);
  }
}

int ht_children(pid_t parent, const char *comm, bool zombie, int *pids, int max) {
  DIR *d = opendir("/proc");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    int pid = atoi(e->d_name);
    if (pid <= 0) continue;
    char path[64], stat[512] = "";
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(stat, 1, sizeof stat - 1, f);
    stat[len] = '\0';
    fclose(f);
    /* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so the last ')'. */
    char *open_paren = strchr(stat, '('), *close_paren = strrchr(stat, ')');
    int ppid = 0;
    char state = 0;
    if (!open_paren || !close_paren || sscanf(close_paren + 2, "%c %d", &state, &ppid) != 2)
      continue;
    *close_paren = '\0';
    if (ppid == parent && (state == 'Z') == zombie && (!comm || strcmp(open_paren + 1, comm) == 0))
      pids[n++] = pid;
  }
  closedir(d);
  return n;
}

static uint16_t ht_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void ht_sha256_hex(const char *text, char out[65]) {
  unsigned char d[32];
  unsigned int n = 0;
  assert_int_equal(EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL), 1);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

char *ht_read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return strdup("");
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += n;
    if (cap - len < 2) {
      cap *= 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
  }
  fclose(f);
  buf[len] = '\0';
  return buf;
}

void ht_write_config(ht_server *s) {
  const ht_options *o = &s->opt;
  char data[300];
  snprintf(data, sizeof data, "%s", o->data_dir ? o->data_dir : s->dir);
  if (!o->data_dir) strncat(data, "/data", sizeof data - strlen(data) - 1);
  char tmp[400];
  snprintf(tmp, sizeof tmp, "%s.tmp", s->config);
  FILE *f = fopen(tmp, "w");
  assert_non_null(f);
  fprintf(f, "server:\n  host: \"127.0.0.1\"\n  port: %u\n  workers: 4\n  max_body_bytes: %llu\n",
          (unsigned)s->port, (unsigned long long)(o->max_body ? o->max_body : 1024 * 1024));
  if (o->server_extra) fputs(o->server_extra, f);
  if (o->cors_origins) fprintf(f, "  cors_origins: %s\n", o->cors_origins);
  fprintf(f,
          "wasm:\n  max_memory_mb: %u\n  max_execution_time_seconds: %u\n"
          "  max_concurrent_executions: %u\n  default_gas_limit: 10000000000\n",
          o->max_memory_mb ? o->max_memory_mb : 64, o->max_exec_seconds ? o->max_exec_seconds : 10,
          o->max_concurrent ? o->max_concurrent : 100);
  if (o->per_key) fprintf(f, "  max_concurrent_per_key: %u\n", o->per_key);
  if (o->wasi_stdio) fprintf(f, "  wasi: stdio\n");
  /* HV_TEST_EXECUTOR=process runs the whole suite on the process executor (docs/workers.md). */
  const char *executor = o->executor ? o->executor : getenv("HV_TEST_EXECUTOR");
  if (executor && *executor) fprintf(f, "  executor: %s\n", executor);
  if (o->worker_tenancy) fprintf(f, "  worker_tenancy: %s\n", o->worker_tenancy);
  if (o->worker_processes) fprintf(f, "  worker_processes: %u\n", (unsigned)o->worker_processes);
  if (o->max_result_bytes)
    fprintf(f, "  max_result_bytes: %llu\n", (unsigned long long)o->max_result_bytes);
  fprintf(f,
          "crypto:\n  key_rotation_hours: 1\n  commitment_retention_days: %u\n"
          "  key_dir: \"%s/keys\"\n",
          o->retention_days ? o->retention_days : 7, data);
  if (o->kek_file) fprintf(f, "  kek_file: \"%s\"\n", o->kek_file);
  if (o->storage)
    fprintf(f, "storage:\n%s", o->storage);
  else
    fprintf(f, "storage:\n  backend: sqlite\n  path: \"%s/audit.db\"\n", data);
  if (o->transparency_log_off) fprintf(f, "  transparency_log: false\n");
  fprintf(f,
          "rate_limit:\n  requests_per_second: %u\n  burst: %u\n"
          "logging:\n  level: debug\n  file: \"%s\"\n",
          o->rps ? o->rps : 1000, o->burst ? o->burst : 1000, s->log);
  if (!o->no_api_keys) {
    char h1[65], h2[65], h3[65];
    ht_sha256_hex(HT_API_KEY, h1);
    ht_sha256_hex(HT_OTHER_API_KEY, h2);
    ht_sha256_hex(HT_THIRD_API_KEY, h3);
    fprintf(f, "auth:\n  api_keys:\n    - id: test\n      sha256: \"%s\"\n"
               "    - id: other\n      sha256: \"%s\"\n",
            h1, h2);
    if (o->third_key) fprintf(f, "    - id: third\n      sha256: \"%s\"\n", h3);
  }
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rename(tmp, s->config), 0);
}

static bool ht_healthy(ht_server *s, int *exited) {
  int status;
  pid_t p = waitpid(s->pid, &status, WNOHANG);
  if (p == s->pid) {
    *exited = 1;
    s->pid = 0;
    return false;
  }
  ht_resp r = ht_get(s, "/health", NULL);
  bool ok = r.status == 200;
  ht_resp_free(&r);
  return ok;
}

static void ht_spawn(ht_server *s) {
  s->pid = fork();
  assert_true(s->pid >= 0);
  if (s->pid == 0) {
    if (chdir(s->dir) != 0) _exit(126);
    int fd = open(s->out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    if (s->opt.test_clock) setenv("HYPERVISOR_TEST_CLOCK_FILE", s->clock, 1);
    unsetenv("HYPERVISOR_LOG");
    /* The configuration is the test's own: no override from the caller's environment. */
    unsetenv("HYPERVISOR_HOST");
    unsetenv("HYPERVISOR_PORT");
    /* Under AddressSanitizer the server's leak check runs when it exits after SIGTERM, and a leak
     * makes the exit status non-zero (ht_stop fails on it). On by default; never let it be off. */
    const char *asan = getenv("ASAN_OPTIONS");
    char opts[512];
    snprintf(opts, sizeof opts, "%s%sdetect_leaks=1", asan ? asan : "", asan && asan[0] ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    /* HV_TEST_VALGRIND=1: the server runs under valgrind memcheck; a definite leak or a memory
     * error makes its exit status 99 (ht_stop fails on it). */
    const char *vg = getenv("HV_TEST_VALGRIND");
    if (vg && strcmp(vg, "1") == 0)
      execlp("valgrind", "valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite",
             "--errors-for-leak-kinds=definite", "--error-exitcode=99", HV_SERVE_BIN, "serve",
             "--config", s->config, (char *)NULL);
    else
      execl(HV_SERVE_BIN, "hypervisor", "serve", "--config", s->config, (char *)NULL);
    _exit(127);
  }
  double end = ht_now() + 120; /* valgrind starts slowly */
  int exited = 0;
  while (!ht_healthy(s, &exited)) {
    if (exited || ht_now() > end) {
      char *out = ht_read_text(s->out);
      fprintf(stderr, "server did not start; its output:\n%s\n", out);
      free(out);
      fail();
    }
    ht_sleep_ms(20);
  }
}

void ht_start(ht_server *s, const ht_options *opt) {
  ht_prepare(s, opt);
  ht_spawn(s);
}

void ht_prepare(ht_server *s, const ht_options *opt) {
  memset(s, 0, sizeof *s);
  if (opt) s->opt = *opt;
  snprintf(s->dir, sizeof s->dir, "/tmp/hv-server-test-XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  snprintf(s->config, sizeof s->config, "%s/config.yaml", s->dir);
  snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);
  snprintf(s->out, sizeof s->out, "%s/stdout", s->dir);
  snprintf(s->clock, sizeof s->clock, "%s/clock", s->dir);
  s->port = s->opt.port ? s->opt.port : ht_free_port();
  snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%u", s->opt.tls_ca ? "https" : "http",
           (unsigned)s->port);
  if (s->opt.test_clock) ht_set_clock(s, 0);
  ht_write_config(s);
}

void ht_restart(ht_server *s) {
  assert_int_equal(s->pid, 0);
  ht_spawn(s);
}

int ht_stop_signal(ht_server *s, int sig) {
  if (s->pid <= 0) return -1;
  kill(s->pid, sig);
  int status = 0;
  double end = ht_now() + 60;
  for (;;) {
    pid_t p = waitpid(s->pid, &status, WNOHANG);
    if (p == s->pid) break;
    if (ht_now() > end) {
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
      s->pid = 0;
      fail_msg("the server did not exit within 60 s of signal %d", sig);
    }
    ht_sleep_ms(20);
  }
  s->pid = 0;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int ht_stop_failures;

int ht_failures(void) { return ht_stop_failures; }

void ht_stop(ht_server *s) {
  int status = ht_stop_signal(s, SIGTERM);
  if (status != 0) {
    /* A sanitizer report (a leak, UBSan) is in the server's output: show it. */
    ht_stop_failures++;
    char *out = ht_read_text(s->out);
    size_t n = strlen(out);
    fprintf(stderr, "the server exited with status %d after SIGTERM; its output:\n%s\n", status,
            n > 16384 ? out + n - 16384 : out);
    free(out);
    fail_msg("the server exited with status %d after SIGTERM (a leak or a sanitizer report?)",
             status);
  }
}

void ht_cleanup(ht_server *s) {
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
  }
  if (s->dir[0]) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", s->dir);
    s->dir[0] = '\0';
  }
}

void ht_set_clock(ht_server *s, long long seconds) {
  char tmp[340];
  snprintf(tmp, sizeof tmp, "%s.tmp", s->clock);
  FILE *f = fopen(tmp, "w");
  assert_non_null(f);
  fprintf(f, "%lld\n", seconds);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(rename(tmp, s->clock), 0);
}

/* ---- HTTP --------------------------------------------------------------------------------- */

typedef struct ht_sink {
  char *data;
  size_t len;
} ht_sink;

static size_t ht_body_cb(char *p, size_t size, size_t n, void *arg) {
  ht_sink *s = arg;
  size_t len = size * n;
  char *d = realloc(s->data, s->len + len + 1);
  if (!d) return 0;
  memcpy(d + s->len, p, len);
  s->data = d;
  s->len += len;
  s->data[s->len] = '\0';
  return len;
}

void ht_load_client(const ht_server *s, char *const *bodies, size_t body_count,
                    atomic_bool *stop, ht_load_on_answer on_answer, void *ctx) {
  CURL *c = curl_easy_init();
  if (!c) return;
  char url[160], key[128];
  snprintf(url, sizeof url, "%s/v1/execute", s->url);
  snprintf(key, sizeof key, "X-API-Key: %s", HT_API_KEY);
  struct curl_slist *h = curl_slist_append(NULL, key);
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ht_body_cb);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  bool go_on = true;
  for (size_t i = 0; go_on && !atomic_load(stop); i++) {
    ht_sink k = {0};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, bodies[i % body_count]);
    ht_load_answer a = {.ok = curl_easy_perform(c) == CURLE_OK};
    if (a.ok) {
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
      a.body = k.data;
      a.len = k.len;
    }
    go_on = on_answer(ctx, &a);
    free(k.data);
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static void ht_header_value(const char *line, size_t len, const char *name, char *out,
                            size_t size) {
  size_t n = strlen(name);
  if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':') return;
  const char *v = line + n + 1;
  size_t vl = len - n - 1;
  while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
  snprintf(out, size, "%.*s", (int)vl, v);
}

static size_t ht_header_cb(char *p, size_t size, size_t n, void *arg) {
  ht_resp *r = arg;
  size_t len = size * n;
  ht_header_value(p, len, "Retry-After", r->retry_after, sizeof r->retry_after);
  ht_header_value(p, len, "Allow", r->allow, sizeof r->allow);
  ht_header_value(p, len, "Content-Type", r->content_type, sizeof r->content_type);
  ht_header_value(p, len, "X-Request-Id", r->request_id_header, sizeof r->request_id_header);
  /* Keep the last response's lines only (a 100 Continue comes first on some requests). */
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) r->headers[0] = '\0';
  size_t have = strlen(r->headers);
  if (have + len < sizeof r->headers) {
    memcpy(r->headers + have, p, len);
    r->headers[have + len] = '\0';
  }
  return len;
}

typedef struct ht_source {
  const char *data;
  size_t len, off;
} ht_source;

static size_t ht_read_cb(char *buf, size_t size, size_t n, void *arg) {
  ht_source *s = arg;
  size_t want = size * n, left = s->len - s->off;
  if (want > left) want = left;
  memcpy(buf, s->data + s->off, want);
  s->off += want;
  return want;
}

ht_resp ht_http(ht_server *s, const ht_req *req) {
  ht_resp r;
  memset(&r, 0, sizeof r);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char url[512];
  snprintf(url, sizeof url, "%s%s", s->url, req->path);
  struct curl_slist *h = NULL;
  char line[512];
  if (req->api_key) {
    snprintf(line, sizeof line, "X-API-Key: %s", req->api_key);
    h = curl_slist_append(h, line);
  }
  if (req->accept) {
    snprintf(line, sizeof line, "Accept: %s", req->accept);
    h = curl_slist_append(h, line);
  }
  if (req->authorization) {
    snprintf(line, sizeof line, "Authorization: %s", req->authorization);
    h = curl_slist_append(h, line);
  }
  h = curl_slist_append(h, "Expect:");
  for (const char *const *x = req->headers; x && *x; x++) h = curl_slist_append(h, *x);
  ht_sink sink = {0};
  ht_source src = {0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ht_body_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ht_header_cb);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s ? req->timeout_s : 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (s->opt.tls_ca) curl_easy_setopt(c, CURLOPT_CAINFO, s->opt.tls_ca);
  if (req->body) {
    src.data = req->body;
    src.len = req->body_len ? req->body_len : strlen(req->body);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (req->chunked) {
      h = curl_slist_append(h, "Transfer-Encoding: chunked");
      curl_easy_setopt(c, CURLOPT_READFUNCTION, ht_read_cb);
      curl_easy_setopt(c, CURLOPT_READDATA, &src);
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, src.data);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)src.len);
    }
    h = curl_slist_append(h, "Content-Type: application/json");
  }
  /* GET with a body (a request the server must refuse) is sent as GET, not turned into a POST. */
  if (req->method && strcmp(req->method, "POST") != 0 &&
      (strcmp(req->method, "GET") != 0 || req->body)) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req->method && strcmp(req->method, "POST") == 0 && !req->body) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  r.body = sink.data ? sink.data : strdup("");
  r.len = sink.len;
  r.json = json_loadb(r.body, r.len, 0, NULL);
  return r;
}

ht_resp ht_get(ht_server *s, const char *path, const char *api_key) {
  ht_req req = {.path = path, .api_key = api_key};
  return ht_http(s, &req);
}

ht_resp ht_post(ht_server *s, const char *path, const char *api_key, const char *body) {
  ht_req req = {.method = "POST", .path = path, .api_key = api_key, .body = body};
  return ht_http(s, &req);
}

bool ht_resp_header(const ht_resp *r, const char *name, char *out, size_t size) {
  size_t n = strlen(name);
  for (const char *line = r->headers; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line + 1) : strlen(line);
    if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
      out[0] = '\0';
      ht_header_value(line, len, name, out, size);
      return true;
    }
    line += len;
  }
  return false;
}

void ht_resp_free(ht_resp *r) {
  free(r->body);
  json_decref(r->json);
  memset(r, 0, sizeof *r);
}

static bool ht_is_time(const char *t) {
  /* 2026-11-24T10:00:00.123Z */
  if (!t || strlen(t) != 24) return false;
  return t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
         t[19] == '.' && t[23] == 'Z';
}

void ht_assert_error(const ht_resp *r, long status, const char *code) {
  if (r->status != status || !r->json ||
      !json_string_value(json_object_get(r->json, "error_code")) ||
      strcmp(json_string_value(json_object_get(r->json, "error_code")), code) != 0)
    fail_msg("expected HTTP %ld %s, got HTTP %ld: %s", status, code, r->status, r->body);
  const char *msg = json_string_value(json_object_get(r->json, "message"));
  assert_non_null(msg);
  assert_true(strlen(msg) > 0);
  assert_true(ht_is_time(json_string_value(json_object_get(r->json, "timestamp"))));
  assert_non_null(strstr(r->content_type, "application/json"));
}

/* ---- Raw connections --------------------------------------------------------------------- */

int ht_connect(ht_server *s) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
    fail_msg("connect to port %u: %s", (unsigned)s->port, strerror(errno));
  return fd;
}

bool ht_send_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= (size_t)n;
  }
  return true;
}

int ht_read_response(int fd, double seconds, char **body) {
  if (body) *body = NULL;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  double end = ht_now() + seconds;
  int status = 0;
  for (;;) {
    buf[len] = '\0';
    char *head_end = strstr(buf, "\r\n\r\n");
    if (head_end) {
      const char *cl = strcasestr(buf, "\r\nContent-Length:");
      size_t want = cl && cl < head_end ? strtoul(cl + 17, NULL, 10) : 0;
      size_t have = len - (size_t)(head_end + 4 - buf);
      if (have >= want) {
        if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
        if (body) {
          *body = strndup(head_end + 4, want);
          assert_non_null(*body);
        }
        break;
      }
    }
    double left = end - ht_now();
    if (left <= 0) break; /* status stays 0: a timeout */
    struct timeval tv = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
    ssize_t n = recv(fd, buf + len, cap - len, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      status = -1;
      break;
    }
    if (n > 0) len += (size_t)n;
  }
  free(buf);
  return status;
}

/* ---- Modules and crypto ------------------------------------------------------------------- */

uint8_t *ht_wasm(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", HV_SERVER_WASM_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  uint8_t *buf = malloc(1 << 20);
  assert_non_null(buf);
  *len = fread(buf, 1, 1 << 20, f);
  fclose(f);
  return buf;
}

void ht_current_key(ht_server *s, uint8_t pk[65], char key_id[17]) {
  ht_resp r = ht_get(s, "/v1/keys", NULL);
  assert_int_equal(r.status, 200);
  json_t *keys = json_object_get(r.json, "keys");
  size_t k;
  json_t *e;
  bool found = false;
  json_array_foreach(keys, k, e) {
    if (!json_is_true(json_object_get(e, "current"))) continue;
    const char *b64 = json_string_value(json_object_get(e, "public_key"));
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    assert_int_equal(hv_crypto_base64_decode(b64, strlen(b64), &raw, &raw_len, NULL), HV_CRYPTO_OK);
    assert_int_equal(raw_len, 65);
    memcpy(pk, raw, 65);
    free(raw);
    snprintf(key_id, 17, "%s", json_string_value(json_object_get(e, "key_id")));
    found = true;
  }
  assert_true(found);
  ht_resp_free(&r);
}

json_t *ht_exec_request(ht_server *s, const uint8_t *wasm, size_t wasm_len,
                        const char *function_name, const char *seal_name, hv_client_key **key) {
  uint8_t pk[65];
  char key_id[17];
  ht_current_key(s, pk, key_id);
  assert_int_equal(hv_client_key_generate(key, NULL), HV_CRYPTO_OK);
  hv_client_sealed sealed;
  assert_int_equal(hv_client_seal_request(*key, pk, sizeof pk, seal_name ? seal_name : function_name,
                                          wasm, wasm_len, &sealed, NULL),
                   HV_CRYPTO_OK);
  char *pub = NULL;
  assert_int_equal(hv_client_key_public_base64(*key, &pub, NULL), HV_CRYPTO_OK);
  json_t *o = json_object();
  json_object_set_new(o, "encrypted_wasm", json_string(sealed.base64));
  json_object_set_new(o, "key_id", json_string(key_id));
  json_object_set_new(o, "function_name", json_string(function_name));
  json_object_set_new(o, "arguments", json_array());
  json_object_set_new(o, "public_key", json_string(pub));
  free(pub);
  hv_client_sealed_free(&sealed);
  return o;
}

ht_resp ht_execute(ht_server *s, const json_t *request, const char *api_key) {
  char *body = json_dumps(request, JSON_COMPACT);
  assert_non_null(body);
  ht_req req = {.method = "POST", .path = "/v1/execute", .api_key = api_key, .body = body};
  ht_resp r = ht_http(s, &req);
  free(body);
  return r;
}

hv_result_document *ht_open_result(const ht_resp *r, const hv_client_key *key,
                                   const char *function_name, const uint8_t *wasm,
                                   size_t wasm_len, const hvw_value *args, size_t arg_count) {
  hv_value *typed = calloc(arg_count ? arg_count : 1, sizeof *typed);
  assert_non_null(typed);
  for (size_t k = 0; k < arg_count; k++) typed[k] = hv_value_from_wasm(args[k]);
  hv_result_document *out =
      ht_open_result_values(r, key, function_name, wasm, wasm_len, typed, arg_count);
  free(typed);
  return out;
}

hv_result_document *ht_open_result_values(const ht_resp *r, const hv_client_key *key,
                                          const char *function_name, const uint8_t *wasm,
                                          size_t wasm_len, const hv_value *args,
                                          size_t arg_count) {
  if (r->status != 200) fail_msg("expected 200, got %ld: %s", r->status, r->body);
  const char *rid = json_string_value(json_object_get(r->json, "request_id"));
  const char *enc = json_string_value(json_object_get(r->json, "encrypted_result"));
  assert_non_null(rid);
  assert_non_null(enc);
  uint8_t *doc = NULL;
  size_t doc_len = 0;
  hv_crypto_err err = {0};
  if (hv_client_open_response_base64(key, rid, enc, strlen(enc), &doc, &doc_len, &err) !=
      HV_CRYPTO_OK)
    fail_msg("cannot open the result: %s", err.message);
  hv_client_expected exp = {
      .request_id = rid,
      .function_name = function_name,
      .wasm = wasm,
      .wasm_len = wasm_len,
      .arguments = args,
      .argument_count = arg_count,
      .result_commitment = json_string_value(json_object_get(r->json, "result_commitment")),
      .program_commitment = json_string_value(json_object_get(r->json, "program_commitment")),
      .arguments_commitment = json_string_value(json_object_get(r->json, "arguments_commitment")),
  };
  assert_non_null(exp.result_commitment);
  assert_non_null(exp.program_commitment);
  assert_non_null(exp.arguments_commitment);
  hv_result_document *out = NULL;
  if (hv_client_check_result(doc, doc_len, &exp, &out, NULL, &err) != HV_CRYPTO_OK)
    fail_msg("the result does not check out: %s", err.message);
  free(doc);
  return out;
}

/* ---- Processes ---------------------------------------------------------------------------- */

int ht_run(char *const argv[], const char *env, char **out, char **err) {
  char out_path[] = "/tmp/hv-run-out-XXXXXX", err_path[] = "/tmp/hv-run-err-XXXXXX";
  int ofd = mkstemp(out_path), efd = mkstemp(err_path);
  assert_true(ofd >= 0 && efd >= 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(ofd, STDOUT_FILENO);
    dup2(efd, STDERR_FILENO);
    if (env) putenv((char *)env);
    execv(argv[0], argv);
    _exit(127);
  }
  close(ofd);
  close(efd);
  int status = 0;
  waitpid(pid, &status, 0);
  char *o = ht_read_text(out_path), *e = ht_read_text(err_path);
  unlink(out_path);
  unlink(err_path);
  if (out) *out = o; else free(o);
  if (err) *err = e; else free(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int ht_hvctl(const char *const argv[], char **out, char **err) {
  char *o = NULL, *e = NULL;
  int rc = ht_run((char *const *)argv, NULL, &o, &e);
  if (out) *out = o;
  else free(o);
  if (err) *err = e;
  else free(e);
  return rc;
}

void ht_write_kek(const char *path, const char *hex, mode_t mode) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f, "%s\n", hex);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(path, mode), 0);
}

void ht_start_refused(ht_server *s, const char *env, const char *want) {
  char *out = NULL, *err = NULL;
  char *argv[] = {HV_SERVE_BIN, "serve", "--config", s->config, NULL};
  assert_int_equal(ht_run(argv, env, &out, &err), 1);
  if (strstr(err, want) == NULL) fail_msg("expected '%s' in: %s", want, err);
  free(out);
  free(err);
}
