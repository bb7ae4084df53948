/*
 * fuzz_hpke_open.c: HPKE OpenBase and the key ring's open-request path on hostile input.
 *
 * The first byte picks a mode:
 *   0 raw open:       hpke_open_base(suite from the input, fixed skR, enc||ct, info, aad) on
 *                     arbitrary bytes;
 *   1 sealed+tampered: a genuine SealBase (deterministic ephemeral key from the input) of an
 *                     input plaintext, then edits from the input to enc||ct, aad or info; the
 *                     open must succeed exactly when nothing changed, and give the plaintext back;
 *   2 raw request:    hv_keyring_open_request with an arbitrary key_id, client key, function name
 *                     and enc||ct;
 *   3 sealed request: a genuine request sealed to one of the ring's two keys, then edited and
 *                     opened with a key_id from the input (none, the right one, the other one,
 *                     garbage): success exactly when untouched and the key_id allows that key;
 *   4 key parsing:    hpke_public_key_parse and hpke_private_key_import round trips.
 * Never a crash, a leak or a sanitizer report; every failure is a documented status with out
 * NULL; a success is only possible for a genuine ciphertext (modes 0 and 2 cannot know, so
 * they check that a success survives no tampering of its tag).
 *
 * The key ring lives in a temporary directory ($TMPDIR or /tmp) made by LLVMFuzzerInitialize and
 * removed at exit. HV_FUZZ_WRITE_SEEDS=DIR makes LLVMFuzzerInitialize write genuine mode-0 inputs
 * into DIR (fuzz/make_seeds.sh uses it).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "hv_crypto.h"

#define RING_NOW 1700000000
#define RING_PERIOD 86400
#define MAX_FIELD 512

static hpke_private_key *g_sk;        /* fixed recipient key pair of modes 0, 1 */
static hpke_public_key *g_pk;
static hpke_public_key *g_client_pk;  /* fixed client key of modes 2, 3 */
static hv_keyring *g_ring;
static hv_keyring_key_info g_keys[2]; /* the ring's current key, then the older one */
static hpke_public_key *g_ring_pk[2];
static char g_ring_dir[64];

static void cleanup(void) {
  hv_keyring_close(g_ring);
  for (int i = 0; i < 2; i++) hpke_public_key_free(g_ring_pk[i]);
  hpke_public_key_free(g_pk);
  hpke_public_key_free(g_client_pk);
  hpke_private_key_free(g_sk);
  if (g_ring_dir[0]) {
    DIR *d = opendir(g_ring_dir);
    struct dirent *e;
    char path[sizeof g_ring_dir + 256];
    while (d && (e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(path, sizeof path, "%s/%s", g_ring_dir, e->d_name);
      unlink(path);
    }
    if (d) closedir(d);
    rmdir(g_ring_dir);
  }
}

static hpke_private_key *derived_key(uint8_t fill) {
  uint8_t ikm[32];
  hpke_private_key *sk = NULL;
  memset(ikm, fill, sizeof ikm);
  FUZZ_CHECK(hpke_derive_key_pair(ikm, sizeof ikm, &sk, NULL) == HV_CRYPTO_OK, "derive key pair");
  return sk;
}

/* HV_FUZZ_WRITE_SEEDS=DIR: writes mode-0 inputs holding genuine ciphertexts for the fixed key
 * (which a fuzzer cannot forge), so that its mutations start from the success path. */
static void write_seeds(const char *dir) {
  static const char *const PLAINTEXTS[] = {"", "a", "\0asm\1\0\0\0", "a longer plaintext, 33 bytes long"};
  for (size_t k = 0; k < sizeof PLAINTEXTS / sizeof PLAINTEXTS[0]; k++) {
    const uint8_t info[] = "info", aad[] = "aad";
    size_t pt_len = k == 2 ? 8 : strlen(PLAINTEXTS[k]), sealed_len = 0;
    uint8_t *sealed = NULL;
    hpke_suite suite = k == 1 ? (hpke_suite){HPKE_KEM_P256_HKDF_SHA256, HPKE_KDF_HKDF_SHA256,
                                             HPKE_AEAD_AES_128_GCM} : HPKE_SUITE_PROTOCOL;
    FUZZ_CHECK(hpke_seal_base(suite, g_pk, info, k ? 4 : 0, aad, k ? 3 : 0,
                              (const uint8_t *)PLAINTEXTS[k], pt_len, &sealed, &sealed_len,
                              NULL) == HV_CRYPTO_OK, "seal");
    char path[4096];
    snprintf(path, sizeof path, "%s/genuine-open-%zu", dir, k);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    /* mode 0, suite choice (0: protocol, 1: AES-128-GCM), info, aad, then enc || ct */
    uint8_t head[] = {0, k == 1 ? 1 : 0, k ? 4 : 0};
    fwrite(head, 1, sizeof head, f);
    fwrite(info, 1, k ? 4 : 0, f);
    uint8_t aad_len[] = {0, k ? 3 : 0};
    fwrite(aad_len, 1, sizeof aad_len, f);
    fwrite(aad, 1, k ? 3 : 0, f);
    fwrite(sealed, 1, sealed_len, f);
    FUZZ_CHECK(fclose(f) == 0, "write %s", path);
    free(sealed);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hv_crypto_err err;
  g_sk = derived_key(0x11);
  FUZZ_CHECK(hpke_public_key_parse(hpke_private_key_public(g_sk), HPKE_PUBLIC_KEY_LEN, &g_pk,
                                   &err) == HV_CRYPTO_OK, "parse: %s", err.message);
  hpke_private_key *client = derived_key(0x22);
  FUZZ_CHECK(hpke_public_key_parse(hpke_private_key_public(client), HPKE_PUBLIC_KEY_LEN,
                                   &g_client_pk, &err) == HV_CRYPTO_OK, "parse: %s", err.message);
  hpke_private_key_free(client);

  const char *tmp = getenv("TMPDIR");
  snprintf(g_ring_dir, sizeof g_ring_dir, "%s/hv-fuzz-ring-XXXXXX",
           tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
  FUZZ_CHECK(mkdtemp(g_ring_dir) != NULL, "mkdtemp %s", g_ring_dir);
  atexit(cleanup);
  /* Two live keys: the first one, then a rotation one period later. */
  FUZZ_CHECK(hv_keyring_open(g_ring_dir, RING_PERIOD, RING_NOW, &g_ring, &err) == HV_CRYPTO_OK,
             "keyring open: %s", err.message);
  FUZZ_CHECK(hv_keyring_rotate_if_due(g_ring, RING_NOW + RING_PERIOD, &err) == HV_CRYPTO_OK,
             "rotate: %s", err.message);
  size_t count = 0;
  hv_keyring_list(g_ring, g_keys, 2, &count);
  FUZZ_CHECK(count == 2, "the ring has %zu keys, expected 2", count);
  for (int i = 0; i < 2; i++)
    FUZZ_CHECK(hpke_public_key_parse(g_keys[i].public_key, HPKE_PUBLIC_KEY_LEN, &g_ring_pk[i],
                                     &err) == HV_CRYPTO_OK, "parse: %s", err.message);
  const char *seeds = getenv("HV_FUZZ_WRITE_SEEDS");
  if (seeds && *seeds) write_seeds(seeds);
  return 0;
}

static hpke_suite pick_suite(uint8_t choice, fuzz_cursor *c) {
  switch (choice % 5) {
    case 0: return HPKE_SUITE_PROTOCOL;
    case 1: return (hpke_suite){HPKE_KEM_P256_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_128_GCM};
    case 2: return (hpke_suite){HPKE_KEM_P256_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_EXPORT_ONLY};
    case 3: return (hpke_suite){HPKE_KEM_P256_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM};
    default: {
      uint16_t kem = fuzz_u16(c), kdf = fuzz_u16(c), aead = fuzz_u16(c);
      return (hpke_suite){kem, kdf, aead};
    }
  }
}

/* The common promises of every failed open: a documented status, err filled, nothing out. */
static void check_failure(hv_crypto_status rc, const hv_crypto_err *err, const uint8_t *out,
                          size_t out_len) {
  FUZZ_CHECK(err->status == rc, "returned %s, err says %s", hv_crypto_status_name(rc),
             hv_crypto_status_name(err->status));
  FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "message not terminated");
  FUZZ_CHECK(out == NULL && out_len == 0, "failure (%s) with output", hv_crypto_status_name(rc));
  FUZZ_CHECK(rc == HV_CRYPTO_BAD_ENC || rc == HV_CRYPTO_DECRYPT_FAILED ||
                 rc == HV_CRYPTO_UNSUPPORTED || rc == HV_CRYPTO_MESSAGE_TOO_LARGE ||
                 rc == HV_CRYPTO_UNKNOWN_KEY_ID || rc == HV_CRYPTO_INVALID_ARGUMENT,
             "unexpected status %s: %s", hv_crypto_status_name(rc), err->message);
  FUZZ_CHECK(hv_crypto_status_class(rc) != HV_CRYPTO_CLASS_NONE, "failure of class NONE");
}

static void mode_raw_open(fuzz_cursor *c) {
  hpke_suite suite = pick_suite(fuzz_u8(c), c);
  size_t info_len, aad_len, in_len;
  const uint8_t *info = fuzz_bytes(c, fuzz_u8(c), &info_len);
  const uint8_t *aad = fuzz_bytes(c, fuzz_u16(c) % MAX_FIELD, &aad_len);
  const uint8_t *in = fuzz_bytes(c, c->n, &in_len);
  uint8_t *out = NULL;
  size_t out_len = 0;
  hv_crypto_err err;
  hv_crypto_status rc = hpke_open_base(suite, g_sk, in, in_len, info, info_len, aad, aad_len, &out,
                                       &out_len, &err);
  if (rc != HV_CRYPTO_OK) {
    check_failure(rc, &err, out, out_len);
    return;
  }
  /* Only a genuine ciphertext (a seed) gets here: it must not survive a changed tag. */
  FUZZ_CHECK(out != NULL && out_len == in_len - HPKE_ENC_LEN - HPKE_TAG_LEN, "bad plaintext length");
  uint8_t *copy = malloc(in_len);
  FUZZ_CHECK(copy != NULL, "malloc");
  memcpy(copy, in, in_len);
  copy[in_len - 1] ^= 0x01;
  uint8_t *out2 = NULL;
  size_t out2_len = 0;
  rc = hpke_open_base(suite, g_sk, copy, in_len, info, info_len, aad, aad_len, &out2, &out2_len, &err);
  FUZZ_CHECK(rc == HV_CRYPTO_DECRYPT_FAILED, "a flipped tag bit opened (%s)", hv_crypto_status_name(rc));
  free(copy);
  free(out);
}

/* Applies edits from the input to buf (len, capacity cap): flips, truncation, extension. */
static size_t tamper(fuzz_cursor *c, uint8_t *buf, size_t len, size_t cap) {
  for (uint8_t n = fuzz_u8(c) % 4; n > 0; n--) {
    uint8_t kind = fuzz_u8(c) % 4;
    uint16_t where = fuzz_u16(c);
    if (kind <= 1 && len > 0) {
      buf[where % len] ^= (uint8_t)(1u << (fuzz_u8(c) % 8));
    } else if (kind == 2) {
      len = len ? where % len : 0;
    } else if (len < cap) {
      buf[len++] = fuzz_u8(c);
    }
  }
  return len;
}

/* enc || SealBase(pkR, info, aad, pt) with the ephemeral key DeriveKeyPair(ikm). */
static uint8_t *seal(hpke_suite suite, const hpke_public_key *pkR, const uint8_t *ikm,
                     const uint8_t *info, size_t info_len, const uint8_t *aad, size_t aad_len,
                     const uint8_t *pt, size_t pt_len, size_t extra, size_t *len) {
  hpke_setup_params params = {.suite = suite, .mode = HPKE_MODE_BASE, .info = info,
                              .info_len = info_len, .ikm_e = ikm, .ikm_e_len = 32};
  hpke_ctx *ctx = NULL;
  hv_crypto_err err;
  *len = HPKE_ENC_LEN + pt_len + HPKE_TAG_LEN;
  uint8_t *buf = malloc(*len + extra);
  FUZZ_CHECK(buf != NULL, "malloc");
  FUZZ_CHECK(hpke_setup_sender(&params, pkR, buf, &ctx, &err) == HV_CRYPTO_OK, "setup: %s",
             err.message);
  FUZZ_CHECK(hpke_seal(ctx, aad, aad_len, pt, pt_len, buf + HPKE_ENC_LEN, &err) == HV_CRYPTO_OK,
             "seal: %s", err.message);
  hpke_ctx_free(ctx);
  return buf;
}

static void mode_sealed_open(fuzz_cursor *c) {
  hpke_suite suite = (fuzz_u8(c) & 1) ? HPKE_SUITE_PROTOCOL
                                      : (hpke_suite){HPKE_KEM_P256_HKDF_SHA256, HPKE_KDF_HKDF_SHA256,
                                                     HPKE_AEAD_AES_128_GCM};
  uint8_t ikm[32] = {0}, info[MAX_FIELD], aad[MAX_FIELD], info0[MAX_FIELD], aad0[MAX_FIELD];
  size_t got, pt_len, info_len, aad_len;
  const uint8_t *field = fuzz_bytes(c, sizeof ikm, &got);
  memcpy(ikm, field, got);
  const uint8_t *pt = fuzz_bytes(c, fuzz_u8(c), &pt_len);
  field = fuzz_bytes(c, fuzz_u8(c) % 64, &info_len);
  memcpy(info0, field, info_len);
  field = fuzz_bytes(c, fuzz_u8(c) % 64, &aad_len);
  memcpy(aad0, field, aad_len);
  size_t len0;
  uint8_t *sealed = seal(suite, g_pk, ikm, info0, info_len, aad0, aad_len, pt, pt_len, 64, &len0);
  uint8_t *in = malloc(len0 + 64);
  FUZZ_CHECK(in != NULL, "malloc");
  memcpy(in, sealed, len0);
  memcpy(info, info0, info_len);
  memcpy(aad, aad0, aad_len);
  size_t in_len = tamper(c, in, len0, len0 + 64);
  size_t info2_len = tamper(c, info, info_len, sizeof info);
  size_t aad2_len = tamper(c, aad, aad_len, sizeof aad);
  bool genuine = in_len == len0 && memcmp(in, sealed, len0) == 0 && info2_len == info_len &&
                 memcmp(info, info0, info_len) == 0 && aad2_len == aad_len &&
                 memcmp(aad, aad0, aad_len) == 0;

  uint8_t *out = NULL;
  size_t out_len = 0;
  hv_crypto_err err;
  hv_crypto_status rc = hpke_open_base(suite, g_sk, in, in_len, info, info2_len, aad, aad2_len,
                                       &out, &out_len, &err);
  if (genuine) {
    FUZZ_CHECK(rc == HV_CRYPTO_OK, "a genuine ciphertext did not open: %s", err.message);
    FUZZ_CHECK(out != NULL && out_len == pt_len && memcmp(out, pt, pt_len) == 0,
               "the plaintext came back different");
  } else {
    FUZZ_CHECK(rc != HV_CRYPTO_OK, "a tampered ciphertext opened (%zu bytes)", in_len);
    check_failure(rc, &err, out, out_len);
  }
  free(out);
  free(in);
  free(sealed);
}

/* A NUL-terminated function name from the input (stops at a NUL byte). */
static void take_name(fuzz_cursor *c, char *name, size_t cap) {
  size_t len = fuzz_u8(c) % cap, i = 0;
  for (; i < len && c->n > 0; i++) {
    name[i] = (char)fuzz_u8(c);
    if (name[i] == '\0') break;
  }
  name[i < cap ? i : cap - 1] = '\0';
}

/* key_id choice: 0 none (NULL), 1 "", 2 current key's, 3 older key's, else 16 input bytes. */
static const char *take_key_id(fuzz_cursor *c, uint8_t choice, char *buf) {
  size_t got;
  switch (choice % 5) {
    case 0: return NULL;
    case 1: return "";
    case 2: return g_keys[0].key_id;
    case 3: return g_keys[1].key_id;
    default: {
      const uint8_t *field = fuzz_bytes(c, HV_KEY_ID_LEN, &got);
      memcpy(buf, field, got);
      buf[got] = '\0';
      return buf;
    }
  }
}

static void mode_raw_request(fuzz_cursor *c) {
  char key_id_buf[HV_KEY_ID_LEN + 1], name[64], used[HV_KEY_ID_LEN + 1];
  const char *key_id = take_key_id(c, fuzz_u8(c), key_id_buf);
  size_t pk_len, in_len;
  const uint8_t *pk_bytes = fuzz_bytes(c, fuzz_u8(c) % 100, &pk_len);
  hpke_public_key *client = NULL;
  hv_crypto_err err;
  if (hpke_public_key_parse(pk_bytes, pk_len, &client, &err) != HV_CRYPTO_OK) {
    FUZZ_CHECK(client == NULL, "failed parse with a key");
    FUZZ_CHECK(err.status == HV_CRYPTO_BAD_PUBLIC_KEY, "parse failed with %s",
               hv_crypto_status_name(err.status));
  }
  take_name(c, name, sizeof name);
  const uint8_t *in = fuzz_bytes(c, c->n, &in_len);
  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  hv_crypto_status rc = hv_keyring_open_request(g_ring, key_id, in, in_len,
                                                client ? client : g_client_pk, name, &wasm,
                                                &wasm_len, used, &err);
  if (rc != HV_CRYPTO_OK) check_failure(rc, &err, wasm, wasm_len);
  else FUZZ_CHECK(wasm != NULL && wasm_len + HPKE_ENC_LEN + HPKE_TAG_LEN == in_len, "bad length");
  free(wasm);
  hpke_public_key_free(client);
}

static void mode_sealed_request(fuzz_cursor *c) {
  uint8_t which = fuzz_u8(c) & 1, ikm[32] = {0}, aad[HPKE_PUBLIC_KEY_LEN + 64];
  char key_id_buf[HV_KEY_ID_LEN + 1], name[64], used[HV_KEY_ID_LEN + 1];
  size_t got, pt_len;
  const uint8_t *field = fuzz_bytes(c, sizeof ikm, &got);
  memcpy(ikm, field, got);
  const char *key_id = take_key_id(c, fuzz_u8(c), key_id_buf);
  take_name(c, name, sizeof name);
  const uint8_t *pt = fuzz_bytes(c, fuzz_u8(c), &pt_len);
  size_t name_len = strlen(name);
  memcpy(aad, hpke_public_key_sec1(g_client_pk), HPKE_PUBLIC_KEY_LEN);
  memcpy(aad + HPKE_PUBLIC_KEY_LEN, name, name_len);
  size_t len0;
  uint8_t *sealed = seal(HPKE_SUITE_PROTOCOL, g_ring_pk[which], ikm,
                         (const uint8_t *)HV_PROTOCOL_REQUEST_INFO,
                         sizeof HV_PROTOCOL_REQUEST_INFO - 1, aad,
                         HPKE_PUBLIC_KEY_LEN + name_len, pt, pt_len, 0, &len0);
  uint8_t *in = malloc(len0 + 64);
  FUZZ_CHECK(in != NULL, "malloc");
  memcpy(in, sealed, len0);
  size_t in_len = tamper(c, in, len0, len0 + 64);
  bool untouched = in_len == len0 && memcmp(in, sealed, len0) == 0;
  bool any_key = key_id == NULL || key_id[0] == '\0';
  bool right_key = any_key || strcmp(key_id, g_keys[which].key_id) == 0;

  uint8_t *wasm = NULL;
  size_t wasm_len = 0;
  hv_crypto_err err;
  hv_crypto_status rc = hv_keyring_open_request(g_ring, key_id, in, in_len, g_client_pk, name,
                                                &wasm, &wasm_len, used, &err);
  if (untouched && right_key) {
    FUZZ_CHECK(rc == HV_CRYPTO_OK, "a genuine request did not open: %s", err.message);
    FUZZ_CHECK(wasm_len == pt_len && memcmp(wasm, pt, pt_len) == 0, "plaintext differs");
    FUZZ_CHECK(strcmp(used, g_keys[which].key_id) == 0, "opened with key %s, sealed to %s", used,
               g_keys[which].key_id);
  } else {
    FUZZ_CHECK(rc != HV_CRYPTO_OK, "a request opened that must not (untouched %d, key %s)",
               untouched, key_id ? key_id : "(null)");
    check_failure(rc, &err, wasm, wasm_len);
    bool known = any_key || strcmp(key_id, g_keys[0].key_id) == 0 ||
                 strcmp(key_id, g_keys[1].key_id) == 0;
    if (!known)
      FUZZ_CHECK(rc == HV_CRYPTO_UNKNOWN_KEY_ID, "unknown key id gave %s", hv_crypto_status_name(rc));
  }
  free(wasm);
  free(in);
  free(sealed);
}

static void mode_keys(fuzz_cursor *c) {
  size_t len;
  const uint8_t *bytes = fuzz_bytes(c, c->n, &len);
  hpke_public_key *pk = NULL;
  hv_crypto_err err;
  if (hpke_public_key_parse(bytes, len, &pk, &err) == HV_CRYPTO_OK) {
    const uint8_t *sec1 = hpke_public_key_sec1(pk);
    FUZZ_CHECK(sec1[0] == 0x04, "SEC1 form does not start with 04");
    hpke_public_key *again = NULL;
    FUZZ_CHECK(hpke_public_key_parse(sec1, HPKE_PUBLIC_KEY_LEN, &again, &err) == HV_CRYPTO_OK,
               "the SEC1 form of a parsed key does not parse: %s", err.message);
    FUZZ_CHECK(memcmp(hpke_public_key_sec1(again), sec1, HPKE_PUBLIC_KEY_LEN) == 0, "round trip");
    hpke_public_key_free(again);
    hpke_public_key_free(pk);
  } else {
    FUZZ_CHECK(pk == NULL && err.status == HV_CRYPTO_BAD_PUBLIC_KEY, "parse failure: %s",
               hv_crypto_status_name(err.status));
  }
  if (len >= HPKE_PRIVATE_KEY_LEN) {
    hpke_private_key *sk = NULL;
    if (hpke_private_key_import(bytes, &sk, &err) == HV_CRYPTO_OK) {
      uint8_t back[HPKE_PRIVATE_KEY_LEN];
      FUZZ_CHECK(hpke_private_key_export(sk, back, &err) == HV_CRYPTO_OK, "export: %s", err.message);
      FUZZ_CHECK(memcmp(back, bytes, sizeof back) == 0, "private key round trip");
      hpke_private_key_free(sk);
    } else {
      FUZZ_CHECK(sk == NULL, "failed import with a key");
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_sk) LLVMFuzzerInitialize(NULL, NULL);
  fuzz_cursor c = {data, size};
  switch (fuzz_u8(&c) % 5) {
    case 0: mode_raw_open(&c); break;
    case 1: mode_sealed_open(&c); break;
    case 2: mode_raw_request(&c); break;
    case 3: mode_sealed_request(&c); break;
    default: mode_keys(&c); break;
  }
  return 0;
}
