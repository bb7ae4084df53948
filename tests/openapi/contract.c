/*
 * contract.c: the OpenAPI contract test's driver (tests/openapi/run-contract.sh). Starts real
 * servers, makes real requests over HTTP (libcurl) covering every path, alias and method of
 * docs/openapi.yaml and every error code a client can provoke, checks that each request got the
 * status it aims at, and writes every exchange (request, status, response headers, body) as one
 * JSON line to $HV_CONTRACT_LOG. tools/openapi/validate.mjs then validates each reply against the
 * document. The plaintext documents of the sealed results are written too, to be validated
 * against the document's ResultDocument and CommandResultDocument.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define ORIGIN "https://app.example"

static FILE *exchange_log;
static unsigned exchanges;

/* ---- Recording ---------------------------------------------------------------------------- */

static json_t *text_or_null(const char *text, size_t len) {
  if (!text) return json_null();
  json_t *s = json_stringn(text, len);
  return s ? s : json_null(); /* not UTF-8: the validator sees null and fails on it */
}

static void write_line(json_t *line) {
  char *text = json_dumps(line, JSON_COMPACT);
  assert_non_null(text);
  assert_true(fputs(text, exchange_log) >= 0 && fputc('\n', exchange_log) != EOF);
  free(text);
  json_decref(line);
}

/* Asserts the status (and error_code, when not NULL) of a reply to `req`, and records both. */
static void record_exchange(const char *name, const ht_req *req, const ht_resp *rp, long status,
                            const char *code) {
  const ht_resp r = *rp;
  if (r.status != status)
    fail_msg("%s: %s %s: HTTP %ld, want %ld: %.300s", name, req->method ? req->method : "GET",
             req->path, r.status, status, r.body);
  if (code) ht_assert_error(&r, status, code);
  json_t *headers = json_array();
  for (const char *const *h = req->headers; h && *h; h++) json_array_append_new(headers, json_string(*h));
  if (req->api_key) json_array_append_new(headers, json_string("X-API-Key: (a key)"));
  if (req->accept) {
    char line[160];
    snprintf(line, sizeof line, "Accept: %s", req->accept);
    json_array_append_new(headers, json_string(line));
  }
  const char *method = req->method ? req->method : req->body ? "POST" : "GET";
  size_t body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
  json_t *line = json_object();
  json_object_set_new(line, "kind", json_string("http"));
  json_object_set_new(line, "name", json_string(name));
  json_object_set_new(line, "method", json_string(method));
  json_object_set_new(line, "path", json_string(req->path));
  json_object_set_new(line, "request_headers", headers);
  /* Large bodies (the 413 cases) are left out; their length says enough. */
  json_object_set_new(line, "request_body",
                      body_len <= 65536 ? text_or_null(req->body, body_len) : json_null());
  json_object_set_new(line, "request_body_length", json_integer((json_int_t)body_len));
  json_object_set_new(line, "status", json_integer(r.status));
  json_object_set_new(line, "response_headers", json_string(r.headers));
  json_object_set_new(line, "response_body", text_or_null(r.body, r.len));
  write_line(line);
  exchanges++;
}

/* Performs `req`, then record_exchange. */
static ht_resp exchange(ht_server *s, const char *name, const ht_req *req, long status,
                        const char *code) {
  ht_resp r = ht_http(s, req);
  record_exchange(name, req, &r, status, code);
  return r;
}

static void exchange_free(ht_server *s, const char *name, const ht_req *req, long status,
                          const char *code) {
  ht_resp r = exchange(s, name, req, status, code);
  ht_resp_free(&r);
}

/* A sealed document's plaintext, to be validated against components/schemas/<schema>. */
static void record_document(const char *name, const char *schema, const uint8_t *doc, size_t len) {
  json_t *line = json_object();
  json_object_set_new(line, "kind", json_string("document"));
  json_object_set_new(line, "name", json_string(name));
  json_object_set_new(line, "schema", json_string(schema));
  json_object_set_new(line, "document", text_or_null((const char *)doc, len));
  write_line(line);
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Opens a 200 execute reply's encrypted_result and records the document. */
static void record_result(const char *name, const char *schema, const ht_resp *r,
                          const hv_client_key *key) {
  const char *id = str(r->json, "request_id"), *sealed = str(r->json, "encrypted_result");
  assert_non_null(id);
  assert_non_null(sealed);
  uint8_t *doc = NULL;
  size_t len = 0;
  hv_crypto_err err = {0};
  if (hv_client_open_response_base64(key, id, sealed, strlen(sealed), &doc, &len, &err) !=
      HV_CRYPTO_OK)
    fail_msg("%s: cannot open the result: %s", name, err.message);
  record_document(name, schema, doc, len);
  free(doc);
}

/* ---- Requests ----------------------------------------------------------------------------- */

static char *dump(const json_t *o) {
  char *t = json_dumps(o, JSON_COMPACT);
  assert_non_null(t);
  return t;
}

/* A v1 request for `fn` of `wasm` with `args` (a JSON array text, NULL: none) as text. */
static char *v1_body(ht_server *s, const uint8_t *wasm, size_t len, const char *fn,
                     const char *args, const char *extra_key, json_t *extra_value,
                     hv_client_key **key) {
  json_t *req = ht_exec_request(s, wasm, len, fn, NULL, key);
  if (args) json_object_set_new(req, "arguments", json_loads(args, 0, NULL));
  if (extra_key) json_object_set_new(req, extra_key, extra_value);
  char *t = dump(req);
  json_decref(req);
  return t;
}

/* A v1.1 request: `invocation` sealed after the module in one context. */
static char *v11_body(ht_server *s, const uint8_t *wasm, size_t len, const char *invocation,
                      hv_client_key **key) {
  uint8_t pk[65];
  char key_id[17];
  ht_current_key(s, pk, key_id);
  assert_int_equal(hv_client_key_generate(key, NULL), HV_CRYPTO_OK);
  hv_client_sealed sw, si;
  hv_crypto_err err = {0};
  if (hv_client_seal_request_v11(*key, pk, sizeof pk, wasm, len, (const uint8_t *)invocation,
                                 strlen(invocation), &sw, &si, &err) != HV_CRYPTO_OK)
    fail_msg("seal: %s", err.message);
  char *pub = NULL;
  assert_int_equal(hv_client_key_public_base64(*key, &pub, NULL), HV_CRYPTO_OK);
  json_t *o = json_object();
  json_object_set_new(o, "encrypted_wasm", json_string(sw.base64));
  json_object_set_new(o, "encrypted_invocation", json_string(si.base64));
  json_object_set_new(o, "key_id", json_string(key_id));
  json_object_set_new(o, "public_key", json_string(pub));
  json_object_set_new(o, "request_metadata", json_pack("{s:s}", "client", "contract"));
  free(pub);
  hv_client_sealed_free(&sw);
  hv_client_sealed_free(&si);
  char *t = dump(o);
  json_decref(o);
  return t;
}

static ht_req post(const char *path, const char *body) {
  return (ht_req){.method = "POST", .path = path, .api_key = HT_API_KEY, .body = body};
}

/* ---- The scenarios ------------------------------------------------------------------------ */

static ht_server main_server;

static const char *const every_path[] = {
    "/v1/execute", "/execute",    "/v1/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a",
    "/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a", "/v1/keys", "/keys", "/health",
    "/v1/health",  "/metrics",    "/v1/metrics", "/v1/log/checkpoint", "/v1/log/key",
    "/v1/log/proof/inclusion", "/v1/log/proof/consistency", "/v1/log/leaves", "/",
    "/playground/app.js"};

/* The transparency log's paths, without their queries. */
static const char *const log_paths[] = {"/v1/log/checkpoint", "/v1/log/key",
                                        "/v1/log/proof/inclusion", "/v1/log/proof/consistency",
                                        "/v1/log/leaves"};
#define LOG_PATH_COUNT (sizeof log_paths / sizeof log_paths[0])

static void open_endpoints(ht_server *s) {
  const char *origin[] = {"Origin: " ORIGIN, NULL};
  const char *gets[] = {"/health", "/v1/health", "/v1/keys", "/keys"};
  for (size_t k = 0; k < 4; k++) {
    ht_req get = {.path = gets[k]};
    exchange_free(s, "get", &get, 200, NULL);
    ht_req head = {.method = "HEAD", .path = gets[k], .headers = origin};
    exchange_free(s, "head from an allowed origin", &head, 200, NULL);
    ht_req cors = {.path = gets[k], .headers = origin};
    exchange_free(s, "get from an allowed origin", &cors, 200, NULL);
  }
  const char *with_body[] = {"/health", "/v1/keys", "/v1/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a",
                             "/metrics", "/v1/log/checkpoint", "/v1/log/key",
                             "/v1/log/proof/inclusion?index=0&size=1",
                             "/v1/log/proof/consistency?old=1&new=1", "/v1/log/leaves?start=0&end=1",
                             "/", "/playground/app.js"};
  for (size_t k = 0; k < sizeof with_body / sizeof with_body[0]; k++) {
    ht_req get = {.method = "GET", .path = with_body[k], .api_key = HT_API_KEY, .body = "{}"};
    exchange_free(s, "GET with a body", &get, 413, "PAYLOAD_TOO_LARGE");
  }
  const char *metrics[] = {"/metrics", "/v1/metrics"};
  for (size_t k = 0; k < 2; k++) {
    ht_req text = {.path = metrics[k], .api_key = HT_API_KEY};
    exchange_free(s, "metrics as text", &text, 200, NULL);
    ht_req json = {.path = metrics[k], .api_key = HT_API_KEY, .accept = "application/json"};
    exchange_free(s, "metrics as JSON", &json, 200, NULL);
    ht_req head = {.method = "HEAD", .path = metrics[k], .api_key = HT_API_KEY};
    exchange_free(s, "metrics HEAD", &head, 200, NULL);
    ht_req none = {.path = metrics[k]};
    exchange_free(s, "metrics without a key", &none, 401, "UNAUTHORIZED");
    ht_req wrong = {.path = metrics[k], .api_key = "not-a-key", .headers = origin};
    exchange_free(s, "metrics with a wrong key", &wrong, 401, "UNAUTHORIZED");
    ht_req headless = {.method = "HEAD", .path = metrics[k]};
    exchange_free(s, "metrics HEAD without a key", &headless, 401, NULL);
    ht_req bearer = {.path = metrics[k], .authorization = "Bearer " HT_API_KEY};
    exchange_free(s, "metrics with a bearer API key", &bearer, 200, NULL);
    ht_req bad_bearer = {.path = metrics[k], .authorization = "Bearer not-a-key"};
    exchange_free(s, "metrics with a wrong bearer token", &bad_bearer, 401, "UNAUTHORIZED");
    ht_req basic = {.path = metrics[k], .authorization = "Basic dXNlcjpwYXNz"};
    exchange_free(s, "metrics with Basic credentials", &basic, 401, "UNAUTHORIZED");
  }
}

static void preflights_and_methods(ht_server *s) {
  for (size_t k = 0; k < sizeof every_path / sizeof every_path[0]; k++) {
    const char *p = every_path[k];
    bool post_only = strstr(p, "execute") != NULL;
    const char *allowed[] = {"Origin: " ORIGIN,
                             post_only ? "Access-Control-Request-Method: POST"
                                       : "Access-Control-Request-Method: GET",
                             "Access-Control-Request-Headers: x-api-key, content-type", NULL};
    ht_req pre = {.method = "OPTIONS", .path = p, .headers = allowed};
    exchange_free(s, "preflight from an allowed origin", &pre, 204, NULL);
    const char *refused[] = {"Origin: https://elsewhere.example", allowed[1], NULL};
    ht_req bad = {.method = "OPTIONS", .path = p, .headers = refused};
    exchange_free(s, "preflight from another origin", &bad, 405, "INVALID_REQUEST");
    ht_req options = {.method = "OPTIONS", .path = p};
    exchange_free(s, "OPTIONS without CORS", &options, 405, "INVALID_REQUEST");
    ht_req del = {.method = "DELETE", .path = p};
    exchange_free(s, "DELETE", &del, 405, "INVALID_REQUEST");
    ht_req wrong = post_only ? (ht_req){.path = p, .api_key = HT_API_KEY}
                             : (ht_req){.method = "POST", .path = p, .body = "{}"};
    exchange_free(s, "the other of GET and POST", &wrong, 405, "INVALID_REQUEST");
  }
  ht_req nowhere = {.path = "/v2/execute"};
  exchange_free(s, "unknown route", &nowhere, 404, "NOT_FOUND");
  ht_req slash = {.path = "/health/"};
  exchange_free(s, "trailing slash", &slash, 404, "NOT_FOUND");
  ht_req post_nowhere = {.method = "POST", .path = "/v1/run", .body = "{}"};
  exchange_free(s, "POST to an unknown route", &post_nowhere, 404, "NOT_FOUND");
  const char *origin[] = {"Origin: " ORIGIN, NULL};
  ht_req cors_nowhere = {.path = "/nothing", .headers = origin};
  exchange_free(s, "unknown route from an allowed origin", &cors_nowhere, 404, "NOT_FOUND");
}

/* Executions that succeed, in each form; returns one request_id for verify. */
static void executions(ht_server *s, char id_out[64], char commitment_out[65]) {
  size_t add_len = 0, str_len = 0, wasi_len = 0;
  uint8_t *add = ht_wasm("add", &add_len);
  uint8_t *strings = ht_wasm("strings", &str_len);
  uint8_t *wasi = ht_wasm("wasi_exit", &wasi_len);
  hv_client_key *key = NULL;

  char *body = v1_body(s, add, add_len, "add", "[{\"value\": 2}, {\"value\": \"3\", \"type\": \"i32\"}]",
                       "timeout_seconds", json_integer(5), &key);
  ht_req req = post("/v1/execute", body);
  ht_resp r = exchange(s, "v1 add", &req, 200, NULL);
  /* The transparency log is on: the 200 carries the record's receipt. */
  if (!json_is_object(json_object_get(r.json, "receipt"))) fail_msg("v1 add: no receipt");
  record_result("v1 add", "ResultDocument", &r, key);
  snprintf(id_out, 64, "%s", str(r.json, "request_id"));
  snprintf(commitment_out, 65, "%s", str(r.json, "result_commitment"));
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  const char *origin[] = {"Origin: " ORIGIN, NULL};
  body = v1_body(s, add, add_len, "divf", "[{\"value\": 1}, {\"value\": \"inf\"}]", "gas_limit",
                 json_integer(1000000), &key);
  req = post("/execute", body);
  req.headers = origin;
  r = exchange(s, "v1 divf at the alias, from an allowed origin", &req, 200, NULL);
  record_result("v1 divf", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v1_body(s, add, add_len, "pair", "[{\"value\": 7}]", "request_metadata",
                 json_pack("{s:i}", "n", 1), &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1 two results", &req, 200, NULL);
  record_result("v1 pair", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"echo\",\"arguments\":[{\"type\":\"string\",\"value\":\"h\\u00e9\"}],"
                  "\"results\":[\"string\"]}",
                  &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1.1 string echo", &req, 200, NULL);
  record_result("v1.1 echo", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"echo\",\"arguments\":[{\"type\":\"bytes\",\"value\":\"AAEC\"}],"
                  "\"results\":[\"bytes\"]}",
                  &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1.1 bytes echo", &req, 200, NULL);
  record_result("v1.1 bytes", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v11_body(s, wasi, wasi_len,
                  "{\"function_name\":\"_start\",\"argv\":[\"exit.wasm\",\"-v\"],\"stdin\":\"aGk=\"}",
                  &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1.1 WASI command", &req, 200, NULL);
  record_result("v1.1 WASI command", "CommandResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  free(add);
  free(strings);
  free(wasi);
}

/* Every error of POST /v1/execute that a client can provoke on one server. */
static void execute_errors(ht_server *s, char failed_id_out[64]) {
  size_t add_len = 0, str_len = 0, big_len = 0;
  uint8_t *add = ht_wasm("add", &add_len);
  uint8_t *strings = ht_wasm("strings", &str_len);
  uint8_t *bigmem = ht_wasm("bigmem", &big_len);
  hv_client_key *key = NULL;

  ht_req req = {.method = "POST", .path = "/v1/execute", .body = "{}"};
  exchange_free(s, "no API key", &req, 401, "UNAUTHORIZED");
  req.path = "/execute";
  exchange_free(s, "no API key at the alias", &req, 401, "UNAUTHORIZED");
  req.path = "/v1/execute";
  req.api_key = "wrong-key";
  exchange_free(s, "wrong API key", &req, 401, "UNAUTHORIZED");

  struct {
    const char *name, *body;
  } malformed[] = {
      {"not JSON", "{\"encrypted_wasm\": "},
      {"not an object", "[1, 2]"},
      {"empty object", "{}"},
      {"invalid UTF-8", "{\"function_name\": \"\xff\"}"},
      {"duplicate member", "{\"function_name\": \"a\", \"function_name\": \"b\"}"},
  };
  for (size_t k = 0; k < sizeof malformed / sizeof malformed[0]; k++) {
    ht_req m = post("/v1/execute", malformed[k].body);
    exchange_free(s, malformed[k].name, &m, 400, "INVALID_REQUEST");
  }

  struct {
    const char *name, *member;
    json_t *value;
  } fields[] = {
      {"unknown member", "timout_seconds", json_integer(3)},
      {"timeout out of range", "timeout_seconds", json_integer(301)},
      {"gas_limit zero", "gas_limit", json_integer(0)},
      {"bad base64", "encrypted_wasm", json_string("!!!not base64!!!")},
      {"key_id not hex", "key_id", json_string("XYZ")},
      {"metadata not an object", "request_metadata", json_string("x")},
      {"both forms", "encrypted_invocation", json_string("AAAA")},
  };
  for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
    char *body = v1_body(s, add, add_len, "add", NULL, fields[k].member, fields[k].value, &key);
    ht_req m = post("/v1/execute", body);
    exchange_free(s, fields[k].name, &m, 400, "INVALID_REQUEST");
    hv_client_key_free(key);
    free(body);
  }

  struct {
    const char *name, *member;
    json_t *value;
  } crypto[] = {
      {"public key not a point", "public_key", json_string("AAAA")},
      {"unknown key_id", "key_id", json_string("0000000000000000")},
      {"ciphertext too short", "encrypted_wasm", json_string("AAAA")},
  };
  for (size_t k = 0; k < sizeof crypto / sizeof crypto[0]; k++) {
    char *body = v1_body(s, add, add_len, "add", NULL, crypto[k].member, crypto[k].value, &key);
    ht_req m = post("/v1/execute", body);
    exchange_free(s, crypto[k].name, &m, 400, "ENCRYPTION_ERROR");
    hv_client_key_free(key);
    free(body);
  }
  /* Sealed for another function name than the one sent: the AAD does not match. */
  json_t *swapped = ht_exec_request(s, add, add_len, "add", "answer", &key);
  char *body = dump(swapped);
  ht_req m = post("/v1/execute", body);
  exchange_free(s, "function_name not the sealed one", &m, 400, "ENCRYPTION_ERROR");
  json_decref(swapped);
  hv_client_key_free(key);
  free(body);

  struct {
    const char *name, *fn, *args;
    const uint8_t *wasm;
    size_t len;
    long status;
    const char *code;
  } runs[] = {
      {"argument count", "add", "[{\"value\": 1}]", add, add_len, 400, "INVALID_ARGUMENTS"},
      {"argument type", "add", "[{\"value\": 1, \"type\": \"f64\"}, {\"value\": 2}]", add, add_len,
       400, "INVALID_ARGUMENTS"},
      {"no such export", "nosuch", NULL, add, add_len, 422, "FUNCTION_NOT_FOUND"},
      {"not WebAssembly", "main", NULL, (const uint8_t *)"\0asm\x02\0\0\0junk", 12, 422,
       "INVALID_WASM"},
      {"an import", "main", NULL, NULL, 0, 422, "INVALID_WASM"},
      {"trap", "boom", NULL, add, add_len, 422, "EXECUTION_TRAP"},
      {"division by zero", "div", "[{\"value\": 1}, {\"value\": 0}]", add, add_len, 422,
       "EXECUTION_TRAP"},
      {"gas", "count", "[{\"value\": 100000000}]", add, add_len, 422, "GAS_EXHAUSTED"},
      {"memory", "main", NULL, bigmem, big_len, 422, "MEMORY_EXCEEDED"},
  };
  size_t imp_len = 0;
  uint8_t *imp = ht_wasm("import", &imp_len);
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    const uint8_t *w = runs[k].wasm ? runs[k].wasm : imp;
    size_t wl = runs[k].wasm ? runs[k].len : imp_len;
    body = v1_body(s, w, wl, runs[k].fn, runs[k].args, "gas_limit", json_integer(100000), &key);
    m = post("/v1/execute", body);
    ht_resp r = exchange(s, runs[k].name, &m, runs[k].status, runs[k].code);
    if (k == 5) snprintf(failed_id_out, 64, "%s", str(r.json, "request_id"));
    ht_resp_free(&r);
    hv_client_key_free(key);
    free(body);
  }
  free(imp);

  /* v1.1: the detail sealed, the clear message naming only the code. */
  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"confidential_model_v7\",\"arguments\":[{\"type\":\"string\","
                  "\"value\":\"x\"}]}",
                  &key);
  m = post("/v1/execute", body);
  exchange_free(s, "v1.1 trap", &m, 422, "EXECUTION_TRAP");
  hv_client_key_free(key);
  free(body);
  body = v11_body(s, strings, str_len, "{\"function_name\":\"echo\",\"bogus\":1}", &key);
  m = post("/v1/execute", body);
  exchange_free(s, "v1.1 malformed invocation", &m, 400, "INVALID_REQUEST");
  hv_client_key_free(key);
  free(body);
  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"add\",\"arguments\":[{\"value\":1}],\"results\":[\"i32\"]}",
                  &key);
  m = post("/v1/execute", body);
  exchange_free(s, "v1.1 argument count", &m, 400, "INVALID_ARGUMENTS");
  hv_client_key_free(key);
  free(body);

  /* Bodies over server.max_body_bytes (64 KiB here). */
  size_t n = 70 * 1024;
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  big[n] = '\0';
  ht_req large = {.method = "POST", .path = "/v1/execute", .api_key = HT_API_KEY, .body = big,
                  .body_len = n};
  exchange_free(s, "body over the cap", &large, 413, "PAYLOAD_TOO_LARGE");
  large.chunked = true;
  exchange_free(s, "chunked body over the cap", &large, 413, "PAYLOAD_TOO_LARGE");
  free(big);

  free(add);
  free(strings);
  free(bigmem);
}

static void verify(ht_server *s, const char *id, const char *commitment, const char *failed_id) {
  char path[256];
  const char *prefixes[] = {"/v1/verify/", "/verify/"};
  for (size_t k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s%s", prefixes[k], id);
    ht_req rec = {.path = path};
    exchange_free(s, "verify: the record", &rec, 200, NULL);
    ht_req head = {.method = "HEAD", .path = path};
    exchange_free(s, "verify: HEAD", &head, 200, NULL);
  }
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=result&hash_value=%s", id, commitment);
  ht_req check = {.path = path};
  ht_resp r = exchange(s, "verify: a matching commitment", &check, 200, NULL);
  assert_true(json_is_true(json_object_get(r.json, "verified")));
  ht_resp_free(&r);
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=program&hash_value=%064d", id, 0);
  exchange_free(s, "verify: another commitment", &check, 200, NULL);
  snprintf(path, sizeof path, "/v1/verify/%s", failed_id);
  exchange_free(s, "verify: a failed execution", &check, 200, NULL);

  const char *bad_query[] = {"commitment_type=result", "hash_value=00",
                             "commitment_type=other&hash_value=00", "x=1",
                             "commitment_type=result&commitment_type=result"};
  for (size_t k = 0; k < sizeof bad_query / sizeof bad_query[0]; k++) {
    snprintf(path, sizeof path, "/v1/verify/%s?%s", id, bad_query[k]);
    exchange_free(s, "verify: malformed query", &check, 400, "INVALID_REQUEST");
  }
  snprintf(path, sizeof path, "/verify/not-a-uuid");
  exchange_free(s, "verify: malformed id", &check, 400, "INVALID_REQUEST");
  ht_req head = {.method = "HEAD", .path = path};
  exchange_free(s, "verify: HEAD of a malformed id", &head, 400, NULL);
  snprintf(path, sizeof path, "/v1/verify/%s", "0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a");
  exchange_free(s, "verify: no such record", &check, 404, "NOT_FOUND");
  exchange_free(s, "verify: HEAD of no such record", &head, 404, NULL);
}

/* The tree's size now, from the signed checkpoint's second line. */
static uint64_t log_tree_size(ht_server *s) {
  ht_req req = {.path = "/v1/log/checkpoint"};
  ht_resp r = exchange(s, "log: the checkpoint", &req, 200, NULL);
  const char *nl = r.body ? strchr(r.body, '\n') : NULL;
  assert_non_null(nl);
  unsigned long long size = strtoull(nl + 1, NULL, 10);
  ht_resp_free(&r);
  return (uint64_t)size;
}

/* `tmpl` with each '$' replaced by n and each '@' by n + 1. */
static void log_query_path(char *out, size_t size, const char *tmpl, uint64_t n) {
  size_t at = 0;
  for (const char *c = tmpl; *c && at + 24 < size; c++) {
    if (*c == '$' || *c == '@')
      at += (size_t)snprintf(out + at, size - at, "%llu", (unsigned long long)(n + (*c == '@')));
    else
      out[at++] = *c;
  }
  out[at] = '\0';
}

/* Every log endpoint's answers, on a server with records in its log. */
static void log_endpoints(ht_server *s) {
  const char *origin[] = {"Origin: " ORIGIN, NULL};
  uint64_t n = log_tree_size(s);
  if (n < 3) fail_msg("the log has %llu leaves after the executions, want at least 3",
                      (unsigned long long)n);
  char good[LOG_PATH_COUNT][160];
  snprintf(good[0], sizeof good[0], "/v1/log/checkpoint");
  snprintf(good[1], sizeof good[1], "/v1/log/key");
  snprintf(good[2], sizeof good[2], "/v1/log/proof/inclusion?index=%llu&size=%llu",
           (unsigned long long)n - 1, (unsigned long long)n);
  snprintf(good[3], sizeof good[3], "/v1/log/proof/consistency?old=1&new=%llu", (unsigned long long)n);
  snprintf(good[4], sizeof good[4], "/v1/log/leaves?start=0&end=%llu", (unsigned long long)n);
  for (size_t k = 0; k < LOG_PATH_COUNT; k++) {
    ht_req get = {.path = good[k]};
    exchange_free(s, "log: get", &get, 200, NULL);
    ht_req head = {.method = "HEAD", .path = good[k]};
    exchange_free(s, "log: HEAD", &head, 200, NULL);
    ht_req cors = {.path = good[k], .headers = origin};
    exchange_free(s, "log: get from an allowed origin", &cors, 200, NULL);
  }
  char path[200];
  /* The key's origin names the checkpoint. */
  ht_req key = {.path = "/v1/log/key"};
  ht_resp kr = exchange(s, "log: the key", &key, 200, NULL);
  ht_req cp = {.path = "/v1/log/checkpoint"};
  ht_resp cr = exchange(s, "log: the checkpoint again", &cp, 200, NULL);
  const char *log_origin = str(kr.json, "origin");
  assert_non_null(log_origin);
  assert_true(cr.body && strncmp(cr.body, log_origin, strlen(log_origin)) == 0);
  ht_resp_free(&kr);
  ht_resp_free(&cr);
  /* Consistency of a tree with itself: an empty proof. */
  snprintf(path, sizeof path, "/v1/log/proof/consistency?old=%llu&new=%llu", (unsigned long long)n,
           (unsigned long long)n);
  ht_req same = {.path = path};
  ht_resp sr = exchange(s, "log: consistency of equal sizes", &same, 200, NULL);
  assert_int_equal(json_array_size(json_object_get(sr.json, "consistency_proof")), 0);
  ht_resp_free(&sr);
  /* A range past the page cap (and past the tree): the page stops at the smaller end. */
  snprintf(path, sizeof path, "/v1/log/leaves?start=1&end=%llu", (unsigned long long)n + 1000);
  ht_req wide = {.path = path};
  ht_resp wr = exchange(s, "log: leaves over the page cap", &wide, 200, NULL);
  uint64_t want_end = n < 257 ? n : 257;
  assert_int_equal(json_integer_value(json_object_get(wr.json, "end")), want_end);
  assert_int_equal(json_array_size(json_object_get(wr.json, "leaves")), want_end - 1);
  ht_resp_free(&wr);

  /* Every 400: missing, repeated, unknown, malformed, too large, out of range ('$' is the tree's
   * size, '@' one more). */
  struct {
    const char *name, *tmpl;
  } bad[] = {
      {"inclusion: no query", "/v1/log/proof/inclusion"},
      {"inclusion: size missing", "/v1/log/proof/inclusion?index=0"},
      {"inclusion: index missing", "/v1/log/proof/inclusion?size=$"},
      {"inclusion: unknown parameter", "/v1/log/proof/inclusion?index=0&size=$&x=1"},
      {"inclusion: repeated parameter", "/v1/log/proof/inclusion?index=0&index=0&size=$"},
      {"inclusion: negative", "/v1/log/proof/inclusion?index=-1&size=$"},
      {"inclusion: leading zero", "/v1/log/proof/inclusion?index=01&size=$"},
      {"inclusion: not a number", "/v1/log/proof/inclusion?index=one&size=$"},
      {"inclusion: empty value", "/v1/log/proof/inclusion?index=&size=$"},
      {"inclusion: over 2^63 - 1", "/v1/log/proof/inclusion?index=9223372036854775808&size=$"},
      {"inclusion: index = size", "/v1/log/proof/inclusion?index=$&size=$"},
      {"inclusion: size 0", "/v1/log/proof/inclusion?index=0&size=0"},
      {"inclusion: size over the tree", "/v1/log/proof/inclusion?index=0&size=9223372036854775807"},
      {"consistency: no query", "/v1/log/proof/consistency"},
      {"consistency: new missing", "/v1/log/proof/consistency?old=1"},
      {"consistency: unknown parameter", "/v1/log/proof/consistency?old=1&new=$&from=0"},
      {"consistency: malformed", "/v1/log/proof/consistency?old=1&new=+2"},
      {"consistency: old > new", "/v1/log/proof/consistency?old=2&new=1"},
      {"consistency: old 0", "/v1/log/proof/consistency?old=0&new=$"},
      {"consistency: new over the tree", "/v1/log/proof/consistency?old=1&new=9223372036854775807"},
      {"leaves: no query", "/v1/log/leaves"},
      {"leaves: end missing", "/v1/log/leaves?start=0"},
      {"leaves: repeated parameter", "/v1/log/leaves?start=0&end=1&end=2"},
      {"leaves: malformed", "/v1/log/leaves?start=0x1&end=2"},
      {"leaves: start = end", "/v1/log/leaves?start=1&end=1"},
      {"leaves: start > end", "/v1/log/leaves?start=2&end=1"},
      {"leaves: start past the tree", "/v1/log/leaves?start=$&end=@"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    log_query_path(path, sizeof path, bad[k].tmpl, n);
    ht_req get = {.path = path};
    exchange_free(s, bad[k].name, &get, 400, "INVALID_REQUEST");
  }
  const char *bad_heads[] = {"/v1/log/proof/inclusion?index=0", "/v1/log/proof/consistency?old=2&new=1",
                             "/v1/log/leaves?start=x&end=1"};
  for (size_t k = 0; k < 3; k++) {
    ht_req head = {.method = "HEAD", .path = bad_heads[k]};
    exchange_free(s, "log: HEAD with a bad query", &head, 400, NULL);
  }
}

/* The log endpoints and the playground on a server with both off: 404, and a 200 without receipt. */
static void log_and_playground_off(void) {
  ht_server s;
  ht_options o = {.transparency_log_off = true};
  ht_start(&s, &o);
  const char *queries[LOG_PATH_COUNT] = {"", "", "?index=0&size=1", "?old=1&new=1", "?start=0&end=1"};
  char path[160];
  for (size_t k = 0; k < LOG_PATH_COUNT; k++) {
    snprintf(path, sizeof path, "%s%s", log_paths[k], queries[k]);
    ht_req get = {.path = path};
    exchange_free(&s, "log off", &get, 404, "NOT_FOUND");
    ht_req head = {.method = "HEAD", .path = path};
    exchange_free(&s, "log off: HEAD", &head, 404, NULL);
  }
  const char *pages[] = {"/", "/playground/app.js"};
  for (size_t k = 0; k < 2; k++) {
    ht_req get = {.path = pages[k]};
    exchange_free(&s, "playground off", &get, 404, "NOT_FOUND");
    ht_req head = {.method = "HEAD", .path = pages[k]};
    exchange_free(&s, "playground off: HEAD", &head, 404, NULL);
    ht_req options = {.method = "OPTIONS", .path = pages[k]};
    exchange_free(&s, "playground off: OPTIONS", &options, 404, "NOT_FOUND");
    ht_req del = {.method = "DELETE", .path = pages[k]};
    exchange_free(&s, "playground off: DELETE", &del, 404, "NOT_FOUND");
  }
  size_t len = 0;
  uint8_t *add = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  char *body = v1_body(&s, add, len, "answer", NULL, NULL, NULL, &key);
  ht_req req = post("/v1/execute", body);
  ht_resp r = exchange(&s, "v1 with the log off", &req, 200, NULL);
  assert_null(json_object_get(r.json, "receipt"));
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);
  free(add);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* The playground's files, from server.playground_dir (a directory this test writes). */
static const struct {
  const char *name, *content, *type;
} playground_files[] = {
    {"index.html", "<!doctype html><title>contract</title><script src=\"playground/app.js\"></script>\n",
     "text/html"},
    {"app.js", "document.title = 'contract';\n", "text/javascript"},
    {"app.css", "body { margin: 0; }\n", "text/css"},
};
#define PLAYGROUND_FILE_COUNT (sizeof playground_files / sizeof playground_files[0])

static void playground_dir_make(char dir[64]) {
  snprintf(dir, 64, "/tmp/hv-contract-pg-XXXXXX");
  assert_non_null(mkdtemp(dir));
  for (size_t k = 0; k < PLAYGROUND_FILE_COUNT; k++) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, playground_files[k].name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(playground_files[k].content, f) >= 0);
    assert_int_equal(fclose(f), 0);
  }
}

static void playground_dir_remove(const char *dir) {
  for (size_t k = 0; k < PLAYGROUND_FILE_COUNT; k++) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, playground_files[k].name);
    unlink(path);
  }
  rmdir(dir);
}

/* The playground on (the main server): each file, HEAD, and files that are not there. */
static void playground(ht_server *s) {
  const char *origin[] = {"Origin: " ORIGIN, NULL};
  for (size_t k = 0; k < PLAYGROUND_FILE_COUNT; k++) {
    char path[96];
    snprintf(path, sizeof path, "/playground/%s", playground_files[k].name);
    ht_req get = {.path = path};
    ht_resp r = exchange(s, "playground: a file", &get, 200, NULL);
    assert_true(strncmp(r.content_type, playground_files[k].type, strlen(playground_files[k].type)) == 0);
    assert_true(r.len == strlen(playground_files[k].content) &&
                memcmp(r.body, playground_files[k].content, r.len) == 0);
    ht_resp_free(&r);
    ht_req head = {.method = "HEAD", .path = path};
    exchange_free(s, "playground: HEAD of a file", &head, 200, NULL);
  }
  ht_req page = {.path = "/"};
  ht_resp r = exchange(s, "playground: the page", &page, 200, NULL);
  assert_true(r.len == strlen(playground_files[0].content) &&
              memcmp(r.body, playground_files[0].content, r.len) == 0);
  ht_resp_free(&r);
  ht_req head = {.method = "HEAD", .path = "/"};
  exchange_free(s, "playground: HEAD of the page", &head, 200, NULL);
  ht_req cors = {.path = "/", .headers = origin};
  exchange_free(s, "playground: the page from an allowed origin", &cors, 200, NULL);

  const char *missing[] = {"/playground/nothere.js", "/playground/.hidden.css",
                           "/playground/app.exe", "/playground/index"};
  for (size_t k = 0; k < sizeof missing / sizeof missing[0]; k++) {
    ht_req get = {.path = missing[k]};
    exchange_free(s, "playground: no such file", &get, 404, "NOT_FOUND");
  }
  ht_req head_missing = {.method = "HEAD", .path = "/playground/nothere.js"};
  exchange_free(s, "playground: HEAD of no such file", &head_missing, 404, NULL);
}

/* The metrics count the new endpoints under their own labels. */
static void metrics_labels(ht_server *s) {
  ht_req json = {.path = "/v1/metrics", .api_key = HT_API_KEY, .accept = "application/json"};
  ht_resp r = exchange(s, "metrics after the log and the playground", &json, 200, NULL);
  json_t *by_endpoint = json_object_get(r.json, "http_requests_total");
  assert_true(json_integer_value(json_object_get(by_endpoint, "log")) > 0);
  assert_true(json_integer_value(json_object_get(by_endpoint, "playground")) > 0);
  ht_resp_free(&r);
}

/* CAPACITY_EXCEEDED and EXECUTION_TIMEOUT on a server with one slot and a 1 s limit. */
typedef struct spin_call {
  ht_server *s;
  ht_req req;
  ht_resp resp; /* recorded by the main thread, where a failed assertion may end the test */
} spin_call;

static void *spin_thread(void *arg) {
  spin_call *c = arg;
  c->resp = ht_http(c->s, &c->req);
  return NULL;
}

static bool one_busy(void *arg) {
  ht_resp r = ht_get(arg, "/health", NULL);
  json_t *cap = json_object_get(r.json, "capacity");
  json_int_t n = json_integer_value(json_object_get(cap, "active_executions")) +
                 json_integer_value(json_object_get(cap, "queued_executions"));
  ht_resp_free(&r);
  return n == 1;
}

static void capacity(void) {
  ht_server s;
  ht_options o = {.max_concurrent = 1, .max_exec_seconds = 1};
  ht_start(&s, &o);
  size_t len = 0;
  uint8_t *add = ht_wasm("add", &len);
  hv_client_key *k1 = NULL, *k2 = NULL;
  char *spin = v1_body(&s, add, len, "spin", NULL, NULL, NULL, &k1);
  spin_call call = {.s = &s, .req = post("/v1/execute", spin)};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, spin_thread, &call), 0);
  assert_true(ht_wait_for(one_busy, &s, 30));
  char *body = v1_body(&s, add, len, "answer", NULL, NULL, NULL, &k2);
  ht_req req = post("/v1/execute", body);
  exchange_free(&s, "every slot taken", &req, 503, "CAPACITY_EXCEEDED");
  pthread_join(t, NULL);
  record_exchange("wall-clock limit", &call.req, &call.resp, 422, "EXECUTION_TIMEOUT");
  ht_resp_free(&call.resp);
  free(spin);
  free(body);
  free(add);
  hv_client_key_free(k1);
  hv_client_key_free(k2);
  ht_stop(&s);
  ht_cleanup(&s);
}

static void rate_limit(void) {
  ht_server s;
  ht_options o = {.rps = 1, .burst = 1};
  ht_start(&s, &o);
  ht_req req = {.path = "/metrics", .api_key = HT_API_KEY};
  exchange_free(&s, "within the rate", &req, 200, NULL);
  exchange_free(&s, "over the rate", &req, 429, "RATE_LIMITED");
  ht_req ex = post("/v1/execute", "{}");
  exchange_free(&s, "execute over the rate", &ex, 429, "RATE_LIMITED");
  ht_req head = {.method = "HEAD", .path = "/v1/metrics", .api_key = HT_API_KEY};
  exchange_free(&s, "HEAD over the rate", &head, 429, NULL);
  ht_stop(&s);
  ht_cleanup(&s);
}

static void test_contract_exchanges(void **state) {
  (void)state;
  const char *log = getenv("HV_CONTRACT_LOG");
  if (!log) fail_msg("HV_CONTRACT_LOG names the file the exchanges go to");
  exchange_log = fopen(log, "w");
  assert_non_null(exchange_log);

  /* The main server has the playground on, its files from a directory written here (the same
   * code path as the copy built in, which needs Node.js at build time). */
  char pg_dir[64], extra[160];
  playground_dir_make(pg_dir);
  snprintf(extra, sizeof extra, "  playground: true\n  playground_dir: \"%s\"\n", pg_dir);
  ht_options o = {.max_body = 64 * 1024, .cors_origins = "[\"" ORIGIN "\"]", .wasi_stdio = true,
                  .server_extra = extra};
  ht_start(&main_server, &o);
  open_endpoints(&main_server);
  preflights_and_methods(&main_server);
  char id[64], commitment[65], failed_id[64];
  executions(&main_server, id, commitment);
  execute_errors(&main_server, failed_id);
  verify(&main_server, id, commitment, failed_id);
  log_endpoints(&main_server);
  playground(&main_server);
  metrics_labels(&main_server);
  ht_stop(&main_server);
  ht_cleanup(&main_server);
  playground_dir_remove(pg_dir);
  log_and_playground_off();
  capacity();
  rate_limit();

  assert_int_equal(fclose(exchange_log), 0);
  exchange_log = NULL;
  printf("contract: %u exchanges recorded in %s\n", exchanges, log);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_contract_exchanges)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return rc + ht_failures();
}
