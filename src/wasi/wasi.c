/*
 * wasi.c: the WASI preview1 stdio profile (include/hv_wasi.h, docs/wasi.md).
 *
 * One table (WASI_FUNCTIONS) lists preview1's 46 functions with their core signatures and the
 * handler that serves each; the import check, the linker and the dispatcher are all driven by it.
 * Every import becomes a host function whose env is the context's binding for that table row;
 * the dispatcher charges the call, then runs the handler, which returns the WASI errno in *ret
 * or stops the execution (proc_exit, a capture over its limit, gas) with a status.
 *
 * Guest memory is reached only through wasi_span(), which checks ptr + len against the memory's
 * current size in 64-bit arithmetic. A handler checks every range it will touch, and charges the
 * gas for its work, before it changes anything, so a failed call (EFAULT, EBADF, gas) has no
 * effect: no byte of stdin consumed, none captured, none written to memory.
 */
#include "hv_wasi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define WASI_MODULE_NAME "wasi_snapshot_preview1"
#define WASI_MEMORY_NAME "memory"

/* preview1 errno values (witx `errno`) */
enum {
  WASI_ESUCCESS = 0,
  WASI_EBADF = 8,
  WASI_EFAULT = 21,
  WASI_EINVAL = 28,
  WASI_ENOSYS = 52,
};

/* fdstat, event and subscription fields (witx layouts: fdstat 24 bytes, subscription 48, event 32) */
enum {
  WASI_FILETYPE_UNKNOWN = 0,
  WASI_EVENTTYPE_CLOCK = 0,
  WASI_EVENTTYPE_FD_READ = 1,
  WASI_EVENTTYPE_FD_WRITE = 2,
  WASI_SUBCLOCKFLAGS_ABSTIME = 1,
  WASI_EVENTRWFLAGS_HANGUP = 1,
  WASI_FDSTAT_SIZE = 24,
  WASI_SUBSCRIPTION_SIZE = 48,
  WASI_EVENT_SIZE = 32,
  WASI_IOVEC_SIZE = 8,
};
#define WASI_RIGHTS_FD_READ (UINT64_C(1) << 1)
#define WASI_RIGHTS_FD_WRITE (UINT64_C(1) << 6)
#define WASI_RIGHTS_POLL_FD_READWRITE (UINT64_C(1) << 27)

#define WASI_CLOCK_GRANULARITY_NS UINT64_C(1000000) /* 1 ms */
#define WASI_RANDOM_CHUNK ((size_t)1 << 20)
#define WASI_STDIO_FDS 3

/* ---- Status names and texts ------------------------------------------------------------------ */

static const char *const wasi_status_names[] = {
#define HV_WASI__NAME(name, text) #name,
    HV_WASI_STATUS_MAP(HV_WASI__NAME)
#undef HV_WASI__NAME
};

static const char *const wasi_status_texts[] = {
#define HV_WASI__TEXT(name, text) text,
    HV_WASI_STATUS_MAP(HV_WASI__TEXT)
#undef HV_WASI__TEXT
};

#define WASI_STATUS_COUNT (sizeof wasi_status_names / sizeof wasi_status_names[0])

const char *hv_wasi_status_name(hv_wasi_status status) {
  return (unsigned)status < WASI_STATUS_COUNT ? wasi_status_names[status] : "HV_WASI_UNKNOWN_STATUS";
}

const char *hv_wasi_status_text(hv_wasi_status status) {
  return (unsigned)status < WASI_STATUS_COUNT ? wasi_status_texts[status] : "unknown status";
}

/* ---- The context ------------------------------------------------------------------------------ */

typedef struct wasi_stream {
  uint8_t *data;
  size_t len;
  size_t alloc;
  size_t max;
} wasi_stream;

struct hv_wasi_ctx;

/* The env of every host function made for one table row. */
typedef struct wasi_binding {
  struct hv_wasi_ctx *ctx;
  uint32_t fn;
} wasi_binding;

/* X(name, params, results, handler, takes_pointers): params and results spell the core types,
 * 'i' for i32 and 'I' for i64, as preview1's witx lowers them. In witx order. */
#define WASI_FUNCTIONS(X)                                                 \
  X(args_get, "ii", "i", wasi_args_get, 1)                                \
  X(args_sizes_get, "ii", "i", wasi_args_sizes_get, 1)                    \
  X(environ_get, "ii", "i", wasi_environ_get, 1)                          \
  X(environ_sizes_get, "ii", "i", wasi_environ_sizes_get, 1)              \
  X(clock_res_get, "ii", "i", wasi_clock_res_get, 1)                      \
  X(clock_time_get, "iIi", "i", wasi_clock_time_get, 1)                   \
  X(fd_advise, "iIIi", "i", wasi_fd_nosys, 0)                             \
  X(fd_allocate, "iII", "i", wasi_fd_nosys, 0)                            \
  X(fd_close, "i", "i", wasi_fd_close, 0)                                 \
  X(fd_datasync, "i", "i", wasi_fd_nosys, 0)                              \
  X(fd_fdstat_get, "ii", "i", wasi_fd_fdstat_get, 1)                      \
  X(fd_fdstat_set_flags, "ii", "i", wasi_fd_nosys, 0)                     \
  X(fd_fdstat_set_rights, "iII", "i", wasi_fd_nosys, 0)                   \
  X(fd_filestat_get, "ii", "i", wasi_fd_nosys, 0)                         \
  X(fd_filestat_set_size, "iI", "i", wasi_fd_nosys, 0)                    \
  X(fd_filestat_set_times, "iIIi", "i", wasi_fd_nosys, 0)                 \
  X(fd_pread, "iiiIi", "i", wasi_fd_nosys, 0)                             \
  X(fd_prestat_get, "ii", "i", wasi_badf, 0)                              \
  X(fd_prestat_dir_name, "iii", "i", wasi_badf, 0)                        \
  X(fd_pwrite, "iiiIi", "i", wasi_fd_nosys, 0)                            \
  X(fd_read, "iiii", "i", wasi_fd_read, 1)                                \
  X(fd_readdir, "iiiIi", "i", wasi_fd_nosys, 0)                           \
  X(fd_renumber, "ii", "i", wasi_fd_nosys, 0)                             \
  X(fd_seek, "iIii", "i", wasi_fd_nosys, 0)                               \
  X(fd_sync, "i", "i", wasi_fd_nosys, 0)                                  \
  X(fd_tell, "ii", "i", wasi_fd_nosys, 0)                                 \
  X(fd_write, "iiii", "i", wasi_fd_write, 1)                              \
  X(path_create_directory, "iii", "i", wasi_fd_nosys, 0)                  \
  X(path_filestat_get, "iiiii", "i", wasi_fd_nosys, 0)                    \
  X(path_filestat_set_times, "iiiiIIi", "i", wasi_fd_nosys, 0)            \
  X(path_link, "iiiiiii", "i", wasi_fd_nosys, 0)                          \
  X(path_open, "iiiiiIIii", "i", wasi_fd_nosys, 0)                        \
  X(path_readlink, "iiiiii", "i", wasi_fd_nosys, 0)                       \
  X(path_remove_directory, "iii", "i", wasi_fd_nosys, 0)                  \
  X(path_rename, "iiiiii", "i", wasi_fd_nosys, 0)                         \
  X(path_symlink, "iiiii", "i", wasi_fd_nosys, 0)                         \
  X(path_unlink_file, "iii", "i", wasi_fd_nosys, 0)                       \
  X(poll_oneoff, "iiii", "i", wasi_poll_oneoff, 1)                        \
  X(proc_exit, "i", "", wasi_proc_exit, 0)                                \
  X(proc_raise, "i", "i", wasi_nosys, 0)                                  \
  X(sched_yield, "", "i", wasi_sched_yield, 0)                            \
  X(random_get, "ii", "i", wasi_random_get, 1)                            \
  X(sock_accept, "iii", "i", wasi_fd_nosys, 0)                            \
  X(sock_recv, "iiiiii", "i", wasi_fd_nosys, 0)                           \
  X(sock_send, "iiiii", "i", wasi_fd_nosys, 0)                            \
  X(sock_shutdown, "ii", "i", wasi_fd_nosys, 0)

enum {
#define WASI__INDEX(name, params, results, handler, ptrs) WASI_FN_##name,
  WASI_FUNCTIONS(WASI__INDEX)
#undef WASI__INDEX
  WASI_FN_COUNT
};

struct hv_wasi_ctx {
  /* from the configuration */
  uint8_t *args;          /* the argv strings, each with its NUL */
  uint32_t args_len;
  uint32_t argc;
  uint32_t *arg_offsets;  /* argc offsets into args */
  uint8_t *stdin_data;
  size_t stdin_len;
  size_t stdin_pos;
  wasi_stream out[2];     /* fd 1, fd 2 */
  hv_wasi_random_fn random;
  void *random_env;
  hv_wasi_clock_fn clock;
  void *clock_env;
  uint64_t monotonic_origin; /* the default monotonic clock counts from here */
  bool open[WASI_STDIO_FDS];

  /* linking */
  hvw_store *store;
  hvw_extern *imports;
  size_t import_count;
  bool needs_memory;
  hvw_memory *memory;    /* the instance's export "memory", once bound */
  wasi_binding bindings[WASI_FN_COUNT];

  /* how the execution ended */
  bool exited;
  uint32_t exit_code;
  uint32_t overflowed_fd;
  bool out_of_host_memory;
};

typedef hvw_status (*wasi_handler)(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err);

/* ---- Helpers ---------------------------------------------------------------------------------- */

static void wasi_detail(char *detail, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void wasi_detail(char *detail, size_t size, const char *fmt, ...) {
  if (!detail || size == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, size, fmt, ap);
  va_end(ap);
}

/* A name from the program, made safe to show: printable ASCII only, at most 64 bytes. */
static const char *wasi_safe_name(char out[80], const char *name, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len && n < 64; i++) {
    unsigned char ch = (unsigned char)name[i];
    out[n++] = ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\' ? (char)ch : '?';
  }
  if (len > 64) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}

static hvw_status wasi_fail(hvw_error *err, hvw_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static hvw_status wasi_fail(hvw_error *err, hvw_status status, const char *fmt, ...) {
  if (err) {
    err->status = status;
    err->trap = status == HVW_TRAP ? HVW_TRAP_HOST : HVW_TRAP_NONE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

static hvw_status wasi_charge(hv_wasi_ctx *c, uint64_t gas, const char *fn, hvw_error *err) {
  if (hvw_store_consume_gas(c->store, gas)) return HVW_OK;
  return wasi_fail(err, HVW_GAS_EXHAUSTED, "gas exhausted (in WASI %s)", fn);
}

static uint64_t wasi_byte_units(uint64_t bytes) {
  return bytes / HV_WASI_GAS_BYTES_PER_UNIT + (bytes % HV_WASI_GAS_BYTES_PER_UNIT != 0);
}

/* [ptr, ptr + len) of the program's memory, or NULL when any of it lies outside. */
static uint8_t *wasi_span(const hv_wasi_ctx *c, uint32_t ptr, uint64_t len) {
  uint64_t size = hvw_memory_size_bytes(c->memory);
  if (len > size || ptr > size - len) return NULL;
  return hvw_memory_data(c->memory) + ptr;
}

static uint32_t wasi_load32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t wasi_load64(const uint8_t *p) { return (uint64_t)wasi_load32(p) | (uint64_t)wasi_load32(p + 4) << 32; }

static void wasi_store16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static void wasi_store32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void wasi_store64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t arg_u32(const hvw_value *a, int i) { return (uint32_t)a[i].of.i32; }

static bool wasi_fd_is_open(const hv_wasi_ctx *c, uint32_t fd) { return fd < WASI_STDIO_FDS && c->open[fd]; }

/* ---- Clocks and randomness -------------------------------------------------------------------- */

static uint64_t wasi_clock_gettime(clockid_t id) {
  struct timespec ts;
  if (clock_gettime(id, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* The time the program sees on clock `id` (REALTIME or MONOTONIC), in whole milliseconds. */
static uint64_t wasi_now(const hv_wasi_ctx *c, uint32_t id) {
  uint64_t t;
  if (c->clock) {
    t = c->clock(c->clock_env, id);
  } else if (id == HV_WASI_CLOCK_REALTIME) {
    t = wasi_clock_gettime(CLOCK_REALTIME);
  } else {
    uint64_t now = wasi_clock_gettime(CLOCK_MONOTONIC);
    t = now > c->monotonic_origin ? now - c->monotonic_origin : 0;
  }
  return t - t % WASI_CLOCK_GRANULARITY_NS;
}

static bool wasi_clock_known(uint32_t id) { return id == HV_WASI_CLOCK_REALTIME || id == HV_WASI_CLOCK_MONOTONIC; }

/* The default source: the kernel's CSPRNG, whose short reads and interruptions are retried. */
static bool wasi_getrandom(void *env, uint8_t *buf, size_t len) {
  (void)env;
  while (len > 0) {
    ssize_t n = getrandom(buf, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    buf += n;
    len -= (size_t)n;
  }
  return true;
}

/* ---- The functions ---------------------------------------------------------------------------- */

static hvw_status wasi_args_sizes_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint8_t *count = wasi_span(c, arg_u32(a, 0), 4), *size = wasi_span(c, arg_u32(a, 1), 4);
  if (!count || !size) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  wasi_store32(count, c->argc);
  wasi_store32(size, c->args_len);
  return HVW_OK;
}

static hvw_status wasi_args_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t argv_ptr = arg_u32(a, 0), buf_ptr = arg_u32(a, 1);
  uint8_t *argv = wasi_span(c, argv_ptr, (uint64_t)c->argc * 4), *buf = wasi_span(c, buf_ptr, c->args_len);
  if (!argv || !buf) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  hvw_status st = wasi_charge(c, wasi_byte_units((uint64_t)c->argc * 4 + c->args_len), "args_get", err);
  if (st != HVW_OK) return st;
  /* buf_ptr + args_len fits the memory, so every string's address fits a u32 */
  for (uint32_t i = 0; i < c->argc; i++) wasi_store32(argv + 4 * (size_t)i, buf_ptr + c->arg_offsets[i]);
  if (c->args_len) memmove(buf, c->args, c->args_len);
  return HVW_OK;
}

static hvw_status wasi_environ_sizes_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint8_t *count = wasi_span(c, arg_u32(a, 0), 4), *size = wasi_span(c, arg_u32(a, 1), 4);
  if (!count || !size) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  wasi_store32(count, 0);
  wasi_store32(size, 0);
  return HVW_OK;
}

/* The environment is empty: nothing to write, and zero bytes at any address are in bounds. */
static hvw_status wasi_environ_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  return HVW_OK;
}

static hvw_status wasi_clock_res_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  if (!wasi_clock_known(arg_u32(a, 0))) {
    *ret = WASI_EINVAL;
    return HVW_OK;
  }
  uint8_t *out = wasi_span(c, arg_u32(a, 1), 8);
  if (!out) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  wasi_store64(out, WASI_CLOCK_GRANULARITY_NS);
  return HVW_OK;
}

/* The precision argument (a[1]) is a hint; the answer is always whole milliseconds. */
static hvw_status wasi_clock_time_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t id = arg_u32(a, 0);
  if (!wasi_clock_known(id)) {
    *ret = WASI_EINVAL;
    return HVW_OK;
  }
  uint8_t *out = wasi_span(c, arg_u32(a, 2), 8);
  if (!out) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  wasi_store64(out, wasi_now(c, id));
  return HVW_OK;
}

static hvw_status wasi_fd_close(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t fd = arg_u32(a, 0);
  if (!wasi_fd_is_open(c, fd)) {
    *ret = WASI_EBADF;
    return HVW_OK;
  }
  c->open[fd] = false; /* what was captured stays; the descriptor is gone */
  return HVW_OK;
}

static hvw_status wasi_fd_fdstat_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t fd = arg_u32(a, 0);
  if (!wasi_fd_is_open(c, fd)) {
    *ret = WASI_EBADF;
    return HVW_OK;
  }
  uint8_t *out = wasi_span(c, arg_u32(a, 1), WASI_FDSTAT_SIZE);
  if (!out) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  /* A pipe, as preview1 sees one: filetype unknown (so libc buffers fully: not a terminal), no
   * flags, reading or writing and polling only; nothing to inherit. */
  memset(out, 0, WASI_FDSTAT_SIZE);
  out[0] = WASI_FILETYPE_UNKNOWN;
  wasi_store64(out + 8, (fd == 0 ? WASI_RIGHTS_FD_READ : WASI_RIGHTS_FD_WRITE) | WASI_RIGHTS_POLL_FD_READWRITE);
  return HVW_OK;
}

/*
 * The iovec array at iovs (count entries of {u32 buf, u32 len}): checked to lie in memory, charged
 * per entry, then every entry's buffer checked. *total gets the sum of the lengths (at most
 * 2^29 entries of < 2^32 bytes: no overflow in 64 bits). *ret = EFAULT if anything is outside.
 */
static hvw_status wasi_iovecs(hv_wasi_ctx *c, uint32_t iovs, uint32_t count, const char *fn, const uint8_t **vec,
                               uint64_t *total, int32_t *ret, hvw_error *err) {
  *vec = wasi_span(c, iovs, (uint64_t)count * WASI_IOVEC_SIZE);
  if (!*vec) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  hvw_status st = wasi_charge(c, (uint64_t)count * HV_WASI_GAS_IOVEC, fn, err);
  if (st != HVW_OK) return st;
  *total = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t *v = *vec + (size_t)i * WASI_IOVEC_SIZE;
    uint32_t len = wasi_load32(v + 4);
    if (!wasi_span(c, wasi_load32(v), len)) {
      *ret = WASI_EFAULT;
      return HVW_OK;
    }
    *total += len;
  }
  return HVW_OK;
}

static hvw_status wasi_fd_read(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t fd = arg_u32(a, 0), count = arg_u32(a, 2);
  if (fd != 0 || !wasi_fd_is_open(c, fd)) {
    *ret = WASI_EBADF;
    return HVW_OK;
  }
  uint8_t *nread = wasi_span(c, arg_u32(a, 3), 4);
  if (!nread) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  const uint8_t *vec;
  uint64_t total;
  hvw_status st = wasi_iovecs(c, arg_u32(a, 1), count, "fd_read", &vec, &total, ret, err);
  if (st != HVW_OK || *ret != WASI_ESUCCESS) return st;
  uint64_t left = c->stdin_len - c->stdin_pos;
  uint64_t take = total < left ? total : left;
  if (take > UINT32_MAX) take = UINT32_MAX; /* nread is a u32: a later read gets the rest */
  st = wasi_charge(c, wasi_byte_units(take), "fd_read", err);
  if (st != HVW_OK) return st;
  /* Each iovec is read again as it is used: the bytes read may land on the iovec array itself
   * and change the entries after it. One that no longer fits ends the read there (short). */
  uint64_t done = 0;
  for (uint32_t i = 0; i < count && done < take; i++) {
    const uint8_t *v = vec + (size_t)i * WASI_IOVEC_SIZE;
    uint32_t len = wasi_load32(v + 4);
    size_t n = (size_t)(take - done < len ? take - done : len);
    uint8_t *dst = wasi_span(c, wasi_load32(v), n);
    if (!dst) break;
    if (n) memcpy(dst, c->stdin_data + c->stdin_pos + done, n);
    done += n;
  }
  c->stdin_pos += (size_t)done;
  wasi_store32(nread, (uint32_t)done);
  return HVW_OK;
}

/* Room for `want` more bytes in s (want <= s->max - s->len): grows by doubling, never past max. */
static bool wasi_stream_reserve(wasi_stream *s, size_t want) {
  size_t need = s->len + want;
  if (need <= s->alloc) return true;
  size_t alloc = s->alloc ? s->alloc : 4096;
  while (alloc < need) alloc = alloc > SIZE_MAX / 2 ? SIZE_MAX : alloc * 2;
  if (alloc > s->max) alloc = s->max;
  /* Not realloc: the old buffer holds the program's output and is wiped before it goes. */
  uint8_t *p = malloc(alloc);
  if (!p) return false;
  if (s->len) memcpy(p, s->data, s->len);
  if (s->data) explicit_bzero(s->data, s->alloc);
  free(s->data);
  s->data = p;
  s->alloc = alloc;
  return true;
}

static hvw_status wasi_fd_write(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t fd = arg_u32(a, 0), count = arg_u32(a, 2);
  if ((fd != 1 && fd != 2) || !wasi_fd_is_open(c, fd)) {
    *ret = WASI_EBADF;
    return HVW_OK;
  }
  uint8_t *nwritten = wasi_span(c, arg_u32(a, 3), 4);
  if (!nwritten) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  const uint8_t *vec;
  uint64_t total;
  hvw_status st = wasi_iovecs(c, arg_u32(a, 1), count, "fd_write", &vec, &total, ret, err);
  if (st != HVW_OK || *ret != WASI_ESUCCESS) return st;
  if (total > UINT32_MAX) { /* nwritten is a u32: as writev's EINVAL for a sum it cannot return */
    *ret = WASI_EINVAL;
    return HVW_OK;
  }
  wasi_stream *s = &c->out[fd - 1];
  size_t room = s->max - s->len;
  size_t take = total < room ? (size_t)total : room;
  st = wasi_charge(c, wasi_byte_units(take), "fd_write", err);
  if (st != HVW_OK) return st;
  if (take && !wasi_stream_reserve(s, take)) {
    c->out_of_host_memory = true;
    return wasi_fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory capturing %s", fd == 1 ? "stdout" : "stderr");
  }
  size_t done = 0;
  for (uint32_t i = 0; i < count && done < take; i++) {
    const uint8_t *v = vec + (size_t)i * WASI_IOVEC_SIZE;
    uint32_t len = wasi_load32(v + 4);
    size_t n = take - done < len ? take - done : len;
    const uint8_t *src = wasi_span(c, wasi_load32(v), n); /* checked above; nothing wrote since */
    if (!src) break;
    if (n) memcpy(s->data + s->len, src, n);
    s->len += n;
    done += n;
  }
  if (take < total) {
    c->overflowed_fd = fd;
    return wasi_fail(err, HVW_TRAP, "%s exceeded its limit of %zu bytes",
                     fd == 1 ? "stdout" : "stderr", s->max);
  }
  wasi_store32(nwritten, (uint32_t)total);
  return HVW_OK;
}

static hvw_status wasi_random_get(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t len = arg_u32(a, 1);
  uint8_t *buf = wasi_span(c, arg_u32(a, 0), len);
  if (!buf) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  hvw_status st = wasi_charge(c, (uint64_t)len * HV_WASI_GAS_RANDOM_BYTE, "random_get", err);
  if (st != HVW_OK) return st;
  for (size_t done = 0; done < len;) {
    size_t n = len - done < WASI_RANDOM_CHUNK ? len - done : WASI_RANDOM_CHUNK;
    if (!c->random(c->random_env, buf + done, n))
      return wasi_fail(err, HVW_TRAP, "random_get: the host could not produce random bytes");
    done += n;
  }
  return HVW_OK;
}

/*
 * poll_oneoff(in, out, nsubscriptions, nevents): never blocks. An fd subscription is answered at
 * once (stdin: readable, nbytes what is left, HANGUP at its end; stdout and stderr: writable,
 * nbytes the room left under the cap; anything else: the event's error is EBADF). A clock
 * subscription fires when its time has come, and also whenever there is no fd event at all: the
 * wait it asks for ends at once instead of sleeping (the worker thread is never blocked, and a
 * program polling in a loop pays gas on every call, so it cannot outrun its limits).
 */
static hvw_status wasi_poll_oneoff(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  uint32_t n = arg_u32(a, 2);
  if (n == 0) {
    *ret = WASI_EINVAL;
    return HVW_OK;
  }
  const uint8_t *in = wasi_span(c, arg_u32(a, 0), (uint64_t)n * WASI_SUBSCRIPTION_SIZE);
  uint8_t *out = wasi_span(c, arg_u32(a, 1), (uint64_t)n * WASI_EVENT_SIZE);
  uint8_t *nevents = wasi_span(c, arg_u32(a, 3), 4);
  if (!in || !out || !nevents) {
    *ret = WASI_EFAULT;
    return HVW_OK;
  }
  hvw_status st = wasi_charge(c, (uint64_t)n * HV_WASI_GAS_SUBSCRIPTION, "poll_oneoff", err);
  if (st != HVW_OK) return st;

  /* First pass, reading only: every subscription valid, and is there an fd event? */
  bool fd_event = false;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *sub = in + (size_t)i * WASI_SUBSCRIPTION_SIZE;
    uint8_t tag = sub[8];
    if (tag == WASI_EVENTTYPE_CLOCK) {
      if (!wasi_clock_known(wasi_load32(sub + 16))) {
        *ret = WASI_EINVAL;
        return HVW_OK;
      }
    } else if (tag == WASI_EVENTTYPE_FD_READ || tag == WASI_EVENTTYPE_FD_WRITE) {
      fd_event = true;
    } else {
      *ret = WASI_EINVAL;
      return HVW_OK;
    }
  }
  /* The subscriptions are read again: out may overlap in, and each is read before its event is
   * written; whatever the program arranged, every access stays inside the checked ranges. */
  uint64_t now[2] = {wasi_now(c, HV_WASI_CLOCK_REALTIME), wasi_now(c, HV_WASI_CLOCK_MONOTONIC)};
  uint32_t events = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *sub = in + (size_t)i * WASI_SUBSCRIPTION_SIZE;
    uint64_t userdata = wasi_load64(sub);
    uint8_t tag = sub[8];
    uint16_t error = WASI_ESUCCESS, flags = 0;
    uint64_t nbytes = 0;
    if (tag == WASI_EVENTTYPE_CLOCK) {
      uint32_t id = wasi_load32(sub + 16);
      uint64_t timeout = wasi_load64(sub + 24);
      bool abstime = (sub[40] & WASI_SUBCLOCKFLAGS_ABSTIME) != 0;
      bool due = abstime ? wasi_clock_known(id) && timeout <= now[id] : timeout == 0;
      if (!due && fd_event) continue;
    } else if (tag == WASI_EVENTTYPE_FD_READ || tag == WASI_EVENTTYPE_FD_WRITE) {
      uint32_t fd = wasi_load32(sub + 16);
      if (tag == WASI_EVENTTYPE_FD_READ && fd == 0 && wasi_fd_is_open(c, 0)) {
        nbytes = c->stdin_len - c->stdin_pos;
        if (nbytes == 0) flags = WASI_EVENTRWFLAGS_HANGUP;
      } else if (tag == WASI_EVENTTYPE_FD_WRITE && (fd == 1 || fd == 2) && wasi_fd_is_open(c, fd)) {
        nbytes = c->out[fd - 1].max - c->out[fd - 1].len;
      } else {
        error = WASI_EBADF;
      }
    } else {
      continue; /* changed under us by an overlapping event: not a subscription any more */
    }
    uint8_t *ev = out + (size_t)events * WASI_EVENT_SIZE;
    memset(ev, 0, WASI_EVENT_SIZE);
    wasi_store64(ev, userdata);
    wasi_store16(ev + 8, error);
    ev[10] = tag;
    wasi_store64(ev + 16, nbytes);
    wasi_store16(ev + 24, flags);
    events++;
  }
  wasi_store32(nevents, events);
  return HVW_OK;
}

/* proc_exit: the execution ends here, cleanly. The trap unwinds every WebAssembly frame; the
 * context remembers the exit, which is how hv_wasi_outcome tells it from a real trap. */
static hvw_status wasi_proc_exit(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  c->exited = true;
  c->exit_code = arg_u32(a, 0);
  return wasi_fail(err, HVW_TRAP, "the program exited with proc_exit(%u)", c->exit_code);
}

static hvw_status wasi_sched_yield(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  return HVW_OK;
}

/* Functions outside the profile. Those that take a descriptor first say EBADF for one that is
 * not open (everything but 0-2, and those once closed), ENOSYS for an open one. */
static hvw_status wasi_fd_nosys(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  *ret = wasi_fd_is_open(c, arg_u32(a, 0)) ? WASI_ENOSYS : WASI_EBADF;
  return HVW_OK;
}

static hvw_status wasi_nosys(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  *ret = WASI_ENOSYS;
  return HVW_OK;
}

/* fd_prestat_*: no descriptor is a preopened directory, so libc's start-up finds none. */
static hvw_status wasi_badf(hv_wasi_ctx *c, const hvw_value *a, int32_t *ret, hvw_error *err) {
  *ret = WASI_EBADF;
  return HVW_OK;
}

/* ---- The table -------------------------------------------------------------------------------- */

typedef struct wasi_function {
  const char *name;
  const char *params;
  const char *results;
  wasi_handler handler;
  bool takes_pointers;
} wasi_function;

static const wasi_function wasi_functions[WASI_FN_COUNT] = {
#define WASI__ROW(name, params, results, handler, ptrs) {#name, params, results, handler, ptrs},
    WASI_FUNCTIONS(WASI__ROW)
#undef WASI__ROW
};

/* Every import's host function: charges the call, then the handler does the rest. */
static hvw_status wasi_dispatch(void *env, const hvw_value *args, hvw_value *results, hvw_error *err) {
  const wasi_binding *b = env;
  hv_wasi_ctx *c = b->ctx;
  const wasi_function *f = &wasi_functions[b->fn];
  hvw_status st = wasi_charge(c, HV_WASI_GAS_CALL, f->name, err);
  if (st != HVW_OK) return st;
  if (f->takes_pointers && !c->memory)
    return wasi_fail(err, HVW_TRAP, "WASI %s was called before the program's memory was known (from a start "
                     "function? a WASI command starts at _start)", f->name);
  int32_t ret = WASI_ESUCCESS;
  st = f->handler(c, args, &ret, err);
  if (st == HVW_OK && f->results[0]) results[0].of.i32 = ret;
  return st;
}

static hvw_valtype wasi_valtype(char code) { return code == 'I' ? HVW_TYPE_I64 : HVW_TYPE_I32; }

/* The row of the import named name (len bytes), or -1. */
static int wasi_find(const char *name, size_t len) {
  for (int i = 0; i < WASI_FN_COUNT; i++)
    if (strlen(wasi_functions[i].name) == len && memcmp(wasi_functions[i].name, name, len) == 0) return i;
  return -1;
}

static bool wasi_types_match(const char *codes, uint32_t count, const hvw_valtype *types) {
  if (strlen(codes) != count) return false;
  for (uint32_t i = 0; i < count; i++)
    if (types[i] != wasi_valtype(codes[i])) return false;
  return true;
}

/* Appends to out (size bytes, NUL-terminated) as far as it fits. */
static void wasi_append(char *out, size_t size, const char *text) {
  size_t n = strlen(out), m = strlen(text);
  if (n + 1 >= size) return;
  if (m > size - n - 1) m = size - n - 1;
  memcpy(out + n, text, m);
  out[n + m] = '\0';
}

/* "(i32, i64) -> i32" into out; long lists are cut with "...". */
static const char *wasi_type_text(char out[160], uint32_t np, const hvw_valtype *params, uint32_t nr,
                                  const hvw_valtype *results) {
  out[0] = '\0';
  wasi_append(out, 160, "(");
  for (uint32_t i = 0; i < np; i++) {
    if (i == 12) {
      wasi_append(out, 160, ", ...");
      break;
    }
    const char *t = hvw_valtype_name(params[i]);
    if (i) wasi_append(out, 160, ", ");
    wasi_append(out, 160, t ? t : "?");
  }
  wasi_append(out, 160, ") -> ");
  if (nr == 0) wasi_append(out, 160, "()");
  for (uint32_t i = 0; i < nr; i++) {
    if (i == 4) {
      wasi_append(out, 160, ", ...");
      break;
    }
    const char *t = hvw_valtype_name(results[i]);
    if (i) wasi_append(out, 160, ", ");
    wasi_append(out, 160, t ? t : "?");
  }
  return out;
}

static const char *wasi_row_type_text(char out[160], const wasi_function *f) {
  hvw_valtype p[16], r[1];
  uint32_t np = (uint32_t)strlen(f->params), nr = (uint32_t)strlen(f->results);
  for (uint32_t i = 0; i < np; i++) p[i] = wasi_valtype(f->params[i]);
  if (nr) r[0] = HVW_TYPE_I32;
  return wasi_type_text(out, np, p, nr, r);
}

/* ---- Checking and linking --------------------------------------------------------------------- */

static bool wasi_exports_memory(const hvw_module *module) {
  uint32_t n = hvw_module_export_count(module);
  for (uint32_t i = 0; i < n; i++) {
    hvw_export_info e;
    if (hvw_module_export(module, i, &e) && e.type.kind == HVW_EXTERN_MEMORY &&
        e.name_len == strlen(WASI_MEMORY_NAME) && memcmp(e.name, WASI_MEMORY_NAME, e.name_len) == 0)
      return true;
  }
  return false;
}

/* The import check; *needs_memory says whether an imported function takes pointers. */
static hv_wasi_status wasi_check(const hvw_module *module, bool *needs_memory, char *detail, size_t detail_size) {
  *needs_memory = false;
  char name[80], t1[160], t2[160];
  uint32_t n = hvw_module_import_count(module);
  for (uint32_t i = 0; i < n; i++) {
    hvw_import_info imp;
    if (!hvw_module_import(module, i, &imp)) {
      wasi_detail(detail, detail_size, "import %u cannot be read", i);
      return HV_WASI_BAD_MODULE;
    }
    if (imp.module_name_len != strlen(WASI_MODULE_NAME) ||
        memcmp(imp.module_name, WASI_MODULE_NAME, imp.module_name_len) != 0) {
      wasi_detail(detail, detail_size, "imports from module \"%s\" are not allowed (only %s)",
                  wasi_safe_name(name, imp.module_name, imp.module_name_len), WASI_MODULE_NAME);
      return HV_WASI_BAD_MODULE;
    }
    int row = wasi_find(imp.name, imp.name_len);
    if (row < 0) {
      wasi_detail(detail, detail_size, "\"%s\" is not a %s function",
                  wasi_safe_name(name, imp.name, imp.name_len), WASI_MODULE_NAME);
      return HV_WASI_BAD_MODULE;
    }
    const wasi_function *f = &wasi_functions[row];
    if (imp.type.kind != HVW_EXTERN_FUNC) {
      wasi_detail(detail, detail_size, "%s \"%s\" is imported as a %s; it is a function", WASI_MODULE_NAME, f->name,
                  imp.type.kind == HVW_EXTERN_MEMORY ? "memory" : imp.type.kind == HVW_EXTERN_TABLE ? "table" : "global");
      return HV_WASI_BAD_MODULE;
    }
    const hvw_functype_view *ft = &imp.type.func;
    if (!wasi_types_match(f->params, ft->param_count, ft->params) ||
        !wasi_types_match(f->results, ft->result_count, ft->results)) {
      wasi_detail(detail, detail_size, "%s \"%s\" has type %s, preview1 says %s", WASI_MODULE_NAME, f->name,
                  wasi_type_text(t1, ft->param_count, ft->params, ft->result_count, ft->results),
                  wasi_row_type_text(t2, f));
      return HV_WASI_BAD_MODULE;
    }
    if (f->takes_pointers) *needs_memory = true;
  }
  if (*needs_memory && !wasi_exports_memory(module)) {
    wasi_detail(detail, detail_size, "the module imports WASI functions that take pointers but exports no memory \"%s\"",
                WASI_MEMORY_NAME);
    return HV_WASI_BAD_MODULE;
  }
  return HV_WASI_OK;
}

hv_wasi_status hv_wasi_check_module(const hvw_module *module, char *detail, size_t detail_size) {
  wasi_detail(detail, detail_size, "%s", "");
  bool needs_memory;
  return wasi_check(module, &needs_memory, detail, detail_size);
}

hv_wasi_status hv_wasi_new(const hv_wasi_config *config, hv_wasi_ctx **out, char *detail, size_t detail_size) {
  wasi_detail(detail, detail_size, "%s", "");
  *out = NULL;
  if (!config || (config->argc && !config->argv) || (config->stdin_bytes.len && !config->stdin_bytes.data)) {
    wasi_detail(detail, detail_size, "no configuration, or a length without its bytes");
    return HV_WASI_BAD_CONFIG;
  }
  uint64_t args_len = 0;
  for (size_t i = 0; i < config->argc; i++) {
    const hv_wasi_bytes *arg = &config->argv[i];
    if (arg->len && !arg->data) {
      wasi_detail(detail, detail_size, "argv[%zu] has a length but no bytes", i);
      return HV_WASI_BAD_CONFIG;
    }
    if (arg->len && memchr(arg->data, '\0', arg->len)) {
      wasi_detail(detail, detail_size, "argv[%zu] contains a NUL byte", i);
      return HV_WASI_BAD_CONFIG;
    }
    args_len += (uint64_t)arg->len + 1;
    if (args_len > UINT32_MAX) {
      wasi_detail(detail, detail_size, "argv is larger than a 32-bit program can hold");
      return HV_WASI_BAD_CONFIG;
    }
  }

  hv_wasi_ctx *c = calloc(1, sizeof *c);
  if (!c) return HV_WASI_HOST_MEMORY;
  c->argc = (uint32_t)config->argc;
  c->args_len = (uint32_t)args_len;
  c->args = args_len ? malloc((size_t)args_len) : NULL;
  c->arg_offsets = c->argc ? malloc((size_t)c->argc * sizeof *c->arg_offsets) : NULL;
  c->stdin_len = config->stdin_bytes.len;
  c->stdin_data = c->stdin_len ? malloc(c->stdin_len) : NULL;
  if ((args_len && !c->args) || (c->argc && !c->arg_offsets) || (c->stdin_len && !c->stdin_data)) {
    hv_wasi_free(c);
    return HV_WASI_HOST_MEMORY;
  }
  uint32_t at = 0;
  for (uint32_t i = 0; i < c->argc; i++) {
    const hv_wasi_bytes *arg = &config->argv[i];
    c->arg_offsets[i] = at;
    if (arg->len) memcpy(c->args + at, arg->data, arg->len);
    at += (uint32_t)arg->len;
    c->args[at++] = '\0';
  }
  if (c->stdin_len) memcpy(c->stdin_data, config->stdin_bytes.data, c->stdin_len);
  c->out[0].max = config->max_stdout_bytes;
  c->out[1].max = config->max_stderr_bytes;
  c->random = config->random ? config->random : wasi_getrandom;
  c->random_env = config->random ? config->random_env : NULL;
  c->clock = config->clock;
  c->clock_env = config->clock_env;
  c->monotonic_origin = wasi_clock_gettime(CLOCK_MONOTONIC);
  for (int fd = 0; fd < WASI_STDIO_FDS; fd++) c->open[fd] = true;
  for (uint32_t i = 0; i < WASI_FN_COUNT; i++) c->bindings[i] = (wasi_binding){c, i};
  *out = c;
  return HV_WASI_OK;
}

void hv_wasi_free(hv_wasi_ctx *ctx) {
  if (!ctx) return;
  /* argv and stdin are the client's, the output the program's: wiped before they are freed. */
  if (ctx->args) explicit_bzero(ctx->args, ctx->args_len);
  if (ctx->stdin_data) explicit_bzero(ctx->stdin_data, ctx->stdin_len);
  for (int k = 0; k < 2; k++)
    if (ctx->out[k].data) explicit_bzero(ctx->out[k].data, ctx->out[k].alloc);
  free(ctx->args);
  free(ctx->arg_offsets);
  free(ctx->stdin_data);
  free(ctx->out[0].data);
  free(ctx->out[1].data);
  free(ctx->imports);
  free(ctx);
}

hv_wasi_status hv_wasi_link(hv_wasi_ctx *ctx, hvw_store *store, const hvw_module *module,
                            const hvw_extern **imports, size_t *import_count, hvw_error *err, char *detail,
                            size_t detail_size) {
  wasi_detail(detail, detail_size, "%s", "");
  *imports = NULL;
  *import_count = 0;
  if (ctx->store) {
    wasi_detail(detail, detail_size, "this WASI context is already linked into a store");
    return HV_WASI_BAD_CONFIG;
  }
  hv_wasi_status ws = wasi_check(module, &ctx->needs_memory, detail, detail_size);
  if (ws != HV_WASI_OK) return ws;
  uint32_t n = hvw_module_import_count(module);
  hvw_extern *x = n ? calloc(n, sizeof *x) : NULL;
  if (n && !x) return HV_WASI_HOST_MEMORY;
  for (uint32_t i = 0; i < n; i++) {
    hvw_import_info imp;
    hvw_module_import(module, i, &imp); /* read by wasi_check already */
    int row = wasi_find(imp.name, imp.name_len);
    x[i].kind = HVW_EXTERN_FUNC;
    x[i].of.func = hvw_func_new_host(store, imp.type.func, wasi_dispatch, &ctx->bindings[row], err);
    if (!x[i].of.func) {
      free(x);
      wasi_detail(detail, detail_size, "the store refused the host function for %s", wasi_functions[row].name);
      return HV_WASI_ENGINE;
    }
  }
  ctx->store = store;
  ctx->imports = x;
  ctx->import_count = n;
  *imports = x;
  *import_count = n;
  return HV_WASI_OK;
}

hv_wasi_status hv_wasi_bind(hv_wasi_ctx *ctx, hvw_instance *instance, char *detail, size_t detail_size) {
  wasi_detail(detail, detail_size, "%s", "");
  hvw_extern mem;
  if (hvw_instance_export(instance, WASI_MEMORY_NAME, strlen(WASI_MEMORY_NAME), &mem) &&
      mem.kind == HVW_EXTERN_MEMORY) {
    ctx->memory = mem.of.memory;
  } else if (ctx->needs_memory) {
    wasi_detail(detail, detail_size, "the instance exports no memory \"%s\"", WASI_MEMORY_NAME);
    return HV_WASI_BAD_MODULE;
  }
  return HV_WASI_OK;
}

hv_wasi_status hv_wasi_outcome(const hv_wasi_ctx *ctx, hvw_status status) {
  if (ctx->exited) return HV_WASI_OK;
  if (ctx->overflowed_fd) return HV_WASI_OUTPUT_TOO_LARGE;
  if (ctx->out_of_host_memory) return HV_WASI_HOST_MEMORY;
  return status == HVW_OK ? HV_WASI_OK : HV_WASI_ENGINE;
}

hv_wasi_status hv_wasi_instantiate(hv_wasi_ctx *ctx, hvw_store *store, const hvw_module *module,
                                   hvw_instance **instance, hvw_error *err, char *detail, size_t detail_size) {
  *instance = NULL;
  const hvw_extern *imports;
  size_t count;
  hv_wasi_status ws = hv_wasi_link(ctx, store, module, &imports, &count, err, detail, detail_size);
  if (ws != HV_WASI_OK) return ws;
  hvw_error local;
  if (!err) err = &local;
  hvw_instance *inst = hvw_instance_new(store, module, imports, count, err);
  if (!inst) return hv_wasi_outcome(ctx, err->status); /* a start function's proc_exit: OK */
  ws = hv_wasi_bind(ctx, inst, detail, detail_size);
  if (ws == HV_WASI_OK) *instance = inst;
  return ws;
}

hv_wasi_status hv_wasi_run(hv_wasi_ctx *ctx, hvw_instance *instance, const char *name, hvw_error *err,
                           char *detail, size_t detail_size) {
  wasi_detail(detail, detail_size, "%s", "");
  if (!name) name = "_start";
  if (!ctx->store) {
    wasi_detail(detail, detail_size, "this WASI context was never linked into a store");
    return HV_WASI_BAD_CONFIG;
  }
  hvw_extern fn;
  if (!hvw_instance_export(instance, name, strlen(name), &fn) || fn.kind != HVW_EXTERN_FUNC) {
    if (err) wasi_fail(err, HVW_NOT_FOUND, "no exported function '%.64s'", name);
    wasi_detail(detail, detail_size, "no exported function '%.64s'", name);
    return HV_WASI_ENGINE;
  }
  hvw_functype_view ft = hvw_func_type(fn.of.func);
  if (ft.param_count != 0 || ft.result_count != 0) {
    wasi_detail(detail, detail_size, "the entry point '%.64s' must have type () -> ()", name);
    return HV_WASI_BAD_MODULE;
  }
  hvw_status st = hvw_func_call(ctx->store, fn.of.func, NULL, 0, NULL, 0, err);
  return hv_wasi_outcome(ctx, st);
}

void hv_wasi_get_result(const hv_wasi_ctx *ctx, hv_wasi_result *out) {
  memset(out, 0, sizeof *out);
  out->exit_code = ctx->exit_code;
  out->exited = ctx->exited;
  out->stdout_data = ctx->out[0].len ? ctx->out[0].data : NULL;
  out->stdout_len = ctx->out[0].len;
  out->stderr_data = ctx->out[1].len ? ctx->out[1].data : NULL;
  out->stderr_len = ctx->out[1].len;
  out->overflowed_fd = ctx->overflowed_fd;
  out->stdin_consumed = ctx->stdin_pos;
}

uint8_t *hv_wasi_take_output(hv_wasi_ctx *ctx, uint32_t fd, size_t *len) {
  *len = 0;
  if (fd != 1 && fd != 2) return NULL;
  wasi_stream *s = &ctx->out[fd - 1];
  uint8_t *data = s->len ? s->data : NULL;
  *len = s->len;
  if (!data) free(s->data);
  s->data = NULL;
  s->len = 0;
  s->alloc = 0;
  return data;
}
