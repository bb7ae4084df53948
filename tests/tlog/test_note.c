/*
 * test_note.c: C2SP signed-note checkpoints (hv_tlog.h): key ids and verifier keys against the
 * published example key of golang.org/x/mod/sumdb/note, signing and opening, and the notes that
 * must be refused (changed bodies, other keys, malformed lines).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_tlog.h"

/* The signed-note example key pair (the Go note package's documentation). */
static const char EXAMPLE_VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char EXAMPLE_SEED_B64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; /* 0x01 || seed */

static void test_example_key(void **state) {
  (void)state;
  hv_tlog_verifier v;
  assert_int_equal(hv_tlog_verifier_key_parse(EXAMPLE_VKEY, &v), HV_TLOG_OK);
  assert_string_equal(v.name, "PeterNeumann");
  assert_int_equal(v.key_id, 0xc74f20a3u);
  uint8_t raw[33];
  assert_true(hv_tlog_base64_decode(EXAMPLE_SEED_B64, raw, sizeof raw));
  hv_tlog_signer s;
  assert_int_equal(hv_tlog_signer_init(&s, "PeterNeumann", raw + 1), HV_TLOG_OK);
  assert_memory_equal(s.public_key, v.public_key, 32);
  char text[HV_TLOG_VERIFIER_KEY_MAX];
  assert_int_equal(hv_tlog_verifier_key_format(&s, text), HV_TLOG_OK);
  assert_string_equal(text, EXAMPLE_VKEY);
  hv_tlog_signer_wipe(&s);
  /* A changed key id, name or key; other algorithms; junk. */
  assert_int_equal(hv_tlog_verifier_key_parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v), HV_TLOG_BAD_KEY);
  assert_int_equal(hv_tlog_verifier_key_parse("PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v), HV_TLOG_BAD_KEY);
  assert_int_equal(hv_tlog_verifier_key_parse("PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v), HV_TLOG_BAD_KEY);
  assert_int_equal(hv_tlog_verifier_key_parse("PeterNeumann+c74f20a3+AhpcZ2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &v), HV_TLOG_BAD_KEY);
  assert_int_equal(hv_tlog_verifier_key_parse("", &v), HV_TLOG_BAD_KEY);
  assert_int_equal(hv_tlog_verifier_key_parse("a+b", &v), HV_TLOG_BAD_KEY);
}

static void make_signer(hv_tlog_signer *s, const char *name, uint8_t fill) {
  uint8_t seed[32];
  memset(seed, fill, sizeof seed);
  assert_int_equal(hv_tlog_signer_init(s, name, seed), HV_TLOG_OK);
}

static void verifier_of(const hv_tlog_signer *s, hv_tlog_verifier *v) {
  char text[HV_TLOG_VERIFIER_KEY_MAX];
  assert_int_equal(hv_tlog_verifier_key_format(s, text), HV_TLOG_OK);
  assert_int_equal(hv_tlog_verifier_key_parse(text, v), HV_TLOG_OK);
}

static void test_sign_and_open(void **state) {
  (void)state;
  hv_tlog_signer s;
  make_signer(&s, "example.com/log", 7);
  hv_tlog_verifier v;
  verifier_of(&s, &v);
  uint8_t root[32];
  hv_tlog_leaf_hash("x", 1, root);
  char note[HV_TLOG_NOTE_MAX];
  size_t len = 0;
  assert_int_equal(hv_tlog_checkpoint_sign(&s, 12345, root, note, &len), HV_TLOG_OK);
  assert_int_equal(len, strlen(note));
  /* The exact shape: three body lines, a blank line, one signature line with an em dash. */
  char b64[64];
  hv_tlog_base64_encode(root, 32, b64);
  char body[256];
  snprintf(body, sizeof body, "example.com/log\n12345\n%s\n\n\xe2\x80\x94 example.com/log ", b64);
  assert_int_equal(strncmp(note, body, strlen(body)), 0);
  assert_int_equal(len - strlen(body), 4 * ((4 + 64 + 2) / 3) + 1); /* base64(id||sig) and \n */
  hv_tlog_checkpoint cp;
  assert_int_equal(hv_tlog_checkpoint_open(note, len, &v, &cp), HV_TLOG_OK);
  assert_string_equal(cp.origin, "example.com/log");
  assert_int_equal(cp.size, 12345);
  assert_memory_equal(cp.root, root, 32);

  /* Any changed body byte breaks the signature. */
  for (size_t i = 0; i < strlen(body) - 6; i++) {
    if (note[i] == '\n') continue;
    char copy[HV_TLOG_NOTE_MAX];
    memcpy(copy, note, len);
    copy[i] = copy[i] == '1' ? '2' : '1';
    assert_int_not_equal(hv_tlog_checkpoint_open(copy, len, &v, &cp), HV_TLOG_OK);
  }
  /* Another key of the same name, and another name. */
  hv_tlog_signer other;
  make_signer(&other, "example.com/log", 8);
  hv_tlog_verifier ov;
  verifier_of(&other, &ov);
  assert_int_equal(hv_tlog_checkpoint_open(note, len, &ov, &cp), HV_TLOG_BAD_SIGNATURE);
  make_signer(&other, "example.org/log", 7);
  verifier_of(&other, &ov);
  assert_int_equal(hv_tlog_checkpoint_open(note, len, &ov, &cp), HV_TLOG_BAD_SIGNATURE);

  /* A second, unknown signature line is skipped; the known one still counts. */
  char two[HV_TLOG_NOTE_MAX + 64];
  int tl = snprintf(two, sizeof two, "%s\xe2\x80\x94 witness.example AAAAAAAAAAAA\n", note);
  assert_true(tl > 0 && (size_t)tl < sizeof two);
  assert_int_equal(hv_tlog_checkpoint_open(two, strlen(two), &v, &cp), HV_TLOG_OK);
  hv_tlog_signer_wipe(&s);
}

static void test_malformed(void **state) {
  (void)state;
  hv_tlog_signer s;
  make_signer(&s, "log", 1);
  hv_tlog_verifier v;
  verifier_of(&s, &v);
  hv_tlog_checkpoint cp;
  const char *bad[] = {
      "",
      "log\n",
      "log\n1\n\n\n",
      "log\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\xe2\x80\x94 log AAAA\n",
      "log\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\xe2\x80\x94 log AAAA\n",
      "log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF==\n\n\xe2\x80\x94 log AAAA\n",
      "log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n- log AAAA\n",
      "log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\xe2\x80\x94 log AAAA",
      "log\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n",
      "log\n99999999999999999999\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n\xe2\x80\x94 log AAAA\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_not_equal(hv_tlog_checkpoint_open(bad[i], strlen(bad[i]), &v, &cp), HV_TLOG_OK);
  /* Names with a space or '+' are refused as key names and origins. */
  uint8_t seed[32] = {0};
  assert_int_equal(hv_tlog_signer_init(&s, "a b", seed), HV_TLOG_INVALID_ARGUMENT);
  assert_int_equal(hv_tlog_signer_init(&s, "a+b", seed), HV_TLOG_INVALID_ARGUMENT);
  assert_int_equal(hv_tlog_signer_init(&s, "", seed), HV_TLOG_INVALID_ARGUMENT);
}

/* tests/fuzz/corpus/fuzz_tlog/mode0-valid-checkpoint was made outside this code (Python's hashlib
 * for the key id, `openssl pkeyutl -sign -rawin` for the signature, seed 0x42 x 32, size 5, the
 * empty tree's root): our signer must produce exactly those bytes, and our parser accept them. */
static void test_independent_note(void **state) {
  (void)state;
  const char *src = getenv("HV_SOURCE_DIR");
  if (!src) skip();
  char path[4096];
  snprintf(path, sizeof path, "%s/tests/fuzz/corpus/fuzz_tlog/mode0-valid-checkpoint", src);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char want[HV_TLOG_NOTE_MAX + 1];
  size_t n = fread(want, 1, sizeof want - 1, f);
  fclose(f);
  assert_true(n > 1);
  uint8_t seed[32];
  memset(seed, 0x42, sizeof seed);
  hv_tlog_signer s;
  assert_int_equal(hv_tlog_signer_init(&s, "fuzz.example/log", seed), HV_TLOG_OK);
  uint8_t root[32];
  hv_tlog_empty_root(root);
  char note[HV_TLOG_NOTE_MAX];
  size_t len = 0;
  assert_int_equal(hv_tlog_checkpoint_sign(&s, 5, root, note, &len), HV_TLOG_OK);
  assert_int_equal(len, n - 1); /* the file's first byte is the fuzz target's mode */
  assert_memory_equal(note, want + 1, len);
  hv_tlog_verifier v;
  verifier_of(&s, &v);
  hv_tlog_checkpoint cp;
  assert_int_equal(hv_tlog_checkpoint_open(want + 1, n - 1, &v, &cp), HV_TLOG_OK);
  assert_int_equal(cp.size, 5);
  hv_tlog_signer_wipe(&s);
}

static void test_base64(void **state) {
  (void)state;
  uint8_t out[8];
  size_t n;
  assert_true(hv_tlog_base64_decode_var("AAEC", out, 8, &n));
  assert_int_equal(n, 3);
  assert_false(hv_tlog_base64_decode_var("AAE", out, 8, &n));
  assert_false(hv_tlog_base64_decode_var("AA=C", out, 8, &n));
  assert_false(hv_tlog_base64_decode_var("AB==", out, 8, &n)); /* stray bits: not canonical */
  assert_false(hv_tlog_base64_decode_var("AAECAwQFBgcI", out, 8, &n)); /* 9 bytes > 8 */
  assert_false(hv_tlog_base64_decode("AAEC", out, 2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_key),
      cmocka_unit_test(test_sign_and_open),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_independent_note),
      cmocka_unit_test(test_base64),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
