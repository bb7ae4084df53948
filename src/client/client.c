/*
 * client.c: the client's side of the encrypted round trip (hv_client.h), built on hv_crypto's
 * public API and, for the invocation document, on the JSON value writer the result document uses
 * (crypto_json.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "crypto_json.h"
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

hv_crypto_status hv_client_seal_request_v11(const hv_client_key *key,
                                            const uint8_t *server_public_key,
                                            size_t server_public_key_len, const uint8_t *wasm,
                                            size_t wasm_len, const uint8_t *invocation,
                                            size_t invocation_len, hv_client_sealed *out_wasm,
                                            hv_client_sealed *out_invocation, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL,
                                    .mode = HPKE_MODE_BASE,
                                    .info = (const uint8_t *)HV_PROTOCOL_REQUEST_INFO_V11,
                                    .info_len = sizeof HV_PROTOCOL_REQUEST_INFO_V11 - 1};
  hpke_public_key *server = NULL;
  hpke_ctx *ctx = NULL;
  const uint8_t *aad = NULL;

  client_begin(err);
  memset(out_wasm, 0, sizeof *out_wasm);
  memset(out_invocation, 0, sizeof *out_invocation);
  if (key == NULL || (wasm == NULL && wasm_len > 0) ||
      (invocation == NULL && invocation_len > 0)) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key, module or invocation missing");
    goto fail;
  }
  if (wasm_len > HPKE_MAX_MESSAGE_LEN || invocation_len > HPKE_MAX_MESSAGE_LEN) {
    rc = client_fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "module or invocation over %u bytes",
                     HPKE_MAX_MESSAGE_LEN);
    goto fail;
  }
  rc = hpke_public_key_parse(server_public_key, server_public_key_len, &server, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  /* Lengths below 2^30 + 81: no overflow. */
  out_wasm->len = HPKE_ENC_LEN + wasm_len + HPKE_TAG_LEN;
  out_invocation->len = invocation_len + HPKE_TAG_LEN;
  out_wasm->bytes = malloc(out_wasm->len);
  out_invocation->bytes = malloc(out_invocation->len);
  if (out_wasm->bytes == NULL || out_invocation->bytes == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of ciphertext",
                     out_wasm->len + out_invocation->len);
    goto fail;
  }
  aad = hv_client_key_public(key); /* aad = client_public_key_sec1, for both messages */
  rc = hpke_setup_sender(&params, server, out_wasm->bytes, &ctx, err);
  if (rc == HV_CRYPTO_OK) /* sequence 0 */
    rc = hpke_seal(ctx, aad, HPKE_PUBLIC_KEY_LEN, wasm, wasm_len, out_wasm->bytes + HPKE_ENC_LEN,
                   err);
  if (rc == HV_CRYPTO_OK) /* sequence 1 */
    rc = hpke_seal(ctx, aad, HPKE_PUBLIC_KEY_LEN, invocation, invocation_len,
                   out_invocation->bytes, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto_base64_encode(out_wasm->bytes, out_wasm->len, &out_wasm->base64,
                                 &out_wasm->base64_len, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto_base64_encode(out_invocation->bytes, out_invocation->len,
                                 &out_invocation->base64, &out_invocation->base64_len, err);
fail:
  if (rc != HV_CRYPTO_OK) {
    hv_client_sealed_free(out_wasm);
    hv_client_sealed_free(out_invocation);
  }
  hpke_ctx_free(ctx);
  hpke_public_key_free(server);
  return rc;
}

hv_crypto_status hv_client_invocation_build(const char *function_name, const hv_value *args,
                                            size_t arg_count, hv_type result_type, char **out,
                                            size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *root = NULL, *name = NULL, *arguments = NULL, *results = NULL;
  bool declares = result_type == HV_TYPE_STRING || result_type == HV_TYPE_BYTES;
  size_t len = 0;
  int bad = 0;

  client_begin(err);
  *out = NULL;
  if (out_len != NULL)
    *out_len = 0;
  if (function_name == NULL || (args == NULL && arg_count > 0) ||
      arg_count > HV_COMMIT_MAX_VALUES || (result_type != 0 && !declares)) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "function name missing, over %d arguments "
                     "or a result type other than string or bytes", HV_COMMIT_MAX_VALUES);
    goto fail;
  }
  rc = hv_crypto__string_to_json(function_name, strlen(function_name), "function_name", &name,
                                 err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto__values_to_json(args, arg_count, "argument", &arguments, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  root = json_object();
  results = declares ? json_array() : NULL;
  if (root == NULL || (declares && results == NULL)) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating the invocation document");
    goto fail;
  }
  /* Each set takes its value's reference, even when it fails. */
  bad = json_object_set_new(root, "function_name", name) |
        json_object_set_new(root, "arguments", arguments);
  name = arguments = NULL;
  if (declares) {
    bad |= json_array_append_new(results, json_string(hv_type_name(result_type))) |
           json_object_set_new(root, "results", results);
    results = NULL;
  }
  if (bad != 0) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising the invocation document");
    goto fail;
  }
  rc = hv_crypto__json_dump(root, out, &len, err);
  if (rc == HV_CRYPTO_OK && out_len != NULL)
    *out_len = len;
fail:
  json_decref(name);
  json_decref(arguments);
  json_decref(results);
  json_decref(root);
  return rc;
}

hv_crypto_status hv_client_wasi_invocation_build(const char *const *argv, size_t argc,
                                                 const uint8_t *stdin_data, size_t stdin_len,
                                                 char **out, size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *root = NULL, *array = NULL, *in = NULL;
  char *b64 = NULL;
  size_t b64_len = 0, len = 0;
  int bad = 0;

  client_begin(err);
  *out = NULL;
  if (out_len != NULL)
    *out_len = 0;
  if ((argv == NULL && argc > 0) || argc >= HV_COMMIT_MAX_VALUES ||
      (stdin_data == NULL && stdin_len > 0)) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "argv missing, over %d strings, or stdin "
                     "without its bytes", HV_COMMIT_MAX_VALUES - 1);
    goto fail;
  }
  root = json_object();
  array = json_array();
  if (root == NULL || array == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating the invocation document");
    goto fail;
  }
  for (size_t k = 0; rc == HV_CRYPTO_OK && k < argc; k++) {
    json_t *arg = NULL;
    rc = hv_crypto__string_to_json(argv[k], strlen(argv[k]), "an argv string", &arg, err);
    if (rc == HV_CRYPTO_OK && json_array_append_new(array, arg) != 0)
      rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising argv");
  }
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto_base64_encode(stdin_data, stdin_len, &b64, &b64_len, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  in = json_stringn(b64, b64_len);
  /* Each set takes its value's reference, even when it fails. */
  bad = json_object_set_new(root, "function_name", json_string("_start")) |
        json_object_set_new(root, "argv", array) | json_object_set_new(root, "stdin", in);
  array = in = NULL;
  if (bad != 0) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising the invocation document");
    goto fail;
  }
  rc = hv_crypto__json_dump(root, out, &len, err);
  if (rc == HV_CRYPTO_OK && out_len != NULL)
    *out_len = len;
fail:
  if (b64 != NULL)
    OPENSSL_cleanse(b64, b64_len); /* stdin may be secret */
  free(b64);
  json_decref(array);
  json_decref(in);
  json_decref(root);
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

/* ---- Sealed errors (v1.1) ------------------------------------------------------------------- */

/* A malloc'ed copy of the string member key of obj (no NULs: the parser refused them), or NULL. */
static char *member_copy(const json_t *obj, const char *key) {
  const json_t *j = json_object_get(obj, key);
  const char *s = json_string_value(j);
  size_t len = s != NULL ? json_string_length(j) : 0;
  char *copy = s != NULL ? malloc(len + 1) : NULL;

  if (copy != NULL)
    memcpy(copy, s, len + 1);
  return copy;
}

/* Parses the opened error document into *error_code and *message. */
static hv_crypto_status parse_error(const uint8_t *doc, size_t doc_len, const char *request_id,
                                    char **error_code, char **message, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_error_t jerr;
  json_t *root = json_loadb((const char *)doc, doc_len, JSON_REJECT_DUPLICATES, &jerr);
  const char *id = json_string_value(json_object_get(root, "request_id"));

  if (!json_is_object(root) || id == NULL ||
      !json_is_string(json_object_get(root, "error_code")) ||
      !json_is_string(json_object_get(root, "message"))) {
    rc = client_fail(err, HV_CRYPTO_BAD_DOCUMENT, "the sealed error is not a JSON object with "
                     "string request_id, error_code and message");
    goto fail;
  }
  if (strcmp(id, request_id) != 0) {
    rc = client_fail(err, HV_CRYPTO_DOCUMENT_MISMATCH, "the sealed error is for another "
                     "request_id");
    goto fail;
  }
  *error_code = member_copy(root, "error_code");
  *message = member_copy(root, "message");
  if (*error_code == NULL || *message == NULL) {
    free(*error_code);
    free(*message);
    *error_code = *message = NULL;
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating the error's message");
  }
fail:
  json_decref(root);
  return rc;
}

hv_crypto_status hv_client_open_error_base64(const hv_client_key *key, const char *request_id,
                                             const char *encrypted_error, size_t len,
                                             char **error_code, char **message,
                                             hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t *sealed = NULL, *pt = NULL;
  size_t sealed_len = 0, pt_len = 0;

  client_begin(err);
  *error_code = NULL;
  *message = NULL;
  if (key == NULL || request_id == NULL) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key or request_id missing");
    goto fail;
  }
  rc = hv_crypto_base64_decode(encrypted_error, len, &sealed, &sealed_len, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  if (sealed_len > HPKE_ENC_LEN + HPKE_TAG_LEN + HV_CLIENT_MAX_ERROR_DOCUMENT) {
    rc = client_fail(err, HV_CRYPTO_BAD_DOCUMENT, "the sealed error is over %zu bytes",
                     HV_CLIENT_MAX_ERROR_DOCUMENT);
    goto fail;
  }
  rc = hpke_open_base(HPKE_SUITE_PROTOCOL, key->sk, sealed, sealed_len,
                      (const uint8_t *)HV_PROTOCOL_ERROR_INFO, sizeof HV_PROTOCOL_ERROR_INFO - 1,
                      (const uint8_t *)request_id, strlen(request_id), &pt, &pt_len, err);
  if (rc == HV_CRYPTO_OK)
    rc = parse_error(pt, pt_len, request_id, error_code, message, err);
fail:
  if (pt != NULL)
    OPENSSL_cleanse(pt, pt_len);
  free(pt);
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
