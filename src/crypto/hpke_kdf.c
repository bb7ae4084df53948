/*
 * hpke_kdf.c: LabeledExtract and LabeledExpand (RFC 9180 §4) on HKDF-SHA256 (RFC 5869), written
 * over OpenSSL's HMAC so the labeled inputs are hashed in pieces instead of being concatenated.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>

#include "crypto_int.h"

#define HPKE_V1 "HPKE-v1"
#define HASH_LEN 32u

hv_crypto_status hpke__hmac_new(EVP_MAC_CTX **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_END};
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

  *out = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
  if (*out == NULL || EVP_MAC_CTX_set_params(*out, params) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "setting up HMAC-SHA256");
    EVP_MAC_CTX_free(*out);
    *out = NULL;
  }
  EVP_MAC_free(mac); /* the context holds its own reference */
  return rc;
}

void hpke__kdf_borrow(hpke__kdf *kdf, EVP_MAC_CTX *mac) {
  kdf->mac = mac;
  kdf->owns_mac = false;
  kdf->suite_id_len = 0;
}

void hpke__kdf_set_kem(hpke__kdf *kdf) {
  const uint8_t suite_id[] = {'K', 'E', 'M', HPKE_KEM_P256_HKDF_SHA256 >> 8,
                              HPKE_KEM_P256_HKDF_SHA256 & 0xFF};
  memcpy(kdf->suite_id, suite_id, sizeof suite_id);
  kdf->suite_id_len = sizeof suite_id;
}

void hpke__kdf_set_suite(hpke__kdf *kdf, hpke_suite suite) {
  const uint8_t suite_id[] = {'H',
                              'P',
                              'K',
                              'E',
                              (uint8_t)(suite.kem_id >> 8),
                              (uint8_t)suite.kem_id,
                              (uint8_t)(suite.kdf_id >> 8),
                              (uint8_t)suite.kdf_id,
                              (uint8_t)(suite.aead_id >> 8),
                              (uint8_t)suite.aead_id};
  memcpy(kdf->suite_id, suite_id, sizeof suite_id);
  kdf->suite_id_len = sizeof suite_id;
}

hv_crypto_status hpke__kdf_init_kem(hpke__kdf *kdf, hv_crypto_err *err) {
  hv_crypto_status rc = hpke__hmac_new(&kdf->mac, err);
  kdf->owns_mac = rc == HV_CRYPTO_OK;
  hpke__kdf_set_kem(kdf);
  return rc;
}

hv_crypto_status hpke__kdf_init_suite(hpke__kdf *kdf, hpke_suite suite, hv_crypto_err *err) {
  hv_crypto_status rc = hpke__hmac_new(&kdf->mac, err);
  kdf->owns_mac = rc == HV_CRYPTO_OK;
  hpke__kdf_set_suite(kdf, suite);
  return rc;
}

void hpke__kdf_cleanup(hpke__kdf *kdf) {
  if (kdf->owns_mac)
    EVP_MAC_CTX_free(kdf->mac);
  kdf->mac = NULL;
  kdf->owns_mac = false;
}

/* HMAC-SHA256(key, parts[0] || parts[1] || ...) into out. */
static hv_crypto_status hmac_parts(hpke__kdf *kdf, const uint8_t *key, size_t key_len,
                                   const hv_crypto__part *parts, size_t count,
                                   uint8_t out[HASH_LEN], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t out_len = 0;

  if (EVP_MAC_init(kdf->mac, key, key_len, NULL) != 1)
    goto fail;
  for (size_t i = 0; i < count; i++) {
    if (parts[i].len > 0 && EVP_MAC_update(kdf->mac, parts[i].data, parts[i].len) != 1)
      goto fail;
  }
  if (EVP_MAC_final(kdf->mac, out, &out_len, HASH_LEN) != 1 || out_len != HASH_LEN)
    goto fail;
  goto done;
fail:
  rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "HMAC-SHA256");
done:
  return rc;
}

hv_crypto_status hpke__labeled_extract(hpke__kdf *kdf, const uint8_t *salt, size_t salt_len,
                                       const char *label, const uint8_t *ikm, size_t ikm_len,
                                       uint8_t out[HPKE_SECRET_LEN], hv_crypto_err *err) {
  static const uint8_t zero_salt[HASH_LEN];
  const hv_crypto__part parts[] = {
      {HPKE_V1, sizeof HPKE_V1 - 1},
      {kdf->suite_id, kdf->suite_id_len},
      {label, strlen(label)},
      {ikm, ikm_len},
  };

  /* RFC 5869 §2.2: an absent salt is HashLen zero bytes. */
  if (salt_len == 0) {
    salt = zero_salt;
    salt_len = sizeof zero_salt;
  }
  return hmac_parts(kdf, salt, salt_len, parts, sizeof parts / sizeof parts[0], out, err);
}

hv_crypto_status hpke__labeled_expand(hpke__kdf *kdf, const uint8_t prk[HPKE_SECRET_LEN],
                                      const char *label, const uint8_t *info, size_t info_len,
                                      uint8_t *out, size_t L, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t block[HASH_LEN];
  const uint8_t length[2] = {(uint8_t)(L >> 8), (uint8_t)L};
  uint8_t counter = 0;
  hv_crypto__part parts[] = {
      {block, 0}, /* T(i-1); empty for T(1) */
      {length, sizeof length},
      {HPKE_V1, sizeof HPKE_V1 - 1},
      {kdf->suite_id, kdf->suite_id_len},
      {label, strlen(label)},
      {info, info_len},
      {&counter, 1},
  };

  if (L == 0 || L > HPKE_MAX_EXPORT_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "HKDF-Expand length %zu out of range", L);
    goto done;
  }
  for (size_t done_len = 0; done_len < L; done_len += HASH_LEN) {
    size_t take = L - done_len < HASH_LEN ? L - done_len : HASH_LEN;
    counter++;
    rc = hmac_parts(kdf, prk, HPKE_SECRET_LEN, parts, sizeof parts / sizeof parts[0], block, err);
    if (rc != HV_CRYPTO_OK)
      goto done;
    memcpy(out + done_len, block, take);
    parts[0].len = HASH_LEN;
  }
done:
  OPENSSL_cleanse(block, sizeof block);
  return rc;
}
