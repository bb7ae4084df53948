/*
 * wk_codec.h: the messages between the server and a worker process (docs/workers.md, "The
 * channel"). One stream socket carries frames: a little-endian u32 payload length, then the
 * payload: the u32 magic WK_MAGIC, a u8 kind, and the kind's fields (integers little-endian,
 * byte strings as a length and the bytes, C strings followed by their NUL).
 *
 *   WK_KIND_HELLO    worker -> server, once, after confinement: what the worker achieved
 *   WK_KIND_JOB      server -> worker: one exec_job (module bytes, export, arguments, declared
 *                    results, limits, WASI argv and stdin) and the time left to run it
 *   WK_KIND_OUTCOME  worker -> server: the exec_outcome of that job
 *
 * The channel is a trust boundary in both directions. Every decoder bounds every length by what
 * is left of the payload and by the protocol's own limits before it allocates, refuses unknown
 * kinds, types and flags and trailing bytes, and says why in `why`. The server reads an outcome
 * as the words of a possibly compromised process: wk_outcome_decode checks it against the job it
 * answers (codes an execution can have, argument and result types and counts, sizes within the
 * job's max_result_bytes, UTF-8 one-line messages) and rebuilds string and bytes arguments from
 * the job's own copy rather than taking them from the worker.
 */
#ifndef HV_WK_CODEC_H
#define HV_WK_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor.h"

#define WK_MAGIC 0x31575648u /* "HVW1" as little-endian bytes */
#define WK_VERSION 2u /* 2: outcomes carry the worker's module-cache figures */
#define WK_FRAME_HEADER 4u   /* the u32 payload length */

typedef enum wk_kind {
  WK_KIND_HELLO = 1,
  WK_KIND_JOB = 2,
  WK_KIND_OUTCOME = 3,
} wk_kind;

/* Limits of the protocol (the server's request limits, docs/service.md). */
#define WK_NAME_MAX 1024u           /* function_name bytes */
#define WK_VALUES_MAX 1000u         /* arguments, results, argv + stdin (HV_COMMIT_MAX_VALUES) */
/* The largest job payload: the server's largest body (server.max_body_bytes, 1 GiB) holds a
 * module and arguments of less than that after base64; a frame length is a u32 in any case. */
#define WK_JOB_PAYLOAD_MAX ((uint32_t)1 << 30)
#define WK_HELLO_PAYLOAD 25u

#define WK_STATUS_MAP(X)                                              \
  X(WK_OK, "ok")                                                      \
  X(WK_TRUNCATED, "the message ends inside a field")                  \
  X(WK_TOO_LARGE, "the message or one of its fields is too large")    \
  X(WK_BAD_HEADER, "the message has the wrong magic or kind")         \
  X(WK_BAD_VALUE, "a field holds a value the protocol does not allow") \
  X(WK_TRAILING, "the message has bytes after its last field")        \
  X(WK_MISMATCH, "the outcome does not fit the job it answers")       \
  X(WK_NO_MEMORY, "out of memory")

typedef enum wk_status {
#define WK__ENUM(name, text) name,
  WK_STATUS_MAP(WK__ENUM)
#undef WK__ENUM
} wk_status;

/* The status's text; never NULL. */
const char *wk_status_text(wk_status status);

/* The payload length in a frame header (4 bytes). */
uint32_t wk_frame_length(const uint8_t header[WK_FRAME_HEADER]);

/* Wipes (the frames carry a client's plaintext program and data) and frees `len` bytes at `p`.
 * NULL: no-op. */
void wk_wipe_free(void *p, size_t len);

/* ---- Hello -------------------------------------------------------------------------------- */

#define WK_NS_USER 1u
#define WK_NS_NET 2u
#define WK_NS_MOUNT 4u

typedef struct wk_hello {
  uint32_t version;  /* WK_VERSION */
  uint32_t ns_flags; /* the namespaces the worker is in (WK_NS_*) */
  int32_t ns_errno;  /* why unshare refused the full set (0: it did not) */
  int32_t pid;       /* the worker's pid as it sees itself (for the logs) */
  uint32_t reserved; /* 0 */
} wk_hello;

/* The whole frame (header included) into buf. */
void wk_hello_encode(const wk_hello *hello, uint8_t buf[WK_FRAME_HEADER + WK_HELLO_PAYLOAD]);
wk_status wk_hello_decode(const uint8_t *payload, size_t len, wk_hello *out, char *why,
                          size_t why_size);

/* ---- Jobs --------------------------------------------------------------------------------- */

/*
 * The whole frame for `job` (header included), which the worker must finish within
 * `remaining_ns` of reading it, into *frame (caller frees with wk_wipe_free(*frame, *frame_len)).
 * WK_TOO_LARGE when it would exceed WK_JOB_PAYLOAD_MAX, WK_BAD_VALUE for a job that breaks the
 * protocol's limits (a function name or argv string with a NUL in it, too many values),
 * WK_NO_MEMORY.
 */
wk_status wk_job_encode(const exec_job *job, uint64_t remaining_ns, uint8_t **frame,
                        size_t *frame_len, char *why, size_t why_size);

/* A decoded job. Its strings and bytes point into the payload it was decoded from, which must
 * outlive it. */
typedef struct wk_job {
  exec_job job;
  uint64_t remaining_ns;
  uint8_t cache_key[32];
  exec_arg *args;
  hv_type *results;
  const char **argv;
  exec_wasi_input wasi_input;
} wk_job;

/* Decodes a job payload (the frame without its header) into *out (caller frees with
 * wk_job_free). Anything but WK_OK leaves *out NULL and says why. */
wk_status wk_job_decode(const uint8_t *payload, size_t len, wk_job **out, char *why,
                        size_t why_size);
void wk_job_free(wk_job *job);

/* ---- Outcomes ----------------------------------------------------------------------------- */

/* A worker's compiled-module cache after a job (modcache_stats' figures), for the server's
 * metrics. Only figures: a compromised worker can make them wrong, never reach anything with them. */
typedef struct wk_cache_stats {
  uint64_t entries, bytes, max_bytes, hits, misses, evictions;
} wk_cache_stats;

/* The whole frame for `outcome` and the worker's cache figures (`stats`; NULL: none, all zero)
 * (header included) into *frame (caller frees with wk_wipe_free). WK_TOO_LARGE past UINT32_MAX,
 * WK_NO_MEMORY. */
wk_status wk_outcome_encode(const exec_outcome *outcome, const wk_cache_stats *stats,
                            uint8_t **frame, size_t *frame_len, char *why, size_t why_size);

/* The largest outcome payload an honest worker can send for `job`: the server reads no more. */
uint64_t wk_outcome_payload_max(const exec_job *job);

/*
 * Decodes the outcome payload of `job`, checking it against the job (see the top of this file),
 * into *out and the worker's cache figures into *stats (NULL: not wanted) (caller frees with exec_outcome_free; its string and bytes arguments point into the
 * job's inputs, as an in-process outcome's do). Anything but WK_OK leaves *out NULL and says why
 * (in words about the message, never its content).
 */
wk_status wk_outcome_decode(const uint8_t *payload, size_t len, const exec_job *job,
                            exec_outcome **out, wk_cache_stats *stats, char *why,
                            size_t why_size);

#endif /* HV_WK_CODEC_H */
