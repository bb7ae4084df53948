/*
 * test_guests.c: the example guests of examples/guest/ (sha256, upper, wordcount, redact), run in
 * the engine.
 *
 * The service's Canonical ABI layer (hv_cabi.h) is not used here on purpose: this file has its own
 * small host (the "Host side" section), written from docs/protocol.md ("Strings and bytes") alone,
 * so the guests' ABI is checked independently of the layer that will call them in production.
 * It does what a host does: cabi_realloc(0, 0, 1, len), copy the argument in, call the export with
 * (ptr, len), read the {u32 ptr, u32 len} pair at the returned retptr, copy the result out, call
 * cabi_post_<name>(retptr) if exported. Every pointer the guest gives is checked against its
 * memory before a byte is touched.
 *
 * Run as `test_guests --sha256-file FILE` it prints the guest's SHA-256 of FILE in sha256sum's
 * format instead (the CTest examples_sha256sum compares the two).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "wasm_engine.h"

#ifndef HV_EXAMPLES_DIR
#error "HV_EXAMPLES_DIR (the build's examples folder) must be defined"
#endif

/* ---- Host side ------------------------------------------------------------------------------- */

typedef struct guest {
  hvw_module *module;
  hvw_store *store;
  hvw_instance *instance;
  hvw_memory *memory;
  hvw_func *realloc_fn;
} guest;

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (!bigger) free(buf);
      buf = bigger;
    }
  }
  fclose(f);
  *size = n;
  return buf;
}

/* Instantiates BUILD/examples/<name>.wasm in a store of its own with the service's default
 * limits; false (and a message on stderr) when anything fails. */
static bool guest_open(guest *g, const char *name) {
  memset(g, 0, sizeof *g);
  char path[512];
  snprintf(path, sizeof path, "%s/%s.wasm", HV_EXAMPLES_DIR, name);
  size_t size;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes) {
    fprintf(stderr, "cannot read %s\n", path);
    return false;
  }
  hvw_error err;
  g->module = hvw_module_load(bytes, size, &err);
  free(bytes);
  hvw_extern ext;
  if (!g->module || !(g->store = hvw_store_new(NULL, &err)) ||
      !(g->instance = hvw_instance_new(g->store, g->module, NULL, 0, &err))) {
    fprintf(stderr, "%s: %s: %s\n", path, hvw_status_name(err.status), err.message);
    return false;
  }
  if (!hvw_instance_export(g->instance, "memory", 6, &ext) || ext.kind != HVW_EXTERN_MEMORY) {
    fprintf(stderr, "%s: no memory export\n", path);
    return false;
  }
  g->memory = ext.of.memory;
  if (!hvw_instance_export(g->instance, "cabi_realloc", 12, &ext) || ext.kind != HVW_EXTERN_FUNC) {
    fprintf(stderr, "%s: no cabi_realloc export\n", path);
    return false;
  }
  g->realloc_fn = ext.of.func;
  return true;
}

static void guest_close(guest *g) {
  hvw_store_free(g->store);
  hvw_module_free(g->module);
  memset(g, 0, sizeof *g);
}

static guest open_or_fail(const char *name) {
  guest g;
  if (!guest_open(&g, name)) fail_msg("cannot instantiate %s.wasm", name);
  return g;
}

static hvw_func *export_func(const guest *g, const char *name) {
  hvw_extern ext;
  if (!hvw_instance_export(g->instance, name, strlen(name), &ext) || ext.kind != HVW_EXTERN_FUNC)
    return NULL;
  return ext.of.func;
}

static hvw_value i32(uint32_t v) {
  hvw_value x = {.type = HVW_TYPE_I32, .of.i32 = (int32_t)v};
  return x;
}

/* The guest memory [ptr, ptr + len), or NULL when any of it is outside the memory. The pointer is
 * good until the next call into the guest (which may grow, and so move, the memory). */
static uint8_t *guest_span(guest *g, uint32_t ptr, uint64_t len) {
  if ((uint64_t)ptr + len > hvw_memory_size_bytes(g->memory)) return NULL;
  return hvw_memory_data(g->memory) + ptr;
}

/* cabi_realloc(old_ptr, old_size, align, new_size); the status of the call, *out the pointer. */
static hvw_status guest_realloc(guest *g, uint32_t old_ptr, uint32_t old_size, uint32_t align,
                                 uint32_t new_size, uint32_t *out, hvw_error *err) {
  hvw_value args[4] = {i32(old_ptr), i32(old_size), i32(align), i32(new_size)};
  hvw_value res[1] = {{.type = HVW_TYPE_I32}};
  hvw_status st = hvw_func_call(g->store, g->realloc_fn, args, 4, res, 1, err);
  *out = (uint32_t)res[0].of.i32;
  return st;
}

/* Lowers one string or bytes argument: a block from cabi_realloc(0, 0, 1, len), bounds checked,
 * filled with the bytes. */
static hvw_status guest_lower(guest *g, const void *data, size_t len, uint32_t *ptr, hvw_error *err) {
  assert_true(len <= UINT32_MAX);
  hvw_status st = guest_realloc(g, 0, 0, 1, (uint32_t)len, ptr, err);
  if (st != HVW_OK) return st;
  uint8_t *dst = guest_span(g, *ptr, len);
  if (!dst) fail_msg("cabi_realloc gave %u for %zu bytes, outside the memory", *ptr, len);
  if (len) memcpy(dst, data, len);
  return HVW_OK;
}

/* Calls `name`(ptr, len) -> one i32 for an argument of `len` bytes. */
static hvw_status guest_call(guest *g, const char *name, const void *arg, size_t len,
                              int32_t *result, hvw_error *err) {
  hvw_func *f = export_func(g, name);
  if (!f) fail_msg("no export %s", name);
  uint32_t ptr;
  hvw_status st = guest_lower(g, arg, len, &ptr, err);
  if (st != HVW_OK) return st;
  hvw_value args[2] = {i32(ptr), i32((uint32_t)len)};
  hvw_value res[1] = {{.type = HVW_TYPE_I32}};
  st = hvw_func_call(g->store, f, args, 2, res, 1, err);
  *result = res[0].of.i32;
  return st;
}

/* Lifts a string or bytes result at retptr (a malloc'd copy, *len bytes, plus a NUL for
 * printing), then calls cabi_post_<name>(retptr) when the guest exports it. */
static uint8_t *guest_lift(guest *g, const char *name, int32_t retptr, size_t *len) {
  uint32_t rp = (uint32_t)retptr;
  if (rp % 4 != 0) fail_msg("%s: retptr %u is not 4-byte aligned", name, rp);
  const uint8_t *pair = guest_span(g, rp, 8);
  if (!pair) fail_msg("%s: retptr %u is outside the memory", name, rp);
  uint32_t ptr = (uint32_t)pair[0] | (uint32_t)pair[1] << 8 | (uint32_t)pair[2] << 16 | (uint32_t)pair[3] << 24;
  uint32_t n = (uint32_t)pair[4] | (uint32_t)pair[5] << 8 | (uint32_t)pair[6] << 16 | (uint32_t)pair[7] << 24;
  const uint8_t *src = guest_span(g, ptr, n);
  if (!src) fail_msg("%s: result [%u, +%u) is outside the memory", name, ptr, n);
  uint8_t *copy = malloc((size_t)n + 1);
  assert_non_null(copy);
  memcpy(copy, src, n);
  copy[n] = 0;
  *len = n;

  char post_name[64];
  snprintf(post_name, sizeof post_name, "cabi_post_%s", name);
  hvw_func *post = export_func(g, post_name);
  if (post) {
    hvw_value arg = i32(rp);
    hvw_error err;
    if (hvw_func_call(g->store, post, &arg, 1, NULL, 0, &err) != HVW_OK)
      fail_msg("%s: %s", post_name, err.message);
  }
  return copy;
}

/* name(bytes) -> bytes, which must succeed; the caller frees the result. */
static uint8_t *call_blob(guest *g, const char *name, const void *arg, size_t len, size_t *out_len) {
  int32_t retptr;
  hvw_error err;
  if (guest_call(g, name, arg, len, &retptr, &err) != HVW_OK)
    fail_msg("%s(%zu bytes): %s: %s", name, len, hvw_status_name(err.status), err.message);
  return guest_lift(g, name, retptr, out_len);
}

/* name(string) -> string on a NUL-terminated text: checks the result equals `want`. */
static void check_text(guest *g, const char *name, const char *in, const char *want) {
  size_t n;
  uint8_t *out = call_blob(g, name, in, strlen(in), &n);
  if (n != strlen(want) || memcmp(out, want, n) != 0)
    fail_msg("%s(%s)\n  gave %s\n  want %s", name, in, (const char *)out, want);
  free(out);
}

/* A repeatable stream of pseudo-random bytes (xorshift64*). */
static void fill_random(uint8_t *buf, size_t n, uint64_t seed) {
  uint64_t x = seed | 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    buf[i] = (uint8_t)((x * 0x2545F4914F6CDD1Dull) >> 56);
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- The ABI itself: cabi_realloc and memory --------------------------------------------------- */

static void test_cabi_realloc(void **state) {
  (void)state;
  static const char *const names[] = {"sha256", "upper", "wordcount", "redact"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    guest g = open_or_fail(names[k]);
    hvw_error err;
    uint32_t a, b, c;
    /* alignment honoured */
    assert_int_equal(guest_realloc(&g, 0, 0, 1, 3, &a, &err), HVW_OK);
    assert_int_equal(guest_realloc(&g, 0, 0, 8, 5, &b, &err), HVW_OK);
    assert_true(b % 8 == 0 && b >= a + 3);
    assert_int_equal(guest_realloc(&g, 0, 0, 16, 0, &c, &err), HVW_OK);
    assert_true(c % 16 == 0 && c >= b + 5 && guest_span(&g, c, 0));
    /* the newest block grows in place, keeping its bytes; an older one moves */
    assert_int_equal(guest_realloc(&g, 0, 0, 4, 4, &a, &err), HVW_OK);
    memcpy(guest_span(&g, a, 4), "wxyz", 4);
    assert_int_equal(guest_realloc(&g, a, 4, 4, 100000, &b, &err), HVW_OK);
    assert_int_equal(b, a);
    assert_int_equal(guest_realloc(&g, 0, 0, 1, 1, &c, &err), HVW_OK);
    assert_int_equal(guest_realloc(&g, a, 100000, 4, 200000, &b, &err), HVW_OK);
    assert_true(b != a && b % 4 == 0 && guest_span(&g, b, 200000));
    assert_memory_equal(guest_span(&g, b, 4), "wxyz", 4);
    /* shrinking keeps the block */
    assert_int_equal(guest_realloc(&g, b, 200000, 4, 10, &c, &err), HVW_OK);
    assert_int_equal(c, b);
    /* a bad alignment, a block past 4 GiB and one past the store's cap all trap */
    assert_int_equal(guest_realloc(&g, 0, 0, 3, 1, &a, &err), HVW_TRAP);
    assert_int_equal(err.trap, HVW_TRAP_UNREACHABLE);
    assert_int_equal(guest_realloc(&g, 0, 0, 1, 0xFFFFFFF0u, &a, &err), HVW_TRAP);
    assert_int_equal(err.trap, HVW_TRAP_UNREACHABLE);
    assert_int_equal(guest_realloc(&g, 0, 0, 1, 100u << 20, &a, &err), HVW_MEMORY_EXCEEDED);
    guest_close(&g);
  }
}

/* Repeated calls through cabi_post_<name> (or the export's own reset) do not grow the memory. */
static void test_arena_reused_across_calls(void **state) {
  (void)state;
  static const char *const names[] = {"sha256", "upper", "wordcount"};
  size_t n = 1 << 20;
  uint8_t *input = malloc(n);
  assert_non_null(input);
  fill_random(input, n, 7);
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
    guest g = open_or_fail(names[k]);
    uint64_t size_after_first = 0;
    for (int round = 0; round < 5; round++) {
      int32_t r;
      hvw_error err;
      assert_int_equal(guest_call(&g, names[k], input, n, &r, &err), HVW_OK);
      if (strcmp(names[k], "wordcount") != 0) {
        size_t len;
        free(guest_lift(&g, names[k], r, &len));
      }
      if (round == 0) size_after_first = hvw_memory_size_bytes(g.memory);
    }
    assert_int_equal(hvw_memory_size_bytes(g.memory), size_after_first);
    guest_close(&g);
  }
  free(input);
}

/* ---- sha256 ------------------------------------------------------------------------------------ */

static void check_sha256(guest *g, const uint8_t *data, size_t len) {
  uint8_t want[SHA256_DIGEST_LENGTH];
  SHA256(data, len, want);
  size_t n;
  uint8_t *got = call_blob(g, "sha256", data, len, &n);
  assert_int_equal(n, 32);
  if (memcmp(got, want, 32) != 0) fail_msg("sha256 of %zu bytes differs from OpenSSL's", len);
  free(got);
}

static void hex(const uint8_t *d, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256_nist_vectors(void **state) {
  (void)state;
  /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA256_2.pdf") and the empty message */
  static const struct { const char *msg; const char *digest; } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  guest g = open_or_fail("sha256");
  for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
    size_t n;
    uint8_t *got = call_blob(&g, "sha256", v[k].msg, strlen(v[k].msg), &n);
    assert_int_equal(n, 32);
    char text[65];
    hex(got, 32, text);
    assert_string_equal(text, v[k].digest);
    free(got);
    check_sha256(&g, (const uint8_t *)v[k].msg, strlen(v[k].msg));
  }
  guest_close(&g);
}

/* Every length from 0 to 200 (the padding's edges: 55, 56, 63, 64, 65, 119, 120, 127, 128, ...). */
static void test_sha256_padding_boundaries(void **state) {
  (void)state;
  uint8_t buf[200];
  fill_random(buf, sizeof buf, 55);
  guest g = open_or_fail("sha256");
  for (size_t len = 0; len <= sizeof buf; len++) check_sha256(&g, buf, len);
  guest_close(&g);
}

/* An argument that is not 4-byte aligned (the export takes any pointer, not only cabi_realloc's). */
static void test_sha256_unaligned_argument(void **state) {
  (void)state;
  uint8_t buf[1000];
  fill_random(buf, sizeof buf, 3);
  uint8_t want[32];
  SHA256(buf, sizeof buf, want);
  guest g = open_or_fail("sha256");
  hvw_error err;
  uint32_t block;
  assert_int_equal(guest_realloc(&g, 0, 0, 4, sizeof buf + 3, &block, &err), HVW_OK);
  for (uint32_t off = 0; off < 4; off++) {
    memcpy(guest_span(&g, block + off, sizeof buf), buf, sizeof buf);
    hvw_value args[2] = {i32(block + off), i32(sizeof buf)};
    hvw_value res[1] = {{.type = HVW_TYPE_I32}};
    assert_int_equal(hvw_func_call(g.store, export_func(&g, "sha256"), args, 2, res, 1, &err), HVW_OK);
    const uint8_t *pair = guest_span(&g, (uint32_t)res[0].of.i32, 8);
    assert_non_null(pair);
    uint32_t ptr, len;
    memcpy(&ptr, pair, 4); /* little-endian host */
    memcpy(&len, pair + 4, 4);
    assert_int_equal(len, 32);
    assert_memory_equal(guest_span(&g, ptr, 32), want, 32);
    /* sha256 reset the arena: allocate the block again for the next offset */
    assert_int_equal(guest_realloc(&g, 0, 0, 4, sizeof buf + 3, &block, &err), HVW_OK);
  }
  guest_close(&g);
}

static void test_sha256_one_mebibyte(void **state) {
  (void)state;
  size_t n = 1 << 20;
  uint8_t *data = malloc(n);
  assert_non_null(data);
  fill_random(data, n, 0x5eed);
  uint8_t want[SHA256_DIGEST_LENGTH];
  SHA256(data, n, want);
  guest g = open_or_fail("sha256");
  double t0 = now_ms();
  size_t len;
  uint8_t *got = call_blob(&g, "sha256", data, n, &len);
  double t1 = now_ms();
  assert_int_equal(len, 32);
  assert_memory_equal(got, want, 32);
  hvw_store_stats stats;
  hvw_store_get_stats(g.store, &stats);
  /* for the record, not a limit (the machine may be shared): the whole host round trip */
  printf("sha256.wasm on 1 MiB: %.1f ms, %llu gas\n", t1 - t0, (unsigned long long)stats.gas_used);
  free(got);
  guest_close(&g);
  free(data);
}

/* ---- upper ------------------------------------------------------------------------------------- */

static void test_upper_ascii(void **state) {
  (void)state;
  guest g = open_or_fail("upper");
  check_text(&g, "upper", "", "");
  check_text(&g, "upper", "hello, world", "HELLO, WORLD");
  check_text(&g, "upper", "MiXeD 123 az AZ @[`{ ~\t\n", "MIXED 123 AZ AZ @[`{ ~\t\n");
  guest_close(&g);
}

static void test_upper_utf8_kept(void **state) {
  (void)state;
  guest g = open_or_fail("upper");
  /* only ASCII letters change: ß, é, Cyrillic, CJK and emoji bytes are all >= 0x80 */
  check_text(&g, "upper", "straße café ÿ ǆ привет 日本語 😀 ok",
             "STRAßE CAFé ÿ ǆ привет 日本語 😀 OK");
  /* every byte value: a-z move by 0x20, nothing else moves, NUL included */
  uint8_t all[256], want[256];
  for (int i = 0; i < 256; i++) {
    all[i] = (uint8_t)i;
    want[i] = (uint8_t)(i >= 'a' && i <= 'z' ? i - 0x20 : i);
  }
  size_t n;
  uint8_t *out = call_blob(&g, "upper", all, sizeof all, &n);
  assert_int_equal(n, 256);
  assert_memory_equal(out, want, 256);
  free(out);
  guest_close(&g);
}

/* ---- wordcount --------------------------------------------------------------------------------- */

static int32_t wordcount(guest *g, const void *text, size_t len) {
  int32_t r;
  hvw_error err;
  if (guest_call(g, "wordcount", text, len, &r, &err) != HVW_OK) fail_msg("wordcount: %s", err.message);
  return r;
}

static int32_t wordcount_str(guest *g, const char *text) { return wordcount(g, text, strlen(text)); }

static void test_wordcount(void **state) {
  (void)state;
  guest g = open_or_fail("wordcount");
  assert_int_equal(wordcount_str(&g, ""), 0);
  assert_int_equal(wordcount_str(&g, "  a  b\tc\n"), 3);
  assert_int_equal(wordcount_str(&g, "one"), 1);
  assert_int_equal(wordcount_str(&g, " \t\n\v\f\r "), 0);
  assert_int_equal(wordcount_str(&g, "a\vb\fc\rd"), 4);
  assert_int_equal(wordcount_str(&g, "naïve café, déjà-vu!"), 3);
  assert_int_equal(wordcount(&g, "a\0b c", 5), 2); /* NUL is not whitespace */
  guest_close(&g);
}

static void test_wordcount_long_input(void **state) {
  (void)state;
  size_t n = 4u << 20;
  uint8_t *text = malloc(n);
  assert_non_null(text);
  fill_random(text, n, 42);
  static const char ws[] = " \t\n\v\f\r";
  int32_t want = 0;
  bool in_word = false;
  for (size_t i = 0; i < n; i++) {
    if (text[i] % 3 == 0) text[i] = (uint8_t)ws[text[i] % 6]; /* about a third is whitespace */
    bool space = memchr(ws, text[i], 6) != NULL;
    if (!space && !in_word) want++;
    in_word = !space;
  }
  guest g = open_or_fail("wordcount");
  assert_int_equal(wordcount(&g, text, n), want);
  guest_close(&g);
  free(text);
}

/* ---- redact ------------------------------------------------------------------------------------ */

static void test_redact_members(void **state) {
  (void)state;
  guest g = open_or_fail("redact");
  check_text(&g, "redact", "{\"user\":\"ann\",\"password\":\"hunter2\"}",
             "{\"user\":\"ann\",\"password\":\"[redacted]\"}");
  /* every kind of value is replaced, whitespace around it is kept */
  check_text(&g, "redact",
             "{ \"ssn\" :  123 , \"token\":null,\"password\":{\"a\":[1,{}]} ,\"x\":0}",
             "{ \"ssn\" :  \"[redacted]\" , \"token\":\"[redacted]\",\"password\":\"[redacted]\" ,\"x\":0}");
  check_text(&g, "redact",
             "[{\"token\":true},{\"token\":false},{\"token\":[]},{\"token\":{}},{\"token\":-1.5e-3}]",
             "[{\"token\":\"[redacted]\"},{\"token\":\"[redacted]\"},{\"token\":\"[redacted]\"},"
             "{\"token\":\"[redacted]\"},{\"token\":\"[redacted]\"}]");
  /* duplicates are all redacted */
  check_text(&g, "redact", "{\"token\":1,\"token\":2}", "{\"token\":\"[redacted]\",\"token\":\"[redacted]\"}");
  guest_close(&g);
}

static void test_redact_nested(void **state) {
  (void)state;
  guest g = open_or_fail("redact");
  check_text(&g, "redact",
             "{\"a\":{\"b\":[{\"token\":\"x\",\"ok\":1},[[{\"ssn\":{\"deep\":[1,{\"password\":3}]}}]]]},"
             "\"token\":[1,2],\"c\":{\"d\":{\"e\":{\"password\":\"p\"}}}}",
             "{\"a\":{\"b\":[{\"token\":\"[redacted]\",\"ok\":1},[[{\"ssn\":\"[redacted]\"}]]]},"
             "\"token\":\"[redacted]\",\"c\":{\"d\":{\"e\":{\"password\":\"[redacted]\"}}}}");
  guest_close(&g);
}

static void test_redact_keys_with_escapes(void **state) {
  (void)state;
  guest g = open_or_fail("redact");
  /* escapes that decode to a sensitive key are that key; near misses are not */
  check_text(&g, "redact",
             "{\"pass\\u0077ord\":\"x\",\"t\\u006Fken\":1,\"\\u0073\\u0073\\u006e\":true,"
             "\"pass\\/word\":\"keep\",\"pass\\\"word\":\"keep\",\"Password\":\"keep\","
             "\"password2\":\"keep\",\"passwor\":\"keep\",\"tokens\":\"keep\",\"sn\":\"keep\","
             "\"ssn\\u0000\":\"keep\",\"t\\u00f6ken\":\"keep\",\"\":\"keep\"}",
             "{\"pass\\u0077ord\":\"[redacted]\",\"t\\u006Fken\":\"[redacted]\",\"\\u0073\\u0073\\u006e\":\"[redacted]\","
             "\"pass\\/word\":\"keep\",\"pass\\\"word\":\"keep\",\"Password\":\"keep\","
             "\"password2\":\"keep\",\"passwor\":\"keep\",\"tokens\":\"keep\",\"sn\":\"keep\","
             "\"ssn\\u0000\":\"keep\",\"t\\u00f6ken\":\"keep\",\"\":\"keep\"}");
  guest_close(&g);
}

static void test_redact_strings_with_structure(void **state) {
  (void)state;
  guest g = open_or_fail("redact");
  /* braces, brackets, commas, colons and escaped quotes inside strings are text, not structure;
   * a sensitive word as a value or an array element is not a key */
  check_text(&g, "redact",
             "{\"note\":\"{\\\"password\\\":\\\"not a key\\\"} ] [ , :\",\"password\":\"a\\\"}b{\\\\\","
             "\"list\":[\"password\",\"token\",{\"k\":\"ssn\"}],\"q\":\"\\\\\"}",
             "{\"note\":\"{\\\"password\\\":\\\"not a key\\\"} ] [ , :\",\"password\":\"[redacted]\","
             "\"list\":[\"password\",\"token\",{\"k\":\"ssn\"}],\"q\":\"\\\\\"}");
  guest_close(&g);
}

/* Documents with nothing to redact come back byte for byte. */
static void test_redact_keeps_other_bytes(void **state) {
  (void)state;
  static const char *const same[] = {
      "0", "  42  ", "\"password\"", "true", "null", "[]", "{}", " [ ] ",
      "[1.5e+10,-0,0.0E-3,1E5,-12.25e-0,\"\\u00e9\\n\\t\\b\\f\\r\\/\\\\\",true,false,null,{},[]]",
      "{\"caf\xc3\xa9\":\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\",\"\\ud83d\\ude00\":\"\\ud800\"}",
      "\r\n\t{\r\n\t\"a\"\r\n:\t[\r\n1\r\n,\t2\r\n]\r\n}\r\n",
  };
  guest g = open_or_fail("redact");
  for (size_t k = 0; k < sizeof same / sizeof same[0]; k++) check_text(&g, "redact", same[k], same[k]);
  guest_close(&g);
}

/* A large document whose result is longer than its input (the output block grows in place). */
static void test_redact_large(void **state) {
  (void)state;
  const size_t records = 50000;
  char *in = malloc(records * 64 + 16), *want = malloc(records * 64 + 16);
  assert_non_null(in);
  assert_non_null(want);
  size_t ni = 0, nw = 0;
  in[ni++] = want[nw++] = '[';
  for (size_t r = 0; r < records; r++) {
    const char *sep = r ? "," : "";
    ni += (size_t)sprintf(in + ni, "%s{\"id\":%zu,\"ssn\":%zu,\"n\":\"x\"}", sep, r, r % 10);
    nw += (size_t)sprintf(want + nw, "%s{\"id\":%zu,\"ssn\":\"[redacted]\",\"n\":\"x\"}", sep, r);
  }
  in[ni++] = want[nw++] = ']';
  guest g = open_or_fail("redact");
  size_t n;
  uint8_t *out = call_blob(&g, "redact", in, ni, &n);
  assert_true(nw > ni);
  assert_int_equal(n, nw);
  assert_memory_equal(out, want, nw);
  free(out);
  guest_close(&g);
  free(in);
  free(want);
}

static hvw_status redact_status(guest *g, const void *text, size_t len, hvw_error *err) {
  int32_t retptr;
  hvw_status st = guest_call(g, "redact", text, len, &retptr, err);
  if (st == HVW_OK) {
    size_t n;
    free(guest_lift(g, "redact", retptr, &n));
  }
  return st;
}

static void test_redact_depth(void **state) {
  (void)state;
  const size_t max = 4096;
  char *doc = malloc(2 * (max + 1));
  assert_non_null(doc);
  guest g = open_or_fail("redact");
  hvw_error err;
  for (size_t depth = max; depth <= max + 1; depth++) {
    memset(doc, '[', depth);
    memset(doc + depth, ']', depth);
    assert_int_equal(redact_status(&g, doc, 2 * depth, &err), depth <= max ? HVW_OK : HVW_TRAP);
  }
  guest_close(&g);
  free(doc);
}

static void test_redact_invalid_json_traps(void **state) {
  (void)state;
  static const char *const bad[] = {
      "", "   ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{'a':1}", "{\"a\" 1}",
      "{\"a\":}", "{\"a\"}", "{1:2}", "{a:1}", "[1 2]", "[01]", "[1.]", "[.5]", "[1e]", "[1e+]",
      "[-]", "[+1]", "[tru]", "[nul]", "[True]", "[NaN]", "\"abc", "\"a\\x\"", "\"\\u12G4\"",
      "\"\\u12\"", "\"tab\there\"", "\"nl\nhere\"", "[1] x", "[1][2]", "{\"a\":1}}", "// c\n1",
      "/* c */ 1", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"",
      "[\"\x80\"]", "\"\xff\"", "\xef\xbb\xbf{}", "[\"a\"\x01]",
      /* a dropped value is still checked */
      "{\"password\":[1,}", "{\"token\":\"unterminated}", "{\"ssn\":{\"a\" 1}}",
  };
  guest g = open_or_fail("redact");
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    hvw_error err;
    hvw_status st = redact_status(&g, bad[k], strlen(bad[k]), &err);
    if (st != HVW_TRAP || err.trap != HVW_TRAP_UNREACHABLE)
      fail_msg("redact(%s) gave %s, want a trap", bad[k], hvw_status_name(st));
  }
  /* the instance still works after its traps */
  check_text(&g, "redact", "{\"token\":1}", "{\"token\":\"[redacted]\"}");
  /* a NUL byte is not JSON either */
  hvw_error err;
  assert_int_equal(redact_status(&g, "[1]\0", 4, &err), HVW_TRAP);
  guest_close(&g);
}

/* ---- sha256sum mode ---------------------------------------------------------------------------- */

/* Prints the guest's digest of the file at `path` as sha256sum does; 0, or 1 on any failure (a bad
 * pointer from the guest ends the process through cmocka's fail_msg, with a message). */
static int sha256_file(const char *path) {
  size_t size;
  uint8_t *data = read_file(path, &size);
  if (!data) {
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  guest g;
  int rc = 1;
  if (guest_open(&g, "sha256") && export_func(&g, "sha256")) {
    int32_t retptr;
    hvw_error err;
    if (guest_call(&g, "sha256", data, size, &retptr, &err) == HVW_OK) {
      size_t n;
      uint8_t *digest = guest_lift(&g, "sha256", retptr, &n);
      char text[65];
      hex(digest, 32, text);
      printf("%s  %s\n", text, path);
      free(digest);
      rc = 0;
    } else {
      fprintf(stderr, "sha256.wasm: %s: %s\n", hvw_status_name(err.status), err.message);
    }
  }
  guest_close(&g);
  free(data);
  return rc;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--sha256-file") == 0) return sha256_file(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cabi_realloc),
      cmocka_unit_test(test_arena_reused_across_calls),
      cmocka_unit_test(test_sha256_nist_vectors),
      cmocka_unit_test(test_sha256_padding_boundaries),
      cmocka_unit_test(test_sha256_unaligned_argument),
      cmocka_unit_test(test_sha256_one_mebibyte),
      cmocka_unit_test(test_upper_ascii),
      cmocka_unit_test(test_upper_utf8_kept),
      cmocka_unit_test(test_wordcount),
      cmocka_unit_test(test_wordcount_long_input),
      cmocka_unit_test(test_redact_members),
      cmocka_unit_test(test_redact_nested),
      cmocka_unit_test(test_redact_keys_with_escapes),
      cmocka_unit_test(test_redact_strings_with_structure),
      cmocka_unit_test(test_redact_keeps_other_bytes),
      cmocka_unit_test(test_redact_large),
      cmocka_unit_test(test_redact_depth),
      cmocka_unit_test(test_redact_invalid_json_traps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
