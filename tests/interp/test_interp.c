/*
 * test_interp.c: the translator (code.c) and the interpreter (interp.c), through the public API
 * and, for the shape of the translated code, through code_int.h.
 *
 * The modules are the .wat files of tests/interp/wat, assembled at build time into HV_INTERP_WASM_DIR. Invalid
 * modules, which wat2wasm would refuse, are built byte by byte here.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "code_int.h"
#include "gas.h"
#include "wasm_engine.h"

#ifndef HV_INTERP_WASM_DIR
#error "HV_INTERP_WASM_DIR must name the folder of the assembled test modules"
#endif

/* ---- helpers -------------------------------------------------------------------------------- */

static hvw_module *load_file(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", HV_INTERP_WASM_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  hvw_error err;
  hvw_module *m = hvw_module_load(buf, n, &err);
  if (!m) fail_msg("%s: %s: %s", name, hvw_status_name(err.status), err.message);
  return m;
}

typedef struct env {
  hvw_store *store;
  hvw_module *module;
  hvw_instance *inst;
} env;

static void env_open_with(env *e, const char *name, const hvw_store_limits *limits, const hvw_extern *imports,
                          size_t import_count) {
  hvw_error err;
  e->module = load_file(name);
  e->store = hvw_store_new(limits, &err);
  assert_non_null(e->store);
  e->inst = hvw_instance_new(e->store, e->module, imports, import_count, &err);
  if (!e->inst) fail_msg("instantiating %s: %s", name, err.message);
}

static void env_open(env *e, const char *name, const hvw_store_limits *limits) {
  env_open_with(e, name, limits, NULL, 0);
}

static void env_close(env *e) {
  hvw_store_free(e->store);
  hvw_module_free(e->module);
}

static hvw_func *export_func(env *e, const char *name) {
  hvw_extern ext;
  if (!hvw_instance_export(e->inst, name, strlen(name), &ext) || ext.kind != HVW_EXTERN_FUNC)
    fail_msg("no exported function %s", name);
  return ext.of.func;
}

static hvw_status call(env *e, const char *name, const hvw_value *args, size_t nargs, hvw_value *results,
                        size_t nresults, hvw_error *err) {
  return hvw_func_call(e->store, export_func(e, name), args, nargs, results, nresults, err);
}

static hvw_value I32(int32_t v) { return (hvw_value){.type = HVW_TYPE_I32, .of.i32 = v}; }
static hvw_value I64(int64_t v) { return (hvw_value){.type = HVW_TYPE_I64, .of.i64 = v}; }
static hvw_value F32B(uint32_t bits) { return (hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = bits}; }
static hvw_value F64B(uint64_t bits) { return (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = bits}; }
static hvw_value F32(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return F32B(b);
}
static hvw_value F64(double f) {
  uint64_t b;
  memcpy(&b, &f, 8);
  return F64B(b);
}

/* Calls a function that must succeed with one result; returns it. */
static hvw_value call1(env *e, const char *name, const hvw_value *args, size_t nargs) {
  hvw_value r[1];
  hvw_error err;
  hvw_status st = call(e, name, args, nargs, r, 1, &err);
  if (st != HVW_OK) fail_msg("%s: %s: %s", name, hvw_status_name(st), err.message);
  return r[0];
}

static int32_t call_i32(env *e, const char *name, const hvw_value *args, size_t nargs) {
  return call1(e, name, args, nargs).of.i32;
}

#define ARGS(...) ((const hvw_value[]){__VA_ARGS__}), (sizeof((const hvw_value[]){__VA_ARGS__}) / sizeof(hvw_value))

/* Expects the call to trap with `trap`. */
static void expect_trap(env *e, const char *name, const hvw_value *args, size_t nargs, hvw_trap trap) {
  hvw_value r[2];
  hvw_error err;
  hvw_status st = call(e, name, args, nargs, r, 2, &err);
  if (st != HVW_TRAP || err.trap != trap)
    fail_msg("%s: expected trap \"%s\", got %s (%s)", name, hvw_trap_message(trap), hvw_status_name(st), err.message);
  assert_string_equal(err.message, hvw_trap_message(trap));
}

static uint64_t gas_used(env *e) {
  hvw_store_stats s;
  hvw_store_get_stats(e->store, &s);
  return s.gas_used;
}

#ifndef HVW_NO_GAS_METERING
#define HVW_NO_GAS_METERING 0
#endif
/* Gas tests mean nothing when metering is compiled out (-DHV_GAS_METERING=OFF). */
#define NEEDS_GAS_METERING()      \
  do {                            \
    if (HVW_NO_GAS_METERING) {   \
      skip();                     \
      return;                     \
    }                             \
  } while (0)

static const uint32_t F32_CANON_NAN = 0x7FC00000u;

static bool f32_is_nan_bits(uint32_t b) { return (b & 0x7F800000u) == 0x7F800000u && (b & 0x007FFFFFu); }
static bool f64_is_nan_bits(uint64_t b) {
  return (b & 0x7FF0000000000000ull) == 0x7FF0000000000000ull && (b & 0x000FFFFFFFFFFFFFull);
}

/* ---- arithmetic --------------------------------------------------------------------------- */

static void test_float_min_max_zero_and_nan(void **state) {
  (void)state;
  env e;
  env_open(&e, "arith", NULL);
  /* -0 is less than +0 for min/max, in both orders */
  assert_int_equal(call1(&e, "f32_min", ARGS(F32(0.0f), F32(-0.0f))).of.f32_bits, 0x80000000u);
  assert_int_equal(call1(&e, "f32_min", ARGS(F32(-0.0f), F32(0.0f))).of.f32_bits, 0x80000000u);
  assert_int_equal(call1(&e, "f32_max", ARGS(F32(-0.0f), F32(0.0f))).of.f32_bits, 0x00000000u);
  assert_int_equal(call1(&e, "f32_max", ARGS(F32(0.0f), F32(-0.0f))).of.f32_bits, 0x00000000u);
  assert_int_equal(call1(&e, "f64_min", ARGS(F64(0.0), F64(-0.0))).of.f64_bits, 0x8000000000000000ull);
  assert_int_equal(call1(&e, "f64_max", ARGS(F64(-0.0), F64(0.0))).of.f64_bits, 0);
  /* a NaN operand gives NaN (C's fmin would give the other operand) */
  assert_true(f32_is_nan_bits(call1(&e, "f32_min", ARGS(F32B(F32_CANON_NAN), F32(1.0f))).of.f32_bits));
  assert_true(f32_is_nan_bits(call1(&e, "f32_max", ARGS(F32(1.0f), F32B(F32_CANON_NAN))).of.f32_bits));
  assert_true(f64_is_nan_bits(call1(&e, "f64_min", ARGS(F64(-1.0), F64B(0x7FF4000000000000ull))).of.f64_bits));
  assert_true(f64_is_nan_bits(call1(&e, "f64_max", ARGS(F64B(0xFFF8000000000001ull), F64(2.0))).of.f64_bits));
  assert_int_equal(call1(&e, "f64_max", ARGS(F64(-3.0), F64(2.5))).of.f64_bits, F64(2.5).of.f64_bits);
  env_close(&e);
}

static void test_float_rounding(void **state) {
  (void)state;
  env e;
  env_open(&e, "arith", NULL);
  /* nearest is round-half-to-even, keeping the sign of zero */
  assert_int_equal(call1(&e, "f32_nearest", ARGS(F32(2.5f))).of.f32_bits, F32(2.0f).of.f32_bits);
  assert_int_equal(call1(&e, "f32_nearest", ARGS(F32(3.5f))).of.f32_bits, F32(4.0f).of.f32_bits);
  assert_int_equal(call1(&e, "f32_nearest", ARGS(F32(-0.5f))).of.f32_bits, 0x80000000u);
  assert_int_equal(call1(&e, "f64_nearest", ARGS(F64(-1.5))).of.f64_bits, F64(-2.0).of.f64_bits);
  assert_int_equal(call1(&e, "f64_nearest", ARGS(F64(4503599627370497.0))).of.f64_bits,
                   F64(4503599627370497.0).of.f64_bits);
  assert_int_equal(call1(&e, "f32_floor", ARGS(F32(-0.5f))).of.f32_bits, F32(-1.0f).of.f32_bits);
  assert_int_equal(call1(&e, "f64_trunc", ARGS(F64(-0.9))).of.f64_bits, 0x8000000000000000ull);
  /* a signalling NaN comes back quiet from the rounding operations */
  uint32_t r = call1(&e, "f32_floor", ARGS(F32B(0x7FA00000u))).of.f32_bits;
  assert_true(f32_is_nan_bits(r) && (r & 0x00400000u));
  assert_int_equal(call1(&e, "f32_sqrt", ARGS(F32(4.0f))).of.f32_bits, F32(2.0f).of.f32_bits);
  assert_true(f32_is_nan_bits(call1(&e, "f32_sqrt", ARGS(F32(-1.0f))).of.f32_bits));
  env_close(&e);
}

static void test_float_sign_ops_keep_nan_payloads(void **state) {
  (void)state;
  env e;
  env_open(&e, "arith", NULL);
  assert_int_equal(call1(&e, "f32_neg", ARGS(F32B(0x7FA00001u))).of.f32_bits, 0xFFA00001u);
  assert_int_equal(call1(&e, "f64_abs", ARGS(F64B(0xFFF0000000000123ull))).of.f64_bits, 0x7FF0000000000123ull);
  assert_int_equal(call1(&e, "f32_copysign", ARGS(F32B(0x7FC00123u), F32(-1.0f))).of.f32_bits, 0xFFC00123u);
  assert_int_equal(call1(&e, "reinterpret", ARGS(F32B(0x7F800001u))).of.i32, 0x7F800001);
  /* demote rounds to nearest; promote is exact */
  assert_int_equal(call1(&e, "demote", ARGS(F64(1.0 + 0x1p-24))).of.f32_bits, F32(1.0f).of.f32_bits);
  assert_int_equal(call1(&e, "demote", ARGS(F64(1.0 + 0x1.8p-24))).of.f32_bits, F32(1.0f + 0x1p-23f).of.f32_bits);
  assert_int_equal(call1(&e, "promote", ARGS(F32(0.1f))).of.f64_bits, F64((double)0.1f).of.f64_bits);
  assert_int_equal(call1(&e, "f32_convert_u64", ARGS(I64(-1))).of.f32_bits, F32(18446744073709551616.0f).of.f32_bits);
  /* 2^53 + 1 rounds to even in f64 addition */
  assert_int_equal(call1(&e, "f64_add", ARGS(F64(9007199254740992.0), F64(1.0))).of.f64_bits,
                   F64(9007199254740992.0).of.f64_bits);
  env_close(&e);
}

static void test_integer_edge_cases(void **state) {
  (void)state;
  env e;
  env_open(&e, "arith", NULL);
  assert_int_equal(call_i32(&e, "i32_div_s", ARGS(I32(-7), I32(2))), -3);
  assert_int_equal(call_i32(&e, "i32_rem_s", ARGS(I32(-7), I32(2))), -1);
  assert_int_equal(call_i32(&e, "i32_rem_s", ARGS(I32(INT32_MIN), I32(-1))), 0); /* no trap */
  assert_int_equal(call1(&e, "i64_rem_s", ARGS(I64(INT64_MIN), I64(-1))).of.i64, 0);
  assert_int_equal(call1(&e, "i64_div_u", ARGS(I64(-1), I64(2))).of.i64, INT64_MAX);
  assert_int_equal(call_i32(&e, "i32_rotl", ARGS(I32((int32_t)0x80000001u), I32(33))), 3);
  assert_int_equal(call1(&e, "i64_rotr", ARGS(I64(1), I64(0))).of.i64, 1);
  assert_int_equal(call1(&e, "i64_rotr", ARGS(I64(1), I64(65))).of.i64, INT64_MIN);
  assert_int_equal(call_i32(&e, "i32_shl", ARGS(I32(1), I32(35))), 8); /* count taken mod 32 */
  assert_int_equal(call1(&e, "i64_shr_s", ARGS(I64(INT64_MIN), I64(127))).of.i64, -1);
  assert_int_equal(call_i32(&e, "i32_clz", ARGS(I32(0))), 32);
  assert_int_equal(call1(&e, "i64_ctz", ARGS(I64(0))).of.i64, 64);
  assert_int_equal(call_i32(&e, "i32_popcnt", ARGS(I32(-1))), 32);
  assert_int_equal(call_i32(&e, "i32_extend8_s", ARGS(I32(0x180))), -128);
  assert_int_equal(call1(&e, "i64_extend32_s", ARGS(I64(0x80000000ll))).of.i64, -2147483648ll);
  /* wrap keeps the low 32 bits and nothing else */
  assert_int_equal(call1(&e, "wrap_extend", ARGS(I64(-1))).of.i64, 0xFFFFFFFFll);
  env_close(&e);
}

static void test_conversions(void **state) {
  (void)state;
  env e;
  env_open(&e, "arith", NULL);
  assert_int_equal(call_i32(&e, "i32_trunc_f32_s", ARGS(F32(-2147483648.0f))), INT32_MIN);
  assert_int_equal(call_i32(&e, "i32_trunc_f32_s", ARGS(F32(-1.9f))), -1);
  assert_int_equal((uint32_t)call_i32(&e, "i32_trunc_f64_u", ARGS(F64(4294967295.9))), 4294967295u);
  assert_int_equal(call_i32(&e, "i32_trunc_f64_u", ARGS(F64(-0.99))), 0);
  assert_int_equal(call1(&e, "i64_trunc_f64_s", ARGS(F64(-9223372036854775808.0))).of.i64, INT64_MIN);
  expect_trap(&e, "i32_trunc_f32_s", ARGS(F32(2147483648.0f)), HVW_TRAP_INT_OVERFLOW);
  expect_trap(&e, "i32_trunc_f32_s", ARGS(F32B(F32_CANON_NAN)), HVW_TRAP_INVALID_CONVERSION);
  expect_trap(&e, "i32_trunc_f64_u", ARGS(F64(-1.0)), HVW_TRAP_INT_OVERFLOW);
  expect_trap(&e, "i32_trunc_f64_u", ARGS(F64(4294967296.0)), HVW_TRAP_INT_OVERFLOW);
  expect_trap(&e, "i64_trunc_f64_s", ARGS(F64(9223372036854775808.0)), HVW_TRAP_INT_OVERFLOW);
  /* the saturating forms clamp instead */
  assert_int_equal(call_i32(&e, "i32_trunc_sat_f32_s", ARGS(F32(3e9f))), INT32_MAX);
  assert_int_equal(call_i32(&e, "i32_trunc_sat_f32_s", ARGS(F32(-3e9f))), INT32_MIN);
  assert_int_equal(call_i32(&e, "i32_trunc_sat_f32_s", ARGS(F32B(F32_CANON_NAN))), 0);
  assert_int_equal((uint64_t)call1(&e, "i64_trunc_sat_f64_u", ARGS(F64(1e30))).of.i64, UINT64_MAX);
  assert_int_equal(call1(&e, "i64_trunc_sat_f64_u", ARGS(F64(-5.0))).of.i64, 0);
  env_close(&e);
}

/* ---- values left in locals, retargeting, multi-value -------------------------------------- */

static void test_deferred_locals(void **state) {
  (void)state;
  env e;
  env_open(&e, "locals", NULL);
  assert_int_equal(call_i32(&e, "set_while_referenced", ARGS(I32(10), I32(3))), 7);
  assert_int_equal(call_i32(&e, "tee_while_referenced", ARGS(I32(5))), 20);
  assert_int_equal(call_i32(&e, "block_write", ARGS(I32(5))), 105);
  assert_int_equal(call_i32(&e, "if_write", ARGS(I32(5), I32(1))), 35);
  assert_int_equal(call_i32(&e, "if_write", ARGS(I32(5), I32(0))), 25);
  assert_int_equal(call_i32(&e, "retarget", ARGS(I32(2), I32(3))), 25);
  assert_int_equal(call_i32(&e, "sum_to", ARGS(I32(100))), 5050);
  assert_int_equal(call_i32(&e, "br_if_value", ARGS(I32(9))), 9);
  assert_int_equal(call_i32(&e, "br_if_value", ARGS(I32(0))), 5);
  assert_int_equal(call_i32(&e, "select_locals", ARGS(I32(1), I32(2), I32(1))), 1);
  assert_int_equal(call_i32(&e, "select_locals", ARGS(I32(1), I32(2), I32(0))), 2);
  assert_int_equal(call_i32(&e, "call_args", ARGS(I32(4))), 4 + 100 + 9);
  assert_int_equal(call1(&e, "fac", ARGS(I64(20))).of.i64, 2432902008176640000ll);
  env_close(&e);
}

static void test_fused_operations(void **state) {
  (void)state;
  env e;
  env_open(&e, "locals", NULL);
  hvw_error err;
  /* 0xFFFFFFFF + 2 wraps to address 1 */
  assert_int_equal(call(&e, "store_sum", ARGS(I32(-1), I32(2), I32(7)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "load_sum", ARGS(I32(-1), I32(1))), 7); /* (u32)(2^32 - 1 + 1) + 1 = 1 */
  assert_int_equal(call_i32(&e, "load_sum", ARGS(I32(0), I32(0))), 7);
  /* but the offset is added without wrapping */
  expect_trap(&e, "load_sum", ARGS(I32(-1), I32(0)), HVW_TRAP_MEMORY_OOB);
  expect_trap(&e, "store_sum", ARGS(I32(65535), I32(1), I32(1)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "countdown", ARGS(I32(1000))), 3000);
  assert_int_equal(call_i32(&e, "countdown", ARGS(I32(1))), 3);
  assert_int_equal(call_i32(&e, "add_if_param", ARGS(I32(4))), 10);
  assert_int_equal(call_i32(&e, "add_if_param", ARGS(I32(20))), 121);
  env_close(&e);
}

static void test_multi_value(void **state) {
  (void)state;
  env e;
  env_open(&e, "locals", NULL);
  hvw_value r[2];
  hvw_error err;
  assert_int_equal(call(&e, "mv_loop", ARGS(I32(10)), r, 2, &err), HVW_OK);
  assert_int_equal(r[0].of.i32, 55);
  assert_int_equal(r[1].of.i32, 0);
  assert_int_equal(call(&e, "swap", ARGS(I32(1), I32(2)), r, 2, &err), HVW_OK);
  assert_int_equal(r[0].of.i32, 2);
  assert_int_equal(r[1].of.i32, 1);
  assert_int_equal(call(&e, "br_if_return", ARGS(I32(1)), r, 2, &err), HVW_OK);
  assert_int_equal(r[0].of.i32, 1);
  assert_int_equal(r[1].of.i32, 2);
  assert_int_equal(call(&e, "br_if_return", ARGS(I32(0)), r, 2, &err), HVW_OK);
  assert_int_equal(r[0].of.i32, 3);
  assert_int_equal(r[1].of.i32, 4);
  assert_int_equal(call_i32(&e, "br_table_value", ARGS(I32(0))), 13);
  assert_int_equal(call_i32(&e, "br_table_value", ARGS(I32(1))), 12);
  assert_int_equal(call_i32(&e, "br_table_value", ARGS(I32(2))), 10);
  assert_int_equal(call_i32(&e, "br_table_value", ARGS(I32(-1))), 10);
  assert_int_equal(call_i32(&e, "if_param", ARGS(I32(6), I32(1))), 12);
  assert_int_equal(call_i32(&e, "if_param", ARGS(I32(6), I32(0))), 7);
  env_close(&e);
}

/* ---- the shape of the translated code ----------------------------------------------------- */

static const struct hvw_code *code_of(env *e, const char *name) {
  for (uint32_t i = 0; i < e->module->export_count; i++) {
    const hvw_export *x = &e->module->exports[i];
    if (x->kind == HVW_EXTERN_FUNC && x->name_len == strlen(name) && memcmp(x->name, name, x->name_len) == 0)
      return e->module->funcs[x->index].code;
  }
  fail_msg("no export %s", name);
  return NULL;
}

/* Operand k (from 1) of the operation at p. */
#define OPD(p, k) ((p)[HVW_HANDLER_UNITS - 1 + (k)])

/* The operations of a translated function, in order (up to `max`). */
static size_t ops_of(const struct hvw_code *c, hvw_op *ops, const uint32_t **at, size_t max) {
  size_t n = 0;
  const uint32_t *p = c->start, *end = c->start + c->units - 1;
  while (p < end && n < max) {
    hvw_op op = hvw__op_at(p);
    assert_true(op < HVW_OP_COUNT);
    ops[n] = op;
    at[n++] = p;
    p += hvw__op_units(op, p);
  }
  assert_true(p == end || n == max);
  return n;
}

static void test_translation_shape(void **state) {
  (void)state;
  env e;
  env_open(&e, "locals", NULL);
  hvw_op ops[32];
  const uint32_t *at[32];

  /* local.get a; local.get b; i32.add; local.set c  ->  one I32_ADD c, a, b */
  size_t n = ops_of(code_of(&e, "retarget"), ops, at, 32);
  assert_true(n >= 1);
  assert_int_equal(ops[0], HVW_OP_I32_ADD);
  assert_int_equal(OPD(at[0], 1), 2);
  assert_int_equal(OPD(at[0], 2), 0);
  assert_int_equal(OPD(at[0], 3), 1);

  /* the loop of sum_to: ADD, SUB (retargeted into the locals), one compare-and-branch back-edge */
  n = ops_of(code_of(&e, "sum_to"), ops, at, 32);
  assert_true(n >= 3);
  assert_int_equal(ops[0], HVW_OP_I32_ADD);
  assert_int_equal(OPD(at[0], 1), 1);
  assert_int_equal(ops[1], HVW_OP_I32_SUB);
  assert_int_equal(OPD(at[1], 1), 0);
  assert_int_equal(ops[2], HVW_OP_BR_IF_BACK);
  assert_int_equal((int32_t)OPD(at[2], 2), -(int32_t)(at[2] - at[0])); /* back to the loop header */

  /* select of three locals reads them where they are: no copies */
  n = ops_of(code_of(&e, "select_locals"), ops, at, 32);
  assert_int_equal(ops[0], HVW_OP_SELECT);
  assert_int_equal(OPD(at[0], 2), 0);
  assert_int_equal(OPD(at[0], 3), 1);
  assert_int_equal(OPD(at[0], 4), 2);
  assert_int_equal(ops[1], HVW_OP_RETURN1);
  env_close(&e);

  env_open(&e, "limits", NULL);
  /* count: the loop counter's i32.add, i32.lt_u and br_if fuse into one operation; its gas is on
   * the edges */
  const struct hvw_code *c = code_of(&e, "count");
  n = ops_of(c, ops, at, 32);
  assert_int_equal(n, 2);
  assert_int_equal(ops[0], HVW_OP_ADD_BR_LT_U_I32_BACK);
  assert_int_equal(OPD(at[0], 1), 1);                    /* local 1 = local 1 + 1 ... */
  assert_int_equal(OPD(at[0], 2), 1);
  assert_int_equal(OPD(at[0], 4), 0);                    /* ... while it is below local 0 */
  assert_int_equal((int32_t)OPD(at[0], 5), 0);           /* the loop is this operation */
  assert_int_equal(OPD(at[0], 6), 8);                    /* cost of the loop body, charged when looping */
  assert_int_equal(OPD(at[0], 7), 1);                    /* cost of the code after the loop */
  assert_int_equal(c->entry_cost, 9);                    /* loop + the first iteration */
  assert_int_equal(ops[1], HVW_OP_RETURN1);
  env_close(&e);
}

/* ---- traps -------------------------------------------------------------------------------- */

static void test_each_trap(void **state) {
  (void)state;
  env e;
  env_open(&e, "traps", NULL);
  expect_trap(&e, "unreachable", NULL, 0, HVW_TRAP_UNREACHABLE);
  expect_trap(&e, "div_u", ARGS(I32(1), I32(0)), HVW_TRAP_INT_DIV_ZERO);
  expect_trap(&e, "div_s", ARGS(I32(INT32_MIN), I32(-1)), HVW_TRAP_INT_OVERFLOW);
  expect_trap(&e, "i64_div_s", ARGS(I64(INT64_MIN), I64(-1)), HVW_TRAP_INT_OVERFLOW);
  expect_trap(&e, "i64_div_s", ARGS(I64(1), I64(0)), HVW_TRAP_INT_DIV_ZERO);
  expect_trap(&e, "trunc", ARGS(F32B(0xFFC00000u)), HVW_TRAP_INVALID_CONVERSION);
  expect_trap(&e, "load", ARGS(I32(65533)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "load", ARGS(I32(65532))), 0);
  /* address + offset is computed in 64 bits: no wrap-around into the memory */
  expect_trap(&e, "load_offset", ARGS(I32(1)), HVW_TRAP_MEMORY_OOB);
  expect_trap(&e, "store", ARGS(I32(-1)), HVW_TRAP_MEMORY_OOB);
  expect_trap(&e, "store", ARGS(I32(65529)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "call_indirect", ARGS(I32(0))), 42);
  expect_trap(&e, "call_indirect", ARGS(I32(1)), HVW_TRAP_INDIRECT_CALL_TYPE_MISMATCH);
  expect_trap(&e, "call_indirect", ARGS(I32(2)), HVW_TRAP_UNINITIALIZED_ELEMENT);
  expect_trap(&e, "call_indirect", ARGS(I32(3)), HVW_TRAP_UNDEFINED_ELEMENT);
  expect_trap(&e, "table_get", ARGS(I32(3)), HVW_TRAP_TABLE_OOB);
  expect_trap(&e, "recurse", ARGS(I32(0)), HVW_TRAP_CALL_STACK_EXHAUSTED);
  env_close(&e);
}

static void test_store_usable_after_runaway_recursion(void **state) {
  (void)state;
  env e;
  env_open(&e, "traps", NULL);
  for (int i = 0; i < 3; i++) {
    expect_trap(&e, "recurse", ARGS(I32(0)), HVW_TRAP_CALL_STACK_EXHAUSTED);
    assert_int_equal(call_i32(&e, "ok", NULL, 0), 7);
    assert_int_equal(call_i32(&e, "call_indirect", ARGS(I32(0))), 42);
  }
  env_close(&e);
}

static void test_call_depth_and_cell_limits(void **state) {
  (void)state;
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.max_call_depth = 50;
  env e;
  env_open(&e, "limits", &lim);
  assert_int_equal(call_i32(&e, "deep", ARGS(I32(49))), 0); /* 50 frames */
  expect_trap(&e, "deep", ARGS(I32(50)), HVW_TRAP_CALL_STACK_EXHAUSTED);
  assert_int_equal(call_i32(&e, "deep", ARGS(I32(10))), 0);
  env_close(&e);

  /* each frame of "deep" takes more than 17 cells: 1000 cells hold fewer than 60 of them */
  hvw_store_limits_default(&lim);
  lim.max_stack_cells = 1000;
  env_open(&e, "limits", &lim);
  assert_int_equal(call_i32(&e, "deep", ARGS(I32(10))), 0);
  expect_trap(&e, "deep", ARGS(I32(60)), HVW_TRAP_CALL_STACK_EXHAUSTED);
  assert_int_equal(call_i32(&e, "deep", ARGS(I32(10))), 0);
  env_close(&e);
}

/* ---- gas ---------------------------------------------------------------------------------- */

static void test_gas_loop_costs_what_the_table_says(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  for (int32_t n = 1; n <= 1000; n *= 10) {
    env e;
    env_open(&e, "limits", NULL);
    uint64_t before = gas_used(&e);
    assert_int_equal(call_i32(&e, "count", ARGS(I32(n))), n);
    assert_int_equal(gas_used(&e) - before, 8 * (uint64_t)n + 2);
    env_close(&e);
  }
}

static void test_gas_is_deterministic(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  uint64_t first = 0;
  for (int run = 0; run < 3; run++) {
    env e;
    env_open(&e, "locals", NULL);
    uint64_t before = gas_used(&e);
    assert_int_equal(call1(&e, "fac", ARGS(I64(15))).of.i64, 1307674368000ll);
    assert_int_equal(call_i32(&e, "sum_to", ARGS(I32(1000))), 500500);
    uint64_t used = gas_used(&e) - before;
    if (run == 0) first = used;
    assert_int_equal(used, first);
    env_close(&e);
  }
  assert_true(first > 1000);
}

static void test_gas_exhaustion_is_deterministic(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  for (int run = 0; run < 3; run++) {
    hvw_store_limits lim;
    hvw_store_limits_default(&lim);
    lim.gas_limit = 1000;
    env e;
    env_open(&e, "limits", &lim);
    uint64_t before = gas_used(&e);
    hvw_error err;
    hvw_value r[1];
    /* 8n + 2 <= budget: fits exactly */
    assert_int_equal(call(&e, "count", ARGS(I32(10)), r, 1, &err), HVW_OK);
    assert_int_equal(gas_used(&e) - before, 82);
    /* an infinite loop stops with GAS_EXHAUSTED, the whole budget used */
    assert_int_equal(call(&e, "spin", NULL, 0, NULL, 0, &err), HVW_GAS_EXHAUSTED);
    assert_int_equal(gas_used(&e), lim.gas_limit);
    /* and the store stays usable (with no gas left, any call is exhausted at once) */
    assert_int_equal(call(&e, "count", ARGS(I32(1)), r, 1, &err), HVW_GAS_EXHAUSTED);
    env_close(&e);
  }
}

/* A grow the maximum refuses returns -1: it does not demand gas for pages it will never add. */
static void test_refused_grow_costs_no_gas(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.gas_limit = 100;
  env e;
  env_open(&e, "limits", &lim);
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(-1))), -1);
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(70000))), -1);
  assert_int_equal(gas_used(&e), 4);
  /* a grow within the maximum that the budget cannot pay for is exhausted */
  hvw_value r[1];
  hvw_error err;
  assert_int_equal(call(&e, "grow", ARGS(I32(1)), r, 1, &err), HVW_GAS_EXHAUSTED);
  env_close(&e);
  env_open(&e, "tables", &lim);
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(-1))), -1);
  assert_int_equal(call_i32(&e, "size", NULL, 0), 4);
  env_close(&e);
}

static void test_gas_of_bulk_operations(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  env e;
  env_open(&e, "limits", NULL);
  hvw_error err;
  uint64_t before = gas_used(&e);
  assert_int_equal(call(&e, "fill", ARGS(I32(0), I32(1), I32(640)), NULL, 0, &err), HVW_OK);
  /* four instructions, plus 640 bytes at one unit per 64 */
  assert_int_equal(gas_used(&e) - before, 4 + 640 / GAS_BULK_MEMORY_BYTES_PER_UNIT);
  before = gas_used(&e);
  assert_int_equal(call(&e, "fill", ARGS(I32(0), I32(1), I32(65)), NULL, 0, &err), HVW_OK);
  assert_int_equal(gas_used(&e) - before, 4 + 2);
  before = gas_used(&e);
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(2))), 1);
  assert_int_equal(gas_used(&e) - before, 2 + 2 * GAS_MEMORY_GROW_PAGE);
  env_close(&e);
}

/* ---- interruption ------------------------------------------------------------------------- */

static void test_interrupt_before_call(void **state) {
  (void)state;
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.gas_limit = UINT64_MAX;
  env e;
  env_open(&e, "limits", &lim);
  hvw_error err;
  hvw_store_interrupt(e.store);
  assert_int_equal(call(&e, "spin", NULL, 0, NULL, 0, &err), HVW_TIMEOUT);
  hvw_store_clear_interrupt(e.store);
  assert_int_equal(call_i32(&e, "count", ARGS(I32(5))), 5);
  env_close(&e);
}

static void *interrupt_later(void *arg) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  hvw_store_interrupt(arg);
  return NULL;
}

static void test_interrupt_from_another_thread(void **state) {
  (void)state;
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.gas_limit = UINT64_MAX; /* only the interrupt can stop it */
  env e;
  env_open(&e, "limits", &lim);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, interrupt_later, e.store), 0);
  hvw_error err;
  assert_int_equal(call(&e, "spin", NULL, 0, NULL, 0, &err), HVW_TIMEOUT);
  pthread_join(th, NULL);
  hvw_store_clear_interrupt(e.store);
  assert_int_equal(call_i32(&e, "count", ARGS(I32(3))), 3);
  env_close(&e);
}

/* ---- memory cap and bulk operations ------------------------------------------------------- */

static void test_memory_cap(void **state) {
  (void)state;
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.max_memory_pages = 2;
  env e;
  env_open(&e, "limits", &lim);
  /* over the cap: memory.grow returns -1 and the program goes on */
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(5))), -1);
  assert_int_equal(call_i32(&e, "size", NULL, 0), 1);
  /* then a trap in the same call is reported as the memory limit */
  hvw_error err;
  hvw_value r[1];
  assert_int_equal(call(&e, "grow_then_trap", ARGS(I32(5)), r, 1, &err), HVW_MEMORY_EXCEEDED);
  assert_non_null(strstr(err.message, "out of bounds memory access"));
  /* a trap after a grow the cap allowed stays a trap */
  assert_int_equal(call(&e, "grow_then_trap", ARGS(I32(1)), r, 1, &err), HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "size", NULL, 0), 2);
  env_close(&e);
}

static void test_bulk_memory_bounds(void **state) {
  (void)state;
  env e;
  env_open(&e, "limits", NULL);
  /* out of bounds: trap before writing anything */
  expect_trap(&e, "fill", ARGS(I32(65530), I32(0xAA), I32(10)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(65530))), 0);
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(65535))), 0);
  hvw_error err;
  assert_int_equal(call(&e, "fill", ARGS(I32(65530), I32(0xAA), I32(6)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(65535))), 0xAA);
  /* a zero-length operation at the very end is fine, one past it is not */
  assert_int_equal(call(&e, "fill", ARGS(I32(65536), I32(1), I32(0)), NULL, 0, &err), HVW_OK);
  expect_trap(&e, "fill", ARGS(I32(65537), I32(1), I32(0)), HVW_TRAP_MEMORY_OOB);
  /* copy: overlapping both ways, then out of bounds on either side */
  assert_int_equal(call(&e, "init", ARGS(I32(100), I32(0), I32(5)), NULL, 0, &err), HVW_OK); /* "hello" */
  assert_int_equal(call(&e, "copy", ARGS(I32(101), I32(100), I32(5)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(105))), 'o');
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(101))), 'h');
  assert_int_equal(call(&e, "copy", ARGS(I32(100), I32(101), I32(5)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(100))), 'h');
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(104))), 'o');
  expect_trap(&e, "copy", ARGS(I32(65535), I32(0), I32(2)), HVW_TRAP_MEMORY_OOB);
  expect_trap(&e, "copy", ARGS(I32(0), I32(65535), I32(2)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "load8", ARGS(I32(0))), 0);
  /* init: the segment's bounds too, and a dropped segment has length 0 */
  expect_trap(&e, "init", ARGS(I32(0), I32(3), I32(3)), HVW_TRAP_MEMORY_OOB);
  expect_trap(&e, "init", ARGS(I32(65535), I32(0), I32(2)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call(&e, "drop_hello", NULL, 0, NULL, 0, &err), HVW_OK);
  assert_int_equal(call(&e, "init", ARGS(I32(0), I32(0), I32(0)), NULL, 0, &err), HVW_OK);
  expect_trap(&e, "init", ARGS(I32(0), I32(0), I32(1)), HVW_TRAP_MEMORY_OOB);
  env_close(&e);
}

static void test_table_operations(void **state) {
  (void)state;
  env e;
  env_open(&e, "tables", NULL);
  hvw_error err;
  expect_trap(&e, "call", ARGS(I32(0)), HVW_TRAP_UNINITIALIZED_ELEMENT);
  assert_int_equal(call(&e, "init", ARGS(I32(1), I32(0), I32(3)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "call", ARGS(I32(1))), 1);
  assert_int_equal(call_i32(&e, "call", ARGS(I32(3))), 3);
  /* out of bounds: nothing is written */
  expect_trap(&e, "init", ARGS(I32(2), I32(0), I32(3)), HVW_TRAP_TABLE_OOB);
  assert_int_equal(call_i32(&e, "call", ARGS(I32(2))), 2);
  expect_trap(&e, "init", ARGS(I32(0), I32(1), I32(3)), HVW_TRAP_TABLE_OOB);
  assert_int_equal(call(&e, "copy", ARGS(I32(0), I32(1), I32(3)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "call", ARGS(I32(0))), 1);
  assert_int_equal(call_i32(&e, "call", ARGS(I32(2))), 3);
  expect_trap(&e, "copy", ARGS(I32(2), I32(0), I32(3)), HVW_TRAP_TABLE_OOB);
  expect_trap(&e, "fill_null", ARGS(I32(3), I32(2)), HVW_TRAP_TABLE_OOB);
  assert_int_equal(call_i32(&e, "is_null", ARGS(I32(3))), 0);
  assert_int_equal(call(&e, "fill_null", ARGS(I32(3), I32(1)), NULL, 0, &err), HVW_OK);
  assert_int_equal(call_i32(&e, "is_null", ARGS(I32(3))), 1);
  expect_trap(&e, "call", ARGS(I32(4)), HVW_TRAP_UNDEFINED_ELEMENT);
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(2))), 4);
  assert_int_equal(call_i32(&e, "size", NULL, 0), 6);
  assert_int_equal(call_i32(&e, "grow", ARGS(I32(5))), -1); /* over the declared max of 10 */
  expect_trap(&e, "call", ARGS(I32(4)), HVW_TRAP_UNINITIALIZED_ELEMENT);
  assert_int_equal(call(&e, "drop_e", NULL, 0, NULL, 0, &err), HVW_OK);
  expect_trap(&e, "init", ARGS(I32(0), I32(0), I32(1)), HVW_TRAP_TABLE_OOB);
  assert_int_equal(call(&e, "init", ARGS(I32(0), I32(0), I32(0)), NULL, 0, &err), HVW_OK);
  /* externref values travel untouched */
  hvw_value ext = {.type = HVW_TYPE_EXTERNREF, .of.externref = 0xDEADBEEF};
  assert_int_equal(call(&e, "set_extern", ARGS(I32(1), ext), NULL, 0, &err), HVW_OK);
  assert_int_equal(call1(&e, "get_extern", ARGS(I32(1))).of.externref, 0xDEADBEEF);
  expect_trap(&e, "get_extern", ARGS(I32(2)), HVW_TRAP_TABLE_OOB);
  env_close(&e);
}

/* ---- host functions ----------------------------------------------------------------------- */

typedef struct host_ctx {
  env *e;
  int calls;
} host_ctx;

static hvw_status host_callback(void *envp, const hvw_value *args, hvw_value *results, hvw_error *err) {
  host_ctx *h = envp;
  h->calls++;
  if (args[0].of.i32 < 0) {
    err->status = HVW_TRAP;
    err->trap = HVW_TRAP_HOST;
    snprintf(err->message, sizeof err->message, "%s", hvw_trap_message(HVW_TRAP_HOST));
    return HVW_TRAP;
  }
  /* back into WebAssembly, on the store that is running us */
  hvw_value r[1];
  hvw_status st = call(h->e, "double", args, 1, r, 1, err);
  if (st != HVW_OK) return st;
  results[0] = r[0];
  return HVW_OK;
}

static void test_host_calls_and_reentry(void **state) {
  (void)state;
  static const hvw_valtype i32[] = {HVW_TYPE_I32};
  env e;
  host_ctx h = {&e, 0};
  hvw_error err;
  e.module = load_file("host");
  e.store = hvw_store_new(NULL, &err);
  assert_non_null(e.store);
  hvw_func *cb = hvw_func_new_host(e.store, (hvw_functype_view){1, i32, 1, i32}, host_callback, &h, &err);
  assert_non_null(cb);
  hvw_extern imp = {.kind = HVW_EXTERN_FUNC, .of.func = cb};
  e.inst = hvw_instance_new(e.store, e.module, &imp, 1, &err);
  assert_non_null(e.inst);
  assert_int_equal(call_i32(&e, "via_host", ARGS(I32(20))), 41);
  /* the re-exported host function, called directly */
  assert_int_equal(call_i32(&e, "callback", ARGS(I32(4))), 8);
  assert_int_equal(h.calls, 2);
  /* a failing host function ends the execution with its status */
  hvw_value r[1];
  assert_int_equal(call(&e, "via_host", ARGS(I32(-1)), r, 1, &err), HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_HOST);
  assert_int_equal(call_i32(&e, "via_host", ARGS(I32(1))), 3);
  env_close(&e);
}

/* A host function that charges args[0] gas for its work (hvw_store_consume_gas) and returns it. */
static hvw_status host_charge(void *envp, const hvw_value *args, hvw_value *results, hvw_error *err) {
  env *e = envp;
  if (!hvw_store_consume_gas(e->store, (uint32_t)args[0].of.i32)) {
    err->status = HVW_GAS_EXHAUSTED;
    snprintf(err->message, sizeof err->message, "gas exhausted in the host");
    return HVW_GAS_EXHAUSTED;
  }
  results[0] = args[0];
  return HVW_OK;
}

static void open_host_charge(env *e, uint64_t gas_limit) {
  static const hvw_valtype i32[] = {HVW_TYPE_I32};
  hvw_store_limits lim;
  hvw_store_limits_default(&lim);
  lim.gas_limit = gas_limit;
  hvw_error err;
  e->module = load_file("host");
  e->store = hvw_store_new(&lim, &err);
  assert_non_null(e->store);
  hvw_func *cb = hvw_func_new_host(e->store, (hvw_functype_view){1, i32, 1, i32}, host_charge, e, &err);
  assert_non_null(cb);
  hvw_extern imp = {.kind = HVW_EXTERN_FUNC, .of.func = cb};
  e->inst = hvw_instance_new(e->store, e->module, &imp, 1, &err);
  assert_non_null(e->inst);
}

/* What a host function charges with hvw_store_consume_gas is taken from the execution's budget,
 * and a host function that cannot pay ends the execution with HVW_GAS_EXHAUSTED. */
static void test_host_consumes_gas(void **state) {
  (void)state;
  NEEDS_GAS_METERING();
  env e;
  open_host_charge(&e, 1000000);
  uint64_t before = gas_used(&e);
  assert_int_equal(call_i32(&e, "via_host", ARGS(I32(0))), 1);
  uint64_t base = gas_used(&e) - before;
  before = gas_used(&e);
  assert_int_equal(call_i32(&e, "via_host", ARGS(I32(12345))), 12346);
  assert_int_equal(gas_used(&e) - before, base + 12345);
  /* outside any execution too */
  before = gas_used(&e);
  assert_true(hvw_store_consume_gas(e.store, 7));
  assert_int_equal(gas_used(&e) - before, 7);
  env_close(&e);

  open_host_charge(&e, 500);
  hvw_value r[1];
  hvw_error err;
  assert_int_equal(call(&e, "via_host", ARGS(I32(1000)), r, 1, &err), HVW_GAS_EXHAUSTED);
  assert_string_equal(err.message, "gas exhausted in the host");
  assert_int_equal(gas_used(&e), 500); /* the whole budget, nothing more */
  assert_false(hvw_store_consume_gas(e.store, 1));
  assert_true(hvw_store_consume_gas(e.store, 0));
  env_close(&e);
}

/* ---- validation ---------------------------------------------------------------------------- */

/* A module with one function of type [i32] -> [i32] (and one page of memory when `memory`), whose
 * code entry is `body` (local declarations, instructions, end). Returns its size. */
static size_t module_with_body(uint8_t *out, const uint8_t *body, size_t body_len, bool memory, bool data_count) {
  size_t n = 0;
  static const uint8_t head[] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00,
                                 0x01, 0x06, 0x01, 0x60, 0x01, 0x7F, 0x01, 0x7F, /* type */
                                 0x03, 0x02, 0x01, 0x00};                        /* function */
  memcpy(out, head, sizeof head);
  n = sizeof head;
  if (memory) {
    static const uint8_t mem[] = {0x05, 0x03, 0x01, 0x00, 0x01};
    memcpy(out + n, mem, sizeof mem);
    n += sizeof mem;
  }
  if (data_count) {
    static const uint8_t dc[] = {0x0C, 0x01, 0x01};
    memcpy(out + n, dc, sizeof dc);
    n += sizeof dc;
  }
  out[n++] = 0x0A;
  out[n++] = (uint8_t)(body_len + 2);
  out[n++] = 0x01;
  out[n++] = (uint8_t)body_len;
  memcpy(out + n, body, body_len);
  n += body_len;
  if (data_count) {
    static const uint8_t data[] = {0x0B, 0x04, 0x01, 0x01, 0x01, 'x'}; /* one passive segment */
    memcpy(out + n, data, sizeof data);
    n += sizeof data;
  }
  return n;
}

static void expect_rejected(const uint8_t *body, size_t len, bool memory, bool data_count, hvw_status status,
                            const char *text) {
  uint8_t bin[256];
  size_t n = module_with_body(bin, body, len, memory, data_count);
  hvw_error err;
  hvw_module *m = hvw_module_load(bin, n, &err);
  if (m) {
    hvw_module_free(m);
    fail_msg("accepted a module that should fail with \"%s\"", text);
  }
  if (err.status != status || !strstr(err.message, text))
    fail_msg("expected %s \"%s\", got %s: %s", hvw_status_name(status), text, hvw_status_name(err.status),
             err.message);
}

static void expect_accepted(const uint8_t *body, size_t len, bool memory) {
  uint8_t bin[256];
  size_t n = module_with_body(bin, body, len, memory, false);
  hvw_error err;
  hvw_module *m = hvw_module_load(bin, n, &err);
  if (!m) fail_msg("rejected: %s", err.message);
  hvw_module_free(m);
}

#define BODY(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void test_validation_errors(void **state) {
  (void)state;
  /* i64 where the result is i32 */
  expect_rejected(BODY(0x00, 0x42, 0x00, 0x0B), false, false, HVW_INVALID, "type mismatch");
  /* the message names the function */
  expect_rejected(BODY(0x00, 0x42, 0x00, 0x0B), false, false, HVW_INVALID, "function 0");
  expect_rejected(BODY(0x00, 0x20, 0x05, 0x0B), false, false, HVW_INVALID, "unknown local");
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x20, 0x00, 0x0B), false, false, HVW_INVALID, "type mismatch");
  expect_rejected(BODY(0x00, 0x06, 0x0B), false, false, HVW_MALFORMED, "illegal opcode");
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x0C, 0x01, 0x0B), false, false, HVW_INVALID, "unknown label");
  /* no final end, and bytes after it */
  expect_rejected(BODY(0x00, 0x20, 0x00), false, false, HVW_MALFORMED, "");
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x0B, 0x01), false, false, HVW_MALFORMED, "");
  /* memory: needs one, alignment at most natural, the reserved byte */
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0B), false, false, HVW_INVALID, "unknown memory");
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x28, 0x03, 0x00, 0x0B), true, false, HVW_INVALID, "alignment");
  expect_rejected(BODY(0x00, 0x3F, 0x01, 0x0B), true, false, HVW_MALFORMED, "zero byte expected");
  /* memory.init and data.drop need the data count section */
  expect_rejected(BODY(0x00, 0xFC, 0x09, 0x00, 0x20, 0x00, 0x0B), true, false, HVW_MALFORMED, "data count");
  expect_rejected(BODY(0x00, 0xFC, 0x09, 0x01, 0x20, 0x00, 0x0B), true, true, HVW_INVALID, "unknown data segment");
  /* else without if, and an if without else must not change the types */
  expect_rejected(BODY(0x00, 0x05, 0x20, 0x00, 0x0B), false, false, HVW_MALFORMED, "else");
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x04, 0x7F, 0x20, 0x00, 0x0B, 0x0B), false, false, HVW_INVALID,
                  "type mismatch");
  /* br_table labels of different arities */
  expect_rejected(BODY(0x00, 0x02, 0x40, 0x20, 0x00, 0x20, 0x00, 0x0E, 0x01, 0x00, 0x01, 0x0B, 0x20, 0x00, 0x0B),
                  false, false, HVW_INVALID, "arities");
  /* select with reference operands needs a type */
  expect_rejected(BODY(0x00, 0xD0, 0x70, 0xD0, 0x70, 0x20, 0x00, 0x1B, 0x1A, 0x20, 0x00, 0x0B), false, false,
                  HVW_INVALID, "type mismatch");
  /* messages name the instruction by its opcodes.def row, prefixed ones too */
  expect_rejected(BODY(0x00, 0x42, 0x00, 0x20, 0x00, 0x6A, 0x0B), false, false, HVW_INVALID,
                  "function 0, i32.add at byte offset");
  expect_rejected(BODY(0x00, 0x42, 0x00, 0xFC, 0x00, 0x0B), false, false, HVW_INVALID, "i32.trunc_sat_f32_s");
  /* a 0xFC opcode past the table, and one that does not fit a u32 */
  expect_rejected(BODY(0x00, 0xFC, 0x12, 0x0B), false, false, HVW_MALFORMED, "illegal opcode 0xFC 18");
  expect_rejected(BODY(0x00, 0xFC, 0x80, 0x80, 0x80, 0x80, 0x10, 0x0B), false, false, HVW_MALFORMED, "");
  /* 0xFD opcodes that are no instruction: a gap in the table (once i16x8.avgr_s), and past it */
  expect_rejected(BODY(0x00, 0xFD, 0x9A, 0x01, 0x0B), false, false, HVW_MALFORMED, "illegal opcode 0xFD 154");
  expect_rejected(BODY(0x00, 0xFD, 0xFF, 0x0F, 0x0B), false, false, HVW_MALFORMED, "illegal opcode 0xFD 2047");
  /* a lane index past the shape's lanes: v128.const 0; i32x4.extract_lane 4 */
  expect_rejected(BODY(0x00, 0xFD, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFD, 0x1B, 0x04, 0x0B),
                  false, false, HVW_INVALID, "invalid lane index");

  /* unreachable code is polymorphic: these are valid */
  expect_accepted(BODY(0x00, 0x00, 0x6A, 0x0B), false);             /* unreachable; i32.add */
  expect_accepted(BODY(0x00, 0x00, 0x1B, 0x0B), false);             /* unreachable; select */
  expect_accepted(BODY(0x00, 0x00, 0x0D, 0x00, 0x0B), false);       /* unreachable; br_if 0 */
  expect_accepted(BODY(0x00, 0x20, 0x00, 0x0F, 0x42, 0x00, 0x1A, 0x0B), false); /* return; i64 dropped */
  /* but values pushed after it are real */
  expect_rejected(BODY(0x00, 0x20, 0x00, 0x0F, 0x42, 0x00, 0x0B), false, false, HVW_INVALID, "type mismatch");
}

/* SIMD: the instructions opcodes.def has so far, on v128 values in two cells (simd.wat). */
static void test_simd(void **state) {
  (void)state;
  env e;
  env_open(&e, "simd", NULL);
  assert_int_equal(call_i32(&e, "i32x4_add", ARGS(I32(5), I32(-1))), 35);
  assert_int_equal(call_i32(&e, "i32x4_lane3", ARGS(I32(5), I32(-1))), -1);
  assert_int_equal(call_i32(&e, "i8x16_add_u", NULL, 0), 44);
  assert_int_equal(call_i32(&e, "i8x16_lane_s", ARGS(I32(200))), -56);
  assert_int_equal(call_i32(&e, "i8x16_sub_neg", NULL, 0), 126); /* -3 - 127 wraps to 126 */
  assert_int_equal(call_i32(&e, "i16x8_mul", NULL, 0), 24464);
  assert_int_equal(call_i32(&e, "i16x8_ops", NULL, 0), 2);      /* -1 + 5 - 2 */
  assert_int_equal(call_i32(&e, "i32x4_mul_sub_neg", NULL, 0), 0x20001 + 7);
  assert_int_equal(call1(&e, "i64x2_ops", ARGS(I64(INT64_MAX))).of.i64, (int64_t)((uint64_t)INT64_MAX * 5u) + 2);
  assert_int_equal(call1(&e, "bitwise", NULL, 0).of.i64, (0xf000 | 0x3) ^ 0x1);
  assert_int_equal((uint32_t)call_i32(&e, "f32x4_lanes", NULL, 0), 0xC0200000u);
  assert_int_equal(call1(&e, "f64x2_lanes", NULL, 0).of.i64, 0x3FE0000000000000);
  assert_int_equal(call_i32(&e, "copy16", ARGS(I32(100))), 0x08070605);
  assert_int_equal(call_i32(&e, "load_at", ARGS(I32(65536 - 16))), 0);
  expect_trap(&e, "load_at", ARGS(I32(65536 - 15)), HVW_TRAP_MEMORY_OOB);
  expect_trap(&e, "copy16", ARGS(I32(65536 - 8)), HVW_TRAP_MEMORY_OOB);
  assert_int_equal(call_i32(&e, "load_x", ARGS(I32(10), I32(6))), 0x10); /* the fused address */
  assert_int_equal(call_i32(&e, "bump_global", NULL, 0), 5);
  assert_int_equal(call_i32(&e, "bump_global", NULL, 0), 6);
  assert_int_equal(call_i32(&e, "select", ARGS(I32(1))), 7);
  assert_int_equal(call_i32(&e, "select", ARGS(I32(0))), 9);
  assert_int_equal(call_i32(&e, "select_t", ARGS(I32(0))), 9);
  assert_int_equal(call_i32(&e, "locals_blocks_calls", ARGS(I32(39))), 42);
  assert_int_equal(call1(&e, "br_if_keeps_v128", ARGS(I32(0))).of.i64, 8); /* not taken */
  assert_int_equal(call1(&e, "br_if_keeps_v128", ARGS(I32(1))).of.i64, 8); /* taken */
  assert_int_equal(call_i32(&e, "many_v128_consts", NULL, 0), 1 + 2 + 73);
  env_close(&e);
}

/* A v128 of four i32 lanes (lane 0 first, each little-endian, as in memory). */
static hvw_value V128_I32X4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  hvw_value v = {.type = HVW_TYPE_V128};
  const uint32_t lanes[4] = {a, b, c, d};
  for (int i = 0; i < 16; i++) v.of.v128[i] = (uint8_t)(lanes[i / 4] >> (8 * (i % 4)));
  return v;
}

static void assert_v128_i32x4(hvw_value v, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  hvw_value want = V128_I32X4(a, b, c, d);
  assert_int_equal(v.type, HVW_TYPE_V128);
  assert_memory_equal(v.of.v128, want.of.v128, 16);
}

/* The host's "rotate": i32 lanes (a b c d) by n → lane i gets lane (i + n) mod 4; n < 0 fails; n
 * == 99 returns a result of the wrong type. */
static hvw_status host_rotate(void *envp, const hvw_value *args, hvw_value *results, hvw_error *err) {
  int *calls = envp;
  (*calls)++;
  if (args[0].type != HVW_TYPE_V128 || args[1].type != HVW_TYPE_I32 || results[0].type != HVW_TYPE_V128)
    return HVW_TRAP;
  int32_t n = args[1].of.i32;
  if (n < 0) return HVW_TRAP;
  if (n == 99) {
    results[0] = I32(0);
    return HVW_OK;
  }
  for (int lane = 0; lane < 4; lane++)
    memcpy(results[0].of.v128 + 4 * lane, args[0].of.v128 + 4 * ((lane + n) % 4), 4);
  (void)err;
  return HVW_OK;
}

/* v128 values through the API: hvw_func_call, host functions, host globals, hvw_global_get. */
static void test_simd_through_the_api(void **state) {
  (void)state;
  static const hvw_valtype rotate_params[] = {HVW_TYPE_V128, HVW_TYPE_I32}, v128[] = {HVW_TYPE_V128};
  env e;
  int calls = 0;
  hvw_error err;
  e.module = load_file("simd_api");
  e.store = hvw_store_new(NULL, &err);
  assert_non_null(e.store);
  hvw_func *rotate = hvw_func_new_host(e.store, (hvw_functype_view){2, rotate_params, 1, v128}, host_rotate,
                                         &calls, &err);
  assert_non_null(rotate);
  hvw_global *seed = hvw_global_new(e.store, HVW_TYPE_V128, false, V128_I32X4(7, 8, 9, 0xdeadbeef), &err);
  assert_non_null(seed);
  assert_v128_i32x4(hvw_global_get(seed), 7, 8, 9, 0xdeadbeef);
  hvw_extern imports[2] = {{.kind = HVW_EXTERN_FUNC, .of.func = rotate},
                            {.kind = HVW_EXTERN_GLOBAL, .of.global = seed}};
  e.inst = hvw_instance_new(e.store, e.module, imports, 2, &err);
  if (!e.inst) fail_msg("instantiating simd_api: %s", err.message);

  assert_v128_i32x4(call1(&e, "add", ARGS(V128_I32X4(1, 2, 3, 0xffffffff), V128_I32X4(10, 20, 30, 2))), 11, 22, 33,
                    1);
  /* byte order: the value's bytes are memory's */
  hvw_value bytes = {.type = HVW_TYPE_V128};
  for (int i = 0; i < 16; i++) bytes.of.v128[i] = (uint8_t)(0xA0 + i);
  assert_int_equal(call_i32(&e, "byte0", ARGS(bytes)), 0xA0);
  assert_int_equal((uint32_t)call_i32(&e, "lane1", ARGS(bytes)), 0xA7A6A5A4u);
  hvw_value none[1];
  assert_int_equal(call(&e, "store", ARGS(I32(100), bytes), none, 0, &err), HVW_OK);
  hvw_extern mem;
  assert_true(hvw_instance_export(e.inst, "mem", 3, &mem));
  assert_memory_equal(hvw_memory_data(mem.of.memory) + 100, bytes.of.v128, 16);

  /* several results, v128 and scalar mixed */
  hvw_value r[3];
  assert_int_equal(call(&e, "mixed", ARGS(V128_I32X4(1, 2, 3, 4), I64(41), V128_I32X4(5, 6, 7, 8)), r, 3, &err),
                   HVW_OK);
  assert_v128_i32x4(r[0], 5, 6, 7, 8);
  assert_int_equal(r[1].type, HVW_TYPE_I64);
  assert_int_equal(r[1].of.i64, 42);
  assert_v128_i32x4(r[2], 1, 2, 3, 4);

  /* host functions take and return v128, from WebAssembly and called directly */
  assert_v128_i32x4(call1(&e, "via_host", ARGS(V128_I32X4(1, 2, 3, 4), I32(1))), 2, 3, 4, 1);
  assert_v128_i32x4(call1(&e, "rotate", ARGS(V128_I32X4(1, 2, 3, 4), I32(3))), 4, 1, 2, 3);
  assert_int_equal(calls, 2);
  assert_int_equal(call(&e, "via_host", ARGS(V128_I32X4(1, 2, 3, 4), I32(-1)), r, 1, &err), HVW_TRAP);
  assert_int_equal(err.trap, HVW_TRAP_HOST);
  assert_int_equal(call(&e, "via_host", ARGS(V128_I32X4(1, 2, 3, 4), I32(99)), r, 1, &err), HVW_TRAP);
  assert_non_null(strstr(err.message, "wrong type"));

  /* globals: an imported host v128, and the module's own mutable one read from outside */
  assert_v128_i32x4(call1(&e, "seed", NULL, 0), 7, 8, 9, 0xdeadbeef);
  hvw_extern g;
  assert_true(hvw_instance_export(e.inst, "g", 1, &g));
  assert_v128_i32x4(hvw_global_get(g.of.global), 1, 2, 3, 4);
  assert_int_equal(call(&e, "set_g", ARGS(V128_I32X4(0x80000000u, 0, 1, 2)), none, 0, &err), HVW_OK);
  assert_v128_i32x4(hvw_global_get(g.of.global), 0x80000000u, 0, 1, 2);

  /* a scalar where a v128 goes, and the other way round, is refused before anything runs */
  assert_int_equal(call(&e, "byte0", ARGS(I64(0)), r, 1, &err), HVW_BAD_ARGUMENTS);
  assert_non_null(strstr(err.message, "expected v128, got i64"));
  assert_int_equal(call(&e, "via_host", ARGS(V128_I32X4(0, 0, 0, 0), V128_I32X4(0, 0, 0, 0)), r, 1, &err),
                   HVW_BAD_ARGUMENTS);
  assert_null(hvw_global_new(e.store, HVW_TYPE_V128, false, I32(1), &err));
  assert_int_equal(err.status, HVW_BAD_ARGUMENTS);
  assert_int_equal(calls, 4);
  env_close(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_float_min_max_zero_and_nan),
      cmocka_unit_test(test_float_rounding),
      cmocka_unit_test(test_float_sign_ops_keep_nan_payloads),
      cmocka_unit_test(test_integer_edge_cases),
      cmocka_unit_test(test_conversions),
      cmocka_unit_test(test_deferred_locals),
      cmocka_unit_test(test_multi_value),
      cmocka_unit_test(test_fused_operations),
      cmocka_unit_test(test_translation_shape),
      cmocka_unit_test(test_each_trap),
      cmocka_unit_test(test_store_usable_after_runaway_recursion),
      cmocka_unit_test(test_call_depth_and_cell_limits),
      cmocka_unit_test(test_gas_loop_costs_what_the_table_says),
      cmocka_unit_test(test_gas_is_deterministic),
      cmocka_unit_test(test_gas_exhaustion_is_deterministic),
      cmocka_unit_test(test_gas_of_bulk_operations),
      cmocka_unit_test(test_refused_grow_costs_no_gas),
      cmocka_unit_test(test_interrupt_before_call),
      cmocka_unit_test(test_interrupt_from_another_thread),
      cmocka_unit_test(test_memory_cap),
      cmocka_unit_test(test_bulk_memory_bounds),
      cmocka_unit_test(test_table_operations),
      cmocka_unit_test(test_host_calls_and_reentry),
      cmocka_unit_test(test_host_consumes_gas),
      cmocka_unit_test(test_validation_errors),
      cmocka_unit_test(test_simd),
      cmocka_unit_test(test_simd_through_the_api),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
