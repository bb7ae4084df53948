/*
 * wk_pool.h: the process executor (docs/workers.md): the in-process executor's slots, fairness,
 * queue and timer (exec_pool_new), with each of its threads handing its jobs to a worker process
 * of its own (hv-worker) over a socketpair, instead of running them next to the server's keys.
 *
 * A worker that dies (a signal, an exit), sends what the codec refuses, or misses its job's
 * deadline by more than the grace period is killed (SIGKILL) and reaped, and a new one is started
 * in its place; only that job fails, with OUTCOME_INTERNAL_ERROR. The pool never reads more from a
 * worker than the job's outcome can honestly take (wk_outcome_payload_max).
 *
 * Each worker keeps its own compiled-module cache. A pool thread takes a free worker for each job
 * (there is always one: there are at least as many workers as threads): the one that last ran the job's cache key (the
 * module's hash under the API key, so never another tenant's entry) when it is free, else its own,
 * else any free one. The module's bytes always travel with the job (docs/workers.md says why).
 *
 * Tenancy (WK_TENANCY_DEDICATED, the default): a worker is bound to the tenant (exec_job.tenant)
 * of its first job and never runs a job of another while it lives. The choice above then takes
 * only workers bound to the job's tenant, else a fresh (never used) one, else the free worker used
 * least recently, which is recycled first: killed, reaped and replaced by a new, confined one
 * (WK_EVENT_RECYCLED). Its cache goes with it. The binding is checked again on the worker itself
 * right before each job is sent, whatever chose it. Workers beyond the threads (opts->processes)
 * keep more tenants' workers alive between their jobs, so fewer jobs need a recycle; and the pool
 * keeps a thread on one tenant for a run of its waiting jobs (exec_runner.tenant_switch_costs).
 */
#ifndef HV_WK_POOL_H
#define HV_WK_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor.h"
#include "wk_codec.h"

#define WK_CHANNEL_FD 3            /* where a worker finds its channel */
#define WK_GRACE_NS 2000000000u     /* past a job's deadline before its worker is killed */
#define WK_HELLO_TIMEOUT_NS 10000000000u /* for a new worker to confine itself and say hello */
#define WK_PROCESSES_MAX 1024u /* worker processes in one pool, at most */
#define WK_TENANT_NAME_SIZE 65 /* a tenant's name kept for the log: an API key id, 1-64 bytes */

typedef enum wk_tenancy {
  WK_TENANCY_DEDICATED = 0, /* a worker serves the tenant of its first job only (the default) */
  WK_TENANCY_SHARED,        /* any worker serves any tenant */
} wk_tenancy;

typedef enum wk_event_kind {
  WK_EVENT_STARTED,  /* a worker said hello: `hello` */
  WK_EVENT_REPLACED, /* a worker was killed or died and is replaced: `reason` */
  WK_EVENT_SPAWN_FAILED, /* a worker could not be started: `reason` */
  /* A healthy worker bound to another tenant was replaced for a job (WK_TENANCY_DEDICATED):
   * `pid` the old one, `reason`, `tenant` and `next_tenant`, `replace_ns`. */
  WK_EVENT_RECYCLED,
} wk_event_kind;

typedef struct wk_event {
  wk_event_kind kind;
  int pid;
  uint32_t index;          /* the worker's slot in the pool (0 .. workers - 1) */
  const wk_hello *hello;   /* WK_EVENT_STARTED */
  const char *reason;      /* what happened, in words that owe nothing to the program */
  const char *tenant;      /* WK_EVENT_RECYCLED: the name of the tenant the old worker served */
  const char *next_tenant; /* WK_EVENT_RECYCLED: the name of the tenant of the job */
  uint64_t replace_ns;     /* WK_EVENT_RECYCLED: kill, reap, start, confinement and hello */
} wk_event;

typedef void (*wk_event_fn)(void *arg, const wk_event *event);

typedef struct wk_pool_opts {
  const char *worker_path; /* the hv-worker program (copied) */
  uint32_t workers;        /* pool threads; 0: exec_pool_threads' default */
  uint32_t processes;      /* worker processes, raised to the threads when fewer (0: as many) */
  uint32_t max_memory_mb;  /* wasm.max_memory_mb, for the worker's address-space limit */
  uint32_t max_job_bytes;  /* the largest job payload a worker takes (<= WK_JOB_PAYLOAD_MAX) */
  uint32_t cache_mb;       /* each worker's compiled-module cache (0: none) */
  uint64_t grace_ns;       /* 0: WK_GRACE_NS */
  wk_tenancy tenancy;      /* 0: WK_TENANCY_DEDICATED */
  wk_event_fn event;       /* may be NULL; called from pool threads, never with a lock held */
  void *event_arg;
} wk_pool_opts;

/*
 * The process executor, with `capacity` and `tenant_slots` as in exec_inproc_new, opts->workers
 * threads and max(opts->processes, threads) worker processes, all started (and confined) before it returns. NULL with a
 * reason in `why` when one cannot be started. Free with ex->ops->shutdown and ->destroy, which
 * close the channels and reap the workers.
 */
executor *wk_pool_new(uint32_t capacity, uint32_t tenant_slots, const wk_pool_opts *opts,
                      char *why, size_t why_size);

/* The path of `name` in the directory of the running executable (readlink /proc/self/exe), into
 * buf. False when it does not fit or the link cannot be read. */
bool wk_beside_self(const char *name, char *buf, size_t size);

#endif /* HV_WK_POOL_H */
