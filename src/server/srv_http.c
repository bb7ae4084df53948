/*
 * srv_http.c: the HTTP layer on libmicrohttpd.
 *
 * One daemon with an internal epoll thread pool of server.workers threads. For each request the
 * access handler is called (1) once the headers are in: the route, the method, the API key, the
 * rate limit, the Content-Length cap and (for execute) the executor slot are settled here, so a
 * request that will be refused is refused before its body is read; (2) for each piece of the body,
 * which is kept up to server.max_body_bytes and dropped beyond; (3) once the body is complete, when
 * the endpoint runs. An execute request is then suspended while the executor works, and resumed
 * with its reply ready: no HTTP thread ever waits for an execution.
 *
 * Slow clients. libmicrohttpd's idle timeout restarts with every byte, so a client that trickles
 * its headers (or body) a byte at a time would hold its connection forever, and enough of them
 * would fill every connection slot. So every connection is tracked with the stage it is in and
 * since when: a sweeper thread closes those whose headers (SRV_HEADER_DEADLINE_S) or body
 * (SRV_BODY_DEADLINE_S) take too long, and once the open connections pass the high-water mark
 * the oldest ones still waiting for headers or a body are closed first, so that a new client
 * always finds a free slot. Executions in progress (suspended connections) are never closed.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "srv_int.h"
#include "hv_json.h"

/* ---- Routes ------------------------------------------------------------------------------- */

typedef struct srv_route {
  const char *path;   /* exact path, or a prefix ending in '/' when `param` */
  bool param;         /* the rest of the path is the parameter (no '/') */
  srv_endpoint endpoint;
  unsigned methods;   /* SRV_GET | SRV_POST; HEAD goes with GET */
  const char *allow;
  bool auth;
} srv_route;

/* The route table: every path the service answers, versioned and unversioned. */
static const srv_route srv_routes[] = {
    {"/v1/execute", false, SRV_EP_EXECUTE, SRV_POST, "POST", true},
    {"/execute", false, SRV_EP_EXECUTE, SRV_POST, "POST", true},
    {"/v1/verify/", true, SRV_EP_VERIFY, SRV_GET, "GET, HEAD", false},
    {"/verify/", true, SRV_EP_VERIFY, SRV_GET, "GET, HEAD", false},
    {"/v1/keys", false, SRV_EP_KEYS, SRV_GET, "GET, HEAD", false},
    {"/keys", false, SRV_EP_KEYS, SRV_GET, "GET, HEAD", false},
    {"/health", false, SRV_EP_HEALTH, SRV_GET, "GET, HEAD", false},
    {"/v1/health", false, SRV_EP_HEALTH, SRV_GET, "GET, HEAD", false},
    {"/metrics", false, SRV_EP_METRICS, SRV_GET, "GET, HEAD", true},
    {"/v1/metrics", false, SRV_EP_METRICS, SRV_GET, "GET, HEAD", true},
    /* Only when server.playground is on (srv_on_headers). A file name has no '/': a path that
     * tries to leave the directory matches no route. */
    {"/", false, SRV_EP_PLAYGROUND, SRV_GET, "GET, HEAD", false},
    {"/playground/", true, SRV_EP_PLAYGROUND, SRV_GET, "GET, HEAD", false},
    /* The transparency log: public, as /v1/verify is (docs/protocol.md, "Transparency log"). */
    {"/v1/log/checkpoint", false, SRV_EP_LOG, SRV_GET, "GET, HEAD", false},
    {"/v1/log/key", false, SRV_EP_LOG, SRV_GET, "GET, HEAD", false},
    {"/v1/log/proof/inclusion", false, SRV_EP_LOG, SRV_GET, "GET, HEAD", false},
    {"/v1/log/proof/consistency", false, SRV_EP_LOG, SRV_GET, "GET, HEAD", false},
    {"/v1/log/leaves", false, SRV_EP_LOG, SRV_GET, "GET, HEAD", false},
};

static const srv_route *srv_route_find(const char *url, srv_request *r) {
  for (size_t k = 0; k < sizeof srv_routes / sizeof srv_routes[0]; k++) {
    const srv_route *rt = &srv_routes[k];
    if (!rt->param) {
      if (strcmp(url, rt->path) == 0) return rt;
      continue;
    }
    size_t n = strlen(rt->path);
    if (strncmp(url, rt->path, n) != 0) continue;
    const char *rest = url + n;
    if (rest[0] == '\0' || strchr(rest, '/')) return NULL;
    size_t len = strlen(rest);
    if (len >= sizeof r->param) {
      r->param_too_long = true;
      len = sizeof r->param - 1;
    }
    memcpy(r->param, rest, len);
    r->param[len] = '\0';
    return rt;
  }
  return NULL;
}

static srv_method srv_method_of(const char *m) {
  if (strcmp(m, MHD_HTTP_METHOD_GET) == 0) return SRV_GET;
  if (strcmp(m, MHD_HTTP_METHOD_HEAD) == 0) return SRV_HEAD;
  if (strcmp(m, MHD_HTTP_METHOD_POST) == 0) return SRV_POST;
  if (strcmp(m, MHD_HTTP_METHOD_OPTIONS) == 0) return SRV_OPTIONS;
  return SRV_OTHER;
}

/* ---- CORS --------------------------------------------------------------------------------- */

const char *srv_cors_allowed(const hv_config_server *config, const char *origin) {
  if (!origin || config->cors_origin_count == 0) return NULL;
  if (config->cors_origin_count == 1 && strcmp(config->cors_origins[0], "*") == 0) return "*";
  /* Exact comparison: browsers serialise an origin one way (lowercase host, no default port), and
   * the configuration is checked to hold only origins in that form. */
  for (uint32_t k = 0; k < config->cors_origin_count; k++)
    if (strcmp(config->cors_origins[k], origin) == 0) return config->cors_origins[k];
  return NULL;
}

/* ---- Replies ------------------------------------------------------------------------------ */

int srv_reply_send(srv_request *r, srv_reply *reply) {
  struct MHD_Response *resp;
  if (reply->body) {
    resp = MHD_create_response_from_buffer(reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) srv_reply_discard(reply);
  } else {
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  }
  reply->body = NULL; /* the response owns it now */
  if (!resp) return MHD_NO;
  if (reply->content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, reply->content_type);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (r->request_id[0]) MHD_add_response_header(resp, "X-Request-Id", r->request_id);
  if (reply->retry_after_s) {
    char v[16];
    snprintf(v, sizeof v, "%" PRIu32, reply->retry_after_s);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
  }
  if (reply->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow);
  /* With CORS on, every reply may differ by Origin: caches must keep them apart. */
  if (r->server->config.server.cors_origin_count > 0)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
  if (r->cors_origin) {
    /* Never Access-Control-Allow-Credentials: the API authenticates with X-API-Key, which a
     * page sets itself, so browsers must not attach cookies or HTTP authentication. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, r->cors_origin);
    if (reply->cors_methods) {
      MHD_add_response_header(resp, "Access-Control-Allow-Methods", reply->cors_methods);
      MHD_add_response_header(resp, "Access-Control-Allow-Headers", SRV_CORS_ALLOW_HEADERS);
      MHD_add_response_header(resp, "Access-Control-Max-Age", SRV_CORS_MAX_AGE_S);
    } else {
      MHD_add_response_header(resp, "Access-Control-Expose-Headers", SRV_CORS_EXPOSE_HEADERS);
    }
  }
  if (reply->page) {
    MHD_add_response_header(resp, "Content-Security-Policy", srv_playground_csp);
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  }
  r->status = reply->status;
  enum MHD_Result rc = MHD_queue_response(r->conn, reply->status, resp);
  MHD_destroy_response(resp);
  return rc;
}

/* ---- Connections and their deadlines ------------------------------------------------------ */

typedef enum srv_conn_stage {
  SRV_CONN_HEADERS, /* waiting for a request's headers (a new or kept-alive connection) */
  SRV_CONN_BODY,    /* the headers are in; the body is arriving */
  SRV_CONN_BUSY,    /* the request is being worked on or answered: never closed early */
} srv_conn_stage;

struct srv_conn {
  int fd;
  srv_conn_stage stage;
  uint64_t since_ns; /* when the stage began */
  bool evicted;      /* shut down by us; libmicrohttpd closes it next */
  uint32_t slot;     /* index in the table */
};

struct srv_conn_table {
  pthread_mutex_t mu;
  pthread_cond_t cv;        /* wakes the sweeper to stop */
  srv_conn **conns;         /* SRV_CONNECTION_LIMIT + slack entries */
  uint32_t count, cap;
  bool stop;
  pthread_t sweeper;
  bool sweeper_started;
  uint64_t closed_headers, closed_body, closed_pressure; /* since the start, for the log */
};

/* Closes the connection for its client; libmicrohttpd sees the end of the stream and frees it.
 * Under mu (the descriptor is still the connection's: it is closed only after the CLOSED
 * notification, which takes mu). */
static void srv_conn_evict(srv_conn *c) {
  if (c->evicted) return;
  c->evicted = true;
  (void)shutdown(c->fd, SHUT_RDWR);
}

/* Under pressure: closes the oldest connection that waits for headers or a body. Under mu. */
static bool srv_conn_evict_oldest(struct srv_conn_table *t) {
  srv_conn *oldest = NULL;
  for (uint32_t k = 0; k < t->count; k++) {
    srv_conn *c = t->conns[k];
    if (c->evicted || c->stage == SRV_CONN_BUSY) continue;
    if (!oldest || c->since_ns < oldest->since_ns) oldest = c;
  }
  if (!oldest) return false;
  srv_conn_evict(oldest);
  t->closed_pressure++;
  return true;
}

static void srv_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe) {
  srv *s = cls;
  struct srv_conn_table *t = s->conns;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    srv_conn *c = ci ? calloc(1, sizeof *c) : NULL;
    if (!c) return; /* untracked: it still has libmicrohttpd's idle timeout */
    c->fd = ci->connect_fd;
    c->stage = SRV_CONN_HEADERS;
    c->since_ns = srv_mono_ns();
    pthread_mutex_lock(&t->mu);
    if (t->count == t->cap) {
      pthread_mutex_unlock(&t->mu);
      free(c);
      return;
    }
    c->slot = t->count;
    t->conns[t->count++] = c;
    /* Keep room for new clients: above the high-water mark the slowest waiters make way. */
    uint32_t live = 0;
    for (uint32_t k = 0; k < t->count; k++) live += !t->conns[k]->evicted;
    while (live > SRV_CONNECTION_HIGH_WATER && srv_conn_evict_oldest(t)) live--;
    pthread_mutex_unlock(&t->mu);
    *socket_context = c;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    srv_conn *c = *socket_context;
    if (!c) return;
    *socket_context = NULL;
    pthread_mutex_lock(&t->mu);
    srv_conn *last = t->conns[--t->count];
    t->conns[c->slot] = last;
    last->slot = c->slot;
    pthread_mutex_unlock(&t->mu);
    free(c);
  }
}

/* The tracked connection of a request (NULL if it is not tracked). */
static srv_conn *srv_conn_of(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

void srv_conn_stage_set(srv *s, srv_conn *c, int stage) {
  if (!c) return;
  pthread_mutex_lock(&s->conns->mu);
  c->stage = (srv_conn_stage)stage;
  c->since_ns = srv_mono_ns();
  pthread_mutex_unlock(&s->conns->mu);
}

/* Closes connections past their stage's deadline, four times a second. */
static void *srv_sweeper_main(void *arg) {
  srv *s = arg;
  struct srv_conn_table *t = s->conns;
  uint64_t logged_h = 0, logged_b = 0, logged_p = 0;
  pthread_mutex_lock(&t->mu);
  while (!t->stop) {
    uint64_t now = srv_mono_ns();
    for (uint32_t k = 0; k < t->count; k++) {
      srv_conn *c = t->conns[k];
      if (c->evicted || c->stage == SRV_CONN_BUSY) continue;
      uint64_t age = now - c->since_ns;
      if (c->stage == SRV_CONN_HEADERS && age > SRV_HEADER_DEADLINE_S * 1000000000ull) {
        srv_conn_evict(c);
        t->closed_headers++;
      } else if (c->stage == SRV_CONN_BODY && age > SRV_BODY_DEADLINE_S * 1000000000ull) {
        srv_conn_evict(c);
        t->closed_body++;
      }
    }
    uint64_t h = t->closed_headers, b = t->closed_body, p = t->closed_pressure;
    uint32_t open = t->count;
    pthread_mutex_unlock(&t->mu);
    /* One line for what changed, not one per connection: a flood must not flood the log. */
    if (h != logged_h || b != logged_b || p != logged_p)
      HV_LOG(s->log, HV_LOG_WARN, "http.slow_clients_closed", HV_LOG_SECURITY,
             HV_LOG_UINT("headers_too_slow", h - logged_h), HV_LOG_UINT("body_too_slow", b - logged_b),
             HV_LOG_UINT("made_room", p - logged_p), HV_LOG_UINT("open_connections", open));
    logged_h = h, logged_b = b, logged_p = p;
    pthread_mutex_lock(&t->mu);
    if (t->stop) break;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += 250 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

static void srv_conns_free(srv *s) {
  struct srv_conn_table *t = s->conns;
  if (!t) return;
  if (t->sweeper_started) {
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->sweeper, NULL);
  }
  for (uint32_t k = 0; k < t->count; k++) free(t->conns[k]);
  free(t->conns);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  free(t);
  s->conns = NULL;
}

static bool srv_conns_new(srv *s, char *why, size_t why_size) {
  struct srv_conn_table *t = calloc(1, sizeof *t);
  if (!t) goto oom;
  t->cap = SRV_CONNECTION_LIMIT + 64; /* closed connections linger until libmicrohttpd frees them */
  t->conns = calloc(t->cap, sizeof *t->conns);
  if (!t->conns) {
    free(t);
    goto oom;
  }
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  s->conns = t;
  int rc = pthread_create(&t->sweeper, NULL, srv_sweeper_main, s);
  if (rc != 0) {
    snprintf(why, why_size, "cannot start the connection sweeper: %s", strerror(rc));
    srv_conns_free(s);
    return false;
  }
  t->sweeper_started = true;
  return true;
oom:
  snprintf(why, why_size, "out of memory");
  return false;
}

/* ---- Request contexts --------------------------------------------------------------------- */

static srv_request *srv_request_new(srv *s, struct MHD_Connection *conn) {
  srv_request *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->server = s;
  r->conn = conn;
  r->start_ns = srv_mono_ns();
  r->tracked = srv_conn_of(conn);
  srv_conn_stage_set(s, r->tracked, SRV_CONN_BODY); /* the headers are in */
  r->endpoint = SRV_EP_OTHER;
  r->key_index = -1;
  r->error = OUTCOME_OK;
  atomic_init(&r->phase, SRV_PHASE_READING);
  atomic_fetch_add(&s->inflight, 1);
  return r;
}

static void srv_remote(struct MHD_Connection *conn, char *out, size_t size) {
  snprintf(out, size, "?");
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)size);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)size);
}

static const char *srv_termination_name(enum MHD_RequestTerminationCode t) {
  switch (t) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "completed";
    case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client_abort";
    default: return "other";
  }
}

/* The one log line of a request, then the context is freed. */
static void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                          enum MHD_RequestTerminationCode toe) {
  srv *s = cls;
  srv_request *r = *con_cls;
  if (!r) return;
  *con_cls = NULL;
  double ms = (double)(srv_mono_ns() - r->start_ns) / 1e6;
  char remote[INET6_ADDRSTRLEN + 1];
  srv_remote(conn, remote, sizeof remote);
  if (r->status >= 400 && r->error != OUTCOME_OK) srv_metrics_error(s->metrics, r->error);
  hv_log_field f[10];
  size_t n = 0;
  f[n++] = HV_LOG_STR("method", r->method == SRV_GET       ? "GET"
                                : r->method == SRV_POST    ? "POST"
                                : r->method == SRV_HEAD    ? "HEAD"
                                : r->method == SRV_OPTIONS ? "OPTIONS"
                                                           : "other");
  f[n++] = HV_LOG_STR("path", r->path);
  f[n++] = HV_LOG_UINT("status", r->status);
  f[n++] = HV_LOG_DOUBLE("ms", ms);
  if (r->request_id[0]) f[n++] = HV_LOG_STR("request_id", r->request_id);
  if (r->api_key_id) f[n++] = HV_LOG_STR("api_key_id", r->api_key_id);
  if (r->error != OUTCOME_OK) f[n++] = HV_LOG_STR("error_code", outcome_code_name(r->error));
  f[n++] = HV_LOG_STR("remote", remote);
  f[n++] = HV_LOG_UINT("bytes_in", r->body_seen);
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
    f[n++] = HV_LOG_STR("terminated", srv_termination_name(toe));
  hv_log_event(s->log, r->status >= 500 || r->status == 0 ? HV_LOG_WARN : HV_LOG_INFO,
               "http.request", 0, f, n);

  /* A kept-alive connection waits for its next request's headers from now on. */
  srv_conn_stage_set(s, srv_conn_of(conn), SRV_CONN_HEADERS);
  srv_execute_cleanup(r);
  srv_reply_discard(&r->pending);
  free(r->body);
  atomic_fetch_sub(&s->inflight, 1);
  free(r);
}

/* ---- The access handler ------------------------------------------------------------------- */

/* Stage 1: the headers are in. Refusals are answered here, before any of the body is read. */
static enum MHD_Result srv_on_headers(srv_request *r, const char *url) {
  srv *s = r->server;
  srv_reply reply = {0};
  r->cors_origin = srv_cors_allowed(
      &s->config.server, MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN));
  const srv_route *rt = srv_route_find(url, r);
  if (rt && rt->endpoint == SRV_EP_PLAYGROUND && !s->config.server.playground) rt = NULL;
  snprintf(r->path, sizeof r->path, "%s", rt && rt->param ? rt->path : url);
  if (rt && rt->param) {
    size_t n = strlen(r->path);
    snprintf(r->path + n, sizeof r->path - n, "{id}");
  }
  if (!rt) {
    srv_metrics_request(s->metrics, SRV_EP_OTHER);
    reply = srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "no such endpoint: %.64s", url);
    return srv_reply_send(r, &reply);
  }
  r->endpoint = rt->endpoint;
  srv_metrics_request(s->metrics, rt->endpoint);
  if (r->method == SRV_OPTIONS && r->cors_origin &&
      MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                  MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_METHOD)) {
    /* A preflight from an allowed origin: what this route accepts, without authentication
     * (browsers send preflights without the API key). The browser checks the method itself. */
    reply = (srv_reply){.status = MHD_HTTP_NO_CONTENT, .cors_methods = rt->allow};
    return srv_reply_send(r, &reply);
  }
  unsigned allowed = rt->methods | ((rt->methods & SRV_GET) ? SRV_HEAD : 0u);
  if (!(r->method & allowed)) {
    /* A preflight from an origin that server.cors_origins does not allow gets no CORS headers,
     * so the browser refuses the cross-origin call; the message says why for whoever looks. */
    bool refused_preflight =
        r->method == SRV_OPTIONS && !r->cors_origin &&
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN) &&
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                    MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_METHOD);
    if (refused_preflight)
      reply = srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                              "cross-origin requests from this origin are not allowed "
                              "(server.cors_origins); %s accepts %s",
                              rt->path, rt->allow);
    else
      reply = srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                              "%s does not accept this method; use %s", rt->path, rt->allow);
    reply.status = MHD_HTTP_METHOD_NOT_ALLOWED;
    reply.allow = rt->allow;
    return srv_reply_send(r, &reply);
  }
  if (rt->auth && !(rt->endpoint == SRV_EP_METRICS ? srv_authenticate_metrics(r, &reply)
                                                   : srv_authenticate(r, &reply)))
    return srv_reply_send(r, &reply);

  if (rt->endpoint == SRV_EP_EXECUTE) {
    r->wants_body = true;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
      char *end = NULL;
      unsigned long long declared = strtoull(cl, &end, 10);
      if (end != cl && *end == '\0' && declared > s->config.server.max_body_bytes) {
        reply = srv_error_reply(r, OUTCOME_PAYLOAD_TOO_LARGE, NULL,
                                "the request body (%llu bytes) is larger than the limit of %" PRIu64
                                " bytes",
                                declared, s->config.server.max_body_bytes);
        return srv_reply_send(r, &reply);
      }
      if (!srv_execute_begin(r, &reply)) return srv_reply_send(r, &reply);
      if (end != cl && *end == '\0' && declared > 0) {
        /* Room for what was announced, up to a bound: a client that announces a large body and
         * sends it slowly must not make the server hold the whole size in advance. */
        size_t first = declared < SRV_BODY_PREALLOC_MAX ? (size_t)declared : SRV_BODY_PREALLOC_MAX;
        r->body = malloc(first + HV_JSON_PADDING); /* on failure the body grows as it comes */
        if (r->body) r->body_cap = first;
      }
      return MHD_YES;
    }
    if (!srv_execute_begin(r, &reply)) return srv_reply_send(r, &reply);
  }
  return MHD_YES;
}

/* Stage 2: a piece of the body. */
static enum MHD_Result srv_on_body(srv_request *r, const char *data, size_t len) {
  srv *s = r->server;
  r->body_seen += len;
  if (srv_mono_ns() - r->start_ns > SRV_BODY_DEADLINE_S * 1000000000ull) {
    HV_LOG(s->log, HV_LOG_WARN, "http.body_deadline", 0, HV_LOG_STR("path", r->path),
           HV_LOG_UINT("bytes_in", r->body_seen));
    return MHD_NO; /* too slow: close (the sweeper does the same for a body that stalls) */
  }
  uint64_t cap = r->wants_body ? s->config.server.max_body_bytes : 0;
  if (r->too_large || r->body_len + len > cap) {
    if (!r->too_large) {
      r->too_large = true;
      free(r->body);
      r->body = NULL;
      r->body_len = r->body_cap = 0;
    }
    /* Past the cap nothing is kept; past the drain limit the connection is closed. */
    return r->body_seen - cap > SRV_DRAIN_MAX ? MHD_NO : MHD_YES;
  }
  if (r->body_len + len > r->body_cap) {
    size_t cap2 = r->body_cap ? r->body_cap : 4096;
    while (cap2 < r->body_len + len) cap2 = cap2 > cap / 2 ? (size_t)cap : cap2 * 2;
    uint8_t *p = realloc(r->body, cap2 + HV_JSON_PADDING); /* srv_exec_request_parse reads past */
    if (!p) return MHD_NO;
    r->body = p;
    r->body_cap = cap2;
  }
  memcpy(r->body + r->body_len, data, len);
  r->body_len += len;
  return MHD_YES;
}

/* Stage 3: the request is complete. */
static enum MHD_Result srv_on_complete(srv_request *r) {
  srv_reply reply = {0};
  int phase = atomic_load(&r->phase);
  if (phase == SRV_PHASE_DONE) {
    reply = r->pending;
    r->pending = (srv_reply){0};
    return srv_reply_send(r, &reply);
  }
  if (phase == SRV_PHASE_RUNNING) return MHD_YES; /* not expected: suspended until done */

  srv_conn_stage_set(r->server, r->tracked, SRV_CONN_BUSY); /* the body is in: being answered */
  if (r->too_large && r->endpoint != SRV_EP_EXECUTE) {
    reply = srv_error_reply(r, OUTCOME_PAYLOAD_TOO_LARGE, NULL,
                            "this endpoint takes no request body");
    return srv_reply_send(r, &reply);
  }
  switch (r->endpoint) {
    case SRV_EP_EXECUTE:
      if (srv_execute_body(r, &reply)) return MHD_YES; /* suspended; the executor answers */
      break;
    case SRV_EP_VERIFY: reply = srv_route_verify(r); break;
    case SRV_EP_KEYS: reply = srv_route_keys(r); break;
    case SRV_EP_HEALTH: reply = srv_route_health(r); break;
    case SRV_EP_METRICS: reply = srv_route_metrics(r); break;
    case SRV_EP_PLAYGROUND: reply = srv_route_playground(r); break;
    case SRV_EP_LOG: reply = srv_route_log(r, r->path); break;
    default: reply = srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "no such endpoint"); break;
  }
  return srv_reply_send(r, &reply);
}

static enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void)version;
  srv *s = cls;
  srv_request *r = *con_cls;
  if (!r) {
    r = srv_request_new(s, conn);
    if (!r) return MHD_NO;
    *con_cls = r;
    r->method = srv_method_of(method);
    return srv_on_headers(r, url);
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return srv_on_body(r, upload_data, n);
  }
  return srv_on_complete(r);
}

__attribute__((format(printf, 2, 0))) static void srv_mhd_log(void *cls, const char *fmt,
                                                              va_list ap) {
  srv *s = cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  HV_LOG(s->log, HV_LOG_WARN, "http.internal", 0, HV_LOG_STR("message", msg));
}

/* ---- Start and stop ----------------------------------------------------------------------- */

/* Binds and listens on the configured address ourselves, so that a port in use is an error that
 * names it (no SO_REUSEPORT: a second server must not share the port with the first). */
static int srv_listen(srv *s, char *why, size_t why_size) {
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)s->config.server.port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int gai = getaddrinfo(s->config.server.host[0] ? s->config.server.host : NULL, port, &hints, &ai);
  if (gai != 0 || !ai) {
    snprintf(why, why_size, "server.host: cannot resolve '%s': %s", s->config.server.host,
             gai_strerror(gai));
    return -1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  int e = 0;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    e = errno;
  } else if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SRV_LISTEN_BACKLOG) != 0) {
    e = errno;
  }
  freeaddrinfo(ai);
  if (e != 0) {
    if (fd >= 0) close(fd);
    if (e == EADDRINUSE)
      snprintf(why, why_size,
               "server.port: port %u on %s is already in use (another hypervisor, or another "
               "program, listens there)",
               (unsigned)s->config.server.port, s->config.server.host);
    else
      snprintf(why, why_size, "cannot listen on %s port %u: %s", s->config.server.host,
               (unsigned)s->config.server.port, strerror(e));
    return -1;
  }
  return fd;
}

bool srv_http_start(srv *s, char *why, size_t why_size) {
  int fd = srv_listen(s, why, why_size);
  if (fd < 0) return false;
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
    snprintf(why, why_size, "cannot read the bound address: %s", strerror(errno));
    close(fd);
    return false;
  }
  s->port = bound.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)(void *)&bound)->sin6_port)
                : ntohs(((struct sockaddr_in *)(void *)&bound)->sin_port);
  if (!srv_conns_new(s, why, why_size)) {
    close(fd);
    return false;
  }

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                   MHD_USE_ERROR_LOG | (bound.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0u);
  unsigned workers = s->config.server.workers;
  /* server.tls: libmicrohttpd (GnuTLS) loads the certificate and key while it starts; our copy of
   * the key is wiped right after. */
  bool tls = s->tls.cert != NULL;
  struct MHD_OptionItem tls_options[] = {
      {tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->tls.cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls.key},
      {MHD_OPTION_END, 0, NULL},
  };
  if (tls) flags |= MHD_USE_TLS;
  s->daemon = MHD_start_daemon(
      flags, s->port, NULL, NULL, srv_access, s,
      MHD_OPTION_EXTERNAL_LOGGER, srv_mhd_log, s,
      MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
      MHD_OPTION_THREAD_POOL_SIZE, workers > 1 ? workers : 0u,
      MHD_OPTION_CONNECTION_LIMIT, SRV_CONNECTION_LIMIT,
      MHD_OPTION_CONNECTION_TIMEOUT, SRV_CONNECTION_TIMEOUT_S,
      MHD_OPTION_NOTIFY_CONNECTION, srv_on_connection, s,
      MHD_OPTION_NOTIFY_COMPLETED, srv_completed, s,
      MHD_OPTION_ARRAY, tls_options,
      MHD_OPTION_END);
  srv_tls_free(&s->tls);
  if (!s->daemon) {
    snprintf(why, why_size, "cannot start the %s server on %s port %u%s", tls ? "HTTPS" : "HTTP",
             s->config.server.host, (unsigned)s->port,
             tls ? " (libmicrohttpd refused the TLS set-up; see the http.internal log line)" : "");
    close(fd);
    srv_conns_free(s);
    return false;
  }
  return true;
}

void srv_http_quiesce(srv *s) {
  if (s->daemon && s->listen_fd < 0) {
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    s->listen_fd = fd == MHD_INVALID_SOCKET ? -1 : fd;
  }
}

void srv_http_stop(srv *s) {
  if (s->daemon) MHD_stop_daemon(s->daemon);
  s->daemon = NULL;
  srv_conns_free(s); /* after the daemon: every connection has been notified closed */
  if (s->listen_fd >= 0) close(s->listen_fd);
  s->listen_fd = -1;
}
