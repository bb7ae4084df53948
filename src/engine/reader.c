/* reader.c: the parts of the binary cursor that are not hot enough to inline. */
#include <stdio.h>

#include "limits.h"
#include "reader.h"

void hvw_reader_record_failure(hvw_reader *r, hvw_status status, const char *fmt, ...) {
  if (r->failed) return;
  r->failed = true;
  if (r->err) {
    char what[HVW_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    hvw__fail(r->err, status, "%s at byte offset %zu", what, hvw_reader_offset(r));
  }
}

bool hvw_read_count(hvw_reader *r, size_t min_item_bytes, uint32_t limit, const char *what,
                     uint32_t *out) {
  uint32_t count = 0;
  if (!hvw_read_u32(r, &count)) return false;
  /* malformed first: a count the input cannot hold is a decoding error whatever the limits */
  if (min_item_bytes && count > hvw_reader_remaining(r) / min_item_bytes)
    return hvw_reader_fail(r, HVW_MALFORMED, "unexpected end: %u %s do not fit in the %zu bytes left",
                            count, what, hvw_reader_remaining(r));
  if (count > limit)
    return hvw_reader_fail(r, HVW_IMPL_LIMIT, "too many %s: %u (limit %u)", what, count, limit);
  *out = count;
  return true;
}

bool hvw_utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (n > len - i - 1) return false;
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

bool hvw_read_name(hvw_reader *r, const uint8_t **out, uint32_t *out_len) {
  uint32_t len = 0;
  const uint8_t *bytes = NULL;
  if (!hvw_read_count(r, 1, HVW_MAX_NAME_BYTES, "name bytes", &len)) return false;
  if (!hvw_read_bytes(r, len, &bytes)) return false;
  if (!hvw_utf8_valid(bytes, len)) return hvw_reader_fail(r, HVW_MALFORMED, "malformed UTF-8 encoding");
  *out = bytes;
  *out_len = len;
  return true;
}
