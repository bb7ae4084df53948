/*
 * client.c: the client's side of the encrypted round trip (hv_client.h), built on hv_crypto's
 * public API only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_client.h"

struct hv_client_key {
  hpke_private_key *sk;
};

/* Records status and a message in err (may be NULL); returns status. */
static hv_crypto_status client_fail(hv_crypto_err *err, hv_crypto_status status, const char *fmt,
                                    ...) __attribute__((format(printf, 3, 4)));

static hv_crypto_status client_fail(hv_crypto_err *err, hv_crypto_status status, const char *fmt,
                                    ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    if (vsnprintf(err->message, sizeof err->message, fmt, ap) < 0)
      snprintf(err->message, sizeof err->message, "%s", hv_crypto_status_text(status));
    va_end(ap);
  }
  return status;
}

static void client_begin(hv_crypto_err *err) {
  if (err != NULL) {
    err->status = HV_CRYPTO_OK;
    err->message[0] = '\0';
  }
}

/* ---- Keys ----------------------------------------------------------------------------------- */

hv_crypto_status hv_client_key_generate(hv_client_key **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hv_client_key *key = calloc(1, sizeof *key);

  client_begin(err);
  *out = NULL;
  if (key == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating a client key");
    goto fail;
  }
  rc = hpke_private_key_generate(&key->sk, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = key;
  key = NULL;
fail:
  hv_client_key_free(key);
  return rc;
}

const uint8_t *hv_client_key_public(const hv_client_key *key) {
  return hpke_private_key_public(key->sk);
}

hv_crypto_status hv_client_key_public_base64(const hv_client_key *key, char **out,
                                             hv_crypto_err *err) {
  return hv_crypto_base64_encode(hv_client_key_public(key), HPKE_PUBLIC_KEY_LEN, out, NULL, err);
}

void hv_client_key_free(hv_client_key *key) {
  if (key == NULL)
    return;
  hpke_private_key_free(key->sk); /* cleanses the private key */
  free(key);
}

/* ---- Request -------------------------------------------------------------------------------- */

hv_crypto_status hv_client_seal_request(const hv_client_key *key, const uint8_t *server_public_key,
                                        size_t server_public_key_len, const char *function_name,
                                        const uint8_t *wasm, size_t wasm_len,
                                        hv_client_sealed *out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hpke_public_key *server = NULL;
  size_t name_len = function_name != NULL ? strnlen(function_name, HPKE_MAX_MESSAGE_LEN) : 0;
  uint8_t *aad = NULL;

  client_begin(err);
  memset(out, 0, sizeof *out);
  if (key == NULL || function_name == NULL || name_len >= HPKE_MAX_MESSAGE_LEN) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key or function name missing");
    goto fail;
  }
  rc = hpke_public_key_parse(server_public_key, server_public_key_len, &server, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  aad = malloc(HPKE_PUBLIC_KEY_LEN + name_len);
  if (aad == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating the request aad");
    goto fail;
  }
  /* aad = client_public_key_sec1 || utf8(function_name) */
  memcpy(aad, hv_client_key_public(key), HPKE_PUBLIC_KEY_LEN);
  memcpy(aad + HPKE_PUBLIC_KEY_LEN, function_name, name_len);
  rc = hpke_seal_base(HPKE_SUITE_PROTOCOL, server, (const uint8_t *)HV_PROTOCOL_REQUEST_INFO,
                      sizeof HV_PROTOCOL_REQUEST_INFO - 1, aad, HPKE_PUBLIC_KEY_LEN + name_len,
                      wasm, wasm_len, &out->bytes, &out->len, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto_base64_encode(out->bytes, out->len, &out->base64, &out->base64_len, err);
fail:
  if (rc != HV_CRYPTO_OK)
    hv_client_sealed_free(out);
  free(aad);
  hpke_public_key_free(server);
  return rc;
}

void hv_client_sealed_free(hv_client_sealed *sealed) {
  if (sealed == NULL)
    return;
  free(sealed->bytes);
  free(sealed->base64);
  memset(sealed, 0, sizeof *sealed);
}

/* ---- Response ------------------------------------------------------------------------------- */

hv_crypto_status hv_client_open_response(const hv_client_key *key, const char *request_id,
                                         const uint8_t *sealed, size_t sealed_len,
                                         uint8_t **document, size_t *document_len,
                                         hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t *pt = NULL;
  size_t pt_len = 0;
  uint8_t *doc = NULL;

  client_begin(err);
  *document = NULL;
  *document_len = 0;
  if (key == NULL || request_id == NULL) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key or request_id missing");
    goto fail;
  }
  rc = hpke_open_base(HPKE_SUITE_PROTOCOL, key->sk, sealed, sealed_len,
                      (const uint8_t *)HV_PROTOCOL_RESPONSE_INFO,
                      sizeof HV_PROTOCOL_RESPONSE_INFO - 1, (const uint8_t *)request_id,
                      strlen(request_id), &pt, &pt_len, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  doc = malloc(pt_len + 1); /* room for the NUL the header promises */
  if (doc == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating the result document");
    goto fail;
  }
  memcpy(doc, pt, pt_len);
  doc[pt_len] = '\0';
  *document = doc;
  *document_len = pt_len;
fail:
  free(pt);
  return rc;
}

hv_crypto_status hv_client_open_response_base64(const hv_client_key *key, const char *request_id,
                                                const char *encrypted_result, size_t len,
                                                uint8_t **document, size_t *document_len,
                                                hv_crypto_err *err) {
  uint8_t *sealed = NULL;
  size_t sealed_len = 0;
  hv_crypto_status rc = hv_crypto_base64_decode(encrypted_result, len, &sealed, &sealed_len, err);

  *document = NULL;
  *document_len = 0;
  if (rc == HV_CRYPTO_OK)
    rc = hv_client_open_response(key, request_id, sealed, sealed_len, document, document_len, err);
  free(sealed);
  return rc;
}

/* ---- Checking the result -------------------------------------------------------------------- */

static hv_crypto_status compute_commitments(const uint8_t *document, size_t document_len,
                                            const hv_result_document *doc,
                                            const hv_client_expected *e,
                                            hv_client_commitments *c, hv_crypto_err *err) {
  hv_crypto_status rc = hv_commit_result(document, document_len, c->result, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_commit_program(doc->nonce, e->wasm, e->wasm_len, c->program, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_commit_arguments(doc->nonce, e->arguments, e->argument_count, c->arguments, err);
  return rc;
}

/* The document's own fields against the request. */
static hv_crypto_status check_fields(const hv_result_document *doc, const hv_client_expected *e,
                                     hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char program_sha256[HV_COMMIT_HEX_LEN + 1];

  rc = hv_commit_sha256_hex(e->wasm, e->wasm_len, program_sha256, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  if (strcmp(doc->request_id, e->request_id) != 0)
    rc = client_fail(err, HV_CRYPTO_DOCUMENT_MISMATCH, "the document is for another request_id");
  else if (strcmp(doc->function_name, e->function_name) != 0)
    rc = client_fail(err, HV_CRYPTO_DOCUMENT_MISMATCH, "the document is for another function");
  else if (!hv_commit_hex_equal(doc->program_sha256, program_sha256))
    rc = client_fail(err, HV_CRYPTO_DOCUMENT_MISMATCH,
                     "the document's program_sha256 is not the SHA-256 of the module sent");
fail:
  return rc;
}

/* Compares each commitment the response gave with the recomputed one. */
static hv_crypto_status check_commitments(const hv_client_commitments *c,
                                          const hv_client_expected *e, hv_crypto_err *err) {
  const char *names[] = {"result", "program", "arguments"};
  const char *given[] = {e->result_commitment, e->program_commitment, e->arguments_commitment};
  const char *computed[] = {c->result, c->program, c->arguments};
  hv_crypto_status rc = HV_CRYPTO_OK;

  for (size_t i = 0; rc == HV_CRYPTO_OK && i < 3; i++) {
    if (given[i] != NULL && !hv_commit_hex_equal(given[i], computed[i]))
      rc = client_fail(err, HV_CRYPTO_COMMITMENT_MISMATCH,
                       "%s_commitment does not match the document", names[i]);
  }
  return rc;
}

hv_crypto_status hv_client_check_result(const uint8_t *document, size_t document_len,
                                        const hv_client_expected *expected,
                                        hv_result_document **out, hv_client_commitments *computed,
                                        hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hv_result_document *doc = NULL;
  hv_client_commitments local;
  hv_client_commitments *c = computed != NULL ? computed : &local;

  client_begin(err);
  memset(c, 0, sizeof *c);
  if (out != NULL)
    *out = NULL;
  if (expected == NULL || expected->request_id == NULL || expected->function_name == NULL ||
      (expected->wasm == NULL && expected->wasm_len > 0) ||
      (expected->arguments == NULL && expected->argument_count > 0)) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "incomplete expectations");
    goto fail;
  }
  rc = hv_commit_document_parse(document, document_len, &doc, err);
  if (rc == HV_CRYPTO_OK)
    rc = compute_commitments(document, document_len, doc, expected, c, err);
  if (rc == HV_CRYPTO_OK)
    rc = check_fields(doc, expected, err);
  if (rc == HV_CRYPTO_OK)
    rc = check_commitments(c, expected, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  if (out != NULL) {
    *out = doc;
    doc = NULL;
  }
fail:
  hv_commit_document_free(doc);
  return rc;
}
