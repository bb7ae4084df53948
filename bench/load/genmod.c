/*
 * genmod.c: writes a large, valid WebAssembly module straight in the binary format, for the cold
 * end-to-end measurement of bench/load/run.sh.
 *
 *   hv_load_genmod BYTES OUT.wasm
 *
 * The module has about BYTES bytes: N functions (i64) -> i64 with a counted loop, a branch that
 * calls the previous function (never taken at run time), and straight-line arithmetic, exported
 * as "main" (function 0, which returns a value computed from its argument). Deterministic.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf;

static void put(buf *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      fprintf(stderr, "hv_load_genmod: out of memory\n");
      exit(1);
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void byte(buf *b, uint8_t v) { put(b, &v, 1); }

static void uleb(buf *b, uint64_t v) {
  do {
    uint8_t c = v & 0x7f;
    v >>= 7;
    if (v) c |= 0x80;
    byte(b, c);
  } while (v);
}

static void sleb(buf *b, int64_t v) {
  for (;;) {
    uint8_t c = v & 0x7f;
    v >>= 7; /* arithmetic shift on every compiler we build with */
    bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
    if (!done) c |= 0x80;
    byte(b, c);
    if (done) break;
  }
}

static void section(buf *out, uint8_t id, const buf *body) {
  byte(out, id);
  uleb(out, body->len);
  put(out, body->p, body->len);
}

/* Function i: (param i64) (result i64), locals: i64 $x, i32 $n. */
static void function_body(buf *code, uint32_t i, unsigned pad) {
  buf f = {0};
  uleb(&f, 2);                 /* two local declarations */
  uleb(&f, 1), byte(&f, 0x7e); /* i64 $x (local 1) */
  uleb(&f, 1), byte(&f, 0x7f); /* i32 $n (local 2) */
  /* $x = arg * K */
  byte(&f, 0x20), uleb(&f, 0);
  byte(&f, 0x42), sleb(&f, (int64_t)(i * 2654435761u % 1000 + 3));
  byte(&f, 0x7e); /* i64.mul */
  byte(&f, 0x21), uleb(&f, 1);
  /* block loop $x += K2; $n++ ; br_if $n < 8 end end */
  byte(&f, 0x02), byte(&f, 0x40);
  byte(&f, 0x03), byte(&f, 0x40);
  byte(&f, 0x20), uleb(&f, 1), byte(&f, 0x42), sleb(&f, (int64_t)(i % 97 + 1)), byte(&f, 0x7c);
  byte(&f, 0x21), uleb(&f, 1);
  byte(&f, 0x20), uleb(&f, 2), byte(&f, 0x41), sleb(&f, 1), byte(&f, 0x6a);
  byte(&f, 0x22), uleb(&f, 2), byte(&f, 0x41), sleb(&f, 8), byte(&f, 0x49); /* i32.lt_u */
  byte(&f, 0x0d), uleb(&f, 0);
  byte(&f, 0x0b), byte(&f, 0x0b);
  /* if ($n > 1000000) $x = f(i-1)($x) : never at run time */
  if (i > 0) {
    byte(&f, 0x20), uleb(&f, 2), byte(&f, 0x41), sleb(&f, 1000000), byte(&f, 0x4b); /* gt_u */
    byte(&f, 0x04), byte(&f, 0x40);
    byte(&f, 0x20), uleb(&f, 1), byte(&f, 0x10), uleb(&f, i - 1), byte(&f, 0x21), uleb(&f, 1);
    byte(&f, 0x0b);
  }
  /* straight-line arithmetic */
  static const uint8_t ops[] = {0x7c, 0x85, 0x7e, 0x7d, 0x83, 0x84}; /* add xor mul sub and or */
  for (unsigned k = 0; k < pad; k++) {
    byte(&f, 0x20), uleb(&f, 1);
    byte(&f, 0x42), sleb(&f, (int64_t)((i * 31u + k * 7u) % 5000u + 1u));
    byte(&f, ops[(i + k) % sizeof ops]);
    byte(&f, 0x21), uleb(&f, 1);
  }
  byte(&f, 0x20), uleb(&f, 1);
  byte(&f, 0x0b); /* end */
  uleb(code, f.len);
  put(code, f.p, f.len);
  free(f.p);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: hv_load_genmod BYTES OUT.wasm\n");
    return 2;
  }
  long target = atol(argv[1]);
  if (target < 1024 || target > (64L << 20)) {
    fprintf(stderr, "hv_load_genmod: BYTES must be 1024 .. 64 MiB\n");
    return 2;
  }
  const unsigned pad = 40;     /* about 8 bytes each: a body is about 360 bytes */
  uint32_t n = (uint32_t)(target / 360);
  if (n < 1) n = 1;
  buf out = {0}, s = {0};
  put(&out, "\0asm\1\0\0\0", 8);
  /* type 0: (i64) -> i64 */
  uleb(&s, 1), byte(&s, 0x60), uleb(&s, 1), byte(&s, 0x7e), uleb(&s, 1), byte(&s, 0x7e);
  section(&out, 1, &s);
  s.len = 0;
  uleb(&s, n);
  for (uint32_t i = 0; i < n; i++) uleb(&s, 0);
  section(&out, 3, &s);
  s.len = 0;
  uleb(&s, 1), uleb(&s, 4), put(&s, "main", 4), byte(&s, 0x00), uleb(&s, 0);
  section(&out, 7, &s);
  s.len = 0;
  uleb(&s, n);
  for (uint32_t i = 0; i < n; i++) function_body(&s, i, pad);
  section(&out, 10, &s);
  FILE *f = fopen(argv[2], "wb");
  if (!f || fwrite(out.p, 1, out.len, f) != out.len || fclose(f) != 0) {
    fprintf(stderr, "hv_load_genmod: cannot write %s\n", argv[2]);
    return 1;
  }
  printf("%zu\n", out.len);
  free(out.p);
  free(s.p);
  return 0;
}
