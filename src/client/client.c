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

/* Copies the NUL-terminated s to w; returns the end of what it wrote. */
static char *client_put(char *w, const char *s) {
  size_t n = strlen(s);
  memcpy(w, s, n);
  return w + n;
}

/* The v1.1 sealing: enc || ct_wasm to wasm_out (HPKE_ENC_LEN + wasm_len + HPKE_TAG_LEN bytes)
 * and ct_call to call_out (invocation_len + HPKE_TAG_LEN), one context, sequences 0 and 1. The
 * arguments were checked by the caller. */
static hv_crypto_status client_seal_v11(const hv_client_key *key, const uint8_t *server_public_key,
                                        size_t server_public_key_len, const uint8_t *wasm,
                                        size_t wasm_len, const uint8_t *invocation,
                                        size_t invocation_len, uint8_t *wasm_out,
                                        uint8_t *call_out, hv_crypto_err *err) {
  const hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL,
                                    .mode = HPKE_MODE_BASE,
                                    .info = (const uint8_t *)HV_PROTOCOL_REQUEST_INFO_V11,
                                    .info_len = sizeof HV_PROTOCOL_REQUEST_INFO_V11 - 1};
  hpke_public_key *server = NULL;
  hpke_ctx *ctx = NULL;
  const uint8_t *aad = hv_client_key_public(key); /* client_public_key_sec1, for both messages */
  hv_crypto_status rc = hpke_public_key_parse(server_public_key, server_public_key_len, &server,
                                              err);
  if (rc == HV_CRYPTO_OK)
    rc = hpke_setup_sender(&params, server, wasm_out, &ctx, err);
  if (rc == HV_CRYPTO_OK) /* sequence 0 */
    rc = hpke_seal(ctx, aad, HPKE_PUBLIC_KEY_LEN, wasm, wasm_len, wasm_out + HPKE_ENC_LEN, err);
  if (rc == HV_CRYPTO_OK) /* sequence 1 */
    rc = hpke_seal(ctx, aad, HPKE_PUBLIC_KEY_LEN, invocation, invocation_len, call_out, err);
  hpke_ctx_free(ctx);
  hpke_public_key_free(server);
  return rc;
}

/* The checks both v1.1 sealers make of their arguments. */
static hv_crypto_status client_check_v11(const hv_client_key *key, const uint8_t *wasm,
                                         size_t wasm_len, const uint8_t *invocation,
                                         size_t invocation_len, hv_crypto_err *err) {
  if (key == NULL || (wasm == NULL && wasm_len > 0) || (invocation == NULL && invocation_len > 0))
    return client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "client key, module or invocation missing");
  if (wasm_len > HPKE_MAX_MESSAGE_LEN || invocation_len > HPKE_MAX_MESSAGE_LEN)
    return client_fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "module or invocation over %u bytes",
                       HPKE_MAX_MESSAGE_LEN);
  return HV_CRYPTO_OK;
}

hv_crypto_status hv_client_seal_request_v11(const hv_client_key *key,
                                            const uint8_t *server_public_key,
                                            size_t server_public_key_len, const uint8_t *wasm,
                                            size_t wasm_len, const uint8_t *invocation,
                                            size_t invocation_len, hv_client_sealed *out_wasm,
                                            hv_client_sealed *out_invocation, hv_crypto_err *err) {
  client_begin(err);
  memset(out_wasm, 0, sizeof *out_wasm);
  memset(out_invocation, 0, sizeof *out_invocation);
  hv_crypto_status rc = client_check_v11(key, wasm, wasm_len, invocation, invocation_len, err);
  if (rc != HV_CRYPTO_OK)
    return rc;
  /* Lengths below 2^30 + 81: no overflow. */
  out_wasm->len = HPKE_ENC_LEN + wasm_len + HPKE_TAG_LEN;
  out_invocation->len = invocation_len + HPKE_TAG_LEN;
  out_wasm->bytes = malloc(out_wasm->len);
  out_invocation->bytes = malloc(out_invocation->len);
  if (out_wasm->bytes == NULL || out_invocation->bytes == NULL)
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of ciphertext",
                     out_wasm->len + out_invocation->len);
  if (rc == HV_CRYPTO_OK)
    rc = client_seal_v11(key, server_public_key, server_public_key_len, wasm, wasm_len, invocation,
                         invocation_len, out_wasm->bytes, out_invocation->bytes, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto_base64_encode(out_wasm->bytes, out_wasm->len, &out_wasm->base64,
                                 &out_wasm->base64_len, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto_base64_encode(out_invocation->bytes, out_invocation->len,
                                 &out_invocation->base64, &out_invocation->base64_len, err);
  if (rc != HV_CRYPTO_OK) {
    hv_client_sealed_free(out_wasm);
    hv_client_sealed_free(out_invocation);
  }
  return rc;
}

static const char BODY_HEAD[] = "{\"encrypted_wasm\":\"",
                  BODY_MIDDLE[] = "\",\"encrypted_invocation\":\"";

/* `members` is NULL or "{...}": its length, or SIZE_MAX when it is not an object's text. */
static size_t client_members_len(const char *members) {
  size_t n = members != NULL ? strlen(members) : 0;
  if (members != NULL && (n < 2 || members[0] != '{' || members[n - 1] != '}'))
    return SIZE_MAX;
  return n;
}

/* Ends a body at w: the closing quote of the last base64 text, then ,MEMBERS or }. */
static char *client_body_end(char *w, const char *members, size_t members_len) {
  w = client_put(w, "\"");
  if (members_len > 2) {
    *w++ = ',';
    w = client_put(w, members + 1);
  } else {
    w = client_put(w, "}");
  }
  *w = '\0';
  return w;
}

/* Body length for base64 texts of wasm_b64 and call_b64 characters. */
static size_t client_body_len(size_t wasm_b64, size_t call_b64, size_t members_len) {
  /* the closing quote, then "," and the members without their "{", or "}" */
  return sizeof BODY_HEAD - 1 + wasm_b64 + sizeof BODY_MIDDLE - 1 + call_b64 + 1 +
         (members_len > 2 ? members_len : 1);
}

/*
 * One buffer for everything: each ciphertext is sealed into the tail of the space its base64
 * takes in the body and encoded forward in place (hv_crypto_base64_encode_to allows it), so a
 * 1 MiB argument costs one fresh 1.9 MB buffer instead of four. Fresh pages are what large
 * requests spend most of their client time on (docs/performance.md).
 */
hv_crypto_status hv_client_seal_request_body_v11(const hv_client_key *key,
                                                 const uint8_t *server_public_key,
                                                 size_t server_public_key_len,
                                                 const uint8_t *wasm, size_t wasm_len,
                                                 const uint8_t *invocation, size_t invocation_len,
                                                 const char *members, char **out, size_t *out_len,
                                                 hv_crypto_err *err) {
  client_begin(err);
  *out = NULL;
  if (out_len != NULL)
    *out_len = 0;
  hv_crypto_status rc = client_check_v11(key, wasm, wasm_len, invocation, invocation_len, err);
  size_t members_len = client_members_len(members);
  if (rc != HV_CRYPTO_OK)
    return rc;
  if (members_len == SIZE_MAX)
    return client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "members must be a JSON object's text");
  size_t wasm_raw = HPKE_ENC_LEN + wasm_len + HPKE_TAG_LEN, call_raw = invocation_len + HPKE_TAG_LEN;
  size_t wasm_b64 = hv_crypto_base64_encoded_len(wasm_raw);
  size_t call_b64 = hv_crypto_base64_encoded_len(call_raw);
  size_t total = client_body_len(wasm_b64, call_b64, members_len);
  char *body = malloc(total + 1);
  if (body == NULL)
    return client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of request", total + 1);
  char *wasm_slot = client_put(body, BODY_HEAD);
  char *call_slot = client_put(wasm_slot + wasm_b64, BODY_MIDDLE);
  uint8_t *wasm_ct = (uint8_t *)wasm_slot + (wasm_b64 - wasm_raw);
  uint8_t *call_ct = (uint8_t *)call_slot + (call_b64 - call_raw);
  rc = client_seal_v11(key, server_public_key, server_public_key_len, wasm, wasm_len, invocation,
                       invocation_len, wasm_ct, call_ct, err);
  if (rc != HV_CRYPTO_OK) {
    free(body);
    return rc;
  }
  hv_crypto_base64_encode_to(wasm_ct, wasm_raw, wasm_slot);
  hv_crypto_base64_encode_to(call_ct, call_raw, call_slot);
  char *end = client_body_end(call_slot + call_b64, members, members_len);
  *out = body;
  if (out_len != NULL)
    *out_len = (size_t)(end - body);
  return HV_CRYPTO_OK;
}

/* jansson's compact text of v (17-digit reals, a scalar allowed): malloc'ed, or NULL. */
static char *client_dump(const json_t *v) {
  return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

/* Cleanses (the text may hold an argument) and frees. */
static void client_text_free(char *text) {
  if (text != NULL)
    OPENSSL_cleanse(text, strlen(text));
  free(text);
}

/* `{"type":"<type>","value":<value>}` for argument i other than bytes, as jansson writes it. */
static hv_crypto_status client_argument_text(const hv_value *v, size_t i, char **out,
                                             hv_crypto_err *err) {
  json_t *value = NULL, *item = json_object();
  hv_crypto_status rc = item != NULL ? hv_crypto__value_to_json(v, "argument", i, &value, err)
                                     : client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising argument %zu", i);
  *out = NULL;
  if (rc == HV_CRYPTO_OK &&
      ((json_object_set_new(item, "type", json_string(hv_type_name(v->type))) |
        json_object_set_new(item, "value", value)) != 0 || (*out = client_dump(item)) == NULL))
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising argument %zu", i);
  json_decref(item);
  return rc;
}

static const char BYTES_HEAD[] = "{\"type\":\"bytes\",\"value\":\"", BYTES_TAIL[] = "\"}";

/*
 * The frame of the document is written here and every member by jansson, except the value of a
 * bytes argument: that is base64, which JSON carries without escapes, so it is encoded straight
 * into the document. jansson's writer looks at one character at a time (about 60 MB/s here) and
 * a 1 MiB argument is 1.4 MB of base64. tests/client checks the text is jansson's own.
 */
hv_crypto_status hv_client_invocation_build(const char *function_name, const hv_value *args,
                                            size_t arg_count, hv_type result_type, char **out,
                                            size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *name = NULL;
  char *name_text = NULL, **items = NULL, *doc = NULL;
  char results[40] = "";
  bool declares = result_type == HV_TYPE_STRING || result_type == HV_TYPE_BYTES;

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
  if (rc != HV_CRYPTO_OK)
    goto fail;
  name_text = client_dump(name);
  items = calloc(arg_count > 0 ? arg_count : 1, sizeof *items);
  if (name_text == NULL || items == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising the invocation document");
    goto fail;
  }
  if (declares)
    snprintf(results, sizeof results, ",\"results\":[\"%s\"]", hv_type_name(result_type));

  /* {"function_name":NAME,"arguments":[ITEM,...]RESULTS} */
  size_t total = strlen("{\"function_name\":") + strlen(name_text) + strlen(",\"arguments\":[]") +
                 strlen(results) + strlen("}");
  for (size_t i = 0; i < arg_count; i++) {
    const hv_value *v = &args[i];
    if (v->type != HV_TYPE_BYTES) {
      rc = client_argument_text(v, i, &items[i], err);
      if (rc != HV_CRYPTO_OK)
        goto fail;
      total += strlen(items[i]);
    } else if (v->data == NULL && v->len > 0) {
      rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "argument %zu has no data", i);
      goto fail;
    } else if (v->len <= HPKE_MAX_MESSAGE_LEN) {
      total += sizeof BYTES_HEAD - 1 + hv_crypto_base64_encoded_len(v->len) + sizeof BYTES_TAIL - 1;
    }
    total += i > 0; /* the comma */
    if (v->len > HPKE_MAX_MESSAGE_LEN || total > HPKE_MAX_MESSAGE_LEN) {
      rc = client_fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "the invocation document would be over "
                       "%u bytes", HPKE_MAX_MESSAGE_LEN);
      goto fail;
    }
  }
  doc = malloc(total + 1);
  if (doc == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of invocation", total + 1);
    goto fail;
  }
  char *w = client_put(doc, "{\"function_name\":");
  w = client_put(w, name_text);
  w = client_put(w, ",\"arguments\":[");
  for (size_t i = 0; i < arg_count; i++) {
    if (i > 0)
      *w++ = ',';
    if (items[i] != NULL) {
      w = client_put(w, items[i]);
      continue;
    }
    w = client_put(w, BYTES_HEAD);
    hv_crypto_base64_encode_to(args[i].data, args[i].len, w);
    w += hv_crypto_base64_encoded_len(args[i].len);
    w = client_put(w, BYTES_TAIL);
  }
  w = client_put(w, "]");
  w = client_put(w, results);
  w = client_put(w, "}");
  *w = '\0';
  *out = doc;
  if (out_len != NULL)
    *out_len = (size_t)(w - doc);
fail:
  json_decref(name);
  client_text_free(name_text);
  for (size_t i = 0; items != NULL && i < arg_count; i++)
    client_text_free(items[i]);
  free(items);
  return rc;
}

hv_crypto_status hv_client_request_body_v11(const hv_client_sealed *wasm,
                                            const hv_client_sealed *invocation,
                                            const char *members, char **out, size_t *out_len,
                                            hv_crypto_err *err) {
  client_begin(err);
  *out = NULL;
  if (out_len != NULL)
    *out_len = 0;
  size_t members_len = client_members_len(members);
  if (wasm == NULL || wasm->base64 == NULL || invocation == NULL || invocation->base64 == NULL ||
      members_len == SIZE_MAX)
    return client_fail(err, HV_CRYPTO_INVALID_ARGUMENT,
                       "sealed module, sealed invocation or a JSON object of members missing");
  size_t total = client_body_len(wasm->base64_len, invocation->base64_len, members_len);
  char *body = malloc(total + 1);
  if (body == NULL)
    return client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of request", total + 1);
  char *w = client_put(body, BODY_HEAD);
  memcpy(w, wasm->base64, wasm->base64_len);
  w = client_put(w + wasm->base64_len, BODY_MIDDLE);
  memcpy(w, invocation->base64, invocation->base64_len);
  w = client_body_end(w + invocation->base64_len, members, members_len);
  *out = body;
  if (out_len != NULL)
    *out_len = (size_t)(w - body);
  return HV_CRYPTO_OK;
}

/* As hv_client_invocation_build: argv is jansson's text, stdin's base64 is encoded straight into
 * the document (a large stdin would otherwise go through jansson's escaper a character at a
 * time). */
hv_crypto_status hv_client_wasi_invocation_build(const char *const *argv, size_t argc,
                                                 const uint8_t *stdin_data, size_t stdin_len,
                                                 char **out, size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *array = NULL;
  char *argv_text = NULL;
  static const char head[] = "{\"function_name\":\"_start\",\"argv\":", middle[] = ",\"stdin\":\"";

  client_begin(err);
  *out = NULL;
  if (out_len != NULL)
    *out_len = 0;
  if ((argv == NULL && argc > 0) || argc >= HV_COMMIT_MAX_VALUES ||
      (stdin_data == NULL && stdin_len > 0) || stdin_len > HPKE_MAX_MESSAGE_LEN) {
    rc = client_fail(err, HV_CRYPTO_INVALID_ARGUMENT, "argv missing, over %d strings, or stdin "
                     "without its bytes or over %u", HV_COMMIT_MAX_VALUES - 1, HPKE_MAX_MESSAGE_LEN);
    goto fail;
  }
  array = json_array();
  if (array == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "allocating the invocation document");
    goto fail;
  }
  for (size_t k = 0; rc == HV_CRYPTO_OK && k < argc; k++) {
    json_t *arg = NULL;
    rc = hv_crypto__string_to_json(argv[k], strlen(argv[k]), "an argv string", &arg, err);
    if (rc == HV_CRYPTO_OK && json_array_append_new(array, arg) != 0)
      rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising argv");
  }
  if (rc != HV_CRYPTO_OK)
    goto fail;
  argv_text = client_dump(array);
  size_t b64_len = hv_crypto_base64_encoded_len(stdin_len);
  size_t total = argv_text ? sizeof head - 1 + strlen(argv_text) + sizeof middle - 1 + b64_len + 2 : 0;
  char *doc = total ? malloc(total + 1) : NULL;
  if (doc == NULL) {
    rc = client_fail(err, HV_CRYPTO_NO_MEMORY, "serialising the invocation document");
    goto fail;
  }
  char *w = client_put(doc, head);
  w = client_put(w, argv_text);
  w = client_put(w, middle);
  hv_crypto_base64_encode_to(stdin_data, stdin_len, w);
  w = client_put(w + b64_len, "\"}");
  *w = '\0';
  *out = doc;
  if (out_len != NULL)
    *out_len = (size_t)(w - doc);
fail:
  client_text_free(argv_text);
  json_decref(array);
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
