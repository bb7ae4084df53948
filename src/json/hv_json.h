/*
 * hv_json.h: jansson's json_loadb, fast on large documents.
 *
 * jansson reads a string one character at a time (about 60 MB/s here), so a request carrying a
 * 1 MiB bytes argument spent 30-40 ms in it twice (the request body, then the sealed invocation).
 * hv_json_loadb parses with simdjson (SIMD, GB/s, its own strict UTF-8 check of the whole text)
 * and builds the same jansson tree, so every caller keeps using jansson's API. The tree and the
 * accept/reject decision are jansson's by construction: whenever simdjson and jansson could
 * disagree (a text simdjson refuses, a duplicate key under JSON_REJECT_DUPLICATES, "\u0000" without
 * JSON_ALLOW_NUL, a NUL in a key, an integer past int64, a scalar at the top without
 * JSON_DECODE_ANY, nesting past simdjson's 1024 levels, any other flag) jansson parses the text
 * itself and its answer, message and position included, is returned. Small texts go to jansson
 * directly: for them it is as fast and the tree is the same.
 *
 * Internal to the project (not installed). Thread-safe: no shared state.
 */
#ifndef HV_JSON_H
#define HV_JSON_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Texts shorter than this go to jansson directly. */
#define HV_JSON_FAST_MIN_BYTES 4096

/* Readable bytes the caller of hv_json_loadb_padded guarantees after the text (any values). */
#define HV_JSON_PADDING 64

/* As json_loadb(text, len, flags, error): a new reference the caller owns (json_decref), or NULL
 * with *error (may be NULL) filled. The flags taken on the fast path are JSON_REJECT_DUPLICATES,
 * JSON_ALLOW_NUL and JSON_DECODE_ANY; any other flag sends the text to jansson. */
json_t *hv_json_loadb(const char *text, size_t len, size_t flags, json_error_t *error);

/* The same, for a text followed by at least HV_JSON_PADDING readable bytes: the fast path then
 * reads it in place instead of copying it. */
json_t *hv_json_loadb_padded(const char *text, size_t len, size_t flags, json_error_t *error);

/* For tests and the differential fuzzer: the fast path alone, whatever the length (the text is
 * copied to a padded buffer). Returns the tree (the caller owns it), or NULL when the text would
 * go to jansson (including when memory ran out). */
json_t *hv_json__load_fast(const char *text, size_t len, size_t flags);

#ifdef __cplusplus
}
#endif

#endif /* HV_JSON_H */
