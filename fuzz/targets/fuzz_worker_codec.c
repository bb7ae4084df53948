/*
 * fuzz_worker_codec.c: the worker channel's decoders (src/worker/wk_codec.h) on arbitrary bytes.
 * The first byte picks the side: even, a job payload as the worker reads it (wk_job_decode); odd,
 * an outcome payload as the server reads it (wk_outcome_decode) for one of a few fixed jobs
 * (bits 1-2: a call with declared numeric, string or no results, or a WASI command). The rest is
 * the payload.
 *
 * Checks: no crash, leak or overread on any input; whatever decodes encodes again, and that
 * encoding decodes to the same thing (the job's encoding is stable: encode(decode(encode(x))) is
 * encode(x) byte for byte); an accepted outcome keeps the promises of wk_outcome_decode (results
 * only on success, as declared, within max_result_bytes; string and bytes arguments are the job's
 * own bytes; no cache hit for a job without a cache key).
 *
 * HV_FUZZ_WRITE_SEEDS=DIR makes LLVMFuzzerInitialize write a genuine job and outcome of each kind
 * into DIR (the committed corpus in tests/fuzz/corpus/fuzz_worker_codec/ came from it).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "wk_codec.h"

static const uint8_t g_wasm[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
static const uint8_t g_key[32] = {1, 2, 3};
static const uint8_t g_blob[] = {'h', 'i', 0xff};
static const hv_type g_numeric[] = {HVW_TYPE_I32, HVW_TYPE_F64};
static const hv_type g_string[] = {HV_TYPE_STRING};
static const char *const g_argv[] = {"prog", "-n"};

/* The fixed jobs outcomes answer (variant 0-3). */
static exec_job job_of(unsigned variant, exec_arg args[3], exec_wasi_input *wasi) {
  args[0] = (exec_arg){.kind = EXEC_ARG_INT, .i = -7};
  args[1] = (exec_arg){.kind = EXEC_ARG_BLOB, .declared = HV_TYPE_BYTES, .data = g_blob, .len = 3};
  args[2] = (exec_arg){.kind = EXEC_ARG_BLOB, .declared = HV_TYPE_STRING, .data = g_blob, .len = 2};
  *wasi = (exec_wasi_input){.given = true, .argv = g_argv, .argc = 2, .stdin_data = g_blob,
                            .stdin_len = 3};
  exec_job job = {.wasm = g_wasm, .wasm_len = sizeof g_wasm, .cache_key = g_key,
                  .function_name = "f", .args = args, .arg_count = 3,
                  .max_result_bytes = 64,
                  .limits = {.gas_limit = 1000, .max_memory_pages = 4, .timeout_ns = 1000000}};
  switch (variant & 3) {
    case 0:
      job.results = g_numeric;
      job.result_count = 2;
      break;
    case 1:
      job.results = g_string;
      job.result_count = 1;
      job.cache_key = NULL;
      break;
    case 2:
      job.arg_count = 0;
      job.args = NULL;
      break;
    default:
      job.function_name = "_start";
      job.arg_count = 0;
      job.args = NULL;
      job.wasi = EXEC_WASI_STDIO;
      job.wasi_input = wasi;
  }
  return job;
}

static void write_file(const char *dir, const char *name, uint8_t first, const uint8_t *p,
                       size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  FUZZ_CHECK(f != NULL, "cannot write %s", path);
  fputc(first, f);
  fwrite(p, 1, n, f);
  fclose(f);
}

static void write_seeds(const char *dir) {
  for (unsigned v = 0; v < 4; v++) {
    exec_arg args[3];
    exec_wasi_input wasi;
    exec_job job = job_of(v, args, &wasi);
    uint8_t *frame = NULL;
    size_t len = 0;
    char why[256], name[64];
    FUZZ_CHECK(wk_job_encode(&job, 5000, &frame, &len, why, sizeof why) == WK_OK, "%s", why);
    snprintf(name, sizeof name, "job-%u", v);
    write_file(dir, name, 0, frame + WK_FRAME_HEADER, len - WK_FRAME_HEADER);
    wk_wipe_free(frame, len);

    exec_outcome o = {.code = OUTCOME_OK, .ran = true, .module_cached = job.cache_key != NULL,
                      .compile_ns = 1, .exec_ns = 2, .gas_used = 3, .memory_peak_bytes = 65536};
    hv_value results[2];
    uint8_t text[] = "ok";
    if (v == 0) {
      results[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 5});
      results[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 9});
      o.results = results;
      o.result_count = 2;
    } else if (v == 1) {
      results[0] = hv_value_blob(HV_TYPE_STRING, text, 2);
      o.results = results;
      o.result_count = 1;
    } else if (v == 3) {
      o.wasi = true;
      o.stdout_data = text;
      o.stdout_len = 2;
    }
    wk_cache_stats stats = {.entries = 1, .bytes = 100, .max_bytes = 1000, .misses = 1};
    FUZZ_CHECK(wk_outcome_encode(&o, &stats, &frame, &len, why, sizeof why) == WK_OK, "%s", why);
    snprintf(name, sizeof name, "outcome-%u", v);
    write_file(dir, name, (uint8_t)(1 | v << 1), frame + WK_FRAME_HEADER, len - WK_FRAME_HEADER);
    wk_wipe_free(frame, len);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *seeds = getenv("HV_FUZZ_WRITE_SEEDS");
  if (seeds && *seeds) write_seeds(seeds);
  return 0;
}

static void fuzz_job(const uint8_t *p, size_t n) {
  char why[256];
  wk_job *j = NULL;
  if (wk_job_decode(p, n, &j, why, sizeof why) != WK_OK) {
    FUZZ_CHECK(j == NULL, "a refused job was handed out");
    return;
  }
  uint8_t *f1 = NULL, *f2 = NULL;
  size_t l1 = 0, l2 = 0;
  FUZZ_CHECK(wk_job_encode(&j->job, j->remaining_ns, &f1, &l1, why, sizeof why) == WK_OK,
             "a decoded job does not encode: %s", why);
  wk_job *k = NULL;
  FUZZ_CHECK(wk_job_decode(f1 + WK_FRAME_HEADER, l1 - WK_FRAME_HEADER, &k, why, sizeof why) ==
                 WK_OK,
             "a job's own encoding is refused: %s", why);
  FUZZ_CHECK(wk_job_encode(&k->job, k->remaining_ns, &f2, &l2, why, sizeof why) == WK_OK, "%s",
             why);
  FUZZ_CHECK(l1 == l2 && memcmp(f1, f2, l1) == 0, "a job's encoding is not stable");
  FUZZ_CHECK(k->job.wasm_len == j->job.wasm_len && k->job.arg_count == j->job.arg_count &&
                 strcmp(k->job.function_name, j->job.function_name) == 0,
             "a job changed in a round trip");
  wk_wipe_free(f1, l1);
  wk_wipe_free(f2, l2);
  wk_job_free(k);
  wk_job_free(j);
}

static void fuzz_outcome(unsigned variant, const uint8_t *p, size_t n) {
  exec_arg args[3];
  exec_wasi_input wasi;
  exec_job job = job_of(variant, args, &wasi);
  char why[256];
  exec_outcome *o = NULL;
  wk_cache_stats stats;
  if (wk_outcome_decode(p, n, &job, &o, &stats, why, sizeof why) != WK_OK) {
    FUZZ_CHECK(o == NULL, "a refused outcome was handed out");
    return;
  }
  FUZZ_CHECK(!o->module_cached || job.cache_key, "a cache hit for a job without a key");
  FUZZ_CHECK(o->code == OUTCOME_OK || o->result_count == 0, "results on a failure");
  if (o->results && job.results) {
    FUZZ_CHECK(o->result_count == job.result_count, "not the declared result count");
    for (size_t k = 0; k < o->result_count; k++) {
      FUZZ_CHECK(o->results[k].type == job.results[k], "not the declared result type");
      if (!hv_type_is_numeric(o->results[k].type))
        FUZZ_CHECK(o->results[k].len <= job.max_result_bytes, "a result past max_result_bytes");
    }
  }
  for (size_t k = 0; o->args && k < o->arg_count && k < job.arg_count; k++)
    if (!hv_type_is_numeric(o->args[k].type))
      FUZZ_CHECK(o->args[k].data == job.args[k].data,
                 "a string or bytes argument not taken from the job");
  FUZZ_CHECK(o->stdout_len <= job.max_result_bytes && o->stderr_len <= job.max_result_bytes,
             "output past max_result_bytes");
  uint8_t *f = NULL;
  size_t l = 0;
  FUZZ_CHECK(wk_outcome_encode(o, &stats, &f, &l, why, sizeof why) == WK_OK,
             "an accepted outcome does not encode: %s", why);
  exec_outcome *again = NULL;
  FUZZ_CHECK(wk_outcome_decode(f + WK_FRAME_HEADER, l - WK_FRAME_HEADER, &job, &again, NULL, why,
                               sizeof why) == WK_OK,
             "an outcome's own encoding is refused: %s", why);
  FUZZ_CHECK(again->code == o->code && again->result_count == o->result_count &&
                 again->arg_count == o->arg_count && again->wasi == o->wasi,
             "an outcome changed in a round trip");
  exec_outcome_free(again);
  wk_wipe_free(f, l);
  exec_outcome_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if ((data[0] & 1) == 0)
    fuzz_job(data + 1, size - 1);
  else
    fuzz_outcome((unsigned)data[0] >> 1, data + 1, size - 1);
  return 0;
}
