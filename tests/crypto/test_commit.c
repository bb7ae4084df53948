/*
 * Commitments, canonical arguments, the result document, key ids, base64 and hex. The worked
 * examples are the ones published in docs/crypto.md (computed independently of this library).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "hv_crypto.h"

/* ---- docs/crypto.md, "Worked examples" ------------------------------------------------------ */

static const uint8_t example_wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
#define EXAMPLE_REQUEST_ID "123e4567-e89b-42d3-a456-426614174000"
#define EXAMPLE_PROGRAM_SHA256 "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476"
#define EXAMPLE_NONCE_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define EXAMPLE_PROGRAM_COMMITMENT \
  "0e73d9629cc804277c0701f4b618a425a4e64f841b2322c2c812e0e14a97806d"
#define EXAMPLE_CANONICAL_ARGUMENTS "7f2a0000007efeffffffffffffff7d0000c03f7c9a9999999999b93f"
#define EXAMPLE_ARGUMENTS_COMMITMENT \
  "1798dd89f0dae35155d346eec86faa62a922f43e1aa9335b0869ef5b41196dc5"
#define EXAMPLE_EMPTY_ARGUMENTS_COMMITMENT \
  "2a85881a2017b4d984d24faf1f873f36f738925f9c44cfb7634430d74795a811"
#define EXAMPLE_DOCUMENT                                                                        \
  "{\"request_id\":\"123e4567-e89b-42d3-a456-426614174000\",\"function_name\":\"add\","         \
  "\"results\":[{\"type\":\"i32\",\"value\":84}],\"program_sha256\":\"" EXAMPLE_PROGRAM_SHA256 \
  "\",\"nonce\":\"" EXAMPLE_NONCE_HEX "\"}"
#define EXAMPLE_RESULT_COMMITMENT "b4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7"
#define EXAMPLE_KEY_ID "698bea63dc44a344" /* of the public key 1 * G */

static void example_nonce(uint8_t nonce[HV_COMMIT_NONCE_LEN]) {
  for (int i = 0; i < HV_COMMIT_NONCE_LEN; i++)
    nonce[i] = (uint8_t)i;
}

static void example_arguments(hv_value args[4]) {
  args[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 42});
  args[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64, .of.i64 = -2});
  args[2] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0x3fc00000u});
  args[3] = hv_value_from_wasm(
      (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x3fb999999999999aull}); /* 0.1 */
}

static void test_example_program_commitment(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  char hex[HV_COMMIT_HEX_LEN + 1];
  (void)state;
  example_nonce(nonce);
  assert_int_equal(hv_commit_program(nonce, example_wasm, sizeof example_wasm, hex, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_PROGRAM_COMMITMENT);
  assert_int_equal(hv_commit_sha256_hex(example_wasm, sizeof example_wasm, hex, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_PROGRAM_SHA256);
}

static void test_example_arguments_commitment(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  hv_value args[4];
  uint8_t canonical[4 * 9];
  char canonical_hex[2 * sizeof canonical + 1];
  size_t len = 0;
  char hex[HV_COMMIT_HEX_LEN + 1];
  (void)state;
  example_nonce(nonce);
  example_arguments(args);
  assert_int_equal(hv_commit_canonical_arguments(args, 4, canonical, sizeof canonical, &len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(len, 28);
  assert_int_equal(hv_commit_canonical_size(args, 4), 28);
  hv_crypto_hex_encode(canonical, len, canonical_hex);
  assert_string_equal(canonical_hex, EXAMPLE_CANONICAL_ARGUMENTS);
  assert_int_equal(hv_commit_arguments(nonce, args, 4, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_ARGUMENTS_COMMITMENT);
  assert_int_equal(hv_commit_arguments(nonce, NULL, 0, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_EMPTY_ARGUMENTS_COMMITMENT);
}

static void test_example_document_and_result_commitment(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  hv_value result = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 84});
  char *doc = NULL;
  size_t len = 0;
  char hex[HV_COMMIT_HEX_LEN + 1];
  (void)state;
  example_nonce(nonce);
  assert_int_equal(hv_commit_document_build(EXAMPLE_REQUEST_ID, "add", &result, 1,
                                            EXAMPLE_PROGRAM_SHA256, nonce, &doc, &len, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(doc, EXAMPLE_DOCUMENT);
  assert_int_equal(len, 272); /* as docs/crypto.md says */
  assert_int_equal(hv_commit_result((const uint8_t *)doc, len, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_RESULT_COMMITMENT);
  free(doc);
}

/* ---- docs/crypto.md, "Worked examples (v1.1: strings and bytes)" ---------------------------- */

#define EXAMPLE_STRING "Gr\xc3\xbc\xc3\x9f" "e, \xe4\xb8\x96\xe7\x95\x8c" /* "Grüße, 世界" */
static const uint8_t example_bytes[] = {0x00, 0x01, 0xfe, 0xff};
#define EXAMPLE_CANONICAL_STRING "730f000000000000004772c3bcc39f652c20e4b896e7958c"
#define EXAMPLE_STRING_COMMITMENT "202bbfff0ccac1b3bfd8331fc3eafca15a08fc14df125d7f5d168b22e46b1dd3"
#define EXAMPLE_CANONICAL_BYTES "6204000000000000000001feff"
#define EXAMPLE_BYTES_COMMITMENT "2af585b1700aad1dd188828331d380172d8c632329809a94b0ebad21d76d48ca"
#define EXAMPLE_CANONICAL_MIXED "7f2a000000" EXAMPLE_CANONICAL_STRING EXAMPLE_CANONICAL_BYTES
#define EXAMPLE_MIXED_COMMITMENT "afb4c4c123fc078aa9d10dd57b8b6da7ecc759a118897e51e06a398bde5fbf85"
#define EXAMPLE_EMPTY_STRING_COMMITMENT \
  "3f29808f4a1daad6ba566f944c31e6aa6bdb38947b8944ddf625a3efa5c27bcd"
#define EXAMPLE_EMPTY_BYTES_COMMITMENT \
  "950dbb4891b04230571e1fdbb53bdb655dc9336fc5ec588ed44df2c34a1c2291"
#define EXAMPLE_DOC_V11(fn, result)                                                          \
  "{\"request_id\":\"123e4567-e89b-42d3-a456-426614174000\",\"function_name\":\"" fn "\","  \
  "\"results\":[" result "],\"program_sha256\":\"" EXAMPLE_PROGRAM_SHA256 "\",\"nonce\":\"" \
  EXAMPLE_NONCE_HEX "\"}"
#define EXAMPLE_STRING_DOCUMENT \
  EXAMPLE_DOC_V11("greet", "{\"type\":\"string\",\"value\":\"" EXAMPLE_STRING "\"}")
#define EXAMPLE_STRING_RESULT_COMMITMENT \
  "9e82d9d101ebe09b5f8ea7e8492cfb2140168e8f50c2ed5047ae88979b920422"
#define EXAMPLE_BYTES_DOCUMENT \
  EXAMPLE_DOC_V11("digest", "{\"type\":\"bytes\",\"value\":\"AAH+/w==\"}")
#define EXAMPLE_BYTES_RESULT_COMMITMENT \
  "87347b83ff389ab6f1cfaec0f2ce2c2434279b9e3d06097c2120a6197e742fa0"

static void assert_example_arguments(const hv_value *args, size_t count, const char *canonical,
                                     const char *commitment) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  uint8_t bytes[64];
  char bytes_hex[2 * sizeof bytes + 1];
  size_t len = 0;
  char hex[HV_COMMIT_HEX_LEN + 1];
  example_nonce(nonce);
  assert_int_equal(hv_commit_canonical_arguments(args, count, bytes, sizeof bytes, &len, NULL),
                   HV_CRYPTO_OK);
  hv_crypto_hex_encode(bytes, len, bytes_hex);
  assert_string_equal(bytes_hex, canonical);
  assert_int_equal(hv_commit_arguments(nonce, args, count, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, commitment);
}

static void test_example_v11_arguments(void **state) {
  const hv_value string_arg =
      hv_value_blob(HV_TYPE_STRING, (const uint8_t *)EXAMPLE_STRING, strlen(EXAMPLE_STRING));
  const hv_value bytes_arg = hv_value_blob(HV_TYPE_BYTES, example_bytes, sizeof example_bytes);
  const hv_value mixed[] = {hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 42}),
                            string_arg, bytes_arg};
  const hv_value empty_string = hv_value_blob(HV_TYPE_STRING, NULL, 0);
  const hv_value empty_bytes = hv_value_blob(HV_TYPE_BYTES, NULL, 0);
  (void)state;
  assert_int_equal(strlen(EXAMPLE_STRING), 15);
  assert_example_arguments(&string_arg, 1, EXAMPLE_CANONICAL_STRING, EXAMPLE_STRING_COMMITMENT);
  assert_example_arguments(&bytes_arg, 1, EXAMPLE_CANONICAL_BYTES, EXAMPLE_BYTES_COMMITMENT);
  assert_example_arguments(mixed, 3, EXAMPLE_CANONICAL_MIXED, EXAMPLE_MIXED_COMMITMENT);
  assert_int_equal(hv_commit_canonical_size(mixed, 3), 42);
  assert_example_arguments(&empty_string, 1, "730000000000000000", EXAMPLE_EMPTY_STRING_COMMITMENT);
  assert_example_arguments(&empty_bytes, 1, "620000000000000000", EXAMPLE_EMPTY_BYTES_COMMITMENT);
}

static void assert_example_document(const char *function_name, const hv_value *result,
                                    const char *want, size_t want_len, const char *commitment) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  char *doc = NULL;
  size_t len = 0;
  char hex[HV_COMMIT_HEX_LEN + 1];
  example_nonce(nonce);
  assert_int_equal(hv_commit_document_build(EXAMPLE_REQUEST_ID, function_name, result, 1,
                                            EXAMPLE_PROGRAM_SHA256, nonce, &doc, &len, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(doc, want);
  assert_int_equal(len, want_len); /* as docs/crypto.md says */
  assert_int_equal(hv_commit_result((const uint8_t *)doc, len, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, commitment);
  free(doc);
}

static void test_example_v11_documents(void **state) {
  const hv_value string_result =
      hv_value_blob(HV_TYPE_STRING, (const uint8_t *)EXAMPLE_STRING, strlen(EXAMPLE_STRING));
  const hv_value bytes_result = hv_value_blob(HV_TYPE_BYTES, example_bytes, sizeof example_bytes);
  (void)state;
  assert_example_document("greet", &string_result, EXAMPLE_STRING_DOCUMENT, 292,
                          EXAMPLE_STRING_RESULT_COMMITMENT);
  assert_example_document("digest", &bytes_result, EXAMPLE_BYTES_DOCUMENT, 285,
                          EXAMPLE_BYTES_RESULT_COMMITMENT);
}

static void test_example_key_id(void **state) {
  uint8_t one[HPKE_PRIVATE_KEY_LEN] = {0};
  hpke_private_key *sk = NULL;
  char key_id[HV_KEY_ID_LEN + 1];
  char pk_hex[2 * HPKE_PUBLIC_KEY_LEN + 1];
  (void)state;
  one[31] = 1;
  assert_int_equal(hpke_private_key_import(one, &sk, NULL), HV_CRYPTO_OK);
  hv_crypto_hex_encode(hpke_private_key_public(sk), HPKE_PUBLIC_KEY_LEN, pk_hex);
  assert_string_equal(pk_hex, "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                              "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  assert_int_equal(hv_crypto_key_id(hpke_private_key_public(sk), key_id, NULL), HV_CRYPTO_OK);
  assert_string_equal(key_id, EXAMPLE_KEY_ID);
  hpke_private_key_free(sk);
}

/* ---- Canonical arguments -------------------------------------------------------------------- */

static void test_canonical_arguments_edges(void **state) {
  hv_value v[2];
  uint8_t out[2 * 9];
  size_t len = 0;
  (void)state;
  /* A NaN's payload and a negative zero are committed bit for bit. */
  v[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0x7fc00001u});
  v[1] = hv_value_from_wasm(
      (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x8000000000000000ull});
  assert_int_equal(hv_commit_canonical_arguments(v, 2, out, sizeof out, &len, NULL), HV_CRYPTO_OK);
  assert_int_equal(len, 14);
  assert_memory_equal(out, "\x7d\x01\x00\xc0\x7f\x7c\x00\x00\x00\x00\x00\x00\x00\x80", 14);
  /* too small a buffer */
  assert_int_equal(hv_commit_canonical_arguments(v, 2, out, 13, &len, NULL),
                   HV_CRYPTO_INVALID_ARGUMENT);
  /* types that have no canonical form */
  v[1].type = HVW_TYPE_FUNCREF;
  assert_int_equal(hv_commit_canonical_arguments(v, 2, out, sizeof out, &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  v[1].type = HVW_TYPE_V128;
  char hex[HV_COMMIT_HEX_LEN + 1];
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  assert_int_equal(hv_commit_arguments(nonce, v, 2, hex, NULL), HV_CRYPTO_BAD_VALUE);
}

/* Canonical bytes of string and bytes values, written out by hand from docs/crypto.md. */
static void assert_canonical(const hv_value *v, size_t count, const char *want, size_t want_len) {
  uint8_t out[64];
  size_t len = 0;
  assert_int_equal(hv_commit_canonical_size(v, count), want_len);
  assert_int_equal(hv_commit_canonical_arguments(v, count, out, sizeof out, &len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(len, want_len);
  assert_memory_equal(out, want, want_len);
}

#define BLOB(type, text) hv_value_blob((type), (const uint8_t *)(text), sizeof(text) - 1)

static void test_canonical_strings_and_bytes(void **state) {
  (void)state;
  const hv_value empty_string = BLOB(HV_TYPE_STRING, "");
  const hv_value empty_bytes = hv_value_blob(HV_TYPE_BYTES, NULL, 0);
  const hv_value with_nul = BLOB(HV_TYPE_STRING, "a\0b");
  /* U+00E9, U+20AC, U+1F600: two, three and four bytes */
  const hv_value multibyte = BLOB(HV_TYPE_STRING, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  const hv_value raw = BLOB(HV_TYPE_BYTES, "\x00\xff\x10");
  const hv_value mixed[] = {
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 7}), with_nul, raw,
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64, .of.i64 = -1})};

  assert_canonical(&empty_string, 1, "\x73\x00\x00\x00\x00\x00\x00\x00\x00", 9);
  assert_canonical(&empty_bytes, 1, "\x62\x00\x00\x00\x00\x00\x00\x00\x00", 9);
  assert_canonical(&with_nul, 1, "\x73\x03\x00\x00\x00\x00\x00\x00\x00" "a\0b", 12);
  assert_canonical(&multibyte, 1,
                   "\x73\x09\x00\x00\x00\x00\x00\x00\x00"
                   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                   18);
  assert_canonical(&raw, 1, "\x62\x03\x00\x00\x00\x00\x00\x00\x00\x00\xff\x10", 12);
  assert_canonical(mixed, 4,
                   "\x7f\x07\x00\x00\x00"
                   "\x73\x03\x00\x00\x00\x00\x00\x00\x00" "a\0b"
                   "\x62\x03\x00\x00\x00\x00\x00\x00\x00\x00\xff\x10"
                   "\x7e\xff\xff\xff\xff\xff\xff\xff\xff",
                   5 + 12 + 12 + 9);
  /* A string and bytes with the same content are different arguments. */
  {
    const hv_value as_string = BLOB(HV_TYPE_STRING, "ab"), as_bytes = BLOB(HV_TYPE_BYTES, "ab");
    uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
    char a[HV_COMMIT_HEX_LEN + 1], b[HV_COMMIT_HEX_LEN + 1];
    assert_int_equal(hv_commit_arguments(nonce, &as_string, 1, a, NULL), HV_CRYPTO_OK);
    assert_int_equal(hv_commit_arguments(nonce, &as_bytes, 1, b, NULL), HV_CRYPTO_OK);
    assert_string_not_equal(a, b);
  }
}

/* hv_commit_arguments hashes exactly the canonical bytes hv_commit_canonical_arguments writes. */
static void test_arguments_commitment_streams_canonical_bytes(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  const hv_value args[] = {BLOB(HV_TYPE_STRING, "h\xc3\xa9llo\0"), BLOB(HV_TYPE_BYTES, "\x01\x02"),
                           hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F32,
                                                           .of.f32_bits = 0x3fc00000u})};
  uint8_t buf[sizeof HV_COMMIT_ARGUMENTS_LABEL + HV_COMMIT_NONCE_LEN + 64];
  size_t head = sizeof HV_COMMIT_ARGUMENTS_LABEL + HV_COMMIT_NONCE_LEN, len = 0;
  char want[HV_COMMIT_HEX_LEN + 1], got[HV_COMMIT_HEX_LEN + 1];
  (void)state;
  example_nonce(nonce);
  memcpy(buf, HV_COMMIT_ARGUMENTS_LABEL, sizeof HV_COMMIT_ARGUMENTS_LABEL); /* with its NUL */
  memcpy(buf + sizeof HV_COMMIT_ARGUMENTS_LABEL, nonce, sizeof nonce);
  assert_int_equal(hv_commit_canonical_arguments(args, 3, buf + head, sizeof buf - head, &len,
                                                 NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(len, hv_commit_canonical_size(args, 3));
  assert_int_equal(len, 9 + 7 + 9 + 2 + 5);
  assert_int_equal(hv_commit_sha256_hex(buf, head + len, want, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_commit_arguments(nonce, args, 3, got, NULL), HV_CRYPTO_OK);
  assert_string_equal(got, want);
}

static void test_canonical_refusals(void **state) {
  static const char *const not_utf8[] = {
      "\x80",             /* a continuation byte alone */
      "\xc0\x80",         /* overlong NUL */
      "\xc1\xbf",         /* overlong */
      "\xe0\x80\xaf",     /* overlong '/' */
      "\xed\xa0\x80",     /* a surrogate, U+D800 */
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xf5\x80\x80\x80",
      "\xe2\x82",         /* cut short */
      "ok\xff",
  };
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  uint8_t out[64];
  size_t len = 7;
  char hex[HV_COMMIT_HEX_LEN + 1];
  hv_crypto_err err;
  hv_value v;
  (void)state;
  for (size_t i = 0; i < sizeof not_utf8 / sizeof not_utf8[0]; i++) {
    v = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)not_utf8[i], strlen(not_utf8[i]));
    assert_int_equal(hv_commit_canonical_arguments(&v, 1, out, sizeof out, &len, &err),
                     HV_CRYPTO_BAD_VALUE);
    assert_int_equal(len, 0);
    assert_int_equal(hv_commit_arguments(nonce, &v, 1, hex, NULL), HV_CRYPTO_BAD_VALUE);
    assert_string_equal(hex, "");
    /* the same bytes are fine as bytes */
    v.type = HV_TYPE_BYTES;
    assert_int_equal(hv_commit_canonical_arguments(&v, 1, out, sizeof out, &len, NULL),
                     HV_CRYPTO_OK);
  }
  /* the largest code point and the last ones before and after the surrogates are UTF-8 */
  v = BLOB(HV_TYPE_STRING, "\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80");
  assert_int_equal(hv_commit_canonical_arguments(&v, 1, out, sizeof out, &len, NULL),
                   HV_CRYPTO_OK);
  /* data missing, buffer one byte short of a blob */
  v = hv_value_blob(HV_TYPE_BYTES, NULL, 3);
  assert_int_equal(hv_commit_canonical_arguments(&v, 1, out, sizeof out, &len, NULL),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_int_equal(hv_commit_arguments(nonce, &v, 1, hex, NULL), HV_CRYPTO_INVALID_ARGUMENT);
  v = BLOB(HV_TYPE_BYTES, "abc");
  assert_int_equal(hv_commit_canonical_arguments(&v, 1, out, 11, &len, NULL),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_int_equal(hv_commit_canonical_arguments(&v, 1, out, 12, &len, NULL), HV_CRYPTO_OK);
}

static void test_canonical_size(void **state) {
  hv_value v[3];
  (void)state;
  assert_int_equal(hv_commit_canonical_size(NULL, 0), 0);
  assert_int_equal(hv_commit_canonical_size(NULL, 1), SIZE_MAX);
  v[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F64});
  v[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32});
  v[2] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"", 1u << 24);
  assert_int_equal(hv_commit_canonical_size(v, 3), 9 + 5 + 9 + (1u << 24));
  /* overflow: no real buffer is that large, and the function must not wrap around */
  v[2].len = SIZE_MAX - 9 - 14;
  assert_int_equal(hv_commit_canonical_size(v, 3), SIZE_MAX);
  v[2].len = SIZE_MAX - 9 - 14 - 1; /* exactly SIZE_MAX - 1 */
  assert_int_equal(hv_commit_canonical_size(v, 3), SIZE_MAX - 1);
  v[2].len = SIZE_MAX;
  assert_int_equal(hv_commit_canonical_size(v + 2, 1), SIZE_MAX);
  /* no canonical form */
  v[1].type = HVW_TYPE_V128;
  assert_int_equal(hv_commit_canonical_size(v, 2), SIZE_MAX);
}

static void test_nonce_is_fresh(void **state) {
  uint8_t a[HV_COMMIT_NONCE_LEN], b[HV_COMMIT_NONCE_LEN];
  (void)state;
  assert_int_equal(hv_commit_nonce(a, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_commit_nonce(b, NULL), HV_CRYPTO_OK);
  assert_memory_not_equal(a, b, sizeof a);
}

static void test_hex_equal(void **state) {
  (void)state;
  assert_true(hv_commit_hex_equal(EXAMPLE_RESULT_COMMITMENT, EXAMPLE_RESULT_COMMITMENT));
  assert_true(hv_commit_hex_equal(EXAMPLE_RESULT_COMMITMENT,
                                  "B4F9AA305A4A441B09F09E534BE0A0285A19601E7ED10F9A8B8714D36E876EA7"));
  assert_false(hv_commit_hex_equal(EXAMPLE_RESULT_COMMITMENT, EXAMPLE_PROGRAM_COMMITMENT));
  assert_false(hv_commit_hex_equal(EXAMPLE_RESULT_COMMITMENT,
                                   "b4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea6"));
  assert_false(hv_commit_hex_equal(EXAMPLE_RESULT_COMMITMENT, "b4f9aa"));
  assert_false(hv_commit_hex_equal(EXAMPLE_RESULT_COMMITMENT, NULL));
  /* same length, not hex: 'g' and the digit/letter pairs that differ only in bit 0x20 */
  assert_false(hv_commit_hex_equal("g4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7",
                                   "g4f9aa305a4a441b09f09e534be0a0285a19601e7ed10f9a8b8714d36e876ea7"));
  assert_false(hv_commit_hex_equal("0000000000000000000000000000000000000000000000000000000000000000",
                                   "\x10\x30\x30\x30\x30\x30\x30\x30\x30\x30\x30\x30\x30\x30\x30\x30"
                                   "000000000000000000000000000000000000000000000000"));
}

/* ---- Result document ------------------------------------------------------------------------ */

static void test_document_value_forms(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  hvw_value w[10];
  hv_value v[10];
  hv_result_document *doc = NULL;
  char *json = NULL;
  size_t len = 0;
  (void)state;
  memset(w, 0, sizeof w);
  w[0] = (hvw_value){.type = HVW_TYPE_I64, .of.i64 = 9007199254740991LL};  /* 2^53 - 1 */
  w[1] = (hvw_value){.type = HVW_TYPE_I64, .of.i64 = 9007199254740992LL};  /* 2^53 */
  w[2] = (hvw_value){.type = HVW_TYPE_I64, .of.i64 = INT64_MIN};
  w[3] = (hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0x7fc00001u};    /* NaN */
  w[4] = (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0xfff0000000000000ull}; /* -inf */
  w[5] = (hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0x7f800000u};    /* inf */
  w[6] = (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x8000000000000000ull}; /* -0.0 */
  w[7] = (hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0x3dcccccdu};    /* 0.1f */
  w[8] = (hvw_value){.type = HVW_TYPE_I32, .of.i32 = INT32_MIN};
  w[9] = (hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x3ff0000000000000ull}; /* 1.0 */
  for (size_t i = 0; i < 10; i++)
    v[i] = hv_value_from_wasm(w[i]);
  assert_int_equal(hv_commit_document_build("r", "f", v, 10, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_OK);
  assert_non_null(strstr(json, "\"results\":[{\"type\":\"i64\",\"value\":9007199254740991},"
                               "{\"type\":\"i64\",\"value\":\"9007199254740992\"},"
                               "{\"type\":\"i64\",\"value\":\"-9223372036854775808\"},"
                               "{\"type\":\"f32\",\"value\":\"nan\"},"
                               "{\"type\":\"f64\",\"value\":\"-inf\"},"
                               "{\"type\":\"f32\",\"value\":\"inf\"},"
                               "{\"type\":\"f64\",\"value\":-0.0},"
                               "{\"type\":\"f32\",\"value\":0.10000000149011612},"
                               "{\"type\":\"i32\",\"value\":-2147483648},"
                               "{\"type\":\"f64\",\"value\":1.0}]"));
  assert_int_equal(hv_commit_document_parse((const uint8_t *)json, len, &doc, NULL), HV_CRYPTO_OK);
  assert_string_equal(doc->request_id, "r");
  assert_string_equal(doc->function_name, "f");
  assert_string_equal(doc->program_sha256, EXAMPLE_PROGRAM_SHA256);
  assert_memory_equal(doc->nonce, nonce, sizeof nonce);
  assert_int_equal(doc->result_count, 10);
  for (size_t i = 0; i < 10; i++) {
    assert_int_equal(doc->results[i].type, v[i].type);
    if (i == 3) continue; /* NaN comes back canonical */
    bool narrow = v[i].type == HVW_TYPE_I32 || v[i].type == HVW_TYPE_F32; /* only 4 bytes are set */
    if (narrow) assert_int_equal(doc->results[i].num.of.f32_bits, v[i].num.of.f32_bits);
    else assert_int_equal(doc->results[i].num.of.f64_bits, v[i].num.of.f64_bits);
  }
  assert_int_equal(doc->results[3].num.of.f32_bits, 0x7fc00000u);
  hv_commit_document_free(doc);
  free(json);
  /* a reference type has no document form; nor does invalid UTF-8 */
  v[0].type = HVW_TYPE_EXTERNREF;
  assert_int_equal(hv_commit_document_build("r", "f", v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  assert_int_equal(hv_commit_document_build("r", "\xff", v + 8, 1, EXAMPLE_PROGRAM_SHA256, nonce,
                                            &json, &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  assert_null(json);
}

#define DOC_OPEN "{\"request_id\":\"r\",\"function_name\":\"f\",\"results\":["
#define DOC_CLOSE "],\"program_sha256\":\"" EXAMPLE_PROGRAM_SHA256 "\",\"nonce\":\"" \
                  EXAMPLE_NONCE_HEX "\"}"

/* Builds a document of results, checks its exact text, parses it back and compares. */
static void document_round_trip(const hv_value *results, size_t count, const char *want_results) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  char *json = NULL;
  size_t len = 0;
  hv_result_document *doc = NULL;
  const size_t want_len = strlen(DOC_OPEN) + strlen(want_results) + strlen(DOC_CLOSE);
  char *want = malloc(want_len + 1);
  assert_non_null(want);
  snprintf(want, want_len + 1, "%s%s%s", DOC_OPEN, want_results, DOC_CLOSE);
  example_nonce(nonce);
  assert_int_equal(hv_commit_document_build("r", "f", results, count, EXAMPLE_PROGRAM_SHA256,
                                            nonce, &json, &len, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(json, want);
  assert_int_equal(len, want_len);
  assert_int_equal(hv_commit_document_parse((const uint8_t *)json, len, &doc, NULL), HV_CRYPTO_OK);
  assert_int_equal(doc->result_count, count);
  for (size_t i = 0; i < count; i++) {
    assert_int_equal(doc->results[i].type, results[i].type);
    if (hv_type_is_numeric(results[i].type))
      continue;
    assert_int_equal(doc->results[i].len, results[i].len);
    assert_non_null(doc->results[i].data);
    assert_memory_equal(doc->results[i].data, results[i].data, results[i].len);
    assert_int_equal(doc->results[i].data[results[i].len], 0); /* the promised NUL */
  }
  hv_commit_document_free(doc);
  free(json);
  free(want);
}

static void test_document_strings_and_bytes(void **state) {
  (void)state;
  const hv_value values[] = {
      BLOB(HV_TYPE_STRING, ""),
      BLOB(HV_TYPE_STRING, "a\0b"),
      BLOB(HV_TYPE_STRING, "Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x8c\x8d"),
      hv_value_blob(HV_TYPE_BYTES, NULL, 0),
      BLOB(HV_TYPE_BYTES, "\x00\xff\x10"),
      BLOB(HV_TYPE_BYTES, "foob"),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 84}),
  };
  document_round_trip(values, sizeof values / sizeof values[0],
                      "{\"type\":\"string\",\"value\":\"\"},"
                      "{\"type\":\"string\",\"value\":\"a\\u0000b\"},"
                      "{\"type\":\"string\",\"value\":\"Gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x8c\x8d\"},"
                      "{\"type\":\"bytes\",\"value\":\"\"},"
                      "{\"type\":\"bytes\",\"value\":\"AP8Q\"},"
                      "{\"type\":\"bytes\",\"value\":\"Zm9vYg==\"},"
                      "{\"type\":\"i32\",\"value\":84}");
  /* JSON escapes: quote, backslash and the C0 controls; '/', DEL and non-ASCII go as they are */
  const hv_value escaped = BLOB(HV_TYPE_STRING, "\"\\/\x01\x1f\n\t\x7f\xc3\xa9");
  document_round_trip(&escaped, 1,
                      "{\"type\":\"string\",\"value\":\"\\\"\\\\/\\u0001\\u001F\\n\\t\x7f\xc3\xa9\"}");
}

static void test_document_refuses_invalid_strings(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  char *json = (char *)1;
  size_t len = 5;
  hv_crypto_err err;
  hv_value v = BLOB(HV_TYPE_STRING, "ok\xc0\x80");
  (void)state;
  assert_int_equal(hv_commit_document_build("r", "f", &v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, &err),
                   HV_CRYPTO_BAD_VALUE);
  assert_null(json);
  assert_int_equal(len, 0);
  assert_non_null(strstr(err.message, "result 0"));
  v = BLOB(HV_TYPE_STRING, "\xed\xbf\xbf"); /* a surrogate, U+DFFF */
  assert_int_equal(hv_commit_document_build("r", "f", &v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  /* the same bytes as bytes are fine */
  v.type = HV_TYPE_BYTES;
  assert_int_equal(hv_commit_document_build("r", "f", &v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_OK);
  free(json);
  v = hv_value_blob(HV_TYPE_BYTES, NULL, 1);
  assert_int_equal(hv_commit_document_build("r", "f", &v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_INVALID_ARGUMENT);
}

/* A result of wasm.max_result_bytes fits: the old 1 MiB bound is gone. */
static void test_document_large_results(void **state) {
  const size_t big = (size_t)16 << 20;
  const size_t controls = (size_t)2 << 20;
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  uint8_t *data = malloc(big);
  char *json = NULL;
  size_t len = 0;
  hv_result_document *doc = NULL;
  hv_value v;
  uint8_t *huge = NULL;
  (void)state;
  /* 16 MiB of string escaped six times over must fit the parser's bound */
  assert_true(HV_COMMIT_MAX_DOCUMENT >= 6 * big + 65536);
  assert_non_null(data);
  for (size_t i = 0; i < big; i++)
    data[i] = (uint8_t)(i * 7);
  v = hv_value_blob(HV_TYPE_BYTES, data, big);
  assert_int_equal(hv_commit_document_build("r", "f", &v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_OK);
  assert_true(len > big / 3 * 4);
  assert_int_equal(hv_commit_document_parse((const uint8_t *)json, len, &doc, NULL), HV_CRYPTO_OK);
  assert_int_equal(doc->results[0].len, big);
  assert_memory_equal(doc->results[0].data, data, big);
  hv_commit_document_free(doc);
  free(json);
  /* control characters: six bytes of JSON each */
  memset(data, 0x01, controls);
  v = hv_value_blob(HV_TYPE_STRING, data, controls);
  assert_int_equal(hv_commit_document_build("r", "f", &v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_OK);
  assert_true(len > 6 * controls);
  assert_int_equal(hv_commit_document_parse((const uint8_t *)json, len, &doc, NULL), HV_CRYPTO_OK);
  assert_int_equal(doc->results[0].len, controls);
  assert_memory_equal(doc->results[0].data, data, controls);
  hv_commit_document_free(doc);
  free(json);
  free(data);
  /* one byte over the bound is refused before a byte is read (calloc: pages never touched) */
  huge = calloc(HV_COMMIT_MAX_DOCUMENT + 1, 1);
  assert_non_null(huge);
  assert_int_equal(hv_commit_document_parse(huge, HV_COMMIT_MAX_DOCUMENT + 1, &doc, NULL),
                   HV_CRYPTO_BAD_DOCUMENT);
  free(huge);
}

static void assert_bad_document(const char *text) {
  hv_result_document *doc = (hv_result_document *)1;
  hv_crypto_err err;
  assert_int_equal(hv_commit_document_parse((const uint8_t *)text, strlen(text), &doc, &err),
                   HV_CRYPTO_BAD_DOCUMENT);
  assert_null(doc);
  assert_int_equal(hv_crypto_status_class(err.status), HV_CRYPTO_CLASS_VERIFY);
}

#define DOC_HEAD "{\"request_id\":\"r\",\"function_name\":\"f\","
#define DOC_TAIL ",\"program_sha256\":\"" EXAMPLE_PROGRAM_SHA256 "\",\"nonce\":\"" EXAMPLE_NONCE_HEX "\"}"

/* A WASI command's document and canonical arguments (docs/crypto.md, "WASI commands"): expected
 * bytes and hashes computed with Python's hashlib, base64 and struct alone. */
#define EXAMPLE_WASI_DOCUMENT                                                                    \
  "{\"request_id\":\"123e4567-e89b-42d3-a456-426614174000\",\"function_name\":\"_start\","       \
  "\"exit_code\":3,\"stdout\":\"aGVsbG8K\",\"stderr\":\"\",\"program_sha256\":\"" EXAMPLE_PROGRAM_SHA256 \
  "\",\"nonce\":\"" EXAMPLE_NONCE_HEX "\"}"
#define EXAMPLE_WASI_RESULT_COMMITMENT \
  "c669571dea9b6c077023981dd97b3bc36365d6fc05075fcea667c53f44568037"
#define EXAMPLE_WASI_CANONICAL \
  "73020000000000000077637302000000000000002d6c6204000000000000006120620a"
#define EXAMPLE_WASI_ARGUMENTS_COMMITMENT \
  "90ae5bd9cf554c18b71518a430a3354e0bfb9f2e600fd82527e8ff153a300456"

static void test_example_wasi_document(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  char *doc = NULL;
  size_t len = 0;
  char hex[HV_COMMIT_HEX_LEN + 1];
  (void)state;
  example_nonce(nonce);
  assert_int_equal(hv_commit_wasi_document_build(EXAMPLE_REQUEST_ID, "_start", 3,
                                                 (const uint8_t *)"hello\n", 6, NULL, 0,
                                                 EXAMPLE_PROGRAM_SHA256, nonce, &doc, &len, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(doc, EXAMPLE_WASI_DOCUMENT);
  assert_int_equal(len, 283);
  assert_int_equal(hv_commit_result((const uint8_t *)doc, len, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_WASI_RESULT_COMMITMENT);

  hv_result_document *parsed = NULL;
  assert_int_equal(hv_commit_document_parse((const uint8_t *)doc, len, &parsed, NULL), HV_CRYPTO_OK);
  assert_true(parsed->wasi);
  assert_int_equal(parsed->exit_code, 3);
  assert_int_equal(parsed->result_count, 0);
  assert_int_equal(parsed->stdout_len, 6);
  assert_memory_equal(parsed->stdout_data, "hello\n", 7); /* with its NUL */
  assert_int_equal(parsed->stderr_len, 0);
  assert_non_null(parsed->stderr_data);
  hv_commit_document_free(parsed);
  free(doc);

  /* argv ["wc", "-l"] then stdin "a b\n": two strings and one bytes value */
  const hv_value args[] = {hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"wc", 2),
                           hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"-l", 2),
                           hv_value_blob(HV_TYPE_BYTES, (const uint8_t *)"a b\n", 4)};
  assert_example_arguments(args, 3, EXAMPLE_WASI_CANONICAL, EXAMPLE_WASI_ARGUMENTS_COMMITMENT);
}

static void test_wasi_document_parse_rejects(void **state) {
  hv_result_document *doc = NULL;
  const char *ok = DOC_HEAD "\"exit_code\":4294967295,\"stdout\":\"\",\"stderr\":\"AA==\"" DOC_TAIL;
  (void)state;
  assert_int_equal(hv_commit_document_parse((const uint8_t *)ok, strlen(ok), &doc, NULL),
                   HV_CRYPTO_OK);
  assert_true(doc->wasi);
  assert_true(doc->exit_code == UINT32_MAX);
  assert_int_equal(doc->stderr_len, 1);
  hv_commit_document_free(doc);
  assert_bad_document(DOC_HEAD "\"exit_code\":4294967296,\"stdout\":\"\",\"stderr\":\"\"" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"exit_code\":-1,\"stdout\":\"\",\"stderr\":\"\"" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"exit_code\":\"0\",\"stdout\":\"\",\"stderr\":\"\"" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"exit_code\":0,\"stdout\":\"\"" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"exit_code\":0,\"stdout\":\"!!\",\"stderr\":\"\"" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"exit_code\":0,\"stdout\":1,\"stderr\":\"\"" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[],\"exit_code\":0,\"stdout\":\"\",\"stderr\":\"\"" DOC_TAIL);
}

static void test_document_parse_rejects(void **state) {
  hv_result_document *doc = NULL;
  const char *ok = DOC_HEAD "\"results\":[{\"type\":\"i64\",\"value\":\"-12\"}]" DOC_TAIL;
  (void)state;
  assert_int_equal(hv_commit_document_parse((const uint8_t *)ok, strlen(ok), &doc, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(doc->results[0].num.of.i64, -12);
  hv_commit_document_free(doc);

  assert_bad_document("");
  assert_bad_document("[]");
  assert_bad_document("{\"request_id\":\"r\"}");
  assert_bad_document(DOC_HEAD "\"results\":{}" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"i32\",\"value\":2147483648}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"i32\",\"value\":1.5}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"i32\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"v128\",\"value\":0}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"i64\",\"value\":\"12a\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"i64\",\"value\":\"-\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"i64\",\"value\":\"\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD
                      "\"results\":[{\"type\":\"i64\",\"value\":\"9223372036854775808\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"f64\",\"value\":\"NaN\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[],\"program_sha256\":\"abc\",\"nonce\":\"" EXAMPLE_NONCE_HEX "\"}");
  assert_bad_document(DOC_HEAD "\"results\":[],\"program_sha256\":\"" EXAMPLE_PROGRAM_SHA256
                               "\",\"nonce\":\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}");
  assert_bad_document("{\"request_id\":\"r\",\"request_id\":\"s\",\"function_name\":\"f\","
                      "\"results\":[]" DOC_TAIL); /* duplicate key */
  assert_bad_document("{\"request_id\":\"r\\u0000x\",\"function_name\":\"f\",\"results\":[]" DOC_TAIL);
  assert_bad_document("{\"request_id\":7,\"function_name\":\"f\",\"results\":[]" DOC_TAIL);
  /* strings and bytes */
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"string\",\"value\":7}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"string\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"bytes\",\"value\":\"Zg=\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"bytes\",\"value\":[]}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"bytes\",\"value\":\"Zg==\"},"
                               "{\"type\":\"bytes\",\"value\":\"Zh==\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"blob\",\"value\":\"\"}]" DOC_TAIL);
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"string\",\"value\":\"\\ud800\"}]"
                      DOC_TAIL); /* a lone surrogate escape */
  assert_bad_document(DOC_HEAD "\"results\":[{\"type\":\"string\",\"value\":\"\xc0\x80\"}]"
                      DOC_TAIL); /* raw bytes that are not UTF-8 */
  /* base64url is accepted in a bytes value, as everywhere */
  const char *url = DOC_HEAD "\"results\":[{\"type\":\"bytes\",\"value\":\"-_8\"}]" DOC_TAIL;
  assert_int_equal(hv_commit_document_parse((const uint8_t *)url, strlen(url), &doc, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(doc->results[0].len, 2);
  assert_memory_equal(doc->results[0].data, "\xfb\xff", 2);
  hv_commit_document_free(doc);
}

/* ---- base64 and hex ------------------------------------------------------------------------- */

static void assert_b64_round_trip(const char *plain, const char *encoded) {
  char *enc = NULL;
  uint8_t *dec = NULL;
  size_t len = 0;
  assert_int_equal(hv_crypto_base64_encode((const uint8_t *)plain, strlen(plain), &enc, &len, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(enc, encoded);
  assert_int_equal(len, strlen(encoded));
  assert_int_equal(hv_crypto_base64_decode(encoded, strlen(encoded), &dec, &len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(len, strlen(plain));
  assert_memory_equal(dec, plain, len);
  free(enc);
  free(dec);
}

static void assert_b64_decodes(const char *text, const uint8_t *want, size_t want_len) {
  uint8_t *dec = NULL;
  size_t len = 0;
  assert_int_equal(hv_crypto_base64_decode(text, strlen(text), &dec, &len, NULL), HV_CRYPTO_OK);
  assert_int_equal(len, want_len);
  assert_memory_equal(dec, want, len);
  free(dec);
}

static void assert_b64_rejected(const char *text) {
  uint8_t *dec = (uint8_t *)1;
  size_t len = 7;
  assert_int_equal(hv_crypto_base64_decode(text, strlen(text), &dec, &len, NULL),
                   HV_CRYPTO_BAD_BASE64);
  assert_null(dec);
  assert_int_equal(len, 0);
}

static void test_base64(void **state) {
  const uint8_t fbff[] = {0xfb, 0xff};
  (void)state;
  /* RFC 4648 §10 */
  assert_b64_round_trip("", "");
  assert_b64_round_trip("f", "Zg==");
  assert_b64_round_trip("fo", "Zm8=");
  assert_b64_round_trip("foo", "Zm9v");
  assert_b64_round_trip("foob", "Zm9vYg==");
  assert_b64_round_trip("fooba", "Zm9vYmE=");
  assert_b64_round_trip("foobar", "Zm9vYmFy");
  /* unpadded, and base64url with and without padding */
  assert_b64_decodes("Zg", (const uint8_t *)"f", 1);
  assert_b64_decodes("Zm9vYmE", (const uint8_t *)"fooba", 5);
  assert_b64_decodes("+/8=", fbff, 2);
  assert_b64_decodes("-_8=", fbff, 2);
  assert_b64_decodes("-_8", fbff, 2);
  /* malformed */
  assert_b64_rejected("Z");         /* a lone character */
  assert_b64_rejected("Zg=");       /* padding without a full quantum */
  assert_b64_rejected("Zg===");     /* too much padding */
  assert_b64_rejected("Z=g=");      /* padding inside */
  assert_b64_rejected("Zm9v\n");    /* whitespace */
  assert_b64_rejected("Zm 9v");
  assert_b64_rejected("Zh==");      /* non-zero trailing bits */
  assert_b64_rejected("+_8=");      /* both alphabets */
  assert_b64_rejected("Zm9v!A==");

  /* Long texts go four characters at a time: every byte value, then faults deep inside. */
  uint8_t all[3 * 256 + 1];
  for (size_t i = 0; i < sizeof all; i++) all[i] = (uint8_t)(i * 7 + (i >> 8));
  char *enc = NULL;
  uint8_t *dec = NULL;
  size_t len = 0;
  /* The encoder against OpenSSL's, for every length up to 769 (each tail, every byte value). */
  for (size_t n = 0; n <= sizeof all; n++) {
    unsigned char want[4 * (sizeof all + 2) / 3 + 1];
    int want_len = EVP_EncodeBlock(want, all, (int)n);
    assert_int_equal(hv_crypto_base64_encode(all, n, &enc, &len, NULL), HV_CRYPTO_OK);
    assert_int_equal(len, (size_t)want_len);
    assert_string_equal(enc, (const char *)want);
    free(enc);
  }
  assert_int_equal(hv_crypto_base64_encode(all, sizeof all, &enc, &len, NULL), HV_CRYPTO_OK);
  assert_b64_decodes(enc, all, sizeof all);
  for (size_t i = 0; enc[i]; i++) enc[i] = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];
  assert_b64_decodes(enc, all, sizeof all); /* the url alphabet, whole */
  enc[len / 2] = '+';
  if (strchr(enc, '-') || strchr(enc, '_')) assert_b64_rejected(enc); /* both, far apart */
  enc[len / 2] = '*';
  hv_crypto_err err = {0};
  assert_int_equal(hv_crypto_base64_decode(enc, len, &dec, &len, &err), HV_CRYPTO_BAD_BASE64);
  char where[64];
  snprintf(where, sizeof where, "offset %zu", strlen(enc) / 2);
  assert_non_null(strstr(err.message, where));
  free(enc);
}

static void test_hex(void **state) {
  uint8_t out[4];
  char text[9];
  (void)state;
  hv_crypto_hex_encode((const uint8_t *)"\x00\x9f\xa0\xff", 4, text);
  assert_string_equal(text, "009fa0ff");
  assert_int_equal(hv_crypto_hex_decode("009FA0ff", 8, out, 4, NULL), HV_CRYPTO_OK);
  assert_memory_equal(out, "\x00\x9f\xa0\xff", 4);
  assert_int_equal(hv_crypto_hex_decode("009fa0f", 7, out, 4, NULL), HV_CRYPTO_BAD_HEX);
  assert_int_equal(hv_crypto_hex_decode("009fa0fg", 8, out, 4, NULL), HV_CRYPTO_BAD_HEX);
  assert_int_equal(hv_crypto_hex_decode("009fa0f:", 8, out, 4, NULL), HV_CRYPTO_BAD_HEX);
  assert_int_equal(hv_crypto_hex_decode("009fa0f/", 8, out, 4, NULL), HV_CRYPTO_BAD_HEX);
  assert_memory_equal(out, "\0\0\0\0", 4); /* cleared on failure */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_program_commitment),
      cmocka_unit_test(test_example_arguments_commitment),
      cmocka_unit_test(test_example_document_and_result_commitment),
      cmocka_unit_test(test_example_v11_arguments),
      cmocka_unit_test(test_example_v11_documents),
      cmocka_unit_test(test_example_key_id),
      cmocka_unit_test(test_canonical_arguments_edges),
      cmocka_unit_test(test_canonical_strings_and_bytes),
      cmocka_unit_test(test_arguments_commitment_streams_canonical_bytes),
      cmocka_unit_test(test_canonical_refusals),
      cmocka_unit_test(test_canonical_size),
      cmocka_unit_test(test_nonce_is_fresh),
      cmocka_unit_test(test_hex_equal),
      cmocka_unit_test(test_document_value_forms),
      cmocka_unit_test(test_document_strings_and_bytes),
      cmocka_unit_test(test_document_refuses_invalid_strings),
      cmocka_unit_test(test_document_large_results),
      cmocka_unit_test(test_document_parse_rejects),
      cmocka_unit_test(test_example_wasi_document),
      cmocka_unit_test(test_wasi_document_parse_rejects),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_hex),
  };
  return cmocka_run_group_tests_name("commit", tests, NULL, NULL);
}
