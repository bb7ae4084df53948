/*
 * fuzz_request_checks.h: what the two request-parser targets (fuzz_request, fuzz_invocation)
 * check alike: strict UTF-8 and the shape of parsed arguments.
 */
#ifndef HV_FUZZ_REQUEST_CHECKS_H
#define HV_FUZZ_REQUEST_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "srv_int.h"
#include "srv_request.h"

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static inline bool valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

/* Every parsed argument is one the executor can take: a known or no declared type; a number,
 * a numeric text of UTF-8, or a string (UTF-8, NUL allowed) or bytes value declared as such. */
static inline void fuzz_check_arguments(const exec_arg *args, size_t count) {
  FUZZ_CHECK(count <= SRV_MAX_ARGUMENTS, "%zu arguments", count);
  FUZZ_CHECK(count == 0 || args != NULL, "arguments without storage");
  for (size_t k = 0; k < count; k++) {
    const exec_arg *a = &args[k];
    FUZZ_CHECK(a->declared == 0 || hv_type_is_valid(a->declared), "argument %zu declares type %d",
               k, (int)a->declared);
    bool blob_type = a->declared == HV_TYPE_STRING || a->declared == HV_TYPE_BYTES;
    FUZZ_CHECK((a->kind == EXEC_ARG_BLOB) == blob_type, "argument %zu: kind %d for type %d", k,
               (int)a->kind, (int)a->declared);
    if (a->kind == EXEC_ARG_TEXT)
      FUZZ_CHECK(a->text && valid_utf8((const unsigned char *)a->text, strlen(a->text)),
                 "argument %zu: text missing or not UTF-8", k);
    if (a->kind == EXEC_ARG_BLOB) {
      FUZZ_CHECK(a->data != NULL || a->len == 0, "argument %zu: no data", k);
      if (a->declared == HV_TYPE_STRING)
        FUZZ_CHECK(valid_utf8(a->data, a->len), "argument %zu: string not UTF-8", k);
    }
  }
}

#endif /* HV_FUZZ_REQUEST_CHECKS_H */
