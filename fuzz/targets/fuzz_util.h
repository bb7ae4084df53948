/*
 * fuzz_util.h: what the fuzz targets share: a check that aborts with a message (libFuzzer and the
 * plain regression runner both turn an abort into a saved, failing input), and a cursor that
 * cuts an input into fields.
 */
#ifndef HV_FUZZ_UTIL_H
#define HV_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The libFuzzer entry points; the plain runner (standalone_main.c) calls them too. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                     \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "FUZZ CHECK FAILED at %s:%d: %s\n  ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                              \
      fputc('\n', stderr);                                                       \
      abort();                                                                   \
    }                                                                            \
  } while (0)

typedef struct fuzz_cursor {
  const uint8_t *p;
  size_t n;
} fuzz_cursor;

static inline uint8_t fuzz_u8(fuzz_cursor *c) {
  if (c->n == 0) return 0;
  c->n--;
  return *c->p++;
}

static inline uint16_t fuzz_u16(fuzz_cursor *c) {
  uint16_t hi = fuzz_u8(c);
  return (uint16_t)(hi << 8 | fuzz_u8(c));
}

/* Up to len bytes (fewer when the input runs out); *got receives how many. */
static inline const uint8_t *fuzz_bytes(fuzz_cursor *c, size_t len, size_t *got) {
  const uint8_t *p = c->p;
  if (len > c->n) len = c->n;
  c->p += len;
  c->n -= len;
  *got = len;
  return p;
}

/* A 64-bit FNV-1a hash of the input, to seed choices that must not steal input bytes. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 0x100000001b3ull;
  return h;
}

#endif /* HV_FUZZ_UTIL_H */
