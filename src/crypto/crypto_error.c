/*
 * crypto_error.c: the status table and how failures, OpenSSL's included, become an hv_crypto_err.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "crypto_int.h"

typedef struct status_entry {
  const char *name;
  hv_crypto_class class_;
  const char *text;
} status_entry;

static const status_entry status_table[] = {
#define HV_CRYPTO__ROW(name, class_, text) {#name, HV_CRYPTO_CLASS_##class_, text},
    HV_CRYPTO_STATUS_MAP(HV_CRYPTO__ROW)
#undef HV_CRYPTO__ROW
};

#define STATUS_COUNT (sizeof status_table / sizeof status_table[0])

const char *hv_crypto_status_name(hv_crypto_status status) {
  return (size_t)status < STATUS_COUNT ? status_table[status].name : "HV_CRYPTO_UNKNOWN";
}

const char *hv_crypto_status_text(hv_crypto_status status) {
  return (size_t)status < STATUS_COUNT ? status_table[status].text : "unknown status";
}

hv_crypto_class hv_crypto_status_class(hv_crypto_status status) {
  return (size_t)status < STATUS_COUNT ? status_table[status].class_ : HV_CRYPTO_CLASS_INTERNAL;
}

void hv_crypto__begin(hv_crypto_err *err) {
  ERR_clear_error();
  if (err != NULL) {
    err->status = HV_CRYPTO_OK;
    err->message[0] = '\0';
  }
}

hv_crypto_status hv_crypto__fail(hv_crypto_err *err, hv_crypto_status status, const char *fmt,
                                 ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    if (vsnprintf(err->message, sizeof err->message, fmt, ap) < 0)
      snprintf(err->message, sizeof err->message, "%s", hv_crypto_status_text(status));
    va_end(ap);
  }
  return status;
}

hv_crypto_status hv_crypto__ossl_fail(hv_crypto_err *err, hv_crypto_status status,
                                      const char *what) {
  /* The earliest queued error is the root cause; later ones are callers adding context. */
  unsigned long code = ERR_peek_error();
  char reason[128] = "no OpenSSL error queued";

  if (code != 0)
    ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  if (hv_crypto_status_class(status) == HV_CRYPTO_CLASS_INTERNAL)
    hv_crypto__fail(err, status, "%s: %s", what, reason);
  else
    hv_crypto__fail(err, status, "%s", what);
  return status;
}

void hv_crypto__lock_check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "hv_crypto: %s failed (error %d)\n", what, rc);
    abort();
  }
}
