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
#include "hv_json.h"

static const char *const srv_fields[] = {
    "encrypted_wasm",   "encrypted_invocation", "key_id",          "function_name", "arguments",
    "public_key",       "request_metadata",     "timeout_seconds", "gas_limit"};
static const char *const srv_invocation_fields[] = {"function_name", "arguments", "results",
                                                    "stdin", "argv"};

/* A present, non-null member (null counts as absent for optional fields). */
static json_t *srv_member(json_t *root, const char *name) {
  json_t *v = json_object_get(root, name);
  return v && !json_is_null(v) ? v : NULL;
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

/* Writes a message and returns `code`. */
static outcome_code srv_say(char msg[SRV_REQUEST_MESSAGE_MAX], outcome_code code, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));
static outcome_code srv_say(char msg[SRV_REQUEST_MESSAGE_MAX], outcome_code code, const char *fmt,
                            ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, SRV_REQUEST_MESSAGE_MAX, fmt, ap);
  va_end(ap);
  return code;
}

/* Only the names in `fields` as members of obj; `where` prefixes the message. */
static outcome_code srv_known_fields(json_t *obj, const char *const *fields, size_t count,
                                     const char *where, char msg[SRV_REQUEST_MESSAGE_MAX]) {
  const char *name;
  json_t *value;
  json_object_foreach(obj, name, value) {
    bool known = false;
    for (size_t k = 0; k < count; k++) known |= strcmp(name, fields[k]) == 0;
    if (!known) return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sunknown field '%.64s'", where, name);
  }
  return OUTCOME_OK;
}

/* The function_name member of obj: 1 to SRV_FUNCTION_NAME_MAX bytes without NUL. */
static outcome_code srv_function_name(json_t *obj, const char *where, const char **out,
                                      char msg[SRV_REQUEST_MESSAGE_MAX]) {
  size_t n = 0;
  json_t *v = srv_member(obj, "function_name");
  const char *text = v ? srv_text(v, &n) : NULL;
  if (!v)
    return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sfunction_name: missing (the export to call)",
                   where);
  if (!text || n == 0 || n > SRV_FUNCTION_NAME_MAX)
    return srv_say(msg, OUTCOME_INVALID_REQUEST,
                   "%sfunction_name: must be a string of 1 to %u bytes without NUL", where,
                   SRV_FUNCTION_NAME_MAX);
  *out = text;
  return OUTCOME_OK;
}

/* Frees the bytes decoded for `bytes` arguments, then the array. */
static void srv_args_free(exec_arg *args, size_t count) {
  for (size_t k = 0; args && k < count; k++)
    if (args[k].kind == EXEC_ARG_BLOB && args[k].declared == HV_TYPE_BYTES)
      free((void *)args[k].data);
  free(args);
}

/* One argument {"value": ..., "type": ...}. A string or bytes value must say its type; a
 * string's data points into the JSON, a bytes value's is decoded into a buffer *arg owns. */
static outcome_code srv_parse_argument(json_t *a, size_t k, const char *where, exec_arg *arg,
                                       char msg[SRV_REQUEST_MESSAGE_MAX]) {
  const char *name;
  json_t *value;
  if (!json_is_object(a))
    return srv_say(msg, OUTCOME_INVALID_REQUEST,
                   "%sarguments[%zu]: must be an object {\"value\": ..., \"type\": ...}", where, k);
  json_object_foreach(a, name, value) {
    if (strcmp(name, "value") != 0 && strcmp(name, "type") != 0)
      return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sarguments[%zu]: unknown field '%.64s'",
                     where, k, name);
  }
  json_t *t = srv_member(a, "type");
  if (t) {
    const char *tt = srv_text(t, NULL);
    if (!tt || !hv_type_parse(tt, &arg->declared))
      return srv_say(msg, OUTCOME_INVALID_REQUEST,
                     "%sarguments[%zu].type: must be one of i32, i64, f32, f64, string, bytes",
                     where, k);
  }
  json_t *val = json_object_get(a, "value");
  if (!val)
    return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sarguments[%zu].value: missing", where, k);
  if (arg->declared == HV_TYPE_STRING || arg->declared == HV_TYPE_BYTES) {
    if (!json_is_string(val))
      return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sarguments[%zu].value: a %s must be a JSON string%s",
                     where, k, hv_type_name(arg->declared),
                     arg->declared == HV_TYPE_BYTES ? " of base64" : "");
    arg->kind = EXEC_ARG_BLOB;
    if (arg->declared == HV_TYPE_STRING) { /* UTF-8 (jansson checks it); NUL bytes allowed */
      arg->data = (const uint8_t *)json_string_value(val);
      arg->len = json_string_length(val);
      return OUTCOME_OK;
    }
    hv_crypto_err cerr = {0};
    uint8_t *bytes = NULL;
    hv_crypto_status cs = hv_crypto_base64_decode(json_string_value(val), json_string_length(val),
                                                  &bytes, &arg->len, &cerr);
    if (cs == HV_CRYPTO_NO_MEMORY) return srv_say(msg, OUTCOME_INTERNAL_ERROR, "out of memory");
    if (cs != HV_CRYPTO_OK)
      return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sarguments[%zu].value: %s", where, k,
                     cerr.message);
    arg->data = bytes;
    return OUTCOME_OK;
  }
  if (json_is_integer(val)) {
    arg->kind = EXEC_ARG_INT;
    arg->i = (int64_t)json_integer_value(val);
  } else if (json_is_real(val)) {
    arg->kind = EXEC_ARG_REAL;
    arg->d = json_real_value(val);
  } else if (json_is_string(val) && (arg->text = srv_text(val, NULL)) != NULL) {
    arg->kind = EXEC_ARG_TEXT;
  } else {
    return srv_say(msg, OUTCOME_INVALID_REQUEST,
                   "%sarguments[%zu].value: must be a number or a string", where, k);
  }
  return OUTCOME_OK;
}

/* `arguments`: an array of at most SRV_MAX_ARGUMENTS into *args / *count. On failure *args holds
 * what was parsed so far (the caller frees it with srv_args_free) and *count how many. */
static outcome_code srv_parse_arguments(json_t *v, const char *where, exec_arg **args,
                                        size_t *count, char msg[SRV_REQUEST_MESSAGE_MAX]) {
  if (!json_is_array(v))
    return srv_say(msg, OUTCOME_INVALID_REQUEST,
                   "%sarguments: must be an array of {\"value\": ...}", where);
  size_t n = json_array_size(v);
  if (n > SRV_MAX_ARGUMENTS)
    return srv_say(msg, OUTCOME_INVALID_REQUEST, "%sarguments: more than %u", where,
                   SRV_MAX_ARGUMENTS);
  *args = calloc(n ? n : 1, sizeof **args);
  if (!*args) return srv_say(msg, OUTCOME_INTERNAL_ERROR, "out of memory");
  for (size_t k = 0; k < n; k++) {
    *count = k + 1; /* the one being parsed may own bytes already when it fails */
    outcome_code code = srv_parse_argument(json_array_get(v, k), k, where, &(*args)[k], msg);
    if (code != OUTCOME_OK) return code;
  }
  *count = n;
  return OUTCOME_OK;
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
  req->root = hv_json_loadb_padded((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!req->root)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "malformed JSON: %s (line %d, column %d)",
                      jerr.text, jerr.line, jerr.column);

  json_t *root = req->root;
  if (!json_is_object(root))
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "the request body must be a JSON object");
  char why[SRV_REQUEST_MESSAGE_MAX];
  if (srv_known_fields(root, srv_fields, sizeof srv_fields / sizeof srv_fields[0], "", why) !=
      OUTCOME_OK)
    return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "%s", why);

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

  /* encrypted_invocation (v1.1): the call travels sealed, so not in clear beside it */
  v = srv_member(root, "encrypted_invocation");
  if (v) {
    text = srv_text(v, &n);
    if (!text || n == 0)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "encrypted_invocation: must be a non-empty base64 string");
    if (srv_member(root, "function_name") || srv_member(root, "arguments"))
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST,
                        "encrypted_invocation: a request that carries it must not carry "
                        "function_name or arguments (they travel inside it)");
    if (hv_crypto_base64_decode(text, n, &req->invocation_ct, &req->invocation_ct_len, &cerr) !=
        HV_CRYPTO_OK)
      return srv_reject(req, msg, OUTCOME_INVALID_REQUEST, "encrypted_invocation: %s",
                        cerr.message);
  } else {
    outcome_code code = srv_function_name(root, "", &req->function_name, why);
    if (code != OUTCOME_OK) return srv_reject(req, msg, code, "%s", why);
  }

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
    outcome_code code = srv_parse_arguments(v, "", &req->args, &req->arg_count, why);
    if (code != OUTCOME_OK) return srv_reject(req, msg, code, "%s", why);
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

/* Frees the invocation's fields of req and zeroes them. */
static void srv_invocation_clear(srv_exec_request *req) {
  srv_args_free(req->args, req->arg_count);
  free(req->results);
  free(req->stdin_bytes);
  free(req->argv);
  json_decref(req->invocation_root);
  req->args = NULL;
  req->arg_count = 0;
  req->results = NULL;
  req->result_count = 0;
  req->stdin_bytes = NULL;
  req->stdin_len = 0;
  req->argv = NULL;
  req->argc = 0;
  req->wasi_given = false;
  req->invocation_root = NULL;
  req->function_name = NULL;
}

/* Clears the invocation's fields, writes the message and returns `code`. */
static outcome_code srv_invocation_reject(srv_exec_request *req, char msg[SRV_REQUEST_MESSAGE_MAX],
                                          outcome_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static outcome_code srv_invocation_reject(srv_exec_request *req, char msg[SRV_REQUEST_MESSAGE_MAX],
                                          outcome_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, SRV_REQUEST_MESSAGE_MAX, fmt, ap);
  va_end(ap);
  srv_invocation_clear(req);
  return code;
}

/* `results`: type names; a string or bytes result must be the only one. */
static outcome_code srv_parse_results(json_t *v, srv_exec_request *req,
                                      char msg[SRV_REQUEST_MESSAGE_MAX]) {
  if (!json_is_array(v))
    return srv_say(msg, OUTCOME_INVALID_REQUEST,
                   "invocation: results: must be an array of type names");
  size_t n = json_array_size(v);
  if (n > SRV_MAX_ARGUMENTS)
    return srv_say(msg, OUTCOME_INVALID_REQUEST, "invocation: results: more than %u",
                   SRV_MAX_ARGUMENTS);
  req->results = calloc(n ? n : 1, sizeof *req->results);
  if (!req->results) return srv_say(msg, OUTCOME_INTERNAL_ERROR, "out of memory");
  for (size_t k = 0; k < n; k++) {
    const char *t = srv_text(json_array_get(v, k), NULL);
    if (!t || !hv_type_parse(t, &req->results[k]))
      return srv_say(msg, OUTCOME_INVALID_REQUEST,
                     "invocation: results[%zu]: must be one of i32, i64, f32, f64, string, bytes",
                     k);
    if (!hv_type_is_numeric(req->results[k]) && n != 1)
      return srv_say(msg, OUTCOME_INVALID_REQUEST,
                     "invocation: results: a %s result must be the only one",
                     hv_type_name(req->results[k]));
  }
  req->result_count = n;
  return OUTCOME_OK;
}

outcome_code srv_invocation_parse(const uint8_t *doc, size_t len, srv_exec_request *req,
                                  char msg[SRV_REQUEST_MESSAGE_MAX]) {
  json_error_t jerr;
  char why[SRV_REQUEST_MESSAGE_MAX];
  outcome_code code;
  srv_invocation_clear(req);
  msg[0] = '\0';
  if (len == 0)
    return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                 "invocation: the document is empty; it must be a JSON object");
  /* \u0000 is allowed: a string argument may hold NUL bytes (srv_text refuses them elsewhere) */
  req->invocation_root =
      hv_json_loadb((const char *)doc, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
  json_t *root = req->invocation_root;
  if (!root)
    return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                 "invocation: malformed JSON: %s (line %d, column %d)", jerr.text,
                                 jerr.line, jerr.column);
  if (!json_is_object(root))
    return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                 "invocation: the document must be a JSON object");
  if ((code = srv_known_fields(root, srv_invocation_fields,
                               sizeof srv_invocation_fields / sizeof srv_invocation_fields[0],
                               "invocation: ", why)) != OUTCOME_OK ||
      (code = srv_function_name(root, "invocation: ", &req->function_name, why)) != OUTCOME_OK)
    return srv_invocation_reject(req, msg, code, "%s", why);

  json_t *v = srv_member(root, "arguments");
  if (v && (code = srv_parse_arguments(v, "invocation: ", &req->args, &req->arg_count, why)) !=
               OUTCOME_OK)
    return srv_invocation_reject(req, msg, code, "%s", why);
  v = srv_member(root, "results");
  if (v && (code = srv_parse_results(v, req, why)) != OUTCOME_OK)
    return srv_invocation_reject(req, msg, code, "%s", why);

  v = srv_member(root, "stdin");
  if (v) {
    size_t n = 0;
    const char *text = json_is_string(v) ? json_string_value(v) : NULL;
    n = text ? json_string_length(v) : 0;
    hv_crypto_err cerr = {0};
    if (!text)
      return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                   "invocation: stdin: must be a base64 string");
    hv_crypto_status cs = hv_crypto_base64_decode(text, n, &req->stdin_bytes, &req->stdin_len, &cerr);
    if (cs != HV_CRYPTO_OK)
      return srv_invocation_reject(req, msg,
                                   cs == HV_CRYPTO_NO_MEMORY ? OUTCOME_INTERNAL_ERROR
                                                             : OUTCOME_INVALID_REQUEST,
                                   "invocation: stdin: %s", cerr.message);
  }

  v = srv_member(root, "argv");
  if (v) {
    if (!json_is_array(v))
      return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                   "invocation: argv: must be an array of strings");
    size_t n = json_array_size(v);
    if (n > SRV_MAX_ARGV)
      return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                   "invocation: argv: more than %u strings", SRV_MAX_ARGV);
    req->argv = calloc(n ? n : 1, sizeof *req->argv);
    if (!req->argv)
      return srv_invocation_reject(req, msg, OUTCOME_INTERNAL_ERROR, "out of memory");
    for (size_t k = 0; k < n; k++) {
      req->argv[k] = srv_text(json_array_get(v, k), NULL);
      if (!req->argv[k])
        return srv_invocation_reject(req, msg, OUTCOME_INVALID_REQUEST,
                                     "invocation: argv[%zu]: must be a string without NUL", k);
    }
    req->argc = n;
  }
  req->wasi_given = srv_member(root, "argv") || srv_member(root, "stdin");
  return OUTCOME_OK;
}

void srv_exec_request_free(srv_exec_request *req) {
  srv_invocation_clear(req);
  free(req->ciphertext);
  free(req->invocation_ct);
  free(req->metadata);
  hpke_public_key_free(req->client_pk);
  json_decref(req->root);
  memset(req, 0, sizeof *req);
}
