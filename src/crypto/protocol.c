/*
 * protocol.c: the server's HPKE operations of the wire protocol (protocol.md, "Request" and
 * "Response"; v1.1's "Confidential invocation" and "Sealed errors"), and the form of its API keys.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto_int.h"
#include "crypto_json.h"

hv_crypto_status hv_keyring_open_request(hv_keyring *ring, const char *key_id, const uint8_t *in,
                                         size_t in_len, const hpke_public_key *client_pk,
                                         const char *function_name, uint8_t **wasm,
                                         size_t *wasm_len, char used_key_id[HV_KEY_ID_LEN + 1],
                                         hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t name_len = function_name != NULL ? strnlen(function_name, HPKE_MAX_MESSAGE_LEN) : 0;
  uint8_t *aad = NULL;

  hv_crypto__begin(err);
  *wasm = NULL;
  *wasm_len = 0;
  if (ring == NULL || client_pk == NULL || function_name == NULL ||
      name_len >= HPKE_MAX_MESSAGE_LEN - HPKE_PUBLIC_KEY_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "key ring, client key or function "
                         "name missing or too long");
    goto fail;
  }
  aad = malloc(HPKE_PUBLIC_KEY_LEN + name_len);
  if (aad == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the request aad");
    goto fail;
  }
  /* aad = client_public_key_sec1 || utf8(function_name) */
  memcpy(aad, hpke_public_key_sec1(client_pk), HPKE_PUBLIC_KEY_LEN);
  memcpy(aad + HPKE_PUBLIC_KEY_LEN, function_name, name_len);
  rc = hv_keyring_decrypt(ring, key_id, in, in_len, (const uint8_t *)HV_PROTOCOL_REQUEST_INFO,
                          sizeof HV_PROTOCOL_REQUEST_INFO - 1, aad, HPKE_PUBLIC_KEY_LEN + name_len,
                          wasm, wasm_len, used_key_id, err);
fail:
  free(aad);
  return rc;
}

/* ---- v1.1: the module and the invocation, two messages of one context ------------------------ */

/* What one attempt of hv_keyring_open_request_v11 needs; the plaintext buffers are allocated
 * once, before the key ring is locked, and reused for each key. */
typedef struct open_v11 {
  const uint8_t *enc;
  const uint8_t *ct_wasm;
  size_t ct_wasm_len;
  const uint8_t *ct_call;
  size_t ct_call_len;
  const uint8_t *aad; /* SEC1(client_pk) */
  uint8_t *wasm;      /* ct_wasm_len - tag bytes (at least 1) */
  size_t wasm_len;
  uint8_t *invocation; /* ct_call_len - tag + 1 bytes */
  size_t invocation_len;
} open_v11;

static hv_crypto_status open_v11_attempt(const hpke_private_key *sk, void *arg, bool *final,
                                         hv_crypto_err *err) {
  open_v11 *a = arg;
  const hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL,
                                    .mode = HPKE_MODE_BASE,
                                    .info = (const uint8_t *)HV_PROTOCOL_REQUEST_INFO_V11,
                                    .info_len = sizeof HV_PROTOCOL_REQUEST_INFO_V11 - 1};
  hpke_ctx *ctx = NULL;
  hv_crypto_status rc = hpke_setup_recipient(&params, sk, a->enc, HPKE_ENC_LEN, &ctx, err);

  *final = false;
  if (rc == HV_CRYPTO_OK) /* sequence 0: a failure here means "not this key" */
    rc = hpke_open(ctx, a->aad, HPKE_PUBLIC_KEY_LEN, a->ct_wasm, a->ct_wasm_len, a->wasm,
                   &a->wasm_len, err);
  if (rc == HV_CRYPTO_OK) { /* sequence 1 */
    *final = true;
    rc = hpke_open(ctx, a->aad, HPKE_PUBLIC_KEY_LEN, a->ct_call, a->ct_call_len, a->invocation,
                   &a->invocation_len, err);
    if (rc == HV_CRYPTO_DECRYPT_FAILED)
      hv_crypto__fail(err, rc, "encrypted_invocation: decryption or authentication failed");
    if (rc != HV_CRYPTO_OK) {
      OPENSSL_cleanse(a->wasm, a->wasm_len);
      a->wasm_len = 0;
    }
  }
  hpke_ctx_free(ctx);
  return rc;
}

hv_crypto_status hv_keyring_open_request_v11(hv_keyring *ring, const char *key_id,
                                             const uint8_t *in, size_t in_len,
                                             const uint8_t *invocation_ct,
                                             size_t invocation_ct_len,
                                             const hpke_public_key *client_pk, uint8_t **wasm,
                                             size_t *wasm_len, uint8_t **invocation,
                                             size_t *invocation_len,
                                             char used_key_id[HV_KEY_ID_LEN + 1],
                                             hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  open_v11 a = {0};
  const size_t max_ct = (size_t)HPKE_MAX_MESSAGE_LEN + HPKE_TAG_LEN;

  hv_crypto__begin(err);
  *wasm = NULL;
  *wasm_len = 0;
  *invocation = NULL;
  *invocation_len = 0;
  if (used_key_id != NULL)
    used_key_id[0] = '\0';
  if (ring == NULL || client_pk == NULL || (invocation_ct == NULL && invocation_ct_len > 0)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "key ring, client key or "
                         "encrypted_invocation missing");
    goto fail;
  }
  if (in == NULL || in_len < HPKE_ENC_LEN) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_ENC, "encrypted_wasm of %zu bytes is shorter than "
                         "enc (%d)", in_len, HPKE_ENC_LEN);
    goto fail;
  }
  a.enc = in;
  a.ct_wasm = in + HPKE_ENC_LEN;
  a.ct_wasm_len = in_len - HPKE_ENC_LEN;
  a.ct_call = invocation_ct;
  a.ct_call_len = invocation_ct_len;
  a.aad = hpke_public_key_sec1(client_pk);
  if (a.ct_wasm_len > max_ct || a.ct_call_len > max_ct) {
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "encrypted_wasm or "
                         "encrypted_invocation over %u bytes", HPKE_MAX_MESSAGE_LEN);
    goto fail;
  }
  /* Sizes below 2^30 + 16: no overflow. A ciphertext shorter than its tag fails in hpke_open. */
  a.wasm = malloc(a.ct_wasm_len > HPKE_TAG_LEN ? a.ct_wasm_len - HPKE_TAG_LEN : 1);
  a.invocation = malloc((a.ct_call_len > HPKE_TAG_LEN ? a.ct_call_len - HPKE_TAG_LEN : 0) + 1);
  if (a.wasm == NULL || a.invocation == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of plaintext",
                         a.ct_wasm_len + a.ct_call_len);
    goto fail;
  }
  rc = hv_keyring__try(ring, key_id, open_v11_attempt, &a, used_key_id, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  a.invocation[a.invocation_len] = 0;
  *wasm = a.wasm;
  *wasm_len = a.wasm_len;
  *invocation = a.invocation;
  *invocation_len = a.invocation_len;
  a.wasm = a.invocation = NULL;
fail:
  free(a.wasm); /* cleansed by the attempt (or hpke_open) on every failure */
  free(a.invocation);
  return rc;
}

hv_crypto_status hv_crypto_seal_error(const hpke_public_key *client_pk, const char *request_id,
                                      const char *error_code, const char *message, uint8_t **out,
                                      size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *root = NULL, *id = NULL, *code = NULL, *text = NULL;
  char *doc = NULL;
  size_t doc_len = 0;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (client_pk == NULL || request_id == NULL || error_code == NULL || message == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key, request_id, error_code "
                         "or message missing");
    goto fail;
  }
  rc = hv_crypto__string_to_json(request_id, strlen(request_id), "request_id", &id, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto__string_to_json(error_code, strlen(error_code), "error_code", &code, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto__string_to_json(message, strlen(message), "message", &text, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  root = json_object();
  if (root == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the error document");
    goto fail;
  }
  /* Each set takes its value's reference, even when it fails. */
  if ((json_object_set_new(root, "request_id", id) | json_object_set_new(root, "error_code", code) |
       json_object_set_new(root, "message", text)) != 0) {
    id = code = text = NULL;
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising the error document");
    goto fail;
  }
  id = code = text = NULL;
  rc = hv_crypto__json_dump(root, &doc, &doc_len, err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke_seal_base(HPKE_SUITE_PROTOCOL, client_pk, (const uint8_t *)HV_PROTOCOL_ERROR_INFO,
                        sizeof HV_PROTOCOL_ERROR_INFO - 1, (const uint8_t *)request_id,
                        strlen(request_id), (const uint8_t *)doc, doc_len, out, out_len, err);
fail:
  if (doc != NULL)
    OPENSSL_cleanse(doc, doc_len);
  free(doc);
  json_decref(id);
  json_decref(code);
  json_decref(text);
  json_decref(root);
  return rc;
}

hv_crypto_status hv_crypto_seal_response(const hpke_public_key *client_pk, const char *request_id,
                                         const uint8_t *document, size_t document_len,
                                         uint8_t **out, size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (client_pk == NULL || request_id == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key or request_id missing");
    goto fail;
  }
  rc = hpke_seal_base(HPKE_SUITE_PROTOCOL, client_pk,
                      (const uint8_t *)HV_PROTOCOL_RESPONSE_INFO,
                      sizeof HV_PROTOCOL_RESPONSE_INFO - 1, (const uint8_t *)request_id,
                      strlen(request_id), document, document_len, out, out_len, err);
fail:
  return rc;
}

hv_crypto_status hv_api_key_new(char key[HV_API_KEY_LEN + 1], uint8_t sha256[32],
                                hv_crypto_err *err) {
  uint8_t raw[32];
  unsigned int sha_len = 0;

  hv_crypto__begin(err);
  memcpy(key, HV_API_KEY_PREFIX, sizeof HV_API_KEY_PREFIX);
  if (RAND_bytes(raw, sizeof raw) != 1)
    return hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "drawing an API key");
  hv_crypto_hex_encode(raw, sizeof raw, key + sizeof HV_API_KEY_PREFIX - 1);
  OPENSSL_cleanse(raw, sizeof raw);
  if (EVP_Digest(key, HV_API_KEY_LEN, sha256, &sha_len, EVP_sha256(), NULL) != 1 ||
      sha_len != 32) {
    OPENSSL_cleanse(key, HV_API_KEY_LEN + 1);
    return hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "hashing an API key");
  }
  return HV_CRYPTO_OK;
}
