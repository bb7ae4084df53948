/*
 * Commitments, canonical arguments, the result document, key ids, base64 and hex. The worked
 * examples are the ones published in docs/crypto.md (computed independently of this library).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

static void example_arguments(wasm_value args[4]) {
  memset(args, 0, 4 * sizeof *args);
  args[0].type = WASM_TYPE_I32;
  args[0].of.i32 = 42;
  args[1].type = WASM_TYPE_I64;
  args[1].of.i64 = -2;
  args[2].type = WASM_TYPE_F32;
  args[2].of.f32_bits = 0x3fc00000u; /* 1.5 */
  args[3].type = WASM_TYPE_F64;
  args[3].of.f64_bits = 0x3fb999999999999aull; /* 0.1 */
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
  wasm_value args[4];
  uint8_t canonical[4 * HV_COMMIT_ARG_MAX_BYTES];
  char canonical_hex[2 * sizeof canonical + 1];
  size_t len = 0;
  char hex[HV_COMMIT_HEX_LEN + 1];
  (void)state;
  example_nonce(nonce);
  example_arguments(args);
  assert_int_equal(hv_commit_canonical_arguments(args, 4, canonical, sizeof canonical, &len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(len, 28);
  hv_crypto_hex_encode(canonical, len, canonical_hex);
  assert_string_equal(canonical_hex, EXAMPLE_CANONICAL_ARGUMENTS);
  assert_int_equal(hv_commit_arguments(nonce, args, 4, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_ARGUMENTS_COMMITMENT);
  assert_int_equal(hv_commit_arguments(nonce, NULL, 0, hex, NULL), HV_CRYPTO_OK);
  assert_string_equal(hex, EXAMPLE_EMPTY_ARGUMENTS_COMMITMENT);
}

static void test_example_document_and_result_commitment(void **state) {
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  wasm_value result = {.type = WASM_TYPE_I32, .of.i32 = 84};
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
  wasm_value v[2];
  uint8_t out[2 * HV_COMMIT_ARG_MAX_BYTES];
  size_t len = 0;
  (void)state;
  memset(v, 0, sizeof v);
  /* A NaN's payload and a negative zero are committed bit for bit. */
  v[0].type = WASM_TYPE_F32;
  v[0].of.f32_bits = 0x7fc00001u;
  v[1].type = WASM_TYPE_F64;
  v[1].of.f64_bits = 0x8000000000000000ull;
  assert_int_equal(hv_commit_canonical_arguments(v, 2, out, sizeof out, &len, NULL), HV_CRYPTO_OK);
  assert_int_equal(len, 14);
  assert_memory_equal(out, "\x7d\x01\x00\xc0\x7f\x7c\x00\x00\x00\x00\x00\x00\x00\x80", 14);
  /* too small a buffer */
  assert_int_equal(hv_commit_canonical_arguments(v, 2, out, 13, &len, NULL),
                   HV_CRYPTO_INVALID_ARGUMENT);
  /* types that have no canonical form */
  v[1].type = WASM_TYPE_FUNCREF;
  assert_int_equal(hv_commit_canonical_arguments(v, 2, out, sizeof out, &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  v[1].type = WASM_TYPE_V128;
  char hex[HV_COMMIT_HEX_LEN + 1];
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  assert_int_equal(hv_commit_arguments(nonce, v, 2, hex, NULL), HV_CRYPTO_BAD_VALUE);
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
  wasm_value v[10];
  hv_result_document *doc = NULL;
  char *json = NULL;
  size_t len = 0;
  (void)state;
  memset(v, 0, sizeof v);
  v[0] = (wasm_value){.type = WASM_TYPE_I64, .of.i64 = 9007199254740991LL};  /* 2^53 - 1 */
  v[1] = (wasm_value){.type = WASM_TYPE_I64, .of.i64 = 9007199254740992LL};  /* 2^53 */
  v[2] = (wasm_value){.type = WASM_TYPE_I64, .of.i64 = INT64_MIN};
  v[3] = (wasm_value){.type = WASM_TYPE_F32, .of.f32_bits = 0x7fc00001u};    /* NaN */
  v[4] = (wasm_value){.type = WASM_TYPE_F64, .of.f64_bits = 0xfff0000000000000ull}; /* -inf */
  v[5] = (wasm_value){.type = WASM_TYPE_F32, .of.f32_bits = 0x7f800000u};    /* inf */
  v[6] = (wasm_value){.type = WASM_TYPE_F64, .of.f64_bits = 0x8000000000000000ull}; /* -0.0 */
  v[7] = (wasm_value){.type = WASM_TYPE_F32, .of.f32_bits = 0x3dcccccdu};    /* 0.1f */
  v[8] = (wasm_value){.type = WASM_TYPE_I32, .of.i32 = INT32_MIN};
  v[9] = (wasm_value){.type = WASM_TYPE_F64, .of.f64_bits = 0x3ff0000000000000ull}; /* 1.0 */
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
    bool narrow = v[i].type == WASM_TYPE_I32 || v[i].type == WASM_TYPE_F32; /* only 4 bytes are set */
    if (narrow) assert_int_equal(doc->results[i].of.f32_bits, v[i].of.f32_bits);
    else assert_int_equal(doc->results[i].of.f64_bits, v[i].of.f64_bits);
  }
  assert_int_equal(doc->results[3].of.f32_bits, 0x7fc00000u);
  hv_commit_document_free(doc);
  free(json);
  /* a reference type has no document form; nor does invalid UTF-8 */
  v[0].type = WASM_TYPE_EXTERNREF;
  assert_int_equal(hv_commit_document_build("r", "f", v, 1, EXAMPLE_PROGRAM_SHA256, nonce, &json,
                                            &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  assert_int_equal(hv_commit_document_build("r", "\xff", v + 8, 1, EXAMPLE_PROGRAM_SHA256, nonce,
                                            &json, &len, NULL),
                   HV_CRYPTO_BAD_VALUE);
  assert_null(json);
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

static void test_document_parse_rejects(void **state) {
  hv_result_document *doc = NULL;
  const char *ok = DOC_HEAD "\"results\":[{\"type\":\"i64\",\"value\":\"-12\"}]" DOC_TAIL;
  (void)state;
  assert_int_equal(hv_commit_document_parse((const uint8_t *)ok, strlen(ok), &doc, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(doc->results[0].of.i64, -12);
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
      cmocka_unit_test(test_example_key_id),
      cmocka_unit_test(test_canonical_arguments_edges),
      cmocka_unit_test(test_nonce_is_fresh),
      cmocka_unit_test(test_hex_equal),
      cmocka_unit_test(test_document_value_forms),
      cmocka_unit_test(test_document_parse_rejects),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_hex),
  };
  return cmocka_run_group_tests_name("commit", tests, NULL, NULL);
}
