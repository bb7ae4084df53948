/*
 * bytes_bench.c: what a large bytes argument costs a v1.1 call, measured in one long-lived
 * client (hv_client + one libcurl handle, so one kept-alive connection and a warm heap) rather
 * than through `hvctl`, whose process start and fresh buffers are not the protocol's cost.
 *
 *   hv_bytes_bench --server URL --api-key KEY --module FILE.wasm --function NAME
 *                  [--size BYTES] [--reps N]
 *
 * Calls NAME (bytes -> bytes, e.g. examples' sha256) with SIZE random bytes and with none,
 * alternately, REPS times each after one warm-up pair; every call is sealed, sent, opened and its
 * commitments checked. For each size it prints the median wall time of the whole call and the
 * median execution_time_ms the server reports (the guest's run); the difference of the two
 * differences is what the bytes cost on the way: encoding, sealing, HTTP, parsing, opening, the
 * Canonical ABI copies. Exit status 1 when a call fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "cli_file.h"
#include "hv_client.h"

typedef struct {
  char *data;
  size_t len, cap;
} bench_buf;

static size_t bench_collect(char *p, size_t size, size_t n, void *user) {
  bench_buf *b = user;
  size_t add = size * n;
  if (b->len + add + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + add + 1) cap *= 2;
    char *q = realloc(b->data, cap);
    if (q == NULL) return 0;
    b->data = q;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, add);
  b->len += add;
  b->data[b->len] = '\0';
  return add;
}

static double bench_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int bench_cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, bench_cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct {
  CURL *curl;
  const char *server;
  struct curl_slist *headers;
  uint8_t *server_pk;
  size_t server_pk_len;
  char key_id[17];
  const uint8_t *wasm;
  size_t wasm_len;
  const char *function;
} bench_ctx;

/* GET or POST (body != NULL) `path`; the answer's body in *out (reset first); the status. */
static long bench_http(bench_ctx *c, const char *path, const char *body, size_t body_len,
                       bench_buf *out) {
  char url[512];
  snprintf(url, sizeof url, "%s%s", c->server, path);
  out->len = 0;
  curl_easy_setopt(c->curl, CURLOPT_URL, url);
  curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
  curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, bench_collect);
  curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
  if (body != NULL) {
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  } else {
    curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
  }
  long status = 0;
  if (curl_easy_perform(c->curl) != CURLE_OK) return 0;
  curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

static int bench_fetch_key(bench_ctx *c) {
  bench_buf b = {0};
  int ok = 0;
  json_t *o = NULL;
  if (bench_http(c, "/v1/keys", NULL, 0, &b) == 200 && (o = json_loadb(b.data, b.len, 0, NULL))) {
    size_t k;
    json_t *e;
    json_array_foreach(json_object_get(o, "keys"), k, e) {
      const char *pk = json_string_value(json_object_get(e, "public_key"));
      const char *id = json_string_value(json_object_get(e, "key_id"));
      if (!json_is_true(json_object_get(e, "current")) || !pk || !id || strlen(id) != 16) continue;
      ok = hv_crypto_base64_decode(pk, strlen(pk), &c->server_pk, &c->server_pk_len, NULL) ==
           HV_CRYPTO_OK;
      memcpy(c->key_id, id, 17);
      break;
    }
  }
  json_decref(o);
  free(b.data);
  return ok;
}

/* One whole call with `len` bytes; its wall time and the server's execution_time_ms. */
static int bench_call(bench_ctx *c, const uint8_t *bytes, size_t len, double *wall_ms,
                      double *exec_ms) {
  int ok = 0;
  hv_crypto_err err = {0};
  hv_client_key *key = NULL;
  char *invocation = NULL, *pk_b64 = NULL, *members = NULL, *body = NULL;
  size_t invocation_len = 0, body_len = 0, document_len = 0;
  uint8_t *document = NULL;
  bench_buf resp = {0};
  json_t *req = NULL, *o = NULL;
  const hv_value arg = hv_value_blob(HV_TYPE_BYTES, bytes, len);

  double t0 = bench_now_ms();
  if (hv_client_key_generate(&key, &err) != HV_CRYPTO_OK ||
      hv_client_invocation_build(c->function, &arg, 1, HV_TYPE_BYTES, &invocation,
                                 &invocation_len, &err) != HV_CRYPTO_OK ||
      hv_client_key_public_base64(key, &pk_b64, &err) != HV_CRYPTO_OK)
    goto done;
  req = json_pack("{s:s,s:s}", "key_id", c->key_id, "public_key", pk_b64);
  members = req ? json_dumps(req, JSON_COMPACT) : NULL;
  if (!members ||
      hv_client_seal_request_body_v11(key, c->server_pk, c->server_pk_len, c->wasm, c->wasm_len,
                                      (const uint8_t *)invocation, invocation_len, members, &body,
                                      &body_len, &err) != HV_CRYPTO_OK)
    goto done;
  long status = bench_http(c, "/v1/execute", body, body_len, &resp);
  if (status != 200) {
    fprintf(stderr, "hv_bytes_bench: HTTP %ld: %.300s\n", status, resp.data ? resp.data : "");
    goto done;
  }
  o = json_loadb(resp.data, resp.len, 0, NULL);
  const char *rid = json_string_value(json_object_get(o, "request_id"));
  const char *enc = json_string_value(json_object_get(o, "encrypted_result"));
  hv_client_expected want = {
      .request_id = rid, .function_name = c->function, .wasm = c->wasm, .wasm_len = c->wasm_len,
      .arguments = &arg, .argument_count = 1,
      .result_commitment = json_string_value(json_object_get(o, "result_commitment")),
      .program_commitment = json_string_value(json_object_get(o, "program_commitment")),
      .arguments_commitment = json_string_value(json_object_get(o, "arguments_commitment"))};
  if (!rid || !enc ||
      hv_client_open_response_base64(key, rid, enc, strlen(enc), &document, &document_len,
                                     &err) != HV_CRYPTO_OK ||
      hv_client_check_result(document, document_len, &want, NULL, NULL, &err) != HV_CRYPTO_OK)
    goto done;
  *wall_ms = bench_now_ms() - t0;
  *exec_ms = json_number_value(
      json_object_get(json_object_get(o, "execution_summary"), "execution_time_ms"));
  ok = 1;
done:
  if (!ok && err.message[0]) fprintf(stderr, "hv_bytes_bench: %s\n", err.message);
  hv_client_key_free(key);
  free(invocation);
  free(pk_b64);
  free(members);
  free(body);
  free(document);
  free(resp.data);
  json_decref(req);
  json_decref(o);
  return ok;
}

int main(int argc, char **argv) {
  const char *server = NULL, *api_key = NULL, *module = NULL, *function = NULL;
  size_t size = 1 << 20, reps = 21;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--server") == 0) server = argv[i + 1];
    else if (strcmp(argv[i], "--api-key") == 0) api_key = argv[i + 1];
    else if (strcmp(argv[i], "--module") == 0) module = argv[i + 1];
    else if (strcmp(argv[i], "--function") == 0) function = argv[i + 1];
    else if (strcmp(argv[i], "--size") == 0) size = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--reps") == 0) reps = strtoull(argv[i + 1], NULL, 10);
    else break;
  }
  if (!server || !api_key || !module || !function || reps < 1 || reps > 10000 ||
      size > (64u << 20)) {
    fprintf(stderr, "usage: hv_bytes_bench --server URL --api-key KEY --module FILE.wasm "
                    "--function NAME [--size BYTES (<= 64 MiB)] [--reps N]\n");
    return 2;
  }
  char why[256] = "";
  bench_ctx c = {.server = server, .function = function};
  uint8_t *wasm = cli_read_file(module, CLI_FILE_MAX, &c.wasm_len, why, sizeof why);
  uint8_t *bytes = malloc(size ? size : 1);
  double *w[2] = {calloc(reps, sizeof(double)), calloc(reps, sizeof(double))};
  double *e[2] = {calloc(reps, sizeof(double)), calloc(reps, sizeof(double))};
  char header[300];
  snprintf(header, sizeof header, "X-API-Key: %s", api_key);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  c.curl = curl_easy_init();
  c.headers = curl_slist_append(NULL, header);
  c.headers = curl_slist_append(c.headers, "Content-Type: application/json; charset=utf-8");
  c.headers = curl_slist_append(c.headers, "Expect:"); /* no 100-continue round trip */
  c.wasm = wasm;
  int rc = 1;
  if (!wasm || !bytes || !w[0] || !w[1] || !e[0] || !e[1] || !c.curl || !c.headers ||
      RAND_bytes(bytes, (int)size) != 1 || !bench_fetch_key(&c)) {
    fprintf(stderr, "hv_bytes_bench: cannot start: %s\n", why[0] ? why : "no key or no memory");
    goto done;
  }
  for (size_t r = 0; r <= reps; r++) { /* round 0 warms up */
    for (int s = 0; s < 2; s++) {
      double wall = 0, exec = 0;
      if (!bench_call(&c, bytes, s ? size : 0, &wall, &exec)) goto done;
      if (r > 0) {
        w[s][r - 1] = wall;
        e[s][r - 1] = exec;
      }
    }
  }
  double w0 = bench_median(w[0], reps), w1 = bench_median(w[1], reps);
  double e0 = bench_median(e[0], reps), e1 = bench_median(e[1], reps);
  printf("empty: %.2f ms wall, %.2f ms guest (medians of %zu)\n", w0, e0, reps);
  printf("%zu bytes: %.2f ms wall, %.2f ms guest\n", size, w1, e1);
  printf("added: %.2f ms, of which guest %.2f ms and transport, sealing and the ABI copy %.2f ms\n",
         w1 - w0, e1 - e0, (w1 - w0) - (e1 - e0));
  rc = 0;
done:
  curl_slist_free_all(c.headers);
  if (c.curl) curl_easy_cleanup(c.curl);
  curl_global_cleanup();
  free(c.server_pk);
  free(wasm);
  free(bytes);
  for (int s = 0; s < 2; s++) {
    free(w[s]);
    free(e[s]);
  }
  return rc;
}
