/* test_valtext.c: argument parsing and result formatting of src/exec/valtext.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "valtext.h"

static hvw_value parse_ok(hvw_valtype type, const char *text) {
  hvw_value v = {0};
  valtext_status st = valtext_parse(type, text, &v);
  if (st != VALTEXT_OK) fail_msg("'%s' did not parse: %s", text, valtext_status_message(st));
  assert_int_equal(v.type, type);
  return v;
}

static void assert_rejected(hvw_valtype type, const char *text, valtext_status want) {
  hvw_value v = {.type = 0, .of.i64 = 0x1122334455667788};
  valtext_status st = valtext_parse(type, text, &v);
  if (st != want) fail_msg("'%s': got status %d, wanted %d", text, st, want);
  assert_int_equal(v.of.i64, 0x1122334455667788); /* untouched on failure */
}

static void test_i32_decimal_and_hex(void **state) {
  assert_int_equal(parse_ok(HVW_TYPE_I32, "0").of.i32, 0);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "42").of.i32, 42);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "+42").of.i32, 42);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "-2147483648").of.i32, INT32_MIN);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "2147483647").of.i32, INT32_MAX);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "4294967295").of.i32, -1); /* unsigned spelling */
  assert_int_equal(parse_ok(HVW_TYPE_I32, "0x10").of.i32, 16);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "0XfF").of.i32, 255);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "0xffffffff").of.i32, -1);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "-0x80000000").of.i32, INT32_MIN);
  assert_int_equal(parse_ok(HVW_TYPE_I32, "007").of.i32, 7); /* decimal, not octal */
}

static void test_i32_range_and_syntax(void **state) {
  assert_rejected(HVW_TYPE_I32, "4294967296", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I32, "-2147483649", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I32, "0x100000000", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I32, "99999999999999999999999", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I32, "", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "-", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "0x", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "12abc", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, " 12", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "12 ", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "1.5", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "1e3", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "--1", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "0xg", VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_I32, "1_000", VALTEXT_SYNTAX);
}

static void test_i64(void **state) {
  assert_true(parse_ok(HVW_TYPE_I64, "9223372036854775807").of.i64 == INT64_MAX);
  assert_true(parse_ok(HVW_TYPE_I64, "-9223372036854775808").of.i64 == INT64_MIN);
  assert_true(parse_ok(HVW_TYPE_I64, "18446744073709551615").of.i64 == -1);
  assert_true(parse_ok(HVW_TYPE_I64, "0x8000000000000000").of.i64 == INT64_MIN);
  assert_true(parse_ok(HVW_TYPE_I64, "4294967296").of.i64 == 4294967296);
  assert_rejected(HVW_TYPE_I64, "18446744073709551616", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I64, "-9223372036854775809", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I64, "0x10000000000000000", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_I64, "5x", VALTEXT_SYNTAX);
}

static void test_u64(void **state) {
  uint64_t v = 0;
  assert_int_equal(valtext_parse_u64("18446744073709551615", &v), VALTEXT_OK);
  assert_true(v == UINT64_MAX);
  assert_int_equal(valtext_parse_u64("0x10", &v), VALTEXT_OK);
  assert_true(v == 16);
  assert_int_equal(valtext_parse_u64("18446744073709551616", &v), VALTEXT_RANGE);
  assert_int_equal(valtext_parse_u64("-1", &v), VALTEXT_SYNTAX);
  assert_int_equal(valtext_parse_u64("+1", &v), VALTEXT_SYNTAX);
  assert_int_equal(valtext_parse_u64("", &v), VALTEXT_SYNTAX);
}

static void test_floats_parse(void **state) {
  assert_int_equal(parse_ok(HVW_TYPE_F32, "1.5").of.f32_bits, 0x3fc00000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "0.1").of.f32_bits, 0x3dcccccd); /* rounded once */
  assert_int_equal(parse_ok(HVW_TYPE_F32, "-0").of.f32_bits, 0x80000000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "1e-45").of.f32_bits, 0x00000001); /* subnormal */
  assert_int_equal(parse_ok(HVW_TYPE_F32, ".5").of.f32_bits, 0x3f000000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "2.").of.f32_bits, 0x40000000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "3E2").of.f32_bits, 0x43960000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "nan").of.f32_bits, 0x7fc00000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "-nan").of.f32_bits, 0xffc00000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "inf").of.f32_bits, 0x7f800000);
  assert_int_equal(parse_ok(HVW_TYPE_F32, "-inf").of.f32_bits, 0xff800000);
  assert_true(parse_ok(HVW_TYPE_F64, "0.1").of.f64_bits == 0x3fb999999999999aull);
  assert_true(parse_ok(HVW_TYPE_F64, "-1e-320").of.f64_bits == 0x80000000000007e8ull);
  assert_true(parse_ok(HVW_TYPE_F64, "1.7976931348623157e308").of.f64_bits == 0x7fefffffffffffffull);
  assert_true(parse_ok(HVW_TYPE_F64, "inf").of.f64_bits == 0x7ff0000000000000ull);
  assert_true(parse_ok(HVW_TYPE_F64, "nan").of.f64_bits == 0x7ff8000000000000ull);
  assert_true(parse_ok(HVW_TYPE_F64, "42").of.f64_bits == 0x4045000000000000ull);
}

static void test_floats_reject(void **state) {
  assert_rejected(HVW_TYPE_F32, "1e39", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_F64, "1e309", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_F64, "-1e309", VALTEXT_RANGE);
  static const char *const bad[] = {"",     "abc",  "1.5x", " 1",      "1 ",        "0x1p3", "infinity",
                                    "NaN",  "Inf",  "nan(1)", "1e",    "1e+",       ".",     "e5",
                                    "+-1",  "1..2", "--inf", "nan:0x1", "1,5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_rejected(HVW_TYPE_F32, bad[i], VALTEXT_SYNTAX);
    assert_rejected(HVW_TYPE_F64, bad[i], VALTEXT_SYNTAX);
  }
}

static void test_refs_rejected(void **state) {
  assert_rejected(HVW_TYPE_FUNCREF, "null", VALTEXT_BAD_TYPE);
  assert_rejected(HVW_TYPE_EXTERNREF, "1", VALTEXT_BAD_TYPE);
}

/* v128 as v128.const writes it: a shape, then each lane by its scalar rule. */
static void test_v128(void **state) {
  static const uint8_t i32x4[16] = {1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  assert_memory_equal(parse_ok(HVW_TYPE_V128, "i32x4 1 -2 0x3 4294967295").of.v128, i32x4, 16);
  static const uint8_t i8x16[16] = {0, 1, 0xff, 0x80, 0x7f, 0xff, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  assert_memory_equal(parse_ok(HVW_TYPE_V128, "i8x16 0 1 -1 -128 127 255 6 7 8 9 10 11 12 13 14 0xf").of.v128,
                      i8x16, 16);
  static const uint8_t i16x8[16] = {0xff, 0xff, 0, 0x80, 0x34, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
  assert_memory_equal(parse_ok(HVW_TYPE_V128, "i16x8 65535 -32768 0x1234 0 0 0 0 1").of.v128, i16x8, 16);
  static const uint8_t i64x2[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 0, 0, 0};
  assert_memory_equal(parse_ok(HVW_TYPE_V128, "i64x2 -1 2").of.v128, i64x2, 16);
  static const uint8_t f32x4[16] = {0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff, 0, 0, 0, 0x80};
  assert_memory_equal(parse_ok(HVW_TYPE_V128, "f32x4 1 nan -inf -0").of.v128, f32x4, 16);
  static const uint8_t f64x2[16] = {0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0xf8, 0xff};
  assert_memory_equal(parse_ok(HVW_TYPE_V128, "f64x2 1.5 -nan").of.v128, f64x2, 16);

  static const char *const bad[] = {"",          "0",           "i32x4",         "i32x4 1 2 3",
                                    "i32x4 1 2 3 4 5", "i32x4  1 2 3 4", "i32x4 1 2 3 4 ", " i32x4 1 2 3 4",
                                    "i32x4 1 2 x 4",   "v128 1 2 3 4",   "i32x41 2 3 4",    "f32x4 1 2 3 nan:0x1",
                                    "i64x2 1\t2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_rejected(HVW_TYPE_V128, bad[i], VALTEXT_SYNTAX);
  assert_rejected(HVW_TYPE_V128, "i8x16 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 256", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_V128, "i16x8 -32769 0 0 0 0 0 0 0", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_V128, "f32x4 1e39 0 0 0", VALTEXT_RANGE);
  assert_rejected(HVW_TYPE_V128, "i32x4 4294967296 0 0 x", VALTEXT_SYNTAX); /* syntax wins */

  /* formatted as four exact i32 lanes, which read back to the same bytes */
  char buf[VALTEXT_FORMAT_MAX];
  hvw_value v = parse_ok(HVW_TYPE_V128, "i32x4 1 -2 0x3 4294967295");
  assert_int_equal(valtext_format(&v, buf, sizeof buf), 49);
  assert_string_equal(buf, "i32x4 0x00000001 0xfffffffe 0x00000003 0xffffffff");
  v = parse_ok(HVW_TYPE_V128, "f64x2 1.5 -nan");
  valtext_format(&v, buf, sizeof buf);
  assert_memory_equal(parse_ok(HVW_TYPE_V128, buf).of.v128, f64x2, 16);
}

static void assert_f32_text(uint32_t bits, const char *want) {
  char buf[VALTEXT_FORMAT_MAX];
  valtext_format_f32(bits, buf, sizeof buf);
  assert_string_equal(buf, want);
}

static void assert_f64_text(uint64_t bits, const char *want) {
  char buf[VALTEXT_FORMAT_MAX];
  valtext_format_f64(bits, buf, sizeof buf);
  assert_string_equal(buf, want);
}

static void test_format_floats_shortest(void **state) {
  assert_f32_text(0x3dcccccd, "0.1");        /* not 0.100000001 */
  assert_f32_text(0x3eaaaaab, "0.33333334"); /* 1/3 needs 8 digits */
  assert_f32_text(0x3fc00000, "1.5");
  assert_f32_text(0x00000000, "0");
  assert_f32_text(0x80000000, "-0");
  assert_f32_text(0x00000001, "1e-45");
  assert_f32_text(0x7f7fffff, "3.4028235e+38");
  assert_f32_text(0x4b189680, "10000000"); /* %.1g would say 1e+07 */
  assert_f32_text(0x42c80000, "100");
  assert_f32_text(0x38d1b717, "0.0001");
  assert_f32_text(0x3727c5ac, "1e-05");
  assert_f32_text(0xc2f6e979, "-123.456");
  assert_f32_text(0x5a0e1bca, "1e+16");
  assert_f32_text(0x59e35fa9, "8000000000000000");
  assert_f64_text(0x3fb999999999999aull, "0.1");
  assert_f64_text(0x3fd5555555555555ull, "0.3333333333333333");
  assert_f64_text(0x3fb999999999999bull, "0.10000000000000002"); /* needs all 17 */
  assert_f64_text(0x4045000000000000ull, "42");
  assert_f64_text(0x8000000000000000ull, "-0");
  assert_f64_text(0x0000000000000001ull, "5e-324");
  assert_f64_text(0x7fefffffffffffffull, "1.7976931348623157e+308");
  assert_f64_text(0x54b249ad2594c37dull, "1e+100");
  assert_f64_text(0x4341c37937e07fffull, "9999999999999998"); /* 16 digits, positional */
  assert_f64_text(0x4341c37937e08001ull, "1.0000000000000002e+16");
  assert_f64_text(0x3ff0000000000001ull, "1.0000000000000002");
  assert_f64_text(0x4059000000000000ull, "100");
}

static void test_format_specials(void **state) {
  assert_f32_text(0x7fc00000, "nan");
  assert_f32_text(0xffc00000, "nan"); /* the sign of a NaN is not printed */
  assert_f32_text(0x7f800001, "nan"); /* signalling */
  assert_f32_text(0x7f800000, "inf");
  assert_f32_text(0xff800000, "-inf");
  assert_f64_text(0xfff8000000001234ull, "nan");
  assert_f64_text(0x7ff0000000000000ull, "inf");
  assert_f64_text(0xfff0000000000000ull, "-inf");
}

static void test_format_values(void **state) {
  char buf[VALTEXT_FORMAT_MAX];
  hvw_value v = {.type = HVW_TYPE_I32, .of.i32 = -1};
  valtext_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "-1");
  v = (hvw_value){.type = HVW_TYPE_I64, .of.i64 = INT64_MIN};
  valtext_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "-9223372036854775808");
  v = (hvw_value){.type = HVW_TYPE_FUNCREF, .of.funcref = NULL};
  valtext_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "null");
  v = (hvw_value){.type = HVW_TYPE_EXTERNREF, .of.externref = 5};
  valtext_format(&v, buf, sizeof buf);
  assert_string_equal(buf, "externref");
}

/* Every printed float reads back to the same bits: a sweep over exponents and mantissas. */
static void test_format_round_trips(void **state) {
  uint32_t x = 0x12345678;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    if ((x & 0x7f800000u) == 0x7f800000u) continue;
    char buf[VALTEXT_FORMAT_MAX];
    valtext_format_f32(x, buf, sizeof buf);
    hvw_value v = parse_ok(HVW_TYPE_F32, buf);
    if (v.of.f32_bits != x) fail_msg("f32 0x%08x printed as %s reads back as 0x%08x", x, buf, v.of.f32_bits);
    uint64_t y = ((uint64_t)x << 32) ^ ((uint64_t)x * 0x9e3779b97f4a7c15ull);
    if ((y & 0x7ff0000000000000ull) == 0x7ff0000000000000ull) continue;
    valtext_format_f64(y, buf, sizeof buf);
    v = parse_ok(HVW_TYPE_F64, buf);
    if (v.of.f64_bits != y) fail_msg("f64 0x%016llx printed as %s does not read back", (unsigned long long)y, buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_i32_decimal_and_hex), cmocka_unit_test(test_i32_range_and_syntax),
      cmocka_unit_test(test_i64),                 cmocka_unit_test(test_u64),
      cmocka_unit_test(test_floats_parse),        cmocka_unit_test(test_floats_reject),
      cmocka_unit_test(test_refs_rejected),       cmocka_unit_test(test_v128),       cmocka_unit_test(test_format_floats_shortest),
      cmocka_unit_test(test_format_specials),     cmocka_unit_test(test_format_values),
      cmocka_unit_test(test_format_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
