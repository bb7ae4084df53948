/*
 * harness.h: start the real server in a child process on a free loopback port, with a temporary
 * data directory and a generated configuration, and talk to it over HTTP (libcurl) or through
 * hvctl. Every function fails the current cmocka test on an unexpected error.
 */
#ifndef HV_TESTS_SERVER_HARNESS_H
#define HV_TESTS_SERVER_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "hv_client.h"

/* The API keys every test configuration holds (ids "test" and "other"). */
#define HT_API_KEY "test-key-0123456789abcdef0123456789abcdef"
#define HT_OTHER_API_KEY "other-key-fedcba9876543210"
/* Configured only with ht_options.third_key (id "third"). */
#define HT_THIRD_API_KEY "third-key-00112233445566778899"

typedef struct ht_options {
  unsigned max_concurrent;       /* 0: 100 */
  unsigned max_exec_seconds;     /* 0: 10 */
  unsigned rps, burst;           /* 0: 1000, 1000 (out of the way) */
  uint64_t max_body;             /* 0: 1 MiB */
  unsigned max_memory_mb;        /* 0: 64 */
  unsigned retention_days;       /* 0: 7 */
  bool no_api_keys;              /* no auth section: the development key */
  bool test_clock;               /* HYPERVISOR_TEST_CLOCK_FILE = DIR/clock */
  unsigned per_key;              /* wasm.max_concurrent_per_key; 0: not in the file */
  bool third_key;                /* auth.api_keys also holds HT_THIRD_API_KEY */
  const char *data_dir;          /* keys and audit.db here instead of DIR/data */
  uint16_t port;                 /* 0: a free one */
  bool wasi_stdio;               /* wasm.wasi: stdio (WASI commands); else the default, none */
  uint64_t max_result_bytes;     /* wasm.max_result_bytes; 0: not in the file (16 MiB) */
  const char *server_extra;      /* YAML lines added inside server: ("  tls:\n    cert: ...\n") */
  const char *tls_ca;            /* the server speaks HTTPS: url is https://, curl trusts this CA */
  const char *cors_origins;      /* server.cors_origins as YAML (["https://a.example"]); NULL: none */
  bool transparency_log_off;     /* storage.transparency_log: false */
  const char *kek_file;          /* crypto.kek_file; NULL: not in the file */
  const char *storage;           /* the whole storage section's body (indented two spaces);
                                    NULL: sqlite at DIR/data/audit.db */
  const char *executor;          /* wasm.executor; NULL: HV_TEST_EXECUTOR, else the default */
  const char *worker_tenancy;    /* wasm.worker_tenancy; NULL: not in the file (dedicated) */
  uint32_t worker_processes;     /* wasm.worker_processes; 0: not in the file (the default) */
} ht_options;

typedef struct ht_server {
  char dir[256];
  char config[320];
  char log[320];
  char out[320];
  char clock[320];
  char url[64];
  uint16_t port;
  pid_t pid;
  ht_options opt;
} ht_server;

/* Makes the directory and the configuration, starts the server, waits for GET /health. */
void ht_start(ht_server *s, const ht_options *opt);
/* The directory and the configuration only (the server is not started). */
void ht_prepare(ht_server *s, const ht_options *opt);
/* Writes the configuration again from s->opt (for a reload). */
void ht_write_config(ht_server *s);
/* Starts the server again on the same directory, configuration and port. */
void ht_restart(ht_server *s);
/* Sends `sig` and waits for the exit; returns the exit status (-1 if killed by a signal). */
int ht_stop_signal(ht_server *s, int sig);
/* SIGTERM, wait, and asserts exit status 0 (under ASan a leak found at exit makes it non-zero; the
 * server's output, with the report, goes to stderr). */
void ht_stop(ht_server *s);
/* How many ht_stop calls failed in this process. A test's main adds it to its result, because
 * cmocka does not count a failure in a group teardown (where the shared server stops). */
int ht_failures(void);
/* Stops (if running) and removes the directory. */
void ht_cleanup(ht_server *s);
/* Writes the test clock's offset in seconds. */
void ht_set_clock(ht_server *s, long long seconds);
/* The whole content of a file under the server's directory ("server.log", "stdout"); caller frees. */
char *ht_read_text(const char *path);

typedef struct ht_resp {
  long status;
  char *body;
  size_t len;
  json_t *json; /* the body parsed, or NULL */
  char retry_after[32];
  char allow[64];
  char content_type[128];
  char request_id_header[64];
  char headers[4096]; /* the final response's header lines, "Name: value\r\n" each (cut if longer) */
} ht_resp;

typedef struct ht_req {
  const char *method;  /* NULL: GET, or POST when body is set */
  const char *path;
  const char *api_key;
  const char *authorization; /* the Authorization header's value, or NULL */
  const char *body;
  size_t body_len;     /* 0 with body: strlen */
  const char *accept;
  bool chunked;        /* Transfer-Encoding: chunked instead of Content-Length */
  long timeout_s;      /* 0: 60 */
  const char *const *headers; /* more request header lines ("Origin: https://a.example"), NULL-ended */
} ht_req;

ht_resp ht_http(ht_server *s, const ht_req *req);
ht_resp ht_get(ht_server *s, const char *path, const char *api_key);
ht_resp ht_post(ht_server *s, const char *path, const char *api_key, const char *body);
void ht_resp_free(ht_resp *r);
/* The value of response header `name` (case-insensitive) into out; false when it is absent. */
bool ht_resp_header(const ht_resp *r, const char *name, char *out, size_t size);
/* Asserts an error reply: the status, the error_code and the body's shape. */
void ht_assert_error(const ht_resp *r, long status, const char *code);

/* A module from tests/server/wat, compiled at build time; caller frees. */
uint8_t *ht_wasm(const char *name, size_t *len);

/* The current server key (SEC1) and id. */
void ht_current_key(ht_server *s, uint8_t pk[65], char key_id[17]);

/* A sealed execute request for (wasm, function_name): a JSON object the caller may change before
 * sending, and the client key that can open the answer (caller frees both). `seal_name` is the
 * function name bound as AAD (normally function_name). */
json_t *ht_exec_request(ht_server *s, const uint8_t *wasm, size_t wasm_len,
                        const char *function_name, const char *seal_name, hv_client_key **key);
/* Sends an execute request object. */
ht_resp ht_execute(ht_server *s, const json_t *request, const char *api_key);

/* Opens and checks a 200 execute reply; returns the result document (caller frees). */
hv_result_document *ht_open_result(const ht_resp *r, const hv_client_key *key,
                                   const char *function_name, const uint8_t *wasm,
                                   size_t wasm_len, const hvw_value *args, size_t arg_count);
/* The same with protocol values (strings and bytes too). */
hv_result_document *ht_open_result_values(const ht_resp *r, const hv_client_key *key,
                                          const char *function_name, const uint8_t *wasm,
                                          size_t wasm_len, const hv_value *args,
                                          size_t arg_count);

/* Runs a program with argv (NULL-terminated) and extra env ("NAME=value" or NULL), captures
 * stdout and stderr (caller frees), returns the exit status. */
int ht_run(char *const argv[], const char *env, char **out, char **err);

/* Two key-encryption keys for tests, and a KEK file of them (hex and a newline) with `mode`. */
#define HT_KEK_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HT_KEK_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
void ht_write_kek(const char *path, const char *hex, mode_t mode);

/* ht_run for a NULL-terminated argv of constant strings (hvctl's, say); out and err may be NULL
 * (then the output is dropped), else the caller frees them. */
int ht_hvctl(const char *const argv[], char **out, char **err);

/* `hypervisor serve` with s's config and extra env (may be NULL) must exit 1 at start-up with
 * `want` in its stderr; fails the test otherwise. */
void ht_start_refused(ht_server *s, const char *env, const char *want);

/* A TCP connection to the server's port (blocking), or fails the test. */
int ht_connect(ht_server *s);
/* Writes all of `len` bytes; false if the peer is gone. */
bool ht_send_all(int fd, const void *data, size_t len);
/* Reads one whole HTTP/1.1 response (headers, then Content-Length bytes) within `seconds`; returns
 * its status code, or 0 on a timeout, -1 when the connection ended first. `body` (may be NULL)
 * gets the body, which the caller frees. */
int ht_read_response(int fd, double seconds, char **body);
/* Monotonic seconds. */
double ht_now(void);

/* One load client's answer: `ok` false when no HTTP answer came (status 0, body NULL). */
typedef struct ht_load_answer {
  bool ok;
  long status;
  const char *body; /* NUL-terminated, or NULL */
  size_t len;
} ht_load_answer;
/* Called for each answer of ht_load_client, on the client's thread; false stops the client. */
typedef bool (*ht_load_on_answer)(void *ctx, const ht_load_answer *answer);

/* One load client on the calling thread: a kept-alive connection POSTing bodies[i % body_count]
 * to /v1/execute with HT_API_KEY (20 s timeout each) until *stop is set or on_answer returns
 * false. For tests that kill something under load. */
void ht_load_client(const ht_server *s, char *const *bodies, size_t body_count,
                    atomic_bool *stop, ht_load_on_answer on_answer, void *ctx);

/* The pids of `parent`'s children whose command is `comm` ("hv-worker"; NULL: any), at most `max`;
 * with `zombie` those that have ended and wait to be reaped, else the others. */
int ht_children(pid_t parent, const char *comm, bool zombie, int *pids, int max);

/* Polls `cond(arg)` every 20 ms up to `seconds`; true once it holds. */
bool ht_wait_for(bool (*cond)(void *arg), void *arg, double seconds);

#endif /* HV_TESTS_SERVER_HARNESS_H */
