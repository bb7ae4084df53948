/*
 * test_codec.c: the worker channel's messages (src/worker/wk_codec.c): round trips of jobs,
 * outcomes and hellos, and refusals of malformed and oversized messages in both directions —
 * every truncation, trailing bytes, wrong headers, values out of the protocol, and outcomes that a
 * compromised worker could send that do not fit their job.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wk_codec.h"

/* ---- Fixtures ----------------------------------------------------------------------------- */

static const uint8_t wasm_bytes[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
static const uint8_t blob[] = {'h', 'i', 0, 0xff};
static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const hv_type numeric_results[] = {HVW_TYPE_I32, HVW_TYPE_F64};
static const hv_type string_result[] = {HV_TYPE_STRING};

static exec_arg job_args[4];

/* A job with every kind of argument and two numeric results. */
static exec_job sample_job(void) {
  job_args[0] = (exec_arg){.kind = EXEC_ARG_INT, .i = -7};
  job_args[1] = (exec_arg){.kind = EXEC_ARG_REAL, .declared = HVW_TYPE_F64, .d = 2.5};
  job_args[2] = (exec_arg){.kind = EXEC_ARG_TEXT, .text = "0x10"};
  job_args[3] = (exec_arg){.kind = EXEC_ARG_BLOB, .declared = HV_TYPE_BYTES, .data = blob,
                           .len = sizeof blob};
  return (exec_job){.wasm = wasm_bytes,
                    .wasm_len = sizeof wasm_bytes,
                    .cache_key = key,
                    .function_name = "add",
                    .args = job_args,
                    .arg_count = 4,
                    .results = numeric_results,
                    .result_count = 2,
                    .max_result_bytes = 16,
                    .limits = {.gas_limit = 1000, .max_memory_pages = 16, .timeout_ns = 5000000000u}};
}

static const char *const argv_strings[] = {"prog", "-n"};
static const uint8_t stdin_bytes[] = "input";
static const exec_wasi_input wasi_in = {.given = true, .argv = argv_strings, .argc = 2,
                                        .stdin_data = stdin_bytes, .stdin_len = 5};

static exec_job command_job(void) {
  return (exec_job){.wasm = wasm_bytes,
                    .wasm_len = sizeof wasm_bytes,
                    .function_name = "_start",
                    .max_result_bytes = 16,
                    .wasi = EXEC_WASI_STDIO,
                    .wasi_input = &wasi_in,
                    .limits = {.gas_limit = 1000, .max_memory_pages = 16, .timeout_ns = 1000000u}};
}

static uint8_t *encode_job(const exec_job *job, size_t *len) {
  uint8_t *frame = NULL;
  char why[256];
  assert_int_equal(wk_job_encode(job, 123, &frame, len, why, sizeof why), WK_OK);
  assert_int_equal(wk_frame_length(frame), *len - WK_FRAME_HEADER);
  return frame;
}

static wk_status decode_job(const uint8_t *frame, size_t len, wk_job **out) {
  char why[256];
  return wk_job_decode(frame + WK_FRAME_HEADER, len - WK_FRAME_HEADER, out, why, sizeof why);
}

/* An outcome as an honest worker reports a successful call of sample_job. */
static exec_outcome *ok_outcome(void) {
  exec_outcome *o = calloc(1, sizeof *o);
  assert_non_null(o);
  o->code = OUTCOME_OK;
  o->ran = true;
  o->compile_ns = 11;
  o->exec_ns = 22;
  o->gas_used = 33;
  o->memory_peak_bytes = 65536;
  o->args = calloc(4, sizeof *o->args);
  o->args[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = -7});
  o->args[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 0x4004000000000000u});
  o->args[2] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64, .of.i64 = 16});
  o->args[3] = hv_value_blob(HV_TYPE_BYTES, blob, sizeof blob);
  o->arg_count = 4;
  o->results = calloc(2, sizeof *o->results);
  o->results[0] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I32, .of.i32 = 42});
  o->results[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F64, .of.f64_bits = 7});
  o->result_count = 2;
  return o;
}

/* The cache figures every outcome here carries, and must bring back. */
static const wk_cache_stats sample_stats = {.entries = 3, .bytes = 4096, .max_bytes = 1 << 20,
                                            .hits = 7, .misses = 2, .evictions = 1};

static uint8_t *encode_outcome(const exec_outcome *o, size_t *len) {
  uint8_t *frame = NULL;
  char why[256];
  assert_int_equal(wk_outcome_encode(o, &sample_stats, &frame, len, why, sizeof why), WK_OK);
  return frame;
}

static wk_status decode_outcome(const exec_outcome *o, const exec_job *job, exec_outcome **out) {
  size_t len;
  uint8_t *frame = encode_outcome(o, &len);
  char why[256];
  wk_cache_stats stats;
  wk_status st = wk_outcome_decode(frame + WK_FRAME_HEADER, len - WK_FRAME_HEADER, job, out,
                                   &stats, why, sizeof why);
  if (st != WK_OK) assert_null(*out);
  else assert_memory_equal(&stats, &sample_stats, sizeof stats);
  wk_wipe_free(frame, len);
  return st;
}

/* ---- Jobs --------------------------------------------------------------------------------- */

static void test_job_round_trip(void **state) {
  (void)state;
  exec_job job = sample_job();
  size_t len;
  uint8_t *frame = encode_job(&job, &len);
  wk_job *j = NULL;
  assert_int_equal(decode_job(frame, len, &j), WK_OK);
  assert_int_equal(j->remaining_ns, 123);
  assert_memory_equal(j->job.wasm, wasm_bytes, sizeof wasm_bytes);
  assert_int_equal(j->job.wasm_len, sizeof wasm_bytes);
  assert_memory_equal(j->job.cache_key, key, 32);
  assert_string_equal(j->job.function_name, "add");
  assert_int_equal(j->job.arg_count, 4);
  assert_int_equal(j->job.args[0].kind, EXEC_ARG_INT);
  assert_int_equal(j->job.args[0].i, -7);
  assert_true(j->job.args[1].d == 2.5);
  assert_int_equal(j->job.args[1].declared, HVW_TYPE_F64);
  assert_string_equal(j->job.args[2].text, "0x10");
  assert_int_equal(j->job.args[3].len, sizeof blob);
  assert_memory_equal(j->job.args[3].data, blob, sizeof blob);
  assert_int_equal(j->job.result_count, 2);
  assert_memory_equal(j->job.results, numeric_results, 2);
  assert_int_equal(j->job.limits.gas_limit, 1000);
  assert_int_equal(j->job.limits.max_memory_pages, 16);
  assert_int_equal(j->job.limits.timeout_ns, 5000000000u);
  assert_int_equal(j->job.max_result_bytes, 16);
  assert_null(j->job.wasi_input);
  wk_job_free(j);
  wk_wipe_free(frame, len);

  job = command_job();
  frame = encode_job(&job, &len);
  assert_int_equal(decode_job(frame, len, &j), WK_OK);
  assert_non_null(j->job.wasi_input);
  assert_int_equal(j->job.wasi, EXEC_WASI_STDIO);
  assert_true(j->job.wasi_input->given);
  assert_int_equal(j->job.wasi_input->argc, 2);
  assert_string_equal(j->job.wasi_input->argv[1], "-n");
  assert_int_equal(j->job.wasi_input->stdin_len, 5);
  assert_null(j->job.cache_key);
  assert_null(j->job.results);
  wk_job_free(j);
  wk_wipe_free(frame, len);
}

/* Every proper prefix of a job fails to decode, and so does a byte more. */
static void test_job_truncated_and_trailing(void **state) {
  (void)state;
  exec_job job = sample_job();
  size_t len;
  uint8_t *frame = encode_job(&job, &len);
  for (size_t n = WK_FRAME_HEADER; n < len; n++) {
    wk_job *j = (wk_job *)1;
    assert_int_not_equal(decode_job(frame, n, &j), WK_OK);
    assert_null(j);
  }
  uint8_t *longer = calloc(1, len + 1);
  memcpy(longer, frame, len);
  wk_job *j = NULL;
  assert_int_equal(decode_job(longer, len + 1, &j), WK_TRAILING);
  free(longer);
  wk_wipe_free(frame, len);
}

/* A job with one byte changed at `at` to `value` is refused with `want`. */
static void expect_job_refused(size_t at, uint8_t value, wk_status want) {
  exec_job job = sample_job();
  size_t len;
  uint8_t *frame = encode_job(&job, &len);
  frame[WK_FRAME_HEADER + at] = value;
  wk_job *j = NULL;
  assert_int_equal(decode_job(frame, len, &j), want);
  assert_null(j);
  wk_wipe_free(frame, len);
}

static void test_job_bad_fields(void **state) {
  (void)state;
  /* Offsets in the payload: magic 0, kind 4, wasi 5, max_result_bytes 6, gas 14, pages 22,
   * timeout 26, remaining 34, cache flag 42, key 43, name length 75, name 79 ("add\0"),
   * arg_count 83, first argument kind 87. */
  expect_job_refused(0, 'X', WK_BAD_HEADER);
  expect_job_refused(4, WK_KIND_OUTCOME, WK_BAD_HEADER);
  expect_job_refused(5, 2, WK_BAD_VALUE);           /* wasi mode */
  expect_job_refused(24, 0x02, WK_BAD_VALUE);       /* max_memory_pages 0x20010 > 65536 */
  expect_job_refused(42, 2, WK_BAD_VALUE);          /* a flag is 0 or 1 */
  expect_job_refused(77, 1, WK_TOO_LARGE);          /* a name longer than WK_NAME_MAX */
  expect_job_refused(80, 0, WK_BAD_VALUE);          /* a NUL inside the name */
  expect_job_refused(82, 'x', WK_BAD_VALUE);        /* no NUL after the name */
  expect_job_refused(85, 1, WK_TOO_LARGE);          /* 65540 arguments */
  expect_job_refused(87, 9, WK_BAD_VALUE);          /* an unknown argument kind */
  expect_job_refused(88, 0x55, WK_BAD_VALUE);       /* an unknown declared type */
}

static void test_job_limits(void **state) {
  (void)state;
  exec_job job = sample_job();
  uint8_t *frame = NULL;
  size_t len = 0;
  char why[256];
  char name[WK_NAME_MAX + 2];
  memset(name, 'a', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  job.function_name = name;
  assert_int_equal(wk_job_encode(&job, 1, &frame, &len, why, sizeof why), WK_BAD_VALUE);
  assert_null(frame);
  job = sample_job();
  job.arg_count = WK_VALUES_MAX + 1;
  assert_int_equal(wk_job_encode(&job, 1, &frame, &len, why, sizeof why), WK_BAD_VALUE);
  /* A string result beside another one is not a job. */
  job = sample_job();
  hv_type two[] = {HV_TYPE_STRING, HVW_TYPE_I32};
  job.results = two;
  frame = encode_job(&job, &len);
  wk_job *j = NULL;
  assert_int_equal(decode_job(frame, len, &j), WK_BAD_VALUE);
  wk_wipe_free(frame, len);
  /* A length field that claims more than the payload holds: truncated, never read past. */
  job = sample_job();
  frame = encode_job(&job, &len);
  memset(frame + len - sizeof wasm_bytes - 8, 0xff, 8);
  assert_int_equal(decode_job(frame, len, &j), WK_TOO_LARGE);
  wk_wipe_free(frame, len);
  /* Beyond WK_JOB_PAYLOAD_MAX before reading anything. */
  assert_int_equal(wk_job_decode(wasm_bytes, (size_t)WK_JOB_PAYLOAD_MAX + 1, &j, why, sizeof why),
                   WK_TOO_LARGE);
}

/* ---- Outcomes ----------------------------------------------------------------------------- */

static void test_outcome_round_trip(void **state) {
  (void)state;
  exec_job job = sample_job();
  exec_outcome *o = ok_outcome(), *back = NULL;
  assert_int_equal(decode_outcome(o, &job, &back), WK_OK);
  assert_int_equal(back->code, OUTCOME_OK);
  assert_true(back->ran);
  assert_int_equal(back->gas_used, 33);
  assert_int_equal(back->exec_ns, 22);
  assert_int_equal(back->compile_ns, 11);
  assert_int_equal(back->memory_peak_bytes, 65536);
  assert_int_equal(back->arg_count, 4);
  assert_int_equal(back->args[0].num.of.i32, -7);
  assert_int_equal(back->args[2].num.of.i64, 16);
  /* A bytes argument is the job's own copy, not the worker's word. */
  assert_ptr_equal(back->args[3].data, blob);
  assert_int_equal(back->result_count, 2);
  assert_int_equal(back->results[0].num.of.i32, 42);
  assert_int_equal(back->results[1].num.of.f64_bits, 7);
  exec_outcome_free(back);
  exec_outcome_free(o);

  /* A string result. */
  job.results = string_result;
  job.result_count = 1;
  o = ok_outcome();
  o->result_data = malloc(5);
  memcpy(o->result_data, "héé", 5);
  o->results[0] = hv_value_blob(HV_TYPE_STRING, o->result_data, 5);
  o->result_count = 1;
  assert_int_equal(decode_outcome(o, &job, &back), WK_OK);
  assert_int_equal(back->results[0].len, 5);
  assert_memory_equal(back->results[0].data, "héé", 5);
  assert_ptr_equal(back->results[0].data, back->result_data);
  exec_outcome_free(back);
  exec_outcome_free(o);

  /* A failure, with its two messages. */
  job = sample_job();
  o = calloc(1, sizeof *o);
  o->code = OUTCOME_EXECUTION_TRAP;
  strcpy(o->message, "integer divide by zero");
  strcpy(o->detail, "integer divide by zero (in add)");
  assert_int_equal(decode_outcome(o, &job, &back), WK_OK);
  assert_int_equal(back->code, OUTCOME_EXECUTION_TRAP);
  assert_string_equal(back->message, "integer divide by zero");
  assert_string_equal(back->detail, "integer divide by zero (in add)");
  assert_null(back->results);
  exec_outcome_free(back);
  exec_outcome_free(o);
}

static exec_outcome *command_outcome(void) {
  exec_outcome *o = calloc(1, sizeof *o);
  o->code = OUTCOME_OK;
  o->wasi = true;
  o->exit_code = 3;
  o->args = calloc(3, sizeof *o->args);
  o->args[0] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"prog", 4);
  o->args[1] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)"-n", 2);
  o->args[2] = hv_value_blob(HV_TYPE_BYTES, stdin_bytes, 5);
  o->arg_count = 3;
  o->stdout_data = malloc(3);
  memcpy(o->stdout_data, "out", 3);
  o->stdout_len = 3;
  return o;
}

static void test_outcome_command(void **state) {
  (void)state;
  exec_job job = command_job();
  exec_outcome *o = command_outcome(), *back = NULL;
  assert_int_equal(decode_outcome(o, &job, &back), WK_OK);
  assert_true(back->wasi);
  assert_int_equal(back->exit_code, 3);
  assert_int_equal(back->stdout_len, 3);
  assert_memory_equal(back->stdout_data, "out", 3);
  assert_null(back->stderr_data);
  assert_int_equal(back->arg_count, 3);
  assert_ptr_equal(back->args[0].data, argv_strings[0]);
  assert_ptr_equal(back->args[2].data, stdin_bytes);
  exec_outcome_free(back);
  /* stdout beyond the job's max_result_bytes. */
  free(o->stdout_data);
  o->stdout_data = calloc(1, 17);
  o->stdout_len = 17;
  assert_int_equal(decode_outcome(o, &job, &back), WK_TOO_LARGE);
  exec_outcome_free(o);
  /* A command's outcome for a job that is no command. */
  job = sample_job();
  o = command_outcome();
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);
}

/* What a compromised worker might say, each refused. */
static void test_outcome_hostile(void **state) {
  (void)state;
  exec_job job = sample_job();
  exec_outcome *back = NULL;

  exec_outcome *o = ok_outcome();
  o->code = OUTCOME_UNAUTHORIZED; /* no execution ends so */
  strcpy(o->message, "x");
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  o->code = (outcome_code)200;
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  exec_outcome_free(o);

  o = ok_outcome(); /* a success with a message */
  strcpy(o->message, "hello");
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  exec_outcome_free(o);

  o = calloc(1, sizeof *o); /* a failure without one */
  o->code = OUTCOME_EXECUTION_TRAP;
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  strcpy(o->message, "two\nlines"); /* a message for a log line must be one line */
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  strcpy(o->message, "bad \xc3\x28 utf-8");
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  strcpy(o->message, "trap");
  strcpy(o->detail, "\xff");
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  strcpy(o->detail, "trap");
  assert_int_equal(decode_outcome(o, &job, &back), WK_OK);
  exec_outcome_free(back);
  exec_outcome_free(o);

  o = ok_outcome(); /* results on a failure */
  o->code = OUTCOME_EXECUTION_TRAP;
  strcpy(o->message, "trap");
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);

  o = ok_outcome(); /* results of other types than declared */
  o->results[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_I64});
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  o->result_count = 1; /* or fewer */
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);

  o = ok_outcome(); /* a bytes argument's type changed */
  o->args[3].type = HV_TYPE_STRING;
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  o->args[3].type = HV_TYPE_BYTES;
  o->args[1] = hv_value_from_wasm((hvw_value){.type = HVW_TYPE_F32}); /* declared f64 */
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  o->arg_count = 2; /* some of the arguments only */
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);

  o = ok_outcome(); /* more memory than the cap */
  o->memory_peak_bytes = 16 * 65536 + 1;
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);

  /* A cache hit for a job that carried no cache key (it cannot have been looked up); with the key
   * it is fine. */
  o = ok_outcome();
  o->module_cached = true;
  assert_int_equal(decode_outcome(o, &job, &back), WK_OK);
  exec_outcome_free(back);
  back = NULL;
  job.cache_key = NULL;
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  job = sample_job();
  exec_outcome_free(o);

  /* A string result that is too long, or not UTF-8. */
  job.results = string_result;
  job.result_count = 1;
  o = ok_outcome();
  o->result_data = calloc(1, 17);
  o->results[0] = hv_value_blob(HV_TYPE_STRING, o->result_data, 17);
  o->result_count = 1;
  assert_int_equal(decode_outcome(o, &job, &back), WK_TOO_LARGE);
  o->results[0].len = 2;
  o->result_data[0] = 0xc0;
  assert_int_equal(decode_outcome(o, &job, &back), WK_BAD_VALUE);
  o->results[0].type = HV_TYPE_BYTES; /* not what was declared */
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);

  /* Undeclared results must be numbers. */
  job = sample_job();
  job.results = NULL;
  job.result_count = 0;
  o = ok_outcome();
  o->results[0] = hv_value_blob(HV_TYPE_BYTES, blob, 1);
  assert_int_equal(decode_outcome(o, &job, &back), WK_MISMATCH);
  exec_outcome_free(o);
}

static void test_outcome_truncated_and_oversized(void **state) {
  (void)state;
  exec_job job = sample_job();
  exec_outcome *o = ok_outcome(), *back = NULL;
  size_t len;
  uint8_t *frame = encode_outcome(o, &len);
  char why[256];
  for (size_t n = WK_FRAME_HEADER; n < len; n++)
    assert_int_not_equal(wk_outcome_decode(frame + WK_FRAME_HEADER, n - WK_FRAME_HEADER, &job,
                                           &back, NULL, why, sizeof why),
                         WK_OK);
  assert_null(back);
  uint8_t *longer = calloc(1, len + 1);
  memcpy(longer, frame, len);
  assert_int_equal(wk_outcome_decode(longer + WK_FRAME_HEADER, len + 1 - WK_FRAME_HEADER, &job,
                                     &back, NULL, why, sizeof why),
                   WK_TRAILING);
  free(longer);
  /* Past what the job allows, refused before anything is read. */
  assert_int_equal(wk_outcome_decode(frame + WK_FRAME_HEADER,
                                     (size_t)wk_outcome_payload_max(&job) + 1, &job, &back, NULL,
                                     why, sizeof why),
                   WK_TOO_LARGE);
  /* A job's frame is no outcome. */
  frame[WK_FRAME_HEADER + 4] = WK_KIND_JOB;
  assert_int_equal(wk_outcome_decode(frame + WK_FRAME_HEADER, len - WK_FRAME_HEADER, &job, &back,
                                     NULL, why, sizeof why),
                   WK_BAD_HEADER);
  wk_wipe_free(frame, len);
  exec_outcome_free(o);
}

/* ---- Hello -------------------------------------------------------------------------------- */

static void test_hello(void **state) {
  (void)state;
  uint8_t buf[WK_FRAME_HEADER + WK_HELLO_PAYLOAD];
  wk_hello h = {.version = WK_VERSION, .ns_flags = WK_NS_NET | WK_NS_MOUNT, .ns_errno = 1,
                .pid = 4242};
  wk_hello_encode(&h, buf);
  assert_int_equal(wk_frame_length(buf), WK_HELLO_PAYLOAD);
  wk_hello back;
  char why[128];
  assert_int_equal(wk_hello_decode(buf + 4, WK_HELLO_PAYLOAD, &back, why, sizeof why), WK_OK);
  assert_int_equal(back.ns_flags, WK_NS_NET | WK_NS_MOUNT);
  assert_int_equal(back.ns_errno, 1);
  assert_int_equal(back.pid, 4242);
  assert_int_equal(wk_hello_decode(buf + 4, WK_HELLO_PAYLOAD - 1, &back, why, sizeof why),
                   WK_TRUNCATED);
  h.ns_flags = 8;
  wk_hello_encode(&h, buf);
  assert_int_equal(wk_hello_decode(buf + 4, WK_HELLO_PAYLOAD, &back, why, sizeof why),
                   WK_BAD_VALUE);
  h.ns_flags = 0;
  h.version = WK_VERSION + 1; /* a worker of another build */
  wk_hello_encode(&h, buf);
  assert_int_equal(wk_hello_decode(buf + 4, WK_HELLO_PAYLOAD, &back, why, sizeof why),
                   WK_BAD_VALUE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_job_round_trip),
      cmocka_unit_test(test_job_truncated_and_trailing),
      cmocka_unit_test(test_job_bad_fields),
      cmocka_unit_test(test_job_limits),
      cmocka_unit_test(test_outcome_round_trip),
      cmocka_unit_test(test_outcome_command),
      cmocka_unit_test(test_outcome_hostile),
      cmocka_unit_test(test_outcome_truncated_and_oversized),
      cmocka_unit_test(test_hello),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
