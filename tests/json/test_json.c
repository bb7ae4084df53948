/*
 * test_json.c: hv_json (src/json/hv_json.h). The fast path must take the documents the service
 * parses (so large requests really skip jansson's reader), must hand every case where simdjson and
 * jansson could differ to jansson, and hv_json_loadb must then answer exactly as jansson does,
 * message included. fuzz_json checks the same agreement on arbitrary bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hv_json.h"

static char *canonical(const json_t *tree) {
  char *text = json_dumps(tree, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
  assert_non_null(text);
  return text;
}

/* The fast path takes text and builds jansson's tree; hv_json_loadb returns that tree too. */
static void assert_fast_same(const char *text, size_t len, size_t flags) {
  json_t *want = json_loadb(text, len, flags, NULL);
  json_t *fast = hv_json__load_fast(text, len, flags);
  json_t *got = hv_json_loadb(text, len, flags, NULL);
  assert_non_null(want);
  assert_non_null(fast);
  assert_non_null(got);
  char *a = canonical(want), *b = canonical(fast), *c = canonical(got);
  assert_string_equal(a, b);
  assert_string_equal(a, c);
  free(a);
  free(b);
  free(c);
  json_decref(want);
  json_decref(fast);
  json_decref(got);
}

/* The fast path declines text; hv_json_loadb answers as jansson: the same tree or the same
 * error message. */
static void assert_declined(const char *text, size_t len, size_t flags) {
  json_error_t want_err, got_err;
  assert_null(hv_json__load_fast(text, len, flags));
  json_t *want = json_loadb(text, len, flags, &want_err);
  json_t *got = hv_json_loadb(text, len, flags, &got_err);
  assert_int_equal(want != NULL, got != NULL);
  if (want != NULL) {
    char *a = canonical(want), *b = canonical(got);
    assert_string_equal(a, b);
    free(a);
    free(b);
  } else {
    assert_string_equal(want_err.text, got_err.text);
    assert_int_equal(want_err.line, got_err.line);
    assert_int_equal(want_err.column, got_err.column);
  }
  json_decref(want);
  json_decref(got);
}

#define S(lit) lit, sizeof lit - 1

static void test_fast_path_builds_janssons_tree(void **state) {
  (void)state;
  assert_fast_same(S("{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}"), JSON_REJECT_DUPLICATES);
  assert_fast_same(S("[0,-0,1,-1,9223372036854775807,-9223372036854775808]"), 0);
  assert_fast_same(S("[-0.0,0.5,1e300,5e-324,1e-400,1E2,2.5e+3,0.1]"), 0); /* -0.0 stays real */
  assert_fast_same(S("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\",\"\xc3\xa9\"]"), 0);
  assert_fast_same(S("[\"a\\u0000b\"]"), JSON_ALLOW_NUL); /* the NUL is kept, with the length */
  assert_fast_same(S("{\"a\":1,\"a\":2}"), 0); /* without the flag the last one wins, as in jansson */
  assert_fast_same(S("\"text\""), JSON_DECODE_ANY);
  assert_fast_same(S(" \t\r\n{ \"a\" : [ 1 , 2 ] } \n"), 0);
  /* nesting to simdjson's limit */
  char deep[2 * 1000];
  memset(deep, '[', 1000);
  memset(deep + 1000, ']', 1000);
  assert_fast_same(deep, sizeof deep, 0);
}

static void test_declined_cases_answer_as_jansson(void **state) {
  (void)state;
  assert_declined(S("{\"a\":1,\"a\":2}"), JSON_REJECT_DUPLICATES);
  assert_declined(S("[\"a\\u0000b\"]"), 0);
  assert_declined(S("{\"a\\u0000\":1}"), JSON_ALLOW_NUL);
  assert_declined(S("[9223372036854775808]"), 0);
  assert_declined(S("[1e400]"), 0);
  assert_declined(S("\"text\""), 0);
  assert_declined(S("\xef\xbb\xbf{}"), 0);
  assert_declined(S("[\"\\ud800\"]"), 0);
  assert_declined(S("[\"\xed\xa0\x80\"]"), 0);
  assert_declined(S("{} x"), 0);
  assert_declined(S("[01]"), 0);
  assert_declined(S(""), 0);
  assert_declined(S("[1]"), JSON_DISABLE_EOF_CHECK); /* a flag the fast path does not take */
  char deep[2 * 1500];
  memset(deep, '[', 1500);
  memset(deep + 1500, ']', 1500);
  assert_declined(deep, sizeof deep, 0); /* jansson's limit is 2048 */
}

/* A request-sized document: hv_json_loadb and jansson agree, and the fast path takes it. */
static void test_large_document(void **state) {
  (void)state;
  size_t n = 3 << 20;
  char *text = malloc(n + 64);
  assert_non_null(text);
  int head = snprintf(text, n, "{\"function_name\":\"f\",\"arguments\":[{\"type\":\"bytes\",\"value\":\"");
  size_t len = (size_t)head;
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (; len < n - 64; len++) text[len] = alphabet[len % 64];
  size_t value_len = len - (size_t)head;
  len += (size_t)snprintf(text + len, 64, "\"}],\"results\":[\"bytes\"]}");
  assert_fast_same(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL);
  json_t *padded = hv_json_loadb_padded(text, len, JSON_REJECT_DUPLICATES, NULL);
  assert_non_null(padded);
  json_t *value = json_object_get(json_array_get(json_object_get(padded, "arguments"), 0), "value");
  assert_int_equal(json_string_length(value), value_len);
  json_decref(padded);
  /* the same text cut short: refused, with jansson's message */
  json_error_t err;
  assert_null(hv_json_loadb(text, len - 1, 0, &err));
  assert_non_null(strstr(err.text, "expected"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fast_path_builds_janssons_tree),
      cmocka_unit_test(test_declined_cases_answer_as_jansson),
      cmocka_unit_test(test_large_document),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
