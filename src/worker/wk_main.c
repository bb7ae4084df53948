/*
 * wk_main.c: hv-worker, the program a worker process runs (docs/workers.md).
 *
 *   hv-worker --fd N --max-memory-mb M --max-job-bytes B [--cache-mb C]
 *
 * The server execs it (never forks it from itself: a fresh program holds nothing of the server's
 * memory, so no key), with the channel at descriptor N. It confines itself (wk_confine.c), says
 * hello, then answers jobs one at a time: read a job frame, run it through the executor's own
 * code (exec_run_now) with the deadline enforced by a timer signal and its own compiled-module
 * cache of C MiB (0: none), write the outcome frame with the cache's figures. It
 * exits 0 when the server closes the channel, non-zero on anything it cannot take (a malformed
 * frame, a write that fails); the server then replaces it.
 *
 * Built twice: hv-worker, and hv-worker-test with HV_WORKER_TEST_HOOKS, which the tests alone use
 * (it is never installed): there a few function names make the worker misbehave on purpose
 * (wk_test_hook). The production binary has no such code.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"
#include "modcache.h"
#include "wk_codec.h"
#include "wk_confine.h"

#ifdef HV_WORKER_TEST_HOOKS
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#endif

/* ---- Sanitized builds (tests only) ----------------------------------------------------------- */

/* The worker starts with an empty environment, so ASAN_OPTIONS never reaches it: its sanitizer
 * settings are compiled in. No leak check (it needs clone and ptrace; the worker leaves with _exit
 * anyway), and faults left to the kernel so that a crash ends the worker with the signal it
 * raised — ASan's own handler would try to write a report to a stderr that is closed, and die of
 * SIGSYS instead. A sanitizer report in a worker therefore shows as the worker killed (SIGSYS):
 * run the same request on the thread executor to read it. */
#if defined(__SANITIZE_ADDRESS__)
#define WK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WK_ASAN 1
#endif
#endif
#ifdef WK_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "detect_leaks=0:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:"
         "handle_abort=0";
}
#endif

/* ---- The deadline: a SIGALRM that interrupts the running store -------------------------------- */

static _Atomic(hvw_store *) wk_running; /* the store the timer may interrupt, or NULL */

static void wk_on_alarm(int sig) {
  (void)sig;
  hvw_store *store = atomic_load(&wk_running);
  if (store) hvw_store_interrupt(store); /* safe from a signal handler (wasm_engine.h) */
}

static uint64_t wk_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wk_timer(uint64_t ns) {
  struct itimerval it = {{0, 0}, {(time_t)(ns / 1000000000u), (suseconds_t)(ns % 1000000000u / 1000u)}};
  if (ns && it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
  (void)setitimer(ITIMER_REAL, &it, NULL);
}

static void wk_hook_enter(void *ctx, hvw_store *store, uint64_t deadline_ns) {
  (void)ctx;
  atomic_store(&wk_running, store);
  uint64_t now = wk_now_ns();
  if (deadline_ns <= now)
    hvw_store_interrupt(store);
  else
    wk_timer(deadline_ns - now);
}

static void wk_hook_leave(void *ctx) {
  (void)ctx;
  wk_timer(0);
  atomic_store(&wk_running, NULL); /* before the store is freed: the handler no longer sees it */
}

/* ---- The channel ---------------------------------------------------------------------------- */

/* Reads exactly n bytes. 1: done; 0: end of file before the first byte; -1: error or a short read. */
static int wk_read_full(int fd, uint8_t *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r == 0 && got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

static bool wk_write_full(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

#ifdef HV_WORKER_TEST_HOOKS
static int32_t wk_test_pid; /* this worker's pid, from its hello (getpid is not on the list) */

/* Test-only misbehaviour, chosen by the function name (tests/worker/test_worker.c). Returns true
 * when the hook wrote the reply itself. */
static bool wk_test_hook(int fd, const exec_job *job, exec_outcome *out) {
  const char *name = job->function_name;
  if (strncmp(name, "hv-test:", 8) != 0) return false;
  name += 8;
  int rc = 0;
  if (strcmp(name, "pid") == 0) {
    /* Which process ran the job: one i32 result, as an honest execution would return it. */
    out->results = calloc(1, sizeof *out->results);
    if (out->results) {
      out->results[0] = (hv_value){.type = HVW_TYPE_I32,
                                   .num = {.type = HVW_TYPE_I32, .of.i32 = wk_test_pid}};
      out->result_count = 1;
      out->code = OUTCOME_OK;
      out->ran = true;
      return false;
    }
  } else if (strcmp(name, "open") == 0) {
    rc = open("/etc/passwd", O_RDONLY); /* killed by SIGSYS before it returns */
  } else if (strcmp(name, "socket") == 0) {
    rc = socket(AF_INET, SOCK_STREAM, 0);
  } else if (strcmp(name, "execve") == 0) {
    char *argv[] = {"/bin/true", NULL};
    rc = execve("/bin/true", argv, argv + 1);
  } else if (strcmp(name, "segv") == 0) {
    /* A store to a page that allows nothing: a real SIGSEGV, also in a sanitized build (where a
     * NULL dereference is UBSan's report first). */
    volatile int *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) *p = 1;
    rc = -1;
  } else if (strcmp(name, "hang") == 0) {
    for (volatile unsigned long k = 0;; k++) {
    } /* ignores its deadline: the server's backstop must kill it */
  } else if (strcmp(name, "garbage") == 0) {
    static const uint8_t bad[] = {8, 0, 0, 0, 'H', 'V', 'W', '1', 3, 0xff, 0xff, 0xff};
    (void)wk_write_full(fd, bad, sizeof bad);
    return true;
  } else if (strcmp(name, "huge") == 0) {
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
    (void)wk_write_full(fd, huge, sizeof huge);
    return true;
  }
  /* Still alive: say what the call returned, as an honest failure. */
  out->code = OUTCOME_INTERNAL_ERROR;
  snprintf(out->message, sizeof out->message, "test hook %s returned %d", name, rc);
  memcpy(out->detail, out->message, sizeof out->detail);
  return false;
}
#endif

/* Runs one job frame's payload (with `cache`, which may be NULL, and the worker's engine `pool`)
 * and writes its outcome. False when the worker must stop. */
static bool wk_serve(int fd, modcache *cache, hvw_pool *pool, const uint8_t *payload, size_t len) {
  char why[256];
  wk_job *wj = NULL;
  if (wk_job_decode(payload, len, &wj, why, sizeof why) != WK_OK) return false;
  exec_outcome *out = calloc(1, sizeof *out);
  bool ok = false;
  if (out) {
    out->code = OUTCOME_INTERNAL_ERROR;
    bool replied = false;
#ifdef HV_WORKER_TEST_HOOKS
    replied = wk_test_hook(fd, &wj->job, out);
    if (!replied && out->code != OUTCOME_OK && out->message[0] == '\0')
#endif
    {
      exec_store_hook hook = {wk_hook_enter, wk_hook_leave, NULL, pool};
      exec_run_now(&wj->job, wk_now_ns() + wj->remaining_ns, cache, &hook, out);
    }
    wk_cache_stats stats = {0};
    if (cache) {
      modcache_stats st;
      modcache_get_stats(cache, &st);
      stats = (wk_cache_stats){st.entries, st.bytes, st.max_bytes, st.hits, st.misses, st.evictions};
    }
    uint8_t *frame = NULL;
    size_t frame_len = 0;
    if (replied)
      ok = true;
    else if (wk_outcome_encode(out, &stats, &frame, &frame_len, why, sizeof why) == WK_OK)
      ok = wk_write_full(fd, frame, frame_len);
    wk_wipe_free(frame, frame_len);
  }
  exec_outcome_free(out);
  wk_job_free(wj);
  return ok;
}

/* Says hello, then serves jobs until the server closes the channel (0) or a frame cannot be read,
 * taken or answered (4; 5: out of memory). The exit status for _exit. */
static int wk_loop(const wk_confine_opts *opts, modcache *cache, hvw_pool *pool,
                   const wk_hello *hello) {
  uint8_t hello_frame[WK_FRAME_HEADER + WK_HELLO_PAYLOAD];
  wk_hello_encode(hello, hello_frame);
  if (!wk_write_full(opts->channel_fd, hello_frame, sizeof hello_frame)) return 4;
  for (;;) {
    uint8_t header[WK_FRAME_HEADER];
    int r = wk_read_full(opts->channel_fd, header, sizeof header);
    if (r == 0) return 0; /* the server closed the channel */
    if (r < 0) return 4;
    uint32_t len = wk_frame_length(header);
    if (len > opts->max_job_bytes) return 4;
    uint8_t *payload = malloc(len ? len : 1);
    if (!payload) return 5;
    bool ok = wk_read_full(opts->channel_fd, payload, len) == 1 &&
              wk_serve(opts->channel_fd, cache, pool, payload, len);
    wk_wipe_free(payload, len ? len : 1); /* the client's program and data */
    if (!ok) return 4;
  }
}

static bool wk_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v < min || v > max) return false;
  *out = (uint32_t)v;
  return true;
}

int main(int argc, char **argv) {
  wk_confine_opts opts = {.channel_fd = -1};
  bool have_mem = false, have_job = false;
  for (int k = 1; k + 1 < argc; k += 2) {
    uint32_t v;
    if (!wk_parse_u32(argv[k + 1], 0, UINT32_MAX, &v)) goto usage;
    if (strcmp(argv[k], "--fd") == 0 && v >= 3 && v <= 1024) {
      opts.channel_fd = (int)v;
    } else if (strcmp(argv[k], "--max-memory-mb") == 0 && v >= 1 && v <= 65536) {
      opts.max_memory_mb = v;
      have_mem = true;
    } else if (strcmp(argv[k], "--max-job-bytes") == 0 && v >= 1 && v <= WK_JOB_PAYLOAD_MAX) {
      opts.max_job_bytes = v;
      have_job = true;
    } else if (strcmp(argv[k], "--cache-mb") == 0 && v <= 65536) {
      opts.cache_bytes = (uint64_t)v << 20;
    } else {
      goto usage;
    }
  }
  if (argc % 2 == 0 || opts.channel_fd < 0 || !have_mem || !have_job) goto usage;

  /* Before the filter: the handler (rt_sigaction is not on the list) and a broken channel as an
   * error rather than a signal. */
  struct sigaction sa = {.sa_handler = wk_on_alarm, .sa_flags = SA_RESTART};
  sigemptyset(&sa.sa_mask);
  struct sigaction ign = {.sa_handler = SIG_IGN};
  sigemptyset(&ign.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0 || sigaction(SIGPIPE, &ign, NULL) != 0) {
    fprintf(stderr, "hv-worker: sigaction: %s\n", strerror(errno));
    return 3;
  }
  /* The cache is made before the filter, but its memory comes later, from the allowed calls. A
   * module in it is immutable and every job gets a fresh store and instance (exec_run_now), so a
   * cache hit shares code, never one job's state with the next. */
  modcache *cache = NULL;
  if (opts.cache_bytes > 0 && !(cache = modcache_new((size_t)opts.cache_bytes))) {
    fprintf(stderr, "hv-worker: out of memory for the module cache\n");
    return 5;
  }
  /* One job runs at a time, so one memory slot and one stack: jobs reuse them instead of mapping
   * and unmapping their own (wk_confine_as_limit counts the slot). Reserved as first needed. */
  hvw_pool_config pool_config;
  hvw_pool_config_default(&pool_config);
  pool_config.max_memory_slots = 1;
  pool_config.max_stacks = 1;
  hvw_pool *pool = hvw_pool_new(&pool_config, NULL);
  if (!pool) {
    fprintf(stderr, "hv-worker: out of memory for the engine pool\n");
    return 5;
  }
  wk_hello hello;
  char why[256];
  if (!wk_confine(&opts, &hello, why, sizeof why)) {
    /* stderr may be closed by now; the server sees the exit before a hello. */
    fprintf(stderr, "hv-worker: confinement failed: %s\n", why);
    return 3;
  }
  /* From here on the worker leaves with _exit (exit_group), never through exit(): the handlers
   * exit() runs are not confined code — in a sanitized build LeakSanitizer's check stops the
   * world with clone and ptrace, which the filter forbids (docs/workers.md, "Sanitized builds"). */
#ifdef HV_WORKER_TEST_HOOKS
  wk_test_pid = hello.pid;
#endif
  _exit(wk_loop(&opts, cache, pool, &hello)); /* the cache and pool go with the process */

usage:
  fprintf(stderr, "usage: hv-worker --fd N --max-memory-mb M --max-job-bytes B [--cache-mb C] "
                  "(started by the server; docs/workers.md)\n");
  return 2;
}
