/*
 * watchdog.c: one thread that interrupts every execution past its deadline.
 *
 * Armed deadlines sit in a min-heap under one mutex; the thread sleeps on a condition variable
 * (CLOCK_MONOTONIC) until the earliest one. It raises the interrupt while still holding the mutex,
 * so once hvw_watchdog_disarm() has taken the mutex and removed a ticket, the watchdog never
 * touches that store again. Disarm is O(armed tickets): a service has few executions in flight.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "runtime_int.h"

typedef struct watch_entry {
  uint64_t deadline_ns;
  uint64_t ticket;
  hvw_store *store;
} watch_entry;

struct hvw_watchdog {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  pthread_t thread;
  bool stop;
  watch_entry *heap; /* min-heap on deadline_ns */
  size_t count, capacity;
  uint64_t next_ticket;
};

static bool entry_before(const watch_entry *a, const watch_entry *b) {
  return a->deadline_ns < b->deadline_ns || (a->deadline_ns == b->deadline_ns && a->ticket < b->ticket);
}

static void heap_swap(watch_entry *h, size_t a, size_t b) {
  watch_entry t = h[a];
  h[a] = h[b];
  h[b] = t;
}

static void sift_up(watch_entry *h, size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!entry_before(&h[i], &h[parent])) break;
    heap_swap(h, i, parent);
    i = parent;
  }
}

static void sift_down(watch_entry *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && entry_before(&h[l], &h[m])) m = l;
    if (r < n && entry_before(&h[r], &h[m])) m = r;
    if (m == i) break;
    heap_swap(h, i, m);
    i = m;
  }
}

static void heap_remove_at(hvw_watchdog *w, size_t i) {
  w->count--;
  if (i == w->count) return;
  w->heap[i] = w->heap[w->count];
  sift_down(w->heap, w->count, i);
  sift_up(w->heap, i);
}

static void *watchdog_main(void *arg) {
  hvw_watchdog *w = arg;
  pthread_mutex_lock(&w->mutex);
  while (!w->stop) {
    uint64_t now = hvw__now_ns();
    while (w->count && w->heap[0].deadline_ns <= now) {
      hvw_store_interrupt(w->heap[0].store); /* under the mutex: see disarm */
      heap_remove_at(w, 0);
    }
    if (w->count == 0) {
      pthread_cond_wait(&w->cond, &w->mutex);
    } else {
      uint64_t d = w->heap[0].deadline_ns;
      struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
      pthread_cond_timedwait(&w->cond, &w->mutex, &ts);
    }
  }
  pthread_mutex_unlock(&w->mutex);
  return NULL;
}

hvw_watchdog *hvw_watchdog_new(hvw_error *err) {
  hvw__error_clear(err);
  hvw_watchdog *w = calloc(1, sizeof *w);
  if (!w) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  w->next_ticket = 1;
  pthread_condattr_t attr;
  bool mutex_ok = false, cond_ok = false;
  if (pthread_mutex_init(&w->mutex, NULL) != 0) goto fail;
  mutex_ok = true;
  if (pthread_condattr_init(&attr) != 0) goto fail;
  int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(&w->cond, &attr);
  pthread_condattr_destroy(&attr);
  if (rc != 0) goto fail;
  cond_ok = true;
  if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) goto fail;
  return w;

fail:
  if (cond_ok) pthread_cond_destroy(&w->cond);
  if (mutex_ok) pthread_mutex_destroy(&w->mutex);
  free(w);
  hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "cannot start the watchdog thread");
  return NULL;
}

void hvw_watchdog_free(hvw_watchdog *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mutex);
  w->stop = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->mutex);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->mutex);
  free(w->heap);
  free(w);
}

uint64_t hvw_watchdog_arm(hvw_watchdog *w, hvw_store *store, uint64_t timeout_ns) {
  if (!w || !store) return 0;
  uint64_t now = hvw__now_ns();
  uint64_t deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
  uint64_t ticket = 0;
  pthread_mutex_lock(&w->mutex);
  if (w->count == w->capacity) {
    size_t cap = w->capacity ? w->capacity * 2 : 16;
    watch_entry *h = hvw__reallocarray(w->heap, cap, sizeof *h);
    if (!h) goto out;
    w->heap = h;
    w->capacity = cap;
  }
  ticket = w->next_ticket++;
  w->heap[w->count] = (watch_entry){deadline, ticket, store};
  sift_up(w->heap, w->count);
  w->count++;
  if (w->heap[0].ticket == ticket) pthread_cond_signal(&w->cond); /* a new earliest deadline */
out:
  pthread_mutex_unlock(&w->mutex);
  return ticket;
}

void hvw_watchdog_disarm(hvw_watchdog *w, uint64_t ticket) {
  if (!w || ticket == 0) return;
  pthread_mutex_lock(&w->mutex);
  for (size_t i = 0; i < w->count; i++) {
    if (w->heap[i].ticket == ticket) {
      heap_remove_at(w, i);
      break;
    }
  }
  pthread_mutex_unlock(&w->mutex);
}
