/* hvctl_http.c: libcurl easy interface, one handle per request. */
#include "hvctl_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

bool hvctl_http_init(void) { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

void hvctl_http_cleanup(void) { curl_global_cleanup(); }

typedef struct hvctl_sink {
  char *data;
  size_t len, cap;
  bool too_large;
} hvctl_sink;

static size_t hvctl_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
  hvctl_sink *s = userdata;
  size_t n = size * nmemb;
  if (n > HVCTL_RESPONSE_MAX - s->len) {
    s->too_large = true;
    return 0; /* aborts the transfer */
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + n + 1) cap *= 2;
    char *p = realloc(s->data, cap);
    if (!p) return 0;
    s->data = p;
    s->cap = cap;
  }
  memcpy(s->data + s->len, ptr, n);
  s->len += n;
  s->data[s->len] = '\0';
  return n;
}

static const char *hvctl_cacert; /* --cacert; NULL: the system's CAs */

void hvctl_http_set_cacert(const char *file) { hvctl_cacert = file; }

bool hvctl_http(const hvctl_request *req, hvctl_response *out) {
  memset(out, 0, sizeof *out);
  CURL *curl = curl_easy_init();
  if (!curl) {
    snprintf(out->error, sizeof out->error, "cannot start libcurl");
    return false;
  }
  hvctl_sink sink = {0};
  struct curl_slist *headers = NULL;
  char line[1024];
  snprintf(line, sizeof line, "Accept: %s", req->accept ? req->accept : "application/json");
  headers = curl_slist_append(headers, line);
  if (req->api_key) {
    snprintf(line, sizeof line, "X-API-Key: %s", req->api_key);
    headers = curl_slist_append(headers, line);
    explicit_bzero(line, sizeof line); /* the key: curl has its own copy */
  }
  if (req->body) headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
  headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */

  curl_easy_setopt(curl, CURLOPT_URL, req->url);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, hvctl_write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, req->timeout_s > 0 ? req->timeout_s : 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (hvctl_cacert) curl_easy_setopt(curl, CURLOPT_CAINFO, hvctl_cacert);
  if (req->body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
  } else if (req->method && strcmp(req->method, "GET") != 0) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
  }
  CURLcode rc = curl_easy_perform(curl);
  bool ok = rc == CURLE_OK;
  if (ok) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
  } else if (sink.too_large) {
    snprintf(out->error, sizeof out->error, "the response is larger than %zu bytes",
             HVCTL_RESPONSE_MAX);
  } else {
    snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(rc));
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (!ok) {
    free(sink.data);
    return false;
  }
  if (!sink.data) {
    sink.data = calloc(1, 1);
    if (!sink.data) {
      snprintf(out->error, sizeof out->error, "out of memory");
      return false;
    }
  }
  out->body = sink.data;
  out->len = sink.len;
  return true;
}

void hvctl_response_free(hvctl_response *r) {
  free(r->body);
  r->body = NULL;
  r->len = 0;
}
