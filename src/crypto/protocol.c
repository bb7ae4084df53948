/*
 * protocol.c: the server's two HPKE operations of the wire protocol (protocol.md, "Request" and
 * "Response"), and the form of its API keys.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto_int.h"

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
