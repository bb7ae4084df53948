/*
 * srv_execute.c: POST /v1/execute (protocol.md, "POST /v1/execute").
 *
 *   headers   (srv_http.c: route, API key, rate limit, Content-Length)
 *   body      an executor slot for the API key -> request_id -> (the connection is suspended
 *             from here on) JSON -> fields -> base64 -> client key
 *             (srv_request.c) -> HPKE open with the key ring -> SHA-256 of the program -> job
 *   executor  module (from the cache by that SHA-256 under the API key, or compiled), sandbox policy, export,
 *             arguments, run (executor.c); a WASI command (wasm.wasi: stdio) with argv and stdin
 *   finish    result document (a function's results, or a command's exit code, stdout and
 *             stderr), commitments, sealed result (executor thread) -> audit record to the audit
 *             writer (srv_commit.c) -> once durable: metrics, reply, resume
 *
 * Every outcome after the request_id exists is written to the audit store with its status, and no
 * reply leaves before its record is durable. No HTTP or executor thread waits for the disk. The
 * plaintext program is wiped when the request ends; neither it, the arguments nor the results are
 * ever logged.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "srv_int.h"
#include "srv_request.h"

struct srv_exec_state {
  srv_exec_request req;    /* the parsed body (srv_request.h); ciphertext freed once opened */
  uint8_t *wasm;           /* the plaintext program (wiped when freed) */
  size_t wasm_len;
  char key_id[HV_KEY_ID_LEN + 1]; /* the server key that decrypted; "" before */
  bool v11;                       /* the request carried encrypted_invocation (protocol v1.1) */
  uint8_t program_sha256[32];     /* SHA-256 of wasm ... */
  char program_sha256_hex[HV_COMMIT_HEX_LEN + 1]; /* ... the document's program_sha256 */
  uint8_t cache_key[32];          /* the module cache's key: the hash under the API key's id */
  exec_limits limits;
  bool limits_known;
  exec_wasi_input wasi_input;     /* argv and stdin (v1.1), pointing into req */
  exec_job job;

  /* The finish: what is sent, and counted, once the audit record is durable. */
  srv_commit_item commit;
  char summary[SRV_SUMMARY_MAX]; /* the execution_summary as compact JSON (record and reply) */
  outcome_code code;       /* the request's final status */
  srv_reply reply;         /* built before the write; a success's is replaced if the write fails */
  bool compiled, executed; /* for the metrics */
  uint64_t submitted_ns;   /* when the record went to the audit writer (the debug log's phases) */
  uint64_t compile_ns, exec_ns, gas_used;
};

/* ---- The execution summary ---------------------------------------------------------------- */

static double srv_ms(uint64_t ns) { return round((double)ns / 1000.0) / 1000.0; }

/* A millisecond figure as a JSON real with microsecond resolution, as jansson writes reals with
 * JSON_REAL_PRECISION(15): "%.15g", with ".0" added when that reads as an integer. */
static void srv_ms_text(uint64_t ns, char out[32]) {
  snprintf(out, 32, "%.15g", srv_ms(ns));
  if (!strpbrk(out, ".eEn")) strncat(out, ".0", 31 - strlen(out));
}

/* {"status", "execution_time_ms", "compile_time_ms", "gas_used", "gas_limit",
 *  "memory_peak_bytes", "timeout_ms", "module_cached"} as compact JSON into buf (SRV_SUMMARY_MAX
 * bytes, always enough: the fields are bounded); `out` may be NULL (nothing ran). The one text
 * both the audit record and the reply carry. */
static void srv_summary_text(const srv_exec_state *st, outcome_code code, const exec_outcome *out,
                             char buf[SRV_SUMMARY_MAX]) {
  char exec_ms[32], compile_ms[32];
  srv_ms_text(out ? out->exec_ns : 0, exec_ms);
  srv_ms_text(out ? out->compile_ns : 0, compile_ms);
  bool known = st && st->limits_known;
  snprintf(buf, SRV_SUMMARY_MAX,
           "{\"status\":\"%s\",\"execution_time_ms\":%s,\"compile_time_ms\":%s,\"gas_used\":%" PRIu64
           ",\"gas_limit\":%" PRIu64 ",\"memory_peak_bytes\":%" PRIu64 ",\"timeout_ms\":%" PRIu64
           ",\"module_cached\":%s}",
           code == OUTCOME_OK ? "success" : outcome_code_name(code), exec_ms, compile_ms,
           out ? out->gas_used : 0, known ? st->limits.gas_limit : 0,
           out ? out->memory_peak_bytes : 0, known ? st->limits.timeout_ns / 1000000u : 0,
           out && out->module_cached ? "true" : "false");
}

/* ---- The audit record and the reply ------------------------------------------------------ */

typedef struct srv_commitments {
  char result[HV_COMMIT_HEX_LEN + 1];
  char program[HV_COMMIT_HEX_LEN + 1];
  char arguments[HV_COMMIT_HEX_LEN + 1];
} srv_commitments;

/*
 * The 200 gets the record's receipt (docs/protocol.md, "Receipts"): the reply, a JSON object built
 * before the write, ends in '}', which is replaced by ',"receipt":{...}}'. The receipt cannot go
 * inside the sealed result document: the leaf holds result_commitment, the hash of that document.
 * Without memory the reply goes out as it was (the record is in the log all the same).
 */
static void srv_exec_add_receipt(srv_request *r, const srv_commit_item *item) {
  srv_exec_state *st = r->exec;
  size_t rlen = 0;
  char *receipt = srv_tlog_receipt_json(r->server->tlog, item->receipt, item->tree_size,
                                        item->checkpoint, item->checkpoint_len, &rlen);
  srv_reply *reply = &st->reply;
  if (receipt && reply->body && reply->len > 0 && reply->body[reply->len - 1] == '}') {
    static const char member[] = ",\"receipt\":";
    size_t len = reply->len - 1 + (sizeof member - 1) + rlen + 1;
    char *body = realloc(reply->body, len + 1);
    if (body) {
      size_t at = reply->len - 1;
      memcpy(body + at, member, sizeof member - 1);
      at += sizeof member - 1;
      memcpy(body + at, receipt, rlen);
      at += rlen;
      body[at++] = '}';
      body[at] = '\0';
      reply->body = body;
      reply->len = at;
    }
  }
  free(receipt);
}

/* Once the record is durable (or its write failed): metrics, the reply, resume. Writer thread. */
static void srv_exec_committed(srv_commit_item *item, hv_audit_status as, const hv_audit_error *err) {
  srv_request *r = item->arg;
  srv *s = r->server;
  srv_exec_state *st = r->exec;
  outcome_code code = st->code;
  if (as != HV_AUDIT_OK) {
    if (as != HV_AUDIT_DUPLICATE) srv_storage_failed(s);
    HV_LOG(s->log, HV_LOG_ERROR, "audit.write_failed", 0, HV_LOG_STR("request_id", r->request_id),
           HV_LOG_STR("error", hv_audit_status_name(as)),
           HV_LOG_STR("message", err ? err->message : ""));
    if (code == OUTCOME_OK) {
      /* No 200 without a durable record. A failure is answered as it would have been. A store
       * that is down, locked or full may be back in a moment: 503, retry later; anything else
       * (a damaged or removed store) is our fault: 500. */
      bool transient = as == HV_AUDIT_UNAVAILABLE || as == HV_AUDIT_BUSY || as == HV_AUDIT_FULL;
      code = transient ? OUTCOME_CAPACITY_EXCEEDED : OUTCOME_INTERNAL_ERROR;
      srv_reply_discard(&st->reply);
      st->reply = srv_error_reply(r, code, NULL,
                                  transient ? "the audit record could not be stored now, so the "
                                              "result is withheld; retry later"
                                            : "the audit record could not be stored, so the "
                                              "result is withheld");
      if (transient) st->reply.retry_after_s = 5;
    }
  }
  if (as == HV_AUDIT_OK && code == OUTCOME_OK && item->receipt) srv_exec_add_receipt(r, item);
  srv_metrics_execution(s->metrics, code, st->compiled, st->compile_ns, st->executed, st->exec_ns,
                        st->gas_used);
  HV_LOG(s->log, HV_LOG_DEBUG, "execute.recorded", 0, HV_LOG_STR("request_id", r->request_id),
         HV_LOG_DOUBLE("audit_ms", (double)(srv_mono_ns() - st->submitted_ns) / 1e6),
         HV_LOG_STR("status", code == OUTCOME_OK ? "success" : outcome_code_name(code)));
  r->pending = st->reply;
  st->reply = (srv_reply){0};
  atomic_store(&r->phase, SRV_PHASE_DONE);
  /* After this the request may be completed and freed by an HTTP thread at any moment. */
  MHD_resume_connection(r->conn);
}

/*
 * Ends a request that has a request_id and a suspended connection: `reply` (taken) is sent once
 * the audit record of `code` (with the summary already in st->summary, and the commitments `c`,
 * or NULL) is durable. Any thread.
 */
static void srv_exec_finish(srv_request *r, outcome_code code, const exec_outcome *out,
                            const srv_commitments *c, srv_reply reply) {
  srv *s = r->server;
  srv_exec_state *st = r->exec;
  st->code = code;
  st->reply = reply;
  st->compiled = out && out->ran && !out->module_cached;
  st->compile_ns = out ? out->compile_ns : 0;
  st->executed = out && out->exec_ns > 0;
  st->exec_ns = out ? out->exec_ns : 0;
  st->gas_used = out ? out->gas_used : 0;

  hv_audit_record *rec = &st->commit.record;
  memset(rec, 0, sizeof *rec);
  snprintf(rec->request_id, sizeof rec->request_id, "%s", r->request_id);
  rec->recorded_at_ms = srv_now_ms(s);
  snprintf(rec->api_key_id, sizeof rec->api_key_id, "%s", r->api_key_id ? r->api_key_id : "unknown");
  snprintf(rec->key_id, sizeof rec->key_id, "%s", st->key_id);
  if (c) {
    memcpy(rec->result_commitment, c->result, sizeof rec->result_commitment);
    memcpy(rec->program_commitment, c->program, sizeof rec->program_commitment);
    memcpy(rec->arguments_commitment, c->arguments, sizeof rec->arguments_commitment);
  }
  snprintf(rec->status, sizeof rec->status, "%s",
           code == OUTCOME_OK ? "success" : outcome_code_name(code));
  rec->execution_summary = st->summary;
  rec->request_metadata = st->req.metadata;
  st->commit.done = srv_exec_committed;
  st->commit.arg = r;
  st->submitted_ns = srv_mono_ns();
  srv_committer_submit(s->commit, &st->commit);
}

/* Ends a request with an error (recorded, counted, answered once the record is durable), the
 * message as it is, with encrypted_error when that is not NULL. */
static void srv_exec_fail_with(srv_request *r, outcome_code code, const exec_outcome *out,
                               uint32_t retry_after_s, const char *message,
                               const char *encrypted_error) {
  srv_exec_state *st = r->exec;
  srv_summary_text(st, code, out, st->summary);
  /* Outcomes of the executor carry the summary; refusals before it do not. */
  json_t *summary = out ? json_loads(st->summary, 0, NULL) : NULL;
  srv_reply reply = srv_error_reply_sealed(r, code, summary, encrypted_error, message);
  json_decref(summary);
  reply.retry_after_s = retry_after_s;
  srv_exec_finish(r, code, out, NULL, reply);
}

/* Ends a request with an error whose words owe nothing to the program. */
static void srv_exec_fail(srv_request *r, outcome_code code, const exec_outcome *out,
                          uint32_t retry_after_s, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void srv_exec_fail(srv_request *r, outcome_code code, const exec_outcome *out,
                          uint32_t retry_after_s, const char *fmt, ...) {
  char msg[EXEC_MESSAGE_MAX + 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  srv_exec_fail_with(r, code, out, retry_after_s, msg, NULL);
}

/* The failures protocol v1.1 seals the details of ("Sealed errors"): those that can only come
 * from a request that was opened, and whose details may come from the program or the call. */
static bool srv_error_is_sealed(outcome_code code) {
  switch (code) {
    case OUTCOME_INVALID_REQUEST: /* a malformed invocation document */
    case OUTCOME_INVALID_WASM:
    case OUTCOME_FUNCTION_NOT_FOUND:
    case OUTCOME_INVALID_ARGUMENTS:
    case OUTCOME_EXECUTION_TRAP:
    case OUTCOME_EXECUTION_TIMEOUT:
    case OUTCOME_GAS_EXHAUSTED:
    case OUTCOME_MEMORY_EXCEEDED:
      return true;
    default:
      return false;
  }
}

/*
 * Ends an opened request with an error: `detail` (which may name what the program holds) is
 * sealed to the client as encrypted_error, for v1 and v1.1 requests alike; the clear message is
 * `public_message` for a v1 request (as v1 answered), and names only the code for a v1.1 one.
 */
static void srv_exec_fail_opened(srv_request *r, outcome_code code, const exec_outcome *out,
                                 const char *public_message, const char *detail) {
  srv *s = r->server;
  srv_exec_state *st = r->exec;
  char generic[96];
  const char *message = public_message;
  if (st->v11) {
    snprintf(generic, sizeof generic, "the request failed with %s; the details are in encrypted_error",
             outcome_code_name(code));
    message = generic;
  }
  if (!srv_error_is_sealed(code) || !st->req.client_pk) {
    srv_exec_fail_with(r, code, out, 0, message, NULL);
    return;
  }
  hv_crypto_err cerr = {0};
  uint8_t *sealed = NULL;
  size_t sealed_len = 0;
  char *b64 = NULL;
  if (hv_crypto_seal_error(st->req.client_pk, r->request_id, outcome_code_name(code), detail,
                           &sealed, &sealed_len, &cerr) != HV_CRYPTO_OK ||
      hv_crypto_base64_encode(sealed, sealed_len, &b64, NULL, &cerr) != HV_CRYPTO_OK) {
    HV_LOG(s->log, HV_LOG_ERROR, "execute.seal_failed", 0, HV_LOG_STR("request_id", r->request_id),
           HV_LOG_STR("error", hv_crypto_status_name(cerr.status)));
    srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, out, 0, "cannot seal the error");
  } else {
    srv_exec_fail_with(r, code, out, 0, message, b64);
  }
  free(sealed);
  free(b64);
}

/* ---- Header stage ------------------------------------------------------------------------- */

bool srv_execute_begin(srv_request *r, srv_reply *reply) {
  srv *s = r->server;
  if (atomic_load(&s->shutting_down)) {
    *reply = srv_error_reply(r, OUTCOME_CAPACITY_EXCEEDED, NULL, "the server is shutting down");
    reply->retry_after_s = 5;
    return false;
  }
  /* No executor slot yet: a slot is taken only once the body is in and there is work to run, so
   * a body that trickles in holds a connection, never capacity others need. */
  r->exec = calloc(1, sizeof *r->exec);
  if (!r->exec) {
    *reply = srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "cannot start the request");
    return false;
  }
  return true;
}

/* Takes an executor slot for the request's API key; false with the refusal in *reply. */
static bool srv_execute_reserve(srv_request *r, srv_reply *reply) {
  srv *s = r->server;
  exec_status es = s->exec->ops->reserve(s->exec, r->tenant);
  if (es == EXEC_OK) {
    r->slot_reserved = true;
    return true;
  }
  exec_counts counts;
  s->exec->ops->counts(s->exec, &counts);
  if (es == EXEC_SHUTTING_DOWN)
    *reply = srv_error_reply(r, OUTCOME_CAPACITY_EXCEEDED, NULL, "the server is shutting down");
  else if (es == EXEC_TENANT_FULL)
    *reply = srv_error_reply(r, OUTCOME_CAPACITY_EXCEEDED, NULL,
                             "API key '%s' already has %u executions running or waiting, its "
                             "share of the server; retry shortly",
                             r->api_key_id, (unsigned)counts.tenant_slots);
  else
    *reply = srv_error_reply(r, OUTCOME_CAPACITY_EXCEEDED, NULL,
                             "all %u execution slots are taken; retry shortly",
                             (unsigned)counts.capacity);
  reply->retry_after_s = es == EXEC_SHUTTING_DOWN ? 5u : 1u;
  HV_LOG(s->log, HV_LOG_WARN, "execute.capacity", 0, HV_LOG_STR("api_key_id", r->api_key_id),
         HV_LOG_STR("limit", es == EXEC_TENANT_FULL ? "api_key_share" : "server"),
         HV_LOG_UINT("active", counts.active), HV_LOG_UINT("queued", counts.queued),
         HV_LOG_UINT("capacity", counts.capacity));
  return false;
}

/* The module cache's key: the program's SHA-256 under the API key's id, so that one tenant can
 * never tell from a hit, a compile time or a latency whether another ran the same program. */
static bool srv_cache_key(const char *api_key_id, const uint8_t program_sha256[32],
                          uint8_t out[32]) {
  static const char label[] = "wasm-hypervisor module cache";
  const char *id = api_key_id ? api_key_id : "";
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned int len = 0;
  bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
            EVP_DigestUpdate(md, label, sizeof label) == 1 && /* with its NUL: a separator */
            EVP_DigestUpdate(md, id, strlen(id) + 1) == 1 &&
            EVP_DigestUpdate(md, program_sha256, 32) == 1 &&
            EVP_DigestFinal_ex(md, out, &len) == 1 && len == 32;
  EVP_MD_CTX_free(md);
  return ok;
}

/* ---- Finish (executor thread) ------------------------------------------------------------- */

/* The 200: document, commitments, sealed result; the audit record goes to the writer. */
static void srv_exec_success(srv_request *r, const exec_outcome *out) {
  srv *s = r->server;
  srv_exec_state *st = r->exec;
  hv_crypto_err cerr = {0};
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
  srv_commitments c;
  char *doc = NULL, *b64 = NULL;
  uint8_t *sealed = NULL;
  size_t doc_len = 0, sealed_len = 0;

  const hv_value *args = out->args, *results = out->results;
  hv_crypto_status ds = hv_commit_nonce(nonce, &cerr);
  if (ds == HV_CRYPTO_OK && out->wasi) /* a WASI command: exit code and output, no results */
    ds = hv_commit_wasi_document_build(r->request_id, st->req.function_name, out->exit_code,
                                       out->stdout_data, out->stdout_len, out->stderr_data,
                                       out->stderr_len, st->program_sha256_hex, nonce, &doc,
                                       &doc_len, &cerr);
  else if (ds == HV_CRYPTO_OK)
    ds = hv_commit_document_build(r->request_id, st->req.function_name, results,
                                  out->result_count, st->program_sha256_hex, nonce, &doc, &doc_len,
                                  &cerr);
  if (ds != HV_CRYPTO_OK ||
      hv_commit_result((const uint8_t *)doc, doc_len, c.result, &cerr) != HV_CRYPTO_OK ||
      hv_commit_program(nonce, st->wasm, st->wasm_len, c.program, &cerr) != HV_CRYPTO_OK ||
      hv_commit_arguments(nonce, args, out->arg_count, c.arguments, &cerr) != HV_CRYPTO_OK ||
      hv_crypto_seal_response(st->req.client_pk, r->request_id, (const uint8_t *)doc, doc_len,
                              &sealed, &sealed_len, &cerr) != HV_CRYPTO_OK ||
      hv_crypto_base64_encode(sealed, sealed_len, &b64, NULL, &cerr) != HV_CRYPTO_OK) {
    HV_LOG(s->log, HV_LOG_ERROR, "execute.seal_failed", 0, HV_LOG_STR("request_id", r->request_id),
           HV_LOG_STR("error", hv_crypto_status_name(cerr.status)));
    srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, out, 0, "cannot seal the result");
    goto done;
  }

  /* The reply as text: every field is hex, base64, a UUID or the summary (nothing to escape). */
  srv_summary_text(st, OUTCOME_OK, out, st->summary);
  srv_buf b;
  size_t b64_len = strlen(b64);
  srv_buf_init(&b, b64_len + 4 * HV_COMMIT_HEX_LEN + SRV_SUMMARY_MAX + 256);
  /* Room for the whole reply first: it is then formatted once, in place, in one allocation. */
  srv_buf_reserve(&b, b64_len + 3 * HV_COMMIT_HEX_LEN + strlen(st->summary) + 256);
  srv_buf_printf(&b,
                 "{\"request_id\":\"%s\",\"encrypted_result\":\"%s\",\"result_commitment\":\"%s\","
                 "\"program_commitment\":\"%s\",\"arguments_commitment\":\"%s\",\"key_id\":\"%s\","
                 "\"execution_summary\":%s}",
                 r->request_id, b64, c.result, c.program, c.arguments, st->key_id, st->summary);
  srv_reply reply = {.status = 200, .content_type = SRV_JSON_CONTENT_TYPE};
  reply.body = srv_buf_take(&b, &reply.len);
  if (!reply.body) {
    srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, out, 0, "the server ran out of memory");
    goto done;
  }
  r->status = 200;
  srv_exec_finish(r, OUTCOME_OK, out, &c, reply);

done:
  OPENSSL_cleanse(nonce, sizeof nonce);
  if (doc) OPENSSL_cleanse(doc, doc_len);
  free(doc);
  free(sealed);
  free(b64);
}

static void srv_exec_done(exec_job *job, exec_outcome *out, void *arg) {
  (void)job;
  srv_request *r = arg;
  srv *s = r->server;
  if (out)
    HV_LOG(s->log, HV_LOG_DEBUG, "execute.ran", 0, HV_LOG_STR("request_id", r->request_id),
           HV_LOG_DOUBLE("queue_ms", (double)out->queue_ns / 1e6),
           HV_LOG_DOUBLE("compile_ms", (double)out->compile_ns / 1e6),
           HV_LOG_DOUBLE("exec_ms", (double)out->exec_ns / 1e6),
           HV_LOG_BOOL("module_cached", out->module_cached),
           HV_LOG_STR("outcome", out->code == OUTCOME_OK ? "success" : outcome_code_name(out->code)));
  if (!out) {
    srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, NULL, 0, "the server ran out of memory");
  } else if (out->code != OUTCOME_OK) {
    if (out->code == OUTCOME_INVALID_WASM)
      HV_LOG(s->log, HV_LOG_WARN, "module.refused", HV_LOG_SECURITY,
             HV_LOG_STR("request_id", r->request_id), HV_LOG_STR("api_key_id", r->api_key_id));
    if (out->code == OUTCOME_CAPACITY_EXCEEDED)
      srv_exec_fail(r, out->code, NULL, out->retry_after_s ? out->retry_after_s : 5, "%s",
                    out->message);
    else
      srv_exec_fail_opened(r, out->code, out, out->message, out->detail);
  } else {
    srv_exec_success(r, out);
  }
  exec_outcome_free(out);
}

/* ---- Body stage --------------------------------------------------------------------------- */

bool srv_execute_body(srv_request *r, srv_reply *reply) {
  srv *s = r->server;
  srv_exec_state *st = r->exec;
  r->accepted_ns = srv_mono_ns();

  /* Refusals that need no work are answered at once, before a request_id exists. */
  if (r->too_large) {
    *reply = srv_error_reply(r, OUTCOME_PAYLOAD_TOO_LARGE, NULL,
                             "the request body is larger than the limit of %" PRIu64 " bytes",
                             s->config.server.max_body_bytes);
    return false;
  }
  if (!srv_storage_writable(s)) {
    /* The service cannot take work now, as when it is full: 503 with Retry-After, which clients
     * and load balancers retry (docs/protocol.md, decision on storage outages). */
    *reply = srv_error_reply(r, OUTCOME_CAPACITY_EXCEEDED, NULL,
                             "the audit store cannot record executions now, so none are run; "
                             "retry later");
    reply->retry_after_s = 5;
    return false;
  }
  if (!srv_execute_reserve(r, reply)) return false;
  if (!srv_uuid_v4(r->request_id)) {
    r->request_id[0] = '\0';
    *reply = srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "cannot start the request");
    return false;
  }

  /* From here on the request ends through srv_exec_finish, which resumes the connection once the
   * audit record is durable (possibly before this function returns). */
  atomic_store(&r->phase, SRV_PHASE_RUNNING);
  MHD_suspend_connection(r->conn);
  const srv_request_bounds bounds = {
      .max_timeout_s = s->config.wasm.max_execution_time_seconds,
      .default_gas_limit = s->config.wasm.default_gas_limit,
  };
  char msg[SRV_REQUEST_MESSAGE_MAX];
  outcome_code code = srv_exec_request_parse(r->body, r->body_len, &bounds, &st->req, msg);
  /* The body is no longer needed: release it early (up to server.max_body_bytes). */
  free(r->body);
  r->body = NULL;
  r->body_cap = 0;
  if (code != OUTCOME_OK) {
    srv_exec_fail(r, code, NULL, 0, "%s", msg);
    return true;
  }
  st->limits.gas_limit = st->req.gas_limit;
  st->limits.timeout_ns = st->req.timeout_s * 1000000000ull;
  st->limits.max_memory_pages = s->config.wasm.max_memory_mb * (1024u * 1024u / HVW_PAGE_SIZE);
  st->limits_known = true;

  hv_crypto_err cerr = {0};
  hv_crypto_status cs;
  uint8_t *invocation = NULL;
  size_t invocation_len = 0;
  st->v11 = st->req.invocation_ct != NULL;
  /* A key another node made a moment ago: load the shared ring once before giving up on it. */
  hv_keyring_key_info known;
  if (s->keystore != NULL && st->req.key_id != NULL && st->req.key_id[0] != '\0' &&
      hv_keyring_find(s->ring, st->req.key_id, &known, NULL) == HV_CRYPTO_UNKNOWN_KEY_ID)
    (void)srv_keys_refresh(s, false, false);
  if (st->v11)
    cs = hv_keyring_open_request_v11(s->ring, st->req.key_id, st->req.ciphertext,
                                     st->req.ciphertext_len, st->req.invocation_ct,
                                     st->req.invocation_ct_len, st->req.client_pk, &st->wasm,
                                     &st->wasm_len, &invocation, &invocation_len, st->key_id,
                                     &cerr);
  else
    cs = hv_keyring_open_request(s->ring, st->req.key_id, st->req.ciphertext,
                                 st->req.ciphertext_len, st->req.client_pk, st->req.function_name,
                                 &st->wasm, &st->wasm_len, st->key_id, &cerr);
  free(st->req.ciphertext);
  free(st->req.invocation_ct);
  st->req.ciphertext = st->req.invocation_ct = NULL;
  st->req.ciphertext_len = st->req.invocation_ct_len = 0;
  if (cs != HV_CRYPTO_OK) {
    st->key_id[0] = '\0';
    hv_crypto_class cls = hv_crypto_status_class(cs);
    if (cls == HV_CRYPTO_CLASS_ENCRYPTION) {
      HV_LOG(s->log, HV_LOG_WARN, "decrypt.failed", HV_LOG_SECURITY,
             HV_LOG_STR("request_id", r->request_id), HV_LOG_STR("api_key_id", r->api_key_id),
             HV_LOG_STR("reason", hv_crypto_status_name(cs)));
      srv_exec_fail(r, OUTCOME_ENCRYPTION_ERROR, NULL, 0, "%s", cerr.message);
    } else if (cls == HV_CRYPTO_CLASS_REQUEST) {
      srv_exec_fail(r, OUTCOME_INVALID_REQUEST, NULL, 0, "encrypted_wasm: %s", cerr.message);
    } else {
      HV_LOG(s->log, HV_LOG_ERROR, "decrypt.error", 0, HV_LOG_STR("request_id", r->request_id),
             HV_LOG_STR("error", hv_crypto_status_name(cs)));
      srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, NULL, 0, "cannot decrypt the request");
    }
    return true;
  }
  if (st->v11) {
    /* The invocation is the client's plaintext: its problems go back sealed, never logged. */
    code = srv_invocation_parse(invocation, invocation_len, &st->req, msg);
    OPENSSL_cleanse(invocation, invocation_len);
    free(invocation);
    if (code != OUTCOME_OK) {
      srv_exec_fail_opened(r, code, NULL, "the invocation document is not valid", msg);
      return true;
    }
  }
  /* A WASI command's inputs; whether the module is one is the executor's to say (exec_job). */
  st->wasi_input = (exec_wasi_input){
      .given = st->req.wasi_given,
      .argv = st->req.argv,
      .argc = st->req.argc,
      .stdin_data = st->req.stdin_bytes,
      .stdin_len = st->req.stdin_len,
  };

  HV_LOG(s->log, HV_LOG_DEBUG, "execute.opened", 0, HV_LOG_STR("request_id", r->request_id),
         HV_LOG_STR("key_id", st->key_id), HV_LOG_UINT("body_bytes", r->body_seen),
         HV_LOG_DOUBLE("read_and_open_ms", (double)(srv_mono_ns() - r->start_ns) / 1e6));

  /* The one hash of the program: the module cache's key and the document's program_sha256. */
  unsigned int dlen = 0;
  if (EVP_Digest(st->wasm, st->wasm_len, st->program_sha256, &dlen, EVP_sha256(), NULL) != 1 ||
      dlen != sizeof st->program_sha256) {
    srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, NULL, 0, "cannot hash the program");
    return true;
  }
  hv_crypto_hex_encode(st->program_sha256, sizeof st->program_sha256, st->program_sha256_hex);
  if (!srv_cache_key(r->api_key_id, st->program_sha256, st->cache_key)) {
    srv_exec_fail(r, OUTCOME_INTERNAL_ERROR, NULL, 0, "cannot hash the program");
    return true;
  }

  st->job = (exec_job){
      .wasm = st->wasm,
      .wasm_len = st->wasm_len,
      .cache_key = st->cache_key,
      .function_name = st->req.function_name,
      .args = st->req.args,
      .arg_count = st->req.arg_count,
      .results = st->req.results,
      .result_count = st->req.result_count,
      .max_result_bytes = s->config.wasm.max_result_bytes,
      .wasi = s->config.wasm.wasi == HV_CONFIG_WASI_STDIO ? EXEC_WASI_STDIO : EXEC_WASI_NONE,
      .wasi_input = st->v11 ? &st->wasi_input : NULL, /* v1 cannot carry argv or stdin */
      .limits = st->limits,
      .tenant = r->tenant,
      .tenant_name = r->api_key_id,
      .accepted_ns = r->accepted_ns,
      .done = srv_exec_done,
      .done_arg = r,
  };
  r->slot_reserved = false; /* submit takes the slot over, or releases it */
  if (s->exec->ops->submit(s->exec, &st->job) != EXEC_OK)
    srv_exec_fail(r, OUTCOME_CAPACITY_EXCEEDED, NULL, 5, "the server is shutting down");
  return true;
}

void srv_execute_cleanup(srv_request *r) {
  srv *s = r->server;
  if (r->slot_reserved) {
    s->exec->ops->release(s->exec, r->tenant);
    r->slot_reserved = false;
  }
  srv_exec_state *st = r->exec;
  if (!st) return;
  if (st->wasm) OPENSSL_cleanse(st->wasm, st->wasm_len);
  free(st->wasm);
  srv_exec_request_free(&st->req);
  srv_reply_discard(&st->reply);
  free(st);
  r->exec = NULL;
}
