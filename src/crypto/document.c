/*
 * document.c: the result document (protocol.md, "Result document"): building its exact bytes and
 * parsing them back; and the JSON value forms (crypto_json.h) that hv_client shares.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "crypto_int.h"
#include "crypto_json.h"

#define MAX_STRING 4096          /* request_id, function_name */
#define EXACT_INT_LIMIT 9007199254740992LL /* 2^53: larger i64 travel as decimal strings */

/* ---- Building -------------------------------------------------------------------------------- */

static json_t *float_to_json(double d) {
  const char *special = isnan(d) ? "nan" : isinf(d) ? (d > 0 ? "inf" : "-inf") : NULL;
  return special != NULL ? json_string(special) : json_real(d);
}

/* A new JSON value in the protocol's form for a number, or NULL (not a number, or no memory). */
static json_t *number_to_json(hv_type type, const hvw_value *v) {
  char decimal[24];
  float f = 0;
  double d = 0;
  json_t *j = NULL;

  switch (type) {
  case HVW_TYPE_I32:
    j = json_integer(v->of.i32);
    break;
  case HVW_TYPE_I64:
    if (v->of.i64 > -EXACT_INT_LIMIT && v->of.i64 < EXACT_INT_LIMIT) {
      j = json_integer(v->of.i64);
    } else {
      snprintf(decimal, sizeof decimal, "%" PRId64, v->of.i64);
      j = json_string(decimal);
    }
    break;
  case HVW_TYPE_F32:
    memcpy(&f, &v->of.f32_bits, sizeof f);
    j = float_to_json((double)f); /* exact: every float is a double */
    break;
  case HVW_TYPE_F64:
    memcpy(&d, &v->of.f64_bits, sizeof d);
    j = float_to_json(d);
    break;
  default:
    break;
  }
  return j;
}

hv_crypto_status hv_crypto__string_to_json(const char *s, size_t len, const char *what,
                                           json_t **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;

  *out = NULL;
  if (s == NULL && len > 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "%s has no data", what);
  else if (!hv_crypto__utf8_valid((const uint8_t *)s, len))
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "%s is not valid UTF-8", what);
  else if ((*out = json_stringn(s != NULL ? s : "", len)) == NULL)
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising %s", what);
  return rc;
}

hv_crypto_status hv_crypto__value_to_json(const hv_value *v, const char *what, size_t i,
                                          json_t **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char name[48];
  char *b64 = NULL;
  size_t b64_len = 0;

  *out = NULL;
  snprintf(name, sizeof name, "%s %zu", what, i);
  if (v->type == HV_TYPE_STRING) {
    rc = hv_crypto__string_to_json((const char *)v->data, v->len, name, out, err);
  } else if (v->type == HV_TYPE_BYTES) {
    if (v->data == NULL && v->len > 0)
      rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "%s has no data", name);
    else
      rc = hv_crypto_base64_encode(v->data, v->len, &b64, &b64_len, err);
    if (rc == HV_CRYPTO_OK && (*out = json_stringn(b64, b64_len)) == NULL)
      rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising %s", name);
  } else if (!hv_type_is_numeric(v->type)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "%s has type 0x%02x, which has no JSON form",
                         name, v->type);
  } else if ((*out = number_to_json(v->type, &v->num)) == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising %s", name);
  }
  if (b64 != NULL)
    OPENSSL_cleanse(b64, b64_len); /* an argument's bytes may be secret */
  free(b64);
  return rc;
}

hv_crypto_status hv_crypto__values_to_json(const hv_value *values, size_t count, const char *what,
                                           json_t **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  json_t *array = json_array();

  *out = NULL;
  if (values == NULL && count > 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "%zu %ss and no array", count, what);
  else if (array == NULL)
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the %ss", what);
  for (size_t i = 0; rc == HV_CRYPTO_OK && i < count; i++) {
    json_t *value = NULL;
    json_t *item = NULL;

    rc = hv_crypto__value_to_json(&values[i], what, i, &value, err);
    if (rc != HV_CRYPTO_OK)
      break;
    item = json_object();
    /* The *_new setters take their argument's reference even when they fail, hence `|`. */
    if (item == NULL ||
        (json_object_set_new(item, "type", json_string(hv_type_name(values[i].type))) |
         json_object_set_new(item, "value", value) | json_array_append_new(array, item)) != 0) {
      if (item == NULL)
        json_decref(value);
      rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising %s %zu", what, i);
    }
  }
  if (rc != HV_CRYPTO_OK) {
    json_decref(array);
    array = NULL;
  }
  *out = array;
  return rc;
}

hv_crypto_status hv_crypto__json_dump(const json_t *root, char **out, size_t *out_len,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(17);
  size_t len = json_dumpb(root, NULL, 0, flags);
  char *buf = len > 0 && len < SIZE_MAX ? malloc(len + 1) : NULL;

  *out = NULL;
  *out_len = 0;
  if (buf == NULL || json_dumpb(root, buf, len, flags) != len) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising a JSON document");
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
                                          const hv_value *results, size_t result_count,
                                          const char program_sha256[HV_COMMIT_HEX_LEN + 1],
                                          const uint8_t nonce[HV_COMMIT_NONCE_LEN], char **out,
                                          size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char nonce_hex[2 * HV_COMMIT_NONCE_LEN + 1];
  json_t *root = NULL;
  json_t *id = NULL, *name = NULL, *array = NULL;
  int bad = 0;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (request_id == NULL || function_name == NULL || program_sha256 == NULL || nonce == NULL ||
      (results == NULL && result_count > 0) || result_count > HV_COMMIT_MAX_VALUES) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "result document field missing or "
                         "over %d results", HV_COMMIT_MAX_VALUES);
    goto fail;
  }
  rc = hv_crypto__string_to_json(request_id, strlen(request_id), "request_id", &id, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto__string_to_json(function_name, strlen(function_name), "function_name", &name,
                                   err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto__values_to_json(results, result_count, "result", &array, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  hv_crypto_hex_encode(nonce, HV_COMMIT_NONCE_LEN, nonce_hex);
  root = json_object();
  if (root == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the result document");
    goto fail;
  }
  /* Each set takes its value's reference, even when it fails. */
  bad = json_object_set_new(root, "request_id", id) |
        json_object_set_new(root, "function_name", name) |
        json_object_set_new(root, "results", array) |
        json_object_set_new(root, "program_sha256", json_string(program_sha256)) |
        json_object_set_new(root, "nonce", json_string(nonce_hex));
  id = name = array = NULL;
  if (bad != 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising the result document");
  else
    rc = hv_crypto__json_dump(root, out, out_len, err);
fail:
  json_decref(id); /* NULL once root holds them */
  json_decref(name);
  json_decref(array);
  json_decref(root);
  return rc;
}

hv_crypto_status hv_commit_wasi_document_build(const char *request_id, const char *function_name,
                                               uint32_t exit_code, const uint8_t *stdout_data,
                                               size_t stdout_len, const uint8_t *stderr_data,
                                               size_t stderr_len,
                                               const char program_sha256[HV_COMMIT_HEX_LEN + 1],
                                               const uint8_t nonce[HV_COMMIT_NONCE_LEN], char **out,
                                               size_t *out_len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char nonce_hex[2 * HV_COMMIT_NONCE_LEN + 1];
  json_t *root = NULL, *id = NULL, *name = NULL, *streams[2] = {NULL, NULL};
  const uint8_t *data[2] = {stdout_data, stderr_data};
  size_t len[2] = {stdout_len, stderr_len};
  int bad = 0;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if (request_id == NULL || function_name == NULL || program_sha256 == NULL || nonce == NULL ||
      (stdout_data == NULL && stdout_len > 0) || (stderr_data == NULL && stderr_len > 0)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "result document field missing");
    goto fail;
  }
  rc = hv_crypto__string_to_json(request_id, strlen(request_id), "request_id", &id, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_crypto__string_to_json(function_name, strlen(function_name), "function_name", &name,
                                   err);
  for (int k = 0; rc == HV_CRYPTO_OK && k < 2; k++) {
    char *b64 = NULL;
    size_t b64_len = 0;
    rc = hv_crypto_base64_encode(data[k], len[k], &b64, &b64_len, err);
    if (rc == HV_CRYPTO_OK && (streams[k] = json_stringn(b64, b64_len)) == NULL)
      rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising %s", k ? "stderr" : "stdout");
    if (b64 != NULL)
      OPENSSL_cleanse(b64, b64_len); /* the program's output is the client's secret */
    free(b64);
  }
  if (rc != HV_CRYPTO_OK)
    goto fail;
  hv_crypto_hex_encode(nonce, HV_COMMIT_NONCE_LEN, nonce_hex);
  root = json_object();
  if (root == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the result document");
    goto fail;
  }
  /* Each set takes its value's reference, even when it fails. */
  bad = json_object_set_new(root, "request_id", id) |
        json_object_set_new(root, "function_name", name) |
        json_object_set_new(root, "exit_code", json_integer((json_int_t)exit_code)) |
        json_object_set_new(root, "stdout", streams[0]) |
        json_object_set_new(root, "stderr", streams[1]) |
        json_object_set_new(root, "program_sha256", json_string(program_sha256)) |
        json_object_set_new(root, "nonce", json_string(nonce_hex));
  id = name = streams[0] = streams[1] = NULL;
  if (bad != 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "serialising the result document");
  else
    rc = hv_crypto__json_dump(root, out, out_len, err);
fail:
  json_decref(id); /* NULL once root holds them */
  json_decref(name);
  json_decref(streams[0]);
  json_decref(streams[1]);
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

/* A number of the given type from its JSON form. */
static bool json_to_number(const char *type, const json_t *value, hvw_value *out) {
  double d = 0;
  float f = 0;
  bool ok = true;

  memset(out, 0, sizeof *out);
  if (strcmp(type, "i32") == 0) {
    ok = json_is_integer(value) && json_integer_value(value) >= INT32_MIN &&
         json_integer_value(value) <= INT32_MAX;
    out->type = HVW_TYPE_I32;
    out->of.i32 = ok ? (int32_t)json_integer_value(value) : 0;
  } else if (strcmp(type, "i64") == 0) {
    out->type = HVW_TYPE_I64;
    if (json_is_integer(value))
      out->of.i64 = json_integer_value(value);
    else
      ok = json_is_string(value) && parse_decimal_i64(json_string_value(value), &out->of.i64);
  } else if (strcmp(type, "f32") == 0) {
    ok = json_to_float(value, &d);
    f = (float)d;
    out->type = HVW_TYPE_F32;
    memcpy(&out->of.f32_bits, &f, sizeof f);
  } else if (strcmp(type, "f64") == 0) {
    ok = json_to_float(value, &d);
    out->type = HVW_TYPE_F64;
    memcpy(&out->of.f64_bits, &d, sizeof d);
  } else {
    ok = false;
  }
  return ok;
}

/* The data of a string (its UTF-8, which the JSON parser has checked) or bytes (its base64,
 * decoded) value: a malloc'ed copy followed by a NUL that *len does not count. */
static hv_crypto_status json_to_blob(hv_type type, const json_t *value, size_t i, uint8_t **out,
                                     size_t *len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const char *text = json_string_value(value);
  size_t text_len = text != NULL ? json_string_length(value) : 0;
  uint8_t *decoded = NULL;
  size_t decoded_len = 0;

  *out = NULL;
  *len = 0;
  if (text == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result %zu: a %s value must be a JSON "
                         "string", i, hv_type_name(type));
    goto fail;
  }
  if (type == HV_TYPE_BYTES) {
    rc = hv_crypto_base64_decode(text, text_len, &decoded, &decoded_len, err);
    if (rc == HV_CRYPTO_BAD_BASE64 || rc == HV_CRYPTO_MESSAGE_TOO_LARGE)
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result %zu is not valid base64", i);
    if (rc != HV_CRYPTO_OK)
      goto fail;
    text = (const char *)decoded;
    text_len = decoded_len;
  }
  *out = malloc(text_len + 1); /* text_len < HV_COMMIT_MAX_DOCUMENT: no overflow */
  if (*out == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes for result %zu",
                         text_len, i);
    goto fail;
  }
  if (text_len > 0)
    memcpy(*out, text, text_len);
  (*out)[text_len] = 0;
  *len = text_len;
fail:
  if (decoded != NULL)
    OPENSSL_cleanse(decoded, decoded_len);
  free(decoded);
  return rc;
}

/* The typed value of result i, a {"type", "value"} object. */
static hv_crypto_status json_to_value(const json_t *item, size_t i, hv_value *out,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const char *type_text = json_string_value(json_object_get(item, "type"));
  const json_t *value = json_object_get(item, "value");
  hv_type type = 0;
  hvw_value number;
  uint8_t *data = NULL;
  size_t len = 0;

  memset(out, 0, sizeof *out);
  if (type_text == NULL || value == NULL || !hv_type_parse(type_text, &type)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result %zu is not a valid typed value", i);
  } else if (hv_type_is_numeric(type)) {
    if (json_to_number(type_text, value, &number))
      *out = hv_value_from_wasm(number);
    else
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result %zu is not a valid %s", i,
                           type_text);
  } else {
    rc = json_to_blob(type, value, i, &data, &len, err);
    if (rc == HV_CRYPTO_OK)
      *out = hv_value_blob(type, data, len);
  }
  return rc;
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
  /* result_count counts the values filled so far, which hv_commit_document_free frees. */
  for (size_t i = 0; rc == HV_CRYPTO_OK && i < count; i++) {
    rc = json_to_value(json_array_get(array, i), i, &doc->results[i], err);
    if (rc == HV_CRYPTO_OK)
      doc->result_count = i + 1;
  }
fail:
  return rc;
}

/* One of a WASI document's outputs: a base64 string, decoded into a copy followed by a NUL. */
static hv_crypto_status parse_output(const json_t *value, const char *name, uint8_t **out,
                                     size_t *len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const char *text = json_string_value(value);
  uint8_t *decoded = NULL;
  size_t decoded_len = 0;

  if (text == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "`%s` is not a base64 string", name);
    goto fail;
  }
  rc = hv_crypto_base64_decode(text, json_string_length(value), &decoded, &decoded_len, err);
  if (rc == HV_CRYPTO_BAD_BASE64 || rc == HV_CRYPTO_MESSAGE_TOO_LARGE)
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "`%s` is not valid base64", name);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = malloc(decoded_len + 1); /* decoded_len < HV_COMMIT_MAX_DOCUMENT: no overflow */
  if (*out == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes for %s", decoded_len,
                         name);
    goto fail;
  }
  if (decoded_len > 0)
    memcpy(*out, decoded, decoded_len);
  (*out)[decoded_len] = 0;
  *len = decoded_len;
fail:
  if (decoded != NULL)
    OPENSSL_cleanse(decoded, decoded_len);
  free(decoded);
  return rc;
}

/* exit_code (an integer from 0 to 2^32 - 1), stdout and stderr of a WASI command's document. */
static hv_crypto_status parse_wasi(const json_t *root, hv_result_document *doc,
                                   hv_crypto_err *err) {
  const json_t *code = json_object_get(root, "exit_code");
  if (!json_is_integer(code) || json_integer_value(code) < 0 ||
      json_integer_value(code) > (json_int_t)UINT32_MAX)
    return hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT,
                           "`exit_code` is not an integer from 0 to 4294967295");
  doc->wasi = true;
  doc->exit_code = (uint32_t)json_integer_value(code);
  hv_crypto_status rc = parse_output(json_object_get(root, "stdout"), "stdout", &doc->stdout_data,
                                     &doc->stdout_len, err);
  if (rc == HV_CRYPTO_OK)
    rc = parse_output(json_object_get(root, "stderr"), "stderr", &doc->stderr_data,
                      &doc->stderr_len, err);
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
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT, "result document missing or over %zu bytes",
                         HV_COMMIT_MAX_DOCUMENT);
    goto fail;
  }
  /* NULs (\u0000) are allowed in string values; request_id and function_name refuse them. */
  root = json_loadb((const char *)json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
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
  /* A function's results or a WASI command's exit code and output: one form, never both. */
  bool has_results = json_object_get(root, "results") != NULL;
  bool has_exit = json_object_get(root, "exit_code") != NULL;
  if (has_exit && (has_results || json_object_get(root, "stdout") == NULL ||
                   json_object_get(root, "stderr") == NULL))
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_DOCUMENT,
                         "a WASI command's document has exit_code, stdout and stderr, and no "
                         "results");
  else if (has_exit)
    rc = parse_wasi(root, doc, err);
  else
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
  for (size_t i = 0; doc->results != NULL && i < doc->result_count; i++) {
    hv_value *v = &doc->results[i];
    if (v->data != NULL) {
      /* The document made this copy (json_to_blob), so casting const away is sound. */
      uint8_t *data = (uint8_t *)(uintptr_t)v->data;
      OPENSSL_cleanse(data, v->len + 1);
      free(data);
    }
  }
  for (int k = 0; k < 2; k++) {
    uint8_t *data = k ? doc->stderr_data : doc->stdout_data;
    if (data != NULL)
      OPENSSL_cleanse(data, (k ? doc->stderr_len : doc->stdout_len) + 1);
    free(data);
  }
  if (doc->results != NULL)
    OPENSSL_cleanse(doc->results, doc->result_count * sizeof *doc->results);
  free(doc->results);
  free(doc);
}
