/*
 * wasm_builder.h: assembles hand-written WebAssembly binaries for the engine tests.
 *
 * Section contents are written out byte by byte in the tests; this only adds the header and the
 * section ids and sizes (as LEB128), which are tedious and error-prone to count by hand.
 */
#ifndef TEST_WASM_BUILDER_H
#define TEST_WASM_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct wbuf {
  uint8_t *b;
  size_t n, cap;
} wbuf;

static inline void wb_put(wbuf *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    while (cap < w->n + n) cap *= 2;
    w->b = realloc(w->b, cap);
    if (!w->b) abort();
    w->cap = cap;
  }
  if (n) memcpy(w->b + w->n, p, n);
  w->n += n;
}

static inline void wb_byte(wbuf *w, uint8_t v) { wb_put(w, &v, 1); }

static inline void wb_uleb(wbuf *w, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    wb_byte(w, byte);
  } while (v);
}

/* The 8-byte header: "\0asm", version 1. */
static inline void wb_header(wbuf *w) { wb_put(w, "\0asm\1\0\0\0", 8); }

/* A section: id, size, contents. */
static inline void wb_section(wbuf *w, uint8_t id, const uint8_t *content, size_t n) {
  wb_byte(w, id);
  wb_uleb(w, n);
  wb_put(w, content, n);
}

static inline void wb_free(wbuf *w) {
  free(w->b);
  memset(w, 0, sizeof *w);
}

#define WB_BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})
/* WB_SECTION(&w, id, byte, byte, ...) */
#define WB_SECTION(w, id, ...) wb_section((w), (id), WB_BYTES(__VA_ARGS__))

/* Common sections. */
#define SEC_TYPE 1
#define SEC_IMPORT 2
#define SEC_FUNCTION 3
#define SEC_TABLE 4
#define SEC_MEMORY 5
#define SEC_GLOBAL 6
#define SEC_EXPORT 7
#define SEC_START 8
#define SEC_ELEMENT 9
#define SEC_CODE 10
#define SEC_DATA 11
#define SEC_DATA_COUNT 12

#endif /* TEST_WASM_BUILDER_H */
