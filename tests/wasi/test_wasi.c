/*
 * test_wasi.c: the WASI stdio profile (include/hv_wasi.h, docs/wasi.md) against real guests.
 *
 * Most tests use wat/all.wat, which re-exports every preview1 function under its own name, so a
 * test calls fd_write(fd, iovs, n, nwritten) directly with the pointers it wants, on memory it
 * fills through the engine's API, and reads back what the layer wrote. The others are small
 * programs (hello, exit_nested, flood, poll_spin, ...) and modules the profile must refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hv_wasi.h"

#ifndef HVW_NO_GAS_METERING
#define HVW_NO_GAS_METERING 0
#endif
/* Gas tests mean nothing when metering is compiled out (-DHV_GAS_METERING=OFF). */
#define NEEDS_GAS_METERING()    \
  do {                          \
    if (HVW_NO_GAS_METERING) { \
      skip();                   \
      return;                   \
    }                           \
  } while (0)

enum { EBADF_ = 8, EFAULT_ = 21, EINVAL_ = 28, ENOSYS_ = 52 };
#define PAGE 65536u
#define ALL_SIZE (2 * PAGE) /* all.wat's memory */

static hvw_module *load_file(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", HV_WASI_WASM_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  static uint8_t buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  hvw_error err;
  hvw_module *m = hvw_module_load(buf, n, &err);
  if (!m) fail_msg("%s: %s", name, err.message);
  return m;
}

/* ---- Deterministic sources ------------------------------------------------------------------- */

typedef struct sources {
  uint64_t realtime, monotonic;
  uint8_t next;     /* the next random byte */
  int random_calls;
  bool random_fails;
} sources;

static bool test_random(void *env, uint8_t *buf, size_t len) {
  sources *s = env;
  s->random_calls++;
  if (s->random_fails) return false;
  for (size_t i = 0; i < len; i++) buf[i] = s->next++;
  return true;
}

static uint64_t test_clock(void *env, uint32_t id) {
  sources *s = env;
  return id == HV_WASI_CLOCK_REALTIME ? s->realtime : s->monotonic;
}

/* ---- A fixture: one module, one store, one context ------------------------------------------- */

typedef struct fixture {
  hvw_module *module;
  hvw_store *store;
  hv_wasi_ctx *ctx;
  hvw_instance *inst;
  hvw_memory *memory;
  sources src;
} fixture;

typedef struct options {
  const char *const *argv; /* NULL-terminated; NULL: {"prog"} */
  const char *stdin_text;
  size_t max_out;          /* both streams; 0: 1024 */
  uint64_t gas;            /* 0: the default */
  uint32_t max_pages;      /* 0: the default */
  bool default_sources;    /* getrandom and clock_gettime instead of the deterministic ones */
} options;

static void fx_open(fixture *fx, const char *name, const options *o) {
  memset(fx, 0, sizeof *fx);
  static const char *const default_argv[] = {"prog", NULL};
  const char *const *argv = o && o->argv ? o->argv : default_argv;
  hv_wasi_bytes args[8];
  size_t argc = 0;
  while (argv[argc]) {
    args[argc] = (hv_wasi_bytes){(const uint8_t *)argv[argc], strlen(argv[argc])};
    argc++;
  }
  fx->src.realtime = 1700000000123456789ull;
  fx->src.monotonic = 5999999;
  hv_wasi_config cfg = {.argv = args, .argc = argc, .max_stdout_bytes = 1024, .max_stderr_bytes = 1024,
                        .random = test_random, .random_env = &fx->src, .clock = test_clock, .clock_env = &fx->src};
  if (o && o->stdin_text) cfg.stdin_bytes = (hv_wasi_bytes){(const uint8_t *)o->stdin_text, strlen(o->stdin_text)};
  if (o && o->max_out) cfg.max_stdout_bytes = cfg.max_stderr_bytes = o->max_out;
  if (o && o->default_sources) cfg.random = NULL, cfg.clock = NULL;
  char detail[256];
  assert_int_equal(hv_wasi_new(&cfg, &fx->ctx, detail, sizeof detail), HV_WASI_OK);

  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  if (o && o->gas) lim.gas_limit = o->gas;
  if (o && o->max_pages) lim.max_memory_pages = o->max_pages;
  hvw_error err;
  fx->store = hvw_store_new(&lim, &err);
  assert_non_null(fx->store);
  fx->module = load_file(name);
  hv_wasi_status st = hv_wasi_instantiate(fx->ctx, fx->store, fx->module, &fx->inst, &err, detail, sizeof detail);
  if (st != HV_WASI_OK) fail_msg("%s: %s: %s %s", name, hv_wasi_status_name(st), detail, err.message);
  hvw_extern mem;
  if (fx->inst && hvw_instance_export(fx->inst, "memory", 6, &mem)) fx->memory = mem.of.memory;
}

static void fx_close(fixture *fx) {
  hvw_store_free(fx->store);
  hv_wasi_free(fx->ctx);
  hvw_module_free(fx->module);
}

static uint8_t *mem(fixture *fx) { return hvw_memory_data(fx->memory); }

static void put32(fixture *fx, uint32_t at, uint32_t v) { memcpy(mem(fx) + at, &v, 4); }
static uint32_t get32(fixture *fx, uint32_t at) {
  uint32_t v;
  memcpy(&v, mem(fx) + at, 4);
  return v;
}
static uint64_t get64(fixture *fx, uint32_t at) {
  uint64_t v;
  memcpy(&v, mem(fx) + at, 8);
  return v;
}
static void put64(fixture *fx, uint32_t at, uint64_t v) { memcpy(mem(fx) + at, &v, 8); }
static void iovec(fixture *fx, uint32_t at, uint32_t buf, uint32_t len) {
  put32(fx, at, buf);
  put32(fx, at + 4, len);
}

static uint64_t gas_used(fixture *fx) {
  hvw_store_stats s;
  hvw_store_get_stats(fx->store, &s);
  return s.gas_used;
}

/* Calls the export `name` with args (each converted to the export's parameter type); returns the
 * engine's status, the i32 result in *ret. */
static hvw_status wcall_status(fixture *fx, const char *name, const int64_t *a, size_t n, int32_t *ret,
                                hvw_error *err) {
  hvw_extern f;
  if (!hvw_instance_export(fx->inst, name, strlen(name), &f)) fail_msg("no export %s", name);
  hvw_functype_view ft = hvw_func_type(f.of.func);
  assert_int_equal(ft.param_count, n);
  hvw_value args[16], res[1];
  for (size_t i = 0; i < n; i++) {
    args[i].type = ft.params[i];
    if (ft.params[i] == HVW_TYPE_I64) args[i].of.i64 = a[i];
    else args[i].of.i32 = (int32_t)(uint32_t)a[i];
  }
  hvw_status st = hvw_func_call(fx->store, f.of.func, args, n, res, ft.result_count, err);
  if (ret) *ret = st == HVW_OK && ft.result_count ? res[0].of.i32 : -1;
  return st;
}

/* Calls the export, which must return; gives its errno. */
static int32_t wcall(fixture *fx, const char *name, const int64_t *a, size_t n) {
  int32_t ret;
  hvw_error err;
  hvw_status st = wcall_status(fx, name, a, n, &ret, &err);
  if (st != HVW_OK) fail_msg("%s: %s: %s", name, hvw_status_name(st), err.message);
  return ret;
}

#define ARGS(...) ((const int64_t[]){__VA_ARGS__}), (sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define W(fx, name, ...) wcall((fx), (name), ARGS(__VA_ARGS__))

static hv_wasi_result result(fixture *fx) {
  hv_wasi_result r;
  hv_wasi_get_result(fx->ctx, &r);
  return r;
}

/* ---- Which modules run ------------------------------------------------------------------------ */

static void expect_refused(const char *name, const char *what) {
  hvw_module *m = load_file(name);
  char detail[256];
  assert_int_equal(hv_wasi_check_module(m, detail, sizeof detail), HV_WASI_BAD_MODULE);
  if (!strstr(detail, what)) fail_msg("%s: detail \"%s\" does not say \"%s\"", name, detail, what);
  /* hv_wasi_link refuses it the same way, and makes nothing */
  hv_wasi_config cfg = {0};
  hv_wasi_ctx *ctx;
  assert_int_equal(hv_wasi_new(&cfg, &ctx, NULL, 0), HV_WASI_OK);
  hvw_store *s = hvw_store_new(NULL, NULL);
  const hvw_extern *imports = (const hvw_extern *)1;
  size_t count = 99;
  assert_int_equal(hv_wasi_link(ctx, s, m, &imports, &count, NULL, detail, sizeof detail), HV_WASI_BAD_MODULE);
  assert_null(imports);
  assert_int_equal(count, 0);
  assert_non_null(strstr(detail, what));
  hvw_store_free(s);
  hv_wasi_free(ctx);
  hvw_module_free(m);
}

static void test_imports_outside_the_profile_are_refused(void **state) {
  (void)state;
  expect_refused("bad_other_module", "imports from module \"env\" are not allowed");
  expect_refused("bad_unknown_name", "\"fd_wrte\" is not a wasi_snapshot_preview1 function");
  expect_refused("bad_signature",
                 "\"clock_time_get\" has type (i32, i32, i32) -> i32, preview1 says (i32, i64, i32) -> i32");
  expect_refused("bad_not_function", "\"fd_write\" is imported as a memory");
  expect_refused("bad_no_memory", "exports no memory \"memory\"");

  /* every preview1 function, with its signature, is accepted; so is proc_exit without a memory */
  const char *ok[] = {"all", "hello", "start_exits", "exit_nested"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    hvw_module *m = load_file(ok[i]);
    char detail[256] = "x";
    assert_int_equal(hv_wasi_check_module(m, detail, sizeof detail), HV_WASI_OK);
    assert_string_equal(detail, "");
    hvw_module_free(m);
  }
}

static void test_config_is_checked(void **state) {
  (void)state;
  hv_wasi_bytes args[2] = {{(const uint8_t *)"prog", 4}, {(const uint8_t *)"a\0b", 3}};
  hv_wasi_config cfg = {.argv = args, .argc = 2};
  hv_wasi_ctx *ctx = (hv_wasi_ctx *)1;
  char detail[128];
  assert_int_equal(hv_wasi_new(&cfg, &ctx, detail, sizeof detail), HV_WASI_BAD_CONFIG);
  assert_null(ctx);
  assert_non_null(strstr(detail, "argv[1] contains a NUL byte"));
  cfg.argv = NULL;
  assert_int_equal(hv_wasi_new(&cfg, &ctx, detail, sizeof detail), HV_WASI_BAD_CONFIG);

  /* a context links into one store, once */
  fixture fx;
  fx_open(&fx, "all", NULL);
  const hvw_extern *imports;
  size_t count;
  assert_int_equal(hv_wasi_link(fx.ctx, fx.store, fx.module, &imports, &count, NULL, detail, sizeof detail),
                   HV_WASI_BAD_CONFIG);
  fx_close(&fx);
}

/* ---- Commands --------------------------------------------------------------------------------- */

static void test_hello_is_captured_and_exits_zero(void **state) {
  (void)state;
  fixture fx;
  fx_open(&fx, "hello", NULL);
  hvw_error err;
  char detail[128];
  assert_int_equal(hv_wasi_run(fx.ctx, fx.inst, NULL, &err, detail, sizeof detail), HV_WASI_OK);
  hv_wasi_result r = result(&fx);
  assert_false(r.exited);
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(r.overflowed_fd, 0);
  assert_int_equal(r.stdout_len, 6);
  assert_memory_equal(r.stdout_data, "hello\n", 6);
  assert_int_equal(r.stderr_len, 5);
  assert_memory_equal(r.stderr_data, "oops\n", 5);

  size_t len;
  uint8_t *out = hv_wasi_take_output(fx.ctx, 1, &len);
  assert_int_equal(len, 6);
  assert_memory_equal(out, "hello\n", 6);
  free(out);
  assert_int_equal(result(&fx).stdout_len, 0);
  assert_null(hv_wasi_take_output(fx.ctx, 0, &len));
  assert_int_equal(len, 0);

  /* the entry point: () -> () only, and it must exist */
  assert_int_equal(hv_wasi_run(fx.ctx, fx.inst, "takes_arg", &err, detail, sizeof detail), HV_WASI_BAD_MODULE);
  assert_non_null(strstr(detail, "() -> ()"));
  assert_int_equal(hv_wasi_run(fx.ctx, fx.inst, "nope", &err, detail, sizeof detail), HV_WASI_ENGINE);
  assert_int_equal(err.status, HVW_NOT_FOUND);
  fx_close(&fx);
}

static void test_proc_exit_from_a_nested_call(void **state) {
  (void)state;
  fixture fx;
  fx_open(&fx, "exit_nested", NULL);
  hvw_error err;
  assert_int_equal(hv_wasi_run(fx.ctx, fx.inst, "_start", &err, NULL, 0), HV_WASI_OK);
  hv_wasi_result r = result(&fx);
  assert_true(r.exited);
  assert_int_equal(r.exit_code, 42);
  hvw_extern g;
  assert_true(hvw_instance_export(fx.inst, "after", 5, &g));
  assert_int_equal(hvw_global_get(g.of.global).of.i32, 0); /* nothing ran after proc_exit */
  fx_close(&fx);

  /* a memory.grow the cap refused, then proc_exit: the engine reports the trap as a memory
   * failure, the layer still sees an exit */
  options o = {.max_pages = 2};
  fx_open(&fx, "exit_nested", &o);
  assert_int_equal(hv_wasi_run(fx.ctx, fx.inst, "grow_then_exit", &err, NULL, 0), HV_WASI_OK);
  assert_int_equal(err.status, HVW_MEMORY_EXCEEDED);
  r = result(&fx);
  assert_true(r.exited);
  assert_int_equal(r.exit_code, 7);
  fx_close(&fx);

  /* exit codes are u32 */
  fx_open(&fx, "all", NULL);
  hvw_status st = wcall_status(&fx, "proc_exit", ARGS(-1), NULL, &err);
  assert_int_equal(st, HVW_TRAP);
  assert_int_equal(hv_wasi_outcome(fx.ctx, st), HV_WASI_OK);
  assert_int_equal(result(&fx).exit_code, 0xFFFFFFFFu);
  fx_close(&fx);
}

static void test_start_function(void **state) {
  (void)state;
  /* proc_exit from the start function: the program ended during instantiation */
  fixture fx;
  fx_open(&fx, "start_exits", NULL);
  assert_null(fx.inst);
  assert_true(result(&fx).exited);
  assert_int_equal(result(&fx).exit_code, 3);
  fx_close(&fx);

  /* a function that takes a pointer, called before the memory is known: a trap, not a guess */
  hv_wasi_config cfg = {0};
  hv_wasi_ctx *ctx;
  assert_int_equal(hv_wasi_new(&cfg, &ctx, NULL, 0), HV_WASI_OK);
  hvw_store *s = hvw_store_new(NULL, NULL);
  hvw_module *m = load_file("start_calls_wasi");
  hvw_instance *inst = (hvw_instance *)1;
  hvw_error err;
  assert_int_equal(hv_wasi_instantiate(ctx, s, m, &inst, &err, NULL, 0), HV_WASI_ENGINE);
  assert_null(inst);
  assert_int_equal(err.status, HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_HOST);
  assert_non_null(strstr(err.message, "before the program's memory was known"));
  hvw_store_free(s);
  hv_wasi_free(ctx);
  hvw_module_free(m);
}

/* ---- args and environ ------------------------------------------------------------------------- */

static void test_args_and_environ(void **state) {
  (void)state;
  static const char *const argv[] = {"prog", "a b", "", NULL};
  options o = {.argv = argv};
  fixture fx;
  fx_open(&fx, "all", &o);
  memset(mem(&fx), 0xEE, 0x400);
  assert_int_equal(W(&fx, "args_sizes_get", 0x10, 0x14), 0);
  assert_int_equal(get32(&fx, 0x10), 3);
  assert_int_equal(get32(&fx, 0x14), 10); /* "prog\0a b\0\0" */
  assert_int_equal(W(&fx, "args_get", 0x100, 0x200), 0);
  assert_int_equal(get32(&fx, 0x100), 0x200);
  assert_int_equal(get32(&fx, 0x104), 0x205);
  assert_int_equal(get32(&fx, 0x108), 0x209);
  assert_memory_equal(mem(&fx) + 0x200, "prog\0a b\0\0", 10);
  assert_int_equal(mem(&fx)[0x20A], 0xEE); /* not a byte more */

  /* hostile pointers: EFAULT, and nothing written */
  memset(mem(&fx), 0xEE, 0x400);
  assert_int_equal(W(&fx, "args_get", ALL_SIZE - 8, 0x200), EFAULT_); /* room for 2 of 3 pointers */
  assert_int_equal(W(&fx, "args_get", 0x100, ALL_SIZE - 9), EFAULT_); /* 9 of 10 bytes */
  assert_int_equal(W(&fx, "args_get", 0x100, 0xFFFFFFFF), EFAULT_);
  assert_int_equal(mem(&fx)[0x200], 0xEE);
  assert_int_equal(W(&fx, "args_get", ALL_SIZE - 12, ALL_SIZE - 10), 0); /* exactly at the end */
  assert_int_equal(W(&fx, "args_sizes_get", 0x10, ALL_SIZE - 3), EFAULT_);
  assert_int_equal(W(&fx, "args_sizes_get", 0xFFFFFFFE, 0x10), EFAULT_);
  assert_int_equal(get32(&fx, 0x10), 0xEEEEEEEE);

  /* environ: empty */
  assert_int_equal(W(&fx, "environ_sizes_get", 0x20, 0x24), 0);
  assert_int_equal(get32(&fx, 0x20), 0);
  assert_int_equal(get32(&fx, 0x24), 0);
  assert_int_equal(W(&fx, "environ_sizes_get", 0x20, ALL_SIZE), EFAULT_);
  assert_int_equal(W(&fx, "environ_get", 0xFFFFFFFF, 0xFFFFFFFF), 0); /* nothing to write */
  fx_close(&fx);
}

/* ---- stdin -------------------------------------------------------------------------------------- */

static void test_stdin_in_small_pieces(void **state) {
  (void)state;
  options o = {.stdin_text = "hello, world"};
  fixture fx;
  fx_open(&fx, "all", &o);
  /* two iovecs of 2 and 1 bytes: 3 bytes a read */
  iovec(&fx, 0x10, 0x100, 2);
  iovec(&fx, 0x18, 0x200, 1);
  const char *want[] = {"hel", "lo,", " wo", "rld"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(W(&fx, "fd_read", 0, 0x10, 2, 0x20), 0);
    assert_int_equal(get32(&fx, 0x20), 3);
    assert_memory_equal(mem(&fx) + 0x100, want[i], 2);
    assert_int_equal(mem(&fx)[0x200], want[i][2]);
  }
  assert_int_equal(result(&fx).stdin_consumed, 12);
  /* end of input: 0 bytes, every time */
  for (int i = 0; i < 2; i++) {
    put32(&fx, 0x20, 99);
    assert_int_equal(W(&fx, "fd_read", 0, 0x10, 2, 0x20), 0);
    assert_int_equal(get32(&fx, 0x20), 0);
  }
  fx_close(&fx);

  fx_open(&fx, "all", &o);
  iovec(&fx, 0x10, 0x100, 5);
  /* stdin only: not 1, 2 or any other descriptor */
  assert_int_equal(W(&fx, "fd_read", 1, 0x10, 1, 0x20), EBADF_);
  assert_int_equal(W(&fx, "fd_read", 3, 0x10, 1, 0x20), EBADF_);
  /* bad pointers consume nothing */
  assert_int_equal(W(&fx, "fd_read", 0, 0x10, 1, ALL_SIZE - 2), EFAULT_);
  assert_int_equal(W(&fx, "fd_read", 0, ALL_SIZE - 4, 1, 0x20), EFAULT_);
  assert_int_equal(W(&fx, "fd_read", 0, 0x10, 0x7FFFFFFF, 0x20), EFAULT_);
  iovec(&fx, 0x18, 0xFFFFFFF0, 0x20); /* wraps */
  assert_int_equal(W(&fx, "fd_read", 0, 0x10, 2, 0x20), EFAULT_);
  iovec(&fx, 0x18, ALL_SIZE - 1, 2);
  assert_int_equal(W(&fx, "fd_read", 0, 0x10, 2, 0x20), EFAULT_);
  assert_int_equal(result(&fx).stdin_consumed, 0);
  /* the first read fills iovec 0 (5 bytes) and the second iovec's own entry lies in its way:
   * "hello" lands on 0x18.. and turns entry 1 into nonsense; the read stops short, safely */
  iovec(&fx, 0x10, 0x16, 5);
  iovec(&fx, 0x18, 0x300, 4);
  assert_int_equal(W(&fx, "fd_read", 0, 0x10, 2, 0x20), 0);
  uint32_t got = get32(&fx, 0x20);
  assert_true(got == 5 || got == 9);
  assert_int_equal(result(&fx).stdin_consumed, got);
  fx_close(&fx);
}

/* ---- stdout and stderr -------------------------------------------------------------------------- */

static void test_fd_write_hostile_pointers(void **state) {
  (void)state;
  fixture fx;
  fx_open(&fx, "all", NULL);
  memcpy(mem(&fx) + 0x100, "abcdef", 6);
  iovec(&fx, 0x10, 0x100, 3);
  iovec(&fx, 0x18, 0x103, 3);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 2, 0x20), 0);
  assert_int_equal(get32(&fx, 0x20), 6);

  assert_int_equal(W(&fx, "fd_write", 1, ALL_SIZE - 4, 1, 0x20), EFAULT_); /* iovec array past the end */
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 0x7FFFFFFF, 0x20), EFAULT_); /* a huge count */
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 0xFFFFFFFF, 0x20), EFAULT_);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 0x20000000, 0x20), EFAULT_); /* 4 GiB of iovecs */
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 1, ALL_SIZE - 3), EFAULT_); /* nwritten */
  iovec(&fx, 0x18, 0xFFFFFFF0, 0x20); /* ptr + len wraps in 32 bits */
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 2, 0x20), EFAULT_);
  iovec(&fx, 0x18, ALL_SIZE - 10, 11); /* one byte past the end */
  assert_int_equal(W(&fx, "fd_write", 2, 0x10, 2, 0x20), EFAULT_);
  hv_wasi_result r = result(&fx);
  assert_int_equal(r.stdout_len, 6); /* none of the failed writes captured anything */
  assert_memory_equal(r.stdout_data, "abcdef", 6);
  assert_int_equal(r.stderr_len, 0);

  /* exactly at the end is fine; after memory.grow, the new pages are too */
  memcpy(mem(&fx) + ALL_SIZE - 2, "yz", 2);
  iovec(&fx, 0x18, ALL_SIZE - 2, 2);
  assert_int_equal(W(&fx, "fd_write", 2, 0x18, 1, 0x20), 0);
  iovec(&fx, 0x18, ALL_SIZE, 1);
  assert_int_equal(W(&fx, "fd_write", 2, 0x18, 1, 0x20), EFAULT_);
  assert_int_equal(W(&fx, "grow", 1), 2);
  mem(&fx)[ALL_SIZE] = '!';
  assert_int_equal(W(&fx, "fd_write", 2, 0x18, 1, 0x20), 0);
  r = result(&fx);
  assert_int_equal(r.stderr_len, 3);
  assert_memory_equal(r.stderr_data, "yz!", 3);

  /* not 0, not a descriptor that is not open */
  assert_int_equal(W(&fx, "fd_write", 0, 0x10, 1, 0x20), EBADF_);
  assert_int_equal(W(&fx, "fd_write", 3, 0x10, 1, 0x20), EBADF_);
  assert_int_equal(W(&fx, "fd_write", -1, 0x10, 1, 0x20), EBADF_);
  fx_close(&fx);
}

static void test_output_over_the_limit_traps(void **state) {
  (void)state;
  options o = {.max_out = 10};
  fixture fx;
  fx_open(&fx, "all", &o);
  memcpy(mem(&fx) + 0x100, "0123456789abcdef", 16);
  iovec(&fx, 0x10, 0x100, 6);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 1, 0x20), 0);
  iovec(&fx, 0x10, 0x106, 6);
  hvw_error err;
  int32_t ret;
  hvw_status st = wcall_status(&fx, "fd_write", ARGS(1, 0x10, 1, 0x20), &ret, &err);
  assert_int_equal(st, HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_HOST);
  assert_string_equal(err.message, "stdout exceeded its limit of 10 bytes");
  assert_int_equal(hv_wasi_outcome(fx.ctx, st), HV_WASI_OUTPUT_TOO_LARGE);
  hv_wasi_result r = result(&fx);
  assert_int_equal(r.overflowed_fd, 1);
  assert_int_equal(r.stdout_len, 10); /* the first 10 bytes, kept */
  assert_memory_equal(r.stdout_data, "0123456789", 10);
  fx_close(&fx);

  fx_open(&fx, "all", &o);
  memset(mem(&fx) + 0x100, 'e', 11);
  iovec(&fx, 0x10, 0x100, 11);
  st = wcall_status(&fx, "fd_write", ARGS(2, 0x10, 1, 0x20), &ret, &err);
  assert_int_equal(hv_wasi_outcome(fx.ctx, st), HV_WASI_OUTPUT_TOO_LARGE);
  assert_non_null(strstr(err.message, "stderr exceeded"));
  assert_int_equal(result(&fx).overflowed_fd, 2);
  assert_int_equal(result(&fx).stderr_len, 10);
  fx_close(&fx);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A program that writes 1 GiB to stdout ends at the limit, at once, with the limit's worth. */
static void test_one_gib_to_stdout_ends_quickly(void **state) {
  (void)state;
  const char *entries[] = {"_start", "flood_iovs"};
  for (int i = 0; i < 2; i++) {
    options o = {.max_out = 1 << 20};
    fixture fx;
    fx_open(&fx, "flood", &o);
    double t0 = now_s();
    hvw_error err;
    hv_wasi_status ws = hv_wasi_run(fx.ctx, fx.inst, entries[i], &err, NULL, 0);
    if (ws != HV_WASI_OUTPUT_TOO_LARGE) fail_msg("%s: %s: %s", entries[i], hv_wasi_status_name(ws), err.message);
    double took = now_s() - t0;
    hv_wasi_result r = result(&fx);
    assert_int_equal(r.stdout_len, 1 << 20);
    assert_int_equal(r.overflowed_fd, 1);
    if (took > 1.0) fail_msg("%s took %.2f s", entries[i], took);
    fx_close(&fx);
  }
}

/* ---- Descriptors -------------------------------------------------------------------------------- */

static void test_fdstat_close_and_prestat(void **state) {
  (void)state;
  fixture fx;
  fx_open(&fx, "all", NULL);
  for (uint32_t fd = 0; fd < 3; fd++) {
    memset(mem(&fx) + 0x100, 0xEE, 24);
    assert_int_equal(W(&fx, "fd_fdstat_get", fd, 0x100), 0);
    assert_int_equal(mem(&fx)[0x100], 0);                /* filetype unknown: a pipe, not a tty */
    assert_int_equal(mem(&fx)[0x102] | mem(&fx)[0x103], 0); /* no flags */
    uint64_t rights = get64(&fx, 0x108);
    assert_int_equal(rights, (fd == 0 ? 1u << 1 : 1u << 6) | 1u << 27);
    assert_int_equal(get64(&fx, 0x110), 0);
  }
  assert_int_equal(W(&fx, "fd_fdstat_get", 3, 0x100), EBADF_);
  assert_int_equal(W(&fx, "fd_fdstat_get", 1, ALL_SIZE - 23), EFAULT_);

  /* no preopened directories, whatever the descriptor */
  for (int64_t fd = 0; fd < 6; fd++) {
    assert_int_equal(W(&fx, "fd_prestat_get", fd, 0x100), EBADF_);
    assert_int_equal(W(&fx, "fd_prestat_dir_name", fd, 0x100, 16), EBADF_);
  }

  /* fd_close on stdio succeeds once; the descriptor is then gone; what was captured stays */
  memcpy(mem(&fx) + 0x100, "kept", 4);
  iovec(&fx, 0x10, 0x100, 4);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 1, 0x20), 0);
  assert_int_equal(W(&fx, "fd_close", 1), 0);
  assert_int_equal(W(&fx, "fd_close", 1), EBADF_);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 1, 0x20), EBADF_);
  assert_int_equal(W(&fx, "fd_fdstat_get", 1, 0x100), EBADF_);
  assert_int_equal(W(&fx, "fd_close", 0), 0);
  assert_int_equal(W(&fx, "fd_read", 0, 0x10, 1, 0x20), EBADF_);
  assert_int_equal(W(&fx, "fd_close", 3), EBADF_);
  assert_int_equal(W(&fx, "fd_write", 2, 0x10, 1, 0x20), 0);
  assert_int_equal(result(&fx).stdout_len, 4);
  assert_int_equal(result(&fx).stderr_len, 4);
  fx_close(&fx);
}

/* Everything outside the profile: EBADF for a descriptor that is not open, ENOSYS otherwise. */
static void test_unsupported_functions(void **state) {
  (void)state;
  static const struct {
    const char *name;
    size_t nargs;
  } fd_first[] = {
      {"fd_advise", 4}, {"fd_allocate", 3}, {"fd_datasync", 1}, {"fd_fdstat_set_flags", 2},
      {"fd_fdstat_set_rights", 3}, {"fd_filestat_get", 2}, {"fd_filestat_set_size", 2},
      {"fd_filestat_set_times", 4}, {"fd_pread", 5}, {"fd_pwrite", 5}, {"fd_readdir", 5},
      {"fd_renumber", 2}, {"fd_seek", 4}, {"fd_sync", 1}, {"fd_tell", 2},
      {"path_create_directory", 3}, {"path_filestat_get", 5}, {"path_filestat_set_times", 7},
      {"path_link", 7}, {"path_open", 9}, {"path_readlink", 6}, {"path_remove_directory", 3},
      {"path_rename", 6}, {"path_symlink", 5}, {"path_unlink_file", 3}, {"sock_accept", 3},
      {"sock_recv", 6}, {"sock_send", 5}, {"sock_shutdown", 2},
  };
  fixture fx;
  fx_open(&fx, "all", NULL);
  int64_t a[9] = {0};
  for (size_t i = 0; i < sizeof fd_first / sizeof fd_first[0]; i++) {
    for (int64_t fd = 0; fd < 5; fd++) {
      a[0] = fd;
      a[1] = 0x100;
      int32_t want = fd < 3 ? ENOSYS_ : EBADF_;
      int32_t got = wcall(&fx, fd_first[i].name, a, fd_first[i].nargs);
      if (got != want) fail_msg("%s(%d, ...) = %d, expected %d", fd_first[i].name, (int)fd, got, want);
    }
  }
  assert_int_equal(W(&fx, "fd_close", 2), 0);
  assert_int_equal(W(&fx, "fd_seek", 2, 0, 0, 0x100), EBADF_);
  assert_int_equal(W(&fx, "path_open", 3, 0, 0x100, 4, 0, 0, 0, 0, 0x200), EBADF_);
  assert_int_equal(W(&fx, "proc_raise", 9), ENOSYS_);
  assert_int_equal(wcall(&fx, "sched_yield", NULL, 0), 0);
  fx_close(&fx);
}

/* ---- Clocks and randomness ---------------------------------------------------------------------- */

static void test_clocks(void **state) {
  (void)state;
  fixture fx;
  fx_open(&fx, "all", NULL);
  /* coarsened to whole milliseconds; the precision argument changes nothing */
  assert_int_equal(W(&fx, "clock_time_get", 0, 1, 0x100), 0);
  assert_int_equal(get64(&fx, 0x100), 1700000000123000000ull);
  assert_int_equal(W(&fx, "clock_time_get", 1, 0, 0x100), 0);
  assert_int_equal(get64(&fx, 0x100), 5000000ull);
  for (int64_t id = 0; id < 2; id++) {
    assert_int_equal(W(&fx, "clock_res_get", id, 0x108), 0);
    assert_int_equal(get64(&fx, 0x108), 1000000ull);
  }
  /* CPU-time clocks and unknown ids: EINVAL */
  const int64_t bad_ids[] = {2, 3, 4, 0xFFFFFFFF};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(W(&fx, "clock_time_get", bad_ids[i], 0, 0x100), EINVAL_);
    assert_int_equal(W(&fx, "clock_res_get", bad_ids[i], 0x100), EINVAL_);
  }
  assert_int_equal(W(&fx, "clock_time_get", 0, 0, ALL_SIZE - 7), EFAULT_);
  assert_int_equal(W(&fx, "clock_res_get", 1, 0xFFFFFFFC), EFAULT_);
  fx_close(&fx);

  /* the default sources: the real time, and a monotonic clock counting from hv_wasi_new */
  options o = {.default_sources = true};
  fx_open(&fx, "all", &o);
  assert_int_equal(W(&fx, "clock_time_get", 0, 0, 0x100), 0);
  uint64_t rt = get64(&fx, 0x100);
  assert_int_equal(rt % 1000000, 0);
  uint64_t unix_now = (uint64_t)time(NULL) * 1000000000ull;
  assert_true(rt + 2000000000ull > unix_now && rt < unix_now + 2000000000ull);
  assert_int_equal(W(&fx, "clock_time_get", 1, 0, 0x100), 0);
  uint64_t m1 = get64(&fx, 0x100);
  assert_int_equal(m1 % 1000000, 0);
  assert_true(m1 < 10000000000ull);
  assert_int_equal(W(&fx, "clock_time_get", 1, 0, 0x100), 0);
  assert_true(get64(&fx, 0x100) >= m1);
  fx_close(&fx);
}

static void test_random_get(void **state) {
  (void)state;
  fixture fx;
  fx_open(&fx, "all", NULL);
  fx.src.next = 7;
  assert_int_equal(W(&fx, "random_get", 0x100, 4), 0);
  assert_memory_equal(mem(&fx) + 0x100, "\x07\x08\x09\x0a", 4);
  assert_int_equal(W(&fx, "random_get", ALL_SIZE, 0), 0);
  int calls = fx.src.random_calls;
  /* out of bounds: EFAULT, and the source is not even asked */
  assert_int_equal(W(&fx, "random_get", 0x100, 0xFFFFFFFF), EFAULT_);
  assert_int_equal(W(&fx, "random_get", 0xFFFFFF00, 0x200), EFAULT_);
  assert_int_equal(W(&fx, "random_get", 0, ALL_SIZE + 1), EFAULT_);
  assert_int_equal(fx.src.random_calls, calls);
  /* the whole memory is fine */
  assert_int_equal(W(&fx, "random_get", 0, ALL_SIZE), 0);
  /* a source that fails stops the program: it never gets bytes that are not random */
  fx.src.random_fails = true;
  hvw_error err;
  int32_t ret;
  assert_int_equal(wcall_status(&fx, "random_get", ARGS(0x100, 16), &ret, &err), HVW_TRAP);
  assert_non_null(strstr(err.message, "could not produce random bytes"));
  fx_close(&fx);

  /* the default source: getrandom */
  options o = {.default_sources = true};
  fx_open(&fx, "all", &o);
  memset(mem(&fx) + 0x100, 0, 64);
  assert_int_equal(W(&fx, "random_get", 0x100, 64), 0);
  static const uint8_t zeros[64];
  assert_memory_not_equal(mem(&fx) + 0x100, zeros, 64);
  fx_close(&fx);
}

/* ---- poll_oneoff -------------------------------------------------------------------------------- */

/* A subscription at `at`: clock (tag 0: id, timeout, flags) or fd (tag 1 read, 2 write: fd). */
static void sub_clock(fixture *fx, uint32_t at, uint64_t userdata, uint32_t id, uint64_t timeout, uint16_t flags) {
  memset(mem(fx) + at, 0, 48);
  put64(fx, at, userdata);
  mem(fx)[at + 8] = 0;
  put32(fx, at + 16, id);
  put64(fx, at + 24, timeout);
  memcpy(mem(fx) + at + 40, &flags, 2);
}

static void sub_fd(fixture *fx, uint32_t at, uint64_t userdata, uint8_t tag, uint32_t fd) {
  memset(mem(fx) + at, 0, 48);
  put64(fx, at, userdata);
  mem(fx)[at + 8] = tag;
  put32(fx, at + 16, fd);
}

static void expect_event(fixture *fx, uint32_t at, uint64_t userdata, uint16_t error, uint8_t type, uint64_t nbytes,
                         uint16_t flags) {
  assert_int_equal(get64(fx, at), userdata);
  uint16_t e, f;
  memcpy(&e, mem(fx) + at + 8, 2);
  memcpy(&f, mem(fx) + at + 24, 2);
  assert_int_equal(e, error);
  assert_int_equal(mem(fx)[at + 10], type);
  assert_int_equal(get64(fx, at + 16), nbytes);
  assert_int_equal(f, flags);
}

static void test_poll_oneoff(void **state) {
  (void)state;
  options o = {.stdin_text = "abc", .max_out = 100};
  fixture fx;
  fx_open(&fx, "all", &o);
  const uint32_t in = 0x1000, out = 0x2000, nev = 0x10;
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 0, nev), EINVAL_);
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 0xFFFFFFFF, nev), EFAULT_);
  assert_int_equal(W(&fx, "poll_oneoff", ALL_SIZE - 47, out, 1, nev), EFAULT_);
  assert_int_equal(W(&fx, "poll_oneoff", in, ALL_SIZE - 31, 1, nev), EFAULT_);
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 1, ALL_SIZE - 3), EFAULT_);

  /* sleep: one relative clock subscription fires at once, without sleeping */
  sub_clock(&fx, in, 77, 1, 5000000000ull, 0);
  double t0 = now_s();
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 1, nev), 0);
  assert_true(now_s() - t0 < 1.0);
  assert_int_equal(get32(&fx, nev), 1);
  expect_event(&fx, out, 77, 0, 0, 0, 0);

  /* fd events come first; a clock not yet due is then not reported; one due (absolute, in the
   * past) is */
  sub_fd(&fx, in, 1, 1, 0);                          /* stdin: readable, 3 bytes */
  sub_clock(&fx, in + 48, 2, 0, 5000000000ull, 0);   /* not due */
  sub_fd(&fx, in + 96, 3, 2, 1);                     /* stdout: 100 bytes of room */
  sub_fd(&fx, in + 144, 4, 1, 7);                    /* not open */
  sub_clock(&fx, in + 192, 5, 1, 1000000, 1);        /* absolute, past (monotonic is 5 ms) */
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 5, nev), 0);
  assert_int_equal(get32(&fx, nev), 4);
  expect_event(&fx, out, 1, 0, 1, 3, 0);
  expect_event(&fx, out + 32, 3, 0, 2, 100, 0);
  expect_event(&fx, out + 64, 4, EBADF_, 1, 0, 0);
  expect_event(&fx, out + 96, 5, 0, 0, 0, 0);

  /* stdin at its end: HANGUP */
  iovec(&fx, 0x20, 0x100, 16);
  assert_int_equal(W(&fx, "fd_read", 0, 0x20, 1, 0x30), 0);
  sub_fd(&fx, in, 9, 1, 0);
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 1, nev), 0);
  expect_event(&fx, out, 9, 0, 1, 0, 1);

  /* unknown tags and clocks: EINVAL, nothing written */
  put32(&fx, nev, 0xABCD);
  sub_fd(&fx, in, 1, 3, 0);
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 1, nev), EINVAL_);
  sub_clock(&fx, in, 1, 2, 0, 0);
  assert_int_equal(W(&fx, "poll_oneoff", in, out, 1, nev), EINVAL_);
  assert_int_equal(get32(&fx, nev), 0xABCD);

  /* subscriptions and events in the same place: safe, deterministic */
  sub_clock(&fx, in, 1, 0, 0, 0);
  sub_fd(&fx, in + 48, 2, 2, 2);
  assert_int_equal(W(&fx, "poll_oneoff", in, in, 2, nev), 0);
  fx_close(&fx);
}

/* A program sleeping in a loop pays for every call: it ends by gas, quickly. */
static void test_poll_spin_ends_by_gas(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  options o = {.gas = 10000000};
  fixture fx;
  fx_open(&fx, "poll_spin", &o);
  double t0 = now_s();
  hvw_error err;
  assert_int_equal(hv_wasi_run(fx.ctx, fx.inst, NULL, &err, NULL, 0), HV_WASI_ENGINE);
  assert_int_equal(err.status, HVW_GAS_EXHAUSTED);
  assert_true(now_s() - t0 < 2.0);
  assert_int_equal(gas_used(&fx), 10000000);
  fx_close(&fx);
}

/* ---- Gas ---------------------------------------------------------------------------------------- */

static void test_gas_charges(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  fixture fx;
  fx_open(&fx, "all", NULL);
  /* every call: HV_WASI_GAS_CALL on top of the forwarder's own instructions (a few) */
  uint64_t g = gas_used(&fx);
  assert_int_equal(wcall(&fx, "sched_yield", NULL, 0), 0);
  uint64_t yield_cost = gas_used(&fx) - g;
  assert_true(yield_cost >= HV_WASI_GAS_CALL && yield_cost < HV_WASI_GAS_CALL + 5);

  /* per iovec, and per started 64 bytes written */
  iovec(&fx, 0x10, 0x100, 0);
  g = gas_used(&fx);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 1, 0x20), 0);
  uint64_t base = gas_used(&fx) - g;
  iovec(&fx, 0x10, 0x100, 640);
  g = gas_used(&fx);
  assert_int_equal(W(&fx, "fd_write", 1, 0x10, 1, 0x20), 0);
  assert_int_equal(gas_used(&fx) - g, base + 640 / HV_WASI_GAS_BYTES_PER_UNIT);
  memset(mem(&fx) + 0x1000, 0, 100 * 8);
  g = gas_used(&fx);
  assert_int_equal(W(&fx, "fd_write", 2, 0x1000, 100, 0x20), 0);
  assert_int_equal(gas_used(&fx) - g, base + 99 * HV_WASI_GAS_IOVEC);
  /* per random byte */
  g = gas_used(&fx);
  assert_int_equal(W(&fx, "random_get", 0x100, 0), 0);
  base = gas_used(&fx) - g;
  g = gas_used(&fx);
  assert_int_equal(W(&fx, "random_get", 0x100, 1000), 0);
  assert_int_equal(gas_used(&fx) - g, base + 1000 * HV_WASI_GAS_RANDOM_BYTE);
  fx_close(&fx);

  /* charged before the work: a budget that cannot pay gets nothing done */
  options o = {.gas = 50000, .max_out = 1 << 20};
  fx_open(&fx, "all", &o);
  int calls = fx.src.random_calls;
  hvw_error err;
  int32_t ret;
  assert_int_equal(wcall_status(&fx, "random_get", ARGS(0, ALL_SIZE), &ret, &err), HVW_GAS_EXHAUSTED);
  assert_non_null(strstr(err.message, "random_get"));
  assert_int_equal(fx.src.random_calls, calls);
  assert_int_equal(gas_used(&fx), 50000);
  fx_close(&fx);

  /* 16384 iovecs (all in memory) are charged before any is looked at */
  fx_open(&fx, "all", &o);
  assert_int_equal(wcall_status(&fx, "fd_write", ARGS(1, 0, 16384, 0x20), &ret, &err), HVW_GAS_EXHAUSTED);
  assert_int_equal(result(&fx).stdout_len, 0);
  fx_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_imports_outside_the_profile_are_refused),
      cmocka_unit_test(test_config_is_checked),
      cmocka_unit_test(test_hello_is_captured_and_exits_zero),
      cmocka_unit_test(test_proc_exit_from_a_nested_call),
      cmocka_unit_test(test_start_function),
      cmocka_unit_test(test_args_and_environ),
      cmocka_unit_test(test_stdin_in_small_pieces),
      cmocka_unit_test(test_fd_write_hostile_pointers),
      cmocka_unit_test(test_output_over_the_limit_traps),
      cmocka_unit_test(test_one_gib_to_stdout_ends_quickly),
      cmocka_unit_test(test_fdstat_close_and_prestat),
      cmocka_unit_test(test_unsupported_functions),
      cmocka_unit_test(test_clocks),
      cmocka_unit_test(test_random_get),
      cmocka_unit_test(test_poll_oneoff),
      cmocka_unit_test(test_poll_spin_ends_by_gas),
      cmocka_unit_test(test_gas_charges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
