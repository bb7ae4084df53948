/* valtext.c: WebAssembly values to and from text (see valtext.h). */
#include "valtext.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const valtext_messages[] = {
#define VALTEXT__TEXT(name, text) text,
    VALTEXT_STATUS_MAP(VALTEXT__TEXT)
#undef VALTEXT__TEXT
};

const char *valtext_status_message(valtext_status status) {
  return (unsigned)status < sizeof valtext_messages / sizeof valtext_messages[0]
             ? valtext_messages[status]
             : "unknown error";
}

/* ---- Integers ----------------------------------------------------------------------------- */

static int valtext_digit(char c, unsigned base) {
  int d;
  if (c >= '0' && c <= '9') d = c - '0';
  else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
  else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
  else return -1;
  return (unsigned)d < base ? d : -1;
}

/* Digits (decimal, or hex after 0x) to a magnitude. A syntax error anywhere wins over overflow. */
static valtext_status valtext_magnitude(const char *s, uint64_t *out) {
  unsigned base = 10;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
  }
  if (*s == '\0') return VALTEXT_SYNTAX;
  uint64_t v = 0;
  bool overflow = false;
  for (; *s; s++) {
    int d = valtext_digit(*s, base);
    if (d < 0) return VALTEXT_SYNTAX;
    if (v > (UINT64_MAX - (uint64_t)d) / base) overflow = true;
    else v = v * base + (uint64_t)d;
  }
  if (overflow) return VALTEXT_RANGE;
  *out = v;
  return VALTEXT_OK;
}

valtext_status valtext_parse_u64(const char *text, uint64_t *out) {
  return valtext_magnitude(text, out);
}

/* A signed integer of `bits` (8, 16, 32 or 64) width, as its two's-complement bit pattern. */
static valtext_status valtext_int(const char *s, unsigned bits, uint64_t *out) {
  bool negative = false;
  if (*s == '-' || *s == '+') negative = *s++ == '-';
  uint64_t mag;
  valtext_status st = valtext_magnitude(s, &mag);
  if (st != VALTEXT_OK) return st;
  uint64_t umax = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
  uint64_t neg_max = (uint64_t)1 << (bits - 1); /* |signed minimum| */
  if (negative ? mag > neg_max : mag > umax) return VALTEXT_RANGE;
  uint64_t v = negative ? (uint64_t)0 - mag : mag;
  *out = v & umax;
  return VALTEXT_OK;
}

/* ---- Floats ------------------------------------------------------------------------------- */

/* [+-]? (digits (. digits*)? | . digits) ([eE] [+-]? digits)?  -- nothing else reaches strtod. */
static bool valtext_is_decimal(const char *s) {
  if (*s == '+' || *s == '-') s++;
  size_t int_digits = 0, frac_digits = 0;
  while (*s >= '0' && *s <= '9') s++, int_digits++;
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9') s++, frac_digits++;
  }
  if (int_digits + frac_digits == 0) return false;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '+' || *s == '-') s++;
    size_t exp_digits = 0;
    while (*s >= '0' && *s <= '9') s++, exp_digits++;
    if (exp_digits == 0) return false;
  }
  return *s == '\0';
}

enum { VALTEXT_NOT_SPECIAL, VALTEXT_NAN, VALTEXT_NEG_NAN, VALTEXT_INF, VALTEXT_NEG_INF };

static int valtext_special(const char *s) {
  if (strcmp(s, "nan") == 0 || strcmp(s, "+nan") == 0) return VALTEXT_NAN;
  if (strcmp(s, "-nan") == 0) return VALTEXT_NEG_NAN;
  if (strcmp(s, "inf") == 0 || strcmp(s, "+inf") == 0) return VALTEXT_INF;
  if (strcmp(s, "-inf") == 0) return VALTEXT_NEG_INF;
  return VALTEXT_NOT_SPECIAL;
}

static valtext_status valtext_f32(const char *s, uint32_t *out) {
  static const uint32_t special_bits[] = {0, 0x7fc00000u, 0xffc00000u, 0x7f800000u, 0xff800000u};
  int special = valtext_special(s);
  if (special != VALTEXT_NOT_SPECIAL) {
    *out = special_bits[special];
    return VALTEXT_OK;
  }
  if (!valtext_is_decimal(s)) return VALTEXT_SYNTAX;
  errno = 0;
  float f = strtof(s, NULL); /* rounds once, straight to binary32 */
  if (errno == ERANGE && isinf(f)) return VALTEXT_RANGE;
  memcpy(out, &f, sizeof f);
  return VALTEXT_OK;
}

static valtext_status valtext_f64(const char *s, uint64_t *out) {
  static const uint64_t special_bits[] = {0, 0x7ff8000000000000u, 0xfff8000000000000u,
                                          0x7ff0000000000000u, 0xfff0000000000000u};
  int special = valtext_special(s);
  if (special != VALTEXT_NOT_SPECIAL) {
    *out = special_bits[special];
    return VALTEXT_OK;
  }
  if (!valtext_is_decimal(s)) return VALTEXT_SYNTAX;
  errno = 0;
  double d = strtod(s, NULL);
  if (errno == ERANGE && isinf(d)) return VALTEXT_RANGE;
  memcpy(out, &d, sizeof d);
  return VALTEXT_OK;
}

/* ---- v128 --------------------------------------------------------------------------------- */

/* "SHAPE lane lane ...": each lane by its scalar rule, stored little-endian, lane 0 first. */
static valtext_status valtext_v128(const char *s, uint8_t out[16]) {
  static const struct {
    const char *name;
    unsigned bits;
    bool is_float;
  } shapes[] = {{"i8x16", 8, false}, {"i16x8", 16, false}, {"i32x4", 32, false},
                {"i64x2", 64, false}, {"f32x4", 32, true},  {"f64x2", 64, true}};
  size_t k = 0;
  while (k < sizeof shapes / sizeof shapes[0] && strncmp(s, shapes[k].name, 5) != 0) k++;
  if (k == sizeof shapes / sizeof shapes[0]) return VALTEXT_SYNTAX;
  s += 5;
  unsigned width = shapes[k].bits / 8;
  uint8_t bytes[16];
  valtext_status first_error = VALTEXT_OK; /* a syntax error anywhere wins over a range error */
  for (unsigned lane = 0; lane < 16 / width; lane++) {
    if (*s++ != ' ') return VALTEXT_SYNTAX;
    char text[80];
    size_t len = strcspn(s, " ");
    if (len == 0 || len >= sizeof text) return VALTEXT_SYNTAX;
    memcpy(text, s, len);
    text[len] = '\0';
    s += len;
    uint64_t bits = 0;
    uint32_t b32 = 0;
    valtext_status st = !shapes[k].is_float ? valtext_int(text, shapes[k].bits, &bits)
                        : width == 4        ? valtext_f32(text, &b32)
                                            : valtext_f64(text, &bits);
    if (st == VALTEXT_SYNTAX) return st;
    if (st != VALTEXT_OK && first_error == VALTEXT_OK) first_error = st;
    if (shapes[k].is_float && width == 4) bits = b32;
    for (unsigned b = 0; b < width; b++) bytes[lane * width + b] = (uint8_t)(bits >> (8 * b));
  }
  if (*s != '\0') return VALTEXT_SYNTAX;
  if (first_error != VALTEXT_OK) return first_error;
  memcpy(out, bytes, sizeof bytes);
  return VALTEXT_OK;
}

valtext_status valtext_parse(hvw_valtype type, const char *text, hvw_value *out) {
  uint64_t bits = 0;
  valtext_status st;
  switch (type) {
    case HVW_TYPE_I32:
      st = valtext_int(text, 32, &bits);
      if (st == VALTEXT_OK) out->of.i32 = (int32_t)(uint32_t)bits;
      break;
    case HVW_TYPE_I64:
      st = valtext_int(text, 64, &bits);
      if (st == VALTEXT_OK) out->of.i64 = (int64_t)bits;
      break;
    case HVW_TYPE_F32: {
      uint32_t b32 = 0;
      st = valtext_f32(text, &b32);
      if (st == VALTEXT_OK) out->of.f32_bits = b32;
      break;
    }
    case HVW_TYPE_F64:
      st = valtext_f64(text, &bits);
      if (st == VALTEXT_OK) out->of.f64_bits = bits;
      break;
    case HVW_TYPE_V128: {
      uint8_t v[16];
      st = valtext_v128(text, v);
      if (st == VALTEXT_OK) memcpy(out->of.v128, v, sizeof v);
      break;
    }
    default:
      return VALTEXT_BAD_TYPE;
  }
  if (st == VALTEXT_OK) out->type = type;
  return st;
}

/* ---- Formatting --------------------------------------------------------------------------- */

/*
 * Prints `v` with `digits` significant digits: positional when the decimal exponent is -4 .. 15
 * ("100", "0.001"), scientific otherwise ("1e+16", "1e-05"), never with trailing zeros after the
 * point. %g alone would print 100 as "1e+02" when one digit is enough.
 */
static int valtext_digits(double v, int digits, char *buf, size_t size) {
  char sci[VALTEXT_FORMAT_MAX];
  snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
  char *e = strchr(sci, 'e');
  if (!e) return snprintf(buf, size, "%s", sci);
  long exp10 = strtol(e + 1, NULL, 10);
  if (exp10 < -4 || exp10 >= 16) return snprintf(buf, size, "%s", sci);

  /* The significant digits, without sign, point or trailing zeros. */
  char d[VALTEXT_FORMAT_MAX];
  size_t nd = 0;
  for (const char *p = sci; p < e; p++)
    if (*p >= '0' && *p <= '9') d[nd++] = *p;
  while (nd > 1 && d[nd - 1] == '0') nd--;

  char out[VALTEXT_FORMAT_MAX + 8];
  size_t o = 0;
  if (sci[0] == '-') out[o++] = '-';
  if (exp10 < 0) {
    out[o++] = '0';
    out[o++] = '.';
    for (long z = -1; z > exp10; z--) out[o++] = '0';
    for (size_t k = 0; k < nd; k++) out[o++] = d[k];
  } else {
    size_t int_digits = (size_t)exp10 + 1;
    for (size_t k = 0; k < int_digits; k++) out[o++] = k < nd ? d[k] : '0';
    if (nd > int_digits) {
      out[o++] = '.';
      for (size_t k = int_digits; k < nd; k++) out[o++] = d[k];
    }
  }
  out[o] = '\0';
  return snprintf(buf, size, "%s", out);
}

int valtext_format_f32(uint32_t bits, char *buf, size_t size) {
  if ((bits & 0x7f800000u) == 0x7f800000u) {
    if (bits & 0x007fffffu) return snprintf(buf, size, "nan");
    return snprintf(buf, size, "%s", (bits >> 31) ? "-inf" : "inf");
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  int digits = 1;
  for (; digits < 9; digits++) { /* 9 digits always round-trip a binary32 */
    char tmp[VALTEXT_FORMAT_MAX];
    snprintf(tmp, sizeof tmp, "%.*g", digits, (double)f);
    float back = strtof(tmp, NULL);
    uint32_t back_bits;
    memcpy(&back_bits, &back, sizeof back_bits);
    if (back_bits == bits) break;
  }
  return valtext_digits((double)f, digits, buf, size);
}

int valtext_format_f64(uint64_t bits, char *buf, size_t size) {
  if ((bits & 0x7ff0000000000000u) == 0x7ff0000000000000u) {
    if (bits & 0x000fffffffffffffu) return snprintf(buf, size, "nan");
    return snprintf(buf, size, "%s", (bits >> 63) ? "-inf" : "inf");
  }
  double d;
  memcpy(&d, &bits, sizeof d);
  int digits = 1;
  for (; digits < 17; digits++) { /* 17 digits always round-trip a binary64 */
    char tmp[VALTEXT_FORMAT_MAX];
    snprintf(tmp, sizeof tmp, "%.*g", digits, d);
    double back = strtod(tmp, NULL);
    uint64_t back_bits;
    memcpy(&back_bits, &back, sizeof back_bits);
    if (back_bits == bits) break;
  }
  return valtext_digits(d, digits, buf, size);
}

int valtext_format(const hvw_value *value, char *buf, size_t size) {
  switch (value->type) {
    case HVW_TYPE_I32: return snprintf(buf, size, "%d", (int)value->of.i32);
    case HVW_TYPE_I64: return snprintf(buf, size, "%lld", (long long)value->of.i64);
    case HVW_TYPE_F32: return valtext_format_f32(value->of.f32_bits, buf, size);
    case HVW_TYPE_F64: return valtext_format_f64(value->of.f64_bits, buf, size);
    case HVW_TYPE_V128: {
      uint32_t lane[4];
      for (int k = 0; k < 4; k++) {
        const uint8_t *b = value->of.v128 + 4 * k;
        lane[k] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
      }
      return snprintf(buf, size, "i32x4 0x%08x 0x%08x 0x%08x 0x%08x", (unsigned)lane[0], (unsigned)lane[1],
                      (unsigned)lane[2], (unsigned)lane[3]);
    }
    case HVW_TYPE_FUNCREF: return snprintf(buf, size, "%s", value->of.funcref ? "funcref" : "null");
    case HVW_TYPE_EXTERNREF: return snprintf(buf, size, "%s", value->of.externref ? "externref" : "null");
    default: return snprintf(buf, size, "?");
  }
}
