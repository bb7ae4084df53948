/*
 * hv_value.h: a value of the wire protocol (docs/protocol.md): one of WebAssembly's four numeric
 * types, or, from protocol v1.1, a `string` (UTF-8) or `bytes`, which a core module receives and
 * returns through the Canonical ABI (hv_cabi.h).
 *
 * Type codes are the bytes the canonical argument encoding starts each value with: the binary
 * format's codes for the numeric types (0x7F i32, 0x7E i64, 0x7D f32, 0x7C f64) and the ASCII
 * letters 's' (0x73) and 'b' (0x62) for string and bytes. Header only: no library to link.
 */
#ifndef HV_VALUE_H
#define HV_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wasm_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint8_t hv_type; /* HVW_TYPE_I32, _I64, _F32, _F64, HV_TYPE_STRING or HV_TYPE_BYTES */

#define HV_TYPE_STRING ((hv_type)0x73) /* 's' */
#define HV_TYPE_BYTES ((hv_type)0x62)  /* 'b' */

/* A typed value. Numeric values live in `num` (num.type == type); a string or bytes value is the
 * `len` bytes at `data` (a string's are UTF-8, possibly with NUL bytes), which belong to whoever
 * built the value: every struct or function that holds hv_values says who owns their data. */
typedef struct hv_value {
  hv_type type;
  hvw_value num;
  const uint8_t *data;
  size_t len;
} hv_value;

static inline bool hv_type_is_numeric(hv_type type) {
  return type == HVW_TYPE_I32 || type == HVW_TYPE_I64 || type == HVW_TYPE_F32 ||
         type == HVW_TYPE_F64;
}

static inline bool hv_type_is_valid(hv_type type) {
  return hv_type_is_numeric(type) || type == HV_TYPE_STRING || type == HV_TYPE_BYTES;
}

/* "i32", "i64", "f32", "f64", "string", "bytes"; NULL for anything else. */
static inline const char *hv_type_name(hv_type type) {
  switch (type) {
    case HVW_TYPE_I32: return "i32";
    case HVW_TYPE_I64: return "i64";
    case HVW_TYPE_F32: return "f32";
    case HVW_TYPE_F64: return "f64";
    case HV_TYPE_STRING: return "string";
    case HV_TYPE_BYTES: return "bytes";
    default: return NULL;
  }
}

/* The type named `name` (as hv_type_name writes it) into *out; false for any other text. */
static inline bool hv_type_parse(const char *name, hv_type *out) {
  static const hv_type all[] = {HVW_TYPE_I32, HVW_TYPE_I64, HVW_TYPE_F32,
                                HVW_TYPE_F64, HV_TYPE_STRING, HV_TYPE_BYTES};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
    if (strcmp(name, hv_type_name(all[k])) == 0) {
      *out = all[k];
      return true;
    }
  return false;
}

/* A numeric engine value as a protocol value. */
static inline hv_value hv_value_from_wasm(hvw_value v) {
  hv_value out = {.type = v.type, .num = v, .data = NULL, .len = 0};
  return out;
}

/* A string or bytes value over len bytes at data (not copied). */
static inline hv_value hv_value_blob(hv_type type, const uint8_t *data, size_t len) {
  hv_value out = {.type = type, .num = {.type = 0}, .data = data, .len = len};
  return out;
}

#ifdef __cplusplus
}
#endif

#endif /* HV_VALUE_H */
