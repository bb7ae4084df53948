/*
 * hv_wasi.h: the WASI preview1 "stdio profile" (protocol v1.1, docs/wasi.md): the host side of
 * `wasi_snapshot_preview1` for a program that runs as a command. It gives the program its argv,
 * an empty environment, stdin from bytes the caller supplies, stdout and stderr captured into
 * bounded buffers, two clocks coarsened to 1 ms, random bytes, proc_exit and sched_yield; every
 * other preview1 function (files, directories, sockets, signals) resolves but answers ENOSYS or
 * EBADF. No file system, no network: nothing here opens, reads or writes anything of the host's.
 * It knows nothing of HTTP, JSON or HPKE; it sits on the engine's public API only.
 *
 * One context serves one execution, in one store, on the store's thread:
 *
 *   hv_wasi_check_module(module)           the module's imports, before any store exists
 *                                          (cacheable with the module): HV_WASI_BAD_MODULE is the
 *                                          service's INVALID_WASM
 *   hv_wasi_new(&config, &ctx)             argv, stdin, capture limits, random and clock sources
 *   hv_wasi_instantiate(ctx, store, module, &instance)
 *                                          = hv_wasi_link + hvw_instance_new + hv_wasi_bind
 *   hv_wasi_run(ctx, instance, "_start")   the command; proc_exit(n) ends it cleanly
 *   hv_wasi_get_result(ctx, &result)       exit code, stdout, stderr, which capture overflowed
 *   hv_wasi_free(ctx)                      after the store's last call (the store may go first)
 *
 * Every pointer and length the program passes is a u32 checked against the exported memory's
 * current size in 64-bit arithmetic before a byte is read or written; a bad one is the errno
 * EFAULT (21), never an access outside the memory. Counts (iovecs, subscriptions) are checked to
 * fit in memory before anything is done per element, and nothing is allocated in proportion to
 * them. Every call charges gas (hvw_store_consume_gas) for the work it does, per the table
 * below, before doing it: a program cannot make the host work for free.
 */
#ifndef HV_WASI_H
#define HV_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, text). The text owes nothing to the program: safe for a plaintext reply. Numbers are
 * stable; never reuse one. */
#define HV_WASI_STATUS_MAP(X)                                                                   \
  X(HV_WASI_OK, "ok")                                                                           \
  /* the caller's configuration: an argv string with a NUL byte, sizes over what a 32-bit      \
   * program can address, a context linked twice (the service answers INVALID_REQUEST) */      \
  X(HV_WASI_BAD_CONFIG, "the WASI configuration is invalid")                                   \
  /* an import outside the profile, a preview1 function with the wrong signature, no exported \
   * memory "memory" (INVALID_WASM), or an entry point that is not () -> () */                  \
  X(HV_WASI_BAD_MODULE, "the module does not fit the WASI stdio profile")                       \
  /* stdout or stderr went over its capture limit: the program was stopped (EXECUTION_TRAP) */  \
  X(HV_WASI_OUTPUT_TOO_LARGE, "the program wrote more to stdout or stderr than allowed")       \
  /* the engine stopped the execution: err says how (trap, timeout, gas, memory, not found) */  \
  X(HV_WASI_ENGINE, "the engine stopped the execution")                                        \
  /* the host could not allocate (INTERNAL_ERROR) */                                            \
  X(HV_WASI_HOST_MEMORY, "the server ran out of memory")

typedef enum hv_wasi_status {
#define HV_WASI__ENUM(name, text) name,
  HV_WASI_STATUS_MAP(HV_WASI__ENUM)
#undef HV_WASI__ENUM
} hv_wasi_status;

/* "HV_WASI_OK", ...; never NULL. */
const char *hv_wasi_status_name(hv_wasi_status status);
/* The table's text; never NULL. */
const char *hv_wasi_status_text(hv_wasi_status status);

/* ---- Gas: what the WASI functions charge on top of the `call` instruction ------------------
 * Version 1. Charged before the work is done, so a call the budget cannot cover does nothing
 * and ends the execution with HVW_GAS_EXHAUSTED. */
#define HV_WASI_GAS_VERSION 1
#define HV_WASI_GAS_CALL 100u          /* every call of a preview1 function, any outcome */
#define HV_WASI_GAS_IOVEC 10u          /* per iovec of fd_read / fd_write (once the array fits) */
#define HV_WASI_GAS_BYTES_PER_UNIT 64u /* 1 per started 64 bytes moved (stdin, stdout, argv) */
#define HV_WASI_GAS_RANDOM_BYTE 1u     /* per byte of random_get */
#define HV_WASI_GAS_SUBSCRIPTION 20u   /* per subscription of poll_oneoff */

/* ---- Configuration ------------------------------------------------------------------------ */

typedef struct hv_wasi_bytes {
  const uint8_t *data; /* may be NULL when len is 0 */
  size_t len;
} hv_wasi_bytes;

/* The clocks the profile has (preview1 clockid values). */
enum { HV_WASI_CLOCK_REALTIME = 0, HV_WASI_CLOCK_MONOTONIC = 1 };

/* Fills buf[0 .. len) with cryptographically secure random bytes; false if it cannot (the
 * program is then stopped with a trap: it never gets bytes that are not random). Called with
 * len <= 1 MiB at a time. */
typedef bool (*hv_wasi_random_fn)(void *env, uint8_t *buf, size_t len);
/* The time of HV_WASI_CLOCK_REALTIME (ns since 1970-01-01T00:00:00Z) or
 * HV_WASI_CLOCK_MONOTONIC (ns since any fixed point, never decreasing). The layer coarsens what
 * it returns to whole milliseconds before the program sees it. */
typedef uint64_t (*hv_wasi_clock_fn)(void *env, uint32_t clock_id);

typedef struct hv_wasi_config {
  /* argv[0] is the program's name, chosen by the caller; each string is copied, must hold no
   * NUL byte, and all of them with their terminating NULs at most UINT32_MAX bytes */
  const hv_wasi_bytes *argv;
  size_t argc;
  hv_wasi_bytes stdin_bytes;  /* copied: the caller may free it once hv_wasi_new returns */
  size_t max_stdout_bytes;    /* capture limits (the service: wasm.max_result_bytes each) */
  size_t max_stderr_bytes;
  hv_wasi_random_fn random;   /* NULL: getrandom(2) */
  void *random_env;
  hv_wasi_clock_fn clock;     /* NULL: clock_gettime; the monotonic clock then counts from hv_wasi_new */
  void *clock_env;
} hv_wasi_config;

typedef struct hv_wasi_ctx hv_wasi_ctx;

/*
 * Checks that `module` can run under the profile, without a store: every import is a function of
 * module "wasi_snapshot_preview1" whose name is one of preview1's 46 functions, with exactly
 * preview1's core signature; and, when it imports one that takes a pointer, it exports its
 * memory as "memory". HV_WASI_OK or HV_WASI_BAD_MODULE with `detail` (detail_size bytes, may be
 * 0; NUL-terminated) naming the first import at fault: "imports from module \"env\" are not
 * allowed", "\"fd_wrte\" is not a wasi_snapshot_preview1 function", "wasi_snapshot_preview1
 * \"fd_write\" has type (i32) -> i32, preview1 says (i32, i32, i32, i32) -> i32". The detail
 * names things from the program: for the client, not for plaintext logs.
 */
hv_wasi_status hv_wasi_check_module(const hvw_module *module, char *detail, size_t detail_size);

/*
 * A new context from `config` (copied, with argv and stdin: nothing of it need outlive this
 * call). HV_WASI_OK with *out set (free with hv_wasi_free), HV_WASI_BAD_CONFIG (detail says
 * which argument) or HV_WASI_HOST_MEMORY, *out NULL.
 */
hv_wasi_status hv_wasi_new(const hv_wasi_config *config, hv_wasi_ctx **out, char *detail,
                           size_t detail_size);
/* Frees the context and what it captured (unless taken), argv, stdin and the captures wiped
 * first. NULL is fine. The store it was linked
 * into may be freed before or after, but no call into that store may run after this. */
void hv_wasi_free(hv_wasi_ctx *ctx);

/*
 * Makes the imports of `module` in `store` (hv_wasi_check_module first): one host function per
 * import, in import order, in *imports (owned by the context, valid until hv_wasi_free) for
 * hvw_instance_new. A context links once, into one store: a second call is HV_WASI_BAD_CONFIG.
 * HV_WASI_ENGINE if the store refuses a function (err filled), HV_WASI_HOST_MEMORY.
 */
hv_wasi_status hv_wasi_link(hv_wasi_ctx *ctx, hvw_store *store, const hvw_module *module,
                            const hvw_extern **imports, size_t *import_count, hvw_error *err,
                            char *detail, size_t detail_size);

/*
 * Tells the context the instance made with its imports, so the functions reach the program's
 * memory (its export "memory"). Before this, a function that takes a pointer stops the
 * execution with a trap (a start function that calls WASI: a command starts at _start).
 * HV_WASI_BAD_MODULE if the instance exports no memory "memory" but imports such a function.
 */
hv_wasi_status hv_wasi_bind(hv_wasi_ctx *ctx, hvw_instance *instance, char *detail,
                            size_t detail_size);

/*
 * hv_wasi_link, hvw_instance_new (which runs the module's start function, if any) and
 * hv_wasi_bind. HV_WASI_OK with *instance set (owned by the store), or what hv_wasi_link or
 * hv_wasi_bind say, or the outcome of the start function as hv_wasi_outcome maps it (a start
 * function that called proc_exit is HV_WASI_OK with *instance NULL: the program has ended).
 */
hv_wasi_status hv_wasi_instantiate(hv_wasi_ctx *ctx, hvw_store *store, const hvw_module *module,
                                   hvw_instance **instance, hvw_error *err, char *detail,
                                   size_t detail_size);

/*
 * Runs the exported function `name` (NULL: "_start"), which must have type () -> (), and maps
 * the outcome with hv_wasi_outcome. Missing: HV_WASI_ENGINE with err->status HVW_NOT_FOUND;
 * another type: HV_WASI_BAD_MODULE; a context never linked (hv_wasi_link): HV_WASI_BAD_CONFIG.
 * The outcome is sticky: once the program exited or overflowed a capture, every later call's
 * outcome says so too (the program has ended; call nothing more).
 */
hv_wasi_status hv_wasi_run(hv_wasi_ctx *ctx, hvw_instance *instance, const char *name,
                           hvw_error *err, char *detail, size_t detail_size);

/*
 * What the engine's `status` for a call into the program (hvw_func_call, hvw_instance_new) means
 * under the profile: HV_WASI_OK when it returned, or when it trapped because the program called
 * proc_exit (the exit code is in the result); HV_WASI_OUTPUT_TOO_LARGE when a capture went over
 * its limit (err's message says which stream); HV_WASI_HOST_MEMORY when capturing could not
 * allocate; else HV_WASI_ENGINE, with err as the engine filled it. The exit and the overflow are
 * recognised by what the context recorded, not by the message, so a trap the engine rewords
 * (HVW_MEMORY_EXCEEDED after a refused memory.grow) is still an exit.
 */
hv_wasi_status hv_wasi_outcome(const hv_wasi_ctx *ctx, hvw_status status);

/* The execution's results, read from the context: pointers valid until hv_wasi_free or
 * hv_wasi_take_output, whichever comes first. */
typedef struct hv_wasi_result {
  uint32_t exit_code;     /* proc_exit's code; 0 when the function returned */
  bool exited;            /* proc_exit was called */
  const uint8_t *stdout_data; /* NULL when nothing was written */
  size_t stdout_len;      /* <= max_stdout_bytes, always */
  const uint8_t *stderr_data;
  size_t stderr_len;      /* <= max_stderr_bytes, always */
  uint32_t overflowed_fd; /* 1 or 2: the stream that went over its limit (its first max bytes
                           * are kept); 0: none did */
  size_t stdin_consumed;  /* bytes of stdin the program has read */
} hv_wasi_result;
void hv_wasi_get_result(const hv_wasi_ctx *ctx, hv_wasi_result *out);

/* Hands over what was captured of fd 1 or 2: returns a malloc'd buffer the caller frees with
 * free() (NULL when nothing was written, or for another fd) and its length in *len; the context
 * then holds nothing for that stream. */
uint8_t *hv_wasi_take_output(hv_wasi_ctx *ctx, uint32_t fd, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* HV_WASI_H */
