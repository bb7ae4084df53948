/*
 * fuzz_json.c: hv_json_loadb (src/json/hv_json.h) against jansson's json_loadb on arbitrary
 * bytes. The first byte picks the flags (bit 0 JSON_REJECT_DUPLICATES, bit 1 JSON_ALLOW_NUL,
 * bit 2 JSON_DECODE_ANY); the rest is the text.
 *
 * Whenever the fast path (simdjson) answers, jansson must accept the text too and build the same
 * tree: same types, values, key order and string bytes (compared as their compact serialisation
 * with 17-digit reals, which also tells -0.0 from 0.0). hv_json_loadb as a whole must accept
 * exactly what jansson accepts.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "hv_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static char *canonical(const json_t *tree) {
  char *text = json_dumps(tree, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
  FUZZ_CHECK(text != NULL, "cannot serialise a parsed tree");
  return text;
}

static void check_same(const json_t *want, const json_t *got, const char *path) {
  char *a = canonical(want), *b = canonical(got);
  FUZZ_CHECK(strcmp(a, b) == 0, "%s built another tree:\n  jansson: %.300s\n  hv_json: %.300s",
             path, a, b);
  free(a);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t flags = (data[0] & 1 ? JSON_REJECT_DUPLICATES : 0) | (data[0] & 2 ? JSON_ALLOW_NUL : 0) |
                 (data[0] & 4 ? JSON_DECODE_ANY : 0);
  const char *text = (const char *)data + 1;
  size_t len = size - 1;

  json_error_t jerr;
  json_t *want = json_loadb(text, len, flags, &jerr);
  json_t *fast = hv_json__load_fast(text, len, flags);
  if (fast != NULL) {
    FUZZ_CHECK(want != NULL, "the fast path accepted a text jansson refuses (%s)", jerr.text);
    check_same(want, fast, "the fast path");
  }
  json_t *got = hv_json_loadb(text, len, flags, NULL);
  FUZZ_CHECK((got != NULL) == (want != NULL), "hv_json_loadb %s a text jansson %s",
             got ? "accepted" : "refused", want ? "accepts" : "refuses");
  if (got != NULL) check_same(want, got, "hv_json_loadb");
  json_decref(want);
  json_decref(fast);
  json_decref(got);
  return 0;
}
