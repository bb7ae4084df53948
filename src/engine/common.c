/* common.c: error reporting, checked allocation and the clock, shared by the whole engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"

static const char *const status_names[] = {
#define HVW__NAME(name, text) #name,
    HVW_STATUS_MAP(HVW__NAME)
#undef HVW__NAME
};
static const char *const status_texts[] = {
#define HVW__TEXT(name, text) text,
    HVW_STATUS_MAP(HVW__TEXT)
#undef HVW__TEXT
};
static const char *const trap_messages[] = {
#define HVW__TEXT(name, text) text,
    HVW_TRAP_MAP(HVW__TEXT)
#undef HVW__TEXT
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *hvw_status_name(hvw_status status) {
  return (unsigned)status < COUNT_OF(status_names) ? status_names[status] : "HVW_UNKNOWN_STATUS";
}

const char *hvw_status_text(hvw_status status) {
  return (unsigned)status < COUNT_OF(status_texts) ? status_texts[status] : "unknown status";
}

const char *hvw_trap_message(hvw_trap trap) {
  return (unsigned)trap < COUNT_OF(trap_messages) ? trap_messages[trap] : "unknown trap";
}

const char *hvw_valtype_name(hvw_valtype type) {
  switch (type) {
    case HVW_TYPE_I32: return "i32";
    case HVW_TYPE_I64: return "i64";
    case HVW_TYPE_F32: return "f32";
    case HVW_TYPE_F64: return "f64";
    case HVW_TYPE_V128: return "v128";
    case HVW_TYPE_FUNCREF: return "funcref";
    case HVW_TYPE_EXTERNREF: return "externref";
    default: return NULL;
  }
}

HVW__PRINTF(3, 0)
hvw_status hvw__vfail(hvw_error *err, hvw_status status, const char *fmt, va_list ap) {
  if (err) {
    err->status = status;
    err->trap = HVW_TRAP_NONE;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
  }
  return status;
}

hvw_status hvw__fail(hvw_error *err, hvw_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hvw__vfail(err, status, fmt, ap);
  va_end(ap);
  return status;
}

hvw_status hvw__trap(hvw_error *err, hvw_trap trap) {
  if (err) {
    err->status = HVW_TRAP;
    err->trap = trap;
    snprintf(err->message, sizeof err->message, "%s", hvw_trap_message(trap));
  }
  return HVW_TRAP;
}

void hvw__error_clear(hvw_error *err) {
  if (err) {
    err->status = HVW_OK;
    err->trap = HVW_TRAP_NONE;
    err->message[0] = '\0';
  }
}

void *hvw__calloc(size_t n, size_t size) {
  if (n == 0 || size == 0) return calloc(1, 1); /* a unique non-NULL pointer: NULL means failure */
  return calloc(n, size);
}

void *hvw__reallocarray(void *p, size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size) return NULL;
  size_t bytes = n * size;
  return realloc(p, bytes ? bytes : 1);
}

static size_t page_size(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (size_t)p : 4096;
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

void *hvw__pages_map(size_t *size) {
  if (*size < HVW__PAGES_MIN) return malloc(*size ? *size : 1);
  if (*size > SIZE_MAX / 2) return NULL;
  size_t align = *size >= HVW__HUGE_PAGE ? HVW__HUGE_PAGE : page_size();
  size_t want = round_up(*size ? *size : 1, align);
  /* a huge page starts on a 2 MiB boundary: map one more and cut both ends to it */
  size_t map = align == HVW__HUGE_PAGE ? want + HVW__HUGE_PAGE : want;
  uint8_t *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if (map != want) {
    uint8_t *start = (uint8_t *)round_up((uintptr_t)p, HVW__HUGE_PAGE);
    if (start > p) munmap(p, (size_t)(start - p));
    size_t tail = (size_t)(p + map - (start + want));
    if (tail) munmap(start + want, tail);
    p = start;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, want, MADV_HUGEPAGE); /* a hint: without huge pages the memory still works */
#endif
  }
  *size = want;
  return p;
}

void hvw__pages_trim(void *p, size_t *size, size_t keep) {
  if (*size < HVW__PAGES_MIN) return;
  keep = round_up(keep < HVW__PAGES_MIN ? HVW__PAGES_MIN : keep, page_size());
  if (keep >= *size) return;
  munmap((uint8_t *)p + keep, *size - keep);
  *size = keep;
}

void hvw__pages_unmap(void *p, size_t size) {
  if (size < HVW__PAGES_MIN) free(p);
  else if (p) munmap(p, size);
}

uint64_t hvw__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void hvw__invariant_broken(const char *what, const char *file, int line) {
  fprintf(stderr, "%s:%d: engine invariant broken: %s\n", file, line, what);
  abort();
}
