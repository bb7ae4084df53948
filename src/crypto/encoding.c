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

/* Per input byte: the 6-bit value, B64_OK for a base64 character, and which alphabet its two
 * special characters belong to ("+/" standard, "-_" url). Zero: not base64. A table because the
 * decoder runs over every byte of a request (a 1 MiB argument arrives as 1.9 MB of base64). */
enum { B64_OK = 0x100, B64_STD = 0x200, B64_URL = 0x400 };
static const uint16_t B64[256] = {
    ['A'] = B64_OK | 0, ['B'] = B64_OK | 1, ['C'] = B64_OK | 2, ['D'] = B64_OK | 3,
    ['E'] = B64_OK | 4, ['F'] = B64_OK | 5, ['G'] = B64_OK | 6, ['H'] = B64_OK | 7,
    ['I'] = B64_OK | 8, ['J'] = B64_OK | 9, ['K'] = B64_OK | 10, ['L'] = B64_OK | 11,
    ['M'] = B64_OK | 12, ['N'] = B64_OK | 13, ['O'] = B64_OK | 14, ['P'] = B64_OK | 15,
    ['Q'] = B64_OK | 16, ['R'] = B64_OK | 17, ['S'] = B64_OK | 18, ['T'] = B64_OK | 19,
    ['U'] = B64_OK | 20, ['V'] = B64_OK | 21, ['W'] = B64_OK | 22, ['X'] = B64_OK | 23,
    ['Y'] = B64_OK | 24, ['Z'] = B64_OK | 25, ['a'] = B64_OK | 26, ['b'] = B64_OK | 27,
    ['c'] = B64_OK | 28, ['d'] = B64_OK | 29, ['e'] = B64_OK | 30, ['f'] = B64_OK | 31,
    ['g'] = B64_OK | 32, ['h'] = B64_OK | 33, ['i'] = B64_OK | 34, ['j'] = B64_OK | 35,
    ['k'] = B64_OK | 36, ['l'] = B64_OK | 37, ['m'] = B64_OK | 38, ['n'] = B64_OK | 39,
    ['o'] = B64_OK | 40, ['p'] = B64_OK | 41, ['q'] = B64_OK | 42, ['r'] = B64_OK | 43,
    ['s'] = B64_OK | 44, ['t'] = B64_OK | 45, ['u'] = B64_OK | 46, ['v'] = B64_OK | 47,
    ['w'] = B64_OK | 48, ['x'] = B64_OK | 49, ['y'] = B64_OK | 50, ['z'] = B64_OK | 51,
    ['0'] = B64_OK | 52, ['1'] = B64_OK | 53, ['2'] = B64_OK | 54, ['3'] = B64_OK | 55,
    ['4'] = B64_OK | 56, ['5'] = B64_OK | 57, ['6'] = B64_OK | 58, ['7'] = B64_OK | 59,
    ['8'] = B64_OK | 60, ['9'] = B64_OK | 61, ['+'] = B64_OK | B64_STD | 62,
    ['/'] = B64_OK | B64_STD | 63, ['-'] = B64_OK | B64_URL | 62, ['_'] = B64_OK | B64_URL | 63,
};

/* Decodes data_len characters without padding into out; see hv_crypto_base64_decode. Whole
 * groups of four characters first (three bytes each), then the 2 or 3 characters of a last
 * partial group. */
static hv_crypto_status base64_decode_body(const char *in, size_t data_len, uint8_t *out,
                                           hv_crypto_err *err) {
  const unsigned char *p = (const unsigned char *)in;
  unsigned seen = 0; /* the OR of every character's entry: its alphabet bits */
  size_t whole = data_len / 4 * 4;
  size_t o = 0;

  for (size_t i = 0; i < whole; i += 4) {
    unsigned a = B64[p[i]], b = B64[p[i + 1]], c = B64[p[i + 2]], d = B64[p[i + 3]];
    if (!(a & b & c & d & B64_OK))
      break; /* the slow loop below finds the offending character */
    seen |= a | b | c | d;
    uint32_t v = (a & 63u) << 18 | (b & 63u) << 12 | (c & 63u) << 6 | (d & 63u);
    out[o] = (uint8_t)(v >> 16);
    out[o + 1] = (uint8_t)(v >> 8);
    out[o + 2] = (uint8_t)v;
    o += 3;
  }
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = o / 3 * 4; i < data_len; i++) {
    unsigned e = B64[p[i]];
    if (!(e & B64_OK))
      return hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "invalid base64 character at offset %zu", i);
    seen |= e;
    acc = (acc << 6) | (e & 63u);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if ((seen & (B64_STD | B64_URL)) == (B64_STD | B64_URL))
    return hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "base64 mixes the standard and url alphabets");
  if (acc != 0)
    return hv_crypto__fail(err, HV_CRYPTO_BAD_BASE64, "base64 has non-zero trailing bits");
  return HV_CRYPTO_OK;
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
