/*
 * srv_request.c: the body of POST /v1/execute, parsed and checked (srv_request.h).
 */
#include "srv_request.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_int.h"

static const char *const srv_fields[] = {"encrypted_wasm", "key_id",           "function_name",
                                         "arguments",      "public_key",       "request_metadata",
                                         "timeout_seconds", "gas_limit"};

/* A present, non-null member (null counts as absent for optional fields). */
static json_t *srv_member(json_t *root, const char *name) {
  json_t *v = json_object_get(root, name);
  return v && !json_is_null(v) ? v : NULL;
}

static bool srv_parse_type(const char *text, wasm_valtype *out) {
  static const struct { const char *name; wasm_valtype type; } types[] = {
      {"i32", WASM_TYPE_I32}, {"i64", WASM_TYPE_I64}, {"f32", WASM_TYPE_F32}, {"f64", WASM_TYPE_F64}};
  for (size_t k = 0; k < 4; k++)
    if (strcmp(text, types[k].name) == 0) {
      *out = types[k].type;
      return true;
    }
  return false;
}

/* A JSON string member without NUL bytes; NULL otherwise. */
static const char *srv_text(json_t *v, size_t *len) {
  if (!json_is_string(v)) return NULL;
  const char *t = json_string_value(v);
  size_t n = json_string_length(v);
  if (strlen(t) != n) return NULL; /* an embedded \u0000 */
  if (len) *len = n;
  return t;
}

/* Frees what the request holds so far except `metadata` (srv_request.h), writes the message and
 * returns `code`. */
static outcome_code srv_reject(srv_exec_request *req, char msg[SRV_REQUEST_MESSAGE_MAX],
                               outcome_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static outcome_code srv_reject(srv_exec_request *req, char msg[SRV_REQUEST_MESSAGE_MAX],
                               outcome_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, SRV_REQUEST_MESSAGE_MAX, fmt, ap);
  va_end(ap);
  char *metadata = req->metadata;
  req->metadata = NULL;
  srv_exec_request_free(req);
  req->metadata = metadata;
  return code;
}

outcome_code srv_exec_request_parse(const uint8_t *body, size_t len,
                                    const srv_request_bounds *bounds, srv_exec_request *out,
                                    char msg[SRV_REQUEST_MESSAGE_MAX]) {
  srv_exec_request *req = out;
  memset(req, 0, sizeof *req);
  msg[0] = '\0';
  json_error_t jerr;
  if (len == 0)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                      "the request body is empty; send a JSON object");
  req->root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!req->root)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "malformed JSON: %s (line %d, column %d)",
                      jerr.text, jerr.line, jerr.column);

  json_t *root = req->root;
  if (!json_is_object(root))
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "the request body must be a JSON object");
  const char *name;
  json_t *value;
  json_object_foreach(root, name, value) {
    bool known = false;
    for (size_t k = 0; k < sizeof srv_fields / sizeof srv_fields[0]; k++)
      known |= strcmp(name, srv_fields[k]) == 0;
    if (!known)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "unknown field '%.64s'", name);
  }

  /* encrypted_wasm */
  size_t n = 0;
  json_t *v = srv_member(root, "encrypted_wasm");
  const char *text = v ? srv_text(v, &n) : NULL;
  if (!v || !text || n == 0)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "%s",
                      v ? "encrypted_wasm: must be a non-empty base64 string"
                        : "encrypted_wasm: missing (the sealed module, base64)");
  hv_crypto_err cerr = {0};
  if (hv_crypto_base64_decode(text, n, &req->ciphertext, &req->ciphertext_len, &cerr) !=
      HV_CRYPTO_OK)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "encrypted_wasm: %s", cerr.message);

  /* function_name */
  v = srv_member(root, "function_name");
  text = v ? srv_text(v, &n) : NULL;
  if (!v)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                      "function_name: missing (the export to call)");
  if (!text || n == 0 || n > SRV_FUNCTION_NAME_MAX)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                      "function_name: must be a string of 1 to %u bytes without NUL",
                      SRV_FUNCTION_NAME_MAX);
  req->function_name = text;

  /* public_key */
  v = srv_member(root, "public_key");
  text = v ? srv_text(v, &n) : NULL;
  if (!v || !text || n == 0)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "%s",
                      v ? "public_key: must be a non-empty base64 string"
                        : "public_key: missing (your P-256 public key, base64)");
  uint8_t *pk_bytes = NULL;
  size_t pk_len = 0;
  if (hv_crypto_base64_decode(text, n, &pk_bytes, &pk_len, &cerr) != HV_CRYPTO_OK)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "public_key: %s", cerr.message);
  hv_crypto_status cs = hpke_public_key_parse(pk_bytes, pk_len, &req->client_pk, &cerr);
  free(pk_bytes);
  if (cs != HV_CRYPTO_OK)
    return srv_reject(req, msg, OUTCOME_ENCRYPTION_ERROR, "public_key: %s", cerr.message);

  /* key_id */
  v = srv_member(root, "key_id");
  if (v) {
    text = srv_text(v, &n);
    bool ok = text && n == HV_KEY_ID_LEN;
    for (size_t k = 0; ok && k < n; k++)
      ok = (text[k] >= '0' && text[k] <= '9') || (text[k] >= 'a' && text[k] <= 'f');
    if (!ok)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "key_id: must be %d lowercase hex digits (from GET /v1/keys)",
                        HV_KEY_ID_LEN);
    req->key_id = text;
  }

  /* arguments */
  v = srv_member(root, "arguments");
  if (v) {
    if (!json_is_array(v))
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "arguments: must be an array of {\"value\": ...}");
    size_t count = json_array_size(v);
    if (count > SRV_MAX_ARGUMENTS)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "arguments: more than %u",
                        SRV_MAX_ARGUMENTS);
    req->args = calloc(count ? count : 1, sizeof *req->args);
    if (!req->args) return srv_reject(req, msg, OUTCOME_INTERNAL_ERROR, "out of memory");
    for (size_t k = 0; k < count; k++) {
      json_t *a = json_array_get(v, k);
      exec_arg *arg = &req->args[k];
      if (!json_is_object(a))
        return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                          "arguments[%zu]: must be an object {\"value\": ..., \"type\": ...}", k);
      json_object_foreach(a, name, value) {
        if (strcmp(name, "value") != 0 && strcmp(name, "type") != 0)
          return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                            "arguments[%zu]: unknown field '%.64s'", k, name);
      }
      json_t *t = srv_member(a, "type");
      if (t) {
        const char *tt = srv_text(t, NULL);
        if (!tt || !srv_parse_type(tt, &arg->declared))
          return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                            "arguments[%zu].type: must be one of i32, i64, f32, f64", k);
      }
      json_t *val = json_object_get(a, "value");
      if (json_is_integer(val)) {
        arg->kind = EXEC_ARG_INT;
        arg->i = (int64_t)json_integer_value(val);
      } else if (json_is_real(val)) {
        arg->kind = EXEC_ARG_REAL;
        arg->d = json_real_value(val);
      } else if (json_is_string(val) && (arg->text = srv_text(val, NULL)) != NULL) {
        arg->kind = EXEC_ARG_TEXT;
      } else if (val) {
        return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                          "arguments[%zu].value: must be a number or a string", k);
      } else {
        return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "arguments[%zu].value: missing", k);
      }
    }
    req->arg_count = count;
  }

  /* request_metadata */
  v = srv_member(root, "request_metadata");
  if (v) {
    if (!json_is_object(v))
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "request_metadata: must be a JSON object");
    req->metadata = json_dumps(v, SRV_JSON_FLAGS);
    if (!req->metadata || strlen(req->metadata) > SRV_METADATA_MAX) {
      free(req->metadata);
      req->metadata = NULL;
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "request_metadata: larger than %u bytes as compact JSON",
                        SRV_METADATA_MAX);
    }
  }

  /* limits */
  uint64_t timeout_s = bounds->max_timeout_s;
  v = srv_member(root, "timeout_seconds");
  if (v) {
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > (json_int_t)SRV_TIMEOUT_MAX_S)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "timeout_seconds: must be an integer from 1 to %u", SRV_TIMEOUT_MAX_S);
    if ((uint64_t)json_integer_value(v) < timeout_s) timeout_s = (uint64_t)json_integer_value(v);
  }
  uint64_t gas = bounds->default_gas_limit;
  v = srv_member(root, "gas_limit");
  if (v) {
    if (!json_is_integer(v) || json_integer_value(v) < 1)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "gas_limit: must be a positive integer (at most %" PRIu64 ")",
                        bounds->default_gas_limit);
    if ((uint64_t)json_integer_value(v) < gas) gas = (uint64_t)json_integer_value(v);
  }
  req->timeout_s = timeout_s;
  req->gas_limit = gas;
  return OUTCOME_OK;
}

void srv_exec_request_free(srv_exec_request *req) {
  free(req->ciphertext);
  free(req->args);
  free(req->metadata);
  hpke_public_key_free(req->client_pk);
  json_decref(req->root);
  memset(req, 0, sizeof *req);
}
