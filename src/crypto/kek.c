/*
 * kek.c: the key-encryption key (include/hv_crypto.h, "Key-encryption key"; docs/crypto.md).
 * AES-256-GCM through OpenSSL's EVP interface; a fresh random nonce per wrap (a KEK wraps a few
 * keys a day, far below GCM's random-nonce limits).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto_int.h"

#define KEK_AAD_LABEL "wasm-hypervisor kek v1"
#define NONCE_LEN 12
#define TAG_LEN 16
#define KEK_FILE_MAX 128 /* more than 64 hex digits and a newline: not a KEK file */

struct hv_kek {
  uint8_t key[HV_KEK_LEN];
};

void hv_kek_free(hv_kek *kek) {
  if (kek == NULL)
    return;
  OPENSSL_cleanse(kek, sizeof *kek);
  free(kek);
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 64 hex digits (either case) into key; false otherwise. */
static bool parse_hex_key(const char *text, size_t len, uint8_t key[HV_KEK_LEN]) {
  if (len != 2 * HV_KEK_LEN)
    return false;
  for (size_t i = 0; i < HV_KEK_LEN; i++) {
    int hi = hex_digit(text[2 * i]);
    int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    key[i] = (uint8_t)(hi << 4 | lo);
  }
  return true;
}

static hv_crypto_status kek_new(const uint8_t key[HV_KEK_LEN], hv_kek **out, hv_crypto_err *err) {
  hv_kek *k = malloc(sizeof *k);
  if (k == NULL)
    return hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the key-encryption key");
  memcpy(k->key, key, HV_KEK_LEN);
  *out = k;
  return HV_CRYPTO_OK;
}

hv_crypto_status hv_kek_from_text(const char *text, hv_kek **out, hv_crypto_err *err) {
  uint8_t key[HV_KEK_LEN];
  hv_crypto_status rc = HV_CRYPTO_OK;

  hv_crypto__begin(err);
  if (out != NULL)
    *out = NULL;
  if (text == NULL || out == NULL)
    return hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "hv_kek_from_text: NULL argument");
  if (!parse_hex_key(text, strnlen(text, 2 * HV_KEK_LEN + 1), key))
    rc = hv_crypto__fail(err, HV_CRYPTO_KEK_INVALID,
                         "%s must be 64 hex digits (32 bytes, e.g. from `openssl rand -hex 32`)",
                         HV_KEK_ENV);
  else
    rc = kek_new(key, out, err);
  OPENSSL_cleanse(key, sizeof key);
  return rc;
}

hv_crypto_status hv_kek_from_file(const char *path, hv_kek **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char text[KEK_FILE_MAX + 1];
  uint8_t key[HV_KEK_LEN];
  size_t len = 0;
  struct stat st;
  int fd = -1;

  hv_crypto__begin(err);
  if (out != NULL)
    *out = NULL;
  if (path == NULL || out == NULL)
    return hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "hv_kek_from_file: NULL argument");
  fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEK_INVALID, "key-encryption key file %s: %s", path,
                         strerror(errno));
    goto done;
  }
  /* A KEK others can read protects nothing: refuse it rather than quietly use it. */
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEK_INVALID,
                         "key-encryption key file %s must be a regular file of this user with "
                         "mode 0600 or 0400 (chmod 600 %s)",
                         path, path);
    goto done;
  }
  while (len < sizeof text - 1) {
    ssize_t n = read(fd, text + len, sizeof text - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = hv_crypto__fail(err, HV_CRYPTO_KEK_INVALID, "reading key-encryption key file %s: %s",
                           path, strerror(errno));
      goto done;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  if (len == HV_KEK_LEN) {
    memcpy(key, text, HV_KEK_LEN); /* raw bytes */
  } else {
    if (len > 0 && text[len - 1] == '\n')
      len--;
    if (!parse_hex_key(text, len, key)) {
      rc = hv_crypto__fail(err, HV_CRYPTO_KEK_INVALID,
                           "key-encryption key file %s must hold 64 hex digits (or 32 raw bytes)",
                           path);
      goto done;
    }
  }
  rc = kek_new(key, out, err);
done:
  if (fd >= 0)
    close(fd);
  OPENSSL_cleanse(text, sizeof text);
  OPENSSL_cleanse(key, sizeof key);
  return rc;
}

hv_crypto_status hv_kek_copy(const hv_kek *kek, hv_kek **out, hv_crypto_err *err) {
  *out = NULL;
  if (kek == NULL)
    return HV_CRYPTO_OK;
  return kek_new(kek->key, out, err);
}

/* AAD = label || NUL || key_id || version. */
static size_t make_aad(const char *key_id, uint8_t version, uint8_t *aad, size_t cap) {
  size_t label = sizeof KEK_AAD_LABEL; /* with its NUL */
  size_t id = strnlen(key_id, HV_KEY_ID_LEN + 1);
  if (label + id + 1 > cap)
    return 0;
  memcpy(aad, KEK_AAD_LABEL, label);
  memcpy(aad + label, key_id, id);
  aad[label + id] = version;
  return label + id + 1;
}

/* One AES-256-GCM pass; encrypt: in -> out and the tag into tag; else checks tag. */
static hv_crypto_status gcm(const hv_kek *kek, bool encrypt, const uint8_t nonce[NONCE_LEN],
                            const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                            uint8_t *out, uint8_t tag[TAG_LEN], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int n = 0;
  int fin = 0;

  if (ctx == NULL ||
      EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, kek->key, nonce, encrypt ? 1 : 0) != 1 ||
      EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1 ||
      EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1 ||
      (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)) {
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "AES-256-GCM");
    goto done;
  }
  if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1) {
    /* Only a decryption can fail here: the tag did not check. */
    rc = hv_crypto__ossl_fail(err, encrypt ? HV_CRYPTO_OPENSSL_FAILURE : HV_CRYPTO_KEK_MISMATCH,
                              encrypt ? "AES-256-GCM" : "unwrapping a key");
    goto done;
  }
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
    rc = hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "AES-256-GCM tag");
done:
  EVP_CIPHER_CTX_free(ctx);
  return rc;
}

hv_crypto_status hv_kek_wrap(const hv_kek *kek, const char *key_id, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t *out_len, hv_crypto_err *err) {
  uint8_t aad[sizeof KEK_AAD_LABEL + HV_KEY_ID_LEN + 2];
  size_t aad_len = 0;

  hv_crypto__begin(err);
  if (kek == NULL || key_id == NULL || in == NULL || out == NULL || out_len == NULL ||
      in_len == 0 || in_len > HV_KEK_MAX_PLAINTEXT ||
      (aad_len = make_aad(key_id, HV_KEK_WRAP_VERSION, aad, sizeof aad)) == 0)
    return hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "hv_kek_wrap: bad argument");
  out[0] = HV_KEK_WRAP_VERSION;
  if (RAND_bytes(out + 1, NONCE_LEN) != 1)
    return hv_crypto__ossl_fail(err, HV_CRYPTO_OPENSSL_FAILURE, "drawing a nonce");
  hv_crypto_status rc = gcm(kek, true, out + 1, aad, aad_len, in, in_len, out + 1 + NONCE_LEN,
                            out + 1 + NONCE_LEN + in_len, err);
  if (rc != HV_CRYPTO_OK) {
    OPENSSL_cleanse(out, in_len + HV_KEK_WRAP_OVERHEAD);
    return rc;
  }
  *out_len = in_len + HV_KEK_WRAP_OVERHEAD;
  return HV_CRYPTO_OK;
}

hv_crypto_status hv_kek_unwrap(const hv_kek *kek, const char *key_id, const uint8_t *in,
                               size_t in_len, uint8_t *out, size_t *out_len, hv_crypto_err *err) {
  uint8_t aad[sizeof KEK_AAD_LABEL + HV_KEY_ID_LEN + 2];
  uint8_t tag[TAG_LEN];
  size_t aad_len = 0;

  hv_crypto__begin(err);
  if (kek == NULL || key_id == NULL || in == NULL || out == NULL || out_len == NULL)
    return hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "hv_kek_unwrap: NULL argument");
  if (in_len <= HV_KEK_WRAP_OVERHEAD || in_len > HV_KEK_MAX_PLAINTEXT + HV_KEK_WRAP_OVERHEAD ||
      in[0] != HV_KEK_WRAP_VERSION ||
      (aad_len = make_aad(key_id, in[0], aad, sizeof aad)) == 0)
    return hv_crypto__fail(err, HV_CRYPTO_BAD_VALUE, "wrapped key: malformed or unknown version");
  size_t ct_len = in_len - HV_KEK_WRAP_OVERHEAD;
  memcpy(tag, in + 1 + NONCE_LEN + ct_len, TAG_LEN);
  hv_crypto_status rc = gcm(kek, false, in + 1, aad, aad_len, in + 1 + NONCE_LEN, ct_len, out,
                            tag, err);
  if (rc != HV_CRYPTO_OK) {
    OPENSSL_cleanse(out, ct_len);
    return rc;
  }
  *out_len = ct_len;
  return HV_CRYPTO_OK;
}
