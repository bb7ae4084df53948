/*
 * hpke.c: the HPKE key schedule and encryption contexts of RFC 9180 §5 (base and psk modes),
 * Seal/Open with sequence numbers, Export, and the single-shot SealBase/OpenBase.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_int.h"

static size_t aead_key_len(uint16_t aead_id) {
  return aead_id == HPKE_AEAD_AES_128_GCM ? 16 : aead_id == HPKE_AEAD_AES_256_GCM ? 32 : 0;
}

static hv_crypto_status check_params(const hpke_setup_params *p, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  bool got_psk = p->psk_len > 0;
  bool got_psk_id = p->psk_id_len > 0;

  if (p->suite.kem_id != HPKE_KEM_P256_HKDF_SHA256 || p->suite.kdf_id != HPKE_KDF_HKDF_SHA256 ||
      (p->suite.aead_id != HPKE_AEAD_AES_128_GCM && p->suite.aead_id != HPKE_AEAD_AES_256_GCM &&
       p->suite.aead_id != HPKE_AEAD_EXPORT_ONLY)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_UNSUPPORTED, "HPKE suite kem %#x kdf %#x aead %#x",
                         p->suite.kem_id, p->suite.kdf_id, p->suite.aead_id);
  } else if (p->mode != HPKE_MODE_BASE && p->mode != HPKE_MODE_PSK) {
    rc = hv_crypto__fail(err, HV_CRYPTO_UNSUPPORTED, "HPKE mode %d", (int)p->mode);
  } else if (p->info_len > HPKE_MAX_INPUT_LEN || p->psk_len > HPKE_MAX_INPUT_LEN ||
             p->psk_id_len > HPKE_MAX_INPUT_LEN || (p->info_len > 0 && p->info == NULL) ||
             (got_psk && p->psk == NULL) || (got_psk_id && p->psk_id == NULL)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "info, psk or psk_id missing or over "
                         "%u bytes", HPKE_MAX_INPUT_LEN);
  } else if (got_psk != got_psk_id || got_psk != (p->mode == HPKE_MODE_PSK)) {
    /* VerifyPSKInputs of RFC 9180 §5.1 */
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_PSK, "mode %s needs %s psk and psk_id",
                         p->mode == HPKE_MODE_PSK ? "psk" : "base",
                         p->mode == HPKE_MODE_PSK ? "a non-empty" : "an empty");
  }
  return rc;
}

/* KeySchedule with a kdf whose HMAC context the caller provides. */
static hv_crypto_status key_schedule(hpke__kdf *kdf, const hpke_setup_params *params,
                                     const uint8_t shared_secret[HPKE_SECRET_LEN],
                                     hpke__schedule *out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t *ksc = out->key_schedule_context;

  memset(out, 0, sizeof *out);
  out->key_len = aead_key_len(params->suite.aead_id);
  out->nonce_len = out->key_len > 0 ? HPKE_NONCE_LEN : 0;
  ksc[0] = (uint8_t)params->mode;
  hpke__kdf_set_suite(kdf, params->suite);
  rc = hpke__labeled_extract(kdf, NULL, 0, "psk_id_hash", params->psk_id, params->psk_id_len,
                             ksc + 1, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__labeled_extract(kdf, NULL, 0, "info_hash", params->info, params->info_len,
                               ksc + 1 + HPKE_SECRET_LEN, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__labeled_extract(kdf, shared_secret, HPKE_SECRET_LEN, "secret", params->psk,
                               params->psk_len, out->secret, err);
  if (rc == HV_CRYPTO_OK && out->key_len > 0)
    rc = hpke__labeled_expand(kdf, out->secret, "key", ksc, HPKE__KSC_LEN, out->key,
                              out->key_len, err);
  if (rc == HV_CRYPTO_OK && out->nonce_len > 0)
    rc = hpke__labeled_expand(kdf, out->secret, "base_nonce", ksc, HPKE__KSC_LEN,
                              out->base_nonce, out->nonce_len, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__labeled_expand(kdf, out->secret, "exp", ksc, HPKE__KSC_LEN,
                              out->exporter_secret, HPKE_SECRET_LEN, err);
  if (rc != HV_CRYPTO_OK)
    OPENSSL_cleanse(out, sizeof *out);
  return rc;
}

hv_crypto_status hpke__key_schedule(const hpke_setup_params *params,
                                    const uint8_t shared_secret[HPKE_SECRET_LEN],
                                    hpke__schedule *out, hv_crypto_err *err) {
  hpke__kdf kdf = {0};
  hv_crypto_status rc = hpke__kdf_init_suite(&kdf, params->suite, err);

  if (rc == HV_CRYPTO_OK)
    rc = key_schedule(&kdf, params, shared_secret, out, err);
  hpke__kdf_cleanup(&kdf);
  return rc;
}

static void ctx_cleanup(hpke_ctx *ctx) {
  EVP_CIPHER_CTX_free(ctx->aead);
  OPENSSL_cleanse(ctx, sizeof *ctx);
}

/* Fills ctx from the KEM's shared secret: key schedule (on kdf), then the AEAD keyed once for
 * all messages. */
static hv_crypto_status ctx_init(hpke_ctx *ctx, hpke__kdf *kdf, const hpke_setup_params *params,
                                 bool sender, const uint8_t shared_secret[HPKE_SECRET_LEN],
                                 hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_CIPHER *cipher = NULL;

  memset(ctx, 0, sizeof *ctx);
  ctx->suite = params->suite;
  ctx->sender = sender;
  rc = key_schedule(kdf, params, shared_secret, &ctx->schedule, err);
  if (rc != HV_CRYPTO_OK || ctx->schedule.key_len == 0)
    goto fail;
  cipher = EVP_CIPHER_fetch(NULL, ctx->schedule.key_len == 16 ? "AES-128-GCM" : "AES-256-GCM",
                            NULL);
  ctx->aead = EVP_CIPHER_CTX_new();
  if (cipher == NULL || ctx->aead == NULL ||
      EVP_CipherInit_ex2(ctx->aead, cipher, ctx->schedule.key, NULL, sender ? 1 : 0, NULL) != 1)
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "setting up AES-GCM");
fail:
  EVP_CIPHER_free(cipher);
  if (rc != HV_CRYPTO_OK)
    ctx_cleanup(ctx);
  return rc;
}

static hv_crypto_status setup_sender(hpke_ctx *ctx, const hpke_setup_params *params,
                                     const hpke_public_key *pkR, uint8_t enc[HPKE_ENC_LEN],
                                     hv_crypto_err *err) {
  hv_crypto_status rc = check_params(params, err);
  hpke__kdf kdf = {0};
  uint8_t shared_secret[HPKE_SECRET_LEN];

  if (rc == HV_CRYPTO_OK && pkR == NULL)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "no recipient public key");
  if (rc == HV_CRYPTO_OK)
    rc = hpke__encap(pkR, params->ikm_e, params->ikm_e_len, enc, shared_secret, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__kdf_init_suite(&kdf, params->suite, err);
  if (rc == HV_CRYPTO_OK)
    rc = ctx_init(ctx, &kdf, params, true, shared_secret, err);
  hpke__kdf_cleanup(&kdf);
  OPENSSL_cleanse(shared_secret, sizeof shared_secret);
  return rc;
}

/* Decap and the key schedule share one pooled workspace of skR (see hpke__workspace). */
static hv_crypto_status setup_recipient(hpke_ctx *ctx, const hpke_setup_params *params,
                                        const hpke_private_key *skR, const uint8_t *enc,
                                        size_t enc_len, hv_crypto_err *err) {
  hv_crypto_status rc = check_params(params, err);
  hpke__workspace *ws = NULL;
  hpke__kdf kdf;
  uint8_t shared_secret[HPKE_SECRET_LEN];

  if (rc == HV_CRYPTO_OK && skR == NULL)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "no recipient private key");
  if (rc == HV_CRYPTO_OK)
    rc = hpke__workspace_acquire(skR, &ws, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  rc = hpke__decap_with(skR, ws, enc, enc_len, shared_secret, err);
  hpke__kdf_borrow(&kdf, ws->hmac);
  if (rc == HV_CRYPTO_OK)
    rc = ctx_init(ctx, &kdf, params, false, shared_secret, err);
  hpke__workspace_release(skR, ws, rc == HV_CRYPTO_OK);
fail:
  OPENSSL_cleanse(shared_secret, sizeof shared_secret);
  return rc;
}

hv_crypto_status hpke_setup_sender(const hpke_setup_params *params, const hpke_public_key *pkR,
                                   uint8_t enc[HPKE_ENC_LEN], hpke_ctx **out,
                                   hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke_ctx *ctx = malloc(sizeof *ctx);

  hv_crypto__begin(err);
  *out = NULL;
  if (ctx == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating an HPKE context");
    goto fail;
  }
  rc = setup_sender(ctx, params, pkR, enc, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = ctx;
  ctx = NULL;
fail:
  free(ctx); /* setup failures have cleansed it already */
  return rc;
}

hv_crypto_status hpke_setup_recipient(const hpke_setup_params *params, const hpke_private_key *skR,
                                      const uint8_t *enc, size_t enc_len, hpke_ctx **out,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke_ctx *ctx = malloc(sizeof *ctx);

  hv_crypto__begin(err);
  *out = NULL;
  if (ctx == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating an HPKE context");
    goto fail;
  }
  rc = setup_recipient(ctx, params, skR, enc, enc_len, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = ctx;
  ctx = NULL;
fail:
  free(ctx);
  return rc;
}

void hpke_ctx_free(hpke_ctx *ctx) {
  if (ctx == NULL)
    return;
  ctx_cleanup(ctx);
  free(ctx);
}

void hpke__compute_nonce(const hpke_ctx *ctx, uint8_t out[HPKE_NONCE_LEN]) {
  memcpy(out, ctx->schedule.base_nonce, HPKE_NONCE_LEN);
  for (size_t i = 0; i < 8; i++)
    out[HPKE_NONCE_LEN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
}

/* What Seal and Open check first; the caller reports the failure. */
static hv_crypto_status check_message(const hpke_ctx *ctx, bool sender, const uint8_t *aad,
                                      size_t aad_len, const uint8_t *in, size_t in_len,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;

  if (ctx == NULL || (aad == NULL && aad_len > 0) || (in == NULL && in_len > 0))
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "missing context or buffer");
  else if (ctx->aead == NULL)
    rc = hv_crypto__fail(err, HV_CRYPTO_UNSUPPORTED, "an export-only context cannot seal or open");
  else if (ctx->sender != sender)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "a %s context cannot %s",
                         ctx->sender ? "sender" : "recipient", sender ? "seal" : "open");
  else if (aad_len > HPKE_MAX_MESSAGE_LEN || in_len > HPKE_MAX_MESSAGE_LEN + HPKE_TAG_LEN)
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "message or aad over %u bytes",
                         HPKE_MAX_MESSAGE_LEN);
  else if (ctx->seq == UINT64_MAX)
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_LIMIT, "no sequence numbers left");
  return rc;
}

hv_crypto_status hpke_seal(hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                           size_t pt_len, uint8_t *ct, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t nonce[HPKE_NONCE_LEN];
  int n = 0;
  int final_len = 0;

  hv_crypto__begin(err);
  rc = check_message(ctx, true, aad, aad_len, pt, pt_len, err);
  if (rc == HV_CRYPTO_OK && pt_len > HPKE_MAX_MESSAGE_LEN)
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "plaintext over %u bytes",
                         HPKE_MAX_MESSAGE_LEN);
  if (rc == HV_CRYPTO_OK && ct == NULL)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "no ciphertext buffer");
  if (rc != HV_CRYPTO_OK)
    goto done;
  hpke__compute_nonce(ctx, nonce);
  if (EVP_CipherInit_ex2(ctx->aead, NULL, NULL, nonce, 1, NULL) != 1 ||
      (aad_len > 0 && EVP_CipherUpdate(ctx->aead, NULL, &n, aad, (int)aad_len) != 1) ||
      (pt_len > 0 && EVP_CipherUpdate(ctx->aead, ct, &n, pt, (int)pt_len) != 1) ||
      EVP_CipherFinal_ex(ctx->aead, ct + (pt_len > 0 ? n : 0), &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx->aead, EVP_CTRL_AEAD_GET_TAG, HPKE_TAG_LEN, ct + pt_len) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "AES-GCM encryption");
    goto done;
  }
  ctx->seq++;
done:
  return rc;
}

hv_crypto_status hpke_open(hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                           size_t ct_len, uint8_t *pt, size_t *pt_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t nonce[HPKE_NONCE_LEN];
  uint8_t tag[HPKE_TAG_LEN];
  size_t body = ct_len >= HPKE_TAG_LEN ? ct_len - HPKE_TAG_LEN : 0;
  int n = 0;
  int final_len = 0;

  hv_crypto__begin(err);
  *pt_len = 0;
  rc = check_message(ctx, false, aad, aad_len, ct, ct_len, err);
  if (rc == HV_CRYPTO_OK && ct_len < HPKE_TAG_LEN)
    rc = hv_crypto__fail(err, HV_CRYPTO_DECRYPT_FAILED, "ciphertext shorter than its tag");
  if (rc == HV_CRYPTO_OK && pt == NULL && body > 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "no plaintext buffer");
  if (rc != HV_CRYPTO_OK)
    goto done;
  memcpy(tag, ct + body, HPKE_TAG_LEN); /* the ctrl wants a writable buffer */
  hpke__compute_nonce(ctx, nonce);
  if (EVP_CipherInit_ex2(ctx->aead, NULL, NULL, nonce, 0, NULL) != 1 ||
      (aad_len > 0 && EVP_CipherUpdate(ctx->aead, NULL, &n, aad, (int)aad_len) != 1) ||
      (body > 0 && EVP_CipherUpdate(ctx->aead, pt, &n, ct, (int)body) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx->aead, EVP_CTRL_AEAD_SET_TAG, HPKE_TAG_LEN, tag) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "AES-GCM decryption");
    goto done;
  }
  if (EVP_CipherFinal_ex(ctx->aead, pt + (body > 0 ? n : 0), &final_len) != 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_DECRYPT_FAILED,
                              "decryption or authentication failed");
    goto done;
  }
  *pt_len = body;
  ctx->seq++;
done:
  if (rc != HV_CRYPTO_OK && pt != NULL && body > 0)
    OPENSSL_cleanse(pt, body); /* never hand out unauthenticated plaintext */
  return rc;
}

hv_crypto_status hpke_export(const hpke_ctx *ctx, const uint8_t *exporter_context,
                             size_t exporter_context_len, uint8_t *out, size_t L,
                             hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke__kdf kdf = {0};

  hv_crypto__begin(err);
  if (ctx == NULL || out == NULL || (exporter_context == NULL && exporter_context_len > 0) ||
      exporter_context_len > HPKE_MAX_INPUT_LEN || L == 0 || L > HPKE_MAX_EXPORT_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT,
                         "Export needs a context of at most %u bytes and 1 <= L <= %u",
                         HPKE_MAX_INPUT_LEN, HPKE_MAX_EXPORT_LEN);
    goto done;
  }
  rc = hpke__kdf_init_suite(&kdf, ctx->suite, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke__labeled_expand(&kdf, ctx->schedule.exporter_secret, "sec", exporter_context,
                              exporter_context_len, out, L, err);
done:
  hpke__kdf_cleanup(&kdf);
  return rc;
}

hv_crypto_status hpke_seal_base(hpke_suite suite, const hpke_public_key *pkR, const uint8_t *info,
                                size_t info_len, const uint8_t *aad, size_t aad_len,
                                const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len,
                                hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const hpke_setup_params params = {
      .suite = suite, .mode = HPKE_MODE_BASE, .info = info, .info_len = info_len};
  hpke_ctx ctx = {0};
  uint8_t *buf = NULL;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (pt_len > HPKE_MAX_MESSAGE_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "plaintext over %u bytes",
                         HPKE_MAX_MESSAGE_LEN);
    goto fail;
  }
  buf = malloc(HPKE_ENC_LEN + pt_len + HPKE_TAG_LEN);
  if (buf == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of ciphertext",
                         HPKE_ENC_LEN + pt_len + HPKE_TAG_LEN);
    goto fail;
  }
  rc = setup_sender(&ctx, &params, pkR, buf, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  rc = hpke_seal(&ctx, aad, aad_len, pt, pt_len, buf + HPKE_ENC_LEN, err);
  ctx_cleanup(&ctx);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = buf;
  *out_len = HPKE_ENC_LEN + pt_len + HPKE_TAG_LEN;
  buf = NULL;
fail:
  free(buf);
  return rc;
}

hv_crypto_status hpke_open_base(hpke_suite suite, const hpke_private_key *skR, const uint8_t *in,
                                size_t in_len, const uint8_t *info, size_t info_len,
                                const uint8_t *aad, size_t aad_len, uint8_t **out,
                                size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const hpke_setup_params params = {
      .suite = suite, .mode = HPKE_MODE_BASE, .info = info, .info_len = info_len};
  hpke_ctx ctx = {0};
  uint8_t *buf = NULL;
  size_t ct_len = in_len > HPKE_ENC_LEN ? in_len - HPKE_ENC_LEN : 0;
  size_t pt_len = 0;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (in == NULL || in_len < HPKE_ENC_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_ENC, "input of %zu bytes is shorter than enc (%d)",
                         in_len, HPKE_ENC_LEN);
    goto fail;
  }
  if (ct_len > HPKE_MAX_MESSAGE_LEN + HPKE_TAG_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "ciphertext over %u bytes",
                         HPKE_MAX_MESSAGE_LEN);
    goto fail;
  }
  buf = malloc(ct_len > HPKE_TAG_LEN ? ct_len - HPKE_TAG_LEN : 1);
  if (buf == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of plaintext", ct_len);
    goto fail;
  }
  rc = setup_recipient(&ctx, &params, skR, in, HPKE_ENC_LEN, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  rc = hpke_open(&ctx, aad, aad_len, in + HPKE_ENC_LEN, ct_len, buf, &pt_len, err);
  ctx_cleanup(&ctx);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = buf;
  *out_len = pt_len;
  buf = NULL;
fail:
  free(buf);
  return rc;
}
