/*
 * upper.c: the example guest `upper(string) -> string`: the argument with the ASCII letters a-z
 * uppercased and every other byte kept as it is. Bytes of a multi-byte UTF-8 sequence are all
 * 0x80 or above, so they are never touched and valid UTF-8 stays valid.
 *
 * Canonical ABI (core module): upper(i32 ptr, i32 len) -> i32 retptr, where retptr points at
 * {u32 ptr, u32 len}. The result is allocated in the arena; cabi_post_upper frees it together with
 * the argument once the host has copied it out.
 */
#include "cabi_guest.h"

static cabi_pair result;

int32_t upper(const unsigned char *text, uint32_t len);
void cabi_post_upper(int32_t retptr);

CABI_EXPORT("upper")
int32_t upper(const unsigned char *text, uint32_t len) {
  unsigned char *out = cabi_alloc(1, len);
  for (uint32_t i = 0; i < len; i++) {
    unsigned char c = text[i];
    out[i] = (unsigned char)(c - 'a' < 26u ? c - ('a' - 'A') : c);
  }
  return cabi_return(&result, out, len);
}

CABI_EXPORT("cabi_post_upper")
void cabi_post_upper(int32_t retptr) {
  (void)retptr;
  cabi_arena_reset();
}
