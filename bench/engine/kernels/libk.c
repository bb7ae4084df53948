/*
 * libk.c: the few libc symbols clang may call on its own (struct copies, zeroing) even with
 * -fno-builtin. Linked into the wasm builds only; the native build uses the system libc.
 */
#include "common.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t len);
void *memmove(void *dst, const void *src, size_t len);
void *memset(void *dst, int c, size_t len);

void *memcpy(void *restrict dst, const void *restrict src, size_t len) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (len--) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t len) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d < s) {
    while (len--) *d++ = *s++;
  } else {
    while (len--) d[len] = s[len];
  }
  return dst;
}

void *memset(void *dst, int c, size_t len) {
  unsigned char *d = dst;
  while (len--) *d++ = (unsigned char)c;
  return dst;
}
