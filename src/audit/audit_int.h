/*
 * audit_int.h: what the audit front end (audit.c) and its backends share.
 */
#ifndef HV_AUDIT_INT_H
#define HV_AUDIT_INT_H

#include "hv_audit.h"

/* Fills err (may be NULL) with status and a formatted message; returns status. */
hv_audit_status audit_fail(hv_audit_error *err, hv_audit_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to HV_AUDIT_OK; returns HV_AUDIT_OK. */
hv_audit_status audit_ok(hv_audit_error *err);

#define AUDIT_MAX_CONNECTIONS 64u
#define AUDIT_DEFAULT_CONNECTIONS 4u
#define AUDIT_DEFAULT_BUSY_TIMEOUT_MS 5000u
#define AUDIT_DEFAULT_PURGE_BATCH 1000u

#endif /* HV_AUDIT_INT_H */
