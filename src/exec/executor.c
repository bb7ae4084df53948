/*
 * executor.c: argument conversion, exec_run_and_wait, running one job (exec_run_now), and the
 * in-process executor: a fixed pool of worker threads taking jobs from one FIFO queue, a
 * compiled-module cache, and one timer thread for wall-clock limits. The same pool, given an
 * exec_runner, hands each job to a runner instead (the process executor, src/worker/).
 *
 * The timer. Each worker publishes its running store and deadline under the pool's mutex; the
 * timer thread sleeps until the earliest deadline it knows of and interrupts every store whose
 * deadline has passed (hvw_store_interrupt, under the mutex, so a store is never interrupted
 * after its worker let go of it). A worker wakes the timer only when its deadline is earlier than
 * the one the timer sleeps until. Every execution gets the same limit or a later deadline than the
 * one before it, so under load the timer sleeps through: no thread switch per execution (an engine
 * hvw_watchdog signals its thread at every arm when it has nothing else armed).
 */
#include "executor.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_cabi.h"
#include "hv_crypto.h" /* HV_COMMIT_MAX_VALUES */
#include "hv_wasi.h"
#include "modcache.h"
#include "valtext.h"

/* ---- Arguments ---------------------------------------------------------------------------- */

static const char *exec_type_name(hv_type type) {
  const char *name = hv_type_name(type) ? hv_type_name(type) : hvw_valtype_name(type);
  return name ? name : "?";
}

/* An integral double d in [lo, hi). */
static bool exec_integral_in(double d, double lo, double hi) {
  return isfinite(d) && d == floor(d) && d >= lo && d < hi;
}

bool exec_arg_convert(const exec_arg *arg, hvw_valtype type, hvw_value *out, char *why,
                      size_t why_size) {
  if (arg->declared != 0 && arg->declared != type) {
    snprintf(why, why_size, "declared type %s does not match the parameter type %s",
             exec_type_name(arg->declared), exec_type_name(type));
    return false;
  }
  hvw_value v = {.type = type};
  if (arg->kind == EXEC_ARG_TEXT) {
    valtext_status st = valtext_parse(type, arg->text, &v);
    if (st != VALTEXT_OK) {
      snprintf(why, why_size, "\"%.64s\" is not a valid %s: %s", arg->text, exec_type_name(type),
               valtext_status_message(st));
      return false;
    }
    *out = v;
    return true;
  }
  switch (type) {
    case HVW_TYPE_I32:
      if (arg->kind == EXEC_ARG_INT) {
        if (arg->i < INT32_MIN || arg->i > (int64_t)UINT32_MAX) goto range;
        v.of.i32 = (int32_t)(uint32_t)arg->i;
      } else {
        if (!exec_integral_in(arg->d, -2147483648.0, 4294967296.0)) goto not_int;
        v.of.i32 = arg->d < 0 ? (int32_t)arg->d : (int32_t)(uint32_t)arg->d;
      }
      break;
    case HVW_TYPE_I64:
      if (arg->kind == EXEC_ARG_INT) {
        v.of.i64 = arg->i;
      } else {
        if (!exec_integral_in(arg->d, -9223372036854775808.0, 18446744073709551616.0))
          goto not_int;
        v.of.i64 = arg->d < 9223372036854775808.0 ? (int64_t)arg->d
                                                  : (int64_t)(uint64_t)arg->d;
      }
      break;
    case HVW_TYPE_F32: {
      float f = arg->kind == EXEC_ARG_INT ? (float)arg->i : (float)arg->d;
      if (isinf(f)) goto range; /* JSON has no infinity: a finite number that overflows */
      memcpy(&v.of.f32_bits, &f, sizeof f);
      break;
    }
    case HVW_TYPE_F64: {
      double d = arg->kind == EXEC_ARG_INT ? (double)arg->i : arg->d;
      memcpy(&v.of.f64_bits, &d, sizeof d);
      break;
    }
    default:
      snprintf(why, why_size, "a %s parameter cannot be passed in a request", exec_type_name(type));
      return false;
  }
  *out = v;
  return true;
range:
  snprintf(why, why_size, "out of range for %s", exec_type_name(type));
  return false;
not_int:
  snprintf(why, why_size, "%s needs an integer (got %g)", exec_type_name(type), arg->d);
  return false;
}

void exec_outcome_free(exec_outcome *outcome) {
  if (!outcome) return;
  /* A command's output is the program's plaintext: gone from memory before the memory goes. */
  if (outcome->stdout_data) explicit_bzero(outcome->stdout_data, outcome->stdout_len);
  if (outcome->stderr_data) explicit_bzero(outcome->stderr_data, outcome->stderr_len);
  free(outcome->stdout_data);
  free(outcome->stderr_data);
  free(outcome->args);
  /* So is a string or bytes result (its bytes are result_data): the next job on this thread or
   * worker process gets none of it back from the allocator. */
  for (size_t k = 0; outcome->results && outcome->result_data && k < outcome->result_count; k++) {
    const hv_value *v = &outcome->results[k];
    if (!hv_type_is_numeric(v->type) && v->data == outcome->result_data && v->len > 0)
      explicit_bzero(outcome->result_data, v->len);
  }
  free(outcome->results);
  if (outcome->result_data) free(outcome->result_data);
  free(outcome);
}

/* ---- Running one job (any thread) --------------------------------------------------------- */

static uint64_t exec_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One line: a message ends up in a JSON string and possibly a log line. */
static void exec_one_line(char *p) {
  for (; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
}

/* A failure whose words owe nothing to the program: the public message and the detail agree. */
__attribute__((format(printf, 3, 4))) static void exec_fail(exec_outcome *out, outcome_code code,
                                                             const char *fmt, ...) {
  va_list ap;
  out->code = code;
  va_start(ap, fmt);
  vsnprintf(out->message, sizeof out->message, fmt, ap);
  va_end(ap);
  exec_one_line(out->message);
  memcpy(out->detail, out->message, sizeof out->detail);
}

/* A failure described with what the program holds (names, types, decoder details): those go in
 * the detail only; the public message is `public_text`. */
__attribute__((format(printf, 4, 5))) static void exec_fail_private(exec_outcome *out,
                                                                     outcome_code code,
                                                                     const char *public_text,
                                                                     const char *fmt, ...) {
  va_list ap;
  out->code = code;
  snprintf(out->message, sizeof out->message, "%s", public_text);
  va_start(ap, fmt);
  vsnprintf(out->detail, sizeof out->detail, fmt, ap);
  va_end(ap);
  exec_one_line(out->detail);
}

/* "(i32, f64)" */
static void exec_signature(const hvw_valtype *types, uint32_t count, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "(");
  for (uint32_t k = 0; k < count && o < size; k++)
    o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? ", " : "", exec_type_name(types[k]));
  if (o < size) snprintf(buf + o, size - o, ")");
}

static bool exec_numeric(hvw_valtype t) {
  return t == HVW_TYPE_I32 || t == HVW_TYPE_I64 || t == HVW_TYPE_F32 || t == HVW_TYPE_F64;
}

/* The engine's failure as an outcome, with our own wording where the limit is ours. A trap keeps
 * its name from the spec's fixed list in the public message (protocol v1 asks for it); what the
 * engine said beyond that goes in the detail. */
static void exec_engine_fail(exec_outcome *out, const exec_job *job, const hvw_error *err) {
  char msg[EXEC_MESSAGE_MAX];
  outcome_code code = outcome_from_status(err->status);
  outcome_describe(err, msg, sizeof msg);
  switch (err->status) {
    case HVW_TIMEOUT:
      exec_fail(out, code, "execution exceeded the time limit of %" PRIu64 " ms",
                job->limits.timeout_ns / 1000000u);
      break;
    case HVW_GAS_EXHAUSTED:
      exec_fail(out, code, "execution used up its gas limit of %" PRIu64, job->limits.gas_limit);
      break;
    case HVW_MEMORY_EXCEEDED: {
      unsigned mib = (unsigned)(job->limits.max_memory_pages / (1024u * 1024u / HVW_PAGE_SIZE));
      char pub[96];
      snprintf(pub, sizeof pub, "the program needs more memory than the limit of %u MiB", mib);
      exec_fail_private(out, code, pub, "%s (limit %u MiB)", msg, mib);
      break;
    }
    case HVW_TRAP:
      exec_fail_private(out, code, hvw_trap_message(err->trap), "%s", msg);
      break;
    case HVW_OUT_OF_HOST_MEMORY:
      exec_fail(out, OUTCOME_INTERNAL_ERROR, "the server ran out of memory");
      break;
    case HVW_MALFORMED:
    case HVW_INVALID:
    case HVW_IMPL_LIMIT:
    case HVW_UNLINKABLE:
      exec_fail_private(out, code, "the module is not valid WebAssembly or exceeds a limit", "%s",
                        msg);
      break;
    case HVW_NOT_FOUND:
      exec_fail_private(out, code, "the module exports no function of the requested name", "%s",
                        msg);
      break;
    default:
      exec_fail_private(out, code, "the execution failed", "%s", msg);
      break;
  }
}

/* Sets *lifted to the result type the Canonical ABI lifts (0: the export's numeric results as
 * they are) and checks declared numeric results against the export's. False with *out failed on
 * a mismatch. */
static bool exec_results_check(const exec_job *job, const hvw_functype_view *type,
                               hv_type *lifted, exec_outcome *out) {
  *lifted = 0;
  if (job->results && job->result_count == 1 && !hv_type_is_numeric(job->results[0]))
    *lifted = job->results[0];
  if (*lifted) return true; /* the retptr's shape is hv_cabi_check's (exec_args_convert) */
  if (job->results) {
    bool same = job->result_count == type->result_count;
    for (uint32_t k = 0; same && k < type->result_count; k++)
      same = job->results[k] == type->results[k];
    if (!same) {
      char sig[128];
      exec_signature(type->results, type->result_count, sig, sizeof sig);
      exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS,
                        "the declared results do not match the export",
                        "the declared results differ from %.128s's %s", job->function_name, sig);
      return false;
    }
  }
  for (uint32_t k = 0; k < type->result_count; k++) {
    if (!exec_numeric(type->results[k])) {
      exec_fail_private(out, OUTCOME_FUNCTION_NOT_FOUND,
                        "the requested export returns a type that cannot be returned",
                        "export '%.128s' returns a %s; only i32, i64, f32 and f64 results can be "
                        "returned",
                        job->function_name, exec_type_name(type->results[k]));
      return false;
    }
  }
  if (type->result_count > HV_COMMIT_MAX_VALUES) {
    exec_fail_private(out, OUTCOME_FUNCTION_NOT_FOUND,
                      "the requested export returns more values than can be returned",
                      "export '%.128s' returns more than %u values", job->function_name,
                      (unsigned)HV_COMMIT_MAX_VALUES);
    return false;
  }
  return true;
}

/* The job's arguments as the export receives them, into out->args: a numeric one converted to
 * the core parameter at its flattened position, a string or bytes one (two core parameters,
 * ptr and len) passed as it is. False with *out failed when they do not fit. */
static bool exec_args_convert(const exec_job *job, const hvw_functype_view *type,
                              hv_type result_type, exec_outcome *out) {
  char buf[EXEC_MESSAGE_MAX];
  out->args = calloc(job->arg_count ? job->arg_count : 1, sizeof *out->args);
  hv_type *types = calloc(job->arg_count ? job->arg_count : 1, sizeof *types);
  if (!out->args || !types) {
    free(types);
    exec_fail(out, OUTCOME_INTERNAL_ERROR, "the server ran out of memory");
    return false;
  }
  bool ok = false;
  uint32_t pos = 0; /* the next core parameter */
  for (size_t k = 0; k < job->arg_count; k++) {
    const exec_arg *arg = &job->args[k];
    if (arg->kind == EXEC_ARG_BLOB) {
      out->args[k] = hv_value_blob(arg->declared, arg->data, arg->len);
      pos += 2;
    } else {
      char why[EXEC_WHY_MAX];
      if (pos >= type->param_count) {
        pos++;
        continue; /* counted below */
      }
      if (!exec_numeric(type->params[pos])) {
        exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS,
                          "the export has a parameter of a type that a request cannot pass",
                          "parameter %" PRIu32 " of %.128s is a %s, which a request cannot pass",
                          pos + 1, job->function_name, exec_type_name(type->params[pos]));
        goto out;
      }
      hvw_value v;
      if (!exec_arg_convert(arg, type->params[pos], &v, why, sizeof why)) {
        char pub[96];
        snprintf(pub, sizeof pub, "arguments[%zu] does not fit its parameter's type", k);
        exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS, pub, "arguments[%zu]: %s", k, why);
        goto out;
      }
      out->args[k] = hv_value_from_wasm(v);
      pos++;
    }
    types[k] = out->args[k].type;
  }
  if (pos != type->param_count) {
    exec_signature(type->params, type->param_count, buf, sizeof buf);
    exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS,
                      "the number of arguments does not match the export's parameters",
                      "%.128s takes %" PRIu32 " core parameter%s %s; the arguments make %" PRIu32
                      " (a string or bytes makes two)",
                      job->function_name, type->param_count, type->param_count == 1 ? "" : "s",
                      buf, pos);
    goto out;
  }
  if (hv_cabi_check(type, types, job->arg_count, result_type, buf, sizeof buf) != HV_CABI_OK) {
    exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS,
                      hv_cabi_status_text(HV_CABI_SIGNATURE_MISMATCH), "%s", buf);
    goto out;
  }
  out->arg_count = job->arg_count;
  ok = true;
out:
  free(types);
  return ok;
}

/* A failed hv_cabi_call as an outcome: the engine's failures as exec_engine_fail words them, the
 * layer's own in its words; the layer's detail (which call, which pointer) goes to the client. */
static void exec_cabi_fail(exec_outcome *out, const exec_job *job, hv_cabi_status cs,
                           hvw_error *err, const char *detail) {
  switch (cs) {
    case HV_CABI_ENGINE:
      exec_engine_fail(out, job, err);
      break;
    case HV_CABI_SIGNATURE_MISMATCH:
    case HV_CABI_NO_REALLOC:
      exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS, hv_cabi_status_text(cs), "%s", detail);
      return;
    case HV_CABI_BAD_POINTER:
    case HV_CABI_MISALIGNED:
    case HV_CABI_BAD_UTF8:
    case HV_CABI_RESULT_TOO_LARGE:
      exec_fail_private(out, OUTCOME_EXECUTION_TRAP, hv_cabi_status_text(cs), "%s", detail);
      return;
    default:
      exec_fail(out, OUTCOME_INTERNAL_ERROR, "the server ran out of memory");
      return;
  }
  /* An engine failure inside cabi_realloc or cabi_post_<name>: say which call in the detail. */
  if (detail[0] && out->code != OUTCOME_INTERNAL_ERROR) {
    snprintf(out->detail, sizeof out->detail, "%s", detail);
    exec_one_line(out->detail);
  }
}

/* Marks *out a success: no code, no messages. */
static void exec_succeed(exec_outcome *out) {
  out->code = OUTCOME_OK;
  out->message[0] = '\0';
  out->detail[0] = '\0';
}

/* Ends an execution's store (NULL: nothing to end): the deadline hook first, since the timer may
 * not touch the store after it is freed. */
static void exec_store_end(const exec_store_hook *hook, hvw_store *store) {
  if (!store) return;
  hook->leave(hook->ctx);
  hvw_store_free(store);
}

/* A fresh store under the job's gas and memory limits, in the thread's engine pool, or NULL
 * with *out failed. The caller owns it (exec_store_end). */
static hvw_store *exec_store_new(const exec_job *job, const exec_store_hook *hook,
                                 exec_outcome *out) {
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = job->limits.gas_limit;
  limits.max_memory_pages = job->limits.max_memory_pages;
  hvw_error err = {0};
  hvw_store *store = hvw_store_new_in_pool(&limits, hook->engine_pool, &err);
  if (!store) exec_fail(out, OUTCOME_INTERNAL_ERROR, "cannot create an execution store");
  return store;
}

/* ---- WASI commands ------------------------------------------------------------------------ */

#define EXEC_WASI_ENTRY "_start"

/* The command's inputs as the canonical arguments (argv strings, then stdin as bytes) into
 * out->args, and as hv_wasi_bytes into *argv (caller frees). False with *out failed. */
static bool exec_wasi_args(const exec_wasi_input *in, exec_outcome *out, hv_wasi_bytes **argv) {
  *argv = NULL;
  if (in->argc >= HV_COMMIT_MAX_VALUES || (in->argc && !in->argv)) {
    exec_fail(out, OUTCOME_INVALID_ARGUMENTS, "argv holds more than %u strings",
              (unsigned)HV_COMMIT_MAX_VALUES - 1u);
    return false;
  }
  out->args = calloc(in->argc + 1, sizeof *out->args);
  *argv = calloc(in->argc ? in->argc : 1, sizeof **argv);
  if (!out->args || !*argv) {
    free(*argv);
    *argv = NULL;
    exec_fail(out, OUTCOME_INTERNAL_ERROR, "the server ran out of memory");
    return false;
  }
  for (size_t k = 0; k < in->argc; k++) {
    size_t len = strlen(in->argv[k]);
    (*argv)[k] = (hv_wasi_bytes){(const uint8_t *)in->argv[k], len};
    out->args[k] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)in->argv[k], len);
  }
  out->args[in->argc] = hv_value_blob(HV_TYPE_BYTES, in->stdin_data, in->stdin_len);
  out->arg_count = in->argc + 1;
  return true;
}

/* The request's shape for a command: v1.1, "_start", no arguments, no declared results, and an
 * export _start of type () -> (). False with *out failed. */
static bool exec_wasi_check_call(const exec_job *job, const hvw_module *module, exec_outcome *out) {
  if (!job->wasi_input) {
    exec_fail(out, OUTCOME_INVALID_ARGUMENTS,
              "a WASI command needs a protocol v1.1 request: its argv, stdin and output travel "
              "sealed");
    return false;
  }
  if (strcmp(job->function_name, EXEC_WASI_ENTRY) != 0) {
    exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS,
                      "a WASI command runs at _start: function_name must be \"_start\"",
                      "a WASI command runs at _start: function_name must be \"_start\", not "
                      "'%.128s'",
                      job->function_name);
    return false;
  }
  if (job->arg_count > 0 || job->results) {
    exec_fail(out, OUTCOME_INVALID_ARGUMENTS,
              job->arg_count > 0 ? "a WASI command takes argv and stdin, not arguments"
                                 : "a WASI command returns its exit code, stdout and stderr, not "
                                   "declared results");
    return false;
  }
  hvw_functype_view type;
  if (!hvw_module_find_func_export(module, EXEC_WASI_ENTRY, strlen(EXEC_WASI_ENTRY), &type)) {
    exec_fail_private(out, OUTCOME_FUNCTION_NOT_FOUND,
                      "the module exports no function of the requested name",
                      "the module exports no function '_start'");
    return false;
  }
  if (type.param_count != 0 || type.result_count != 0) {
    char params[128], results[128];
    exec_signature(type.params, type.param_count, params, sizeof params);
    exec_signature(type.results, type.result_count, results, sizeof results);
    exec_fail_private(out, OUTCOME_FUNCTION_NOT_FOUND,
                      "the requested export does not have the type of a WASI command's entry",
                      "_start has type %s -> %s; a WASI command's is () -> ()", params, results);
    return false;
  }
  return true;
}

/* An hv_wasi failure as an outcome. */
static void exec_wasi_fail(exec_outcome *out, const exec_job *job, hv_wasi_status ws,
                           const hvw_error *err, const char *detail) {
  switch (ws) {
    case HV_WASI_ENGINE:
      exec_engine_fail(out, job, err);
      break;
    case HV_WASI_OUTPUT_TOO_LARGE:
      exec_fail_private(out, OUTCOME_EXECUTION_TRAP, hv_wasi_status_text(ws),
                        "%s (wasm.max_result_bytes)", err->message);
      break;
    case HV_WASI_BAD_CONFIG:
      exec_fail_private(out, OUTCOME_INVALID_ARGUMENTS, hv_wasi_status_text(ws), "%s", detail);
      break;
    case HV_WASI_BAD_MODULE:
      exec_fail_private(out, OUTCOME_INVALID_WASM, hv_wasi_status_text(ws), "%s", detail);
      break;
    default:
      exec_fail(out, OUTCOME_INTERNAL_ERROR, "the server ran out of memory");
      break;
  }
}

/* Runs `module` as a WASI command (hv_wasi) until `deadline`; fills *out. */
static void exec_run_command(const exec_job *job, const hvw_module *module, uint64_t deadline,
                             const exec_store_hook *hook, exec_outcome *out) {
  hvw_error err = {0};
  char detail[EXEC_MESSAGE_MAX] = "";
  hv_wasi_bytes *argv = NULL;
  hv_wasi_ctx *ctx = NULL;
  hvw_store *store = NULL;

  if (!exec_wasi_check_call(job, module, out) || !exec_wasi_args(job->wasi_input, out, &argv))
    goto done;
  size_t cap = job->max_result_bytes > SIZE_MAX ? SIZE_MAX : (size_t)job->max_result_bytes;
  hv_wasi_config config = {
      .argv = argv,
      .argc = job->wasi_input->argc,
      .stdin_bytes = {job->wasi_input->stdin_data, job->wasi_input->stdin_len},
      .max_stdout_bytes = cap,
      .max_stderr_bytes = cap,
  };
  hv_wasi_status ws = hv_wasi_new(&config, &ctx, detail, sizeof detail);
  if (ws != HV_WASI_OK) {
    exec_wasi_fail(out, job, ws, &err, detail);
    goto done;
  }
  if (!(store = exec_store_new(job, hook, out))) goto done;
  /* The limit covers the start function (inside instantiation) and _start, host calls included. */
  uint64_t t1 = exec_now_ns();
  hook->enter(hook->ctx, store, deadline);
  hvw_instance *instance = NULL;
  ws = hv_wasi_instantiate(ctx, store, module, &instance, &err, detail, sizeof detail);
  if (ws == HV_WASI_OK && instance) /* NULL: the start function called proc_exit */
    ws = hv_wasi_run(ctx, instance, EXEC_WASI_ENTRY, &err, detail, sizeof detail);
  out->exec_ns = exec_now_ns() - t1;
  hvw_store_stats stats;
  hvw_store_get_stats(store, &stats);
  out->gas_used = stats.gas_used;
  out->memory_peak_bytes = stats.memory_peak_bytes;
  if (ws != HV_WASI_OK) {
    exec_wasi_fail(out, job, ws, &err, detail);
    goto done;
  }
  hv_wasi_result result;
  hv_wasi_get_result(ctx, &result);
  out->wasi = true;
  out->exit_code = result.exit_code;
  out->stdout_data = hv_wasi_take_output(ctx, 1, &out->stdout_len);
  out->stderr_data = hv_wasi_take_output(ctx, 2, &out->stderr_len);
  exec_succeed(out);

done:
  exec_store_end(hook, store);
  hv_wasi_free(ctx);
  free(argv);
}

void exec_run_now(const exec_job *job, uint64_t deadline, modcache *cache,
                  const exec_store_hook *hook, exec_outcome *out) {
  hvw_error err = {0};
  const hvw_module *module = NULL;
  hvw_module *owned = NULL;       /* a module this job loaded and did not give to the cache */
  modcache_entry *entry = NULL;    /* the cache's reference, released when the job ends */
  hvw_store *store = NULL;
  char buf[EXEC_MESSAGE_MAX];

  bool use_cache = cache && job->cache_key;
  if (use_cache) entry = modcache_get(cache, job->cache_key);
  if (entry) {
    module = modcache_module(entry);
    out->module_cached = true;
    out->compile_ns = 0;
  } else {
    uint64_t t0 = exec_now_ns();
    owned = hvw_module_load(job->wasm, job->wasm_len, &err);
    out->compile_ns = exec_now_ns() - t0;
    if (!owned) {
      exec_engine_fail(out, job, &err);
      if (out->code != OUTCOME_INTERNAL_ERROR) out->code = OUTCOME_INVALID_WASM;
      goto done;
    }
    module = owned;
  }
  out->ran = true;
  /* A cached module passed the same check when it was kept (the mode is fixed at start-up). */
  bool imports = hvw_module_import_count(module) > 0;
  if (!out->module_cached && imports && job->wasi == EXEC_WASI_STDIO &&
      hv_wasi_check_module(module, buf, sizeof buf) != HV_WASI_OK) {
    exec_fail_private(out, OUTCOME_INVALID_WASM,
                      "the module imports from its host beyond the WASI stdio profile", "%s", buf);
    goto done;
  }
  if (!out->module_cached && job->wasi != EXEC_WASI_STDIO &&
      !outcome_sandbox_check(module, buf, sizeof buf)) {
    exec_fail_private(out, OUTCOME_INVALID_WASM,
                      "the module imports from its host, which the sandbox does not allow", "%s",
                      buf);
    goto done;
  }
  if (use_cache && owned) {
    /* Only modules that pass the sandbox policy are kept; the cache owns this one from now on. */
    entry = modcache_insert(cache, job->cache_key, owned);
    owned = NULL;
    if (!entry) {
      exec_fail(out, OUTCOME_INTERNAL_ERROR, "the server ran out of memory");
      goto done;
    }
    module = modcache_module(entry);
  }

  bool given = job->wasi_input && job->wasi_input->given;
  /* A module that imports nothing is a command only when the request says so in every way
   * (argv or stdin, and _start): a request that calls one of its functions with argv is wrong. */
  if (job->wasi == EXEC_WASI_STDIO &&
      (imports || (given && strcmp(job->function_name, EXEC_WASI_ENTRY) == 0))) {
    exec_run_command(job, module, deadline, hook, out);
    goto done;
  }
  if (given) {
    exec_fail(out, OUTCOME_INVALID_ARGUMENTS,
              job->wasi == EXEC_WASI_STDIO
                  ? "argv and stdin are only for WASI commands"
                  : "argv and stdin are only for WASI commands, which this server does not run "
                    "(wasm.wasi: none)");
    goto done;
  }

  size_t name_len = strlen(job->function_name);
  hvw_functype_view type;
  if (!hvw_module_find_func_export(module, job->function_name, name_len, &type)) {
    exec_fail_private(out, OUTCOME_FUNCTION_NOT_FOUND,
                      "the module exports no function of the requested name",
                      "the module exports no function '%.128s'", job->function_name);
    goto done;
  }
  hv_type result_type;
  if (!exec_results_check(job, &type, &result_type, out) ||
      !exec_args_convert(job, &type, result_type, out))
    goto done;

  if (!(store = exec_store_new(job, hook, out))) goto done;
  /* The start function runs inside hvw_instance_new, cabi_realloc and cabi_post_<name> inside
   * hv_cabi_call: the limit covers them all. */
  uint64_t t1 = exec_now_ns();
  hook->enter(hook->ctx, store, deadline);
  hv_cabi_status cs = HV_CABI_ENGINE;
  hv_cabi_result lifted = {0};
  char detail[EXEC_MESSAGE_MAX] = "";
  hvw_instance *instance = hvw_instance_new(store, module, NULL, 0, &err);
  if (instance)
    cs = hv_cabi_call(store, instance, job->function_name, name_len, out->args, out->arg_count,
                      result_type, job->max_result_bytes, &lifted, &err, detail, sizeof detail);
  out->exec_ns = exec_now_ns() - t1;
  hvw_store_stats stats;
  hvw_store_get_stats(store, &stats);
  out->gas_used = stats.gas_used;
  out->memory_peak_bytes = stats.memory_peak_bytes;
  if (cs != HV_CABI_OK) {
    exec_cabi_fail(out, job, cs, &err, detail);
    goto done;
  }
  out->results = lifted.values;
  out->result_count = lifted.count;
  out->result_data = lifted.data;
  exec_succeed(out);

done:
  exec_store_end(hook, store);
  hvw_module_free(owned);
  modcache_release(cache, entry);
  if (out->code != OUTCOME_OK) {
    free(out->results);
    free(out->result_data);
    out->results = NULL;
    out->result_data = NULL;
    out->result_count = 0;
  }
}

/* ---- Waiting for one job ------------------------------------------------------------------ */

typedef struct exec_waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  exec_outcome *outcome;
  bool done;
} exec_waiter;

static void exec_wait_done(exec_job *job, exec_outcome *outcome, void *arg) {
  (void)job;
  exec_waiter *w = arg;
  pthread_mutex_lock(&w->mu);
  w->outcome = outcome;
  w->done = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

exec_outcome *exec_run_and_wait(executor *ex, exec_job *job) {
  exec_waiter w = {.outcome = NULL, .done = false};
  pthread_mutex_init(&w.mu, NULL);
  pthread_cond_init(&w.cv, NULL);
  job->done = exec_wait_done;
  job->done_arg = &w;
  job->next_ = NULL;
  exec_outcome *result = NULL;
  if (ex->ops->submit(ex, job) == EXEC_OK) {
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    result = w.outcome;
  }
  pthread_cond_destroy(&w.cv);
  pthread_mutex_destroy(&w.mu);
  return result;
}

/* ---- The in-process pool ------------------------------------------------------------------ */

typedef struct inproc_worker {
  struct inproc *pool;
  pthread_t thread;
  bool started;
  hvw_store *store;    /* the store running now, under pool->mu: for the timer and shutdown */
  uint64_t deadline_ns; /* when the timer interrupts it (UINT64_MAX: not armed, or done) */
  /* Under pool->mu: the tenant of this thread's last job and how many of its jobs it ran in a
   * row (runs == 0: none yet), for runner.tenant_switch_costs. */
  uint64_t last_tenant;
  uint32_t runs;
} inproc_worker;

/* A tenant that holds at least one slot; the entry is free again when it holds none. */
typedef struct inproc_tenant {
  uint64_t id;
  uint32_t taken;          /* slots reserved, queued or running */
  uint32_t running;        /* jobs on a thread now */
  exec_job *head, *tail;   /* its waiting jobs, oldest first */
} inproc_tenant;

typedef struct inproc {
  executor base;
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* a job was queued, a tenant may run again, or stopping */
  pthread_cond_t idle_cv; /* a submitted job finished */
  uint32_t capacity;
  uint32_t tenant_slots, tenant_threads;
  uint32_t taken;     /* slots reserved, queued or running */
  uint32_t submitted; /* jobs queued or running */
  uint32_t active;    /* jobs running */
  /* Tenants holding slots: at most `capacity` of them, since each holds one at least. */
  inproc_tenant *tenants;
  uint32_t ntenants;
  uint32_t next_tenant; /* round-robin: where the next pick starts */
  bool stopping; /* no new work */
  bool exiting;  /* workers leave when the queue is empty */
  modcache *cache; /* NULL: no module cache */
  exec_runner runner; /* run.run NULL: jobs run in the pool's own threads (exec_run_now) */
  /* The timer (see the top of the file), under mu. */
  pthread_cond_t timer_cv;
  pthread_t timer;
  bool timer_started, timer_exit;
  uint64_t timer_until; /* when the timer wakes next; UINT64_MAX: only when woken */
  inproc_worker *workers;
  uint32_t nworkers;
} inproc;

/* The entry of tenant `id`, or NULL; under mu. */
static inproc_tenant *inproc_tenant_find(inproc *p, uint64_t id) {
  for (uint32_t k = 0; k < p->ntenants; k++)
    if (p->tenants[k].id == id) return &p->tenants[k];
  return NULL;
}

/* Gives back one slot of tenant `t` (and the pool's); the entry goes once it holds none. Under mu. */
static void inproc_tenant_put(inproc *p, inproc_tenant *t) {
  if (p->taken > 0) p->taken--;
  if (t->taken > 0) t->taken--;
  if (t->taken > 0) return;
  uint32_t k = (uint32_t)(t - p->tenants);
  p->tenants[k] = p->tenants[--p->ntenants]; /* order does not matter beyond round-robin */
  if (p->next_tenant >= p->ntenants) p->next_tenant = 0;
}

static void inproc_hook_enter(void *ctx, hvw_store *store, uint64_t deadline_ns) {
  inproc_worker *w = ctx;
  inproc *p = w->pool;
  pthread_mutex_lock(&p->mu);
  w->store = store;
  w->deadline_ns = deadline_ns;
  if (deadline_ns < p->timer_until) pthread_cond_signal(&p->timer_cv); /* the new earliest */
  pthread_mutex_unlock(&p->mu);
}

static void inproc_hook_leave(void *ctx) {
  inproc_worker *w = ctx;
  pthread_mutex_lock(&w->pool->mu);
  w->store = NULL;
  w->deadline_ns = UINT64_MAX;
  pthread_mutex_unlock(&w->pool->mu);
}

static void inproc_timespec(struct timespec *ts, uint64_t mono_ns) {
  ts->tv_sec = (time_t)(mono_ns / 1000000000u);
  ts->tv_nsec = (long)(mono_ns % 1000000000u);
}

/* An outcome for a job that never ran. NULL only when memory ran out. */
static exec_outcome *inproc_refused(const char *why, uint32_t retry_after_s) {
  exec_outcome *o = calloc(1, sizeof *o);
  if (o) {
    exec_fail(o, OUTCOME_CAPACITY_EXCEEDED, "%s", why);
    o->retry_after_s = retry_after_s;
  }
  return o;
}

/* Ends jobs taken off the queues (linked through next_) without running them: their slots were
 * given back already. Called without mu. */
static void inproc_refuse_all(inproc *p, exec_job *list, const char *why, uint32_t retry_after_s) {
  while (list) {
    exec_job *next = list->next_;
    list->done(list, inproc_refused(why, retry_after_s), list->done_arg);
    pthread_mutex_lock(&p->mu);
    p->submitted--;
    pthread_cond_broadcast(&p->idle_cv);
    pthread_mutex_unlock(&p->mu);
    list = next;
  }
}

/* Takes every waiting job whose deadline has passed off its queue (slots given back) and returns
 * them as a list; *next_deadline becomes the earliest deadline still waiting. Under mu. */
static exec_job *inproc_take_expired(inproc *p, uint64_t now, uint64_t *next_deadline) {
  exec_job *expired = NULL;
  for (uint32_t k = 0; k < p->ntenants;) {
    inproc_tenant *t = &p->tenants[k];
    exec_job **link = &t->head, *last = NULL;
    bool gone = false;
    while (*link) {
      exec_job *job = *link;
      if (job->deadline_ns_ > now) {
        if (job->deadline_ns_ < *next_deadline) *next_deadline = job->deadline_ns_;
        last = job;
        link = &job->next_;
        continue;
      }
      *link = job->next_;
      job->next_ = expired;
      expired = job;
      if (t->taken == 1) gone = true; /* the put below removes the entry */
      inproc_tenant_put(p, t);
      if (gone) break;
    }
    if (gone) continue; /* another tenant moved into slot k */
    t->tail = last;
    k++;
  }
  return expired;
}

/* Interrupts the stores past their deadline, refuses waiting jobs past theirs, and sleeps until
 * the next deadline or a wake-up. */
static void *inproc_timer_main(void *arg) {
  inproc *p = arg;
  pthread_mutex_lock(&p->mu);
  while (!p->timer_exit) {
    uint64_t now = exec_now_ns(), next = UINT64_MAX;
    for (uint32_t k = 0; k < p->nworkers; k++) {
      inproc_worker *w = &p->workers[k];
      if (!w->store || w->deadline_ns == UINT64_MAX) continue;
      if (w->deadline_ns <= now) {
        hvw_store_interrupt(w->store); /* sticky: the execution ends with HVW_TIMEOUT */
        w->deadline_ns = UINT64_MAX;
      } else if (w->deadline_ns < next) {
        next = w->deadline_ns;
      }
    }
    exec_job *expired = inproc_take_expired(p, now, &next);
    if (expired) {
      pthread_mutex_unlock(&p->mu);
      inproc_refuse_all(p, expired, "the server was too busy to start the execution within its "
                        "time limit", 1);
      pthread_mutex_lock(&p->mu);
      continue; /* the time has moved on: look again */
    }
    p->timer_until = next;
    if (next == UINT64_MAX) {
      pthread_cond_wait(&p->timer_cv, &p->mu);
    } else {
      struct timespec ts;
      inproc_timespec(&ts, next);
      pthread_cond_timedwait(&p->timer_cv, &p->mu, &ts);
    }
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Takes the oldest job of tenant `t` (which has one) for a thread. Under mu. */
static exec_job *inproc_take(inproc *p, uint32_t k, inproc_tenant **tenant) {
  inproc_tenant *t = &p->tenants[k];
  exec_job *job = t->head;
  t->head = job->next_;
  if (!t->head) t->tail = NULL;
  t->running++;
  *tenant = t;
  return job;
}

/* The next job for thread `w`: round-robin over the tenants that wait and are under their thread
 * share; when switching tenants costs the runner, the thread's last tenant first while it waits,
 * up to EXEC_TENANT_RUN jobs in a row. Under mu; NULL when none may run now. */
static exec_job *inproc_pick(inproc *p, inproc_worker *w, inproc_tenant **tenant) {
  exec_job *job = NULL;
  if (p->runner.tenant_switch_costs && w->runs > 0 && w->runs < EXEC_TENANT_RUN) {
    inproc_tenant *last = inproc_tenant_find(p, w->last_tenant);
    if (last && last->head && last->running < p->tenant_threads)
      job = inproc_take(p, (uint32_t)(last - p->tenants), tenant);
  }
  for (uint32_t n = 0; !job && n < p->ntenants; n++) {
    uint32_t k = (p->next_tenant + n) % p->ntenants;
    inproc_tenant *t = &p->tenants[k];
    if (!t->head || t->running >= p->tenant_threads) continue;
    job = inproc_take(p, k, tenant);
    p->next_tenant = (k + 1) % p->ntenants;
  }
  if (job) {
    w->runs = w->runs > 0 && w->last_tenant == (*tenant)->id ? w->runs + 1 : 1;
    w->last_tenant = (*tenant)->id;
  }
  return job;
}

static bool inproc_waiting(const inproc *p) {
  for (uint32_t k = 0; k < p->ntenants; k++)
    if (p->tenants[k].head) return true;
  return false;
}

static void *inproc_main(void *arg) {
  inproc_worker *w = arg;
  inproc *p = w->pool;
  /* This thread's pool: its executions reuse memory slots and stacks instead of mapping and
   * unmapping them each time. Without one (out of memory) they map their own, as before. */
  exec_store_hook hook = {inproc_hook_enter, inproc_hook_leave, w, hvw_pool_new(NULL, NULL)};
  pthread_mutex_lock(&p->mu);
  for (;;) {
    inproc_tenant *t = NULL;
    exec_job *job = inproc_pick(p, w, &t);
    if (!job) {
      if (p->exiting && !inproc_waiting(p)) break;
      pthread_cond_wait(&p->work_cv, &p->mu);
      continue;
    }
    uint64_t tenant = t->id; /* the entry may move while the job runs */
    p->active++;
    pthread_mutex_unlock(&p->mu);

    uint64_t start = exec_now_ns();
    exec_outcome *out = calloc(1, sizeof *out);
    if (out) {
      out->code = OUTCOME_INTERNAL_ERROR;
      uint64_t accepted = job->accepted_ns ? job->accepted_ns : start;
      out->queue_ns = start > accepted ? start - accepted : 0;
      if (start >= job->deadline_ns_) {
        exec_fail(out, OUTCOME_CAPACITY_EXCEEDED,
                  "the server was too busy to start the execution within its time limit");
        out->retry_after_s = 1;
      } else if (p->runner.run) {
        p->runner.run(p->runner.ctx, (uint32_t)(w - p->workers), job, job->deadline_ns_, out);
      } else {
        exec_run_now(job, job->deadline_ns_, p->cache, &hook, out);
      }
    }
    /* The execution is over: its slot is free before the reply can reach the client. */
    pthread_mutex_lock(&p->mu);
    p->active--;
    t = inproc_tenant_find(p, tenant);
    if (t) {
      t->running--;
      inproc_tenant_put(p, t);
    }
    pthread_cond_signal(&p->work_cv); /* the tenant may be under its thread share again */
    pthread_mutex_unlock(&p->mu);
    /* The callback may free the job: nothing touches it afterwards. A NULL outcome tells the
     * callback that memory ran out. */
    job->done(job, out, job->done_arg);

    pthread_mutex_lock(&p->mu);
    p->submitted--;
    pthread_cond_broadcast(&p->idle_cv);
  }
  pthread_mutex_unlock(&p->mu);
  hvw_pool_free(hook.engine_pool); /* every store of this thread is freed */
  return NULL;
}

static exec_status inproc_reserve(executor *ex, uint64_t tenant) {
  inproc *p = (inproc *)ex;
  exec_status st = EXEC_OK;
  pthread_mutex_lock(&p->mu);
  inproc_tenant *t = inproc_tenant_find(p, tenant);
  if (p->stopping) {
    st = EXEC_SHUTTING_DOWN;
  } else if (p->taken >= p->capacity) {
    st = EXEC_CAPACITY;
  } else if (t && t->taken >= p->tenant_slots) {
    st = EXEC_TENANT_FULL;
  } else {
    if (!t) {
      t = &p->tenants[p->ntenants++]; /* fits: every entry holds one of the taken < capacity */
      *t = (inproc_tenant){.id = tenant};
    }
    t->taken++;
    p->taken++;
  }
  pthread_mutex_unlock(&p->mu);
  return st;
}

static void inproc_release(executor *ex, uint64_t tenant) {
  inproc *p = (inproc *)ex;
  pthread_mutex_lock(&p->mu);
  inproc_tenant *t = inproc_tenant_find(p, tenant);
  if (t) inproc_tenant_put(p, t);
  pthread_mutex_unlock(&p->mu);
}

static exec_status inproc_submit(executor *ex, exec_job *job) {
  inproc *p = (inproc *)ex;
  uint64_t now = exec_now_ns();
  uint64_t from = job->accepted_ns && job->accepted_ns < now ? job->accepted_ns : now;
  job->deadline_ns_ =
      job->limits.timeout_ns > UINT64_MAX - from ? UINT64_MAX : from + job->limits.timeout_ns;
  job->next_ = NULL;
  pthread_mutex_lock(&p->mu);
  inproc_tenant *t = inproc_tenant_find(p, job->tenant);
  if (p->stopping || !t) {
    if (t) inproc_tenant_put(p, t);
    pthread_mutex_unlock(&p->mu);
    return EXEC_SHUTTING_DOWN; /* without a reserved slot there is nothing to run it on */
  }
  if (t->tail)
    t->tail->next_ = job;
  else
    t->head = job;
  t->tail = job;
  p->submitted++;
  pthread_cond_signal(&p->work_cv);
  if (job->deadline_ns_ < p->timer_until) pthread_cond_signal(&p->timer_cv);
  pthread_mutex_unlock(&p->mu);
  return EXEC_OK;
}

static void inproc_counts(executor *ex, exec_counts *out) {
  inproc *p = (inproc *)ex;
  pthread_mutex_lock(&p->mu);
  out->capacity = p->capacity;
  out->tenant_slots = p->tenant_slots;
  out->tenant_threads = p->tenant_threads;
  out->active = p->active;
  out->queued = p->taken - p->active;
  out->threads = p->nworkers;
  pthread_mutex_unlock(&p->mu);
  out->cache_entries = out->cache_bytes = out->cache_max_bytes = 0;
  out->cache_hits = out->cache_misses = out->cache_evictions = 0;
  out->worker_recycles = 0;
  if (p->cache) {
    modcache_stats st;
    modcache_get_stats(p->cache, &st);
    out->cache_entries = st.entries;
    out->cache_bytes = st.bytes;
    out->cache_max_bytes = st.max_bytes;
    out->cache_hits = st.hits;
    out->cache_misses = st.misses;
    out->cache_evictions = st.evictions;
  }
  if (p->runner.counts) p->runner.counts(p->runner.ctx, out);
}

static void inproc_deadline(struct timespec *ts, uint64_t from_now_ns) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  uint64_t ns = (uint64_t)ts->tv_nsec + from_now_ns % 1000000000u;
  ts->tv_sec += (time_t)(from_now_ns / 1000000000u + ns / 1000000000u);
  ts->tv_nsec = (long)(ns % 1000000000u);
}

static void inproc_shutdown(executor *ex, uint64_t grace_ns) {
  inproc *p = (inproc *)ex;
  pthread_mutex_lock(&p->mu);
  p->stopping = true;
  /* Jobs that have not started are refused now rather than started late. */
  exec_job *queued = NULL;
  for (uint32_t k = 0; k < p->ntenants;) {
    inproc_tenant *t = &p->tenants[k];
    exec_job *job = t->head;
    if (!job) {
      k++;
      continue;
    }
    t->head = job->next_;
    if (!t->head) t->tail = NULL;
    job->next_ = queued;
    queued = job;
    inproc_tenant_put(p, t); /* may move another tenant into slot k: look at k again */
  }
  pthread_mutex_unlock(&p->mu);
  inproc_refuse_all(p, queued, "the server is shutting down", 5);

  struct timespec deadline;
  inproc_deadline(&deadline, grace_ns);
  pthread_mutex_lock(&p->mu);
  while (p->submitted > 0) {
    int rc = pthread_cond_timedwait(&p->idle_cv, &p->mu, &deadline);
    if (rc == ETIMEDOUT) {
      /* Past the grace period: stop what still runs; each stops at its next back-edge or call. */
      for (uint32_t k = 0; k < p->nworkers; k++)
        if (p->workers[k].store) hvw_store_interrupt(p->workers[k].store);
      inproc_deadline(&deadline, 100000000u); /* and again every 100 ms, for start functions */
    }
  }
  p->exiting = true;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (uint32_t k = 0; k < p->nworkers; k++) {
    if (p->workers[k].started) pthread_join(p->workers[k].thread, NULL);
    p->workers[k].started = false;
  }
}

static void inproc_destroy(executor *ex) {
  inproc *p = (inproc *)ex;
  if (!p) return;
  bool running = false;
  for (uint32_t k = 0; k < p->nworkers; k++) running |= p->workers[k].started;
  if (running) inproc_shutdown(ex, 0);
  if (p->timer_started) {
    pthread_mutex_lock(&p->mu);
    p->timer_exit = true;
    pthread_cond_signal(&p->timer_cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->timer, NULL);
  }
  modcache_free(p->cache);
  /* Every thread has stopped: nothing runs on the runner any more. */
  if (p->runner.destroy) p->runner.destroy(p->runner.ctx);
  pthread_cond_destroy(&p->timer_cv);
  pthread_cond_destroy(&p->work_cv);
  pthread_cond_destroy(&p->idle_cv);
  pthread_mutex_destroy(&p->mu);
  free(p->workers);
  free(p->tenants);
  free(p);
}

static const executor_ops inproc_ops = {
    .reserve = inproc_reserve,
    .release = inproc_release,
    .submit = inproc_submit,
    .counts = inproc_counts,
    .shutdown = inproc_shutdown,
    .destroy = inproc_destroy,
};

uint32_t exec_pool_threads(uint32_t capacity, uint32_t threads) {
  if (threads == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* Twice the CPUs: one tenant's share (three quarters) keeps every CPU busy, and the rest
     * keeps threads free for other tenants while one runs long executions. */
    threads = cpus < 2 ? 4u : cpus > 128 ? 256u : 2u * (uint32_t)cpus;
  }
  return threads > capacity ? capacity : threads;
}

executor *exec_inproc_new(uint32_t capacity, uint32_t tenant_slots, uint32_t threads,
                          size_t cache_bytes, char *why, size_t why_size) {
  return exec_pool_new(capacity, tenant_slots, threads, cache_bytes, NULL, why, why_size);
}

executor *exec_pool_new(uint32_t capacity, uint32_t tenant_slots, uint32_t threads,
                        size_t cache_bytes, const exec_runner *runner, char *why,
                        size_t why_size) {
  if (capacity == 0 || tenant_slots == 0) {
    snprintf(why, why_size, "the executor needs a capacity of at least 1");
    if (runner && runner->destroy) runner->destroy(runner->ctx);
    return NULL;
  }
  threads = exec_pool_threads(capacity, threads);

  inproc *p = calloc(1, sizeof *p);
  if (!p) {
    snprintf(why, why_size, "out of memory");
    if (runner && runner->destroy) runner->destroy(runner->ctx);
    return NULL;
  }
  if (runner) p->runner = *runner;
  p->base.ops = &inproc_ops;
  p->capacity = capacity;
  p->tenant_slots = tenant_slots < capacity ? tenant_slots : capacity;
  /* A quarter of the threads (rounded down) stays free of any one tenant. */
  p->tenant_threads = threads - threads / 4 ? threads - threads / 4 : 1u;
  p->timer_until = UINT64_MAX;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work_cv, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->idle_cv, &ca);
  pthread_cond_init(&p->timer_cv, &ca);
  pthread_condattr_destroy(&ca);
  p->workers = calloc(threads, sizeof *p->workers);
  p->tenants = calloc(capacity, sizeof *p->tenants);
  p->cache = cache_bytes ? modcache_new(cache_bytes) : NULL;
  if (!p->workers || !p->tenants || (cache_bytes && !p->cache)) {
    snprintf(why, why_size, "out of memory");
    inproc_destroy(&p->base);
    return NULL;
  }
  p->nworkers = threads;
  for (uint32_t k = 0; k < threads; k++) {
    p->workers[k].pool = p;
    p->workers[k].deadline_ns = UINT64_MAX;
  }
  int rc = pthread_create(&p->timer, NULL, inproc_timer_main, p);
  if (rc != 0) {
    snprintf(why, why_size, "cannot start the executor's timer thread: %s", strerror(rc));
    inproc_destroy(&p->base);
    return NULL;
  }
  p->timer_started = true;
  for (uint32_t k = 0; k < threads; k++) {
    rc = pthread_create(&p->workers[k].thread, NULL, inproc_main, &p->workers[k]);
    if (rc != 0) {
      snprintf(why, why_size, "cannot start executor thread %u: %s", k, strerror(rc));
      inproc_destroy(&p->base);
      return NULL;
    }
    p->workers[k].started = true;
  }
  return &p->base;
}
