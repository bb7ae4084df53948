/*
 * test_ops.c: the service as an operator runs it (docs/deploy.md, docs/service.md):
 *   - HTTPS (server.tls) with a CA and a server certificate made here by the openssl command:
 *     libcurl, the curl command and hvctl --cacert succeed; plain HTTP to the port and a wrong CA
 *     fail; a missing, foreign, non-PEM or encrypted file stops the start with a message naming it;
 *   - GET /metrics with `Authorization: Bearer` (an API key, or server.metrics_token_sha256, which
 *     grants nothing else);
 *   - where the configuration comes from: HYPERVISOR_CONFIG, HYPERVISOR_HOST/PORT, and refusals of
 *     bad values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "harness.h"

#define CURL_BIN "/usr/bin/curl"
#define TIMEOUT_BIN "/usr/bin/timeout"
#define METRICS_TOKEN "metrics-only-token-5f2d9c4e8a7b6c1d"

static char pki[128]; /* the CA, a second CA and the server's certificate and keys */
static char ca[192], other_ca[192], cert[192], key[192], enc_key[192], foreign_key[192];

static void sha256_hex(const char *text, char out[65]) {
  unsigned char d[32];
  unsigned int n = 0;
  assert_int_equal(EVP_Digest(text, strlen(text), d, &n, EVP_sha256(), NULL), 1);
  for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static int sh(const char *script) {
  char *argv[] = {"/bin/sh", "-ec", (char *)script, NULL};
  char *out = NULL, *err = NULL;
  int rc = ht_run(argv, NULL, &out, &err);
  if (rc != 0) fprintf(stderr, "script failed (%d): %s\n%s%s\n", rc, script, out, err);
  free(out);
  free(err);
  return rc;
}

/* A CA, a server certificate for localhost and 127.0.0.1 signed by it, the same key encrypted, a
 * key of another certificate, and a second CA that signed nothing of the server's. */
static int setup(void **state) {
  (void)state;
  snprintf(pki, sizeof pki, "/tmp/hv-ops-pki-XXXXXX");
  if (!mkdtemp(pki)) return -1;
  snprintf(ca, sizeof ca, "%s/ca.pem", pki);
  snprintf(other_ca, sizeof other_ca, "%s/other-ca.pem", pki);
  snprintf(cert, sizeof cert, "%s/server.pem", pki);
  snprintf(key, sizeof key, "%s/server.key", pki);
  snprintf(enc_key, sizeof enc_key, "%s/server-encrypted.key", pki);
  snprintf(foreign_key, sizeof foreign_key, "%s/other-ca.key", pki);
  char script[2048];
  snprintf(script, sizeof script,
           "cd '%s'\n"
           "ec='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
           "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=hv-test-ca\n"
           "openssl req -x509 $ec -keyout other-ca.key -out other-ca.pem -days 2 "
           "-subj /CN=hv-other-ca\n"
           "openssl req $ec -keyout server.key -out server.csr -subj /CN=localhost\n"
           "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext\n"
           "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
           "-out server.pem -days 2 -extfile san.ext\n"
           "openssl pkey -in server.key -aes256 -passout pass:secret -out server-encrypted.key\n",
           pki);
  return sh(script) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", pki);
  return system(cmd) == 0 ? 0 : -1;
}

static char tls_yaml[1024];

static const char *tls_lines(const char *c, const char *k) {
  snprintf(tls_yaml, sizeof tls_yaml, "  tls:\n    cert: \"%s\"\n    key: \"%s\"\n", c, k);
  return tls_yaml;
}

/* `curl -sS ARGS... URL`; the body in *out (caller frees), curl's exit status returned. */
static int run_curl(const char *const *args, char **out) {
  char *argv[24] = {CURL_BIN, "-sS", "--max-time", "20"};
  size_t n = 4;
  for (size_t k = 0; args[k]; k++) argv[n++] = (char *)args[k];
  argv[n] = NULL;
  char *err = NULL;
  int rc = ht_run(argv, NULL, out, &err);
  if (rc != 0) fprintf(stderr, "curl exited %d: %s\n", rc, err);
  free(err);
  return rc;
}
#define CURL(out, ...) run_curl((const char *const[]){__VA_ARGS__, NULL}, (out))

/* ---- HTTPS ------------------------------------------------------------------------------- */

static void test_tls_end_to_end(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.server_extra = tls_lines(cert, key), .tls_ca = ca};
  ht_start(&s, &o); /* waits for GET /health over HTTPS with the CA */
  assert_non_null(strstr(s.url, "https://"));

  /* libcurl (the harness) */
  ht_resp r = ht_get(&s, "/v1/keys", NULL);
  assert_int_equal(r.status, 200);
  assert_non_null(json_object_get(r.json, "suite"));
  ht_resp_free(&r);

  /* the curl command */
  char url[128], *body = NULL;
  snprintf(url, sizeof url, "%s/health", s.url);
  assert_int_equal(CURL(&body, "--cacert", ca, url), 0);
  assert_non_null(strstr(body, "\"status\""));
  free(body);
  snprintf(url, sizeof url, "%s/v1/keys", s.url);
  assert_int_equal(CURL(&body, "--cacert", ca, url), 0);
  assert_non_null(strstr(body, "\"public_key\""));
  free(body);
  snprintf(url, sizeof url, "https://localhost:%u/metrics", (unsigned)s.port);
  assert_int_equal(CURL(&body, "--cacert", ca, "-H", "X-API-Key: " HT_API_KEY, url), 0);
  assert_non_null(strstr(body, "hypervisor_http_requests_total"));
  free(body);

  /* Plain HTTP to the HTTPS port gets no HTTP answer. */
  snprintf(url, sizeof url, "http://127.0.0.1:%u/health", (unsigned)s.port);
  assert_int_not_equal(CURL(&body, url), 0);
  assert_null(strstr(body, "\"status\""));
  free(body);
  /* A CA that did not sign the certificate: curl refuses it (60: peer certificate not trusted). */
  snprintf(url, sizeof url, "%s/health", s.url);
  assert_int_equal(CURL(&body, "--cacert", other_ca, url), 60);
  free(body);

  /* hvctl: the whole sealed round trip, the server's certificate checked against --cacert. */
  char wasm[256];
  snprintf(wasm, sizeof wasm, "%s/add.wasm", HV_SERVER_WASM_DIR);
  char *argv[] = {HV_HVCTL_BIN, "--server", s.url, "--cacert", ca, "--api-key", HT_API_KEY,
                  "exec", "--invoke", "add", wasm, "40", "2", NULL};
  char *out = NULL, *err = NULL;
  int rc = ht_run(argv, NULL, &out, &err);
  if (rc != 0) fprintf(stderr, "hvctl: %s%s\n", out, err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(out, "42"));
  free(out);
  free(err);
  /* Without --cacert hvctl checks against the system's CAs, which do not know ours. */
  char *argv2[] = {HV_HVCTL_BIN, "--server", s.url, "health", NULL};
  rc = ht_run(argv2, NULL, &out, &err);
  assert_int_equal(rc, 1);
  assert_true(strstr(err, "certificate") != NULL || strstr(err, "SSL") != NULL);
  free(out);
  free(err);

  ht_stop(&s);
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "\"scheme\":\"https\""));
  /* The key file's content never reaches the log. */
  char *pem = ht_read_text(key);
  const char *line2 = strchr(pem, '\n');
  assert_non_null(line2);
  char fragment[33];
  snprintf(fragment, sizeof fragment, "%.32s", line2 + 1);
  assert_null(strstr(log, fragment));
  free(pem);
  free(log);
  ht_cleanup(&s);
}

/* Starts `hypervisor serve --config` on a configuration that must be refused; returns its stderr. */
static char *refused_start(const char *server_extra) {
  ht_server s;
  ht_options o = {.server_extra = server_extra, .tls_ca = ca};
  ht_prepare(&s, &o);
  char *argv[] = {TIMEOUT_BIN, "20", HV_SERVE_BIN, "serve", "--config", s.config, NULL};
  char *out = NULL, *err = NULL;
  int rc = ht_run(argv, NULL, &out, &err);
  assert_int_equal(rc, 1); /* refused at start-up; not 124 (still running after 20 s) */
  free(out);
  ht_cleanup(&s);
  return err;
}

static void assert_refused(const char *server_extra, const char *a, const char *b) {
  char *err = refused_start(server_extra);
  if (!strstr(err, a) || !strstr(err, b))
    fail_msg("expected '%s' and '%s' in the start-up error, got: %s", a, b, err);
  free(err);
}

static void test_tls_bad_files(void **state) {
  (void)state;
  char missing[256];
  snprintf(missing, sizeof missing, "%s/no-such.pem", pki);
  assert_refused(tls_lines(missing, key), "server.tls.cert: cannot open", "no-such.pem");
  assert_refused(tls_lines(cert, missing), "server.tls.key: cannot open", "no-such.pem");
  /* A key, but not the certificate's. */
  assert_refused(tls_lines(cert, foreign_key), "is not the private key of the certificate",
                 "other-ca.key");
  /* The files swapped: the "certificate" is a key. */
  assert_refused(tls_lines(key, cert), "server.tls.cert", "holds no PEM certificate");
  assert_refused(tls_lines(cert, enc_key), "server.tls.key", "is encrypted");
  /* A directory where a file belongs. */
  assert_refused(tls_lines(pki, key), "server.tls.cert", "not a regular file");
  /* Half a tls section is a configuration error, before anything starts. */
  char half[300];
  snprintf(half, sizeof half, "  tls:\n    cert: \"%s\"\n", cert);
  assert_refused(half, "server.tls", "missing key");
}

/* ---- /metrics with a bearer token ---------------------------------------------------------- */

static void test_metrics_bearer(void **state) {
  (void)state;
  char hash[65], extra[128];
  sha256_hex(METRICS_TOKEN, hash);
  snprintf(extra, sizeof extra, "  metrics_token_sha256: \"%s\"\n", hash);
  ht_server s;
  ht_options o = {.server_extra = extra};
  ht_start(&s, &o);

  struct {
    const char *path, *api_key, *authorization;
    long status;
  } cases[] = {
      {"/metrics", NULL, "Bearer " HT_API_KEY, 200},          /* an API key as a bearer token */
      {"/metrics", NULL, "bearer   " HT_OTHER_API_KEY, 200},  /* the scheme in any case */
      {"/metrics", NULL, "Bearer " METRICS_TOKEN, 200},       /* the metrics token */
      {"/v1/metrics", NULL, "Bearer " METRICS_TOKEN, 200},
      {"/metrics", HT_API_KEY, "Bearer wrong", 200},          /* X-API-Key wins */
      {"/metrics", NULL, NULL, 401},
      {"/metrics", NULL, "Bearer wrong-token", 401},
      {"/metrics", NULL, "Bearer ", 401},
      {"/metrics", NULL, "Basic dGVzdDp0ZXN0", 401},
      {"/metrics", NULL, HT_API_KEY, 401},                     /* no scheme */
      {"/metrics", METRICS_TOKEN, NULL, 401},                  /* the token is no API key */
      {"/v1/execute", METRICS_TOKEN, NULL, 401},
      {"/v1/execute", NULL, "Bearer " METRICS_TOKEN, 401},     /* execute takes X-API-Key only */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    ht_req req = {.path = cases[k].path, .api_key = cases[k].api_key,
                  .authorization = cases[k].authorization};
    if (strcmp(cases[k].path, "/v1/execute") == 0) {
      req.method = "POST";
      req.body = "{}";
    }
    ht_resp r = ht_http(&s, &req);
    if (r.status != cases[k].status)
      fail_msg("case %zu (%s, %s): HTTP %ld, expected %ld: %s", k, cases[k].path,
               cases[k].authorization ? cases[k].authorization : "-", r.status, cases[k].status,
               r.body);
    if (r.status == 200) assert_non_null(strstr(r.body, "hypervisor_http_requests_total"));
    if (r.status == 401) ht_assert_error(&r, 401, "UNAUTHORIZED");
    ht_resp_free(&r);
  }
  ht_stop(&s);
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "\"api_key_id\":\"metrics-token\""));
  assert_null(strstr(log, METRICS_TOKEN)); /* named, never quoted */
  free(log);
  ht_cleanup(&s);

  /* The token's hash may not be an API key's too: it would grant more than /metrics. */
  sha256_hex(HT_API_KEY, hash);
  snprintf(extra, sizeof extra, "  metrics_token_sha256: \"%s\"\n", hash);
  ht_prepare(&s, &(ht_options){.server_extra = extra});
  char *argv[] = {HV_SERVE_BIN, "serve", "--check-config", s.config, NULL};
  char *err = NULL;
  assert_int_equal(ht_run(argv, NULL, NULL, &err), 1);
  assert_non_null(strstr(err, "server.metrics_token_sha256: the same hash as auth.api_keys[0]"));
  free(err);
  ht_cleanup(&s);
}

/* ---- Debian's Prometheus scrapes /metrics --------------------------------------------------- */

#define PROMETHEUS_BIN "/usr/bin/prometheus"

/* GET url (plain HTTP); the parsed JSON of a 200, or NULL. */
static json_t *get_json(const char *base, const char *path) {
  ht_server p;
  memset(&p, 0, sizeof p);
  snprintf(p.url, sizeof p.url, "%s", base);
  ht_resp r = ht_get(&p, path, NULL);
  json_t *j = r.status == 200 ? json_incref(r.json) : NULL;
  ht_resp_free(&r);
  return j;
}

/* The first sample of an instant query's answer, as text ("1", "100"), or NULL. */
static const char *first_value(json_t *answer) {
  json_t *result = json_object_get(json_object_get(answer, "data"), "result");
  json_t *value = json_object_get(json_array_get(result, 0), "value");
  return json_string_value(json_array_get(value, 1));
}

/* Prometheus (Debian's package) scrapes the server over HTTPS (our CA) with the metrics token in
 * a credentials file, as docs/service.md shows; its own HTTP API then says the target is up and
 * returns a hypervisor metric's value. */
static void test_prometheus_scrape(void **state) {
  (void)state;
  if (access(PROMETHEUS_BIN, X_OK) != 0) {
    fprintf(stderr, "test_prometheus_scrape: SKIPPED: %s not found (install the Debian package "
                    "prometheus: scripts/deps.sh)\n", PROMETHEUS_BIN);
    skip();
  }
  char hash[65], extra[1200];
  sha256_hex(METRICS_TOKEN, hash);
  snprintf(extra, sizeof extra, "%s  metrics_token_sha256: \"%s\"\n", tls_lines(cert, key), hash);
  ht_server s;
  ht_options o = {.server_extra = extra, .tls_ca = ca};
  ht_start(&s, &o);

  char token[400], yml[400], data[400], log[400], listen[64];
  snprintf(token, sizeof token, "%s/metrics-token", s.dir);
  snprintf(yml, sizeof yml, "%s/prometheus.yml", s.dir);
  snprintf(data, sizeof data, "%s/prometheus-data", s.dir);
  snprintf(log, sizeof log, "%s/prometheus.log", s.dir);
  FILE *f = fopen(token, "w");
  assert_non_null(f);
  fputs(METRICS_TOKEN "\n", f);
  assert_int_equal(fclose(f), 0);
  f = fopen(yml, "w");
  assert_non_null(f);
  fprintf(f,
          "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
          "scrape_configs:\n  - job_name: hypervisor\n    scheme: https\n"
          "    tls_config:\n      ca_file: %s\n"
          "    authorization:\n      type: Bearer\n      credentials_file: %s\n"
          "    static_configs:\n      - targets: ['127.0.0.1:%u']\n",
          ca, token, (unsigned)s.port);
  assert_int_equal(fclose(f), 0);

  /* A free port for Prometheus' own web server. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  close(fd);
  snprintf(listen, sizeof listen, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));

  pid_t prom = fork();
  assert_true(prom >= 0);
  if (prom == 0) {
    if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr)) _exit(126);
    char flag_config[420], flag_data[440], flag_listen[96];
    snprintf(flag_config, sizeof flag_config, "--config.file=%s", yml);
    snprintf(flag_data, sizeof flag_data, "--storage.tsdb.path=%s", data);
    snprintf(flag_listen, sizeof flag_listen, "--web.listen-address=%s", listen);
    execl(PROMETHEUS_BIN, "prometheus", flag_config, flag_data, flag_listen, (char *)NULL);
    _exit(127);
  }
  char base[96];
  snprintf(base, sizeof base, "http://%s", listen);
  /* Prometheus starts, scrapes every second and stores the samples: about 6 s here; the bound is
   * only for a failure on a loaded machine. */
  bool up = false, has_value = false;
  char capacity[32] = "";
  double end = ht_now() + 30;
  while (!(up && has_value) && ht_now() < end) {
    json_t *j = get_json(base, "/api/v1/query?query=up");
    const char *v = first_value(j);
    up = v && strcmp(v, "1") == 0;
    json_decref(j);
    j = get_json(base, "/api/v1/query?query=hypervisor_executions_capacity");
    v = first_value(j);
    if (v) snprintf(capacity, sizeof capacity, "%s", v);
    has_value = v != NULL;
    json_decref(j);
    if (!(up && has_value)) {
      struct timespec ts = {0, 200000000L};
      nanosleep(&ts, NULL);
    }
  }
  json_t *targets = get_json(base, "/api/v1/targets");
  json_t *t0 = json_array_get(json_object_get(json_object_get(targets, "data"), "activeTargets"), 0);
  const char *health = json_string_value(json_object_get(t0, "health"));
  const char *last_error = json_string_value(json_object_get(t0, "lastError"));
  kill(prom, SIGTERM);
  int st;
  waitpid(prom, &st, 0);
  if (!up || !has_value) {
    char *out = ht_read_text(log);
    fprintf(stderr, "prometheus' output:\n%s\n", out);
    free(out);
    fail_msg("target health %s (%s), up=%d, a hypervisor metric=%d", health ? health : "?",
             last_error ? last_error : "", up, has_value);
  }
  assert_string_equal(health, "up");
  assert_string_equal(capacity, "100"); /* wasm.max_concurrent_executions of the test's file */
  json_decref(targets);
  ht_stop(&s);
  char *server_log = ht_read_text(s.log);
  assert_non_null(strstr(server_log, "\"path\":\"/metrics\",\"status\":200"));
  assert_non_null(strstr(server_log, "\"api_key_id\":\"metrics-token\""));
  free(server_log);
  ht_cleanup(&s);
}

/* ---- Where the configuration comes from ------------------------------------------------------ */

static uint16_t free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

/* Starts `hypervisor serve` with no option and `env` (NULL-terminated "NAME=value"s) in s->dir;
 * waits for /health on host:port. */
static void start_with_env(ht_server *s, char *const env[], const char *host, uint16_t port) {
  s->pid = fork();
  assert_true(s->pid >= 0);
  if (s->pid == 0) {
    if (chdir(s->dir) != 0) _exit(126);
    FILE *f = freopen(s->out, "a", stderr);
    (void)f;
    unsetenv("HYPERVISOR_LOG");
    unsetenv("HYPERVISOR_HOST");
    unsetenv("HYPERVISOR_PORT");
    unsetenv("HYPERVISOR_CONFIG");
    for (size_t k = 0; env[k]; k++) putenv(env[k]);
    execl(HV_SERVE_BIN, "hypervisor", "serve", (char *)NULL);
    _exit(127);
  }
  s->port = port;
  snprintf(s->url, sizeof s->url, "http://%s:%u", host, (unsigned)port);
  double end = ht_now() + 60;
  for (;;) {
    ht_resp r = ht_get(s, "/health", NULL);
    long status = r.status;
    ht_resp_free(&r);
    if (status == 200) return;
    int st;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid || ht_now() > end) {
      s->pid = 0;
      char *out = ht_read_text(s->out);
      fail_msg("the server did not answer on port %u; its output:\n%s", (unsigned)port, out);
    }
    struct timespec ts = {0, 20000000L};
    nanosleep(&ts, NULL);
  }
}

static void test_config_discovery(void **state) {
  (void)state;
  ht_server s;
  ht_prepare(&s, NULL); /* a configuration file on s.port, at s.config */

  /* HYPERVISOR_CONFIG names the file when --config is absent. */
  char env_config[400];
  snprintf(env_config, sizeof env_config, "HYPERVISOR_CONFIG=%s", s.config);
  start_with_env(&s, (char *const[]){env_config, NULL}, "127.0.0.1", s.port);
  ht_resp r = ht_get(&s, "/metrics", HT_API_KEY); /* the file's API keys are in force */
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  ht_stop(&s);
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "\"event\":\"config.loaded\""));
  assert_non_null(strstr(log, "\"source\":\"HYPERVISOR_CONFIG\""));
  assert_non_null(strstr(log, s.config));
  free(log);

  /* HYPERVISOR_PORT and HYPERVISOR_HOST over the file's server.port and server.host. */
  uint16_t other = free_port();
  char env_port[64];
  snprintf(env_port, sizeof env_port, "HYPERVISOR_PORT=%u", (unsigned)other);
  start_with_env(&s, (char *const[]){env_config, env_port, "HYPERVISOR_HOST=127.0.0.2", NULL},
                 "127.0.0.2", other);
  r = ht_get(&s, "/health", NULL);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  /* Bound to 127.0.0.2 only: nothing answers on 127.0.0.1 at that port. */
  snprintf(s.url, sizeof s.url, "http://127.0.0.1:%u", (unsigned)other);
  r = ht_get(&s, "/health", NULL);
  assert_int_equal(r.status, 0);
  ht_resp_free(&r);
  /* SIGHUP re-reads the file with the same overrides: nothing to restart for. */
  kill(s.pid, SIGHUP);
  double until = ht_now() + 10;
  char *reload_log = NULL;
  for (;;) {
    reload_log = ht_read_text(s.log);
    if (strstr(reload_log, "\"event\":\"config.reloaded\"") || ht_now() > until) break;
    free(reload_log);
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
  }
  assert_non_null(strstr(reload_log, "\"event\":\"config.reloaded\""));
  assert_null(strstr(reload_log, "config.restart_needed"));
  free(reload_log);
  ht_stop(&s);

  ht_cleanup(&s);
}

/* Bad values stop the start with the variable's name; so does a HYPERVISOR_CONFIG that is not
 * there (never a silent fall-back to the embedded defaults). */
static void test_config_env_messages(void **state) {
  (void)state;
  ht_server s;
  ht_prepare(&s, NULL);
  char env_config[400];
  snprintf(env_config, sizeof env_config, "HYPERVISOR_CONFIG=%s", s.config);
  struct {
    const char *var, *expect;
  } bad[] = {
      {"HYPERVISOR_PORT=70000", "HYPERVISOR_PORT: must be a port number between 1 and 65535"},
      {"HYPERVISOR_PORT=80a", "HYPERVISOR_PORT: must be a port number"},
      {"HYPERVISOR_HOST=not a host", "HYPERVISOR_HOST: 'not a host' is not an IP address"},
      {"HYPERVISOR_LOG=loud", "HYPERVISOR_LOG"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    /* Each over a file that would start, so that the variable alone is refused. */
    char script[1024];
    snprintf(script, sizeof script, "cd '%s' && env -u HYPERVISOR_HOST -u HYPERVISOR_PORT -u "
             "HYPERVISOR_LOG '%s' '%s' %s '%s' serve 2>&1",
             s.dir, env_config, bad[k].var, TIMEOUT_BIN " 20", HV_SERVE_BIN);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    char *out = NULL;
    int rc = ht_run(argv, NULL, &out, NULL);
    if (rc != 1 || !strstr(out, bad[k].expect))
      fail_msg("%s: exit %d, output: %s (expected '%s')", bad[k].var, rc, out, bad[k].expect);
    free(out);
  }
  /* HYPERVISOR_CONFIG naming no file is an error, never the embedded defaults. */
  char script[1024];
  snprintf(script, sizeof script,
           "cd '%s' && HYPERVISOR_CONFIG=/nonexistent/hv.yaml %s '%s' serve 2>&1", s.dir,
           TIMEOUT_BIN " 20", HV_SERVE_BIN);
  char *argv[] = {"/bin/sh", "-c", script, NULL};
  char *out = NULL;
  assert_int_equal(ht_run(argv, NULL, &out, NULL), 1);
  assert_non_null(strstr(out, "/nonexistent/hv.yaml: cannot open"));
  assert_non_null(strstr(out, "HYPERVISOR_CONFIG"));
  free(out);
  ht_cleanup(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tls_end_to_end),
      cmocka_unit_test(test_tls_bad_files),
      cmocka_unit_test(test_metrics_bearer),
      cmocka_unit_test(test_prometheus_scrape),
      cmocka_unit_test(test_config_discovery),
      cmocka_unit_test(test_config_env_messages),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  return rc + ht_failures();
}
