/*
 * The encrypted round trip end to end, without HTTP: client seal -> server open (key ring in a
 * temporary directory) -> server seals the result document -> client open -> commitment check;
 * and each way a party in the middle could tamper with it failing cleanly.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hv_client.h"

#define T0 1764000000
#define PERIOD 3600
#define REQUEST_ID "9b2f8f0e-4a43-4c1e-9f0d-2b8c3e7f6a11"

static const uint8_t wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

typedef struct fixture {
  char dir[64];
  hv_keyring *ring;
  hv_keyring_key_info server; /* the current key */
  hv_client_key *client;
  char *client_b64; /* the request's public_key */
  hv_value args[4]; /* what the function received: arg_count of them */
  size_t arg_count;
  hv_value results[4]; /* what it returned: result_count of them */
  size_t result_count;
} fixture;

/* What the server answers: POST /v1/execute's 200 body, less the summary. */
typedef struct response {
  char *encrypted_result; /* base64 */
  char result_commitment[HV_COMMIT_HEX_LEN + 1];
  char program_commitment[HV_COMMIT_HEX_LEN + 1];
  char arguments_commitment[HV_COMMIT_HEX_LEN + 1];
  char key_id[HV_KEY_ID_LEN + 1];
} response;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/hv-client-XXXXXX");
  if (mkdtemp(f->dir) == NULL ||
      hv_keyring_open(f->dir, PERIOD, T0, &f->ring, NULL) != HV_CRYPTO_OK ||
      hv_keyring_current(f->ring, &f->server, NULL) != HV_CRYPTO_OK ||
      hv_client_key_generate(&f->client, NULL) != HV_CRYPTO_OK ||
      hv_client_key_public_base64(f->client, &f->client_b64, NULL) != HV_CRYPTO_OK)
    return -1;
  f->args[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 40});
  f->args[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64, .of.i64 = 44});
  f->arg_count = 2;
  f->results[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 84});
  f->result_count = 1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hv_keyring_close(f->ring);
  hv_client_key_free(f->client);
  free(f->client_b64);
  nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* The server's half: decode and parse what came in, decrypt with the key ring, "run" the
 * function (its results are f->results), build and seal the result document. Returns the open's
 * status. */
static hv_crypto_status server_execute(fixture *f, const char *key_id, const char *encrypted_wasm,
                                       const char *public_key_b64, const char *function_name,
                                       response *out) {
  uint8_t *sealed = NULL, *pk_bytes = NULL, *received = NULL, *sealed_result = NULL;
  size_t sealed_len = 0, pk_len = 0, received_len = 0, sealed_result_len = 0, doc_len = 0;
  hpke_public_key *client_pk = NULL;
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  char program_sha256[HV_COMMIT_HEX_LEN + 1];
  char *doc = NULL;
  hv_crypto_err err;
  hv_crypto_status rc;

  memset(out, 0, sizeof *out);
  assert_int_equal(hv_crypto_base64_decode(public_key_b64, strlen(public_key_b64), &pk_bytes,
                                           &pk_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_public_key_parse(pk_bytes, pk_len, &client_pk, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_decode(encrypted_wasm, strlen(encrypted_wasm), &sealed,
                                           &sealed_len, NULL),
                   HV_CRYPTO_OK);
  rc = hv_keyring_open_request(f->ring, key_id, sealed, sealed_len, client_pk, function_name,
                               &received, &received_len, out->key_id, &err);
  if (rc != HV_CRYPTO_OK) {
    assert_int_equal(err.status, rc);
    assert_int_equal(hv_crypto_status_class(rc), HV_CRYPTO_CLASS_ENCRYPTION);
    assert_null(received);
    goto done;
  }
  assert_int_equal(received_len, sizeof wasm);
  assert_memory_equal(received, wasm, sizeof wasm);
  assert_int_equal(hv_commit_nonce(nonce, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_commit_sha256_hex(received, received_len, program_sha256, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_document_build(REQUEST_ID, function_name, f->results,
                                            f->result_count, program_sha256, nonce, &doc, &doc_len,
                                            NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_result((const uint8_t *)doc, doc_len, out->result_commitment, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_program(nonce, received, received_len, out->program_commitment, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_arguments(nonce, f->args, f->arg_count, out->arguments_commitment,
                                       NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_seal_response(client_pk, REQUEST_ID, (const uint8_t *)doc, doc_len,
                                           &sealed_result, &sealed_result_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_encode(sealed_result, sealed_result_len,
                                           &out->encrypted_result, NULL, NULL),
                   HV_CRYPTO_OK);
done:
  free(sealed);
  free(pk_bytes);
  free(received);
  free(sealed_result);
  free(doc);
  hpke_public_key_free(client_pk);
  return rc;
}

static hv_client_expected expectation(const fixture *f, const response *r) {
  return (hv_client_expected){.request_id = REQUEST_ID,
                              .function_name = "add",
                              .wasm = wasm,
                              .wasm_len = sizeof wasm,
                              .arguments = f->args,
                              .argument_count = f->arg_count,
                              .result_commitment = r->result_commitment,
                              .program_commitment = r->program_commitment,
                              .arguments_commitment = r->arguments_commitment};
}

/* Client seals to server_key (SEC1 or DER), the server answers, the client opens and checks. */
static void round_trip(fixture *f, const uint8_t *server_key, size_t server_key_len,
                       const char *key_id) {
  hv_client_sealed req;
  response r;
  uint8_t *doc = NULL;
  size_t doc_len = 0;
  hv_result_document *parsed = NULL;
  hv_client_commitments computed;
  hv_client_expected e;

  assert_int_equal(hv_client_seal_request(f->client, server_key, server_key_len, "add", wasm,
                                          sizeof wasm, &req, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(req.len, HPKE_ENC_LEN + sizeof wasm + HPKE_TAG_LEN);
  assert_int_equal(strlen(req.base64), req.base64_len);
  assert_int_equal(server_execute(f, key_id, req.base64, f->client_b64, "add", &r), HV_CRYPTO_OK);
  assert_string_equal(r.key_id, f->server.key_id);
  assert_int_equal(hv_client_open_response_base64(f->client, REQUEST_ID, r.encrypted_result,
                                                  strlen(r.encrypted_result), &doc, &doc_len,
                                                  NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(strlen((const char *)doc), doc_len);
  e = expectation(f, &r);
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, &parsed, &computed, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(parsed->request_id, REQUEST_ID);
  assert_int_equal(parsed->result_count, 1);
  assert_int_equal(parsed->results[0].type, HVW_TYPE_I32);
  assert_int_equal(parsed->results[0].num.of.i32, 84);
  assert_string_equal(computed.result, r.result_commitment);
  assert_string_equal(computed.program, r.program_commitment);
  assert_string_equal(computed.arguments, r.arguments_commitment);
  hv_commit_document_free(parsed);
  free(doc);
  free(r.encrypted_result);
  hv_client_sealed_free(&req);
  assert_null(req.bytes);
}

static void test_round_trip_sec1_with_key_id(void **state) {
  fixture *f = *state;
  round_trip(f, f->server.public_key, HPKE_PUBLIC_KEY_LEN, f->server.key_id);
}

static void test_round_trip_der_without_key_id(void **state) {
  fixture *f = *state;
  uint8_t spki[91] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                      0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
                      0x07, 0x03, 0x42, 0x00};
  memcpy(spki + 26, f->server.public_key, HPKE_PUBLIC_KEY_LEN);
  round_trip(f, spki, sizeof spki, NULL);
}

/* Seals a request for function "add" and returns its base64 with byte `flip` changed (or not). */
static char *sealed_request(fixture *f, const uint8_t *server_key, long flip) {
  hv_client_sealed req;
  char *b64 = NULL;
  assert_int_equal(hv_client_seal_request(f->client, server_key, HPKE_PUBLIC_KEY_LEN, "add", wasm,
                                          sizeof wasm, &req, NULL),
                   HV_CRYPTO_OK);
  if (flip >= 0)
    req.bytes[flip] ^= 0x40;
  assert_int_equal(hv_crypto_base64_encode(req.bytes, req.len, &b64, NULL, NULL), HV_CRYPTO_OK);
  hv_client_sealed_free(&req);
  return b64;
}

static void test_tampered_request(void **state) {
  fixture *f = *state;
  response r;
  for (long flip = HPKE_ENC_LEN; flip < (long)(HPKE_ENC_LEN + sizeof wasm + HPKE_TAG_LEN);
       flip += 5) {
    char *b64 = sealed_request(f, f->server.public_key, flip);
    assert_int_equal(server_execute(f, f->server.key_id, b64, f->client_b64, "add", &r),
                     HV_CRYPTO_DECRYPT_FAILED);
    free(b64);
  }
  /* a changed enc is not a point on the curve any more */
  char *b64 = sealed_request(f, f->server.public_key, 10);
  assert_int_equal(server_execute(f, NULL, b64, f->client_b64, "add", &r), HV_CRYPTO_BAD_ENC);
  free(b64);
}

/* The aad binds the function name and the client's key. */
static void test_wrong_aad(void **state) {
  fixture *f = *state;
  response r;
  hv_client_key *mallory = NULL;
  char *mallory_b64 = NULL;
  char *b64 = sealed_request(f, f->server.public_key, -1);

  assert_int_equal(server_execute(f, f->server.key_id, b64, f->client_b64, "sub", &r),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(server_execute(f, NULL, b64, f->client_b64, "ad", &r),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(hv_client_key_generate(&mallory, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_client_key_public_base64(mallory, &mallory_b64, NULL), HV_CRYPTO_OK);
  assert_int_equal(server_execute(f, f->server.key_id, b64, mallory_b64, "add", &r),
                   HV_CRYPTO_DECRYPT_FAILED);
  /* and the untouched request still goes through */
  assert_int_equal(server_execute(f, f->server.key_id, b64, f->client_b64, "add", &r),
                   HV_CRYPTO_OK);
  free(r.encrypted_result);
  free(mallory_b64);
  hv_client_key_free(mallory);
  free(b64);
}

static void test_wrong_key_id(void **state) {
  fixture *f = *state;
  response r;
  hv_keyring_key_info previous = f->server, current;
  char *to_previous = sealed_request(f, previous.public_key, -1);
  char *to_current = NULL;

  assert_int_equal(server_execute(f, "0123456789abcdef", to_previous, f->client_b64, "add", &r),
                   HV_CRYPTO_UNKNOWN_KEY_ID);
  assert_int_equal(server_execute(f, "not a key id", to_previous, f->client_b64, "add", &r),
                   HV_CRYPTO_UNKNOWN_KEY_ID);
  assert_int_equal(hv_keyring_rotate_if_due(f->ring, T0 + PERIOD, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(f->ring, &current, NULL), HV_CRYPTO_OK);
  to_current = sealed_request(f, current.public_key, -1);
  /* a live key, but not the one the request was sealed to */
  assert_int_equal(server_execute(f, previous.key_id, to_current, f->client_b64, "add", &r),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(server_execute(f, current.key_id, to_previous, f->client_b64, "add", &r),
                   HV_CRYPTO_DECRYPT_FAILED);
  /* the previous key still serves the requests sealed to it */
  assert_int_equal(server_execute(f, previous.key_id, to_previous, f->client_b64, "add", &r),
                   HV_CRYPTO_OK);
  assert_string_equal(r.key_id, previous.key_id);
  free(r.encrypted_result);
  free(to_previous);
  free(to_current);
}

static void test_response_binding(void **state) {
  fixture *f = *state;
  response r;
  hv_client_key *other = NULL;
  uint8_t *doc = (uint8_t *)1, *sealed = NULL;
  size_t doc_len = 0, sealed_len = 0;
  hv_crypto_err err;
  char *b64 = sealed_request(f, f->server.public_key, -1);

  assert_int_equal(server_execute(f, NULL, b64, f->client_b64, "add", &r), HV_CRYPTO_OK);
  /* another request_id */
  assert_int_equal(hv_client_open_response_base64(f->client, "another-request",
                                                  r.encrypted_result, strlen(r.encrypted_result),
                                                  &doc, &doc_len, &err),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_null(doc);
  /* another client */
  assert_int_equal(hv_client_key_generate(&other, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_client_open_response_base64(other, REQUEST_ID, r.encrypted_result,
                                                  strlen(r.encrypted_result), &doc, &doc_len,
                                                  &err),
                   HV_CRYPTO_DECRYPT_FAILED);
  /* changed on the way */
  assert_int_equal(hv_crypto_base64_decode(r.encrypted_result, strlen(r.encrypted_result), &sealed,
                                           &sealed_len, NULL),
                   HV_CRYPTO_OK);
  sealed[sealed_len - 1] ^= 1;
  assert_int_equal(hv_client_open_response(f->client, REQUEST_ID, sealed, sealed_len, &doc,
                                           &doc_len, &err),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(hv_client_open_response(f->client, REQUEST_ID, sealed, 10, &doc, &doc_len,
                                           &err),
                   HV_CRYPTO_BAD_ENC);
  assert_int_equal(hv_client_open_response_base64(f->client, REQUEST_ID, "not base64!", 11, &doc,
                                                  &doc_len, &err),
                   HV_CRYPTO_BAD_BASE64);
  assert_null(doc);
  free(sealed);
  hv_client_key_free(other);
  free(r.encrypted_result);
  free(b64);
}

static void test_check_result_mismatches(void **state) {
  fixture *f = *state;
  response r;
  uint8_t *doc = NULL;
  size_t doc_len = 0;
  hv_client_expected e;
  hv_result_document *parsed = (hv_result_document *)1;
  hv_crypto_err err;
  hv_value other_args[2];
  const uint8_t other_wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x01};
  char *b64 = sealed_request(f, f->server.public_key, -1);

  assert_int_equal(server_execute(f, NULL, b64, f->client_b64, "add", &r), HV_CRYPTO_OK);
  assert_int_equal(hv_client_open_response_base64(f->client, REQUEST_ID, r.encrypted_result,
                                                  strlen(r.encrypted_result), &doc, &doc_len,
                                                  NULL),
                   HV_CRYPTO_OK);
  /* arguments other than those the server committed to */
  memcpy(other_args, f->args, sizeof other_args);
  other_args[1].num.of.i64 = 45;
  e = expectation(f, &r);
  e.arguments = other_args;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, &parsed, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  assert_null(parsed);
  assert_non_null(strstr(err.message, "arguments_commitment"));
  /* the same values typed differently are other arguments too */
  other_args[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 44});
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  /* another module */
  e = expectation(f, &r);
  e.wasm = other_wasm;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_DOCUMENT_MISMATCH);
  e.program_commitment = NULL; /* without the program commitment, program_sha256 catches it */
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_DOCUMENT_MISMATCH);
  /* a result commitment for other bytes */
  e = expectation(f, &r);
  e.result_commitment = r.program_commitment;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  assert_non_null(strstr(err.message, "result_commitment"));
  /* the document of another request or function */
  e = expectation(f, &r);
  e.request_id = "another-request";
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_DOCUMENT_MISMATCH);
  e = expectation(f, &r);
  e.function_name = "sub";
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_DOCUMENT_MISMATCH);
  /* a changed document */
  e = expectation(f, &r);
  char saved = (char)doc[doc_len - 3]; /* the nonce's last hex digit */
  doc[doc_len - 3] = saved == '0' ? '1' : '0';
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  assert_int_equal(hv_client_check_result(doc, doc_len - 1, &e, NULL, NULL, &err),
                   HV_CRYPTO_BAD_DOCUMENT);
  /* without commitments to compare, only the document's own fields are checked */
  doc[doc_len - 3] = (uint8_t)saved;
  e.result_commitment = e.program_commitment = e.arguments_commitment = NULL;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, NULL), HV_CRYPTO_OK);
  free(doc);
  free(r.encrypted_result);
  free(b64);
}

/* Strings and bytes, as arguments and as results, through the whole v1 round trip. */
static void test_round_trip_strings_and_bytes(void **state) {
  fixture *f = *state;
  static const uint8_t blob[] = {0x00, 0xff, 0x10, 0x80};
  static const char text[] = "Gr\xc3\xbc\xc3\x9f" "e\0\xf0\x9f\x8c\x8d"; /* with a NUL */
  char *b64 = sealed_request(f, f->server.public_key, -1);
  response r;
  uint8_t *doc = NULL;
  size_t doc_len = 0;
  hv_result_document *parsed = NULL;
  hv_client_expected e;
  hv_crypto_err err;
  hv_value changed[3];
  char other_text[sizeof text];

  f->args[0] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)text, sizeof text - 1);
  f->args[1] = hv_value_blob(HV_TYPE_BYTES, blob, sizeof blob);
  f->args[2] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 3});
  f->arg_count = 3;
  f->results[0] = hv_value_blob(HV_TYPE_BYTES, blob, sizeof blob);
  f->results[1] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)text, sizeof text - 1);
  f->result_count = 2;
  assert_int_equal(server_execute(f, NULL, b64, f->client_b64, "add", &r), HV_CRYPTO_OK);
  assert_int_equal(hv_client_open_response_base64(f->client, REQUEST_ID, r.encrypted_result,
                                                  strlen(r.encrypted_result), &doc, &doc_len,
                                                  NULL),
                   HV_CRYPTO_OK);
  e = expectation(f, &r);
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, &parsed, NULL, &err), HV_CRYPTO_OK);
  assert_int_equal(parsed->result_count, 2);
  assert_int_equal(parsed->results[0].type, HV_TYPE_BYTES);
  assert_int_equal(parsed->results[0].len, sizeof blob);
  assert_memory_equal(parsed->results[0].data, blob, sizeof blob);
  assert_int_equal(parsed->results[1].type, HV_TYPE_STRING);
  assert_int_equal(parsed->results[1].len, sizeof text - 1);
  assert_memory_equal(parsed->results[1].data, text, sizeof text - 1);
  hv_commit_document_free(parsed);
  /* one letter of a string argument changed, a string sent as bytes, a shorter blob */
  memcpy(changed, f->args, sizeof changed);
  memcpy(other_text, text, sizeof text);
  other_text[0] = 'g';
  changed[0].data = (const uint8_t *)other_text;
  e.arguments = changed;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  assert_non_null(strstr(err.message, "arguments_commitment"));
  /* a string argument cut inside a character is no string at all */
  changed[0].data = (const uint8_t *)text;
  changed[0].len--;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_BAD_VALUE);
  memcpy(changed, f->args, sizeof changed);
  changed[0].type = HV_TYPE_BYTES;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  memcpy(changed, f->args, sizeof changed);
  changed[1].len = 0;
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, NULL, NULL, &err),
                   HV_CRYPTO_COMMITMENT_MISMATCH);
  free(doc);
  free(r.encrypted_result);
  free(b64);
}

/* ---- Protocol v1.1 -------------------------------------------------------------------------- */

static void assert_invocation(const char *function_name, const hv_value *args, size_t count,
                              hv_type result_type, const char *want) {
  char *doc = NULL;
  size_t len = 0;
  assert_int_equal(hv_client_invocation_build(function_name, args, count, result_type, &doc, &len,
                                              NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(doc, want);
  assert_int_equal(len, strlen(want));
  free(doc);
}

/* A large bytes argument (written without jansson, hv_client_invocation_build) between other
 * values: the text is exactly jansson's serialisation of the same document. */
static void test_invocation_large_bytes_is_janssons_text(void **state) {
  (void)state;
  size_t n = 300001; /* not a multiple of 3: the padding too */
  uint8_t *blob = malloc(n);
  assert_non_null(blob);
  for (size_t i = 0; i < n; i++) blob[i] = (uint8_t)(i * 131 + (i >> 9));
  const hv_value args[] = {
      hv_value_blob(HV_TYPE_BYTES, blob, n),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x3fb999999999999aull}),
      hv_value_blob(HV_TYPE_BYTES, blob, 0),
      hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"\"\\\n\x01\xe2\x82\xac", 7),
      hv_value_blob(HV_TYPE_BYTES, blob, 2),
  };
  char *b64_big = NULL, *b64_two = NULL, *doc = NULL;
  size_t len = 0;
  assert_int_equal(hv_crypto_base64_encode(blob, n, &b64_big, NULL, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_encode(blob, 2, &b64_two, NULL, NULL), HV_CRYPTO_OK);
  json_t *want = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:f},{s:s,s:s},{s:s,s:s%},{s:s,s:s}],s:[s]}",
                           "function_name", "h\u00e9", "arguments", "type", "bytes", "value",
                           b64_big, "type", "f64", "value", 0.1, "type", "bytes", "value", "",
                           "type", "string", "value", "\"\\\n\x01\xe2\x82\xac", (size_t)7,
                           "type", "bytes", "value", b64_two, "results", "bytes");
  assert_non_null(want);
  char *want_text = json_dumps(want, JSON_COMPACT | JSON_REAL_PRECISION(17));
  assert_int_equal(hv_client_invocation_build("h\xc3\xa9", args, 5, HV_TYPE_BYTES, &doc, &len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(len, strlen(want_text));
  assert_true(strcmp(doc, want_text) == 0);
  free(want_text);
  json_decref(want);
  free(doc);
  free(b64_big);
  free(b64_two);
  free(blob);
}

/* A WASI command's invocation (stdin encoded straight in) is jansson's text of the same document,
 * for a stdin of every length remainder and for none. */
static void test_wasi_invocation_is_janssons_text(void **state) {
  (void)state;
  const char *argv[] = {"wc", "-l", "\"q\"\\\x01\xc3\xa9"};
  static const size_t lens[] = {0, 1, 2, 3, 70000};
  uint8_t *in = malloc(70000);
  assert_non_null(in);
  for (size_t i = 0; i < 70000; i++) in[i] = (uint8_t)(i * 7 + 1);
  for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
    size_t argc = k % 2 ? 3 : 0;
    char *b64 = NULL, *doc = NULL;
    size_t len = 0;
    assert_int_equal(hv_crypto_base64_encode(in, lens[k], &b64, NULL, NULL), HV_CRYPTO_OK);
    json_t *args = json_array();
    for (size_t a = 0; a < argc; a++) json_array_append_new(args, json_string(argv[a]));
    json_t *want = json_pack("{s:s,s:o,s:s}", "function_name", "_start", "argv", args, "stdin", b64);
    char *want_text = json_dumps(want, JSON_COMPACT);
    assert_int_equal(hv_client_wasi_invocation_build(argv, argc, lens[k] ? in : NULL, lens[k],
                                                     &doc, &len, NULL),
                     HV_CRYPTO_OK);
    assert_int_equal(len, strlen(want_text));
    assert_true(strcmp(doc, want_text) == 0);
    free(doc);
    free(want_text);
    json_decref(want);
    free(b64);
  }
  free(in);
}

/* The v1.1 body: the two base64 texts, then the given members, one JSON object as jansson reads
 * it; refusals of what is missing or not an object. */
static void test_request_body_v11(void **state) {
  (void)state;
  hv_client_sealed w = {.base64 = "AAEC", .base64_len = 4}, c = {.base64 = "/w==", .base64_len = 4};
  char *body = NULL;
  size_t len = 0;
  assert_int_equal(hv_client_request_body_v11(&w, &c, "{\"public_key\":\"BA==\",\"gas_limit\":5}",
                                              &body, &len, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(body, "{\"encrypted_wasm\":\"AAEC\",\"encrypted_invocation\":\"/w==\","
                            "\"public_key\":\"BA==\",\"gas_limit\":5}");
  assert_int_equal(len, strlen(body));
  json_t *parsed = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
  assert_non_null(parsed);
  assert_int_equal(json_object_size(parsed), 4);
  json_decref(parsed);
  free(body);
  assert_int_equal(hv_client_request_body_v11(&w, &c, "{}", &body, &len, NULL), HV_CRYPTO_OK);
  assert_string_equal(body, "{\"encrypted_wasm\":\"AAEC\",\"encrypted_invocation\":\"/w==\"}");
  free(body);
  assert_int_equal(hv_client_request_body_v11(&w, &c, NULL, &body, &len, NULL), HV_CRYPTO_OK);
  assert_string_equal(body, "{\"encrypted_wasm\":\"AAEC\",\"encrypted_invocation\":\"/w==\"}");
  free(body);
  hv_crypto_err err;
  assert_int_equal(hv_client_request_body_v11(&w, &c, "[1]", &body, &len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_null(body);
  assert_int_equal(hv_client_request_body_v11(&w, NULL, "{}", &body, &len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
}

static void test_invocation_document(void **state) {
  static const uint8_t blob[] = {0x00, 0xff, 0x10};
  const hv_value args[] = {
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 84}),
      hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"hi", 2),
      hv_value_blob(HV_TYPE_BYTES, blob, sizeof blob),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64, .of.i64 = 9007199254740992LL}),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64, .of.i64 = -5}),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x7ff8000000000001ull}),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0xff800000u}),
      hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F32, .of.f32_bits = 0x3fc00000u}),
      hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"a\0\"\xc3\xa9", 5),
  };
  char *doc = (char *)1;
  size_t len = 3;
  hv_crypto_err err;
  (void)state;

  assert_invocation("add", args, 3, HV_TYPE_BYTES,
                    "{\"function_name\":\"add\",\"arguments\":[{\"type\":\"i32\",\"value\":84},"
                    "{\"type\":\"string\",\"value\":\"hi\"},{\"type\":\"bytes\",\"value\":\"AP8Q\"}],"
                    "\"results\":[\"bytes\"]}");
  assert_invocation("greet", args + 1, 1, HV_TYPE_STRING,
                    "{\"function_name\":\"greet\",\"arguments\":[{\"type\":\"string\","
                    "\"value\":\"hi\"}],\"results\":[\"string\"]}");
  /* numbers in the result document's forms; no `results` without a string or bytes result */
  assert_invocation("f", args + 3, 6, 0,
                    "{\"function_name\":\"f\",\"arguments\":[{\"type\":\"i64\","
                    "\"value\":\"9007199254740992\"},{\"type\":\"i64\",\"value\":-5},"
                    "{\"type\":\"f64\",\"value\":\"nan\"},{\"type\":\"f32\",\"value\":\"-inf\"},"
                    "{\"type\":\"f32\",\"value\":1.5},"
                    "{\"type\":\"string\",\"value\":\"a\\u0000\\\"\xc3\xa9\"}]}");
  assert_invocation("_start", NULL, 0, 0, "{\"function_name\":\"_start\",\"arguments\":[]}");
  /* docs/crypto.md's worked example (text computed with Python's json module) */
  {
    static const uint8_t example_bytes[] = {0x00, 0x01, 0xfe, 0xff};
    const hv_value example[] = {
        hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 42}),
        hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"Gr\xc3\xbc\xc3\x9f" "e, \xe4\xb8\x96\xe7\x95\x8c",
                      15),
        hv_value_blob(HV_TYPE_BYTES, example_bytes, sizeof example_bytes)};
    assert_invocation("greet", example, 3, HV_TYPE_STRING,
                      "{\"function_name\":\"greet\",\"arguments\":[{\"type\":\"i32\",\"value\":42},"
                      "{\"type\":\"string\",\"value\":\"Gr\xc3\xbc\xc3\x9f" "e, \xe4\xb8\x96\xe7\x95\x8c\"},"
                      "{\"type\":\"bytes\",\"value\":\"AAH+/w==\"}],\"results\":[\"string\"]}");
  }
  assert_int_equal(hv_client_invocation_build("f", NULL, 0, 0, &doc, NULL, NULL), HV_CRYPTO_OK);
  free(doc);
  /* refused: a numeric or unknown declared result, text that is not UTF-8, missing pieces */
  assert_int_equal(hv_client_invocation_build("f", args, 1, HVW_TYPE_I32, &doc, &len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_null(doc);
  assert_int_equal(len, 0);
  assert_int_equal(hv_client_invocation_build("f", args, 1, 0x99, &doc, &len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_int_equal(hv_client_invocation_build("f\xff", args, 1, 0, &doc, &len, &err),
                   HV_CRYPTO_BAD_VALUE);
  const hv_value not_utf8 = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"\xe2\x82", 2);
  assert_int_equal(hv_client_invocation_build("f", &not_utf8, 1, 0, &doc, &len, &err),
                   HV_CRYPTO_BAD_VALUE);
  assert_non_null(strstr(err.message, "argument 0"));
  const hv_value ref = {.type = HVW_TYPE_FUNCREF};
  assert_int_equal(hv_client_invocation_build("f", &ref, 1, 0, &doc, &len, &err),
                   HV_CRYPTO_BAD_VALUE);
  assert_int_equal(hv_client_invocation_build(NULL, args, 1, 0, &doc, &len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_int_equal(hv_client_invocation_build("f", NULL, 1, 0, &doc, &len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_null(doc);
}

/* What the server opens from a v1.1 request (decoded from base64 as it arrives). */
static hv_crypto_status server_open_v11(fixture *f, const char *key_id, const char *wasm_b64,
                                        const char *call_b64, const uint8_t *client_key_sec1,
                                        uint8_t **module, size_t *module_len,
                                        uint8_t **call, size_t *call_len, char *used) {
  uint8_t *in = NULL, *ct = NULL;
  size_t in_len = 0, ct_len = 0;
  hpke_public_key *client_pk = NULL;
  hv_crypto_status rc;
  assert_int_equal(hv_crypto_base64_decode(wasm_b64, strlen(wasm_b64), &in, &in_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_decode(call_b64, strlen(call_b64), &ct, &ct_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_public_key_parse(client_key_sec1, HPKE_PUBLIC_KEY_LEN, &client_pk, NULL),
                   HV_CRYPTO_OK);
  rc = hv_keyring_open_request_v11(f->ring, key_id, in, in_len, ct, ct_len, client_pk, module,
                                   module_len, call, call_len, used, NULL);
  hpke_public_key_free(client_pk);
  free(in);
  free(ct);
  return rc;
}

/* The whole v1.1 exchange without HTTP: invocation document, one context for module and
 * invocation, the server's open, a string result, the client's check. */
static void test_v11_round_trip(void **state) {
  fixture *f = *state;
  static const uint8_t secret[] = {0xde, 0xad, 0x00, 0xbe, 0xef};
  char *invocation = NULL;
  size_t invocation_len = 0;
  hv_client_sealed w, c;
  uint8_t *module = NULL, *call = NULL, *sealed_result = NULL, *doc = NULL;
  size_t module_len = 0, call_len = 0, sealed_result_len = 0, doc_len = 0, result_len = 0;
  char used[HV_KEY_ID_LEN + 1];
  char program_sha256[HV_COMMIT_HEX_LEN + 1];
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  char *result_doc = NULL, *result_b64 = NULL;
  response r;
  hpke_public_key *client_pk = NULL;
  hv_result_document *parsed = NULL;
  hv_client_expected e;

  f->args[0] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"ping", 4);
  f->args[1] = hv_value_blob(HV_TYPE_BYTES, secret, sizeof secret);
  f->arg_count = 2;
  f->results[0] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"pong \xe2\x9c\x93", 8);
  f->result_count = 1;
  assert_int_equal(hv_client_invocation_build("echo", f->args, 2, HV_TYPE_STRING, &invocation,
                                              &invocation_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_client_seal_request_v11(f->client, f->server.public_key, HPKE_PUBLIC_KEY_LEN,
                                              wasm, sizeof wasm, (const uint8_t *)invocation,
                                              invocation_len, &w, &c, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(w.len, HPKE_ENC_LEN + sizeof wasm + HPKE_TAG_LEN);
  assert_int_equal(c.len, invocation_len + HPKE_TAG_LEN);
  assert_int_equal(strlen(w.base64), w.base64_len);
  assert_int_equal(strlen(c.base64), c.base64_len);
  /* nothing of the invocation travels in clear */
  assert_null(memmem(c.bytes, c.len, "echo", 4));

  assert_int_equal(server_open_v11(f, f->server.key_id, w.base64, c.base64,
                                   hv_client_key_public(f->client), &module, &module_len, &call,
                                   &call_len, used),
                   HV_CRYPTO_OK);
  assert_string_equal(used, f->server.key_id);
  assert_int_equal(module_len, sizeof wasm);
  assert_memory_equal(module, wasm, sizeof wasm);
  assert_int_equal(call_len, invocation_len);
  assert_string_equal((const char *)call, invocation);

  /* the server runs "echo" and answers with a string */
  memset(&r, 0, sizeof r);
  assert_int_equal(hv_commit_nonce(nonce, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_commit_sha256_hex(module, module_len, program_sha256, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_commit_document_build(REQUEST_ID, "echo", f->results, 1, program_sha256,
                                            nonce, &result_doc, &result_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_result((const uint8_t *)result_doc, result_len, r.result_commitment,
                                    NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_program(nonce, module, module_len, r.program_commitment, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_commit_arguments(nonce, f->args, 2, r.arguments_commitment, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_public_key_parse(hv_client_key_public(f->client), HPKE_PUBLIC_KEY_LEN,
                                         &client_pk, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_seal_response(client_pk, REQUEST_ID, (const uint8_t *)result_doc,
                                           result_len, &sealed_result, &sealed_result_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_encode(sealed_result, sealed_result_len, &result_b64, NULL,
                                           NULL),
                   HV_CRYPTO_OK);

  /* the client opens and checks */
  assert_int_equal(hv_client_open_response_base64(f->client, REQUEST_ID, result_b64,
                                                  strlen(result_b64), &doc, &doc_len, NULL),
                   HV_CRYPTO_OK);
  e = expectation(f, &r);
  e.function_name = "echo";
  assert_int_equal(hv_client_check_result(doc, doc_len, &e, &parsed, NULL, NULL), HV_CRYPTO_OK);
  assert_int_equal(parsed->results[0].type, HV_TYPE_STRING);
  assert_string_equal((const char *)parsed->results[0].data, "pong \xe2\x9c\x93");

  hv_commit_document_free(parsed);
  free(doc);
  free(result_b64);
  free(sealed_result);
  hpke_public_key_free(client_pk);
  free(result_doc);
  free(module);
  free(call);
  free(invocation);
  hv_client_sealed_free(&w);
  hv_client_sealed_free(&c);
}

/* hv_client_seal_request_body_v11: the body's two base64 texts, sealed and encoded in place in
 * one buffer, open on the server's side to the module and invocation, for lengths with every
 * remainder modulo 3 (the in-place encoding's tails); the members follow them. */
static void test_v11_body_in_one_buffer(void **state) {
  fixture *f = *state;
  static const size_t lens[] = {0, 1, 2, 3, 100, 4097, 70001};
  uint8_t *big = malloc(70001);
  assert_non_null(big);
  for (size_t i = 0; i < 70001; i++) big[i] = (uint8_t)(i * 29 + 3);
  for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++) {
    size_t invocation_len = lens[(a + 3) % (sizeof lens / sizeof lens[0])];
    char *body = NULL;
    size_t body_len = 0;
    assert_int_equal(hv_client_seal_request_body_v11(f->client, f->server.public_key,
                                                     HPKE_PUBLIC_KEY_LEN, big, lens[a], big + 7,
                                                     invocation_len, "{\"key_id\":\"x\"}", &body,
                                                     &body_len, NULL),
                     HV_CRYPTO_OK);
    assert_int_equal(body_len, strlen(body));
    json_t *o = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(json_string_value(json_object_get(o, "key_id")), "x");
    uint8_t *module = NULL, *call = NULL;
    size_t module_len = 0, call_len = 0;
    char used[HV_KEY_ID_LEN + 1];
    assert_int_equal(server_open_v11(f, f->server.key_id,
                                     json_string_value(json_object_get(o, "encrypted_wasm")),
                                     json_string_value(json_object_get(o, "encrypted_invocation")),
                                     hv_client_key_public(f->client), &module, &module_len, &call,
                                     &call_len, used),
                     HV_CRYPTO_OK);
    assert_int_equal(module_len, lens[a]);
    assert_int_equal(call_len, invocation_len);
    if (lens[a] > 0) assert_memory_equal(module, big, lens[a]);
    if (invocation_len > 0) assert_memory_equal(call, big + 7, invocation_len);
    free(module);
    free(call);
    json_decref(o);
    free(body);
  }
  char *body = (char *)1;
  assert_int_equal(hv_client_seal_request_body_v11(f->client, f->server.public_key,
                                                   HPKE_PUBLIC_KEY_LEN, big, 1, big, 1, "[]", &body,
                                                   NULL, NULL),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_null(body);
  free(big);
}

/* A v1.1 request is bound to its client key, its key and its order, and opens without a key_id. */
static void test_v11_binding(void **state) {
  fixture *f = *state;
  const char *invocation = "{\"function_name\":\"add\",\"arguments\":[]}";
  hv_client_sealed w, c, w2, c2;
  hv_client_key *mallory = NULL;
  uint8_t *module = (uint8_t *)1, *call = (uint8_t *)1;
  size_t module_len = 0, call_len = 0;
  char used[HV_KEY_ID_LEN + 1];
  char *swapped_wasm = NULL, *swapped_call = NULL;
  uint8_t *buf = NULL;
  hv_crypto_err err;

  assert_int_equal(hv_client_seal_request_v11(f->client, f->server.public_key, HPKE_PUBLIC_KEY_LEN,
                                              wasm, sizeof wasm, (const uint8_t *)invocation,
                                              strlen(invocation), &w, &c, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_client_seal_request_v11(f->client, f->server.public_key, HPKE_PUBLIC_KEY_LEN,
                                              wasm, sizeof wasm, (const uint8_t *)invocation,
                                              strlen(invocation), &w2, &c2, NULL),
                   HV_CRYPTO_OK);
  /* without a key_id */
  assert_int_equal(server_open_v11(f, NULL, w.base64, c.base64, hv_client_key_public(f->client),
                                   &module, &module_len, &call, &call_len, used),
                   HV_CRYPTO_OK);
  assert_string_equal(used, f->server.key_id);
  free(module);
  free(call);
  /* another client's key as public_key */
  assert_int_equal(hv_client_key_generate(&mallory, NULL), HV_CRYPTO_OK);
  assert_int_equal(server_open_v11(f, NULL, w.base64, c.base64, hv_client_key_public(mallory),
                                   &module, &module_len, &call, &call_len, used),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_null(module);
  assert_null(call);
  /* the invocation of another request of the same client */
  assert_int_equal(server_open_v11(f, NULL, w.base64, c2.base64, hv_client_key_public(f->client),
                                   &module, &module_len, &call, &call_len, used),
                   HV_CRYPTO_DECRYPT_FAILED);
  /* the two ciphertexts swapped (enc kept in front) */
  buf = malloc(HPKE_ENC_LEN + c.len);
  assert_non_null(buf);
  memcpy(buf, w.bytes, HPKE_ENC_LEN);
  memcpy(buf + HPKE_ENC_LEN, c.bytes, c.len);
  assert_int_equal(hv_crypto_base64_encode(buf, HPKE_ENC_LEN + c.len, &swapped_wasm, NULL, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_encode(w.bytes + HPKE_ENC_LEN, w.len - HPKE_ENC_LEN,
                                           &swapped_call, NULL, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(server_open_v11(f, NULL, swapped_wasm, swapped_call,
                                   hv_client_key_public(f->client), &module, &module_len, &call,
                                   &call_len, used),
                   HV_CRYPTO_DECRYPT_FAILED);
  /* a bad server key is refused before anything is sealed */
  uint8_t bad_key[HPKE_PUBLIC_KEY_LEN];
  memcpy(bad_key, f->server.public_key, sizeof bad_key);
  bad_key[40] ^= 1;
  hv_client_sealed_free(&w2);
  hv_client_sealed_free(&c2);
  assert_int_equal(hv_client_seal_request_v11(f->client, bad_key, sizeof bad_key, wasm,
                                              sizeof wasm, (const uint8_t *)invocation,
                                              strlen(invocation), &w2, &c2, &err),
                   HV_CRYPTO_BAD_PUBLIC_KEY);
  assert_null(w2.bytes);
  assert_null(c2.base64);
  assert_int_equal(hv_client_seal_request_v11(NULL, f->server.public_key, HPKE_PUBLIC_KEY_LEN,
                                              wasm, sizeof wasm, NULL, 0, &w2, &c2, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  free(buf);
  free(swapped_wasm);
  free(swapped_call);
  hv_client_key_free(mallory);
  hv_client_sealed_free(&w);
  hv_client_sealed_free(&c);
}

/* Seals pt as an error document for the client with aad = aad_id, in base64. */
static char *seal_error_document(const fixture *f, const char *aad_id, const char *info,
                                 const char *pt, size_t pt_len) {
  hpke_public_key *client_pk = NULL;
  uint8_t *sealed = NULL;
  size_t sealed_len = 0;
  char *b64 = NULL;
  assert_int_equal(hpke_public_key_parse(hv_client_key_public(f->client), HPKE_PUBLIC_KEY_LEN,
                                         &client_pk, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_seal_base(HPKE_SUITE_PROTOCOL, client_pk, (const uint8_t *)info,
                                  strlen(info), (const uint8_t *)aad_id, strlen(aad_id),
                                  (const uint8_t *)pt, pt_len, &sealed, &sealed_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_encode(sealed, sealed_len, &b64, NULL, NULL), HV_CRYPTO_OK);
  free(sealed);
  hpke_public_key_free(client_pk);
  return b64;
}

static void assert_error_refused(const fixture *f, const hv_client_key *key, const char *rid,
                                 const char *b64, hv_crypto_status want) {
  char *code = (char *)1, *message = (char *)1;
  hv_crypto_err err;
  assert_int_equal(hv_client_open_error_base64(key, rid, b64, strlen(b64), &code, &message, &err),
                   want);
  assert_int_equal(err.status, want);
  assert_null(code);
  assert_null(message);
  (void)f;
}

static void test_sealed_error(void **state) {
  fixture *f = *state;
  hpke_public_key *client_pk = NULL;
  uint8_t *sealed = NULL;
  size_t sealed_len = 0;
  char *b64 = NULL, *code = NULL, *message = NULL, *other_b64 = NULL;
  hv_client_key *other = NULL;
  const char *detail = "the program trapped in \"add\": integer divide by zero\n\xc3\xa9";

  assert_int_equal(hpke_public_key_parse(hv_client_key_public(f->client), HPKE_PUBLIC_KEY_LEN,
                                         &client_pk, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_seal_error(client_pk, REQUEST_ID, "EXECUTION_TRAP", detail, &sealed,
                                        &sealed_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hv_crypto_base64_encode(sealed, sealed_len, &b64, NULL, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_client_open_error_base64(f->client, REQUEST_ID, b64, strlen(b64), &code,
                                               &message, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(code, "EXECUTION_TRAP");
  assert_string_equal(message, detail);
  free(code);
  free(message);
  /* the reply's request_id is the aad: another one does not open */
  assert_error_refused(f, f->client, "another-request", b64, HV_CRYPTO_DECRYPT_FAILED);
  /* another client */
  assert_int_equal(hv_client_key_generate(&other, NULL), HV_CRYPTO_OK);
  assert_error_refused(f, other, REQUEST_ID, b64, HV_CRYPTO_DECRYPT_FAILED);
  /* a document naming another request, sealed with this reply's aad */
  const char *for_x = "{\"request_id\":\"x\",\"error_code\":\"E\",\"message\":\"m\"}";
  other_b64 = seal_error_document(f, REQUEST_ID, HV_PROTOCOL_ERROR_INFO, for_x, strlen(for_x));
  assert_error_refused(f, f->client, REQUEST_ID, other_b64, HV_CRYPTO_DOCUMENT_MISMATCH);
  free(other_b64);
  /* a result sealed as a response is not an error */
  const char *good = "{\"request_id\":\"" REQUEST_ID "\",\"error_code\":\"E\",\"message\":\"m\"}";
  other_b64 = seal_error_document(f, REQUEST_ID, HV_PROTOCOL_RESPONSE_INFO, good, strlen(good));
  assert_error_refused(f, f->client, REQUEST_ID, other_b64, HV_CRYPTO_DECRYPT_FAILED);
  free(other_b64);
  /* malformed documents */
  static const char *const malformed[] = {
      "not json",
      "[]",
      "{\"request_id\":\"" REQUEST_ID "\",\"error_code\":\"E\"}",
      "{\"request_id\":\"" REQUEST_ID "\",\"error_code\":7,\"message\":\"m\"}",
      "{\"request_id\":\"" REQUEST_ID "\",\"error_code\":\"E\",\"message\":\"a\\u0000b\"}",
      "{\"request_id\":\"" REQUEST_ID "\",\"error_code\":\"E\",\"message\":\"m\",\"message\":\"n\"}",
  };
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    other_b64 = seal_error_document(f, REQUEST_ID, HV_PROTOCOL_ERROR_INFO, malformed[i],
                                    strlen(malformed[i]));
    assert_error_refused(f, f->client, REQUEST_ID, other_b64, HV_CRYPTO_BAD_DOCUMENT);
    free(other_b64);
  }
  /* unknown members are ignored */
  const char *extra = "{\"request_id\":\"" REQUEST_ID "\",\"error_code\":\"E\",\"message\":\"m\","
                      "\"hint\":1}";
  other_b64 = seal_error_document(f, REQUEST_ID, HV_PROTOCOL_ERROR_INFO, extra, strlen(extra));
  assert_int_equal(hv_client_open_error_base64(f->client, REQUEST_ID, other_b64,
                                               strlen(other_b64), &code, &message, NULL),
                   HV_CRYPTO_OK);
  assert_string_equal(message, "m");
  free(code);
  free(message);
  free(other_b64);
  /* too large, bad base64 */
  {
    size_t n = HV_CLIENT_MAX_ERROR_DOCUMENT + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    other_b64 = seal_error_document(f, REQUEST_ID, HV_PROTOCOL_ERROR_INFO, big, n);
    assert_error_refused(f, f->client, REQUEST_ID, other_b64, HV_CRYPTO_BAD_DOCUMENT);
    free(other_b64);
    free(big);
  }
  assert_error_refused(f, f->client, REQUEST_ID, "not base64!", HV_CRYPTO_BAD_BASE64);
  hv_client_key_free(other);
  free(b64);
  free(sealed);
  hpke_public_key_free(client_pk);
}

static void test_seal_rejects_bad_server_key(void **state) {
  fixture *f = *state;
  hv_client_sealed req;
  hv_crypto_err err;
  uint8_t key[HPKE_PUBLIC_KEY_LEN];
  memcpy(key, f->server.public_key, sizeof key);
  key[40] ^= 1;
  assert_int_equal(hv_client_seal_request(f->client, key, sizeof key, "add", wasm, sizeof wasm,
                                          &req, &err),
                   HV_CRYPTO_BAD_PUBLIC_KEY);
  assert_null(req.bytes);
  assert_null(req.base64);
  assert_int_equal(hv_client_seal_request(f->client, key, 33, "add", wasm, sizeof wasm, &req,
                                          &err),
                   HV_CRYPTO_BAD_PUBLIC_KEY);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_round_trip_sec1_with_key_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_round_trip_der_without_key_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampered_request, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_aad, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_key_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_response_binding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_check_result_mismatches, setup, teardown),
      cmocka_unit_test_setup_teardown(test_round_trip_strings_and_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seal_rejects_bad_server_key, setup, teardown),
      cmocka_unit_test(test_invocation_document),
      cmocka_unit_test(test_invocation_large_bytes_is_janssons_text),
      cmocka_unit_test(test_request_body_v11),
      cmocka_unit_test(test_wasi_invocation_is_janssons_text),
      cmocka_unit_test_setup_teardown(test_v11_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_v11_body_in_one_buffer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_v11_binding, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sealed_error, setup, teardown),
  };
  return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
