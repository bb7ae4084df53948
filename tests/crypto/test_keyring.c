/*
 * The server key ring: persistence with owner-only permissions, restarts, rotation on an injected
 * clock (no sleeps), destruction of expired keys, refusal of an unreadable ring, and decryption
 * from several threads while rotations happen.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "hv_crypto.h"

#define T0 1764000000 /* 2025-11-24T16:00:00Z */
#define PERIOD 3600

typedef struct fixture {
  char root[64];  /* mkdtemp */
  char dir[128];  /* root/keys: does not exist before the test opens the ring */
} fixture;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (f == NULL)
    return -1;
  snprintf(f->root, sizeof f->root, "/tmp/hv-keyring-XXXXXX");
  if (mkdtemp(f->root) == NULL)
    return -1;
  snprintf(f->dir, sizeof f->dir, "%s/data/keys", f->root);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* Number of directory entries whose name ends with ".key". */
static size_t key_files(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *de;
  size_t n = 0;
  assert_non_null(d);
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    n += len > 4 && strcmp(de->d_name + len - 4, ".key") == 0;
  }
  closedir(d);
  return n;
}

static void key_path(const fixture *f, const char *key_id, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s.key", f->dir, key_id);
}

/* SealBase to the ring's key `info` with the protocol's request info and a fixed aad. */
static uint8_t *seal_to(const hv_keyring_key_info *info, const char *text, size_t *len) {
  hpke_public_key *pk = NULL;
  uint8_t *out = NULL;
  assert_int_equal(hpke_public_key_parse(info->public_key, HPKE_PUBLIC_KEY_LEN, &pk, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_seal_base(HPKE_SUITE_PROTOCOL, pk, (const uint8_t *)"info", 4,
                                  (const uint8_t *)"aad", 3, (const uint8_t *)text, strlen(text),
                                  &out, len, NULL),
                   HV_CRYPTO_OK);
  hpke_public_key_free(pk);
  return out;
}

/* Decrypts with key_id (NULL: any live key) and returns the status; checks the plaintext. */
static hv_crypto_status ring_open(hv_keyring *ring, const char *key_id, const uint8_t *in,
                                  size_t len, const char *text, char used[HV_KEY_ID_LEN + 1]) {
  uint8_t *pt = NULL;
  size_t pt_len = 0;
  hv_crypto_err err;
  hv_crypto_status rc = hv_keyring_decrypt(ring, key_id, in, len, (const uint8_t *)"info", 4,
                                           (const uint8_t *)"aad", 3, &pt, &pt_len, used, &err);
  if (rc == HV_CRYPTO_OK) {
    assert_int_equal(pt_len, strlen(text));
    assert_memory_equal(pt, text, pt_len);
  } else {
    assert_null(pt);
    assert_int_equal(hv_crypto_status_class(rc), HV_CRYPTO_CLASS_ENCRYPTION);
  }
  free(pt);
  return rc;
}

static void test_new_ring(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  hv_keyring_key_info info[4];
  size_t count = 0;
  struct stat st;
  char path[256];
  uint8_t digest[32];
  char want_id[HV_KEY_ID_LEN + 1];
  unsigned int dlen = 0;

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, info, 4, &count);
  assert_int_equal(count, 1);
  assert_true(info[0].current);
  assert_int_equal(info[0].created_at, T0);
  assert_int_equal(info[0].expires_at, T0 + 2 * PERIOD);
  assert_int_equal(info[0].public_key[0], 0x04);
  /* key_id = hex(SHA-256(SEC1)[0..8]), computed here independently */
  assert_int_equal(EVP_Digest(info[0].public_key, HPKE_PUBLIC_KEY_LEN, digest, &dlen, EVP_sha256(),
                              NULL),
                   1);
  hv_crypto_hex_encode(digest, 8, want_id);
  assert_string_equal(info[0].key_id, want_id);
  /* owner-only directory and file */
  assert_int_equal(stat(f->dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  key_path(f, info[0].key_id, path, sizeof path);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(key_files(f->dir), 1);
  hv_keyring_close(ring);
}

static void test_survives_restart(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  hv_keyring_key_info before, after;
  uint8_t *sealed = NULL;
  size_t len = 0;
  char used[HV_KEY_ID_LEN + 1];

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &before, NULL), HV_CRYPTO_OK);
  sealed = seal_to(&before, "sealed before the restart", &len);
  hv_keyring_close(ring);

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0 + PERIOD - 1, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &after, NULL), HV_CRYPTO_OK);
  assert_string_equal(before.key_id, after.key_id);
  assert_memory_equal(before.public_key, after.public_key, HPKE_PUBLIC_KEY_LEN);
  assert_int_equal(before.created_at, after.created_at);
  assert_int_equal(ring_open(ring, before.key_id, sealed, len, "sealed before the restart", used),
                   HV_CRYPTO_OK);
  assert_string_equal(used, before.key_id);
  assert_int_equal(key_files(f->dir), 1);
  hv_keyring_close(ring);
  free(sealed);
}

/* K1 at T0; K2 at T0+P (K1 still decrypts); K3 at T0+2P and K1 destroyed. */
static void test_rotation_on_injected_clock(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  hv_keyring_key_info k1, k2, k3, list[4];
  size_t count = 0, len1 = 0, len2 = 0;
  uint8_t *to_k1 = NULL, *to_k2 = NULL;
  char path[256];
  char used[HV_KEY_ID_LEN + 1];

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &k1, NULL), HV_CRYPTO_OK);
  to_k1 = seal_to(&k1, "to k1", &len1);

  assert_int_equal(hv_keyring_rotate_if_due(ring, T0 + PERIOD - 1, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 1); /* not due yet */

  assert_int_equal(hv_keyring_rotate_if_due(ring, T0 + PERIOD, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &k2, NULL), HV_CRYPTO_OK);
  assert_string_not_equal(k2.key_id, k1.key_id);
  assert_int_equal(k2.created_at, T0 + PERIOD);
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 2);
  assert_string_equal(list[0].key_id, k2.key_id); /* current first */
  assert_true(list[0].current);
  assert_false(list[1].current);
  assert_int_equal(list[1].expires_at, T0 + 2 * PERIOD);
  assert_int_equal(key_files(f->dir), 2);
  to_k2 = seal_to(&k2, "to k2", &len2);
  /* the previous key still decrypts, by id and by trying every key */
  assert_int_equal(ring_open(ring, k1.key_id, to_k1, len1, "to k1", used), HV_CRYPTO_OK);
  assert_int_equal(ring_open(ring, NULL, to_k1, len1, "to k1", used), HV_CRYPTO_OK);
  assert_string_equal(used, k1.key_id);
  assert_int_equal(ring_open(ring, "", to_k2, len2, "to k2", used), HV_CRYPTO_OK);
  assert_string_equal(used, k2.key_id);
  /* a key_id that does not match the message */
  assert_int_equal(ring_open(ring, k2.key_id, to_k1, len1, "to k1", used),
                   HV_CRYPTO_DECRYPT_FAILED);

  assert_int_equal(hv_keyring_rotate_if_due(ring, T0 + 2 * PERIOD - 1, NULL), HV_CRYPTO_OK);
  assert_int_equal(ring_open(ring, k1.key_id, to_k1, len1, "to k1", used), HV_CRYPTO_OK);

  assert_int_equal(hv_keyring_rotate_if_due(ring, T0 + 2 * PERIOD, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &k3, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 2);
  assert_string_equal(list[0].key_id, k3.key_id);
  assert_string_equal(list[1].key_id, k2.key_id);
  /* K1 is gone: from memory, from disk, and it no longer decrypts */
  assert_int_equal(hv_keyring_find(ring, k1.key_id, list, NULL), HV_CRYPTO_UNKNOWN_KEY_ID);
  key_path(f, k1.key_id, path, sizeof path);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(key_files(f->dir), 2);
  assert_int_equal(ring_open(ring, k1.key_id, to_k1, len1, "to k1", used),
                   HV_CRYPTO_UNKNOWN_KEY_ID);
  assert_int_equal(ring_open(ring, NULL, to_k1, len1, "to k1", used), HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(ring_open(ring, k2.key_id, to_k2, len2, "to k2", used), HV_CRYPTO_OK);
  hv_keyring_close(ring);

  /* ... and a restart agrees */
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0 + 2 * PERIOD, &ring, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 2);
  assert_string_equal(list[0].key_id, k3.key_id);
  hv_keyring_close(ring);
  free(to_k1);
  free(to_k2);
}

/* After a long stop the old key gets one more period from the restart, not from its schedule. */
static void test_restart_after_downtime(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  hv_keyring_key_info k1, list[4];
  size_t count = 0;
  const int64_t later = T0 + 10 * PERIOD;

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &k1, NULL), HV_CRYPTO_OK);
  hv_keyring_close(ring);
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, later, &ring, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 2);
  assert_int_equal(list[0].created_at, later);
  assert_string_equal(list[1].key_id, k1.key_id);
  assert_int_equal(list[1].expires_at, later + PERIOD);
  /* one period on, K1 goes (and the restart's key is itself superseded) */
  assert_int_equal(hv_keyring_rotate_if_due(ring, later + PERIOD, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 2);
  assert_int_equal(hv_keyring_find(ring, k1.key_id, list, NULL), HV_CRYPTO_UNKNOWN_KEY_ID);
  hv_keyring_close(ring);
}

/* Opens the ring expecting failure want, and checks that nothing was replaced. */
static void assert_open_refused(const fixture *f, hv_crypto_status want, const char *secret_hex) {
  hv_keyring *ring = (hv_keyring *)1;
  hv_crypto_err err;
  size_t files = key_files(f->dir);
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0 + 1, &ring, &err), want);
  assert_null(ring);
  assert_true(strlen(err.message) > 0);
  if (secret_hex != NULL)
    assert_null(strstr(err.message, secret_hex)); /* the message never carries the key */
  assert_int_equal(key_files(f->dir), files);
}

static void read_file(const char *path, char *buf, size_t cap) {
  FILE *fp = fopen(path, "r");
  size_t n;
  assert_non_null(fp);
  n = fread(buf, 1, cap - 1, fp);
  buf[n] = '\0';
  fclose(fp);
}

static void write_file(const char *path, const char *text, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static void test_unreadable_ring_refused(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  hv_keyring_key_info k;
  char path[256], other[256], text[1024], secret[65] = "";
  const char *p;

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &k, NULL), HV_CRYPTO_OK);
  hv_keyring_close(ring);
  key_path(f, k.key_id, path, sizeof path);
  read_file(path, text, sizeof text);
  p = strstr(text, "private_key ");
  assert_non_null(p);
  memcpy(secret, p + 12, 64);

  /* group/other permissions on a key file */
  assert_int_equal(chmod(path, 0640), 0);
  assert_open_refused(f, HV_CRYPTO_KEYRING_PERMISSIONS, secret);
  assert_int_equal(chmod(path, 0600), 0);
  /* a damaged file: a changed digit of the private key no longer matches the public key */
  {
    char damaged[1024];
    memcpy(damaged, text, sizeof damaged);
    char *digit = strstr(damaged, "private_key ") + 12;
    *digit = *digit == '0' ? '1' : '0';
    write_file(path, damaged, 0600);
    assert_open_refused(f, HV_CRYPTO_KEYRING_CORRUPT, secret);
    write_file(path, "garbage\n", 0600);
    assert_open_refused(f, HV_CRYPTO_KEYRING_CORRUPT, secret);
    write_file(path, "", 0600);
    assert_open_refused(f, HV_CRYPTO_KEYRING_CORRUPT, secret);
  }
  /* an intact file under another key's name */
  write_file(path, text, 0600);
  snprintf(other, sizeof other, "%s/0123456789abcdef.key", f->dir);
  assert_int_equal(rename(path, other), 0);
  assert_open_refused(f, HV_CRYPTO_KEYRING_CORRUPT, secret);
  /* a symbolic link where a key file should be */
  assert_int_equal(unlink(other), 0);
  assert_int_equal(symlink("/etc/hostname", path), 0);
  assert_open_refused(f, HV_CRYPTO_KEYRING_IO, secret);
  assert_int_equal(unlink(path), 0);
  /* the intact file back: the ring opens with the same key */
  write_file(path, text, 0600);
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0 + 1, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_find(ring, k.key_id, &k, NULL), HV_CRYPTO_OK);
  hv_keyring_close(ring);
}

/* A leftover temporary file is removed, foreign names are left alone, a loose directory is
 * tightened to 0700. */
static void test_directory_housekeeping(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  char path[256];
  struct stat st;

  snprintf(path, sizeof path, "%s/data", f->root);
  assert_int_equal(mkdir(path, 0755), 0);
  assert_int_equal(mkdir(f->dir, 0755), 0);
  assert_int_equal(chmod(f->dir, 0755), 0);
  snprintf(path, sizeof path, "%s/.tmp-0011223344556677", f->dir);
  write_file(path, "half-written", 0600);
  snprintf(path, sizeof path, "%s/README", f->dir);
  write_file(path, "not a key", 0644);
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(stat(f->dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  snprintf(path, sizeof path, "%s/.tmp-0011223344556677", f->dir);
  assert_int_equal(access(path, F_OK), -1);
  snprintf(path, sizeof path, "%s/README", f->dir);
  assert_int_equal(access(path, F_OK), 0);
  assert_int_equal(key_files(f->dir), 1);
  hv_keyring_close(ring);
}

static void test_queries(void **state) {
  fixture *f = *state;
  hv_keyring *ring = NULL;
  hv_keyring_key_info list[1], k;
  size_t count = 0;
  hv_crypto_err err;

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_rotate_if_due(ring, T0 + PERIOD, NULL), HV_CRYPTO_OK);
  hv_keyring_list(ring, list, 1, &count); /* cap below count */
  assert_int_equal(count, 2);
  assert_true(list[0].current);
  assert_int_equal(hv_keyring_find(ring, list[0].key_id, &k, NULL), HV_CRYPTO_OK);
  assert_true(k.current);
  assert_int_equal(hv_keyring_find(ring, "0000000000000000", &k, &err), HV_CRYPTO_UNKNOWN_KEY_ID);
  assert_int_equal(hv_keyring_find(ring, "not-a-key-id", &k, &err), HV_CRYPTO_UNKNOWN_KEY_ID);
  assert_int_equal(hv_keyring_find(ring, NULL, &k, &err), HV_CRYPTO_UNKNOWN_KEY_ID);
  assert_int_equal(err.status, HV_CRYPTO_UNKNOWN_KEY_ID);
  hv_keyring_close(ring);
  /* bad arguments */
  assert_int_equal(hv_keyring_open(f->dir, 0, T0, &ring, NULL), HV_CRYPTO_INVALID_ARGUMENT);
  assert_int_equal(hv_keyring_open("", PERIOD, T0, &ring, NULL), HV_CRYPTO_INVALID_ARGUMENT);
  assert_null(ring);
}

/* ---- Decrypting while rotating --------------------------------------------------------------- */

#define READERS 4
#define ROTATIONS 60

typedef struct shared {
  hv_keyring *ring;
  atomic_int done;
  atomic_long decrypted;  /* successful decryptions */
  atomic_long destroyed;  /* failures explained by the key's destruction */
  atomic_long rotation_time;
} shared;

static void *reader(void *arg) {
  shared *s = arg;
  char text[64];
  long i = 0;

  while (!atomic_load(&s->done)) {
    hv_keyring_key_info k, found;
    uint8_t *sealed = NULL;
    size_t len = 0;
    char used[HV_KEY_ID_LEN + 1];
    hv_crypto_status rc;

    snprintf(text, sizeof text, "message %ld", i++);
    assert_int_equal(hv_keyring_current(s->ring, &k, NULL), HV_CRYPTO_OK);
    sealed = seal_to(&k, text, &len);
    rc = ring_open(s->ring, (i % 2) ? k.key_id : NULL, sealed, len, text, used);
    if (rc == HV_CRYPTO_OK) {
      assert_string_equal(used, k.key_id);
      atomic_fetch_add(&s->decrypted, 1);
    } else {
      /* The only acceptable failure: the key was destroyed by rotations meanwhile. */
      assert_int_equal(hv_keyring_find(s->ring, k.key_id, &found, NULL), HV_CRYPTO_UNKNOWN_KEY_ID);
      atomic_fetch_add(&s->destroyed, 1);
    }
    free(sealed);
  }
  return NULL;
}

static void test_decrypt_while_rotating(void **state) {
  fixture *f = *state;
  shared s = {0};
  pthread_t threads[READERS];
  hv_keyring_key_info list[4];
  size_t count = 0;

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &s.ring, NULL), HV_CRYPTO_OK);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_create(&threads[i], NULL, reader, &s), 0);
  for (int r = 1; r <= ROTATIONS; r++) {
    /* Rotate only after the readers made progress, so rotations and decryptions interleave. */
    long seen = atomic_load(&s.decrypted) + atomic_load(&s.destroyed);
    while (atomic_load(&s.decrypted) + atomic_load(&s.destroyed) < seen + READERS)
      sched_yield();
    assert_int_equal(hv_keyring_rotate_if_due(s.ring, T0 + (int64_t)r * PERIOD, NULL),
                     HV_CRYPTO_OK);
  }
  atomic_store(&s.done, 1);
  for (int i = 0; i < READERS; i++)
    assert_int_equal(pthread_join(threads[i], NULL), 0);
  assert_true(atomic_load(&s.decrypted) >= ROTATIONS);
  hv_keyring_list(s.ring, list, 4, &count);
  assert_int_equal(count, 2); /* the current key and the previous one */
  assert_int_equal(key_files(f->dir), 2);
  hv_keyring_close(s.ring);
}


/* ---- Key-encryption key --------------------------------------------------------------------- */

#define KEK_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEK_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static void write_kek_file(const char *path, const char *data, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

/* The whole of a small file, NUL-terminated, in a static buffer. */
static const char *slurp(const char *path) {
  static char buf[4096];
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t n = fread(buf, 1, sizeof buf - 1, fp);
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

static hv_kek *kek_of(const char *hex) {
  hv_kek *k = NULL;
  assert_int_equal(hv_kek_from_text(hex, &k, NULL), HV_CRYPTO_OK);
  return k;
}

static void test_kek_sources(void **state) {
  fixture *f = *state;
  char path[256];
  hv_kek *k = NULL;
  hv_crypto_err err;

  snprintf(path, sizeof path, "%s/kek", f->root);
  write_kek_file(path, KEK_A "\n", sizeof KEK_A, 0600);
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_OK);
  hv_kek_free(k);
  /* readable by others: refused, and the message says how to fix it */
  assert_int_equal(chmod(path, 0644), 0);
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_KEK_INVALID);
  assert_null(k);
  assert_non_null(strstr(err.message, "mode 0600"));
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_KEK_INVALID);
  /* 32 raw bytes are the key itself */
  write_kek_file(path, "0123456789abcdef0123456789abcdef", 32, 0400);
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_OK);
  hv_kek_free(k);
  assert_int_equal(chmod(path, 0600), 0);
  /* short, long, not hex, missing */
  write_kek_file(path, KEK_A "0", sizeof KEK_A, 0600);
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_KEK_INVALID);
  write_kek_file(path, "zz" KEK_A, sizeof KEK_A - 1, 0600); /* 64 chars, two not hex */
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_KEK_INVALID);
  snprintf(path, sizeof path, "%s/no-such-kek", f->root);
  assert_int_equal(hv_kek_from_file(path, &k, &err), HV_CRYPTO_KEK_INVALID);
  assert_non_null(strstr(err.message, "no-such-kek"));
  /* the environment form */
  assert_int_equal(hv_kek_from_text(KEK_B, &k, &err), HV_CRYPTO_OK);
  hv_kek_free(k);
  assert_int_equal(hv_kek_from_text("abcd", &k, &err), HV_CRYPTO_KEK_INVALID);
  assert_non_null(strstr(err.message, HV_KEK_ENV));
  assert_int_equal(hv_kek_from_text(KEK_A "00", &k, &err), HV_CRYPTO_KEK_INVALID);
  assert_null(k);
}

static void test_kek_wrap(void **state) {
  (void)state;
  hv_kek *a = kek_of(KEK_A), *b = kek_of(KEK_B);
  uint8_t secret[32], wrapped[32 + HV_KEK_WRAP_OVERHEAD], again[32 + HV_KEK_WRAP_OVERHEAD];
  uint8_t out[32];
  size_t wlen = 0, wlen2 = 0, olen = 0;
  hv_crypto_err err;
  for (size_t i = 0; i < sizeof secret; i++)
    secret[i] = (uint8_t)(i * 7 + 1);
  assert_int_equal(hv_kek_wrap(a, "0123456789abcdef", secret, 32, wrapped, &wlen, &err),
                   HV_CRYPTO_OK);
  assert_int_equal(wlen, 32 + HV_KEK_WRAP_OVERHEAD);
  assert_int_equal(wrapped[0], HV_KEK_WRAP_VERSION);
  for (size_t i = 0; i + 8 <= wlen; i++) /* not in the clear */
    assert_memory_not_equal(wrapped + i, secret, 8);
  /* a fresh nonce each time */
  assert_int_equal(hv_kek_wrap(a, "0123456789abcdef", secret, 32, again, &wlen2, &err),
                   HV_CRYPTO_OK);
  assert_memory_not_equal(wrapped, again, wlen);
  assert_int_equal(hv_kek_unwrap(a, "0123456789abcdef", wrapped, wlen, out, &olen, &err),
                   HV_CRYPTO_OK);
  assert_int_equal(olen, 32);
  assert_memory_equal(out, secret, 32);
  /* another KEK, another key_id, a flipped bit, another version */
  assert_int_equal(hv_kek_unwrap(b, "0123456789abcdef", wrapped, wlen, out, &olen, &err),
                   HV_CRYPTO_KEK_MISMATCH);
  assert_int_equal(hv_kek_unwrap(a, "0123456789abcdee", wrapped, wlen, out, &olen, &err),
                   HV_CRYPTO_KEK_MISMATCH);
  wrapped[20] ^= 1;
  assert_int_equal(hv_kek_unwrap(a, "0123456789abcdef", wrapped, wlen, out, &olen, &err),
                   HV_CRYPTO_KEK_MISMATCH);
  wrapped[20] ^= 1;
  wrapped[0] = 2;
  assert_int_equal(hv_kek_unwrap(a, "0123456789abcdef", wrapped, wlen, out, &olen, &err),
                   HV_CRYPTO_BAD_VALUE);
  assert_int_equal(hv_kek_unwrap(a, "0123456789abcdef", wrapped, 10, out, &olen, &err),
                   HV_CRYPTO_BAD_VALUE);
  hv_kek_free(a);
  hv_kek_free(b);
}

/* With a KEK the key file holds no plaintext key; it reopens with that KEK only. */
static void test_keyring_wrapped_files(void **state) {
  fixture *f = *state;
  hv_kek *a = kek_of(KEK_A), *b = kek_of(KEK_B);
  hv_keyring *ring = NULL;
  hv_keyring_key_info info;
  hv_crypto_err err;
  char path[256], used[HV_KEY_ID_LEN + 1];
  size_t len = 0;

  assert_int_equal(hv_keyring_open_kek(f->dir, PERIOD, T0, a, &ring, &err), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &info, NULL), HV_CRYPTO_OK);
  uint8_t *sealed = seal_to(&info, "wrapped at rest", &len);
  hv_keyring_close(ring);
  key_path(f, info.key_id, path, sizeof path);
  const char *text = slurp(path);
  assert_non_null(strstr(text, "wasm-hypervisor key v2\n"));
  assert_non_null(strstr(text, "\nwrapped_private_key "));
  assert_null(strstr(text, "\nprivate_key "));

  /* no KEK, or another one: a clear start-up error, and the file is left as it was */
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0 + 1, &ring, &err), HV_CRYPTO_KEK_INVALID);
  assert_null(ring);
  assert_non_null(strstr(err.message, "crypto.kek_file"));
  assert_int_equal(hv_keyring_open_kek(f->dir, PERIOD, T0 + 1, b, &ring, &err),
                   HV_CRYPTO_KEK_MISMATCH);
  assert_null(ring);
  assert_non_null(strstr(err.message, "key-encryption key"));
  assert_int_equal(key_files(f->dir), 1);

  assert_int_equal(hv_keyring_open_kek(f->dir, PERIOD, T0 + 1, a, &ring, &err), HV_CRYPTO_OK);
  assert_int_equal(ring_open(ring, info.key_id, sealed, len, "wrapped at rest", used),
                   HV_CRYPTO_OK);
  /* a rotation writes the next key wrapped too */
  assert_int_equal(hv_keyring_rotate_if_due(ring, T0 + PERIOD, &err), HV_CRYPTO_OK);
  hv_keyring_key_info next;
  assert_int_equal(hv_keyring_current(ring, &next, NULL), HV_CRYPTO_OK);
  assert_string_not_equal(next.key_id, info.key_id);
  key_path(f, next.key_id, path, sizeof path);
  assert_non_null(strstr(slurp(path), "\nwrapped_private_key "));
  hv_keyring_close(ring);
  free(sealed);
  hv_kek_free(a);
  hv_kek_free(b);
}

/* A ring written without a KEK is rewrapped the first time it opens with one. */
static void test_keyring_plaintext_rewrapped(void **state) {
  fixture *f = *state;
  hv_kek *a = kek_of(KEK_A);
  hv_keyring *ring = NULL;
  hv_keyring_key_info info;
  char path[256], used[HV_KEY_ID_LEN + 1];
  size_t len = 0;
  struct stat st;

  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(ring, &info, NULL), HV_CRYPTO_OK);
  uint8_t *sealed = seal_to(&info, "from before the KEK", &len);
  hv_keyring_close(ring);
  key_path(f, info.key_id, path, sizeof path);
  assert_non_null(strstr(slurp(path), "\nprivate_key "));

  assert_int_equal(hv_keyring_open_kek(f->dir, PERIOD, T0 + 1, a, &ring, NULL), HV_CRYPTO_OK);
  assert_int_equal(ring_open(ring, info.key_id, sealed, len, "from before the KEK", used),
                   HV_CRYPTO_OK);
  hv_keyring_close(ring);
  const char *text = slurp(path);
  assert_non_null(strstr(text, "\nwrapped_private_key "));
  assert_null(strstr(text, "\nprivate_key "));
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(key_files(f->dir), 1);
  /* from now on the KEK is needed */
  assert_int_equal(hv_keyring_open(f->dir, PERIOD, T0 + 2, &ring, NULL), HV_CRYPTO_KEK_INVALID);
  free(sealed);
  hv_kek_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_new_ring, setup, teardown),
      cmocka_unit_test_setup_teardown(test_survives_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rotation_on_injected_clock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_restart_after_downtime, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unreadable_ring_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_directory_housekeeping, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_decrypt_while_rotating, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kek_sources, setup, teardown),
      cmocka_unit_test(test_kek_wrap),
      cmocka_unit_test_setup_teardown(test_keyring_wrapped_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keyring_plaintext_rewrapped, setup, teardown),
  };
  return cmocka_run_group_tests_name("keyring", tests, NULL, NULL);
}
