/*
 * reader.h: a bounds-checked, overflow-safe cursor over WebAssembly binary input.
 *
 * Every read checks the bytes that remain before touching them; a failed read sets `r->err`
 * (HVW_MALFORMED with the absolute byte offset) and returns false, and later reads keep failing,
 * so a caller may chain reads and test once. Offsets in messages are from the start of the module.
 */
#ifndef HVW_READER_H
#define HVW_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine_int.h"

typedef struct hvw_reader {
  const uint8_t *base; /* start of the module, for offsets in messages */
  const uint8_t *pos;
  const uint8_t *end;
  hvw_error *err;     /* may be NULL */
  bool failed;
} hvw_reader;

static inline void hvw_reader_init(hvw_reader *r, const uint8_t *base, const uint8_t *pos,
                                    const uint8_t *end, hvw_error *err) {
  r->base = base;
  r->pos = pos;
  r->end = end;
  r->err = err;
  r->failed = false;
}

static inline size_t hvw_reader_offset(const hvw_reader *r) { return (size_t)(r->pos - r->base); }
static inline size_t hvw_reader_remaining(const hvw_reader *r) { return (size_t)(r->end - r->pos); }
static inline bool hvw_reader_at_end(const hvw_reader *r) { return r->pos == r->end; }

/* Records the first failure only: later messages would point at the wrong place. */
HVW__PRINTF(3, 4)
void hvw_reader_record_failure(hvw_reader *r, hvw_status status, const char *fmt, ...);
/* Records a failure and yields false. A macro so that every caller's compiler sees the constant
 * false: an out-parameter a failing path leaves unset is then provably never read (behind an
 * out-of-line call, GCC's -Wmaybe-uninitialized at -O3 cannot tell). */
#define hvw_reader_fail(r, ...) (hvw_reader_record_failure((r), __VA_ARGS__), false)

static inline bool hvw_read_u8(hvw_reader *r, uint8_t *out) {
  if (r->failed) return false;
  if (r->pos >= r->end) return hvw_reader_fail(r, HVW_MALFORMED, "unexpected end");
  *out = *r->pos++;
  return true;
}

static inline bool hvw_read_bytes(hvw_reader *r, size_t n, const uint8_t **out) {
  if (r->failed) return false;
  if (n > hvw_reader_remaining(r)) return hvw_reader_fail(r, HVW_MALFORMED, "unexpected end");
  *out = r->pos;
  r->pos += n;
  return true;
}

/* Unsigned LEB128 of at most `bits` bits (32 or 64); unused bits of the last byte must be zero. */
static inline bool hvw_read_uleb(hvw_reader *r, unsigned bits, uint64_t *out) {
  if (r->failed) return false;
  uint64_t result = 0;
  unsigned shift = 0;
  for (;;) {
    if (r->pos >= r->end) return hvw_reader_fail(r, HVW_MALFORMED, "unexpected end of LEB128");
    uint8_t byte = *r->pos++;
    if (shift + 7 >= bits) {
      /* last permitted byte: no continuation, and the bits above `bits` must be zero */
      unsigned used = bits - shift;
      if ((byte & 0x80) || (used < 7 && (byte >> used) != 0))
        return hvw_reader_fail(r, HVW_MALFORMED, "integer representation too long or too large");
    }
    result |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
    shift += 7;
  }
  *out = result;
  return true;
}

/* Signed LEB128 of at most `bits` bits (32, 33 or 64); the unused bits must sign-extend. */
static inline bool hvw_read_sleb(hvw_reader *r, unsigned bits, int64_t *out) {
  if (r->failed) return false;
  uint64_t result = 0;
  unsigned shift = 0;
  uint8_t byte;
  for (;;) {
    if (r->pos >= r->end) return hvw_reader_fail(r, HVW_MALFORMED, "unexpected end of LEB128");
    byte = *r->pos++;
    if (shift + 7 >= bits) {
      /* last permitted byte: bits from (bits - shift - 1) upward must all equal the sign bit */
      unsigned used = bits - shift; /* 1..7 value bits in this byte */
      if (byte & 0x80)
        return hvw_reader_fail(r, HVW_MALFORMED, "integer representation too long");
      uint8_t mask = (uint8_t)(0x7f & ~((1u << (used - 1)) - 1u)); /* sign bit and above */
      uint8_t top = byte & mask;
      if (top != 0 && top != mask)
        return hvw_reader_fail(r, HVW_MALFORMED, "integer too large");
      result |= (uint64_t)(byte & 0x7f) << shift;
      shift += 7;
      break;
    }
    result |= (uint64_t)(byte & 0x7f) << shift;
    shift += 7;
    if (!(byte & 0x80)) break;
  }
  if (shift < 64 && (byte & 0x40)) result |= ~(uint64_t)0 << shift;
  *out = (int64_t)result;
  return true;
}

static inline bool hvw_read_u32(hvw_reader *r, uint32_t *out) {
  uint64_t v = 0;
  if (!hvw_read_uleb(r, 32, &v)) return false;
  *out = (uint32_t)v;
  return true;
}

static inline bool hvw_read_s32(hvw_reader *r, int32_t *out) {
  int64_t v = 0;
  if (!hvw_read_sleb(r, 32, &v)) return false;
  *out = (int32_t)v;
  return true;
}

static inline bool hvw_read_s64(hvw_reader *r, int64_t *out) { return hvw_read_sleb(r, 64, out); }

static inline bool hvw_read_f32_bits(hvw_reader *r, uint32_t *out) {
  const uint8_t *p = NULL;
  if (!hvw_read_bytes(r, 4, &p)) return false;
  *out = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
  return true;
}

static inline bool hvw_read_f64_bits(hvw_reader *r, uint64_t *out) {
  const uint8_t *p = NULL;
  if (!hvw_read_bytes(r, 8, &p)) return false;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  *out = v;
  return true;
}

/*
 * A count that is followed by at least `min_item_bytes` bytes per item: rejected before anything
 * is allocated for it when the remaining input cannot hold that many items, or when it is over
 * `limit` (HVW_IMPL_LIMIT, naming `what`).
 */
bool hvw_read_count(hvw_reader *r, size_t min_item_bytes, uint32_t limit, const char *what,
                     uint32_t *out);

/* A length-prefixed name that must be valid UTF-8; points into the input. */
bool hvw_read_name(hvw_reader *r, const uint8_t **out, uint32_t *out_len);

/* True when bytes[0..len) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool hvw_utf8_valid(const uint8_t *bytes, size_t len);

#endif /* HVW_READER_H */
