/*
 * HPKE against hostile input: every malformed key, enc, ciphertext, tag or aad gives a clean
 * error of the ENCRYPTION class (never a crash, never plaintext), and OpenSSL's error queue is
 * left empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "hv_crypto.h"

#define INFO ((const uint8_t *)"test info")
#define INFO_LEN 9
#define AAD ((const uint8_t *)"test aad")
#define AAD_LEN 8

typedef struct fixture {
  hpke_private_key *sk;
  hpke_public_key *pk;
  uint8_t *sealed; /* SealBase(pk, INFO, AAD, "hello, hostile world") */
  size_t sealed_len;
} fixture;

static const char message[] = "hello, hostile world";

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL || hpke_private_key_generate(&f->sk, NULL) != HV_CRYPTO_OK ||
      hpke_public_key_parse(hpke_private_key_public(f->sk), HPKE_PUBLIC_KEY_LEN, &f->pk, NULL) !=
          HV_CRYPTO_OK ||
      hpke_seal_base(HPKE_SUITE_PROTOCOL, f->pk, INFO, INFO_LEN, AAD, AAD_LEN,
                     (const uint8_t *)message, sizeof message - 1, &f->sealed, &f->sealed_len,
                     NULL) != HV_CRYPTO_OK)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hpke_private_key_free(f->sk);
  hpke_public_key_free(f->pk);
  free(f->sealed);
  free(f);
  return 0;
}

/* A failure with status want, of the ENCRYPTION class, and an empty OpenSSL queue. */
static void assert_encryption_error(hv_crypto_status got, const hv_crypto_err *err,
                                    hv_crypto_status want) {
  assert_int_equal(got, want);
  assert_int_equal(err->status, want);
  assert_true(err->message[0] != '\0');
  assert_int_equal(hv_crypto_status_class(got), HV_CRYPTO_CLASS_ENCRYPTION);
  assert_int_equal(ERR_peek_error(), 0);
}

static void assert_bad_public_key(const uint8_t *in, size_t len) {
  hpke_public_key *pk = (hpke_public_key *)1;
  hv_crypto_err err;
  assert_encryption_error(hpke_public_key_parse(in, len, &pk, &err), &err,
                          HV_CRYPTO_BAD_PUBLIC_KEY);
  assert_null(pk);
}

/* Opens f->sealed changed by mutate (or cut to len) and expects status want and no output. */
static void assert_open_fails(const uint8_t *in, size_t len, const hpke_private_key *sk,
                              const uint8_t *info, size_t info_len, const uint8_t *aad,
                              size_t aad_len, hv_crypto_status want) {
  uint8_t *pt = (uint8_t *)1;
  size_t pt_len = 99;
  hv_crypto_err err;
  assert_encryption_error(hpke_open_base(HPKE_SUITE_PROTOCOL, sk, in, len, info, info_len, aad,
                                         aad_len, &pt, &pt_len, &err),
                          &err, want);
  assert_null(pt);
  assert_int_equal(pt_len, 0);
}

/* ---- Public keys --------------------------------------------------------------------------- */

static void test_round_trip(void **state) {
  fixture *f = *state;
  uint8_t *pt = NULL;
  size_t pt_len = 0;
  assert_int_equal(hpke_open_base(HPKE_SUITE_PROTOCOL, f->sk, f->sealed, f->sealed_len, INFO,
                                  INFO_LEN, AAD, AAD_LEN, &pt, &pt_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(pt_len, sizeof message - 1);
  assert_memory_equal(pt, message, pt_len);
  free(pt);
}

static void test_public_key_sec1_accepted(void **state) {
  fixture *f = *state;
  assert_memory_equal(hpke_public_key_sec1(f->pk), hpke_private_key_public(f->sk),
                      HPKE_PUBLIC_KEY_LEN);
}

/* DER SubjectPublicKeyInfo, uncompressed and compressed, gives the same SEC1 point. */
static void test_public_key_der_accepted(void **state) {
  fixture *f = *state;
  EVP_PKEY *pkey = NULL;
  const char *forms[] = {"uncompressed", "compressed"};

  for (size_t i = 0; i < 2; i++) {
    uint8_t *der = NULL;
    hpke_public_key *pk = NULL;
    int len = 0;
    /* Rebuild an OpenSSL key from SEC1 so the test does not rely on library internals. */
    const uint8_t *p = NULL;
    uint8_t spki[91] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
                        0x07, 0x03, 0x42, 0x00};
    memcpy(spki + 26, hpke_public_key_sec1(f->pk), HPKE_PUBLIC_KEY_LEN);
    p = spki;
    pkey = d2i_PUBKEY(NULL, &p, sizeof spki);
    assert_non_null(pkey);
    assert_int_equal(EVP_PKEY_set_utf8_string_param(pkey, "point-format", forms[i]), 1);
    len = i2d_PUBKEY(pkey, &der);
    assert_true(len > 0);
    assert_int_equal(len, i == 0 ? 91 : 59);
    assert_int_equal(hpke_public_key_parse(der, (size_t)len, &pk, NULL), HV_CRYPTO_OK);
    assert_memory_equal(hpke_public_key_sec1(pk), hpke_public_key_sec1(f->pk),
                        HPKE_PUBLIC_KEY_LEN);
    hpke_public_key_free(pk);
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
  }
}

static void test_public_key_off_curve(void **state) {
  fixture *f = *state;
  uint8_t bad[HPKE_PUBLIC_KEY_LEN];
  memcpy(bad, hpke_public_key_sec1(f->pk), sizeof bad);
  bad[HPKE_PUBLIC_KEY_LEN - 1] ^= 0x01; /* y + 1 or y - 1: not on the curve */
  assert_bad_public_key(bad, sizeof bad);
  memset(bad + 1, 0, sizeof bad - 1); /* (0, 0) */
  assert_bad_public_key(bad, sizeof bad);
  memset(bad + 1, 0xFF, sizeof bad - 1); /* coordinates above p */
  assert_bad_public_key(bad, sizeof bad);
}

static void test_public_key_infinity(void **state) {
  /* SEC1 encodes the point at infinity as one 0x00 byte; also as a DER BIT STRING. */
  const uint8_t zero[1] = {0x00};
  uint8_t zeros[HPKE_PUBLIC_KEY_LEN] = {0};
  const uint8_t der_infinity[] = {0x30, 0x19, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                  0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                  0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x02, 0x00, 0x00};
  (void)state;
  assert_bad_public_key(zero, sizeof zero);
  assert_bad_public_key(zeros, sizeof zeros);
  assert_bad_public_key(der_infinity, sizeof der_infinity);
}

static void test_public_key_wrong_length(void **state) {
  fixture *f = *state;
  uint8_t buf[HPKE_PUBLIC_KEY_LEN + 1];
  uint8_t compressed[33];
  memcpy(buf, hpke_public_key_sec1(f->pk), HPKE_PUBLIC_KEY_LEN);
  buf[HPKE_PUBLIC_KEY_LEN] = 0;
  assert_bad_public_key(buf, HPKE_PUBLIC_KEY_LEN - 1);
  assert_bad_public_key(buf, HPKE_PUBLIC_KEY_LEN + 1);
  assert_bad_public_key(buf, 0);
  assert_bad_public_key(NULL, 0);
  /* A compressed SEC1 point is valid SEC1 but not the protocol's form. */
  compressed[0] = (uint8_t)(0x02 | (buf[64] & 1));
  memcpy(compressed + 1, buf + 1, 32);
  assert_bad_public_key(compressed, sizeof compressed);
}

static void test_public_key_bad_der(void **state) {
  fixture *f = *state;
  uint8_t spki[92] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
                      0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
                      0x07, 0x03, 0x42, 0x00};
  EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
  uint8_t *der = NULL;
  int len = 0;

  memcpy(spki + 26, hpke_public_key_sec1(f->pk), HPKE_PUBLIC_KEY_LEN);
  assert_bad_public_key(spki, 90);  /* truncated */
  spki[91] = 0x00;
  assert_bad_public_key(spki, 92);  /* trailing byte */
  spki[90] ^= 0x01;
  assert_bad_public_key(spki, 91);  /* point off the curve */
  assert_non_null(p384);
  assert_non_null(x25519);
  len = i2d_PUBKEY(p384, &der);
  assert_true(len > 0);
  assert_bad_public_key(der, (size_t)len); /* another curve */
  OPENSSL_free(der);
  der = NULL;
  len = i2d_PUBKEY(x25519, &der);
  assert_true(len > 0);
  assert_bad_public_key(der, (size_t)len); /* another algorithm */
  OPENSSL_free(der);
  EVP_PKEY_free(p384);
  EVP_PKEY_free(x25519);
}

/* ---- enc, ciphertext, tag, aad ------------------------------------------------------------- */

static void test_truncated_enc(void **state) {
  fixture *f = *state;
  hpke_ctx *ctx = (hpke_ctx *)1;
  hv_crypto_err err;
  const hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL, .mode = HPKE_MODE_BASE};

  assert_open_fails(f->sealed, HPKE_ENC_LEN - 1, f->sk, INFO, INFO_LEN, AAD, AAD_LEN,
                    HV_CRYPTO_BAD_ENC);
  assert_open_fails(f->sealed, 1, f->sk, INFO, INFO_LEN, AAD, AAD_LEN, HV_CRYPTO_BAD_ENC);
  assert_open_fails(f->sealed, 0, f->sk, INFO, INFO_LEN, AAD, AAD_LEN, HV_CRYPTO_BAD_ENC);
  assert_encryption_error(hpke_setup_recipient(&params, f->sk, f->sealed, HPKE_ENC_LEN - 1, &ctx,
                                               &err),
                          &err, HV_CRYPTO_BAD_ENC);
  assert_null(ctx);
}

static void test_enc_off_curve(void **state) {
  fixture *f = *state;
  uint8_t *copy = malloc(f->sealed_len);
  assert_non_null(copy);
  memcpy(copy, f->sealed, f->sealed_len);
  copy[HPKE_ENC_LEN - 1] ^= 0x01;
  assert_open_fails(copy, f->sealed_len, f->sk, INFO, INFO_LEN, AAD, AAD_LEN, HV_CRYPTO_BAD_ENC);
  memcpy(copy, f->sealed, HPKE_ENC_LEN);
  copy[0] = 0x00; /* the point at infinity's first byte */
  assert_open_fails(copy, f->sealed_len, f->sk, INFO, INFO_LEN, AAD, AAD_LEN, HV_CRYPTO_BAD_ENC);
  free(copy);
  test_round_trip(state); /* the key's reusable state survived the failures */
}

/* Flipping any one bit of the ciphertext or the tag fails authentication. */
static void test_changed_ciphertext_and_tag(void **state) {
  fixture *f = *state;
  uint8_t *copy = malloc(f->sealed_len);
  assert_non_null(copy);
  for (size_t i = HPKE_ENC_LEN; i < f->sealed_len; i++) {
    memcpy(copy, f->sealed, f->sealed_len);
    copy[i] ^= (uint8_t)(1u << (i % 8));
    assert_open_fails(copy, f->sealed_len, f->sk, INFO, INFO_LEN, AAD, AAD_LEN,
                      HV_CRYPTO_DECRYPT_FAILED);
  }
  free(copy);
}

static void test_truncated_ciphertext(void **state) {
  fixture *f = *state;
  /* Without its last byte (a shorter tag), without the tag, and shorter than a tag. */
  assert_open_fails(f->sealed, f->sealed_len - 1, f->sk, INFO, INFO_LEN, AAD, AAD_LEN,
                    HV_CRYPTO_DECRYPT_FAILED);
  assert_open_fails(f->sealed, f->sealed_len - HPKE_TAG_LEN, f->sk, INFO, INFO_LEN, AAD, AAD_LEN,
                    HV_CRYPTO_DECRYPT_FAILED);
  assert_open_fails(f->sealed, HPKE_ENC_LEN + 3, f->sk, INFO, INFO_LEN, AAD, AAD_LEN,
                    HV_CRYPTO_DECRYPT_FAILED);
  assert_open_fails(f->sealed, HPKE_ENC_LEN, f->sk, INFO, INFO_LEN, AAD, AAD_LEN,
                    HV_CRYPTO_DECRYPT_FAILED);
}

static void test_changed_aad_and_info(void **state) {
  fixture *f = *state;
  assert_open_fails(f->sealed, f->sealed_len, f->sk, INFO, INFO_LEN, AAD, AAD_LEN - 1,
                    HV_CRYPTO_DECRYPT_FAILED);
  assert_open_fails(f->sealed, f->sealed_len, f->sk, INFO, INFO_LEN, (const uint8_t *)"test aaD",
                    AAD_LEN, HV_CRYPTO_DECRYPT_FAILED);
  assert_open_fails(f->sealed, f->sealed_len, f->sk, INFO, INFO_LEN, NULL, 0,
                    HV_CRYPTO_DECRYPT_FAILED);
  assert_open_fails(f->sealed, f->sealed_len, f->sk, (const uint8_t *)"test infO", INFO_LEN, AAD,
                    AAD_LEN, HV_CRYPTO_DECRYPT_FAILED);
}

static void test_wrong_recipient(void **state) {
  fixture *f = *state;
  hpke_private_key *other = NULL;
  assert_int_equal(hpke_private_key_generate(&other, NULL), HV_CRYPTO_OK);
  assert_open_fails(f->sealed, f->sealed_len, other, INFO, INFO_LEN, AAD, AAD_LEN,
                    HV_CRYPTO_DECRYPT_FAILED);
  hpke_private_key_free(other);
}

/* Each context message uses the next nonce; a failed Open does not consume one. */
static void test_sequence_numbers(void **state) {
  fixture *f = *state;
  const hpke_setup_params params = {
      .suite = HPKE_SUITE_PROTOCOL, .mode = HPKE_MODE_BASE, .info = INFO, .info_len = INFO_LEN};
  uint8_t enc[HPKE_ENC_LEN], ct0[4 + HPKE_TAG_LEN], ct1[4 + HPKE_TAG_LEN], pt[4];
  size_t pt_len = 0;
  hpke_ctx *s = NULL, *r = NULL;
  hv_crypto_err err;

  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &s, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_setup_recipient(&params, f->sk, enc, sizeof enc, &r, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_seal(s, NULL, 0, (const uint8_t *)"abcd", 4, ct0, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_seal(s, NULL, 0, (const uint8_t *)"abcd", 4, ct1, NULL), HV_CRYPTO_OK);
  assert_memory_not_equal(ct0, ct1, sizeof ct0);
  /* Out of order: ct1 under sequence number 0 fails, and the failure consumes nothing. */
  assert_encryption_error(hpke_open(r, NULL, 0, ct1, sizeof ct1, pt, &pt_len, &err), &err,
                          HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(hpke_open(r, NULL, 0, ct0, sizeof ct0, pt, &pt_len, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_open(r, NULL, 0, ct1, sizeof ct1, pt, &pt_len, NULL), HV_CRYPTO_OK);
  assert_memory_equal(pt, "abcd", 4);
  /* A replay of ct0 under sequence number 2 fails. */
  assert_encryption_error(hpke_open(r, NULL, 0, ct0, sizeof ct0, pt, &pt_len, &err), &err,
                          HV_CRYPTO_DECRYPT_FAILED);
  /* Roles are fixed. */
  assert_int_equal(hpke_seal(r, NULL, 0, pt, 4, ct0, NULL), HV_CRYPTO_INVALID_ARGUMENT);
  hpke_ctx_free(s);
  hpke_ctx_free(r);
}

/* ---- Parameters ---------------------------------------------------------------------------- */

static void test_bad_parameters(void **state) {
  fixture *f = *state;
  uint8_t enc[HPKE_ENC_LEN];
  hpke_ctx *ctx = NULL;
  hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL, .mode = HPKE_MODE_PSK};

  /* psk mode without psk; base mode with one; a psk without its id */
  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &ctx, NULL), HV_CRYPTO_BAD_PSK);
  params.mode = HPKE_MODE_BASE;
  params.psk = (const uint8_t *)"0123456789abcdef0123456789abcdef";
  params.psk_len = 32;
  params.psk_id = (const uint8_t *)"id";
  params.psk_id_len = 2;
  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &ctx, NULL), HV_CRYPTO_BAD_PSK);
  params.mode = HPKE_MODE_PSK;
  params.psk_id_len = 0;
  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &ctx, NULL), HV_CRYPTO_BAD_PSK);
  /* Suites and modes we do not implement */
  params = (hpke_setup_params){.suite = HPKE_SUITE_PROTOCOL, .mode = (hpke_mode)2};
  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &ctx, NULL), HV_CRYPTO_UNSUPPORTED);
  params.mode = HPKE_MODE_BASE;
  params.suite.aead_id = 3; /* ChaCha20Poly1305 */
  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &ctx, NULL), HV_CRYPTO_UNSUPPORTED);
  params.suite = (hpke_suite){0x0020, 1, 1}; /* X25519 */
  assert_int_equal(hpke_setup_sender(&params, f->pk, enc, &ctx, NULL), HV_CRYPTO_UNSUPPORTED);
  assert_null(ctx);
  assert_int_equal(ERR_peek_error(), 0);
}

static void test_private_key_range(void **state) {
  uint8_t sk[HPKE_PRIVATE_KEY_LEN] = {0};
  hpke_private_key *key = NULL;
  static const uint8_t order[HPKE_PRIVATE_KEY_LEN] = {
      0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
      0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
  (void)state;
  assert_int_equal(hpke_private_key_import(sk, &key, NULL), HV_CRYPTO_BAD_PRIVATE_KEY);
  memcpy(sk, order, sizeof sk);
  assert_int_equal(hpke_private_key_import(sk, &key, NULL), HV_CRYPTO_BAD_PRIVATE_KEY);
  memset(sk, 0xFF, sizeof sk);
  assert_int_equal(hpke_private_key_import(sk, &key, NULL), HV_CRYPTO_BAD_PRIVATE_KEY);
  assert_null(key);
  memcpy(sk, order, sizeof sk);
  sk[31] -= 1; /* n - 1 is the largest valid scalar */
  assert_int_equal(hpke_private_key_import(sk, &key, NULL), HV_CRYPTO_OK);
  hpke_private_key_free(key);
  memset(sk, 0, sizeof sk);
  sk[31] = 1; /* 1: the public key is the generator */
  assert_int_equal(hpke_private_key_import(sk, &key, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_private_key_public(key)[1], 0x6B); /* G.x starts 6B17D1F2 */
  hpke_private_key_free(key);
}

static void test_empty_and_large_plaintexts(void **state) {
  fixture *f = *state;
  size_t sizes[] = {0, 1, 16, 1u << 20};
  uint8_t *big = calloc(1, 1u << 20);
  assert_non_null(big);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint8_t *sealed = NULL, *pt = NULL;
    size_t sealed_len = 0, pt_len = 0;
    big[0] = (uint8_t)i;
    assert_int_equal(hpke_seal_base(HPKE_SUITE_PROTOCOL, f->pk, NULL, 0, NULL, 0,
                                    sizes[i] ? big : NULL, sizes[i], &sealed, &sealed_len, NULL),
                     HV_CRYPTO_OK);
    assert_int_equal(sealed_len, HPKE_ENC_LEN + sizes[i] + HPKE_TAG_LEN);
    assert_int_equal(hpke_open_base(HPKE_SUITE_PROTOCOL, f->sk, sealed, sealed_len, NULL, 0, NULL,
                                    0, &pt, &pt_len, NULL),
                     HV_CRYPTO_OK);
    assert_non_null(pt);
    assert_int_equal(pt_len, sizes[i]);
    if (sizes[i] > 0)
      assert_memory_equal(pt, big, sizes[i]);
    free(sealed);
    free(pt);
  }
  free(big);
}

/* Every status has a name, a message and a class; unknown numbers are handled. */
static void test_status_table(void **state) {
  (void)state;
  assert_string_equal(hv_crypto_status_name(HV_CRYPTO_OK), "HV_CRYPTO_OK");
  assert_string_equal(hv_crypto_status_name(HV_CRYPTO_BAD_ENC), "HV_CRYPTO_BAD_ENC");
  assert_string_equal(hv_crypto_status_text(HV_CRYPTO_UNKNOWN_KEY_ID), "unknown key id");
  assert_int_equal(hv_crypto_status_class(HV_CRYPTO_OK), HV_CRYPTO_CLASS_NONE);
  assert_int_equal(hv_crypto_status_class(HV_CRYPTO_BAD_PUBLIC_KEY), HV_CRYPTO_CLASS_ENCRYPTION);
  assert_int_equal(hv_crypto_status_class(HV_CRYPTO_UNKNOWN_KEY_ID), HV_CRYPTO_CLASS_ENCRYPTION);
  assert_int_equal(hv_crypto_status_class(HV_CRYPTO_DECRYPT_FAILED), HV_CRYPTO_CLASS_ENCRYPTION);
  assert_int_equal(hv_crypto_status_class(HV_CRYPTO_BAD_BASE64), HV_CRYPTO_CLASS_REQUEST);
  assert_int_equal(hv_crypto_status_class(HV_CRYPTO_KEYRING_IO), HV_CRYPTO_CLASS_INTERNAL);
  assert_int_equal(hv_crypto_status_class((hv_crypto_status)9999), HV_CRYPTO_CLASS_INTERNAL);
  assert_string_equal(hv_crypto_status_name((hv_crypto_status)9999), "HV_CRYPTO_UNKNOWN");
  assert_non_null(hv_crypto_status_text((hv_crypto_status)-1));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_public_key_sec1_accepted),
      cmocka_unit_test(test_public_key_der_accepted),
      cmocka_unit_test(test_public_key_off_curve),
      cmocka_unit_test(test_public_key_infinity),
      cmocka_unit_test(test_public_key_wrong_length),
      cmocka_unit_test(test_public_key_bad_der),
      cmocka_unit_test(test_truncated_enc),
      cmocka_unit_test(test_enc_off_curve),
      cmocka_unit_test(test_changed_ciphertext_and_tag),
      cmocka_unit_test(test_truncated_ciphertext),
      cmocka_unit_test(test_changed_aad_and_info),
      cmocka_unit_test(test_wrong_recipient),
      cmocka_unit_test(test_sequence_numbers),
      cmocka_unit_test(test_bad_parameters),
      cmocka_unit_test(test_private_key_range),
      cmocka_unit_test(test_empty_and_large_plaintexts),
      cmocka_unit_test(test_status_table),
  };
  return cmocka_run_group_tests_name("hpke_hostile", tests, setup, teardown);
}
