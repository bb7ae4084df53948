/*
 * hvctl_http.h: the few HTTP calls hvctl makes, on libcurl. One request at a time, bounded
 * response size, timeouts on connect and on the whole exchange.
 */
#ifndef HV_HVCTL_HTTP_H
#define HV_HVCTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HVCTL_RESPONSE_MAX ((size_t)64 * 1024 * 1024)

typedef struct hvctl_response {
  long status;    /* HTTP status; 0 when no response came */
  char *body;     /* NUL-terminated, len bytes; the caller frees it with hvctl_response_free() */
  size_t len;
  char error[256]; /* why no response came (curl's message) */
} hvctl_response;

typedef struct hvctl_request {
  const char *method; /* "GET" or "POST" */
  const char *url;
  const char *api_key; /* NULL: no X-API-Key */
  const char *accept;  /* NULL: application/json */
  const char *body;    /* POST: JSON text */
  size_t body_len;
  long timeout_s;      /* whole exchange */
} hvctl_request;

/* A CA bundle (PEM) that https:// servers are checked against instead of the system's, for a
 * server with a private CA (--cacert). Borrowed: the string must outlive the requests. NULL: the
 * system's trust store. */
void hvctl_http_set_cacert(const char *file);

/* Calls curl_global_init once; call before any request. */
bool hvctl_http_init(void);
void hvctl_http_cleanup(void);

/* Makes the request. True when a response (any status) came; false with out->error otherwise.
 * out is always filled; free it with hvctl_response_free(). */
bool hvctl_http(const hvctl_request *req, hvctl_response *out);
void hvctl_response_free(hvctl_response *r);

#endif /* HV_HVCTL_HTTP_H */
