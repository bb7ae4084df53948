/*
 * commit.c: SHA-256 commitments (protocol.md, "Commitments"), the canonical argument bytes
 * (docs/crypto.md), nonces and key ids.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "crypto_int.h"

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

/* Appends v little-endian in n bytes. */
static void put_le(uint8_t *out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++)
    out[i] = (uint8_t)(v >> (8 * i));
}

hv_crypto_status hv_commit_canonical_arguments(const wasm_value *args, size_t count, uint8_t *out,
                                               size_t cap, size_t *len, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t o = 0;

  hv_crypto__begin(err);
  *len = 0;
  if ((args == NULL && count > 0) || count > HV_COMMIT_MAX_VALUES) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "%zu arguments (at most %d)", count,
                         HV_COMMIT_MAX_VALUES);
    goto fail;
  }
  for (size_t i = 0; i < count; i++) {
    const wasm_value *v = &args[i];
    size_t width = (v->type == WASM_TYPE_I32 || v->type == WASM_TYPE_F32) ? 4
                   : (v->type == WASM_TYPE_I64 || v->type == WASM_TYPE_F64) ? 8
                                                                            : 0;
    uint64_t bits = v->type == WASM_TYPE_I32   ? (uint32_t)v->of.i32
                    : v->type == WASM_TYPE_F32 ? v->of.f32_bits
                    : v->type == WASM_TYPE_I64 ? (uint64_t)v->of.i64
                                               : v->of.f64_bits;
    if (width == 0) {
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "argument %zu has type 0x%02x, not a number",
                           i, v->type);
      goto fail;
    }
    if (out == NULL || cap - o < 1 + width) {
      rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "canonical argument buffer of %zu "
                           "bytes is too small", cap);
      goto fail;
    }
    out[o] = v->type;
    put_le(out + o + 1, bits, width);
    o += 1 + width;
  }
  *len = o;
fail:
  return rc;
}

hv_crypto_status hv_commit_arguments(const uint8_t nonce[HV_COMMIT_NONCE_LEN],
                                     const wasm_value *args, size_t count,
                                     char out[HV_COMMIT_HEX_LEN + 1], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint8_t *canonical = NULL;
  size_t len = 0;

  hv_crypto__begin(err);
  out[0] = '\0';
  if (count > HV_COMMIT_MAX_VALUES) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "%zu arguments (at most %d)", count,
                         HV_COMMIT_MAX_VALUES);
    goto fail;
  }
  canonical = malloc(count * HV_COMMIT_ARG_MAX_BYTES + 1);
  if (canonical == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating canonical arguments");
    goto fail;
  }
  rc = hv_commit_canonical_arguments(args, count, canonical, count * HV_COMMIT_ARG_MAX_BYTES,
                                     &len, err);
  if (rc == HV_CRYPTO_OK) {
    const hv_crypto__part parts[] = {{HV_COMMIT_ARGUMENTS_LABEL, sizeof HV_COMMIT_ARGUMENTS_LABEL},
                                     {nonce, HV_COMMIT_NONCE_LEN},
                                     {canonical, len}};
    rc = sha256_hex(parts, sizeof parts / sizeof parts[0], out, err);
  }
fail:
  free(canonical);
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
