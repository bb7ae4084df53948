/*
 * srv_commit.c: the audit writer (srv_int.h, "Audit writer"; docs/service.md, "The audit writer").
 *
 * One thread writes every audit record, in the order they were submitted, and calls each record's
 * continuation once the record is durable (or the write failed). Whatever is queued while a write
 * is in progress goes out in the next round, so the records of concurrent requests share rounds:
 *
 *   - a round of several records is one hv_audit_put_batch: one transaction and one fsync for up to
 *     SRV_COMMIT_BATCH_MAX records (group commit);
 *   - a lone record is one hv_audit_put; either way only this thread writes, so writers never queue
 *     on SQLite's write lock (whose busy handler sleeps for milliseconds at a time).
 *
 * No executor or HTTP thread ever waits for the disk: an execute request stays suspended until its
 * record's continuation resumes it, so a 200 still leaves only after its record is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_int.h"

struct srv_committer {
  hv_audit_store *audit;
  srv_tlog *tlog; /* NULL: no transparency log */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  srv_commit_item *head, *tail;
  bool stopping; /* no new items: submit writes inline */
  bool started;
  pthread_t thread;
  atomic_ullong rounds, records;
};

_Static_assert(SRV_COMMIT_BATCH_MAX <= HV_AUDIT_BATCH_MAX, "a round must fit one hv_audit_put_batch");

/* A round with the transparency log: one transaction stores the records and appends their leaves
 * (hv_audit_log_put_batch), then one checkpoint of the tree after the round is signed, and each
 * continuation gets its receipt. A lone record is a round of one. */
static void srv_commit_round_logged(srv_committer *c, srv_commit_item *items, size_t n) {
  const hv_audit_record *recs[SRV_COMMIT_BATCH_MAX] = {0};
  hv_audit_status statuses[SRV_COMMIT_BATCH_MAX];
  size_t k = 0;
  for (srv_commit_item *it = items; it && k < n; it = it->next_) recs[k++] = &it->record;
  hv_audit_log_receipt *receipts = malloc(k * sizeof *receipts);
  hv_audit_error err = {0};
  uint64_t size = 0;
  uint8_t root[HV_TLOG_HASH_LEN];
  char note[HV_TLOG_NOTE_MAX];
  size_t note_len = 0;
  bool signed_ok = false;
  if (!receipts) {
    for (size_t i = 0; i < k; i++) statuses[i] = HV_AUDIT_NO_MEMORY;
    snprintf(err.message, sizeof err.message, "out of memory");
  } else {
    hv_audit_log_put_batch(c->audit, recs, k, statuses, receipts, &size, root, &err);
    bool any = false;
    for (size_t i = 0; i < k; i++) any = any || statuses[i] == HV_AUDIT_OK;
    /* The records are durable; a checkpoint that cannot be signed only leaves the replies without
     * receipts (the next round's checkpoint covers these leaves too). */
    if (any) signed_ok = srv_tlog_sign(c->tlog, size, root, note, &note_len);
  }
  k = 0;
  for (srv_commit_item *it = items, *next; it && k < n; it = next, k++) {
    next = it->next_;
    hv_audit_error one = {.status = statuses[k]};
    snprintf(one.message, sizeof one.message, "%s", statuses[k] == HV_AUDIT_OK ? "" : err.message);
    if (statuses[k] == HV_AUDIT_OK && signed_ok) {
      it->receipt = &receipts[k];
      it->tree_size = size;
      it->checkpoint = note;
      it->checkpoint_len = note_len;
    }
    it->done(it, statuses[k], &one); /* may free the item: no access after */
  }
  free(receipts);
  atomic_fetch_add(&c->rounds, 1);
  atomic_fetch_add(&c->records, n);
}

/* Writes `n` records (items linked through next_) and calls their continuations. */
static void srv_commit_round(srv_committer *c, srv_commit_item *items, size_t n) {
  for (srv_commit_item *it = items; it; it = it->next_) {
    it->receipt = NULL;
    it->checkpoint = NULL;
    it->checkpoint_len = 0;
    it->tree_size = 0;
  }
  if (c->tlog) {
    srv_commit_round_logged(c, items, n);
    return;
  }
  if (n > 1) {
    const hv_audit_record *recs[SRV_COMMIT_BATCH_MAX] = {0};
    hv_audit_status statuses[SRV_COMMIT_BATCH_MAX];
    size_t k = 0;
    for (srv_commit_item *it = items; it && k < n; it = it->next_) recs[k++] = &it->record;
    hv_audit_error err = {0};
    hv_audit_put_batch(c->audit, recs, k, statuses, &err);
    k = 0;
    for (srv_commit_item *it = items, *next; it && k < n; it = next, k++) {
      next = it->next_; /* the continuation may free the item */
      hv_audit_error one = {.status = statuses[k]};
      snprintf(one.message, sizeof one.message, "%s",
               statuses[k] == HV_AUDIT_OK ? "" : err.message);
      it->done(it, statuses[k], &one);
    }
    atomic_fetch_add(&c->rounds, 1);
    atomic_fetch_add(&c->records, n);
    return;
  }
  size_t k = 0;
  for (srv_commit_item *it = items, *next; it && k < n; it = next, k++) {
    next = it->next_;
    hv_audit_error err = {0};
    hv_audit_status st = hv_audit_put(c->audit, &it->record, &err);
    it->done(it, st, &err);
  }
  atomic_fetch_add(&c->rounds, 1);
  atomic_fetch_add(&c->records, n);
}

static void *srv_commit_main(void *arg) {
  srv_committer *c = arg;
  pthread_mutex_lock(&c->mu);
  for (;;) {
    while (!c->head && !c->stopping) pthread_cond_wait(&c->cv, &c->mu);
    if (!c->head) break; /* stopping and drained */
    /* Take up to SRV_COMMIT_BATCH_MAX records; later ones wait for the next round. */
    srv_commit_item *first = c->head, *last = c->head;
    size_t n = 1;
    while (last->next_ && n < SRV_COMMIT_BATCH_MAX) {
      last = last->next_;
      n++;
    }
    c->head = last->next_;
    if (!c->head) c->tail = NULL;
    last->next_ = NULL;
    pthread_mutex_unlock(&c->mu);
    srv_commit_round(c, first, n);
    pthread_mutex_lock(&c->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

srv_committer *srv_committer_new(hv_audit_store *audit, srv_tlog *tlog, char *why,
                                 size_t why_size) {
  srv_committer *c = calloc(1, sizeof *c);
  if (!c) {
    snprintf(why, why_size, "out of memory");
    return NULL;
  }
  c->audit = audit;
  c->tlog = tlog;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  atomic_init(&c->rounds, 0);
  atomic_init(&c->records, 0);
  int rc = pthread_create(&c->thread, NULL, srv_commit_main, c);
  if (rc != 0) {
    snprintf(why, why_size, "cannot start the audit writer thread: %s", strerror(rc));
    srv_committer_free(c);
    return NULL;
  }
  c->started = true;
  return c;
}

void srv_committer_submit(srv_committer *c, srv_commit_item *item) {
  item->next_ = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->stopping) {
    pthread_mutex_unlock(&c->mu);
    srv_commit_round(c, item, 1); /* after stop: written on the caller's thread */
    return;
  }
  if (c->tail) c->tail->next_ = item;
  else c->head = item;
  c->tail = item;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
}

void srv_committer_stop(srv_committer *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->stopping = true;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (c->started) pthread_join(c->thread, NULL);
  c->started = false;
}

void srv_committer_counts(srv_committer *c, uint64_t *rounds, uint64_t *records) {
  *rounds = atomic_load(&c->rounds);
  *records = atomic_load(&c->records);
}

void srv_committer_free(srv_committer *c) {
  if (!c) return;
  srv_committer_stop(c);
  pthread_cond_destroy(&c->cv);
  pthread_mutex_destroy(&c->mu);
  free(c);
}
