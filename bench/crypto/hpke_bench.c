/*
 * hpke_bench: HPKE SealBase and OpenBase operations per second for the protocol's suite
 * (DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) on a 1 KiB plaintext, with the request's
 * info and aad. Prints `seal_ops_per_sec=N` and `open_ops_per_sec=N`; run.sh puts them beside
 * `openssl speed ecdhp256`.
 *
 * Rates are per second of this process's CPU time, the divisor `openssl speed` uses by default
 * (its -elapsed switches to wall-clock time), so both sides are measured alike on a shared
 * machine.
 *
 * usage: hpke_bench [seconds per operation, default 3] [seal|open|both, default both]
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv_crypto.h"

#define PLAINTEXT_LEN 1024
#define SEALED_RING 64 /* distinct messages to open, so no single enc is favoured */
#define CHECK_EVERY 32

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bench {
  hpke_private_key *sk;
  hpke_public_key *pk;
  uint8_t pt[PLAINTEXT_LEN];
  uint8_t aad[HPKE_PUBLIC_KEY_LEN + 8];
  uint8_t *sealed[SEALED_RING];
  size_t sealed_len[SEALED_RING];
} bench;

static int seal_once(bench *b, uint8_t **out, size_t *out_len) {
  hv_crypto_err err;
  if (hpke_seal_base(HPKE_SUITE_PROTOCOL, b->pk, (const uint8_t *)HV_PROTOCOL_REQUEST_INFO,
                     sizeof HV_PROTOCOL_REQUEST_INFO - 1, b->aad, sizeof b->aad, b->pt,
                     sizeof b->pt, out, out_len, &err) != HV_CRYPTO_OK) {
    fprintf(stderr, "seal: %s\n", err.message);
    return -1;
  }
  return 0;
}

static int open_once(bench *b, size_t i) {
  hv_crypto_err err;
  uint8_t *pt = NULL;
  size_t pt_len = 0;
  int rc = 0;
  if (hpke_open_base(HPKE_SUITE_PROTOCOL, b->sk, b->sealed[i], b->sealed_len[i],
                     (const uint8_t *)HV_PROTOCOL_REQUEST_INFO, sizeof HV_PROTOCOL_REQUEST_INFO - 1,
                     b->aad, sizeof b->aad, &pt, &pt_len, &err) != HV_CRYPTO_OK ||
      pt_len != PLAINTEXT_LEN) {
    fprintf(stderr, "open: %s\n", err.message);
    rc = -1;
  }
  free(pt);
  return rc;
}

/* Runs seal (which = 0) or open (which = 1) for about `seconds` of CPU time; returns operations
 * per CPU second. */
static double measure(bench *b, int which, double seconds) {
  unsigned long ops = 0;
  double start = cpu_seconds();
  double elapsed = 0;

  while (elapsed < seconds) {
    for (int k = 0; k < CHECK_EVERY; k++, ops++) {
      uint8_t *out = NULL;
      size_t out_len = 0;
      int rc = which == 0 ? seal_once(b, &out, &out_len) : open_once(b, ops % SEALED_RING);
      free(out);
      if (rc != 0)
        return -1;
    }
    elapsed = cpu_seconds() - start;
  }
  return (double)ops / elapsed;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
  const char *which = argc > 2 ? argv[2] : "both";
  bool do_seal = strcmp(which, "open") != 0;
  bool do_open = strcmp(which, "seal") != 0;
  bench b = {0};
  int rc = 1;
  double seal = 0, open = 0;

  if (seconds <= 0 || seconds > 600 || (!do_seal && !do_open) ||
      (strcmp(which, "both") != 0 && do_seal && do_open)) {
    fprintf(stderr, "usage: %s [seconds per operation, 0 < s <= 600] [seal|open|both]\n",
            argv[0]);
    return 2;
  }
  for (size_t i = 0; i < sizeof b.pt; i++)
    b.pt[i] = (uint8_t)i;
  if (hpke_private_key_generate(&b.sk, NULL) != HV_CRYPTO_OK ||
      hpke_public_key_parse(hpke_private_key_public(b.sk), HPKE_PUBLIC_KEY_LEN, &b.pk, NULL) !=
          HV_CRYPTO_OK)
    goto done;
  memcpy(b.aad, hpke_private_key_public(b.sk), HPKE_PUBLIC_KEY_LEN);
  memcpy(b.aad + HPKE_PUBLIC_KEY_LEN, "run_main", 8);
  for (size_t i = 0; i < SEALED_RING; i++) {
    if (seal_once(&b, &b.sealed[i], &b.sealed_len[i]) != 0)
      goto done;
  }
  (void)measure(&b, 0, seconds / 10); /* warm caches and the allocator */
  seal = do_seal ? measure(&b, 0, seconds) : 0;
  open = do_open ? measure(&b, 1, seconds) : 0;
  if (seal < 0 || open < 0)
    goto done;
  printf("suite=DHKEM(P-256,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM plaintext_bytes=%d\n",
         PLAINTEXT_LEN);
  if (do_seal)
    printf("seal_ops_per_sec=%.1f\n", seal);
  if (do_open)
    printf("open_ops_per_sec=%.1f\n", open);
  rc = 0;
done:
  for (size_t i = 0; i < SEALED_RING; i++)
    free(b.sealed[i]);
  hpke_public_key_free(b.pk);
  hpke_private_key_free(b.sk);
  return rc;
}
