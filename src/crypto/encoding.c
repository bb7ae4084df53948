/*
 * encoding.c: base64 (standard out; standard or base64url in) and lowercase hex. Hex runs in
 * constant time in the data because key files hold private keys in hex.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto_int.h"
#include "crypto_json.h"

/* Largest input either direction takes: OpenSSL's encoder counts in int. */
#define BASE64_MAX_INPUT (((size_t)1 << 30) + ((size_t)1 << 20))

hv_crypto_status hv_crypto_base64_encode(const uint8_t *in, size_t len, char **out, size_t *out_len,
                                         hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t cap = 4 * ((len + 2) / 3) + 1;
  char *buf = NULL;
  int n = 0;

  hv_crypto__begin(err);
  *out = NULL;
  if (out_len != NULL)
    *out_len = 0;
  if (len > BASE64_MAX_INPUT || (in == NULL && len > 0)) {
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "base64 input missing or over %zu "
                         "bytes", BASE64_MAX_INPUT);
    goto fail;
  }
  buf = malloc(cap);
  if (buf == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes of base64", cap);
    goto fail;
  }
  n = len > 0 ? EVP_EncodeBlock((unsigned char *)buf, in, (int)len) : 0;
  if (n < 0 || (size_t)n != cap - 1) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "base64 encoding");
    goto fail;
  }
  buf[n] = '\0';
  *out = buf;
  if (out_len != NULL)
    *out_len = (size_t)n;
  buf = NULL;
fail:
  free(buf);
  return rc;
}

/* The 6-bit value of a base64 character; *alphabet gets 1 for "+/", 2 for "-_", 0 otherwise. */
static int base64_value(unsigned char c, int *alphabet) {
  int v = -1;
  *alphabet = (c == '+' || c == '/') ? 1 : (c == '-' || c == '_') ? 2 : 0;
  if (c >= 'A' && c <= 'Z')
    v = c - 'A';
  else if (c >= 'a' && c <= 'z')
    v = c - 'a' + 26;
  else if (c >= '0' && c <= '9')
    v = c - '0' + 52;
  else if (*alphabet != 0)
    v = (c == '+' || c == '-') ? 62 : 63;
  return v;
}

/* Decodes data_len characters without padding into out; see hv_crypto_base64_decode. */
static hv_crypto_status base64_decode_body(const char *in, size_t data_len, uint8_t *out,
                                           hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  uint32_t acc = 0;
  unsigned bits = 0;
  int alphabets = 0;
  size_t o = 0;

  for (size_t i = 0; i < data_len; i++) {
    int alphabet = 0;
    int v = base64_value((unsigned char)in[i], &alphabet);
    if (v < 0) {
      rc = hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "invalid base64 character at offset %zu", i);
      goto fail;
    }
    alphabets |= alphabet;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (alphabets == 3) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "base64 mixes the standard and url alphabets");
  } else if (acc != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "base64 has non-zero trailing bits");
  }
fail:
  return rc;
}

hv_crypto_status hv_crypto_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
                                         hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t pad = 0;
  size_t data_len = 0;
  size_t decoded = 0;
  uint8_t *buf = NULL;

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  if ((in == NULL && len > 0) || len > BASE64_MAX_INPUT * 2) {
    rc = hv_crypto__fail(err, HV_CRYPTO_MESSAGE_TOO_LARGE, "base64 text missing or too long");
    goto fail;
  }
  while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
    pad++;
  data_len = len - pad;
  if ((pad > 0 && len % 4 != 0) || data_len % 4 == 1) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "base64 length %zu is not valid", len);
    goto fail;
  }
  decoded = data_len / 4 * 3 + (data_len % 4 == 0 ? 0 : data_len % 4 - 1);
  buf = malloc(decoded > 0 ? decoded : 1);
  if (buf == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating %zu bytes", decoded);
    goto fail;
  }
  rc = base64_decode_body(in, data_len, buf, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = buf;
  *out_len = decoded;
  buf = NULL;
fail:
  free(buf);
  return rc;
}

bool hv_crypto__utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;

  while (i < len) {
    uint8_t c = s[i];
    size_t n = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
               : c >= 0xF0 && c <= 0xF4 ? 3 : SIZE_MAX;
    /* The second byte's range excludes overlong forms, surrogates and code points > U+10FFFF. */
    uint8_t lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    uint8_t hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;

    if (n == SIZE_MAX || len - i - 1 < n)
      return false;
    for (size_t k = 1; k <= n; k++) {
      uint8_t b = s[i + k];
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF))
        return false;
    }
    i += 1 + n;
  }
  return true;
}

void hv_crypto_hex_encode(const uint8_t *in, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    for (unsigned half = 0; half < 2; half++) {
      unsigned n = half == 0 ? in[i] >> 4 : in[i] & 0x0Fu;
      unsigned above_9 = 0u - ((9u - n) >> 31); /* all ones when n > 9, without a branch */
      out[2 * i + half] = (char)(n + '0' + (above_9 & ('a' - '0' - 10)));
    }
  }
  out[2 * len] = '\0';
}

/* The value of a hex digit, or a value >= 256 for anything else; no data-dependent branches. */
static unsigned hex_value(unsigned char c) {
  unsigned d = (unsigned)c - '0';
  unsigned l = ((unsigned)c | 0x20u) - 'a';
  unsigned is_d = d < 10u;
  unsigned is_l = l < 6u;
  return (d & (0u - is_d)) | ((l + 10u) & (0u - is_l)) | (0x100u & (0u - (1u - (is_d | is_l))));
}

hv_crypto_status hv_crypto_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  unsigned bad = 0;

  hv_crypto__begin(err);
  if (in == NULL || out_len > SIZE_MAX / 2 || in_len != 2 * out_len) {
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_HEX, "expected %zu hex digits, got %zu",
                         out_len <= SIZE_MAX / 2 ? 2 * out_len : 0, in_len);
    goto fail;
  }
  for (size_t i = 0; i < out_len; i++) {
    unsigned hi = hex_value((unsigned char)in[2 * i]);
    unsigned lo = hex_value((unsigned char)in[2 * i + 1]);
    bad |= (hi | lo) >> 8;
    out[i] = (uint8_t)((hi << 4) | (lo & 0x0Fu));
  }
  if (bad != 0) {
    OPENSSL_cleanse(out, out_len);
    rc = hv_crypto__fail(err, HV_CRYPTO_BAD_HEX, "not a hex string");
  }
fail:
  return rc;
}
