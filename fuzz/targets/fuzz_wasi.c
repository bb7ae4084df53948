/*
 * fuzz_wasi.c: the WASI stdio profile (include/hv_wasi.h) called with whatever the input says.
 *
 * The guest is tests/wasi/wat/all.wat (compiled in as fuzz_wasi_wasm.h at build time): every
 * preview1 function re-exported under its own name, plus "grow". The input sets the capture limit,
 * stdin and the first bytes of memory, then makes up to 64 calls, each a function and its
 * arguments, drawn to hit the edges: small offsets, pointers into the filled bytes, pointers just
 * before the end of memory, values that wrap, raw 32- and 64-bit values.
 *
 * Input: [flags] [limit u16] [stdin length u16] [stdin] [fill length u16] [fill] then per call
 * [function] and per parameter [kind] [value bytes].
 *
 * Checks (ASan and UBSan catch any access outside memory): every call ends with an errno of the
 * profile's (0, EBADF, EFAULT, EINVAL, ENOSYS), a gas exhaustion, or a trap the context can
 * account for (proc_exit, a capture over its limit); a capture never exceeds its limit; stdin is
 * consumed exactly by what fd_read reports, never past its end; an fd_write that succeeds appends
 * exactly the bytes its iovecs held before the call (computed here, independently) and reports
 * their count, and one whose iovecs were out of bounds is EFAULT; a function outside the profile
 * answers ENOSYS for an open descriptor and EBADF for any other (this file tracks fd_close).
 *
 * HV_FUZZ_WASI_VERBOSE=1 prints each call and its outcome on stderr (to see what a seed does).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "fuzz_wasi_wasm.h"
#include "hv_wasi.h"

#define WASI_GAS 20000000
#define WASI_MAX_CALLS 64
#define WASI_MAX_PAGES 8

static hvw_module *guest;

/* The exports, in all.wat's order, and which of them answer only ENOSYS or EBADF by descriptor. */
static const struct {
  const char *name;
  bool fd_nosys;
} exports[] = {
    {"args_get", 0}, {"args_sizes_get", 0}, {"environ_get", 0}, {"environ_sizes_get", 0},
    {"clock_res_get", 0}, {"clock_time_get", 0}, {"fd_advise", 1}, {"fd_allocate", 1},
    {"fd_close", 0}, {"fd_datasync", 1}, {"fd_fdstat_get", 0}, {"fd_fdstat_set_flags", 1},
    {"fd_fdstat_set_rights", 1}, {"fd_filestat_get", 1}, {"fd_filestat_set_size", 1},
    {"fd_filestat_set_times", 1}, {"fd_pread", 1}, {"fd_prestat_get", 0}, {"fd_prestat_dir_name", 0},
    {"fd_pwrite", 1}, {"fd_read", 0}, {"fd_readdir", 1}, {"fd_renumber", 1}, {"fd_seek", 1},
    {"fd_sync", 1}, {"fd_tell", 1}, {"fd_write", 0}, {"path_create_directory", 1},
    {"path_filestat_get", 1}, {"path_filestat_set_times", 1}, {"path_link", 1}, {"path_open", 1},
    {"path_readlink", 1}, {"path_remove_directory", 1}, {"path_rename", 1}, {"path_symlink", 1},
    {"path_unlink_file", 1}, {"poll_oneoff", 0}, {"proc_exit", 0}, {"proc_raise", 0},
    {"sched_yield", 0}, {"random_get", 0}, {"sock_accept", 1}, {"sock_recv", 1}, {"sock_send", 1},
    {"sock_shutdown", 1}, {"grow", 0},
};
#define EXPORT_COUNT (sizeof exports / sizeof exports[0])

static bool fuzz_random(void *env, uint8_t *buf, size_t len) {
  (void)env;
  memset(buf, 0xA5, len);
  return true;
}

static uint64_t fuzz_clock(void *env, uint32_t id) {
  (void)env;
  return id == HV_WASI_CLOCK_REALTIME ? 1700000000000000000ull : 123456789ull;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hvw_error err;
  guest = hvw_module_load(fuzz_wasi_wasm, sizeof fuzz_wasi_wasm, &err);
  FUZZ_CHECK(guest != NULL, "the guest does not load: %s", err.message);
  char detail[256];
  FUZZ_CHECK(hv_wasi_check_module(guest, detail, sizeof detail) == HV_WASI_OK, "refused: %s", detail);
  return 0;
}

static uint32_t load_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One argument, biased towards the values that matter for bounds. */
static int64_t draw_arg(fuzz_cursor *c, uint64_t mem_size, size_t fill_len) {
  uint8_t kind = fuzz_u8(c);
  switch (kind % 8) {
    case 0: return fuzz_u8(c);
    case 1: return fuzz_u16(c);
    case 2: return (int64_t)(mem_size - fuzz_u8(c));                 /* near the end */
    case 3: return fill_len ? fuzz_u16(c) % (fill_len + 1) : 0;      /* inside the filled bytes */
    case 4: return (int64_t)(0xFFFFFFFFu - fuzz_u8(c));              /* wraps */
    case 5: return (int64_t)((uint32_t)fuzz_u16(c) << 16 | fuzz_u16(c));
    case 6: return (int64_t)((uint64_t)fuzz_u16(c) << 48 | (uint64_t)fuzz_u16(c) << 32 |
                             (uint64_t)fuzz_u16(c) << 16 | fuzz_u16(c));
    default: return (int64_t)(kind >> 3);                            /* 0..31: descriptors, counts */
  }
}

/* What fd_write(fd, iovs, n, _) must append, from memory as it is before the call: false if an
 * iovec or the array lies outside (EFAULT). Sets *len; copies at most cap bytes into out. */
static bool expected_write(const uint8_t *mem, uint64_t size, uint32_t iovs, uint32_t n, uint8_t *out, size_t cap,
                           uint64_t *len) {
  *len = 0;
  if ((uint64_t)iovs + (uint64_t)n * 8 > size) return false;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t buf = load_u32(mem + iovs + 8 * (size_t)i), blen = load_u32(mem + iovs + 8 * (size_t)i + 4);
    if ((uint64_t)buf + blen > size) return false;
    for (uint32_t k = 0; k < blen && *len + k < cap; k++) out[*len + k] = mem[buf + k];
    *len += blen;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_cursor c = {data, size};
  uint8_t flags = fuzz_u8(&c);
  size_t limit = fuzz_u16(&c);
  if (flags & 1) limit >>= 8; /* often tiny */
  size_t stdin_len;
  const uint8_t *stdin_data = fuzz_bytes(&c, fuzz_u16(&c) % 4096, &stdin_len);
  size_t fill_len;
  const uint8_t *fill = fuzz_bytes(&c, fuzz_u16(&c) % 8192, &fill_len);

  static const hv_wasi_bytes argv[] = {{(const uint8_t *)"fuzz", 4}, {(const uint8_t *)"-x", 2}, {NULL, 0}};
  hv_wasi_config cfg = {.argv = argv, .argc = 3, .stdin_bytes = {stdin_data, stdin_len},
                        .max_stdout_bytes = limit, .max_stderr_bytes = limit / 2 + 1,
                        .random = fuzz_random, .clock = fuzz_clock};
  hv_wasi_ctx *ctx;
  FUZZ_CHECK(hv_wasi_new(&cfg, &ctx, NULL, 0) == HV_WASI_OK, "hv_wasi_new failed");
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.gas_limit = WASI_GAS;
  lim.max_memory_pages = WASI_MAX_PAGES;
  lim.max_call_depth = 16;   /* the forwarders are one frame deep: small stacks, quick stores */
  lim.max_stack_cells = 4096;
  hvw_error err;
  hvw_store *store = hvw_store_new(&lim, &err);
  FUZZ_CHECK(store != NULL, "no store");
  hvw_instance *inst;
  FUZZ_CHECK(hv_wasi_instantiate(ctx, store, guest, &inst, &err, NULL, 0) == HV_WASI_OK && inst,
             "instantiation failed: %s", err.message);
  hvw_extern ext;
  FUZZ_CHECK(hvw_instance_export(inst, "memory", 6, &ext), "no memory");
  hvw_memory *memory = ext.of.memory;
  memcpy(hvw_memory_data(memory), fill, fill_len);

  static uint8_t expect[1 << 16];
  bool verbose = getenv("HV_FUZZ_WASI_VERBOSE") != NULL;
  bool open[3] = {true, true, true};
  for (int call = 0; call < WASI_MAX_CALLS && c.n > 0; call++) {
    size_t which = fuzz_u8(&c) % EXPORT_COUNT;
    const char *name = exports[which].name;
    FUZZ_CHECK(hvw_instance_export(inst, name, strlen(name), &ext), "no export %s", name);
    hvw_functype_view ft = hvw_func_type(ext.of.func);
    uint8_t *mem = hvw_memory_data(memory);
    uint64_t mem_size = hvw_memory_size_bytes(memory);
    hvw_value args[16], res[1];
    int64_t raw[16];
    for (uint32_t i = 0; i < ft.param_count; i++) {
      raw[i] = draw_arg(&c, mem_size, fill_len);
      args[i].type = ft.params[i];
      if (ft.params[i] == HVW_TYPE_I64) args[i].of.i64 = raw[i];
      else args[i].of.i32 = (int32_t)(uint32_t)raw[i];
    }

    hv_wasi_result before;
    hv_wasi_get_result(ctx, &before);
    bool is_write = strcmp(name, "fd_write") == 0, is_read = strcmp(name, "fd_read") == 0;
    uint64_t want_len = 0;
    bool want_ok = false;
    uint32_t fd = ft.param_count ? (uint32_t)args[0].of.i32 : 0;
    if (is_write)
      want_ok = expected_write(mem, mem_size, (uint32_t)args[1].of.i32, (uint32_t)args[2].of.i32, expect,
                               sizeof expect, &want_len);

    hvw_status st = hvw_func_call(store, ext.of.func, args, ft.param_count, res, ft.result_count, &err);
    hv_wasi_result after;
    hv_wasi_get_result(ctx, &after);
    if (verbose) {
      fprintf(stderr, "%s(", name);
      for (uint32_t i = 0; i < ft.param_count; i++) fprintf(stderr, "%s%lld", i ? ", " : "", (long long)raw[i]);
      fprintf(stderr, ") = %s %d %s\n", hvw_status_name(st), st == HVW_OK && ft.result_count ? res[0].of.i32 : 0,
              st == HVW_OK ? "" : err.message);
    }
    FUZZ_CHECK(after.stdout_len <= limit && after.stderr_len <= limit / 2 + 1, "a capture over its limit");
    FUZZ_CHECK(after.stdin_consumed <= stdin_len && after.stdin_consumed >= before.stdin_consumed,
               "stdin consumed %zu of %zu", after.stdin_consumed, stdin_len);
    if (st != HVW_OK) {
      hv_wasi_status ws = hv_wasi_outcome(ctx, st);
      FUZZ_CHECK(st == HVW_GAS_EXHAUSTED || (st == HVW_TRAP && ws != HV_WASI_ENGINE),
                 "%s: %s (%s)", name, hvw_status_name(st), err.message);
      if (after.overflowed_fd) {
        FUZZ_CHECK(is_write && after.overflowed_fd == fd, "overflow of fd %u in %s", after.overflowed_fd, name);
        size_t lim_fd = fd == 1 ? limit : limit / 2 + 1;
        const uint8_t *cap = fd == 1 ? after.stdout_data : after.stderr_data;
        size_t before_len = fd == 1 ? before.stdout_len : before.stderr_len;
        FUZZ_CHECK((fd == 1 ? after.stdout_len : after.stderr_len) == lim_fd, "an overflow short of the limit");
        FUZZ_CHECK(want_ok && before_len + want_len > lim_fd, "an overflow that fits");
        FUZZ_CHECK(lim_fd == before_len || memcmp(cap + before_len, expect, lim_fd - before_len) == 0,
                   "the bytes kept at the limit are not the program's");
      }
      break; /* the program has ended (exit, limit, gas) */
    }
    if (ft.result_count == 0) continue; /* grow */
    if (strcmp(name, "grow") == 0) continue;
    int32_t ret = res[0].of.i32;
    FUZZ_CHECK(ret == 0 || ret == 8 || ret == 21 || ret == 28 || ret == 52, "%s returned errno %d", name, ret);
    if (exports[which].fd_nosys) {
      bool is_open = fd < 3 && open[fd];
      FUZZ_CHECK(ret == (is_open ? 52 : 8), "%s(%u) returned %d", name, fd, ret);
    }
    if (strcmp(name, "fd_close") == 0 && ret == 0) {
      FUZZ_CHECK(fd < 3 && open[fd], "closed fd %u twice", fd);
      open[fd] = false;
    }
    if (is_read) {
      size_t got = after.stdin_consumed - before.stdin_consumed;
      if (ret == 0) FUZZ_CHECK(load_u32(mem + (uint32_t)args[3].of.i32) == got, "fd_read reported a wrong count");
      else FUZZ_CHECK(got == 0, "a failed fd_read consumed stdin");
    }
    if (is_write) {
      const uint8_t *cap = fd == 1 ? after.stdout_data : after.stderr_data;
      size_t grew = fd == 1 ? after.stdout_len - before.stdout_len : fd == 2 ? after.stderr_len - before.stderr_len : 0;
      bool is_open = (fd == 1 || fd == 2) && open[fd];
      if (!is_open) FUZZ_CHECK(ret == 8, "fd_write on fd %u: %d", fd, ret);
      if (ret == 0) {
        FUZZ_CHECK(want_ok, "an fd_write the reference says is out of bounds succeeded");
        FUZZ_CHECK(grew == want_len, "fd_write appended %zu bytes of %llu", grew, (unsigned long long)want_len);
        FUZZ_CHECK(load_u32(mem + (uint32_t)args[3].of.i32) == want_len, "fd_write reported a wrong count");
        size_t before_len = fd == 1 ? before.stdout_len : before.stderr_len;
        FUZZ_CHECK(grew == 0 || memcmp(cap + before_len, expect, grew) == 0, "fd_write appended other bytes");
      } else {
        FUZZ_CHECK(grew == 0, "a failed fd_write captured bytes");
        if (ret == 21) FUZZ_CHECK(!want_ok || (uint64_t)(uint32_t)args[3].of.i32 + 4 > mem_size,
                                  "EFAULT for an fd_write that fits");
        if (is_open && !want_ok) FUZZ_CHECK(ret == 21, "an fd_write out of bounds returned %d", ret);
      }
    }
  }
  hvw_store_free(store);
  hv_wasi_free(ctx);
  return 0;
}
