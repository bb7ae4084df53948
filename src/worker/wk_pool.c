/*
 * wk_pool.c: the process executor (wk_pool.h). At least one worker process per pool thread; the
 * thread that holds a worker (busy) alone talks to it, so its fd and pid need no lock. Everything a
 * worker sends is read against a deadline and a size bound, and decoded by the codec's checks
 * before the server uses any of it. The pool owns its slots, the workers' channels and the
 * workers themselves (it reaps every one it starts).
 */
#include "wk_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct wk_slot {
  int fd;    /* the server's end of the channel; -1 without a worker */
  pid_t pid; /* 0 without a worker */
  /* Under the pool's mu: */
  bool busy;           /* a pool thread holds this worker for a job */
  uint32_t generation; /* bumped for each new worker: its cache starts empty */
  wk_cache_stats cache; /* the worker's cache figures after its last job */
  /* WK_TENANCY_DEDICATED: the tenant of the worker's first job (bound), cleared for each new
   * worker; its name (cut to fit) for the log line of a recycle. */
  bool bound;
  uint64_t tenant;
  char tenant_name[WK_TENANT_NAME_SIZE];
  uint64_t last_used; /* the pool's job count when the worker last took a job: the LRU choice */
} wk_slot;

/* Which worker last ran a cache key: a direct-mapped table (the keys are SHA-256 output, so their
 * first bytes spread evenly). A stale or overwritten entry only costs a compilation. */
#define WK_AFFINITY_SIZE 1024u

typedef struct wk_affinity {
  uint8_t key[32];
  uint32_t slot, generation;
  bool used;
} wk_affinity;

typedef struct wk_pool {
  char *path;
  uint32_t nslots;
  wk_slot *slots;
  uint32_t max_memory_mb, max_job_bytes, cache_mb;
  uint64_t grace_ns;
  wk_event_fn event;
  void *event_arg;
  wk_tenancy tenancy;
  pthread_mutex_t mu; /* the slots' fields marked so; the table; the counters below */
  bool mu_ready;
  wk_affinity *affinity;
  uint64_t retired_hits, retired_misses, retired_evictions; /* of workers since replaced */
  uint64_t jobs;     /* checked out so far: the slots' last_used clock */
  uint64_t recycles; /* workers replaced to serve another tenant */
} wk_pool;

static uint64_t wk_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool wk_beside_self(const char *name, char *buf, size_t size) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return false;
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if (!slash) return false;
  slash[1] = '\0';
  int w = snprintf(buf, size, "%s%s", self, name);
  return w > 0 && (size_t)w < size;
}

/* ---- I/O against a deadline ------------------------------------------------------------------ */

/* Waits until fd is ready for `events` or the deadline passes (false). */
static bool wk_wait(int fd, short events, uint64_t deadline_ns) {
  for (;;) {
    uint64_t now = wk_now_ns();
    if (now >= deadline_ns) return false;
    uint64_t ms = (deadline_ns - now + 999999u) / 1000000u;
    struct pollfd pfd = {.fd = fd, .events = events};
    int rc = poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
    if (rc > 0) return true; /* readable, writable, or an error/hang-up the next call reports */
    if (rc < 0 && errno != EINTR) return false;
  }
}

/* Reads exactly n bytes before the deadline. 1: done; 0: end of file (the worker is gone);
 * -1: the deadline passed or an error. */
static int wk_recv(int fd, uint8_t *p, size_t n, uint64_t deadline_ns) {
  size_t got = 0;
  while (got < n) {
    if (!wk_wait(fd, POLLIN, deadline_ns)) return -1;
    ssize_t r = recv(fd, p + got, n - got, MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r == 0) return 0;
    if (r < 0) return errno == ECONNRESET ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static bool wk_send(int fd, const uint8_t *p, size_t n, uint64_t deadline_ns) {
  while (n > 0) {
    if (!wk_wait(fd, POLLOUT, deadline_ns)) return false;
    ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL); /* a dead worker: EPIPE, no signal */
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* ---- Workers --------------------------------------------------------------------------------- */

static void wk_emit(wk_pool *p, wk_event_kind kind, uint32_t index, int pid, const wk_hello *hello,
                    const char *reason) {
  if (!p->event) return;
  wk_event ev = {.kind = kind, .pid = pid, .index = index, .hello = hello, .reason = reason};
  p->event(p->event_arg, &ev);
}

/* How a reaped worker ended, in words. */
static void wk_describe_status(int status, bool killed_by_us, char *buf, size_t size) {
  if (WIFSIGNALED(status) && !(killed_by_us && WTERMSIG(status) == SIGKILL))
    snprintf(buf, size, "killed by signal %d (SIG%s)", WTERMSIG(status),
             sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  else if (WIFSIGNALED(status))
    snprintf(buf, size, "killed by the server");
  else if (WIFEXITED(status))
    snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
  else
    snprintf(buf, size, "ended");
}

/* Kills (if it still runs) and reaps the slot's worker; `reason` says why it had to go, the
 * status how it ended, both into buf. */
static void wk_stop(wk_slot *s, bool kill_it, const char *reason, char *buf, size_t size) {
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  if (s->pid <= 0) return;
  if (kill_it) kill(s->pid, SIGKILL);
  int status = 0;
  char how[96] = "not reaped";
  pid_t r;
  do r = waitpid(s->pid, &status, 0);
  while (r < 0 && errno == EINTR);
  if (r == s->pid) wk_describe_status(status, kill_it, how, sizeof how);
  if (buf) snprintf(buf, size, "%s%s%s", reason, reason[0] ? ": " : "", how);
  s->pid = 0;
}

/* Starts a worker for slot `index` and waits for its hello. */
static bool wk_spawn(wk_pool *p, uint32_t index, char *why, size_t why_size) {
  wk_slot *s = &p->slots[index];
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    snprintf(why, why_size, "socketpair: %s", strerror(errno));
    return false;
  }
  char mem[16], job[16], fd[8];
  snprintf(mem, sizeof mem, "%" PRIu32, p->max_memory_mb);
  snprintf(job, sizeof job, "%" PRIu32, p->max_job_bytes);
  snprintf(fd, sizeof fd, "%d", WK_CHANNEL_FD);
  char cache[16];
  snprintf(cache, sizeof cache, "%" PRIu32, p->cache_mb);
  char *argv[] = {"hv-worker", "--fd", fd, "--max-memory-mb", mem, "--max-job-bytes", job,
                  "--cache-mb", cache, NULL};
  char *envp[] = {NULL}; /* the server's environment may hold secrets (a DSN's password) */

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  /* The server blocks signals in its threads; a worker starts with none blocked, all default. */
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int rc = 0;
  /* dup2 onto the same number would keep close-on-exec: then a copy first. */
  int child = sv[1];
  if (child == WK_CHANNEL_FD) {
    child = fcntl(sv[1], F_DUPFD_CLOEXEC, WK_CHANNEL_FD + 1);
    if (child < 0) rc = errno;
  }
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&fa, child, WK_CHANNEL_FD);
  /* Nothing of the server's reaches the worker, not even for the moment before it closes it. */
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&fa, WK_CHANNEL_FD + 1);
  pid_t pid = 0;
  if (rc == 0) rc = posix_spawn(&pid, p->path, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (child != sv[1] && child >= 0) close(child);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    snprintf(why, why_size, "cannot start %s: %s", p->path, strerror(rc));
    return false;
  }
  s->fd = sv[0];
  s->pid = pid;
  pthread_mutex_lock(&p->mu);
  s->generation++; /* a new process: nothing of the old one's cache, bound to no tenant yet */
  s->bound = false;
  s->tenant_name[0] = '\0';
  p->retired_hits += s->cache.hits;
  p->retired_misses += s->cache.misses;
  p->retired_evictions += s->cache.evictions;
  s->cache = (wk_cache_stats){0};
  pthread_mutex_unlock(&p->mu);

  uint8_t frame[WK_FRAME_HEADER + WK_HELLO_PAYLOAD];
  wk_hello hello;
  char detail[160] = "";
  int r = wk_recv(s->fd, frame, sizeof frame, wk_now_ns() + WK_HELLO_TIMEOUT_NS);
  if (r == 1 && wk_frame_length(frame) == WK_HELLO_PAYLOAD &&
      wk_hello_decode(frame + WK_FRAME_HEADER, WK_HELLO_PAYLOAD, &hello, detail, sizeof detail) ==
          WK_OK) {
    hello.pid = pid; /* in a new user namespace it may see itself otherwise; the server's view */
    wk_emit(p, WK_EVENT_STARTED, index, pid, &hello, NULL);
    return true;
  }
  char how[256];
  wk_stop(s, true,
          r == 0   ? "the worker ended before it was ready"
          : r < 0  ? "the worker did not say hello in time"
                   : "the worker's hello was malformed",
          how, sizeof how);
  snprintf(why, why_size, "%s (%s)", how, p->path);
  return false;
}

/* ---- The runner ------------------------------------------------------------------------------ */

static void wk_fail(exec_outcome *out, const char *message) {
  out->code = OUTCOME_INTERNAL_ERROR;
  snprintf(out->message, sizeof out->message, "%s", message);
  snprintf(out->detail, sizeof out->detail, "%s", message);
}

/* The job failed because of its worker: replace it (and say so), fail the job. */
static void wk_replace(wk_pool *p, uint32_t index, const char *reason, exec_outcome *out) {
  wk_slot *s = &p->slots[index];
  int pid = (int)s->pid;
  char what[320];
  wk_stop(s, true, reason, what, sizeof what);
  wk_emit(p, WK_EVENT_REPLACED, index, pid, NULL, what);
  wk_fail(out, "the execution's worker process failed; it was replaced");
  char why[256];
  if (!wk_spawn(p, index, why, sizeof why)) wk_emit(p, WK_EVENT_SPAWN_FAILED, index, 0, NULL, why);
}

/* WK_TENANCY_DEDICATED: when worker `index` (held by the calling thread, running) is bound to a
 * tenant other than the job's, replaces it by a fresh one (or by none, when the start fails: the
 * caller starts one). Neither a fault nor a failed job: logged as a recycle. */
static void wk_recycle_if_bound(wk_pool *p, uint32_t index, const exec_job *job) {
  wk_slot *s = &p->slots[index];
  char was[WK_TENANT_NAME_SIZE], what[320] = "", why[256] = "";
  pthread_mutex_lock(&p->mu);
  bool other = s->bound && s->tenant != job->tenant;
  memcpy(was, s->tenant_name, sizeof was);
  if (other) p->recycles++;
  pthread_mutex_unlock(&p->mu);
  if (!other) return;
  uint64_t t0 = wk_now_ns();
  int pid = (int)s->pid;
  wk_stop(s, true, "", what, sizeof what);
  bool started = wk_spawn(p, index, why, sizeof why);
  if (p->event) {
    char reason[400];
    snprintf(reason, sizeof reason, "the worker served another tenant; old worker: %s", what);
    wk_event ev = {.kind = WK_EVENT_RECYCLED, .pid = pid, .index = index, .reason = reason,
                   .tenant = was, .next_tenant = job->tenant_name ? job->tenant_name : "",
                   .replace_ns = wk_now_ns() - t0};
    p->event(p->event_arg, &ev);
  }
  if (!started) wk_emit(p, WK_EVENT_SPAWN_FAILED, index, 0, NULL, why);
}

/* Runs the job on worker `index` (held by the calling thread); *stats gets the worker's cache
 * figures when it answered. */
static void wk_run_on(wk_pool *p, uint32_t index, const exec_job *job, uint64_t deadline_ns,
                      exec_outcome *out, wk_cache_stats *stats, bool *answered) {
  wk_slot *s = &p->slots[index];
  char why[256];
  /* A worker that died (or spoke) between jobs is replaced before the job is sent, so that only
   * a job that was running when its worker failed fails. */
  struct pollfd idle = {.fd = s->fd, .events = POLLIN};
  if (s->pid > 0 && poll(&idle, 1, 0) > 0) {
    char what[320];
    int pid = (int)s->pid;
    wk_stop(s, true, "the worker ended or spoke between jobs", what, sizeof what);
    wk_emit(p, WK_EVENT_REPLACED, index, pid, NULL, what);
  }
  /* Dedicated: a worker bound to another tenant never gets this job, however it was chosen. */
  if (s->pid > 0 && p->tenancy == WK_TENANCY_DEDICATED) wk_recycle_if_bound(p, index, job);
  if (s->pid <= 0 && !wk_spawn(p, index, why, sizeof why)) {
    wk_emit(p, WK_EVENT_SPAWN_FAILED, index, 0, NULL, why);
    wk_fail(out, "no worker process could be started for the execution");
    return;
  }
  if (p->tenancy == WK_TENANCY_DEDICATED) {
    pthread_mutex_lock(&p->mu);
    if (!s->bound) {
      s->bound = true;
      s->tenant = job->tenant;
      snprintf(s->tenant_name, sizeof s->tenant_name, "%s",
               job->tenant_name ? job->tenant_name : "");
    }
    pthread_mutex_unlock(&p->mu);
  }
  uint64_t now = wk_now_ns();
  uint64_t backstop = deadline_ns > UINT64_MAX - p->grace_ns ? UINT64_MAX : deadline_ns + p->grace_ns;
  uint8_t *frame = NULL;
  size_t frame_len = 0;
  if (wk_job_encode(job, deadline_ns > now ? deadline_ns - now : 0, &frame, &frame_len, why,
                    sizeof why) != WK_OK ||
      frame_len - WK_FRAME_HEADER > p->max_job_bytes) {
    wk_wipe_free(frame, frame_len);
    wk_fail(out, "the execution does not fit the worker channel's limits");
    return;
  }
  bool sent = wk_send(s->fd, frame, frame_len, backstop);
  wk_wipe_free(frame, frame_len);
  if (!sent) {
    wk_replace(p, index, "the job could not be sent", out);
    return;
  }
  uint8_t header[WK_FRAME_HEADER];
  int r = wk_recv(s->fd, header, sizeof header, backstop);
  if (r != 1) {
    wk_replace(p, index, r == 0 ? "the worker died" : "the worker missed its deadline", out);
    return;
  }
  uint32_t len = wk_frame_length(header);
  if (len > wk_outcome_payload_max(job)) {
    wk_replace(p, index, "the worker announced an oversized outcome", out);
    return;
  }
  uint8_t *payload = malloc(len ? len : 1);
  if (!payload) {
    wk_replace(p, index, "out of memory for the outcome", out); /* the channel is mid-frame */
    return;
  }
  r = wk_recv(s->fd, payload, len, backstop);
  exec_outcome *got = NULL;
  wk_status st =
      r == 1 ? wk_outcome_decode(payload, len, job, &got, stats, why, sizeof why) : WK_OK;
  wk_wipe_free(payload, len ? len : 1);
  if (r != 1) {
    wk_replace(p, index, r == 0 ? "the worker died" : "the worker missed its deadline", out);
    return;
  }
  if (st != WK_OK) {
    char reason[320];
    snprintf(reason, sizeof reason, "the worker sent a malformed outcome (%s)", why);
    wk_replace(p, index, reason, out);
    return;
  }
  uint64_t queue_ns = out->queue_ns;
  *out = *got; /* the outcome's buffers move to *out */
  out->queue_ns = queue_ns;
  free(got);
  *answered = true;
}

static wk_affinity *wk_affinity_of(wk_pool *p, const uint8_t key[32]) {
  uint32_t h = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16;
  return &p->affinity[h % WK_AFFINITY_SIZE];
}

/* Whether free worker `k` may take a job of `tenant` as it is: always when shared; when
 * dedicated, if it is bound to that tenant (`fresh`: if it is bound to none). Under mu. */
static bool wk_fits(const wk_pool *p, uint32_t k, uint64_t tenant, bool fresh) {
  if (k >= p->nslots || p->slots[k].busy) return false;
  const wk_slot *s = &p->slots[k];
  if (p->tenancy == WK_TENANCY_SHARED) return true;
  return fresh ? !s->bound : s->bound && s->tenant == tenant;
}

/* Takes a free worker for `job` (see wk_pool.h); under mu. */
static uint32_t wk_checkout(wk_pool *p, uint32_t own, const exec_job *job) {
  uint32_t pick = UINT32_MAX;
  if (job->cache_key) {
    const wk_affinity *a = wk_affinity_of(p, job->cache_key);
    if (a->used && memcmp(a->key, job->cache_key, 32) == 0 && a->slot < p->nslots &&
        p->slots[a->slot].generation == a->generation && wk_fits(p, a->slot, job->tenant, false))
      pick = a->slot;
  }
  /* The job's tenant's workers (any when shared), then fresh ones (dedicated), own first. */
  for (int fresh = 0; fresh < 2 && pick == UINT32_MAX; fresh++) {
    if (wk_fits(p, own, job->tenant, fresh)) pick = own;
    for (uint32_t k = 0; pick == UINT32_MAX && k < p->nslots; k++)
      if (wk_fits(p, k, job->tenant, fresh)) pick = k;
  }
  /* Dedicated, none of those free: the free one used least recently, recycled by wk_run_on. */
  uint32_t lru = UINT32_MAX;
  for (uint32_t k = 0; pick == UINT32_MAX && k < p->nslots; k++)
    if (!p->slots[k].busy && (lru == UINT32_MAX || p->slots[k].last_used < p->slots[lru].last_used))
      lru = k;
  if (pick == UINT32_MAX) pick = lru;
  if (pick == UINT32_MAX) pick = own; /* cannot happen: a thread holds one worker at most */
  p->slots[pick].busy = true;
  p->slots[pick].last_used = ++p->jobs;
  return pick;
}

static void wk_run(void *ctx, uint32_t index, const exec_job *job, uint64_t deadline_ns,
                   exec_outcome *out) {
  wk_pool *p = ctx;
  pthread_mutex_lock(&p->mu);
  uint32_t w = wk_checkout(p, index, job);
  pthread_mutex_unlock(&p->mu);
  wk_cache_stats stats = {0};
  bool answered = false;
  wk_run_on(p, w, job, deadline_ns, out, &stats, &answered);
  pthread_mutex_lock(&p->mu);
  wk_slot *s = &p->slots[w];
  if (answered) {
    s->cache = stats;
    /* The module is in this worker's cache only if it compiled there and passed the checks;
     * pointing here anyway costs at most one compilation. */
    if (job->cache_key && out->ran && p->cache_mb > 0) {
      wk_affinity *a = wk_affinity_of(p, job->cache_key);
      memcpy(a->key, job->cache_key, 32);
      a->slot = w;
      a->generation = s->generation;
      a->used = true;
    }
  }
  s->busy = false;
  pthread_mutex_unlock(&p->mu);
}

/* The sum of the workers' cache figures (counters include workers since replaced), and the
 * recycles. */
static void wk_counts(void *ctx, exec_counts *out) {
  wk_pool *p = ctx;
  pthread_mutex_lock(&p->mu);
  out->cache_entries = out->cache_bytes = out->cache_max_bytes = 0;
  out->cache_hits = p->retired_hits;
  out->cache_misses = p->retired_misses;
  out->cache_evictions = p->retired_evictions;
  for (uint32_t k = 0; k < p->nslots; k++) {
    const wk_cache_stats *c = &p->slots[k].cache;
    out->cache_entries += c->entries;
    out->cache_bytes += c->bytes;
    out->cache_hits += c->hits;
    out->cache_misses += c->misses;
    out->cache_evictions += c->evictions;
  }
  out->cache_max_bytes = (uint64_t)p->cache_mb * p->nslots << 20;
  out->worker_recycles = p->recycles;
  pthread_mutex_unlock(&p->mu);
}

static void wk_pool_free(void *ctx) {
  wk_pool *p = ctx;
  if (!p) return;
  for (uint32_t k = 0; k < p->nslots; k++) {
    wk_slot *s = &p->slots[k];
    if (s->fd >= 0) close(s->fd); /* the worker reads end of file and exits 0 */
    s->fd = -1;
  }
  for (uint32_t k = 0; k < p->nslots; k++) {
    wk_slot *s = &p->slots[k];
    if (s->pid <= 0) continue;
    /* A worker between jobs exits at once; one that does not within a second is killed. */
    int status;
    pid_t r = 0;
    for (int tries = 0; tries < 100 && (r = waitpid(s->pid, &status, WNOHANG)) == 0; tries++) {
      struct timespec ts = {0, 10000000};
      nanosleep(&ts, NULL);
    }
    if (r == 0) {
      kill(s->pid, SIGKILL);
      while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    s->pid = 0;
  }
  if (p->mu_ready) pthread_mutex_destroy(&p->mu);
  free(p->affinity);
  free(p->slots);
  free(p->path);
  free(p);
}

executor *wk_pool_new(uint32_t capacity, uint32_t tenant_slots, const wk_pool_opts *opts,
                      char *why, size_t why_size) {
  if (!opts->worker_path || opts->max_job_bytes == 0 || opts->max_job_bytes > WK_JOB_PAYLOAD_MAX ||
      opts->max_memory_mb == 0 || opts->processes > WK_PROCESSES_MAX ||
      (opts->tenancy != WK_TENANCY_DEDICATED && opts->tenancy != WK_TENANCY_SHARED)) {
    snprintf(why, why_size, "the worker pool needs a worker program, its limits and a tenancy");
    return NULL;
  }
  if (access(opts->worker_path, X_OK) != 0) {
    snprintf(why, why_size, "the worker program %s cannot be run: %s", opts->worker_path,
             strerror(errno));
    return NULL;
  }
  wk_pool *p = calloc(1, sizeof *p);
  uint32_t threads = exec_pool_threads(capacity ? capacity : 1, opts->workers);
  uint32_t n = opts->processes > threads ? opts->processes : threads;
  if (p) {
    p->path = strdup(opts->worker_path);
    p->slots = calloc(n, sizeof *p->slots);
    p->affinity = calloc(WK_AFFINITY_SIZE, sizeof *p->affinity);
    p->mu_ready = pthread_mutex_init(&p->mu, NULL) == 0;
  }
  if (!p || !p->path || !p->slots || !p->affinity || !p->mu_ready) {
    wk_pool_free(p);
    snprintf(why, why_size, "out of memory");
    return NULL;
  }
  p->nslots = n;
  for (uint32_t k = 0; k < n; k++) p->slots[k] = (wk_slot){.fd = -1, .pid = 0};
  p->max_memory_mb = opts->max_memory_mb;
  p->max_job_bytes = opts->max_job_bytes;
  p->cache_mb = opts->cache_mb;
  p->grace_ns = opts->grace_ns ? opts->grace_ns : WK_GRACE_NS;
  p->tenancy = opts->tenancy;
  p->event = opts->event;
  p->event_arg = opts->event_arg;
  /* Every worker confined and ready before the first request: a worker that cannot start is a
   * start-up error, not a failed execution later. */
  for (uint32_t k = 0; k < n; k++) {
    if (!wk_spawn(p, k, why, why_size)) {
      wk_pool_free(p);
      return NULL;
    }
  }
  /* Dedicated workers: a thread that goes on with its tenant keeps its worker; another tenant
   * may cost a recycle. */
  exec_runner runner = {.ctx = p,
                        .run = wk_run,
                        .destroy = wk_pool_free,
                        .counts = wk_counts,
                        .tenant_switch_costs = p->tenancy == WK_TENANCY_DEDICATED};
  return exec_pool_new(capacity, tenant_slots, threads, 0, &runner, why, why_size);
}
