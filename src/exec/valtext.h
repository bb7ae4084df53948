/*
 * valtext.h: WebAssembly values to and from text, as `hypervisor run` (and later the service) takes
 * arguments and prints results.
 *
 * Parsing is strict: the whole string must be the value, with no surrounding space.
 *   i32, i64  decimal or 0x-hex (either case), optional sign. Accepted range: the signed minimum up
 *             to the unsigned maximum (i32: -2147483648 .. 4294967295, hex up to 0xffffffff); a value
 *             above the signed maximum is taken as its two's-complement bit pattern.
 *   f32, f64  decimal ([+-]digits[.digits][e[+-]digits], "1." and ".5" accepted), rounded to nearest;
 *             or nan, -nan, inf, +inf, -inf. A finite literal that overflows to infinity is a range
 *             error; one that underflows becomes a subnormal or zero.
 *   v128      as in the text format's v128.const: a shape (i8x16, i16x8, i32x4, i64x2, f32x4,
 *             f64x2), then one value per lane by the rules above, each after exactly one space
 *             ("i32x4 1 -2 0x3 4"); i8 and i16 lanes take -128 .. 255 and -32768 .. 65535.
 *   funcref, externref: cannot be written as text (VALTEXT_BAD_TYPE).
 *
 * Formatting: integers as signed decimal. Floats with the fewest significant digits N that read
 * back to the same bits (the first %.Ng, N = 1..9 for f32, 1..17 for f64, that round-trips), written
 * positionally when the decimal exponent is -4..15 ("100", "0.1", "0.0001") and in C's scientific
 * form otherwise ("1e+16", "1e-05", "3.4028235e+38"); nan, inf, -inf (every NaN prints as "nan",
 * whatever its sign and payload). A v128 as its four i32 lanes in hex, exactly
 * ("i32x4 0x00000001 0xfffffffe 0x00000003 0x00000004"), which reads back to the same bits.
 * References as "null", "funcref" or "externref".
 *
 * Nothing here allocates or keeps state; no engine function is called.
 */
#ifndef HV_VALTEXT_H
#define HV_VALTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "wasm_engine.h"

/* X(name, message) */
#define VALTEXT_STATUS_MAP(X)                                        \
  X(VALTEXT_OK, "ok")                                                \
  X(VALTEXT_SYNTAX, "not a number of the expected form")             \
  X(VALTEXT_RANGE, "out of range")                                   \
  X(VALTEXT_BAD_TYPE, "this type cannot be given as text")

typedef enum valtext_status {
#define VALTEXT__ENUM(name, text) name,
  VALTEXT_STATUS_MAP(VALTEXT__ENUM)
#undef VALTEXT__ENUM
} valtext_status;

const char *valtext_status_message(valtext_status status);

/* Parses `text` as a value of `type` into *out (out->type set). *out is untouched on failure. */
valtext_status valtext_parse(hvw_valtype type, const char *text, hvw_value *out);

/* An unsigned decimal or 0x-hex count, no sign: 0 .. UINT64_MAX. */
valtext_status valtext_parse_u64(const char *text, uint64_t *out);

/* Room for any formatted value, NUL included (a v128 is 49 characters). */
#define VALTEXT_FORMAT_MAX 64

/*
 * Writes `value` as text into `buf` (NUL-terminated; truncated if size < VALTEXT_FORMAT_MAX).
 * Returns the length written, as snprintf does.
 */
int valtext_format(const hvw_value *value, char *buf, size_t size);
int valtext_format_f32(uint32_t bits, char *buf, size_t size);
int valtext_format_f64(uint64_t bits, char *buf, size_t size);

#endif /* HV_VALTEXT_H */
