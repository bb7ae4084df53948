/*
 * wk_confine.h: the confinement a worker process puts itself in right after it starts, before it
 * reads any job (docs/workers.md, "Confinement"): new namespaces where the kernel allows them,
 * resource limits, not dumpable, no new privileges, every descriptor but the channel closed, and
 * a seccomp allow-list whose default is to kill the process.
 */
#ifndef HV_WK_CONFINE_H
#define HV_WK_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wk_codec.h"

typedef struct wk_confine_opts {
  int channel_fd;          /* the one descriptor kept */
  uint32_t max_memory_mb;  /* wasm.max_memory_mb: sizes RLIMIT_AS */
  uint32_t max_job_bytes;  /* the largest job payload: sizes RLIMIT_AS */
  uint64_t cache_bytes;    /* the worker's compiled-module cache bound: sizes RLIMIT_AS */
} wk_confine_opts;

/* The address-space limit for these options, in bytes (docs/workers.md says how it is made). */
uint64_t wk_confine_as_limit(const wk_confine_opts *opts);

/*
 * Confines the calling process, which must be single-threaded. Fills *hello with what it achieved
 * (the namespaces, and why the kernel refused the rest). False with a reason in `why` when a step
 * that is not optional fails; the process must then exit without reading a job. After success the
 * process can make only the system calls of the allow-list (docs/workers.md): anything else kills
 * it with SIGSYS.
 */
bool wk_confine(const wk_confine_opts *opts, wk_hello *hello, char *why, size_t why_size);

#endif /* HV_WK_CONFINE_H */
