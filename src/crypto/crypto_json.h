/*
 * crypto_json.h: the protocol's JSON value forms (docs/crypto.md, "The result document"), written
 * by document.c and shared with hv_client, which writes the same forms into the invocation
 * document. Internal: not part of the installed interface; symbols use a double underscore.
 */
#ifndef HV_CRYPTO_JSON_H
#define HV_CRYPTO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hv_crypto.h"

/* True when len bytes at s are well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). NUL bytes are allowed. s may be NULL when len is 0. */
bool hv_crypto__utf8_valid(const uint8_t *s, size_t len);

/* A new JSON array of {"type": ..., "value": ...} objects, one per value, in the result
 * document's forms: i32 a number; i64 a number below 2^53 in magnitude, else a decimal string;
 * f32/f64 numbers, or "nan", "inf", "-inf"; a string a JSON string (it must be UTF-8); bytes the
 * standard base64 of its bytes. `what` names a value in messages ("result", "argument").
 * HV_CRYPTO_BAD_VALUE for a type without a form or a string that is not UTF-8,
 * HV_CRYPTO_INVALID_ARGUMENT for values NULL with count > 0 or a blob NULL with len > 0. On
 * success the caller owns *out (json_decref). */
hv_crypto_status hv_crypto__values_to_json(const hv_value *values, size_t count, const char *what,
                                           json_t **out, hv_crypto_err *err);

/* The JSON value alone (the "value" member of the forms above) of v, value number i of the
 * `what`s, with the same statuses. On success the caller owns *out. */
hv_crypto_status hv_crypto__value_to_json(const hv_value *v, const char *what, size_t i,
                                          json_t **out, hv_crypto_err *err);

/* A new JSON string of len UTF-8 bytes (NULs allowed; HV_CRYPTO_BAD_VALUE if not UTF-8). `what`
 * names it in messages. On success the caller owns *out. */
hv_crypto_status hv_crypto__string_to_json(const char *s, size_t len, const char *what,
                                           json_t **out, hv_crypto_err *err);

/* The compact serialisation of root (the protocol's documents: JSON_COMPACT, 17 significant
 * digits for reals) in a malloc'ed, NUL-terminated buffer: *out (free()), *out_len without the
 * NUL. */
hv_crypto_status hv_crypto__json_dump(const json_t *root, char **out, size_t *out_len,
                                      hv_crypto_err *err);

#endif /* HV_CRYPTO_JSON_H */
