/*
 * document.c: the result document (protocol.md, "Result document"): building its exact bytes and
 * parsing them back.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto_int.h"

#define MAX_STRING 4096          /* request_id, function_name */
#define EXACT_INT_LIMIT 9007199254740992LL /* 2^53: larger i64 travel as decimal strings */

/* ---- Building -------------------------------------------------------------------------------- */

/* The engine's wasm_valtype_name, restated: this library uses the engine's header, not its code. */
static const char *type_name(wasm_valtype type) {
  return type == WASM_TYPE_I32   ? "i32"
         : type == WASM_TYPE_I64 ? "i64"
         : type == WASM_TYPE_F32 ? "f32"
         : type == WASM_TYPE_F64 ? "f64"
                                 : NULL;
}

static json_t *float_to_json(double d) {
  const char *special = isnan(d) ? "nan" : isinf(d) ? (d > 0 ? "inf" : "-inf") : NULL;
  return special != NULL ? json_string(special) : json_real(d);
}

/* A new JSON value in the protocol's form for v, or NULL (unsupported type or no memory). */
static json_t *value_to_json(const wasm_value *v) {
  char decimal[24];
  float f = 0;
  double d = 0;
  json_t *j = NULL;

  switch (v->type) {
  case WASM_TYPE_I32:
    j = json_integer(v->of.i32);
    break;
  case WASM_TYPE_I64:
    if (v->of.i64 > -EXACT_INT_LIMIT && v->of.i64 < EXACT_INT_LIMIT) {
      j = json_integer(v->of.i64);
    } else {
      snprintf(decimal, sizeof decimal, "%" PRId64, v->of.i64);
      j = json_string(decimal);
    }
    break;
  case WASM_TYPE_F32:
    memcpy(&f, &v->of.f32_bits, sizeof f);
    j = float_to_json((double)f); /* exact: every float is a double */
    break;
  case WASM_TYPE_F64:
    memcpy(&d, &v->of.f64_bits, sizeof d);
    j = float_to_json(d);
    break;
  default:
    break;
  }
  return j;
}

static hv_crypto_status results_to_json(const wasm_value *results, size_t count, json_t **out,
                                        hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *array = json_array();

  for (size_t i = 0; rc == HV_CRYPTO_OK && i < count; i++) {
    const char *type = type_name(results[i].type);
    json_t *value = type != NULL ? value_to_json(&results[i]) : NULL;
    json_t *item = json_object();
    int bad = array == NULL || value == NULL || item == NULL;
    /* The *_new setters take their argument's reference even when they fail, hence `|`. */
    if (!bad) {
      bad = json_object_set_new(item, "type", json_string(type)) |
            json_object_set_new(item, "value", value) | json_array_append_new(array, item);
    } else {
      json_decref(value);
      json_decref(item);
    }
    if (type == NULL)
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "result %zu has type 0x%02x, not a number",
                           i, results[i].type);
    else if (bad)
      rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising result %zu", i);
  }
  if (array == NULL && rc == HV_CRYPTO_OK)
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the results");
  if (rc != HV_CRYPTO_OK) {
    json_decref(array);
    array = NULL;
  }
  *out = array;
  return rc;
}

/* Copies the compact serialisation of root into a malloc'ed, NUL-terminated buffer. */
static hv_crypto_status dump(const json_t *root, char **out, size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(17);
  size_t len = json_dumpb(root, NULL, 0, flags);
  char *buf = len > 0 ? malloc(len + 1) : NULL;

  if (buf == NULL || json_dumpb(root, buf, len, flags) != len) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising the result document");
    goto fail;
  }
  buf[len] = '\0';
  *out = buf;
  *out_len = len;
  buf = NULL;
fail:
  free(buf);
  return rc;
}

hv_crypto_status hv_commit_document_build(const char *request_id, const char *function_name,
                                          const wasm_value *results, size_t result_count,
                                          const char program_sha256[HV_COMMIT_HEX_LEN + 1],
                                          const uint8_t nonce[HV_COMMIT_NONCE_LEN], char **out,
                                          size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char nonce_hex[2 * HV_COMMIT_NONCE_LEN + 1];
  json_t *root = json_object();
  json_t *array = NULL;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (request_id == NULL || function_name == NULL || program_sha256 == NULL || nonce == NULL ||
      (results == NULL && result_count > 0) || result_count > HV_COMMIT_MAX_VALUES) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "result document field missing or "
                         "over %d results", HV_COMMIT_MAX_VALUES);
    goto fail;
  }
  rc = results_to_json(results, result_count, &array, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  hv_crypto_hex_encode(nonce, HV_COMMIT_NONCE_LEN, nonce_hex);
  /* json_string() refuses invalid UTF-8, which then fails the set; each set takes its value. */
  if ((json_object_set_new(root, "request_id", json_string(request_id)) |
       json_object_set_new(root, "function_name", json_string(function_name)) |
       json_object_set_new(root, "results", array) |
       json_object_set_new(root, "program_sha256", json_string(program_sha256)) |
       json_object_set_new(root, "nonce", json_string(nonce_hex))) != 0) {
    array = NULL;
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "request_id or function_name is not UTF-8, or no memory");
    goto fail;
  }
  array = NULL;
  rc = dump(root, out, out_len, err);
fail:
  json_decref(array);
  json_decref(root);
  return rc;
}

/* ---- Parsing --------------------------------------------------------------------------------- */

/* A strict decimal int64: optional '-', 1 to 19 digits, no other characters, in range. */
static bool parse_decimal_i64(const char *s, int64_t *out) {
  bool negative = s[0] == '-';
  const char *p = s + (negative ? 1 : 0);
  uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t v = 0;
  size_t n = 0;
  bool ok = true;

  for (; ok && p[n] != '\0'; n++) {
    unsigned digit = (unsigned)(p[n] - '0');
    ok = digit <= 9 && n < 19 && v <= (limit - digit) / 10;
    v = v * 10 + digit;
  }
  ok = ok && n > 0;
  /* Two's complement: -(2^63) does not fit in the positive range, so negate as unsigned. */
  if (ok)
    *out = negative ? (int64_t)(0u - v) : (int64_t)v;
  return ok;
}

static bool json_to_float(const json_t *j, double *out) {
  const char *s = json_is_string(j) ? json_string_value(j) : "";
  bool ok = true;

  if (json_is_integer(j))
    *out = (double)json_integer_value(j);
  else if (json_is_real(j))
    *out = json_real_value(j);
  else if (strcmp(s, "nan") == 0)
    *out = NAN;
  else if (strcmp(s, "inf") == 0)
    *out = INFINITY;
  else if (strcmp(s, "-inf") == 0)
    *out = -INFINITY;
  else
    ok = false;
  return ok;
}

/* The typed value of one {"type", "value"} result. */
static bool json_to_value(const json_t *item, wasm_value *out) {
  const char *type = json_string_value(json_object_get(item, "type"));
  const json_t *value = json_object_get(item, "value");
  double d = 0;
  float f = 0;
  bool ok = type != NULL && value != NULL;

  memset(out, 0, sizeof *out);
  if (ok && strcmp(type, "i32") == 0) {
    ok = json_is_integer(value) && json_integer_value(value) >= INT32_MIN &&
         json_integer_value(value) <= INT32_MAX;
    out->type = WASM_TYPE_I32;
    out->of.i32 = ok ? (int32_t)json_integer_value(value) : 0;
  } else if (ok && strcmp(type, "i64") == 0) {
    out->type = WASM_TYPE_I64;
    if (json_is_integer(value))
      out->of.i64 = json_integer_value(value);
    else
      ok = json_is_string(value) && parse_decimal_i64(json_string_value(value), &out->of.i64);
  } else if (ok && strcmp(type, "f32") == 0) {
    ok = json_to_float(value, &d);
    f = (float)d;
    out->type = WASM_TYPE_F32;
    memcpy(&out->of.f32_bits, &f, sizeof f);
  } else if (ok && strcmp(type, "f64") == 0) {
    ok = json_to_float(value, &d);
    out->type = WASM_TYPE_F64;
    memcpy(&out->of.f64_bits, &d, sizeof d);
  } else {
    ok = false;
  }
  return ok;
}

/* A copy of a JSON string member without embedded NULs and of at most max bytes, or NULL. */
static char *dup_string(const json_t *root, const char *key, size_t max) {
  const json_t *j = json_object_get(root, key);
  const char *s = json_string_value(j);
  size_t len = s != NULL ? json_string_length(j) : 0;
  char *copy = NULL;

  if (s != NULL && len <= max && strlen(s) == len) {
    copy = malloc(len + 1);
    if (copy != NULL)
      memcpy(copy, s, len + 1);
  }
  return copy;
}

static hv_crypto_status parse_results(const json_t *array, hv_result_document *doc,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t count = json_array_size(array);

  if (!json_is_array(array) || count > HV_COMMIT_MAX_VALUES) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "`results` is not an array of at most %d",
                         HV_COMMIT_MAX_VALUES);
    goto fail;
  }
  doc->results = calloc(count > 0 ? count : 1, sizeof *doc->results);
  if (doc->results == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu results", count);
    goto fail;
  }
  for (size_t i = 0; i < count; i++) {
    if (!json_to_value(json_array_get(array, i), &doc->results[i])) {
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result %zu is not a valid typed value", i);
      goto fail;
    }
  }
  doc->result_count = count;
fail:
  return rc;
}

/* program_sha256 (64 lowercase hex) and nonce (64 hex, decoded). */
static hv_crypto_status parse_hashes(const json_t *root, hv_result_document *doc,
                                     hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const json_t *sha = json_object_get(root, "program_sha256");
  const json_t *nonce = json_object_get(root, "nonce");
  uint8_t digest[32];

  if (!json_is_string(sha) || !json_is_string(nonce) ||
      hv_crypto_hex_decode(json_string_value(sha), json_string_length(sha), digest,
                           sizeof digest, NULL) != HV_CRYPTO_OK ||
      hv_crypto_hex_decode(json_string_value(nonce), json_string_length(nonce), doc->nonce,
                           HV_COMMIT_NONCE_LEN, NULL) != HV_CRYPTO_OK) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT,
                         "`program_sha256` or `nonce` is not 64 hex digits");
    goto fail;
  }
  hv_crypto_hex_encode(digest, sizeof digest, doc->program_sha256);
fail:
  return rc;
}

hv_crypto_status hv_commit_document_parse(const uint8_t *json, size_t len,
                                          hv_result_document **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hv_result_document *doc = NULL;
  json_t *root = NULL;
  json_error_t jerr;

  hv_crypto__begin(err);
  *out = NULL;
  if (json == NULL || len > HV_COMMIT_MAX_DOCUMENT) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result document missing or over %u bytes",
                         HV_COMMIT_MAX_DOCUMENT);
    goto fail;
  }
  root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(root)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result document is not a JSON object");
    goto fail;
  }
  doc = calloc(1, sizeof *doc);
  if (doc == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a result document");
    goto fail;
  }
  doc->request_id = dup_string(root, "request_id", MAX_STRING);
  doc->function_name = dup_string(root, "function_name", MAX_STRING);
  if (doc->request_id == NULL || doc->function_name == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT,
                         "`request_id` or `function_name` missing or not a string");
    goto fail;
  }
  rc = parse_results(json_object_get(root, "results"), doc, err);
  if (rc == HV_CRYPTO_OK)
    rc = parse_hashes(root, doc, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = doc;
  doc = NULL;
fail:
  hv_commit_document_free(doc);
  json_decref(root);
  return rc;
}

void hv_commit_document_free(hv_result_document *doc) {
  if (doc == NULL)
    return;
  free(doc->request_id);
  free(doc->function_name);
  free(doc->results);
  free(doc);
}
