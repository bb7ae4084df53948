/*
 * srv_main.c: hv_server_main: start-up, the maintenance loop (key rotation and retention purge,
 * run by the main thread between signals), and the orderly shutdown on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hv_server.h"
#include "srv_int.h"
#include "wk_pool.h"

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

/* Makes a new key in memory (s->dev_key, s->dev_key_path); it is stored and shown only once the
 * server serves (srv_dev_key_publish), so a start that fails never loses it. */
static bool srv_dev_key_make(srv *s, const char *path, uint8_t sha[32], char *why,
                             size_t why_size) {
  hv_crypto_err err;
  if (hv_api_key_new(s->dev_key, sha, &err) != HV_CRYPTO_OK) {
    snprintf(why, why_size, "cannot make a key: %s", err.message);
    return false;
  }
  snprintf(s->dev_key_path, sizeof s->dev_key_path, "%s", path);
  return true;
}

/* Stores the new development key's hash (0600) and prints the key, once the server serves. */
static bool srv_dev_key_publish(srv *s, char *why, size_t why_size) {
  if (!s->dev_key[0]) return true; /* no new key this start */
  const char *path = s->dev_key_path;
  char hex[65];
  hv_crypto_hex_encode(s->config.auth.api_keys[0].sha256, 32, hex);
  hex[64] = '\n';
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  bool ok = fd >= 0 && write(fd, hex, 65) == 65 && fsync(fd) == 0;
  int e = errno;
  if (fd >= 0) close(fd);
  if (!ok) {
    snprintf(why, why_size, "%.300s: cannot store the development key's hash: %s", path,
             strerror(e));
    if (fd >= 0) unlink(path);
    OPENSSL_cleanse(s->dev_key, sizeof s->dev_key);
    return false;
  }
  /* The terminal, not the log: the key itself must never reach a log. */
  printf("\nDevelopment API key (shown once; only its SHA-256 is kept, in %s):\n\n    %s\n\n"
         "Use it as the X-API-Key header, or: export HYPERVISOR_API_KEY=%s\n"
         "Configure auth.api_keys to use your own keys instead (hypervisor api-key makes one).\n\n",
         path, s->dev_key, s->dev_key);
  fflush(stdout);
  OPENSSL_cleanse(s->dev_key, sizeof s->dev_key);
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
  if (found < 0 || (found == 0 && !srv_dev_key_make(s, path, k->sha256, why, why_size))) {
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

/* ---- The process executor (docs/workers.md) ------------------------------------------------ */

/* A worker's life in the log: its start (with the namespaces it got, and why not all of them:
 * the documented fallback is visible at start-up), each replacement (security: a worker that
 * dies or misbehaves may be under attack), and each recycle (wasm.worker_tenancy: dedicated; the
 * API key ids, never a key). Never anything of the program. */
static void srv_worker_event(void *arg, const wk_event *ev) {
  srv *s = arg;
  if (ev->kind == WK_EVENT_RECYCLED) {
    HV_LOG(s->log, HV_LOG_INFO, "worker.recycled", 0, HV_LOG_INT("pid", ev->pid),
           HV_LOG_UINT("worker", ev->index), HV_LOG_STR("api_key_id", ev->tenant),
           HV_LOG_STR("next_api_key_id", ev->next_tenant),
           HV_LOG_DOUBLE("replace_ms", (double)ev->replace_ns / 1e6),
           HV_LOG_STR("reason", ev->reason ? ev->reason : ""));
  } else if (ev->kind == WK_EVENT_STARTED) {
    const wk_hello *h = ev->hello;
    bool all = h->ns_flags == (WK_NS_USER | WK_NS_NET | WK_NS_MOUNT);
    /* Warned once, and again when a worker gets other namespaces than the one before: recycles
     * start workers all the time. */
    bool first = !atomic_exchange(&s->worker_ns_seen, true);
    bool warn = !all && (atomic_exchange(&s->worker_ns, h->ns_flags) != h->ns_flags || first);
    atomic_store(&s->worker_ns_errno, h->ns_errno);
    HV_LOG(s->log, warn ? HV_LOG_WARN : HV_LOG_DEBUG,
           all ? "worker.started" : "worker.namespaces_unavailable", 0,
           HV_LOG_INT("pid", ev->pid), HV_LOG_UINT("worker", ev->index),
           HV_LOG_BOOL("user_ns", (h->ns_flags & WK_NS_USER) != 0),
           HV_LOG_BOOL("net_ns", (h->ns_flags & WK_NS_NET) != 0),
           HV_LOG_BOOL("mount_ns", (h->ns_flags & WK_NS_MOUNT) != 0),
           HV_LOG_STR("unshare_error", h->ns_errno ? strerror(h->ns_errno) : ""));
  } else {
    HV_LOG(s->log, HV_LOG_WARN,
           ev->kind == WK_EVENT_REPLACED ? "worker.replaced" : "worker.start_failed",
           HV_LOG_SECURITY, HV_LOG_INT("pid", ev->pid), HV_LOG_UINT("worker", ev->index),
           HV_LOG_STR("reason", ev->reason ? ev->reason : ""));
  }
}

/* Worker processes running hv-worker from the directory of this executable. */
static executor *srv_process_executor(srv *s, char *why, size_t why_size) {
  char path[4096];
  if (!wk_beside_self("hv-worker", path, sizeof path)) {
    snprintf(why, why_size, "cannot tell where the hv-worker program is (/proc/self/exe)");
    return NULL;
  }
  /* The largest job: a module and arguments decoded from at most max_body_bytes of base64, plus
   * the job's own fields. */
  uint64_t job = s->config.server.max_body_bytes + (1u << 20);
  /* The thread executor's cache bound shared out between the workers (each keeps its own cache,
   * docs/workers.md), but never so small that an ordinary module is too large to keep (a cache
   * keeps modules up to an eighth of its bound). */
  uint32_t threads = exec_pool_threads(s->config.wasm.max_concurrent_executions, 0);
  bool dedicated = s->config.wasm.worker_tenancy != HV_CONFIG_TENANCY_SHARED;
  /* Dedicated workers: spare ones keep more API keys' workers alive between their jobs, so that
   * fewer jobs wait for a recycle (docs/workers.md, "Tenancy"). */
  uint32_t workers = s->config.wasm.worker_processes ? s->config.wasm.worker_processes
                     : dedicated                     ? 4 * threads
                                                     : threads;
  if (workers < threads) workers = threads;
  s->worker_processes = workers;
  uint32_t cache_mb = (uint32_t)(SRV_MODULE_CACHE_BYTES >> 20) / (workers ? workers : 1);
  if (cache_mb < SRV_WORKER_CACHE_MIN_MB) cache_mb = SRV_WORKER_CACHE_MIN_MB;
  wk_pool_opts opts = {
      .cache_mb = cache_mb,
      .worker_path = path,
      .max_memory_mb = s->config.wasm.max_memory_mb,
      .max_job_bytes = job > WK_JOB_PAYLOAD_MAX ? WK_JOB_PAYLOAD_MAX : (uint32_t)job,
      .event = srv_worker_event,
      .event_arg = s,
      .tenancy = dedicated ? WK_TENANCY_DEDICATED : WK_TENANCY_SHARED,
      .processes = workers,
  };
  return wk_pool_new(s->config.wasm.max_concurrent_executions,
                     s->config.wasm.max_concurrent_per_key, &opts, why, why_size);
}

/* ---- One server per data directory -------------------------------------------------------- */

/*
 * Takes an exclusive lock on dirname(key_dir)/hypervisor.lock (the data directory that holds the
 * key ring, the development key and by default the audit store), so that a second server started
 * on the same directory refuses to start instead of running beside the first. The kernel drops the
 * lock when the process ends, however it ends.
 */
static bool srv_lock_data_dir(srv *s, char *why, size_t why_size) {
  char dir[HV_CONFIG_PATH_SIZE], path[HV_CONFIG_PATH_SIZE + 32];
  snprintf(dir, sizeof dir, "%s", s->config.crypto.key_dir);
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
  snprintf(path, sizeof path, "%s/%s", dirname(dir), SRV_LOCK_FILE);
  char parent[sizeof path];
  snprintf(parent, sizeof parent, "%s", path);
  if (mkdir(dirname(parent), 0700) != 0 && errno != EEXIST) {
    snprintf(why, why_size, "%.300s: %s", parent, strerror(errno));
    return false;
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    snprintf(why, why_size, "%.300s: %s", path, strerror(errno));
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char pid[24] = "";
    ssize_t got = read(fd, pid, sizeof pid - 1);
    pid[got > 0 ? got : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(fd);
    char who[48] = "";
    if (pid[0]) snprintf(who, sizeof who, " (pid %s)", pid);
    if (e == EWOULDBLOCK)
      snprintf(why, why_size,
               "another hypervisor%s is already running on this data directory: %.300s is locked",
               who, path);
    else
      snprintf(why, why_size, "%.300s: cannot lock: %s", path, strerror(e));
    return false;
  }
  char pid[24];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  /* The lock holds without the pid in the file; the pid only makes a refusal friendlier. */
  (void)(ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len);
  s->lock_fd = fd;
  return true;
}

/* ---- Maintenance -------------------------------------------------------------------------- */

static void srv_maintenance(srv *s) {
  int64_t now = srv_now_ms(s);
  hv_keyring_key_info before = {0}, after = {0};
  hv_keyring_current(s->ring, &before, NULL);
  (void)srv_keys_refresh(s, true, true);
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

/* ---- SIGHUP: reopen the log, re-read what can change while serving ------------------------- */

static bool srv_keys_equal(const hv_config_auth *a, const hv_config_auth *b) {
  if (a->api_key_count != b->api_key_count) return false;
  for (size_t k = 0; k < a->api_key_count; k++)
    if (strcmp(a->api_keys[k].id, b->api_keys[k].id) != 0 ||
        memcmp(a->api_keys[k].sha256, b->api_keys[k].sha256, 32) != 0)
      return false;
  return true;
}

/*
 * Log rotation first (the file is reopened by name), then, with a configuration file, the parts of
 * it that can change while serving: the API keys, the rate limits and the log level. A file that no
 * longer loads changes nothing (the server keeps serving as it was); keys that need a restart are
 * named in the log when they changed.
 */
static void srv_reload(srv *s) {
  hv_log_error lerr = {0};
  if (hv_log_reopen(s->log, &lerr) != HV_LOG_OK)
    HV_LOG(s->log, HV_LOG_ERROR, "log.reopen_failed", 0, HV_LOG_STR("message", lerr.message));
  else
    HV_LOG(s->log, HV_LOG_INFO, "log.reopened", 0);
  if (!s->config_file[0]) {
    HV_LOG(s->log, HV_LOG_INFO, "config.reload_skipped", 0,
           HV_LOG_STR("reason", "embedded defaults: no configuration file to re-read"));
    return;
  }
  hv_config next;
  hv_config_error cerr = {0};
  if (hv_config_load_file(s->config_file, &next, &cerr) != HV_CONFIG_OK) {
    HV_LOG(s->log, HV_LOG_ERROR, "config.reload_failed", 0, HV_LOG_STR("file", s->config_file),
           HV_LOG_STR("message", cerr.message));
    hv_config_free(&next);
    return;
  }
  /* The environment's overrides apply to the re-read file as they did at start-up. */
  if (hv_config_apply_env(&next, getenv(HV_CONFIG_HOST_ENV), getenv(HV_CONFIG_PORT_ENV), &cerr) !=
      HV_CONFIG_OK) {
    HV_LOG(s->log, HV_LOG_ERROR, "config.reload_failed", 0, HV_LOG_STR("file", s->config_file),
           HV_LOG_STR("message", cerr.message));
    hv_config_free(&next);
    return;
  }
  hv_config *cur = &s->config;
  /* Without auth.api_keys the development key stays: it is not in the file. */
  bool keys_changed = next.auth.api_key_count > 0 && !srv_keys_equal(&cur->auth, &next.auth);
  bool rate_changed = next.rate_limit.requests_per_second != cur->rate_limit.requests_per_second ||
                      next.rate_limit.burst != cur->rate_limit.burst;
  size_t key_count = keys_changed ? next.auth.api_key_count : cur->auth.api_key_count;
  srv_ratelimit *rate = NULL;
  if (keys_changed || rate_changed) {
    rate = srv_ratelimit_new(key_count, next.rate_limit.requests_per_second, next.rate_limit.burst);
    if (!rate) {
      HV_LOG(s->log, HV_LOG_ERROR, "config.reload_failed", 0, HV_LOG_STR("file", s->config_file),
             HV_LOG_STR("message", "out of memory"));
      hv_config_free(&next);
      return;
    }
  }
  hv_config_api_key *old_keys = NULL;
  srv_ratelimit *old_rate = NULL;
  pthread_rwlock_wrlock(&s->auth_lock);
  if (keys_changed) {
    old_keys = cur->auth.api_keys;
    cur->auth.api_keys = next.auth.api_keys;
    cur->auth.api_key_count = next.auth.api_key_count;
    next.auth.api_keys = NULL;
    next.auth.api_key_count = 0;
  }
  if (rate) {
    srv_ratelimit_carry(rate, s->rate);
    old_rate = s->rate;
    s->rate = rate;
    cur->rate_limit = next.rate_limit;
  }
  pthread_rwlock_unlock(&s->auth_lock);
  free(old_keys);
  srv_ratelimit_free(old_rate);

  hv_log_level before = hv_log_get_level(s->log);
  bool level_changed = next.logging.level != cur->logging.level;
  if (level_changed) {
    cur->logging.level = next.logging.level;
    if (!hv_log_set_level(s->log, next.logging.level))
      HV_LOG(s->log, HV_LOG_INFO, "config.level_pinned", 0,
             HV_LOG_STR("reason", "HYPERVISOR_LOG sets the level"));
  }
  /* What changed in the file but takes a restart. */
  const char *restart = NULL;
  if (memcmp(&next.server, &cur->server, sizeof next.server) != 0) restart = "server";
  else if (memcmp(&next.wasm, &cur->wasm, sizeof next.wasm) != 0) restart = "wasm";
  else if (memcmp(&next.crypto, &cur->crypto, sizeof next.crypto) != 0) restart = "crypto";
  else if (next.storage.backend != cur->storage.backend ||
           strcmp(next.storage.path, cur->storage.path) != 0 ||
           strcmp(next.storage.dsn, cur->storage.dsn) != 0 ||
           next.storage.transparency_log != cur->storage.transparency_log) restart = "storage";
  else if (strcmp(next.logging.file, cur->logging.file) != 0) restart = "logging.file";
  HV_LOG(s->log, HV_LOG_INFO, "config.reloaded", 0, HV_LOG_STR("file", s->config_file),
         HV_LOG_BOOL("api_keys_changed", keys_changed), HV_LOG_UINT("api_keys", key_count),
         HV_LOG_BOOL("rate_limit_changed", rate_changed),
         HV_LOG_UINT("requests_per_second", cur->rate_limit.requests_per_second),
         HV_LOG_UINT("burst", cur->rate_limit.burst),
         HV_LOG_STR("log_level_before", hv_log_level_name(before)),
         HV_LOG_STR("log_level", hv_log_level_name(hv_log_get_level(s->log))));
  if (restart)
    HV_LOG(s->log, HV_LOG_WARN, "config.restart_needed", 0, HV_LOG_STR("section", restart),
           HV_LOG_STR("reason", "changed in the file; this part is read only at start-up"));
  hv_config_free(&next);
}

/* ---- Start and stop ----------------------------------------------------------------------- */

static void srv_free(srv *s) {
  if (s->exec) s->exec->ops->destroy(s->exec);
  srv_committer_free(s->commit); /* writes what is still queued */
  srv_tlog_free(s->tlog);         /* wipes the log key */
  s->tlog = NULL;
  hv_audit_close(s->audit);
  hv_keyring_close(s->ring);
  hv_keystore_close(s->keystore);
  srv_ratelimit_free(s->rate);
  srv_metrics_free(s->metrics);
  pthread_mutex_destroy(&s->health_mu);
  pthread_rwlock_destroy(&s->auth_lock);
  hv_log_close(s->log);
  srv_tls_free(&s->tls); /* wipes the key when start-up failed before the daemon took it */
  hv_config_free(&s->config);
  OPENSSL_cleanse(s->dev_key, sizeof s->dev_key);
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the data directory */
  s->lock_fd = -1;
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

/*
 * The key-encryption key, from crypto.kek_file or the environment variable HYPERVISOR_KEK (both
 * at once is refused: which one wraps the keys must be unambiguous). *kek stays NULL when neither
 * is set. The variable's text is cleansed in place and removed from the environment once read, so
 * it does not linger in memory or reach a child process.
 */
static bool srv_load_kek(srv *s, hv_kek **kek, char *why, size_t why_size) {
  hv_crypto_err err = {0};
  char *env = getenv(HV_KEK_ENV);
  bool from_env = env != NULL && env[0] != '\0';
  bool from_file = s->config.crypto.kek_file[0] != '\0';
  hv_crypto_status st = HV_CRYPTO_OK;
  *kek = NULL;
  if (from_env && from_file) {
    snprintf(why, why_size, "crypto.kek_file and %s are both set; configure one key-encryption key",
             HV_KEK_ENV);
  } else if (from_file) {
    st = hv_kek_from_file(s->config.crypto.kek_file, kek, &err);
    if (st != HV_CRYPTO_OK) snprintf(why, why_size, "crypto.kek_file: %s", err.message);
  } else if (from_env) {
    st = hv_kek_from_text(env, kek, &err);
    if (st != HV_CRYPTO_OK) snprintf(why, why_size, "%s", err.message);
  }
  if (env != NULL) {
    OPENSSL_cleanse(env, strlen(env));
    unsetenv(HV_KEK_ENV);
  }
  return !(from_env && from_file) && st == HV_CRYPTO_OK;
}

/*
 * Opens the audit store and, with storage.transparency_log, the log over it: a cluster's servers
 * sign with the one key the keystore holds for them all, a single node with its own key file,
 * wrapped under `kek` when there is one. False with a reason in why.
 */
static bool srv_open_store(srv *s, const hv_kek *kek, char *why, size_t why_size) {
  const char *backend_name = hv_config_backend_name(s->config.storage.backend);
  const hv_audit_backend *backend = hv_audit_backend_find(backend_name);
  if (!backend) {
    snprintf(why, why_size, "storage.backend: '%s' is not available in this build", backend_name);
    return false;
  }
  hv_audit_error aerr = {0};
  const char *target = s->config.storage.backend == HV_CONFIG_BACKEND_SQLITE
                           ? s->config.storage.path
                           : s->config.storage.dsn;
  hv_audit_options aopt = {.connections = s->config.storage.connections};
  if (hv_audit_open(backend, target, &aopt, &s->audit, &aerr) != HV_AUDIT_OK) {
    snprintf(why, why_size, "storage: %.480s", aerr.message);
    return false;
  }
  if (!s->config.storage.transparency_log) return true;
  if (!hv_audit_has_log(s->audit)) {
    HV_LOG(s->log, HV_LOG_WARN, "tlog.unavailable", 0, HV_LOG_STR("storage", backend_name),
           HV_LOG_STR("message", "this audit backend keeps no transparency log; running without"));
    return true;
  }
  uint8_t seed[HV_KEYSTORE_LOG_SEED_LEN];
  const uint8_t *shared = NULL;
  if (s->keystore) {
    hv_crypto_err cerr = {0};
    if (hv_keystore_log_seed(s->keystore, srv_now_ms(s) / 1000, seed, &cerr) != HV_CRYPTO_OK) {
      snprintf(why, why_size, "transparency log: %s", cerr.message);
      return false;
    }
    shared = seed;
  }
  char reason[400];
  s->tlog = srv_tlog_open(s->config.crypto.key_dir, shared, kek, s->audit, reason, sizeof reason);
  OPENSSL_cleanse(seed, sizeof seed);
  if (!s->tlog) snprintf(why, why_size, "transparency log: %s", reason);
  return s->tlog != NULL;
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
  HV_LOG(s->log, HV_LOG_INFO, "config.loaded", 0,
         HV_LOG_STR("source", hv_config_source_name(s->config_source)),
         HV_LOG_STR("file", s->config_file[0] ? s->config_file : "(embedded defaults)"),
         HV_LOG_STR("host", s->config.server.host), HV_LOG_UINT("port", s->config.server.port),
         HV_LOG_STR("log_level", hv_log_level_name(hv_log_get_level(s->log))),
         HV_LOG_BOOL("tls", s->config.server.tls_cert[0] != '\0'));

  /* A wrong certificate or key fails before the data directory is touched. */
  if (!srv_tls_load(&s->config.server, &s->tls, why, sizeof why)) return srv_fail(s, "%s", why);
  if (!srv_lock_data_dir(s, why, sizeof why)) return srv_fail(s, "%s", why);
  hv_crypto_err cerr = {0};
  hv_kek *kek = NULL;
  if (!srv_load_kek(s, &kek, why, sizeof why)) return srv_fail(s, "%s", why);
  int64_t period = (int64_t)s->config.crypto.key_rotation_hours * 3600;
  if (s->config.storage.backend == HV_CONFIG_BACKEND_POSTGRES) {
    /* Several nodes: the key ring lives in the database, wrapped under the KEK. */
    hv_crypto_status ks_st =
        kek == NULL ? HV_CRYPTO_KEK_INVALID
                    : hv_keystore_open(s->config.storage.dsn, kek, period, &s->keystore, &cerr);
    hv_kek_free(kek); /* the keystore keeps its own copy */
    kek = NULL;
    if (ks_st == HV_CRYPTO_KEK_INVALID && s->keystore == NULL && cerr.message[0] == '\0')
      return srv_fail(s, "storage.backend postgres keeps the key ring in the database, wrapped "
                         "under a key-encryption key: configure crypto.kek_file or %s",
                      HV_KEK_ENV);
    if (ks_st != HV_CRYPTO_OK) return srv_fail(s, "shared key ring: %s", cerr.message);
    if (hv_keyring_open_shared(period, &s->ring, &cerr) != HV_CRYPTO_OK)
      return srv_fail(s, "key ring: %s", cerr.message);
    if (hv_keystore_sync(s->keystore, s->ring, srv_now_ms(s) / 1000, true, &cerr) != HV_CRYPTO_OK)
      return srv_fail(s, "%s", cerr.message);
    atomic_store(&s->keys_synced_ms, srv_now_ms(s));
  } else {
    hv_crypto_status ring_st = hv_keyring_open_kek(s->config.crypto.key_dir, period,
                                                   srv_now_ms(s) / 1000, kek, &s->ring, &cerr);
    if (ring_st != HV_CRYPTO_OK) {
      hv_kek_free(kek);
      return srv_fail(s, "crypto.key_dir %s: %s", s->config.crypto.key_dir, cerr.message);
    }
  }
  /* kek is NULL here in a cluster (the keystore keeps its copy); a single node wraps its log key
   * file under it. */
  if (!srv_open_store(s, kek, why, sizeof why)) {
    hv_kek_free(kek);
    return srv_fail(s, "%s", why);
  }
  hv_kek_free(kek);
  if (s->config.auth.api_key_count == 0 && !srv_dev_key(s, why, sizeof why))
    return srv_fail(s, "development API key: %s", why);
  s->commit = srv_committer_new(s->audit, s->tlog, why, sizeof why);
  if (!s->commit) return srv_fail(s, "storage: %s", why);

  s->metrics = srv_metrics_new();
  s->rate = srv_ratelimit_new(s->config.auth.api_key_count, s->config.rate_limit.requests_per_second,
                              s->config.rate_limit.burst);
  if (!s->metrics || !s->rate) return srv_fail(s, "out of memory");
  if (s->config.wasm.executor == HV_CONFIG_EXECUTOR_PROCESS)
    s->exec = srv_process_executor(s, why, sizeof why);
  else
    s->exec = exec_inproc_new(s->config.wasm.max_concurrent_executions,
                              s->config.wasm.max_concurrent_per_key, 0, SRV_MODULE_CACHE_BYTES,
                              why, sizeof why);
  if (!s->exec) return srv_fail(s, "executor: %s", why);

  srv_maintenance(s); /* purge what expired while the server was down */
  if (!srv_http_start(s, why, sizeof why)) return srv_fail(s, "%s", why);
  if (!srv_dev_key_publish(s, why, sizeof why)) {
    srv_http_stop(s);
    return srv_fail(s, "development API key: %s", why);
  }

  exec_counts counts;
  s->exec->ops->counts(s->exec, &counts);
  /* With worker processes: the namespaces they got, and the documented fallback when the kernel
   * refused some (docs/workers.md, "Confinement"), on the start-up line itself. */
  char namespaces[32] = "", fallback[160] = "";
  if (s->config.wasm.executor == HV_CONFIG_EXECUTOR_PROCESS) {
    uint32_t ns = atomic_load(&s->worker_ns);
    int ns_errno = atomic_load(&s->worker_ns_errno);
    snprintf(namespaces, sizeof namespaces, "%s%s%s%s", ns & WK_NS_USER ? "user," : "",
             ns & WK_NS_NET ? "net," : "", ns & WK_NS_MOUNT ? "mount," : "", ns ? "" : "none");
    size_t n = strlen(namespaces);
    if (n > 0 && namespaces[n - 1] == ',') namespaces[n - 1] = '\0';
    if (ns != (WK_NS_USER | WK_NS_NET | WK_NS_MOUNT))
      snprintf(fallback, sizeof fallback,
               "unshare refused (%s): workers run with the namespaces listed, confined by seccomp "
               "and limits alone otherwise",
               ns_errno ? strerror(ns_errno) : "unknown");
  }
  hv_keyring_key_info cur = {0};
  hv_keyring_current(s->ring, &cur, NULL);
  HV_LOG(s->log, HV_LOG_INFO, "server.started", 0, HV_LOG_STR("version", HV_SERVER_VERSION),
         HV_LOG_STR("host", s->config.server.host), HV_LOG_UINT("port", s->port),
         HV_LOG_STR("scheme", s->config.server.tls_cert[0] ? "https" : "http"),
         HV_LOG_STR("config", s->config_file[0] ? s->config_file : "(embedded defaults)"),
         HV_LOG_UINT("http_workers", s->config.server.workers),
         HV_LOG_STR("executor", hv_config_executor_name(s->config.wasm.executor)),
         HV_LOG_STR("worker_tenancy",
                    s->config.wasm.executor == HV_CONFIG_EXECUTOR_PROCESS
                        ? hv_config_tenancy_name(s->config.wasm.worker_tenancy)
                        : ""),
         HV_LOG_UINT("executor_threads", counts.threads),
         HV_LOG_UINT("worker_processes", s->worker_processes),
         HV_LOG_STR("worker_namespaces", namespaces),
         HV_LOG_STR("worker_namespace_fallback", fallback),
         HV_LOG_UINT("module_cache_bytes", counts.cache_max_bytes),
         HV_LOG_UINT("max_concurrent_executions", counts.capacity),
         HV_LOG_STR("storage", hv_audit_backend_name(s->audit)), HV_LOG_STR("key_id", cur.key_id),
         HV_LOG_STR("log_origin", s->tlog ? srv_tlog_origin(s->tlog) : "off"),
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
    if (sig == SIGHUP) {
      HV_LOG(s->log, HV_LOG_INFO, "signal.received", 0, HV_LOG_STR("signal", "SIGHUP"),
             HV_LOG_STR("action", "reopen the log, reload the configuration"));
      srv_reload(s);
    } else if (sig > 0) {
      /* A stray signal (a mistyped kill, a leftover timer) must not end the service. */
      HV_LOG(s->log, HV_LOG_WARN, "signal.ignored", 0, HV_LOG_STR("signal", sigabbrev_np(sig)));
    }
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

/* Each connection is a descriptor: take what the hard limit allows, so that the connection limit
 * (SRV_CONNECTION_LIMIT) is reached before the descriptor limit. */
static void srv_raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* Large requests allocate megabytes several times over (a 1 MiB bytes argument is a 1.9 MB body,
 * then the decoded ciphertext, the opened invocation, the decoded value). glibc gives blocks from
 * 128 KiB on as fresh mappings and returns them on free, so every request paid first-touch page
 * faults again, which on a virtual machine cost more than the copies themselves. Blocks up to
 * 32 MiB (the body limit's order) now come from the heap, and up to 64 MiB of free heap is kept
 * for the next request. Guest memories are mapped by the engine itself and are not affected. */
static void srv_tune_heap(void) {
  (void)mallopt(M_MMAP_THRESHOLD, 32 << 20);
  (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int hv_server_main(int argc, char **argv) {
  const char *config_file = NULL, *check_file = NULL;
  srv_tune_heap();
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
  s.lock_fd = -1;
  pthread_mutex_init(&s.health_mu, NULL);
  pthread_rwlock_init(&s.auth_lock, NULL);
  /* --config, else HYPERVISOR_CONFIG, else /etc/hypervisor/config.yaml if it exists, else the
   * embedded defaults; then HYPERVISOR_HOST and HYPERVISOR_PORT over whichever was used. */
  s.config_source = hv_config_discover(config_file, getenv(HV_CONFIG_ENV), HV_CONFIG_SYSTEM_FILE,
                                       &config_file);
  if (config_file) snprintf(s.config_file, sizeof s.config_file, "%s", config_file);
  srv_raise_fd_limit();
  hv_config_error err = {0};
  hv_config_status cst = HV_CONFIG_OK;
  if (config_file)
    cst = hv_config_load_file(config_file, &s.config, &err);
  else
    hv_config_defaults(&s.config);
  if (cst == HV_CONFIG_OK)
    cst = hv_config_apply_env(&s.config, getenv(HV_CONFIG_HOST_ENV), getenv(HV_CONFIG_PORT_ENV),
                              &err);
  if (cst != HV_CONFIG_OK) {
    if (s.config_source == HV_CONFIG_SOURCE_OPTION || !config_file)
      fprintf(stderr, "%s\n", err.message);
    else
      fprintf(stderr, "%s (configuration from %s)\n", err.message,
              hv_config_source_name(s.config_source));
    hv_config_free(&s.config);
    pthread_mutex_destroy(&s.health_mu);
    pthread_rwlock_destroy(&s.auth_lock);
    return 1;
  }

  /* Signals go to sigtimedwait in this thread only: block them before any thread starts. Besides
   * TERM and INT (stop) and HUP (reload), those whose default would end the process but that no
   * one should stop a service with are taken and logged. */
  sigset_t signals, old;
  sigemptyset(&signals);
  static const int taken[] = {SIGTERM, SIGINT,    SIGHUP,  SIGUSR1, SIGUSR2,
                              SIGALRM, SIGVTALRM, SIGPROF, SIGIO,   SIGPWR};
  for (size_t k = 0; k < sizeof taken / sizeof taken[0]; k++) sigaddset(&signals, taken[k]);
  pthread_sigmask(SIG_BLOCK, &signals, &old);
  signal(SIGPIPE, SIG_IGN);
  int rc = srv_run(&s, &signals);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}
