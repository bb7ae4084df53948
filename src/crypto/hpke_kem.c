/*
 * hpke_kem.c: DHKEM(P-256, HKDF-SHA256) of RFC 9180 §4.1 and §7.1 on OpenSSL 3.0: key parsing and
 * validation, DeriveKeyPair, Encap and Decap.
 *
 * Peer points are validated when imported (on the curve, not the point at infinity, coordinates
 * below p); P-256 has cofactor 1, so that is the full check and ECDH skips OpenSSL's own
 * re-validation, which would cost a second scalar multiplication.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "crypto_int.h"

#define KEM_CONTEXT_LEN (HPKE_ENC_LEN + HPKE_PUBLIC_KEY_LEN)

/* The order n of P-256, big-endian. */
static const uint8_t p256_order[HPKE_PRIVATE_KEY_LEN] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

/* 0 < s < n, in constant time: s - n borrows iff s < n. */
static bool scalar_in_range(const uint8_t s[HPKE_PRIVATE_KEY_LEN]) {
  unsigned borrow = 0;
  unsigned any = 0;
  for (size_t i = HPKE_PRIVATE_KEY_LEN; i-- > 0;) {
    unsigned diff = (unsigned)s[i] - (unsigned)p256_order[i] - borrow;
    borrow = (diff >> 8) & 1u;
    any |= s[i];
  }
  return (borrow & (unsigned)(any != 0)) != 0;
}

/* A P-256 public key from a SEC1 uncompressed point; OpenSSL rejects points off the curve. */
static hv_crypto_status import_public_sec1(const uint8_t sec1[HPKE_PUBLIC_KEY_LEN],
                                           EVP_PKEY **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char group[] = SN_X9_62_prime256v1;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)sec1,
                                        HPKE_PUBLIC_KEY_LEN),
      OSSL_PARAM_END};
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

  *out = NULL;
  if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "preparing EC key import");
    goto fail;
  }
  if (sec1[0] != 0x04 || EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_BAD_PUBLIC_KEY,
                              "public key is not a point on P-256");
    goto fail;
  }
fail:
  EVP_PKEY_CTX_free(ctx);
  return rc;
}

/* The SEC1 uncompressed encoding of pkey's public point (keys OpenSSL generates or imports from
 * an uncompressed point use that form). */
static hv_crypto_status export_public_sec1(EVP_PKEY *pkey, uint8_t out[HPKE_PUBLIC_KEY_LEN],
                                           hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t buf[HPKE_PUBLIC_KEY_LEN + 1];
  size_t len = 0;

  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof buf, &len) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_BAD_PUBLIC_KEY, "public key has no P-256 point");
    goto fail;
  }
  if (len != HPKE_PUBLIC_KEY_LEN || buf[0] != 0x04) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_PUBLIC_KEY,
                         "public key is the point at infinity or not uncompressed");
    goto fail;
  }
  memcpy(out, buf, HPKE_PUBLIC_KEY_LEN);
fail:
  return rc;
}

/* Decodes a DER SubjectPublicKeyInfo of a named P-256 key into its SEC1 uncompressed point. */
static hv_crypto_status der_to_sec1(const uint8_t *der, size_t len,
                                    uint8_t sec1[HPKE_PUBLIC_KEY_LEN], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const unsigned char *p = der;
  char group[32] = "";
  EVP_PKEY *pkey = len <= 4096 ? d2i_PUBKEY_ex(NULL, &p, (long)len, NULL, NULL) : NULL;

  if (pkey == NULL || p != der + len) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_BAD_PUBLIC_KEY,
                              "public key is neither a 65-byte SEC1 point nor a DER "
                              "SubjectPublicKeyInfo");
    goto fail;
  }
  if (!EVP_PKEY_is_a(pkey, "EC") ||
      EVP_PKEY_get_group_name(pkey, group, sizeof group, NULL) != 1 ||
      strcmp(group, SN_X9_62_prime256v1) != 0) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_BAD_PUBLIC_KEY, "public key is not on P-256");
    goto fail;
  }
  /* The DER may carry a compressed point: ask for the uncompressed form. */
  if (EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                     "uncompressed") != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "setting the point format");
    goto fail;
  }
  rc = export_public_sec1(pkey, sec1, err);
fail:
  EVP_PKEY_free(pkey);
  return rc;
}

hv_crypto_status hpke_public_key_parse(const uint8_t *in, size_t len, hpke_public_key **out,
                                       hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke_public_key *pk = NULL;
  uint8_t sec1[HPKE_PUBLIC_KEY_LEN];

  hv_crypto__begin(err);
  *out = NULL;
  if (in == NULL || len == 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_PUBLIC_KEY, "public key is empty");
    goto fail;
  }
  if (len == HPKE_PUBLIC_KEY_LEN && in[0] == 0x04) {
    memcpy(sec1, in, HPKE_PUBLIC_KEY_LEN);
  } else if (in[0] == 0x30) { /* a DER SEQUENCE */
    rc = der_to_sec1(in, len, sec1, err);
  } else {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_PUBLIC_KEY,
                         "public key is neither a 65-byte SEC1 uncompressed point nor a DER "
                         "SubjectPublicKeyInfo (%zu bytes)",
                         len);
  }
  if (rc != HV_CRYPTO_OK)
    goto fail;
  pk = calloc(1, sizeof *pk);
  if (pk == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a public key");
    goto fail;
  }
  memcpy(pk->sec1, sec1, HPKE_PUBLIC_KEY_LEN);
  rc = import_public_sec1(sec1, &pk->pkey, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = pk;
  pk = NULL;
fail:
  hpke_public_key_free(pk);
  return rc;
}

const uint8_t *hpke_public_key_sec1(const hpke_public_key *pk) { return pk->sec1; }

void hpke_public_key_free(hpke_public_key *pk) {
  if (pk == NULL)
    return;
  EVP_PKEY_free(pk->pkey);
  free(pk);
}

/* Wraps a key pair (ownership of pkey moves to the new object, also on failure). */
static hv_crypto_status wrap_key_pair(EVP_PKEY *pkey, hpke_private_key **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke_private_key *sk = calloc(1, sizeof *sk);

  *out = NULL;
  if (sk == NULL) {
    EVP_PKEY_free(pkey);
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a key pair");
    goto fail;
  }
  sk->pkey = pkey;
  sk->pool_ready = pthread_mutex_init(&sk->pool_lock, NULL) == 0;
  if (!sk->pool_ready) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "creating a key's lock");
    goto fail;
  }
  rc = export_public_sec1(pkey, sk->sec1, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  rc = import_public_sec1(sk->sec1, &sk->peer_proto, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = sk;
  sk = NULL;
fail:
  hpke_private_key_free(sk);
  return rc;
}

/* The key pair (sk, sk * G) of a scalar already checked to be in range. */
static hv_crypto_status key_pair_from_scalar(const uint8_t sk[HPKE_PRIVATE_KEY_LEN],
                                             EVP_PKEY **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char group_name[] = SN_X9_62_prime256v1;
  uint8_t pub[HPKE_PUBLIC_KEY_LEN];
  uint8_t native[HPKE_PRIVATE_KEY_LEN]; /* OSSL_PARAM integers are native-endian */
  EC_GROUP *group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, NID_X9_62_prime256v1);
  EC_POINT *point = group != NULL ? EC_POINT_new(group) : NULL;
  BIGNUM *scalar = BN_secure_new();
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
  OSSL_PARAM params[4];

  *out = NULL;
  if (point == NULL || scalar == NULL || ctx == NULL)
    goto fail;
  BN_set_flags(scalar, BN_FLG_CONSTTIME);
  if (BN_bin2bn(sk, HPKE_PRIVATE_KEY_LEN, scalar) == NULL ||
      EC_POINT_mul(group, point, scalar, NULL, NULL, NULL) != 1 ||
      EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, NULL) !=
          sizeof pub ||
      BN_bn2nativepad(scalar, native, sizeof native) != (int)sizeof native)
    goto fail;
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group_name, 0);
  params[1] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY, native, sizeof native);
  params[2] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub);
  params[3] = OSSL_PARAM_construct_end();
  if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, out, EVP_PKEY_KEYPAIR, params) != 1)
    goto fail;
  goto done;
fail:
  rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "building a P-256 key pair");
done:
  OPENSSL_cleanse(native, sizeof native);
  EVP_PKEY_CTX_free(ctx);
  BN_clear_free(scalar);
  EC_POINT_free(point);
  EC_GROUP_free(group);
  return rc;
}

hv_crypto_status hpke_private_key_import(const uint8_t sk[HPKE_PRIVATE_KEY_LEN],
                                         hpke_private_key **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_PKEY *pkey = NULL;

  hv_crypto__begin(err);
  *out = NULL;
  if (!scalar_in_range(sk)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_PRIVATE_KEY, "private key is 0 or not below the "
                                                         "P-256 group order");
    goto fail;
  }
  rc = key_pair_from_scalar(sk, &pkey, err);
  if (rc == HV_CRYPTO_OK)
    rc = wrap_key_pair(pkey, out, err);
fail:
  return rc;
}

hv_crypto_status hpke_private_key_generate(hpke_private_key **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_PKEY *pkey = NULL;

  hv_crypto__begin(err);
  *out = NULL;
  pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", SN_X9_62_prime256v1);
  if (pkey == NULL) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "generating a P-256 key pair");
    goto fail;
  }
  rc = wrap_key_pair(pkey, out, err);
fail:
  return rc;
}

hv_crypto_status hpke_private_key_export(const hpke_private_key *sk,
                                         uint8_t out[HPKE_PRIVATE_KEY_LEN], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  BIGNUM *scalar = NULL;

  hv_crypto__begin(err);
  if (EVP_PKEY_get_bn_param(sk->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) != 1 ||
      BN_bn2binpad(scalar, out, HPKE_PRIVATE_KEY_LEN) != HPKE_PRIVATE_KEY_LEN) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "exporting a private key");
    OPENSSL_cleanse(out, HPKE_PRIVATE_KEY_LEN);
  }
  BN_clear_free(scalar);
  return rc;
}

const uint8_t *hpke_private_key_public(const hpke_private_key *sk) { return sk->sec1; }

static void workspace_free(hpke__workspace *ws) {
  if (ws == NULL)
    return;
  EVP_PKEY_CTX_free(ws->derive);
  EVP_PKEY_free(ws->peer);
  EVP_MAC_CTX_free(ws->hmac); /* OpenSSL cleanses the HMAC key and state */
  free(ws);
}

void hpke_private_key_free(hpke_private_key *sk) {
  if (sk == NULL)
    return;
  while (sk->pool != NULL) {
    hpke__workspace *next = sk->pool->next;
    workspace_free(sk->pool);
    sk->pool = next;
  }
  if (sk->pool_ready)
    pthread_mutex_destroy(&sk->pool_lock);
  EVP_PKEY_free(sk->pkey); /* OpenSSL clears the private scalar (BN_clear_free) */
  EVP_PKEY_free(sk->peer_proto);
  OPENSSL_cleanse(sk, sizeof *sk);
  free(sk);
}

static hv_crypto_status workspace_new(const hpke_private_key *sk, hpke__workspace **out,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke__workspace *ws = calloc(1, sizeof *ws);

  *out = NULL;
  if (ws == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating an HPKE workspace");
    goto fail;
  }
  ws->peer = EVP_PKEY_dup(sk->peer_proto);
  ws->derive = EVP_PKEY_CTX_new_from_pkey(NULL, sk->pkey, NULL);
  if (ws->peer == NULL || ws->derive == NULL || EVP_PKEY_derive_init(ws->derive) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "preparing P-256 ECDH");
    goto fail;
  }
  rc = hpke__hmac_new(&ws->hmac, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = ws;
  ws = NULL;
fail:
  workspace_free(ws);
  return rc;
}

hv_crypto_status hpke__workspace_acquire(const hpke_private_key *sk, hpke__workspace **out,
                                         hv_crypto_err *err) {
  /* The pool is the one part of a key that changes; its own mutex guards it. */
  hpke_private_key *key = (hpke_private_key *)sk;
  hpke__workspace *ws = NULL;

  HV_CRYPTO__LOCKED(pthread_mutex_lock(&key->pool_lock));
  ws = key->pool;
  if (ws != NULL) {
    key->pool = ws->next;
    key->pool_size--;
  }
  HV_CRYPTO__LOCKED(pthread_mutex_unlock(&key->pool_lock));
  *out = ws;
  return ws != NULL ? HV_CRYPTO_OK : workspace_new(sk, out, err);
}

void hpke__workspace_release(const hpke_private_key *sk, hpke__workspace *ws, bool reuse) {
  static const uint8_t zero_key[HPKE_SECRET_LEN];
  hpke_private_key *key = (hpke_private_key *)sk;

  /* Re-key the HMAC so no secret of this operation stays in an idle workspace. */
  reuse = reuse && ws != NULL && EVP_MAC_init(ws->hmac, zero_key, sizeof zero_key, NULL) == 1;
  if (reuse) {
    HV_CRYPTO__LOCKED(pthread_mutex_lock(&key->pool_lock));
    if (key->pool_size < HPKE__POOL_MAX) {
      ws->next = key->pool;
      key->pool = ws;
      key->pool_size++;
      ws = NULL;
    }
    HV_CRYPTO__LOCKED(pthread_mutex_unlock(&key->pool_lock));
  }
  workspace_free(ws);
}

hv_crypto_status hpke_derive_key_pair(const uint8_t *ikm, size_t ikm_len, hpke_private_key **out,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke__kdf kdf = {0};
  uint8_t prk[HPKE_SECRET_LEN];
  uint8_t candidate[HPKE_PRIVATE_KEY_LEN];
  bool found = false;

  hv_crypto__begin(err);
  *out = NULL;
  if (ikm == NULL || ikm_len < HPKE_PRIVATE_KEY_LEN || ikm_len > HPKE_MAX_INPUT_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "DeriveKeyPair needs %u to %u bytes of "
                         "ikm, got %zu", HPKE_PRIVATE_KEY_LEN, HPKE_MAX_INPUT_LEN, ikm_len);
    goto fail;
  }
  rc = hpke__kdf_init_kem(&kdf, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__labeled_extract(&kdf, NULL, 0, "dkp_prk", ikm, ikm_len, prk, err);
  /* RFC 9180 §7.1.3: rejection sampling; the bitmask for P-256 is 0xFF, so nothing to mask. */
  for (unsigned counter = 0; rc == HV_CRYPTO_OK && !found && counter < 256; counter++) {
    const uint8_t ctr = (uint8_t)counter;
    rc = hpke__labeled_expand(&kdf, prk, "candidate", &ctr, 1, candidate, sizeof candidate, err);
    found = rc == HV_CRYPTO_OK && scalar_in_range(candidate);
  }
  if (rc != HV_CRYPTO_OK)
    goto fail;
  if (!found) {
    rc = hv_crypto__fail(err, HV_CRYPTO_DERIVE_KEY_PAIR, "no valid candidate in 256 tries");
    goto fail;
  }
  rc = hpke_private_key_import(candidate, out, err);
fail:
  OPENSSL_cleanse(prk, sizeof prk);
  OPENSSL_cleanse(candidate, sizeof candidate);
  hpke__kdf_cleanup(&kdf);
  return rc;
}

/* DH(sk, peer): the x-coordinate of sk * peer, 32 bytes. */
static hv_crypto_status ecdh(EVP_PKEY *sk, EVP_PKEY *peer, uint8_t out[HPKE_SECRET_LEN],
                             hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL);
  size_t len = HPKE_SECRET_LEN;

  /* validate_peer = 0: the peer was validated when imported (see the file comment). */
  if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1 || EVP_PKEY_derive(ctx, out, &len) != 1 ||
      len != HPKE_SECRET_LEN) {
    OPENSSL_cleanse(out, HPKE_SECRET_LEN);
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "P-256 ECDH");
  }
  EVP_PKEY_CTX_free(ctx);
  return rc;
}

/* ExtractAndExpand(dh, kem_context) of RFC 9180 §4.1 with a KEM kdf. */
static hv_crypto_status extract_and_expand(hpke__kdf *kdf, const uint8_t dh[HPKE_SECRET_LEN],
                                           const uint8_t kem_context[KEM_CONTEXT_LEN],
                                           uint8_t shared_secret[HPKE_SECRET_LEN],
                                           hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t eae_prk[HPKE_SECRET_LEN];

  rc = hpke__labeled_extract(kdf, NULL, 0, "eae_prk", dh, HPKE_SECRET_LEN, eae_prk, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__labeled_expand(kdf, eae_prk, "shared_secret", kem_context, KEM_CONTEXT_LEN,
                              shared_secret, HPKE_SECRET_LEN, err);
  OPENSSL_cleanse(eae_prk, sizeof eae_prk);
  return rc;
}

/* A fresh ephemeral key pair on pkR's group; generating from pkR as a template skips looking the
 * group up by name. */
static hv_crypto_status ephemeral_key(const hpke_public_key *pkR, EVP_PKEY **out,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkR->pkey, NULL);

  *out = NULL;
  if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, out) != 1)
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "generating an ephemeral key");
  EVP_PKEY_CTX_free(ctx);
  return rc;
}

hv_crypto_status hpke__encap(const hpke_public_key *pkR, const uint8_t *ikm_e, size_t ikm_e_len,
                             uint8_t enc[HPKE_ENC_LEN], uint8_t shared_secret[HPKE_SECRET_LEN],
                             hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke_private_key *derived = NULL;
  hpke__kdf kdf = {0};
  EVP_PKEY *skE = NULL;
  uint8_t dh[HPKE_SECRET_LEN];
  uint8_t kem_context[KEM_CONTEXT_LEN];

  if (ikm_e != NULL) {
    rc = hpke_derive_key_pair(ikm_e, ikm_e_len, &derived, err);
    if (rc == HV_CRYPTO_OK && EVP_PKEY_up_ref(derived->pkey) == 1)
      skE = derived->pkey;
    else if (rc == HV_CRYPTO_OK)
      rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "referencing a key");
  } else {
    rc = ephemeral_key(pkR, &skE, err);
  }
  if (rc == HV_CRYPTO_OK)
    rc = ecdh(skE, pkR->pkey, dh, err);
  if (rc == HV_CRYPTO_OK)
    rc = export_public_sec1(skE, enc, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  memcpy(kem_context, enc, HPKE_ENC_LEN);
  memcpy(kem_context + HPKE_ENC_LEN, pkR->sec1, HPKE_PUBLIC_KEY_LEN);
  rc = hpke__kdf_init_kem(&kdf, err);
  if (rc == HV_CRYPTO_OK)
    rc = extract_and_expand(&kdf, dh, kem_context, shared_secret, err);
fail:
  hpke__kdf_cleanup(&kdf);
  OPENSSL_cleanse(dh, sizeof dh);
  EVP_PKEY_free(skE);
  hpke_private_key_free(derived);
  return rc;
}

hv_crypto_status hpke__decap_with(const hpke_private_key *skR, hpke__workspace *ws,
                                  const uint8_t *enc, size_t enc_len,
                                  uint8_t shared_secret[HPKE_SECRET_LEN], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke__kdf kdf;
  uint8_t dh[HPKE_SECRET_LEN];
  uint8_t kem_context[KEM_CONTEXT_LEN];
  size_t dh_len = sizeof dh;

  if (enc == NULL || enc_len != HPKE_ENC_LEN || enc[0] != 0x04) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_ENC,
                         "encapsulated key is not a %d-byte SEC1 uncompressed point",
                         HPKE_ENC_LEN);
    goto fail;
  }
  /* Replacing the point of a ready P-256 key is much faster than importing a new key. */
  if (EVP_PKEY_set1_encoded_public_key(ws->peer, enc, enc_len) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_BAD_ENC, "encapsulated key is not a point on P-256");
    goto fail;
  }
  /* validate_peer = 0: the point was validated just now (see the file comment). */
  if (EVP_PKEY_derive_set_peer_ex(ws->derive, ws->peer, 0) != 1 ||
      EVP_PKEY_derive(ws->derive, dh, &dh_len) != 1 || dh_len != sizeof dh) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "P-256 ECDH");
    goto fail;
  }
  memcpy(kem_context, enc, HPKE_ENC_LEN);
  memcpy(kem_context + HPKE_ENC_LEN, skR->sec1, HPKE_PUBLIC_KEY_LEN);
  hpke__kdf_borrow(&kdf, ws->hmac);
  hpke__kdf_set_kem(&kdf);
  rc = extract_and_expand(&kdf, dh, kem_context, shared_secret, err);
fail:
  OPENSSL_cleanse(dh, sizeof dh);
  return rc;
}

hv_crypto_status hpke__decap(const hpke_private_key *skR, const uint8_t *enc, size_t enc_len,
                             uint8_t shared_secret[HPKE_SECRET_LEN], hv_crypto_err *err) {
  hpke__workspace *ws = NULL;
  hv_crypto_status rc = hpke__workspace_acquire(skR, &ws, err);

  if (rc == HV_CRYPTO_OK) {
    rc = hpke__decap_with(skR, ws, enc, enc_len, shared_secret, err);
    hpke__workspace_release(skR, ws, rc == HV_CRYPTO_OK);
  }
  return rc;
}
