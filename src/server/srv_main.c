/*
 * srv_main.c: hv_server_main: start-up, the maintenance loop (key rotation and retention purge,
 * run by the main thread between signals), and the orderly shutdown on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hv_server.h"
#include "srv_int.h"

#define SRV_USAGE "usage: hypervisor serve [--config FILE] | hypervisor serve --check-config FILE\n"

/* ---- The development API key -------------------------------------------------------------- */

/* dirname(key_dir)/dev-api-key.sha256 */
static void srv_dev_key_path(const srv *s, char *out, size_t size) {
  char dir[HV_CONFIG_PATH_SIZE];
  snprintf(dir, sizeof dir, "%s", s->config.crypto.key_dir);
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
  snprintf(out, size, "%s/%s", dirname(dir), SRV_DEV_KEY_FILE);
}

/* Reads the stored hash; 1 found, 0 no file, -1 unreadable or malformed. */
static int srv_dev_key_read(const char *path, uint8_t sha[32], char *why, size_t why_size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    snprintf(why, why_size, "%.300s: %s", path, strerror(errno));
    return -1;
  }
  char buf[80];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) {
    snprintf(why, why_size, "%.300s: %s", path, strerror(errno));
    return -1;
  }
  buf[n] = '\0';
  size_t len = (size_t)n;
  while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
  hv_crypto_err cerr;
  if (len != 64 || hv_crypto_hex_decode(buf, len, sha, 32, &cerr) != HV_CRYPTO_OK) {
    snprintf(why, why_size, "%.300s: not a SHA-256 in hex; delete it to get a new development key",
             path);
    return -1;
  }
  return 1;
}

/* Makes a new key, stores its hash (0600), prints the key once. */
static bool srv_dev_key_create(srv *s, const char *path, uint8_t sha[32], char *why,
                               size_t why_size) {
  uint8_t raw[32];
  char key[4 + 64 + 1] = "hvk_";
  char hex[65];
  if (RAND_bytes(raw, sizeof raw) != 1) {
    snprintf(why, why_size, "the random generator failed");
    return false;
  }
  hv_crypto_hex_encode(raw, sizeof raw, key + 4);
  OPENSSL_cleanse(raw, sizeof raw);
  unsigned int dlen = 0;
  bool ok = EVP_Digest(key, strlen(key), sha, &dlen, EVP_sha256(), NULL) == 1 && dlen == 32;
  hv_crypto_hex_encode(sha, 32, hex);
  int fd = ok ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
  if (fd < 0) {
    snprintf(why, why_size, "%.300s: %s", path, ok ? strerror(errno) : "cannot hash the key");
    OPENSSL_cleanse(key, sizeof key);
    return false;
  }
  hex[64] = '\n';
  ok = write(fd, hex, 65) == 65 && fsync(fd) == 0;
  close(fd);
  if (!ok) {
    snprintf(why, why_size, "%.300s: cannot write the key's hash", path);
    unlink(path);
    OPENSSL_cleanse(key, sizeof key);
    return false;
  }
  /* The terminal, not the log: the key itself must never reach a log. */
  printf("\nDevelopment API key (shown once; only its SHA-256 is kept, in %s):\n\n    %s\n\n"
         "Use it as the X-API-Key header, or: export HYPERVISOR_API_KEY=%s\n"
         "Configure auth.api_keys to use your own keys instead.\n\n",
         path, key, key);
  fflush(stdout);
  OPENSSL_cleanse(key, sizeof key);
  HV_LOG(s->log, HV_LOG_WARN, "auth.dev_key_created", 0, HV_LOG_STR("api_key_id", SRV_DEV_KEY_ID),
         HV_LOG_STR("hash_file", path));
  return true;
}

/* Without auth.api_keys the server uses one development key, made on first start. */
static bool srv_dev_key(srv *s, char *why, size_t why_size) {
  char path[HV_CONFIG_PATH_SIZE + 32];
  srv_dev_key_path(s, path, sizeof path);
  hv_config_api_key *k = calloc(1, sizeof *k);
  if (!k) {
    snprintf(why, why_size, "out of memory");
    return false;
  }
  snprintf(k->id, sizeof k->id, "%s", SRV_DEV_KEY_ID);
  int found = srv_dev_key_read(path, k->sha256, why, why_size);
  if (found < 0 || (found == 0 && !srv_dev_key_create(s, path, k->sha256, why, why_size))) {
    free(k);
    return false;
  }
  if (found > 0)
    HV_LOG(s->log, HV_LOG_INFO, "auth.dev_key", 0, HV_LOG_STR("api_key_id", SRV_DEV_KEY_ID),
           HV_LOG_STR("hash_file", path));
  s->config.auth.api_keys = k;
  s->config.auth.api_key_count = 1;
  return true;
}

/* ---- Maintenance -------------------------------------------------------------------------- */

static void srv_maintenance(srv *s) {
  int64_t now = srv_now_ms(s);
  hv_crypto_err cerr = {0};
  hv_keyring_key_info before = {0}, after = {0};
  hv_keyring_current(s->ring, &before, NULL);
  if (hv_keyring_rotate_if_due(s->ring, now / 1000, &cerr) != HV_CRYPTO_OK)
    HV_LOG(s->log, HV_LOG_ERROR, "keys.rotate_failed", 0,
           HV_LOG_STR("error", hv_crypto_status_name(cerr.status)),
           HV_LOG_STR("message", cerr.message));
  if (hv_keyring_current(s->ring, &after, NULL) == HV_CRYPTO_OK &&
      strcmp(before.key_id, after.key_id) != 0)
    HV_LOG(s->log, HV_LOG_INFO, "keys.rotated", 0, HV_LOG_STR("key_id", after.key_id),
           HV_LOG_STR("previous_key_id", before.key_id));

  uint64_t removed = 0;
  hv_audit_error aerr = {0};
  int64_t cutoff = hv_audit_retention_cutoff(now, s->config.crypto.commitment_retention_days);
  hv_audit_status as = hv_audit_purge(s->audit, cutoff, &removed, &aerr);
  if (as != HV_AUDIT_OK)
    HV_LOG(s->log, HV_LOG_ERROR, "audit.purge_failed", 0,
           HV_LOG_STR("error", hv_audit_status_name(as)), HV_LOG_STR("message", aerr.message));
  if (removed > 0) HV_LOG(s->log, HV_LOG_INFO, "audit.purged", 0, HV_LOG_UINT("records", removed));
}

/* ---- Start and stop ----------------------------------------------------------------------- */

static void srv_free(srv *s) {
  if (s->exec) s->exec->ops->destroy(s->exec);
  srv_committer_free(s->commit); /* writes what is still queued */
  hv_audit_close(s->audit);
  hv_keyring_close(s->ring);
  srv_ratelimit_free(s->rate);
  srv_metrics_free(s->metrics);
  pthread_mutex_destroy(&s->health_mu);
  hv_log_close(s->log);
  hv_config_free(&s->config);
}

__attribute__((format(printf, 2, 3))) static int srv_fail(srv *s, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "hypervisor serve: %s\n", msg);
  if (s->log) HV_LOG(s->log, HV_LOG_ERROR, "server.start_failed", 0, HV_LOG_STR("message", msg));
  srv_free(s);
  return 1;
}

__attribute__((format(printf, 1, 2))) static int srv_usage(const char *fmt, ...) {
  va_list ap;
  fputs("hypervisor serve: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n" SRV_USAGE, stderr);
  return 2;
}

/* Waits up to `ns` for every request context to end (so replies go out before the daemon stops). */
static void srv_wait_requests(srv *s, uint64_t ns) {
  uint64_t end = srv_mono_ns() + ns;
  while (atomic_load(&s->inflight) > 0 && srv_mono_ns() < end) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static int srv_run(srv *s, const sigset_t *signals) {
  char why[512];
  hv_log_options lo = {.level = s->config.logging.level,
                       .file = s->config.logging.file[0] ? s->config.logging.file : NULL,
                       .fd = STDERR_FILENO};
  hv_log_error lerr = {0};
  if (hv_log_open(&lo, &s->log, &lerr) != HV_LOG_OK)
    return srv_fail(s, "logging: %s", lerr.message);

  const char *clock = getenv(SRV_TEST_CLOCK_ENV);
  if (clock && clock[0]) {
    snprintf(s->clock_file, sizeof s->clock_file, "%s", clock);
    s->maintenance_period_ms = SRV_TEST_MAINTENANCE_PERIOD_MS;
    srv_read_test_clock(s);
    HV_LOG(s->log, HV_LOG_WARN, "server.test_clock", 0, HV_LOG_STR("file", s->clock_file),
           HV_LOG_INT("offset_ms", atomic_load(&s->clock_offset_ms)));
  }
  s->start_wall_ms = srv_now_ms(s);

  hv_crypto_err cerr = {0};
  if (hv_keyring_open(s->config.crypto.key_dir, (int64_t)s->config.crypto.key_rotation_hours * 3600,
                      srv_now_ms(s) / 1000, &s->ring, &cerr) != HV_CRYPTO_OK)
    return srv_fail(s, "crypto.key_dir %s: %s", s->config.crypto.key_dir, cerr.message);
  if (s->config.auth.api_key_count == 0 && !srv_dev_key(s, why, sizeof why))
    return srv_fail(s, "development API key: %s", why);

  const char *backend_name = hv_config_backend_name(s->config.storage.backend);
  const hv_audit_backend *backend = hv_audit_backend_find(backend_name);
  if (!backend)
    return srv_fail(s, "storage.backend: '%s' is not available in this build", backend_name);
  hv_audit_error aerr = {0};
  const char *target = s->config.storage.backend == HV_CONFIG_BACKEND_SQLITE
                           ? s->config.storage.path
                           : s->config.storage.dsn;
  if (hv_audit_open(backend, target, NULL, &s->audit, &aerr) != HV_AUDIT_OK)
    return srv_fail(s, "storage: %s", aerr.message);
  s->commit = srv_committer_new(s->audit, why, sizeof why);
  if (!s->commit) return srv_fail(s, "storage: %s", why);

  s->metrics = srv_metrics_new();
  s->rate = srv_ratelimit_new(s->config.auth.api_key_count, s->config.rate_limit.requests_per_second,
                              s->config.rate_limit.burst);
  if (!s->metrics || !s->rate) return srv_fail(s, "out of memory");
  s->exec = exec_inproc_new(s->config.wasm.max_concurrent_executions,
                            s->config.wasm.max_concurrent_per_key, 0, SRV_MODULE_CACHE_BYTES, why,
                            sizeof why);
  if (!s->exec) return srv_fail(s, "executor: %s", why);

  srv_maintenance(s); /* purge what expired while the server was down */
  if (!srv_http_start(s, why, sizeof why)) return srv_fail(s, "%s", why);

  exec_counts counts;
  s->exec->ops->counts(s->exec, &counts);
  hv_keyring_key_info cur = {0};
  hv_keyring_current(s->ring, &cur, NULL);
  HV_LOG(s->log, HV_LOG_INFO, "server.started", 0, HV_LOG_STR("version", HV_SERVER_VERSION),
         HV_LOG_STR("host", s->config.server.host), HV_LOG_UINT("port", s->port),
         HV_LOG_UINT("http_workers", s->config.server.workers),
         HV_LOG_UINT("executor_threads", counts.threads),
         HV_LOG_UINT("module_cache_bytes", counts.cache_max_bytes),
         HV_LOG_UINT("max_concurrent_executions", counts.capacity),
         HV_LOG_STR("storage", backend_name), HV_LOG_STR("key_id", cur.key_id),
         HV_LOG_UINT("api_keys", s->config.auth.api_key_count));

  /* The main thread waits for a signal and runs maintenance between waits. */
  int sig = 0;
  uint64_t next = srv_mono_ns() + s->maintenance_period_ms * 1000000u;
  for (;;) {
    uint64_t now = srv_mono_ns();
    if (now >= next) {
      srv_maintenance(s);
      next = now + s->maintenance_period_ms * 1000000u;
      continue;
    }
    uint64_t wait = next - now;
    struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
    sig = sigtimedwait(signals, NULL, &ts);
    if (sig == SIGTERM || sig == SIGINT) break;
  }

  HV_LOG(s->log, HV_LOG_INFO, "server.stopping", 0,
         HV_LOG_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  atomic_store(&s->shutting_down, true);
  srv_http_quiesce(s);
  uint64_t grace = (uint64_t)s->config.wasm.max_execution_time_seconds * 1000000000u +
                   SRV_SHUTDOWN_EXTRA_NS;
  s->exec->ops->shutdown(s->exec, grace);
  /* Every job has ended and handed its record to the writer: write them all, so every suspended
   * request is resumed with its reply; a request still reading its body writes its own. */
  srv_committer_stop(s->commit);
  srv_wait_requests(s, SRV_SHUTDOWN_EXTRA_NS);
  srv_http_stop(s);
  HV_LOG(s->log, HV_LOG_INFO, "server.stopped", 0,
         HV_LOG_UINT("open_requests", atomic_load(&s->inflight)));
  srv_free(s);
  return 0;
}

int hv_server_main(int argc, char **argv) {
  const char *config_file = NULL, *check_file = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    const char *name = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(SRV_USAGE, stdout);
      return 0;
    }
    if (strncmp(a, "--config", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
      slot = &config_file;
      name = "--config";
    } else if (strncmp(a, "--check-config", 14) == 0 && (a[14] == '\0' || a[14] == '=')) {
      slot = &check_file;
      name = "--check-config";
    } else {
      return srv_usage("unknown argument '%s'", a);
    }
    const char *eq = strchr(a, '=');
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!value || !value[0]) return srv_usage("%s needs a file name", name);
    if (*slot) return srv_usage("%s given twice", name);
    *slot = value;
  }
  if (check_file) {
    if (config_file) return srv_usage("%s", "--check-config takes the file itself; drop --config");
    hv_config_error err = {0};
    hv_config config;
    if (hv_config_load_file(check_file, &config, &err) != HV_CONFIG_OK) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
    /* What serve would refuse at start-up, the check refuses too. */
    const char *backend_name = hv_config_backend_name(config.storage.backend);
    bool available = hv_audit_backend_find(backend_name) != NULL;
    hv_config_free(&config);
    if (!available) {
      fprintf(stderr, "%s: storage.backend: '%s' is not available in this build\n", check_file, backend_name);
      return 1;
    }
    printf("%s: ok\n", check_file);
    return 0;
  }

  srv s;
  memset(&s, 0, sizeof s);
  s.listen_fd = -1;
  s.maintenance_period_ms = SRV_MAINTENANCE_PERIOD_MS;
  s.start_mono_ns = srv_mono_ns();
  atomic_init(&s.shutting_down, false);
  atomic_init(&s.inflight, 0);
  atomic_init(&s.clock_offset_ms, 0);
  pthread_mutex_init(&s.health_mu, NULL);
  if (config_file) {
    hv_config_error err = {0};
    if (hv_config_load_file(config_file, &s.config, &err) != HV_CONFIG_OK) {
      fprintf(stderr, "%s\n", err.message);
      hv_config_free(&s.config);
      pthread_mutex_destroy(&s.health_mu);
      return 1;
    }
  } else {
    hv_config_defaults(&s.config);
  }

  /* Signals go to sigtimedwait in this thread only: block them before any thread starts. */
  sigset_t signals, old;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, &old);
  signal(SIGPIPE, SIG_IGN);
  int rc = srv_run(&s, &signals);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}
