/*
 * tlog_note.c: C2SP signed notes and tlog-checkpoints with Ed25519 (hv_tlog.h).
 *
 *   checkpoint body   "<origin>\n<size>\n<base64 root>\n" (then optional extension lines)
 *   signed note       body, "\n", then lines "— <name> <base64(key id (4 bytes) || signature)>\n"
 *   key id            the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key), 0x01
 *                     being the Ed25519 signature type
 *   verifier key      "<name>+<key id, 8 hex digits>+<base64(0x01 || public key)>"
 *
 * The signature is Ed25519 (pure, RFC 8032) over the body bytes, through OpenSSL 3's EVP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hv_tlog.h"

#define ALG_ED25519 0x01
static const char em_dash[] = "\xe2\x80\x94"; /* U+2014, which starts every signature line */

/* ---- Base64 -------------------------------------------------------------------------------- */

size_t hv_tlog_base64_encode(const uint8_t *data, size_t len, char *out) {
  return (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

bool hv_tlog_base64_decode_var(const char *text, uint8_t *out, size_t max, size_t *len) {
  size_t n = strlen(text);
  if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2) return false;
  uint8_t *buf = malloc(n / 4 * 3);
  char *again = malloc(n + 1);
  bool ok = buf && again;
  int got = ok ? EVP_DecodeBlock(buf, (const unsigned char *)text, (int)n) : -1;
  ok = ok && got >= 0;
  size_t real = 0;
  if (ok) {
    size_t pad = (text[n - 1] == '=') + (n > 1 && text[n - 2] == '=');
    real = (size_t)got - pad;
    /* Canonical only: re-encoding gives the same text (rejects stray characters and bits). */
    ok = real <= max && hv_tlog_base64_encode(buf, real, again) == n && memcmp(again, text, n) == 0;
  }
  if (ok) {
    memcpy(out, buf, real);
    *len = real;
  }
  free(buf);
  free(again);
  return ok;
}

bool hv_tlog_base64_decode(const char *text, uint8_t *out, size_t want) {
  size_t len = 0;
  return hv_tlog_base64_decode_var(text, out, want, &len) && len == want;
}

/* ---- Keys ---------------------------------------------------------------------------------- */

bool hv_tlog_key_name_valid(const char *name) {
  size_t n = strnlen(name, HV_TLOG_KEY_NAME_MAX);
  if (n == 0 || n >= HV_TLOG_KEY_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c <= 0x20 || c >= 0x7f || c == '+') return false;
  }
  return true;
}

static uint32_t key_id_of(const char *name, const uint8_t public_key[HV_TLOG_ED25519_PUBLIC_LEN]) {
  uint8_t buf[HV_TLOG_KEY_NAME_MAX + 2 + HV_TLOG_ED25519_PUBLIC_LEN];
  size_t n = strlen(name);
  memcpy(buf, name, n);
  buf[n] = '\n';
  buf[n + 1] = ALG_ED25519;
  memcpy(buf + n + 2, public_key, HV_TLOG_ED25519_PUBLIC_LEN);
  uint8_t h[SHA256_DIGEST_LENGTH];
  SHA256(buf, n + 2 + HV_TLOG_ED25519_PUBLIC_LEN, h);
  return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

hv_tlog_status hv_tlog_signer_init(hv_tlog_signer *out, const char *name,
                                   const uint8_t seed[HV_TLOG_ED25519_SEED_LEN]) {
  memset(out, 0, sizeof *out);
  if (!hv_tlog_key_name_valid(name)) return HV_TLOG_INVALID_ARGUMENT;
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, HV_TLOG_ED25519_SEED_LEN);
  size_t len = HV_TLOG_ED25519_PUBLIC_LEN;
  bool ok = pk && EVP_PKEY_get_raw_public_key(pk, out->public_key, &len) == 1 &&
            len == HV_TLOG_ED25519_PUBLIC_LEN;
  EVP_PKEY_free(pk);
  if (!ok) return HV_TLOG_CRYPTO;
  snprintf(out->name, sizeof out->name, "%s", name);
  memcpy(out->seed, seed, HV_TLOG_ED25519_SEED_LEN);
  out->key_id = key_id_of(name, out->public_key);
  return HV_TLOG_OK;
}

void hv_tlog_signer_wipe(hv_tlog_signer *signer) {
  if (signer) OPENSSL_cleanse(signer, sizeof *signer);
}

hv_tlog_status hv_tlog_verifier_key_format(const hv_tlog_signer *signer,
                                           char out[HV_TLOG_VERIFIER_KEY_MAX]) {
  uint8_t raw[1 + HV_TLOG_ED25519_PUBLIC_LEN];
  raw[0] = ALG_ED25519;
  memcpy(raw + 1, signer->public_key, HV_TLOG_ED25519_PUBLIC_LEN);
  char b64[64];
  hv_tlog_base64_encode(raw, sizeof raw, b64);
  int n = snprintf(out, HV_TLOG_VERIFIER_KEY_MAX, "%s+%08x+%s", signer->name,
                   (unsigned)signer->key_id, b64);
  return n > 0 && n < HV_TLOG_VERIFIER_KEY_MAX ? HV_TLOG_OK : HV_TLOG_INVALID_ARGUMENT;
}

hv_tlog_status hv_tlog_verifier_key_parse(const char *text, hv_tlog_verifier *out) {
  memset(out, 0, sizeof *out);
  size_t n = strnlen(text, HV_TLOG_VERIFIER_KEY_MAX);
  if (n >= HV_TLOG_VERIFIER_KEY_MAX) return HV_TLOG_BAD_KEY;
  const char *p1 = strchr(text, '+');
  const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
  if (!p1 || !p2 || (size_t)(p1 - text) >= HV_TLOG_KEY_NAME_MAX || p2 - p1 != 9)
    return HV_TLOG_BAD_KEY;
  memcpy(out->name, text, (size_t)(p1 - text));
  out->name[p1 - text] = '\0';
  if (!hv_tlog_key_name_valid(out->name)) return HV_TLOG_BAD_KEY;
  uint32_t id = 0;
  for (const char *q = p1 + 1; q < p2; q++) {
    int d = (*q >= '0' && *q <= '9') ? *q - '0' : (*q >= 'a' && *q <= 'f') ? *q - 'a' + 10 : -1;
    if (d < 0) return HV_TLOG_BAD_KEY;
    id = id << 4 | (uint32_t)d;
  }
  uint8_t raw[1 + HV_TLOG_ED25519_PUBLIC_LEN];
  if (!hv_tlog_base64_decode(p2 + 1, raw, sizeof raw) || raw[0] != ALG_ED25519)
    return HV_TLOG_BAD_KEY;
  memcpy(out->public_key, raw + 1, HV_TLOG_ED25519_PUBLIC_LEN);
  out->key_id = key_id_of(out->name, out->public_key);
  return out->key_id == id ? HV_TLOG_OK : HV_TLOG_BAD_KEY;
}

/* ---- Checkpoints --------------------------------------------------------------------------- */

/* The body "origin\nsize\nroot\n" into out; its length, or 0 when it does not fit. */
static size_t checkpoint_body(const char *origin, uint64_t size,
                              const uint8_t root[HV_TLOG_HASH_LEN], char *out, size_t cap) {
  char b64[64];
  hv_tlog_base64_encode(root, HV_TLOG_HASH_LEN, b64);
  int n = snprintf(out, cap, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

hv_tlog_status hv_tlog_checkpoint_sign(const hv_tlog_signer *signer, uint64_t size,
                                       const uint8_t root[HV_TLOG_HASH_LEN],
                                       char out[HV_TLOG_NOTE_MAX], size_t *len) {
  size_t body = checkpoint_body(signer->name, size, root, out, HV_TLOG_NOTE_MAX);
  if (body == 0) return HV_TLOG_INVALID_ARGUMENT;
  uint8_t sig[4 + HV_TLOG_ED25519_SIG_LEN];
  sig[0] = (uint8_t)(signer->key_id >> 24);
  sig[1] = (uint8_t)(signer->key_id >> 16);
  sig[2] = (uint8_t)(signer->key_id >> 8);
  sig[3] = (uint8_t)signer->key_id;
  EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, signer->seed,
                                              HV_TLOG_ED25519_SEED_LEN);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t siglen = HV_TLOG_ED25519_SIG_LEN;
  bool ok = pk && md && EVP_DigestSignInit(md, NULL, NULL, NULL, pk) == 1 &&
            EVP_DigestSign(md, sig + 4, &siglen, (const uint8_t *)out, body) == 1 &&
            siglen == HV_TLOG_ED25519_SIG_LEN;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk); /* frees (and clears) OpenSSL's copy of the private key */
  if (!ok) return HV_TLOG_CRYPTO;
  char b64[128];
  hv_tlog_base64_encode(sig, sizeof sig, b64);
  int n = snprintf(out + body, HV_TLOG_NOTE_MAX - body, "\n%s %s %s\n", em_dash, signer->name, b64);
  if (n <= 0 || (size_t)n >= HV_TLOG_NOTE_MAX - body) return HV_TLOG_INVALID_ARGUMENT;
  if (len) *len = body + (size_t)n;
  return HV_TLOG_OK;
}

static bool ed25519_verify(const uint8_t public_key[HV_TLOG_ED25519_PUBLIC_LEN], const uint8_t *msg,
                           size_t len, const uint8_t sig[HV_TLOG_ED25519_SIG_LEN]) {
  EVP_PKEY *pk =
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, HV_TLOG_ED25519_PUBLIC_LEN);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  bool ok = pk && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
            EVP_DigestVerify(md, sig, HV_TLOG_ED25519_SIG_LEN, msg, len) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(pk);
  return ok;
}

/* Parses a decimal without sign or leading zeros ("0" alone), up to 2^63 - 1. */
static bool parse_size(const char *s, size_t n, uint64_t *out) {
  if (n == 0 || n > 19 || (n > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (v > INT64_MAX) return false;
  *out = v;
  return true;
}

hv_tlog_status hv_tlog_checkpoint_open(const char *note, size_t len,
                                       const hv_tlog_verifier *verifier, hv_tlog_checkpoint *out) {
  memset(out, 0, sizeof *out);
  if (len == 0 || len > HV_TLOG_NOTE_MAX || memchr(note, '\0', len) || note[len - 1] != '\n')
    return HV_TLOG_BAD_NOTE;
  /* The body ends at the last blank line; what follows are signature lines. */
  size_t split = 0;
  bool found = false;
  for (size_t i = len - 1; i-- > 0;)
    if (note[i] == '\n' && note[i + 1] == '\n') {
      split = i;
      found = true;
      break;
    }
  if (!found) return HV_TLOG_BAD_NOTE;
  size_t body_len = split + 1;
  /* The three body lines. */
  const char *line = note, *end = note + body_len;
  const char *nl = memchr(line, '\n', (size_t)(end - line));
  if (!nl || (size_t)(nl - line) >= sizeof out->origin) return HV_TLOG_BAD_NOTE;
  memcpy(out->origin, line, (size_t)(nl - line));
  out->origin[nl - line] = '\0';
  if (!hv_tlog_key_name_valid(out->origin)) return HV_TLOG_BAD_NOTE;
  line = nl + 1;
  nl = line < end ? memchr(line, '\n', (size_t)(end - line)) : NULL;
  if (!nl || !parse_size(line, (size_t)(nl - line), &out->size)) return HV_TLOG_BAD_NOTE;
  line = nl + 1;
  nl = line < end ? memchr(line, '\n', (size_t)(end - line)) : NULL;
  char b64[64];
  if (!nl || (size_t)(nl - line) >= sizeof b64) return HV_TLOG_BAD_NOTE;
  memcpy(b64, line, (size_t)(nl - line));
  b64[nl - line] = '\0';
  if (!hv_tlog_base64_decode(b64, out->root, HV_TLOG_HASH_LEN)) return HV_TLOG_BAD_NOTE;
  /* The signature lines: "— name base64\n". One valid signature by our key is enough. */
  bool verified = false;
  const char *sl = note + split + 2, *send = note + len;
  if (sl >= send) return HV_TLOG_BAD_NOTE;
  while (sl < send) {
    const char *snl = memchr(sl, '\n', (size_t)(send - sl));
    if (!snl) return HV_TLOG_BAD_NOTE;
    size_t dl = sizeof em_dash - 1;
    if ((size_t)(snl - sl) < dl + 1 || memcmp(sl, em_dash, dl) != 0 || sl[dl] != ' ')
      return HV_TLOG_BAD_NOTE;
    const char *name = sl + dl + 1;
    const char *sp = memchr(name, ' ', (size_t)(snl - name));
    if (!sp) return HV_TLOG_BAD_NOTE;
    size_t name_len = (size_t)(sp - name);
    char sigtext[160];
    size_t sig_text_len = (size_t)(snl - sp - 1);
    if (sig_text_len < sizeof sigtext && name_len == strlen(verifier->name) &&
        memcmp(name, verifier->name, name_len) == 0) {
      memcpy(sigtext, sp + 1, sig_text_len);
      sigtext[sig_text_len] = '\0';
      uint8_t sig[4 + HV_TLOG_ED25519_SIG_LEN];
      if (hv_tlog_base64_decode(sigtext, sig, sizeof sig)) {
        uint32_t id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3];
        if (id == verifier->key_id &&
            ed25519_verify(verifier->public_key, (const uint8_t *)note, body_len, sig + 4))
          verified = true;
      }
    }
    sl = snl + 1;
  }
  if (!verified) return HV_TLOG_BAD_SIGNATURE;
  if (strcmp(out->origin, verifier->name) != 0) return HV_TLOG_BAD_SIGNATURE;
  return HV_TLOG_OK;
}
