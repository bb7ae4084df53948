/*
 * srv_metrics.c: the service's figures (docs/service.md, "Metrics"). Counters are atomics, so
 * recording never takes a lock; rendering reads them one by one (a scrape may see a request in
 * one counter and not yet in another, as with any Prometheus client).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "srv_int.h"

#define SRV_OUTCOME_COUNT (OUTCOME_INTERNAL_ERROR + 1)
#define SRV_METRICS_TEXT_MAX (256u * 1024u)

static const double srv_exec_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
static const double srv_compile_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                             0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
#define SRV_EXEC_NB (sizeof srv_exec_buckets / sizeof srv_exec_buckets[0])
#define SRV_COMPILE_NB (sizeof srv_compile_buckets / sizeof srv_compile_buckets[0])

typedef struct srv_histogram {
  const double *bounds;
  size_t n;
  atomic_ullong counts[SRV_EXEC_NB + 1]; /* per bucket (not cumulative); the last is +Inf */
  atomic_ullong sum_ns;
  atomic_ullong total;
} srv_histogram;

struct srv_metrics {
  atomic_ullong requests[SRV_EP_COUNT];
  atomic_ullong errors[SRV_OUTCOME_COUNT];
  atomic_ullong executions[SRV_OUTCOME_COUNT];
  atomic_ullong gas_used;
  srv_histogram exec_time;
  srv_histogram compile_time;
};

static const char *const srv_endpoint_names[SRV_EP_COUNT] = {
    [SRV_EP_EXECUTE] = "execute", [SRV_EP_VERIFY] = "verify",   [SRV_EP_KEYS] = "keys",
    [SRV_EP_HEALTH] = "health",   [SRV_EP_METRICS] = "metrics", [SRV_EP_PLAYGROUND] = "playground",
    [SRV_EP_LOG] = "log",
    [SRV_EP_OTHER] = "other",
};

const char *srv_endpoint_name(srv_endpoint ep) {
  return ep < SRV_EP_COUNT ? srv_endpoint_names[ep] : "other";
}

srv_metrics *srv_metrics_new(void) {
  srv_metrics *m = calloc(1, sizeof *m);
  if (!m) return NULL;
  m->exec_time.bounds = srv_exec_buckets;
  m->exec_time.n = SRV_EXEC_NB;
  m->compile_time.bounds = srv_compile_buckets;
  m->compile_time.n = SRV_COMPILE_NB;
  return m;
}

void srv_metrics_free(srv_metrics *m) { free(m); }

void srv_metrics_request(srv_metrics *m, srv_endpoint ep) {
  if (ep < SRV_EP_COUNT) atomic_fetch_add(&m->requests[ep], 1);
}

void srv_metrics_error(srv_metrics *m, outcome_code code) {
  if ((unsigned)code < SRV_OUTCOME_COUNT && code != OUTCOME_OK)
    atomic_fetch_add(&m->errors[code], 1);
}

static void srv_histogram_observe(srv_histogram *h, uint64_t ns) {
  double s = (double)ns / 1e9;
  size_t k = 0;
  while (k < h->n && s > h->bounds[k]) k++;
  atomic_fetch_add(&h->counts[k], 1);
  atomic_fetch_add(&h->sum_ns, ns);
  atomic_fetch_add(&h->total, 1);
}

void srv_metrics_execution(srv_metrics *m, outcome_code code, bool compiled, uint64_t compile_ns,
                           bool executed, uint64_t exec_ns, uint64_t gas_used) {
  if ((unsigned)code < SRV_OUTCOME_COUNT) atomic_fetch_add(&m->executions[code], 1);
  if (compiled) srv_histogram_observe(&m->compile_time, compile_ns);
  if (executed) {
    srv_histogram_observe(&m->exec_time, exec_ns);
    atomic_fetch_add(&m->gas_used, gas_used);
  }
}

/* ---- Process figures ---------------------------------------------------------------------- */

typedef struct srv_process {
  double cpu_seconds;
  uint64_t resident_bytes;
  uint64_t virtual_bytes;
} srv_process;

static void srv_process_read(srv_process *p) {
  *p = (srv_process){0};
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
    p->cpu_seconds = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    unsigned long long size = 0, resident = 0;
    if (fscanf(f, "%llu %llu", &size, &resident) == 2) {
      long page = sysconf(_SC_PAGESIZE);
      p->virtual_bytes = size * (unsigned long long)(page > 0 ? page : 4096);
      p->resident_bytes = resident * (unsigned long long)(page > 0 ? page : 4096);
    }
    fclose(f);
  }
}

/* ---- Rendering ---------------------------------------------------------------------------- */

/* The statuses an execute request can end with once it has a request_id (authentication, the
 * rate limit and routing come before). */
static bool srv_execution_status(outcome_code code) {
  return code != OUTCOME_UNAUTHORIZED && code != OUTCOME_NOT_FOUND && code != OUTCOME_RATE_LIMITED;
}

static const char *srv_exec_status_label(outcome_code code) {
  return code == OUTCOME_OK ? "success" : outcome_code_name(code);
}

static void srv_text_histogram(srv_buf *b, const char *name, const char *help,
                               const srv_histogram *h) {
  srv_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  unsigned long long cum = 0;
  for (size_t k = 0; k < h->n; k++) {
    cum += atomic_load(&h->counts[k]);
    srv_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[k], cum);
  }
  cum += atomic_load(&h->counts[h->n]);
  srv_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
  srv_buf_printf(b, "%s_sum %.9f\n", name, (double)atomic_load(&h->sum_ns) / 1e9);
  srv_buf_printf(b, "%s_count %llu\n", name, cum);
}

static void srv_text_gauge(srv_buf *b, const char *type, const char *name, const char *help,
                           double value) {
  srv_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

char *srv_metrics_render_text(srv_metrics *m, const srv_metrics_view *v, size_t *len) {
  srv_buf b;
  srv_buf_init(&b, SRV_METRICS_TEXT_MAX);
  srv_process proc;
  srv_process_read(&proc);

  srv_buf_printf(&b, "# HELP hypervisor_http_requests_total HTTP requests by endpoint.\n"
                     "# TYPE hypervisor_http_requests_total counter\n");
  for (int ep = 0; ep < SRV_EP_COUNT; ep++)
    srv_buf_printf(&b, "hypervisor_http_requests_total{endpoint=\"%s\"} %llu\n",
                   srv_endpoint_name((srv_endpoint)ep), atomic_load(&m->requests[ep]));

  srv_buf_printf(&b, "# HELP hypervisor_executions_total Execute requests that got a request_id, "
                     "by final status.\n# TYPE hypervisor_executions_total counter\n");
  for (int c = 0; c < SRV_OUTCOME_COUNT; c++)
    if (srv_execution_status((outcome_code)c))
      srv_buf_printf(&b, "hypervisor_executions_total{status=\"%s\"} %llu\n",
                     srv_exec_status_label((outcome_code)c), atomic_load(&m->executions[c]));

  srv_buf_printf(&b, "# HELP hypervisor_errors_total Error responses by error_code.\n"
                     "# TYPE hypervisor_errors_total counter\n");
  for (int c = 1; c < SRV_OUTCOME_COUNT; c++)
    srv_buf_printf(&b, "hypervisor_errors_total{code=\"%s\"} %llu\n",
                   outcome_code_name((outcome_code)c), atomic_load(&m->errors[c]));

  srv_text_histogram(&b, "hypervisor_execution_duration_seconds",
                     "Wall time of instantiation and call.", &m->exec_time);
  srv_text_histogram(&b, "hypervisor_compile_duration_seconds",
                     "Time to decode, validate and translate a module.", &m->compile_time);

  srv_text_gauge(&b, "gauge", "hypervisor_executions_active", "Executions running now.",
                 v->exec.active);
  srv_text_gauge(&b, "gauge", "hypervisor_executions_queued",
                 "Execute requests admitted and waiting for a worker.", v->exec.queued);
  srv_text_gauge(&b, "gauge", "hypervisor_executions_capacity",
                 "wasm.max_concurrent_executions.", v->exec.capacity);
  srv_text_gauge(&b, "gauge", "hypervisor_executor_threads", "Executor worker threads.",
                 v->exec.threads);
  srv_text_gauge(&b, "counter", "hypervisor_gas_used_total", "Gas used by executions.",
                 (double)atomic_load(&m->gas_used));
  srv_text_gauge(&b, "counter", "hypervisor_module_cache_hits_total",
                 "Executions that found their module compiled in the cache.",
                 (double)v->exec.cache_hits);
  srv_text_gauge(&b, "counter", "hypervisor_module_cache_misses_total",
                 "Executions that had to compile their module.", (double)v->exec.cache_misses);
  srv_text_gauge(&b, "counter", "hypervisor_module_cache_evictions_total",
                 "Modules evicted from the cache to make room.", (double)v->exec.cache_evictions);
  srv_text_gauge(&b, "counter", "hypervisor_worker_recycles_total",
                 "Worker processes replaced to serve another API key (worker_tenancy: dedicated).",
                 (double)v->exec.worker_recycles);
  srv_text_gauge(&b, "gauge", "hypervisor_module_cache_entries", "Modules in the cache.",
                 (double)v->exec.cache_entries);
  srv_text_gauge(&b, "gauge", "hypervisor_module_cache_bytes",
                 "Estimated bytes of the cached modules.", (double)v->exec.cache_bytes);
  srv_text_gauge(&b, "gauge", "hypervisor_module_cache_max_bytes", "The cache's bound.",
                 (double)v->exec.cache_max_bytes);
  srv_text_gauge(&b, "counter", "hypervisor_audit_commit_rounds_total",
                 "Rounds of the audit writer (one transaction each with group commit).",
                 (double)v->audit_rounds);
  srv_text_gauge(&b, "counter", "hypervisor_audit_records_total",
                 "Audit records written.", (double)v->audit_records);
  srv_text_gauge(&b, "counter", "hypervisor_rate_limited_total",
                 "Requests refused by the per-key rate limit.", (double)v->rate_limited);
  srv_text_gauge(&b, "gauge", "hypervisor_keys", "Server keys that can decrypt.",
                 (double)v->keys);
  srv_text_gauge(&b, "gauge", "hypervisor_storage_up", "1 when the audit store is usable.",
                 v->storage_ok ? 1 : 0);
  srv_text_gauge(&b, "counter", "hypervisor_log_lines_dropped_total",
                 "Log lines that could not be written.", (double)v->log_dropped);
  srv_text_gauge(&b, "gauge", "hypervisor_uptime_seconds", "Seconds since start.",
                 v->uptime_seconds);
  srv_text_gauge(&b, "counter", "process_cpu_seconds_total", "User and system CPU time.",
                 proc.cpu_seconds);
  srv_text_gauge(&b, "gauge", "process_resident_memory_bytes", "Resident memory.",
                 (double)proc.resident_bytes);
  srv_text_gauge(&b, "gauge", "process_virtual_memory_bytes", "Virtual memory.",
                 (double)proc.virtual_bytes);
  srv_text_gauge(&b, "gauge", "process_start_time_seconds", "Start time, Unix seconds.",
                 v->start_time_seconds);
  return srv_buf_take(&b, len);
}

static json_t *srv_json_histogram(const srv_histogram *h) {
  json_t *o = json_object(), *buckets = json_array();
  if (!o || !buckets) {
    json_decref(o);
    json_decref(buckets);
    return NULL;
  }
  unsigned long long cum = 0;
  for (size_t k = 0; k <= h->n; k++) {
    cum += atomic_load(&h->counts[k]);
    json_t *bk = json_object();
    if (k < h->n)
      json_object_set_new(bk, "le", json_real(h->bounds[k]));
    else
      json_object_set_new(bk, "le", json_string("+Inf"));
    json_object_set_new(bk, "count", json_integer((json_int_t)cum));
    json_array_append_new(buckets, bk);
  }
  json_object_set_new(o, "buckets", buckets);
  json_object_set_new(o, "sum", json_real((double)atomic_load(&h->sum_ns) / 1e9));
  json_object_set_new(o, "count", json_integer((json_int_t)cum));
  return o;
}

char *srv_metrics_render_json(srv_metrics *m, const srv_metrics_view *v, size_t *len) {
  srv_process proc;
  srv_process_read(&proc);
  json_t *o = json_object(), *req = json_object(), *ex = json_object(), *er = json_object();
  if (!o || !req || !ex || !er) {
    json_decref(o);
    json_decref(req);
    json_decref(ex);
    json_decref(er);
    return NULL;
  }
  for (int ep = 0; ep < SRV_EP_COUNT; ep++)
    json_object_set_new(req, srv_endpoint_name((srv_endpoint)ep),
                        json_integer((json_int_t)atomic_load(&m->requests[ep])));
  for (int c = 0; c < SRV_OUTCOME_COUNT; c++)
    if (srv_execution_status((outcome_code)c))
      json_object_set_new(ex, srv_exec_status_label((outcome_code)c),
                          json_integer((json_int_t)atomic_load(&m->executions[c])));
  for (int c = 1; c < SRV_OUTCOME_COUNT; c++)
    json_object_set_new(er, outcome_code_name((outcome_code)c),
                        json_integer((json_int_t)atomic_load(&m->errors[c])));
  json_object_set_new(o, "http_requests_total", req);
  json_object_set_new(o, "executions_total", ex);
  json_object_set_new(o, "errors_total", er);
  json_object_set_new(o, "execution_duration_seconds", srv_json_histogram(&m->exec_time));
  json_object_set_new(o, "compile_duration_seconds", srv_json_histogram(&m->compile_time));
  json_object_set_new(o, "executions_active", json_integer(v->exec.active));
  json_object_set_new(o, "executions_queued", json_integer(v->exec.queued));
  json_object_set_new(o, "executions_capacity", json_integer(v->exec.capacity));
  json_object_set_new(o, "executor_threads", json_integer(v->exec.threads));
  json_object_set_new(o, "gas_used_total", json_integer((json_int_t)atomic_load(&m->gas_used)));
  json_object_set_new(o, "module_cache_hits_total", json_integer((json_int_t)v->exec.cache_hits));
  json_object_set_new(o, "module_cache_misses_total",
                      json_integer((json_int_t)v->exec.cache_misses));
  json_object_set_new(o, "module_cache_evictions_total",
                      json_integer((json_int_t)v->exec.cache_evictions));
  json_object_set_new(o, "worker_recycles_total",
                      json_integer((json_int_t)v->exec.worker_recycles));
  json_object_set_new(o, "module_cache_entries", json_integer((json_int_t)v->exec.cache_entries));
  json_object_set_new(o, "module_cache_bytes", json_integer((json_int_t)v->exec.cache_bytes));
  json_object_set_new(o, "module_cache_max_bytes",
                      json_integer((json_int_t)v->exec.cache_max_bytes));
  json_object_set_new(o, "audit_commit_rounds_total", json_integer((json_int_t)v->audit_rounds));
  json_object_set_new(o, "audit_records_total", json_integer((json_int_t)v->audit_records));
  json_object_set_new(o, "rate_limited_total", json_integer((json_int_t)v->rate_limited));
  json_object_set_new(o, "keys", json_integer((json_int_t)v->keys));
  json_object_set_new(o, "storage_up", json_integer(v->storage_ok ? 1 : 0));
  json_object_set_new(o, "log_lines_dropped_total", json_integer((json_int_t)v->log_dropped));
  json_object_set_new(o, "uptime_seconds", json_real(v->uptime_seconds));
  json_object_set_new(o, "process_cpu_seconds_total", json_real(proc.cpu_seconds));
  json_object_set_new(o, "process_resident_memory_bytes",
                      json_integer((json_int_t)proc.resident_bytes));
  json_object_set_new(o, "process_virtual_memory_bytes",
                      json_integer((json_int_t)proc.virtual_bytes));
  json_object_set_new(o, "process_start_time_seconds", json_real(v->start_time_seconds));
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (text && len) *len = strlen(text);
  return text;
}
