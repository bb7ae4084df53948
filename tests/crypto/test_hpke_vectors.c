/*
 * The RFC 9180 test vectors for DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 (base and psk modes;
 * AES-128-GCM, AES-256-GCM, export-only), every value reproduced byte for byte: the derived key
 * pairs, enc, the shared secret, every key-schedule output, each of the 257 nonces and
 * ciphertexts (and their decryption), and each export on both sides.
 *
 * Multi-message contexts (RFC 9180 §5.2, which protocol v1.1 relies on: the module and the
 * invocation are messages 0 and 1 of one context): the AEAD vectors list their encryptions at
 * sequence numbers 0 to 256 in order, and every one is sealed on one sender context and opened
 * on one recipient context, each advanced message by message; a fresh recipient then opens them
 * again alone, and refuses each one offered a sequence number early.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "crypto_int.h"

#define VECTOR_COUNT 6

static json_t *vectors;
static size_t encryptions_checked;
static size_t exports_checked;
static size_t sequence_checked; /* messages opened by a lone recipient, only in order */

typedef struct bytes {
  uint8_t *data;
  size_t len;
} bytes;

/* The hex string member key of obj, decoded (empty strings give a zero-length buffer). */
static bytes field(const json_t *obj, const char *key) {
  const json_t *j = json_object_get(obj, key);
  bytes b = {NULL, 0};
  assert_non_null(j);
  assert_true(json_is_string(j));
  b.len = json_string_length(j) / 2;
  b.data = malloc(b.len + 1);
  assert_non_null(b.data);
  assert_int_equal(hv_crypto_hex_decode(json_string_value(j), json_string_length(j), b.data, b.len,
                                        NULL),
                   HV_CRYPTO_OK);
  return b;
}

static void assert_bytes(const uint8_t *got, size_t got_len, bytes want) {
  assert_int_equal(got_len, want.len);
  assert_memory_equal(got, want.data, want.len);
}

/* HV_TESTDATA/hpke/hpke-p256-vectors.json: the environment's HV_TESTDATA (CTest sets it), else the
 * folder configured at build time. */
static char vectors_path[4096];

static int load_vectors(void **state) {
  json_error_t jerr;

  (void)state;
  vectors = json_load_file(vectors_path, 0, &jerr);
  if (vectors == NULL)
    fprintf(stderr, "cannot load %s: %s\n", vectors_path, jerr.text);
  return vectors == NULL ? -1 : 0;
}

static int free_vectors(void **state) {
  (void)state;
  json_decref(vectors);
  printf("[ INFO     ] checked %zu encryptions and %zu exports across %d vectors; a lone recipient "
         "opened %zu messages only in sequence order\n",
         encryptions_checked, exports_checked, VECTOR_COUNT, sequence_checked);
  return 0;
}

static uint16_t u16(const json_t *v, const char *key) {
  json_int_t n = json_integer_value(json_object_get(v, key));
  assert_in_range(n, 0, 0xFFFF);
  return (uint16_t)n;
}

static void test_file_shape(void **state) {
  (void)state;
  assert_true(json_is_array(vectors));
  assert_int_equal(json_array_size(vectors), VECTOR_COUNT);
  for (size_t i = 0; i < VECTOR_COUNT; i++) {
    const json_t *v = json_array_get(vectors, i);
    size_t want = u16(v, "aead_id") == HPKE_AEAD_EXPORT_ONLY ? 0 : 257;
    assert_int_equal(u16(v, "kem_id"), HPKE_KEM_P256_HKDF_SHA256);
    assert_int_equal(u16(v, "kdf_id"), HPKE_KDF_HKDF_SHA256);
    assert_int_equal(json_array_size(json_object_get(v, "encryptions")), want);
    assert_int_equal(json_array_size(json_object_get(v, "exports")), 3);
  }
}

/* DeriveKeyPair(ikm) gives exactly (sk, pk). */
static hpke_private_key *check_derive(const json_t *v, const char *ikm_key, const char *sk_key,
                                      const char *pk_key) {
  bytes ikm = field(v, ikm_key), sk = field(v, sk_key), pk = field(v, pk_key);
  hpke_private_key *key = NULL;
  uint8_t exported[HPKE_PRIVATE_KEY_LEN];

  assert_int_equal(hpke_derive_key_pair(ikm.data, ikm.len, &key, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_private_key_export(key, exported, NULL), HV_CRYPTO_OK);
  assert_bytes(exported, sizeof exported, sk);
  assert_bytes(hpke_private_key_public(key), HPKE_PUBLIC_KEY_LEN, pk);
  free(ikm.data);
  free(sk.data);
  free(pk.data);
  return key;
}

/* Encap with ikmE, Decap with skR and KeySchedule give the vector's intermediate values. */
static void check_kem_and_schedule(const json_t *v, const hpke_setup_params *params,
                                   const hpke_public_key *pkR, const hpke_private_key *skR) {
  bytes ikm_e = field(v, "ikmE"), enc = field(v, "enc"), ss = field(v, "shared_secret");
  bytes ksc = field(v, "key_schedule_context"), secret = field(v, "secret");
  bytes key = field(v, "key"), nonce = field(v, "base_nonce"), exp = field(v, "exporter_secret");
  uint8_t got_enc[HPKE_ENC_LEN], got_ss[HPKE_SECRET_LEN];
  hpke__schedule sched;

  assert_int_equal(hpke__encap(pkR, ikm_e.data, ikm_e.len, got_enc, got_ss, NULL), HV_CRYPTO_OK);
  assert_bytes(got_enc, sizeof got_enc, enc);
  assert_bytes(got_ss, sizeof got_ss, ss);
  memset(got_ss, 0, sizeof got_ss);
  assert_int_equal(hpke__decap(skR, enc.data, enc.len, got_ss, NULL), HV_CRYPTO_OK);
  assert_bytes(got_ss, sizeof got_ss, ss);
  assert_int_equal(hpke__key_schedule(params, got_ss, &sched, NULL), HV_CRYPTO_OK);
  assert_bytes(sched.key_schedule_context, sizeof sched.key_schedule_context, ksc);
  assert_bytes(sched.secret, sizeof sched.secret, secret);
  assert_bytes(sched.key, sched.key_len, key);
  assert_bytes(sched.base_nonce, sched.nonce_len, nonce);
  assert_bytes(sched.exporter_secret, sizeof sched.exporter_secret, exp);
  bytes all[] = {ikm_e, enc, ss, ksc, secret, key, nonce, exp};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    free(all[i].data);
}

static void check_encryptions(const json_t *v, hpke_ctx *sender, hpke_ctx *recipient) {
  const json_t *list = json_object_get(v, "encryptions");

  for (size_t i = 0; i < json_array_size(list); i++) {
    const json_t *e = json_array_get(list, i);
    bytes aad = field(e, "aad"), pt = field(e, "pt"), ct = field(e, "ct"), nonce = field(e, "nonce");
    uint8_t got_nonce[HPKE_NONCE_LEN];
    uint8_t *got_ct = malloc(pt.len + HPKE_TAG_LEN);
    uint8_t *got_pt = malloc(ct.len);
    size_t got_pt_len = 0;

    assert_non_null(got_ct);
    assert_non_null(got_pt);
    /* message i is sealed and opened at sequence number i of the two contexts */
    assert_int_equal(sender->seq, i);
    assert_int_equal(recipient->seq, i);
    hpke__compute_nonce(sender, got_nonce);
    assert_bytes(got_nonce, sizeof got_nonce, nonce);
    assert_int_equal(hpke_seal(sender, aad.data, aad.len, pt.data, pt.len, got_ct, NULL),
                     HV_CRYPTO_OK);
    assert_bytes(got_ct, pt.len + HPKE_TAG_LEN, ct);
    assert_int_equal(hpke_open(recipient, aad.data, aad.len, ct.data, ct.len, got_pt, &got_pt_len,
                               NULL),
                     HV_CRYPTO_OK);
    assert_bytes(got_pt, got_pt_len, pt);
    encryptions_checked++;
    free(got_ct);
    free(got_pt);
    free(aad.data);
    free(pt.data);
    free(ct.data);
    free(nonce.data);
  }
}

/* The vector's encryptions list sequence numbers 0, 1, 2, ... in order: nonce i is
 * base_nonce XOR i (RFC 9180 §5.2, ComputeNonce). */
static void check_sequence_numbers(const json_t *v) {
  const json_t *list = json_object_get(v, "encryptions");
  bytes base = field(v, "base_nonce");

  assert_int_equal(base.len, HPKE_NONCE_LEN);
  for (size_t i = 0; i < json_array_size(list); i++) {
    bytes nonce = field(json_array_get(list, i), "nonce");
    uint64_t seq = 0;
    assert_int_equal(nonce.len, HPKE_NONCE_LEN);
    for (size_t k = 0; k < HPKE_NONCE_LEN - 8; k++)
      assert_int_equal(nonce.data[k], base.data[k]);
    for (size_t k = HPKE_NONCE_LEN - 8; k < HPKE_NONCE_LEN; k++)
      seq = (seq << 8) | (uint8_t)(nonce.data[k] ^ base.data[k]);
    assert_int_equal(seq, i);
    free(nonce.data);
  }
  free(base.data);
}

/* A fresh recipient context alone (as a server has it) opens the vector's ciphertexts only in
 * their order: the ciphertext of message i + 1 offered at sequence number i fails and leaves the
 * sequence number where it was; then message i opens. */
static void check_open_in_order_only(const json_t *v, const hpke_setup_params *params,
                                     const hpke_private_key *skR) {
  const json_t *list = json_object_get(v, "encryptions");
  bytes enc = field(v, "enc");
  hpke_ctx *recipient = NULL;
  hv_crypto_err err;

  assert_int_equal(hpke_setup_recipient(params, skR, enc.data, enc.len, &recipient, &err),
                   HV_CRYPTO_OK);
  for (size_t i = 0; i < json_array_size(list); i++) {
    const json_t *e = json_array_get(list, i);
    bytes aad = field(e, "aad"), pt = field(e, "pt"), ct = field(e, "ct");
    uint8_t *got_pt = malloc(ct.len);
    size_t got_pt_len = 0;

    assert_non_null(got_pt);
    if (i + 1 < json_array_size(list)) {
      const json_t *next = json_array_get(list, i + 1);
      bytes next_aad = field(next, "aad"), next_ct = field(next, "ct");
      uint8_t *scratch = malloc(next_ct.len);
      size_t scratch_len = 7;
      assert_non_null(scratch);
      assert_int_equal(hpke_open(recipient, next_aad.data, next_aad.len, next_ct.data,
                                 next_ct.len, scratch, &scratch_len, &err),
                       HV_CRYPTO_DECRYPT_FAILED);
      assert_int_equal(scratch_len, 0);
      assert_int_equal(recipient->seq, i);
      free(scratch);
      free(next_aad.data);
      free(next_ct.data);
    }
    assert_int_equal(hpke_open(recipient, aad.data, aad.len, ct.data, ct.len, got_pt, &got_pt_len,
                               &err),
                     HV_CRYPTO_OK);
    assert_bytes(got_pt, got_pt_len, pt);
    assert_int_equal(recipient->seq, i + 1);
    sequence_checked++;
    free(got_pt);
    free(aad.data);
    free(pt.data);
    free(ct.data);
  }
  hpke_ctx_free(recipient);
  free(enc.data);
}

static void check_exports(const json_t *v, const hpke_ctx *sender, const hpke_ctx *recipient) {
  const json_t *list = json_object_get(v, "exports");

  for (size_t i = 0; i < json_array_size(list); i++) {
    const json_t *e = json_array_get(list, i);
    bytes context = field(e, "exporter_context"), want = field(e, "exported_value");
    size_t L = (size_t)json_integer_value(json_object_get(e, "L"));
    uint8_t got[64];

    assert_int_equal(L, want.len);
    assert_true(L <= sizeof got);
    assert_int_equal(hpke_export(sender, context.data, context.len, got, L, NULL), HV_CRYPTO_OK);
    assert_bytes(got, L, want);
    memset(got, 0, sizeof got);
    assert_int_equal(hpke_export(recipient, context.data, context.len, got, L, NULL),
                     HV_CRYPTO_OK);
    assert_bytes(got, L, want);
    exports_checked++;
    free(context.data);
    free(want.data);
  }
}

static void test_vector(void **state) {
  static const uint16_t modes[VECTOR_COUNT] = {1, 0, 0, 1, 0, 1};
  static const uint16_t aeads[VECTOR_COUNT] = {1, 1, 2, 2, 0xFFFF, 0xFFFF};
  const size_t index = *(const size_t *)*state;
  const json_t *v = json_array_get(vectors, index);

  assert_int_equal(u16(v, "mode"), modes[index]); /* the test's name says so */
  assert_int_equal(u16(v, "aead_id"), aeads[index]);
  bytes info = field(v, "info"), ikm_e = field(v, "ikmE"), pk_rm = field(v, "pkRm");
  bytes enc = field(v, "enc");
  bytes psk = {NULL, 0}, psk_id = {NULL, 0};
  hpke_private_key *skE = NULL, *skR = NULL;
  hpke_public_key *pkR = NULL;
  hpke_ctx *sender = NULL, *recipient = NULL;
  uint8_t got_enc[HPKE_ENC_LEN];
  hv_crypto_err err;

  if (json_object_get(v, "psk") != NULL) {
    psk = field(v, "psk");
    psk_id = field(v, "psk_id");
  }
  const hpke_setup_params params = {
      .suite = {u16(v, "kem_id"), u16(v, "kdf_id"), u16(v, "aead_id")},
      .mode = (hpke_mode)u16(v, "mode"),
      .info = info.data, .info_len = info.len,
      .psk = psk.data, .psk_len = psk.len, .psk_id = psk_id.data, .psk_id_len = psk_id.len,
      .ikm_e = ikm_e.data, .ikm_e_len = ikm_e.len};

  skE = check_derive(v, "ikmE", "skEm", "pkEm");
  skR = check_derive(v, "ikmR", "skRm", "pkRm");
  assert_int_equal(hpke_public_key_parse(pk_rm.data, pk_rm.len, &pkR, NULL), HV_CRYPTO_OK);
  check_kem_and_schedule(v, &params, pkR, skR);

  assert_int_equal(hpke_setup_sender(&params, pkR, got_enc, &sender, &err), HV_CRYPTO_OK);
  assert_bytes(got_enc, sizeof got_enc, enc);
  assert_int_equal(hpke_setup_recipient(&params, skR, enc.data, enc.len, &recipient, &err),
                   HV_CRYPTO_OK);
  check_encryptions(v, sender, recipient);
  assert_int_equal(sender->seq, json_array_size(json_object_get(v, "encryptions")));
  assert_int_equal(recipient->seq, sender->seq);
  check_exports(v, sender, recipient);
  if (params.suite.aead_id != HPKE_AEAD_EXPORT_ONLY) {
    check_sequence_numbers(v);
    check_open_in_order_only(v, &params, skR);
  }
  if (params.suite.aead_id == HPKE_AEAD_EXPORT_ONLY) {
    uint8_t ct[HPKE_TAG_LEN + 1];
    assert_int_equal(hpke_seal(sender, NULL, 0, (const uint8_t *)"x", 1, ct, &err),
                     HV_CRYPTO_UNSUPPORTED);
  }

  hpke_ctx_free(sender);
  hpke_ctx_free(recipient);
  hpke_public_key_free(pkR);
  hpke_private_key_free(skE);
  hpke_private_key_free(skR);
  free(info.data);
  free(ikm_e.data);
  free(pk_rm.data);
  free(enc.data);
  free(psk.data);
  free(psk_id.data);
}

/* CTest's SKIP_RETURN_CODE for this test (tests/crypto/CMakeLists.txt). */
#define EXIT_SKIPPED 77

int main(void) {
  static const size_t index[VECTOR_COUNT] = {0, 1, 2, 3, 4, 5};
  const char *dir = getenv("HV_TESTDATA");
  FILE *probe;
  /* Named after the file's order: (mode, aead) = (psk, 1) (base, 1) (base, 2) (psk, 2)
   * (base, export-only) (psk, export-only). */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_file_shape),
      {"vector_0_psk_aes128gcm", test_vector, NULL, NULL, (void *)&index[0]},
      {"vector_1_base_aes128gcm", test_vector, NULL, NULL, (void *)&index[1]},
      {"vector_2_base_aes256gcm", test_vector, NULL, NULL, (void *)&index[2]},
      {"vector_3_psk_aes256gcm", test_vector, NULL, NULL, (void *)&index[3]},
      {"vector_4_base_export_only", test_vector, NULL, NULL, (void *)&index[4]},
      {"vector_5_psk_export_only", test_vector, NULL, NULL, (void *)&index[5]},
  };

  if (dir == NULL || dir[0] == '\0')
    dir = HV_TESTDATA_DEFAULT;
  snprintf(vectors_path, sizeof vectors_path, "%s/hpke/hpke-p256-vectors.json", dir);
  /* No file there (no test data at all, or no hpke/ in it) is a skip; a file that cannot be read
   * or parsed fails in load_vectors. */
  probe = fopen(vectors_path, "r");
  if (probe == NULL && (errno == ENOENT || errno == ENOTDIR)) {
    printf("crypto_hpke_vectors skipped: no RFC 9180 vectors at %s (set HV_TESTDATA to a folder "
           "with hpke/)\n",
           vectors_path);
    return EXIT_SKIPPED;
  }
  if (probe != NULL)
    fclose(probe);
  return cmocka_run_group_tests_name("hpke_vectors", tests, load_vectors, free_vectors);
}
