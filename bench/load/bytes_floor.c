/*
 * bytes_floor.c: the work protocol v1.1 itself asks of a call with a bytes argument, timed step
 * by step in one process on warm buffers: no HTTP, no server, no page faults. It is the floor
 * under what bytes_bench.c measures end to end, so the two together say how much of a large
 * argument's cost is the protocol's and how much the implementation's.
 *
 *   hv_bytes_floor [--size BYTES] [--reps N]
 *
 * The steps, each the library function the client or the server uses (best of N):
 *   client: the invocation document (base64 of the value), seal + base64 of the body
 *   server: parse the body (hv_json), base64-decode the ciphertexts, open them (HPKE, two
 *           messages), parse the invocation (hv_json), base64-decode the value, the arguments
 *           commitment (SHA-256 of the canonical bytes)
 *   client: the arguments commitment again, to check the server's
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <malloc.h>
#include <openssl/rand.h>

#include "hv_client.h"
#include "hv_json.h"

static double floor_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

enum {
  STEP_INVOCATION,
  STEP_SEAL_BODY,
  STEP_PARSE_BODY,
  STEP_DECODE_CT,
  STEP_OPEN,
  STEP_PARSE_INVOCATION,
  STEP_DECODE_VALUE,
  STEP_COMMIT_SERVER,
  STEP_COMMIT_CLIENT,
  STEP_COUNT
};
static const char *const STEP_NAMES[STEP_COUNT] = {
    "client: invocation document (base64 of the value)",
    "client: seal both messages, base64 into the body",
    "server: parse the body (hv_json)",
    "server: base64-decode both ciphertexts",
    "server: HPKE setup + open both messages",
    "server: parse the invocation (hv_json)",
    "server: base64-decode the value",
    "server: arguments commitment (SHA-256)",
    "client: arguments commitment (SHA-256)",
};

#define FLOOR_CHECK(cond)                                                                  \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "hv_bytes_floor: %s failed (line %d)\n", #cond, __LINE__);           \
      exit(1);                                                                             \
    }                                                                                      \
  } while (0)

/* One round; adds each step's time to t[] (best kept by the caller). */
static void floor_round(const hv_client_key *client, const hpke_private_key *server,
                        const uint8_t *value, size_t size, double t[STEP_COUNT]) {
  static const uint8_t wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  const hv_value arg = hv_value_blob(HV_TYPE_BYTES, value, size);
  uint8_t nonce[HV_COMMIT_NONCE_LEN] = {0};
  char commitment[HV_COMMIT_HEX_LEN + 1];
  char *invocation = NULL, *body = NULL;
  size_t invocation_len = 0, body_len = 0;
  double t0 = floor_now_ms(), t1;
#define FLOOR_STEP(k) (t1 = floor_now_ms(), t[k] = t1 - t0, t0 = t1)

  FLOOR_CHECK(hv_client_invocation_build("sha256", &arg, 1, HV_TYPE_BYTES, &invocation,
                                         &invocation_len, NULL) == HV_CRYPTO_OK);
  FLOOR_STEP(STEP_INVOCATION);
  FLOOR_CHECK(hv_client_seal_request_body_v11(client, hpke_private_key_public(server),
                                              HPKE_PUBLIC_KEY_LEN, wasm, sizeof wasm,
                                              (const uint8_t *)invocation, invocation_len,
                                              "{\"key_id\":\"0011223344556677\"}", &body,
                                              &body_len, NULL) == HV_CRYPTO_OK);
  FLOOR_STEP(STEP_SEAL_BODY);

  json_t *root = hv_json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
  FLOOR_CHECK(root != NULL);
  FLOOR_STEP(STEP_PARSE_BODY);
  json_t *w = json_object_get(root, "encrypted_wasm"), *c = json_object_get(root, "encrypted_invocation");
  uint8_t *w_raw = NULL, *c_raw = NULL;
  size_t w_len = 0, c_len = 0;
  FLOOR_CHECK(hv_crypto_base64_decode(json_string_value(w), json_string_length(w), &w_raw, &w_len,
                                      NULL) == HV_CRYPTO_OK);
  FLOOR_CHECK(hv_crypto_base64_decode(json_string_value(c), json_string_length(c), &c_raw, &c_len,
                                      NULL) == HV_CRYPTO_OK);
  FLOOR_STEP(STEP_DECODE_CT);
  const hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL, .mode = HPKE_MODE_BASE,
                                    .info = (const uint8_t *)HV_PROTOCOL_REQUEST_INFO_V11,
                                    .info_len = sizeof HV_PROTOCOL_REQUEST_INFO_V11 - 1};
  hpke_ctx *ctx = NULL;
  uint8_t *module = malloc(w_len), *call = malloc(c_len + 1);
  size_t module_len = 0, call_len = 0;
  FLOOR_CHECK(module && call &&
              hpke_setup_recipient(&params, server, w_raw, HPKE_ENC_LEN, &ctx, NULL) == HV_CRYPTO_OK);
  FLOOR_CHECK(hpke_open(ctx, hv_client_key_public(client), HPKE_PUBLIC_KEY_LEN, w_raw + HPKE_ENC_LEN,
                        w_len - HPKE_ENC_LEN, module, &module_len, NULL) == HV_CRYPTO_OK);
  FLOOR_CHECK(hpke_open(ctx, hv_client_key_public(client), HPKE_PUBLIC_KEY_LEN, c_raw, c_len, call,
                        &call_len, NULL) == HV_CRYPTO_OK);
  FLOOR_STEP(STEP_OPEN);
  json_t *doc = hv_json_loadb((const char *)call, call_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                              NULL);
  FLOOR_CHECK(doc != NULL);
  FLOOR_STEP(STEP_PARSE_INVOCATION);
  json_t *v = json_object_get(json_array_get(json_object_get(doc, "arguments"), 0), "value");
  uint8_t *decoded = NULL;
  size_t decoded_len = 0;
  FLOOR_CHECK(hv_crypto_base64_decode(json_string_value(v), json_string_length(v), &decoded,
                                      &decoded_len, NULL) == HV_CRYPTO_OK &&
              decoded_len == size);
  FLOOR_STEP(STEP_DECODE_VALUE);
  const hv_value got = hv_value_blob(HV_TYPE_BYTES, decoded, decoded_len);
  FLOOR_CHECK(hv_commit_arguments(nonce, &got, 1, commitment, NULL) == HV_CRYPTO_OK);
  FLOOR_STEP(STEP_COMMIT_SERVER);
  FLOOR_CHECK(hv_commit_arguments(nonce, &arg, 1, commitment, NULL) == HV_CRYPTO_OK);
  FLOOR_STEP(STEP_COMMIT_CLIENT);
#undef FLOOR_STEP

  hpke_ctx_free(ctx);
  json_decref(root);
  json_decref(doc);
  free(invocation);
  free(body);
  free(w_raw);
  free(c_raw);
  free(module);
  free(call);
  free(decoded);
}

int main(int argc, char **argv) {
  size_t size = 1 << 20, reps = 21;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--size") == 0) size = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--reps") == 0) reps = strtoull(argv[i + 1], NULL, 10);
  }
  if (size < 1 || size > (64u << 20) || reps < 1 || reps > 10000) {
    fprintf(stderr, "usage: hv_bytes_floor [--size BYTES (1 .. 64 MiB)] [--reps N]\n");
    return 2;
  }
  /* Warm buffers: freed blocks stay in the heap for the next round instead of going back to the
   * kernel, so the rounds after the first measure work, not first-touch page faults (which on
   * this VM cost more than the work; bytes_bench.c measures the real thing). */
  (void)mallopt(M_MMAP_THRESHOLD, 64 << 20);
  (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
  uint8_t *value = malloc(size);
  hv_client_key *client = NULL;
  hpke_private_key *server = NULL;
  FLOOR_CHECK(value && RAND_bytes(value, (int)size) == 1 &&
              hv_client_key_generate(&client, NULL) == HV_CRYPTO_OK &&
              hpke_private_key_generate(&server, NULL) == HV_CRYPTO_OK);
  double best[STEP_COUNT], t[STEP_COUNT];
  for (int k = 0; k < STEP_COUNT; k++) best[k] = 1e30;
  for (size_t r = 0; r < reps; r++) {
    floor_round(client, server, value, size, t);
    for (int k = 0; k < STEP_COUNT; k++)
      if (t[k] < best[k]) best[k] = t[k];
  }
  double total = 0;
  printf("%zu bytes, best of %zu rounds, warm buffers:\n", size, reps);
  for (int k = 0; k < STEP_COUNT; k++) {
    printf("  %-52s %7.3f ms\n", STEP_NAMES[k], best[k]);
    total += best[k];
  }
  printf("  %-52s %7.3f ms\n", "floor (sum)", total);
  hv_client_key_free(client);
  hpke_private_key_free(server);
  free(value);
  return 0;
}
