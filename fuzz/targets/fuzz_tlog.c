/*
 * fuzz_tlog.c: the transparency log's parsers and verifiers (include/hv_tlog.h,
 * hv_audit_leaf_decode), which hvctl runs on what a server (or an attacker in its place) sends.
 * The first byte picks the mode; the rest is the input:
 *
 *   0  a signed checkpoint note, opened with a fixed log key: a success names that key's origin;
 *      a changed byte of an accepted note's body is then refused
 *   1  a verifier key text: a success re-formats to the same text
 *   2  a leaf encoding: decoded or refused with a message; a success's request_id is a UUID
 *   3  proofs: index, sizes (u64 each), a leaf hash, two roots and up to 64 proof hashes, checked
 *      as inclusion and consistency proofs: no crash, and a proof that verifies against one root
 *      does not against another
 *   4  a checkpoint signed for a size and root from the input: it opens to the same size and root
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "hv_audit.h"
#include "hv_tlog.h"

static hv_tlog_signer signer;
static hv_tlog_verifier verifier;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  uint8_t seed[HV_TLOG_ED25519_SEED_LEN];
  memset(seed, 0x42, sizeof seed);
  char text[HV_TLOG_VERIFIER_KEY_MAX];
  if (hv_tlog_signer_init(&signer, "fuzz.example/log", seed) != HV_TLOG_OK ||
      hv_tlog_verifier_key_format(&signer, text) != HV_TLOG_OK ||
      hv_tlog_verifier_key_parse(text, &verifier) != HV_TLOG_OK)
    abort();
  return 0;
}

static uint64_t u64(fuzz_cursor *c) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | fuzz_u8(c);
  return v;
}

static void hash32(fuzz_cursor *c, uint8_t out[32]) {
  size_t got = 0;
  const uint8_t *p = fuzz_bytes(c, 32, &got);
  memset(out, 0, 32);
  memcpy(out, p, got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (verifier.name[0] == '\0') LLVMFuzzerInitialize(NULL, NULL);
  fuzz_cursor c = {.p = data + 1, .n = size - 1};
  switch (data[0] % 5) {
    case 0: {
      hv_tlog_checkpoint cp;
      const char *note = (const char *)c.p;
      if (hv_tlog_checkpoint_open(note, c.n, &verifier, &cp) == HV_TLOG_OK) {
        FUZZ_CHECK(strcmp(cp.origin, verifier.name) == 0, "accepted another origin");
        char *copy = malloc(c.n);
        FUZZ_CHECK(copy != NULL, "out of memory");
        memcpy(copy, note, c.n);
        copy[0] ^= 1; /* the origin's first byte: part of the signed body */
        FUZZ_CHECK(hv_tlog_checkpoint_open(copy, c.n, &verifier, &cp) != HV_TLOG_OK,
                   "a changed body still verifies");
        free(copy);
      }
      break;
    }
    case 1: {
      char text[HV_TLOG_VERIFIER_KEY_MAX + 8];
      size_t n = c.n < sizeof text - 1 ? c.n : sizeof text - 1;
      memcpy(text, c.p, n);
      text[n] = '\0';
      hv_tlog_verifier v;
      if (hv_tlog_verifier_key_parse(text, &v) == HV_TLOG_OK) {
        FUZZ_CHECK(hv_tlog_key_name_valid(v.name), "accepted a bad name");
        FUZZ_CHECK(strlen(text) < HV_TLOG_VERIFIER_KEY_MAX, "accepted an overlong key");
      }
      break;
    }
    case 2: {
      hv_audit_leaf_fields f;
      hv_audit_error err;
      if (hv_audit_leaf_decode(c.p, c.n, &f, &err) == HV_AUDIT_OK)
        FUZZ_CHECK(hv_audit_request_id_valid(f.request_id), "a leaf with a bad request_id");
      else
        FUZZ_CHECK(err.message[0] != '\0', "a refusal without a message");
      break;
    }
    case 3: {
      uint64_t index = u64(&c), size1 = u64(&c), size2 = u64(&c);
      uint8_t leaf[32], r1[32], r2[32];
      hash32(&c, leaf);
      hash32(&c, r1);
      hash32(&c, r2);
      uint8_t proof[HV_TLOG_PROOF_MAX][32];
      size_t n = 0;
      while (c.n >= 32 && n < HV_TLOG_PROOF_MAX) hash32(&c, proof[n++]);
      const uint8_t(*p)[32] = (const uint8_t(*)[32])proof;
      if (hv_tlog_verify_inclusion(index, size1, leaf, p, n, r1) == HV_TLOG_OK && memcmp(r1, r2, 32))
        FUZZ_CHECK(hv_tlog_verify_inclusion(index, size1, leaf, p, n, r2) != HV_TLOG_OK,
                   "one inclusion proof for two roots");
      (void)hv_tlog_verify_consistency(size1, size2, r1, r2, p, n);
      break;
    }
    default: {
      uint64_t tree = u64(&c) & INT64_MAX;
      uint8_t root[32];
      hash32(&c, root);
      char note[HV_TLOG_NOTE_MAX];
      size_t len = 0;
      FUZZ_CHECK(hv_tlog_checkpoint_sign(&signer, tree, root, note, &len) == HV_TLOG_OK, "cannot sign");
      hv_tlog_checkpoint cp;
      FUZZ_CHECK(hv_tlog_checkpoint_open(note, len, &verifier, &cp) == HV_TLOG_OK,
                 "our own checkpoint does not open");
      FUZZ_CHECK(cp.size == tree && memcmp(cp.root, root, 32) == 0, "another size or root");
      break;
    }
  }
  return 0;
}
