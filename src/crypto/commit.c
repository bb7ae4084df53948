/*
 * commit.c: SHA-256 commitments (protocol.md, "Commitments"), the canonical argument bytes
 * (docs/crypto.md), nonces and key ids.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto_int.h"
#include "crypto_json.h" /* hv_crypto__utf8_valid */

hv_crypto_status hv_crypto__sha256(const hv_crypto__part *parts, size_t count, uint8_t out[32],
                                   hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int len = 0;

  if (md == NULL || ctx == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1)
    goto fail;
  for (size_t i = 0; i < count; i++) {
    if (parts[i].len > 0 && EVP_DigestUpdate(ctx, parts[i].data, parts[i].len) != 1)
      goto fail;
  }
  if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
    goto fail;
  goto done;
fail:
  rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "SHA-256");
done:
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  return rc;
}

/* SHA-256 of parts as lowercase hex. */
static hv_crypto_status sha256_hex(const hv_crypto__part *parts, size_t count,
                                   char out[HV_COMMIT_HEX_LEN + 1], hv_crypto_err *err) {
  uint8_t digest[32];
  hv_crypto_status rc = hv_crypto__sha256(parts, count, digest, err);

  if (rc == HV_CRYPTO_OK)
    hv_crypto_hex_encode(digest, sizeof digest, out);
  else
    out[0] = '\0';
  return rc;
}

hv_crypto_status hv_crypto_key_id(const uint8_t sec1[HPKE_PUBLIC_KEY_LEN],
                                  char out[HV_KEY_ID_LEN + 1], hv_crypto_err *err) {
  const hv_crypto__part part = {sec1, HPKE_PUBLIC_KEY_LEN};
  uint8_t digest[32];
  hv_crypto_status rc;

  hv_crypto__begin(err);
  rc = hv_crypto__sha256(&part, 1, digest, err);
  if (rc == HV_CRYPTO_OK)
    hv_crypto_hex_encode(digest, HV_KEY_ID_LEN / 2, out);
  else
    out[0] = '\0';
  return rc;
}

hv_crypto_status hv_commit_nonce(uint8_t nonce[HV_COMMIT_NONCE_LEN], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;

  hv_crypto__begin(err);
  if (RAND_bytes(nonce, HV_COMMIT_NONCE_LEN) != 1)
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "drawing a nonce");
  return rc;
}

hv_crypto_status hv_commit_sha256_hex(const uint8_t *data, size_t len,
                                      char out[HV_COMMIT_HEX_LEN + 1], hv_crypto_err *err) {
  const hv_crypto__part part = {data, len};

  hv_crypto__begin(err);
  return sha256_hex(&part, 1, out, err);
}

hv_crypto_status hv_commit_result(const uint8_t *document, size_t len,
                                  char out[HV_COMMIT_HEX_LEN + 1], hv_crypto_err *err) {
  return hv_commit_sha256_hex(document, len, out, err);
}

hv_crypto_status hv_commit_program(const uint8_t nonce[HV_COMMIT_NONCE_LEN], const uint8_t *wasm,
                                   size_t wasm_len, char out[HV_COMMIT_HEX_LEN + 1],
                                   hv_crypto_err *err) {
  /* sizeof includes the label's NUL: that is the 0x00 separator. */
  const hv_crypto__part parts[] = {{HV_COMMIT_PROGRAM_LABEL, sizeof HV_COMMIT_PROGRAM_LABEL},
                                   {nonce, HV_COMMIT_NONCE_LEN},
                                   {wasm, wasm_len}};

  hv_crypto__begin(err);
  return sha256_hex(parts, sizeof parts / sizeof parts[0], out, err);
}

/* Writes v little-endian in n bytes. */
static void put_le(uint8_t *out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(v >> (8 * i));
}

#define HEAD_MAX 9 /* a type byte and 8 bytes: a number's bits or a blob's u64 length */

/* One argument's canonical bytes as head (written to head[0 .. *head_len)) followed by the
 * *tail_len bytes at *tail (a string's or bytes' data; none for a number). Argument i, for
 * messages. */
static hv_crypto_status encode_head(const hv_value *v, size_t i, uint8_t head[HEAD_MAX],
                                    size_t *head_len, const uint8_t **tail, size_t *tail_len,
                                    hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  const hvw_value *n = &v->num;

  *tail = NULL;
  *tail_len = 0;
  head[0] = v->type;
  switch (v->type) {
  case HVW_TYPE_I32:
    put_le(head + 1, (uint32_t)n->of.i32, 4);
    *head_len = 5;
    break;
  case HVW_TYPE_F32:
    put_le(head + 1, n->of.f32_bits, 4);
    *head_len = 5;
    break;
  case HVW_TYPE_I64:
    put_le(head + 1, (uint64_t)n->of.i64, 8);
    *head_len = 9;
    break;
  case HVW_TYPE_F64:
    put_le(head + 1, n->of.f64_bits, 8);
    *head_len = 9;
    break;
  case HV_TYPE_STRING:
  case HV_TYPE_BYTES:
    if (v->data == NULL && v->len > 0) {
      rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "argument %zu has no data", i);
    } else if (v->type == HV_TYPE_STRING && !hv_crypto__utf8_valid(v->data, v->len)) {
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "argument %zu is a string that is not "
                           "valid UTF-8", i);
    } else {
      put_le(head + 1, (uint64_t)v->len, 8);
      *head_len = 9;
      *tail = v->data;
      *tail_len = v->len;
    }
    break;
  default:
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "argument %zu has type 0x%02x, which has no "
                         "canonical form", i, v->type);
    break;
  }
  return rc;
}

static hv_crypto_status check_count(const hv_value *args, size_t count, hv_crypto_err *err) {
  if ((args == NULL && count > 0) || count > HV_COMMIT_MAX_VALUES)
    return hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "%zu arguments (at most %d)", count,
                           HV_COMMIT_MAX_VALUES);
  return HV_CRYPTO_OK;
}

size_t hv_commit_canonical_size(const hv_value *args, size_t count) {
  /* SIZE_MAX means "no size", so a real total stays below it. */
  size_t total = 0;

  if (args == NULL && count > 0)
    return SIZE_MAX;
  for (size_t i = 0; i < count; i++) {
    hv_type t = args[i].type;
    size_t head = t == HVW_TYPE_I32 || t == HVW_TYPE_F32 ? 5 : hv_type_is_valid(t) ? 9 : 0;
    size_t tail = t == HV_TYPE_STRING || t == HV_TYPE_BYTES ? args[i].len : 0;

    if (head == 0 || SIZE_MAX - 1 - total < head || SIZE_MAX - 1 - total - head < tail)
      return SIZE_MAX;
    total += head + tail;
  }
  return total;
}

hv_crypto_status hv_commit_canonical_arguments(const hv_value *args, size_t count, uint8_t *out,
                                               size_t cap, size_t *len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t o = 0;

  hv_crypto__begin(err);
  *len = 0;
  rc = check_count(args, count, err);
  for (size_t i = 0; rc == HV_CRYPTO_OK && i < count; i++) {
    uint8_t head[HEAD_MAX];
    size_t head_len = 0, tail_len = 0;
    const uint8_t *tail = NULL;

    rc = encode_head(&args[i], i, head, &head_len, &tail, &tail_len, err);
    if (rc != HV_CRYPTO_OK)
      break;
    if (out == NULL || cap - o < head_len || cap - o - head_len < tail_len) {
      rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "canonical argument buffer of %zu "
                           "bytes is too small", cap);
      break;
    }
    memcpy(out + o, head, head_len);
    if (tail_len > 0)
      memcpy(out + o + head_len, tail, tail_len);
    o += head_len + tail_len;
  }
  if (rc == HV_CRYPTO_OK)
    *len = o;
  return rc;
}

hv_crypto_status hv_commit_arguments(const uint8_t nonce[HV_COMMIT_NONCE_LEN], const hv_value *args,
                                     size_t count, char out[HV_COMMIT_HEX_LEN + 1],
                                     hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_MD *md = NULL;
  EVP_MD_CTX *ctx = NULL;
  uint8_t digest[32];
  unsigned int digest_len = 0;

  hv_crypto__begin(err);
  out[0] = '\0';
  rc = check_count(args, count, err);
  if (rc != HV_CRYPTO_OK)
    goto done;
  md = EVP_MD_fetch(NULL, "SHA256", NULL);
  ctx = EVP_MD_CTX_new();
  /* sizeof includes the label's NUL: that is the 0x00 separator. */
  if (md == NULL || ctx == NULL || EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
      EVP_DigestUpdate(ctx, HV_COMMIT_ARGUMENTS_LABEL, sizeof HV_COMMIT_ARGUMENTS_LABEL) != 1 ||
      EVP_DigestUpdate(ctx, nonce, HV_COMMIT_NONCE_LEN) != 1)
    goto ossl_fail;
  for (size_t i = 0; i < count; i++) {
    uint8_t head[HEAD_MAX];
    size_t head_len = 0, tail_len = 0;
    const uint8_t *tail = NULL;

    rc = encode_head(&args[i], i, head, &head_len, &tail, &tail_len, err);
    if (rc != HV_CRYPTO_OK)
      goto done;
    if (EVP_DigestUpdate(ctx, head, head_len) != 1 ||
        (tail_len > 0 && EVP_DigestUpdate(ctx, tail, tail_len) != 1))
      goto ossl_fail;
  }
  if (EVP_DigestFinal_ex(ctx, digest, &digest_len) != 1 || digest_len != sizeof digest)
    goto ossl_fail;
  hv_crypto_hex_encode(digest, sizeof digest, out);
  goto done;
ossl_fail:
  rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "SHA-256");
done:
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  return rc;
}

bool hv_commit_hex_equal(const char *a, const char *b) {
  /* The lengths are public; only the digits are compared in constant time. */
  bool shaped = a != NULL && b != NULL && strnlen(a, HV_COMMIT_HEX_LEN + 1) == HV_COMMIT_HEX_LEN &&
                strnlen(b, HV_COMMIT_HEX_LEN + 1) == HV_COMMIT_HEX_LEN;
  unsigned diff = shaped ? 0u : 1u;

  for (size_t i = 0; shaped && i < HV_COMMIT_HEX_LEN; i++) {
    unsigned ca = (unsigned char)a[i];
    unsigned cb = (unsigned char)b[i];
    /* Lower-case letters only: folding digits with 0x20 would map them onto other characters. */
    unsigned a_letter = ((ca | 0x20u) - 'a') < 6u;
    unsigned b_letter = ((cb | 0x20u) - 'a') < 6u;
    unsigned a_digit = (ca - '0') < 10u;
    unsigned b_digit = (cb - '0') < 10u;
    ca |= 0x20u & (0u - a_letter);
    cb |= 0x20u & (0u - b_letter);
    diff |= (ca ^ cb) | (1u - (a_letter | a_digit)) | (1u - (b_letter | b_digit));
  }
  return diff == 0;
}
