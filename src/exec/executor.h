/*
 * executor.h: where WebAssembly executions run, behind a small interface so that a
 * process-isolated executor can replace the in-process one without touching the HTTP layer.
 *
 * A caller first reserves a slot (admission control: at most `capacity` jobs run or wait at once;
 * beyond that EXEC_CAPACITY), then submits a job on that slot. The executor loads the module,
 * applies the sandbox policy, finds the export, converts the arguments by its signature, runs it
 * under the job's limits (string and bytes values pass through the Canonical ABI layer,
 * hv_cabi.h) and hands an exec_outcome to the job's `done` callback, on one of its own threads.
 * exec_wait() is the blocking form for callers that may block.
 *
 * The job's inputs (wasm bytes, names, arguments) are the caller's and must stay valid until `done`
 * has been called; the executor copies nothing it does not need. The exec_outcome passed to `done`
 * belongs to the caller from then on: free it with exec_outcome_free().
 */
#ifndef HV_EXEC_EXECUTOR_H
#define HV_EXEC_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_value.h"
#include "outcome.h"
#include "wasm_engine.h"

/* ---- Arguments as the request gave them (before the export's signature is known) ---------- */

typedef enum exec_arg_kind {
  EXEC_ARG_INT,  /* a JSON integer: `i` */
  EXEC_ARG_REAL, /* a JSON number with a fraction or exponent: `d` */
  EXEC_ARG_TEXT, /* a JSON string: `text` ("nan", "-inf", "18446744073709551615", "0x10") */
  EXEC_ARG_BLOB, /* a string or bytes value (declared HV_TYPE_STRING or HV_TYPE_BYTES): `data` */
} exec_arg_kind;

typedef struct exec_arg {
  exec_arg_kind kind;
  hv_type declared; /* the request's "type", or 0 when it gave none */
  int64_t i;
  double d;
  const char *text;    /* NUL-terminated; owned by whoever built the array */
  const uint8_t *data; /* EXEC_ARG_BLOB: len bytes; owned by whoever built the array */
  size_t len;
} exec_arg;

#define EXEC_WHY_MAX 256

/*
 * Converts one request argument to a value of `type` (i32, i64, f32, f64). False with a reason
 * in `why` when the value does not fit the type (a fraction for an integer, out of range, a string
 * that is not a number of that type, a declared type that differs from `type`).
 */
bool exec_arg_convert(const exec_arg *arg, hvw_valtype type, hvw_value *out, char *why,
                      size_t why_size);

/* ---- Jobs and outcomes -------------------------------------------------------------------- */

typedef struct exec_limits {
  uint64_t gas_limit;
  uint32_t max_memory_pages;
  uint64_t timeout_ns; /* wall clock, instantiation (start function) and call */
} exec_limits;

#define EXEC_MESSAGE_MAX 512

typedef struct exec_outcome {
  outcome_code code;               /* OUTCOME_OK or the protocol error */
  /* For an error: what went wrong in words that owe nothing to the program (no names from it, no
   * signatures, no decoder details): safe for a plaintext reply, a log line or a metric. */
  char message[EXEC_MESSAGE_MAX];
  /* The same with every detail, for the client alone (sealed; protocol v1.1 "Sealed errors"):
   * never logged, never sent in the clear. */
  char detail[EXEC_MESSAGE_MAX];
  bool ran;                        /* the module loaded: compile_ns is meaningful */
  /* arg_count arguments as the function received them (when conversion succeeded); a string's
   * or bytes' data is the job's, valid as long as the job's inputs are. */
  hv_value *args;
  size_t arg_count;
  /* result_count results (OUTCOME_OK only): the export's numeric results, or the one string or
   * bytes result, whose bytes are result_data (owned by the outcome). */
  hv_value *results;
  size_t result_count;
  uint8_t *result_data;
  uint64_t compile_ns;             /* hvw_module_load */
  uint64_t exec_ns;                /* instantiation and call */
  uint64_t gas_used;
  uint64_t memory_peak_bytes;
  bool module_cached;              /* the compiled module came from the cache (compile_ns = 0) */
  /* A WASI command (OUTCOME_OK with wasi set): instead of results, its exit code (proc_exit's,
   * 0 when _start returned) and what it wrote to stdout and stderr (owned by the outcome, each at
   * most the job's max_result_bytes, NULL when empty). `args` are then the argv strings
   * (HV_TYPE_STRING) followed by stdin (HV_TYPE_BYTES): the canonical arguments. */
  bool wasi;
  uint32_t exit_code;
  uint8_t *stdout_data;
  size_t stdout_len;
  uint8_t *stderr_data;
  size_t stderr_len;
  uint64_t queue_ns;               /* from submission to the start of the run */
  uint32_t retry_after_s;          /* OUTCOME_CAPACITY_EXCEEDED: when to try again */
} exec_outcome;

/* Frees what the outcome owns (args, results, result_data, a command's output; the output and
 * a string or bytes result are wiped first) and the outcome itself. NULL: no-op. */
void exec_outcome_free(exec_outcome *outcome);

/* ---- WASI commands (docs/wasi.md) ---------------------------------------------------------- */

typedef enum exec_wasi_mode {
  EXEC_WASI_NONE = 0, /* wasm.wasi: none: a module that imports anything is INVALID_WASM */
  EXEC_WASI_STDIO,    /* wasm.wasi: stdio: one that imports only wasi_snapshot_preview1 is a command */
} exec_wasi_mode;

/* What a request gives a WASI command (protocol v1.1's argv and stdin). The caller's, like the
 * job's other inputs. */
typedef struct exec_wasi_input {
  bool given;              /* the request carried argv or stdin: it asks for a command */
  const char *const *argv; /* argc NUL-terminated strings, argv[0] included; NULL when argc is 0 */
  size_t argc;
  const uint8_t *stdin_data; /* stdin_len bytes; may be NULL when stdin_len is 0 */
  size_t stdin_len;
} exec_wasi_input;

typedef struct exec_job exec_job;
typedef void (*exec_done_fn)(exec_job *job, exec_outcome *outcome, void *arg);

struct exec_job {
  const uint8_t *wasm;
  size_t wasm_len;
  /* The module cache's key (32 bytes); NULL: neither look up nor keep the module. The caller
   * derives it from the program's SHA-256 (which it computes anyway for the result document) and
   * the tenant, so that one tenant can never observe another's modules through the cache. */
  const uint8_t *cache_key;
  const char *function_name;
  const exec_arg *args;
  size_t arg_count;
  /* The declared results (protocol v1.1; NULL: the export's own numeric results). One
   * HV_TYPE_STRING or HV_TYPE_BYTES is lifted through the Canonical ABI (hv_cabi.h), at most
   * max_result_bytes of it; numeric ones must be exactly the export's. */
  const hv_type *results;
  size_t result_count;
  uint64_t max_result_bytes;
  /*
   * WASI (docs/wasi.md). With EXEC_WASI_STDIO a module that imports anything runs as a command if
   * every import is a wasi_snapshot_preview1 function (else INVALID_WASM), and so does one with no
   * imports when wasi_input->given and function_name is "_start". A command runs `_start` with
   * wasi_input's argv and stdin; function_name must be "_start", with no arguments and no
   * declared results (else INVALID_ARGUMENTS). wasi_input NULL: the request cannot carry argv and
   * stdin (protocol v1), so a command is INVALID_ARGUMENTS. argv or stdin given to a module that
   * is no command is INVALID_ARGUMENTS; with EXEC_WASI_NONE any import is INVALID_WASM.
   */
  exec_wasi_mode wasi;
  const exec_wasi_input *wasi_input;
  exec_limits limits;
  /* Who the job is for (an API key): jobs of one tenant share its slots and threads, and with
   * the process executor its worker processes (wk_pool.h). */
  uint64_t tenant;
  /* The tenant's name for log lines (its API key's id, never the key); NULL: none. The caller's. */
  const char *tenant_name;
  /* When the job's time limit started to run (monotonic ns): the limit covers the wait in the
   * queue too. 0: when it is submitted. */
  uint64_t accepted_ns;
  exec_done_fn done; /* called once, on an executor thread; owns the outcome from then on */
  void *done_arg;
  /* The executor's own bookkeeping: zero it before submitting. */
  exec_job *next_;
  uint64_t deadline_ns_;
};

/* ---- The interface ------------------------------------------------------------------------ */

typedef enum exec_status {
  EXEC_OK = 0,
  EXEC_CAPACITY,      /* every slot is taken */
  EXEC_TENANT_FULL,   /* the tenant holds its share of the slots */
  EXEC_SHUTTING_DOWN  /* the executor no longer takes work */
} exec_status;

typedef struct exec_counts {
  uint32_t capacity; /* slots: wasm.max_concurrent_executions */
  uint32_t tenant_slots;   /* slots one tenant may hold: wasm.max_concurrent_per_key */
  uint32_t tenant_threads; /* threads one tenant's jobs may occupy at once */
  uint32_t active;   /* jobs running now */
  uint32_t queued;   /* slots taken by jobs not running yet (reserved or waiting for a thread) */
  uint32_t threads;  /* worker threads */
  /* The compiled-module cache (all zero without one). */
  uint64_t cache_entries, cache_bytes, cache_max_bytes;
  uint64_t cache_hits, cache_misses, cache_evictions;
  /* Worker processes replaced to serve another tenant (the process executor; 0 otherwise). */
  uint64_t worker_recycles;
} exec_counts;

typedef struct executor executor;

typedef struct executor_ops {
  /* Takes a slot for `tenant`, or EXEC_CAPACITY / EXEC_TENANT_FULL / EXEC_SHUTTING_DOWN. Every
   * EXEC_OK is followed by exactly one submit (of a job of that tenant) or release. */
  exec_status (*reserve)(executor *ex, uint64_t tenant);
  /* Gives back a slot of `tenant` that will not be used. */
  void (*release)(executor *ex, uint64_t tenant);
  /* Runs `job` on the slot reserved for job->tenant. EXEC_SHUTTING_DOWN (the slot is released and
   * `done` is not called) once shutdown has begun. A job that cannot start before its time limit
   * ends is not run: its outcome is OUTCOME_CAPACITY_EXCEEDED with a retry_after_s. */
  exec_status (*submit)(executor *ex, exec_job *job);
  void (*counts)(executor *ex, exec_counts *out);
  /* Stops taking work, fails jobs that have not started (OUTCOME_CAPACITY_EXCEEDED, "shutting
   * down"), and waits until running jobs end; after grace_ns it interrupts those still running.
   * Returns when no job is left. */
  void (*shutdown)(executor *ex, uint64_t grace_ns);
  /* Frees the executor (after shutdown). */
  void (*destroy)(executor *ex);
} executor_ops;

struct executor {
  const executor_ops *ops;
};

/* Runs a job and waits for its outcome (the caller has reserved a slot). The caller owns the
 * returned outcome; NULL if the job could not be submitted (shutting down) or memory ran out. */
exec_outcome *exec_run_and_wait(executor *ex, exec_job *job);

/*
 * The in-process executor: `threads` worker threads (0: two per online CPU, at least 4, never more
 * than capacity), one timer thread for the wall-clock limits, and a compiled-module cache of at
 * most `cache_bytes` (0: no cache; modcache.h). NULL on failure with a reason in `why`.
 *
 * Fairness: a tenant holds at most `tenant_slots` of the `capacity` slots (clamped to capacity),
 * and its jobs occupy at most three quarters of the threads at once (rounded up), so one tenant's flood
 * of long executions never leaves another tenant's job waiting for a thread; waiting jobs are
 * started round-robin across tenants, first in, first out within one.
 *
 * A job's slot is given back as soon as its execution ends, before `done` is called, so a client
 * that sends its next request the moment it has the reply always finds its slot free.
 */
executor *exec_inproc_new(uint32_t capacity, uint32_t tenant_slots, uint32_t threads,
                          size_t cache_bytes, char *why, size_t why_size);

/* The thread count exec_inproc_new and exec_pool_new use for `threads` (0: the default above),
 * never more than `capacity`. */
uint32_t exec_pool_threads(uint32_t capacity, uint32_t threads);

/* ---- Running one job, and pools whose jobs run elsewhere ---------------------------------- */

typedef struct modcache modcache;

/* Lets whoever runs a job see (and interrupt) its store: `enter` arms the job's deadline
 * (monotonic ns) once the store exists, `leave` disarms it before the store is freed. */
typedef struct exec_store_hook {
  void (*enter)(void *ctx, hvw_store *store, uint64_t deadline_ns);
  void (*leave)(void *ctx);
  void *ctx;
  /* The running thread's (or worker process's) engine pool: memory slots and stacks kept between
   * its executions; NULL: every store maps its own. */
  hvw_pool *engine_pool;
} exec_store_hook;

/*
 * Runs one job now, on the calling thread: loads the module (or finds it in `cache`, which may be
 * NULL), checks it, converts the arguments and runs until `deadline_ns` (monotonic), which only
 * `hook` enforces (by interrupting the store). Fills *out (zeroed by the caller, code
 * OUTCOME_INTERNAL_ERROR) and never fails to fill it; what *out then owns is exec_outcome_free's.
 * The in-process pool's threads and the worker process (src/worker/) both run jobs through this.
 */
void exec_run_now(const exec_job *job, uint64_t deadline_ns, modcache *cache,
                  const exec_store_hook *hook, exec_outcome *out);

/* Where the pool's threads run their jobs when not on themselves (the process executor,
 * src/worker/wk_pool.h). */
typedef struct exec_runner {
  void *ctx;
  /* Runs `job` for pool thread `index` (0 .. threads - 1) until deadline_ns and fills *out as
   * exec_run_now does. Called only from that thread, so calls of one index never overlap. */
  void (*run)(void *ctx, uint32_t index, const exec_job *job, uint64_t deadline_ns,
              exec_outcome *out);
  /* Frees ctx once every thread has stopped (also when exec_pool_new fails). May be NULL. */
  void (*destroy)(void *ctx);
  /* Fills the figures of *out the runner keeps itself: cache_* when it keeps module caches of
   * its own (the pool then has none), worker_recycles. May be NULL; called from any thread. */
  void (*counts)(void *ctx, exec_counts *out);
  /* The runner pays to switch a thread from one tenant to another (the process executor with
   * dedicated workers recycles a worker): the pool then keeps a thread on its last job's tenant
   * while that tenant has jobs waiting, for up to EXEC_TENANT_RUN jobs in a row, before it goes
   * on round-robin. */
  bool tenant_switch_costs;
} exec_runner;

/* How many jobs of one tenant a thread runs in a row, at most, while other tenants wait, when
 * switching tenants costs (exec_runner.tenant_switch_costs): enough to spread a worker's recycle
 * (about 2 ms) over many jobs, few enough that another tenant waits a few milliseconds at most. */
#define EXEC_TENANT_RUN 16u

/*
 * The pool of exec_inproc_new (slots, fairness, queue, timer) with its jobs run by `runner`
 * (copied; NULL: on the pool's threads, exactly exec_inproc_new). The pool owns runner->ctx from
 * this call on, also when it fails. `cache_bytes` should be 0 with a runner.
 */
executor *exec_pool_new(uint32_t capacity, uint32_t tenant_slots, uint32_t threads,
                        size_t cache_bytes, const exec_runner *runner, char *why,
                        size_t why_size);

#endif /* HV_EXEC_EXECUTOR_H */
