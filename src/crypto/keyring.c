/*
 * keyring.c: the server's key ring (docs/crypto.md, "Key ring"). Keys live in memory sorted oldest
 * first, the last one current; each is also a file `<key_id>.key` in the ring's directory.
 *
 * Locking: `lock` (a writer-preferring rwlock) guards the list; decryption holds it for reading.
 * `rotate_lock` serialises rotations, so a rotation can read the list without `lock`, generate and
 * persist its key with no lock held, and take the write lock only to swap entries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto_int.h"

#define KEY_FILE_SUFFIX ".key"
#define TMP_PREFIX ".tmp-"
#define KEY_FILE_MAGIC "wasm-hypervisor key v1\n"
/* v2: the private key wrapped under the KEK (hv_kek_wrap), as "wrapped_private_key <hex>". */
#define KEY_FILE_MAGIC_V2 "wasm-hypervisor key v2\n"
#define WRAPPED_MAX (HPKE_PRIVATE_KEY_LEN + HV_KEK_WRAP_OVERHEAD)
#define KEY_FILE_MAX 1024
#define NAME_MAX_LEN 64
/* Bounds that keep created_at + 2 * period far from overflowing. */
#define MAX_PERIOD ((int64_t)100 * 366 * 86400)
#define MAX_TIME ((int64_t)1 << 50)

typedef struct keyring_entry {
  char key_id[HV_KEY_ID_LEN + 1];
  int64_t created_at;
  hpke_private_key *sk;
  bool plaintext_file; /* loaded from a v1 (unwrapped) file: rewrap it when the ring has a KEK */
} keyring_entry;

struct hv_keyring {
  int dir_fd;
  char *dir; /* for messages */
  int64_t period;
  hv_kek *kek; /* NULL: key files hold plaintext private keys (v1) */
  pthread_mutex_t rotate_lock;
  pthread_rwlock_t lock;
  size_t count;
  keyring_entry *keys[HV_KEYRING_MAX_KEYS]; /* oldest first; keys[count - 1] is current */
};

static void entry_free(keyring_entry *e) {
  if (e == NULL)
    return;
  hpke_private_key_free(e->sk);
  OPENSSL_cleanse(e, sizeof *e);
  free(e);
}

/* ---- Key files ------------------------------------------------------------------------------ */

static void key_file_name(const char *key_id, char out[NAME_MAX_LEN]) {
  snprintf(out, NAME_MAX_LEN, "%s%s", key_id, KEY_FILE_SUFFIX);
}

/* A key file name is 16 lowercase hex digits and ".key". */
static bool is_key_file_name(const char *name) {
  bool ok = strlen(name) == HV_KEY_ID_LEN + sizeof KEY_FILE_SUFFIX - 1 &&
            strcmp(name + HV_KEY_ID_LEN, KEY_FILE_SUFFIX) == 0;
  for (size_t i = 0; ok && i < HV_KEY_ID_LEN; i++)
    ok = (name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f');
  return ok;
}

static bool is_key_id(const char *key_id) {
  char name[NAME_MAX_LEN];
  bool ok = strnlen(key_id, HV_KEY_ID_LEN + 1) == HV_KEY_ID_LEN;
  if (ok) {
    key_file_name(key_id, name);
    ok = is_key_file_name(name);
  }
  return ok;
}

static hv_crypto_status write_all(int fd, const char *buf, size_t len) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t done = 0;
  while (rc == HV_CRYPTO_OK && done < len) {
    ssize_t n = write(fd, buf + done, len - done);
    if (n > 0)
      done += (size_t)n;
    else if (n == 0 || errno != EINTR)
      rc = HV_CRYPTO_KEYRING_IO;
  }
  return rc;
}

/* Writes e's key file atomically: a temporary file, fsync, rename, fsync of the directory. */
static hv_crypto_status write_key_file(hv_keyring *ring, const keyring_entry *e,
                                       hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char tmp[NAME_MAX_LEN];
  char name[NAME_MAX_LEN];
  char text[KEY_FILE_MAX];
  char sk_hex[2 * WRAPPED_MAX + 1];
  char pk_hex[2 * HPKE_PUBLIC_KEY_LEN + 1];
  uint8_t sk[HPKE_PRIVATE_KEY_LEN];
  uint8_t wrapped[WRAPPED_MAX];
  size_t wrapped_len = 0;
  int len = 0;
  int fd = -1;

  snprintf(tmp, sizeof tmp, "%s%s", TMP_PREFIX, e->key_id);
  key_file_name(e->key_id, name);
  rc = hpke_private_key_export(e->sk, sk, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  if (ring->kek != NULL) {
    rc = hv_kek_wrap(ring->kek, e->key_id, sk, sizeof sk, wrapped, &wrapped_len, err);
    if (rc != HV_CRYPTO_OK)
      goto fail;
    hv_crypto_hex_encode(wrapped, wrapped_len, sk_hex);
  } else {
    hv_crypto_hex_encode(sk, sizeof sk, sk_hex);
  }
  hv_crypto_hex_encode(hpke_private_key_public(e->sk), HPKE_PUBLIC_KEY_LEN, pk_hex);
  len = snprintf(text, sizeof text, "%screated_at %lld\n%s %s\npublic_key %s\n",
                 ring->kek != NULL ? KEY_FILE_MAGIC_V2 : KEY_FILE_MAGIC,
                 (long long)e->created_at,
                 ring->kek != NULL ? "wrapped_private_key" : "private_key", sk_hex, pk_hex);
  (void)unlinkat(ring->dir_fd, tmp, 0); /* a leftover of a crash in this very step */
  fd = openat(ring->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (len <= 0 || (size_t)len >= sizeof text || fd < 0 ||
      write_all(fd, text, (size_t)len) != HV_CRYPTO_OK || fsync(fd) != 0 || close(fd) != 0) {
    fd = -1; /* close() is not retried: the descriptor is gone either way */
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "writing %s/%s: %s", ring->dir, tmp,
                         strerror(errno));
    goto fail;
  }
  fd = -1;
  if (renameat(ring->dir_fd, tmp, ring->dir_fd, name) != 0 || fsync(ring->dir_fd) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "installing %s/%s: %s", ring->dir, name,
                         strerror(errno));
    goto fail;
  }
fail:
  if (fd >= 0)
    close(fd);
  if (rc != HV_CRYPTO_OK)
    (void)unlinkat(ring->dir_fd, tmp, 0);
  OPENSSL_cleanse(sk, sizeof sk);
  OPENSSL_cleanse(sk_hex, sizeof sk_hex);
  OPENSSL_cleanse(text, sizeof text);
  return rc;
}

/* Reads up to cap - 1 bytes of an owner-only regular file, NUL-terminated. */
static hv_crypto_status read_private_file(hv_keyring *ring, const char *name, char *buf,
                                          size_t cap, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  int fd = openat(ring->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  size_t len = 0;

  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "opening %s/%s: %s", ring->dir, name,
                         strerror(errno));
    goto fail;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_PERMISSIONS, "%s/%s must be a regular file of "
                         "this user with mode 0600 or stricter", ring->dir, name);
    goto fail;
  }
  while (len < cap - 1) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "reading %s/%s: %s", ring->dir, name,
                           strerror(errno));
      goto fail;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
fail:
  if (fd >= 0)
    close(fd);
  return rc;
}

/* Consumes "<name> " at *p and returns the field's text up to the newline (made a NUL). */
static char *take_field(char **p, const char *name) {
  size_t n = strlen(name);
  char *value = NULL;
  char *nl = NULL;

  if (strncmp(*p, name, n) == 0 && (*p)[n] == ' ') {
    value = *p + n + 1;
    nl = strchr(value, '\n');
  }
  if (nl != NULL) {
    *nl = '\0';
    *p = nl + 1;
  }
  return nl != NULL ? value : NULL;
}

static bool parse_time(const char *s, int64_t *out) {
  int64_t v = 0;
  size_t n = 0;
  for (; s[n] >= '0' && s[n] <= '9' && n < 16; n++)
    v = v * 10 + (s[n] - '0');
  *out = v;
  return n > 0 && s[n] == '\0' && v <= MAX_TIME;
}

/* Parses a key file's text into e, checking that the public key and the name match the secret.
 * A v2 file's private key is unwrapped with the ring's KEK (required). */
static hv_crypto_status parse_key_file(const hv_keyring *ring, char *text, const char *name,
                                       keyring_entry *e, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  bool v1 = strncmp(text, KEY_FILE_MAGIC, sizeof KEY_FILE_MAGIC - 1) == 0;
  bool v2 = strncmp(text, KEY_FILE_MAGIC_V2, sizeof KEY_FILE_MAGIC_V2 - 1) == 0;
  char *p = text + sizeof KEY_FILE_MAGIC - 1; /* both magics have the same length */
  char *created = NULL;
  char *sk_hex = NULL;
  char *pk_hex = NULL;
  char key_id[HV_KEY_ID_LEN + 1];
  uint8_t sk[HPKE_PRIVATE_KEY_LEN];
  uint8_t wrapped[WRAPPED_MAX];
  uint8_t pk[HPKE_PUBLIC_KEY_LEN];
  size_t sk_len = 0;
  _Static_assert(sizeof KEY_FILE_MAGIC == sizeof KEY_FILE_MAGIC_V2, "magics of one length");

  if (v1 || v2) {
    created = take_field(&p, "created_at");
    sk_hex = created != NULL ? take_field(&p, v2 ? "wrapped_private_key" : "private_key") : NULL;
    pk_hex = sk_hex != NULL ? take_field(&p, "public_key") : NULL;
  }
  snprintf(key_id, sizeof key_id, "%.*s", HV_KEY_ID_LEN, name);
  if (v2 && ring->kek == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEK_INVALID,
                         "key file %s is encrypted under a key-encryption key; configure "
                         "crypto.kek_file or %s",
                         name, HV_KEK_ENV);
    goto done;
  }
  if (v2 && pk_hex != NULL && *p == '\0' &&
      hv_crypto_hex_decode(sk_hex, strlen(sk_hex), wrapped, sizeof wrapped, NULL) ==
          HV_CRYPTO_OK) {
    rc = hv_kek_unwrap(ring->kek, key_id, wrapped, sizeof wrapped, sk, &sk_len, NULL);
    if (rc == HV_CRYPTO_KEK_MISMATCH || (rc == HV_CRYPTO_OK && sk_len != sizeof sk)) {
      rc = hv_crypto__fail(err, HV_CRYPTO_KEK_MISMATCH,
                           "key file %s does not open with the configured key-encryption key "
                           "(a different KEK, or a damaged file)",
                           name);
      goto done;
    }
    sk_hex = rc == HV_CRYPTO_OK ? NULL : sk_hex; /* NULL: sk holds the key */
  }
  if (pk_hex == NULL || *p != '\0' || !parse_time(created, &e->created_at) ||
      (sk_hex != NULL && (v2 || hv_crypto_hex_decode(sk_hex, strlen(sk_hex), sk, sizeof sk,
                                                     NULL) != HV_CRYPTO_OK)) ||
      hv_crypto_hex_decode(pk_hex, strlen(pk_hex), pk, sizeof pk, NULL) != HV_CRYPTO_OK ||
      hpke_private_key_import(sk, &e->sk, NULL) != HV_CRYPTO_OK ||
      memcmp(pk, hpke_private_key_public(e->sk), sizeof pk) != 0 ||
      hv_crypto_key_id(pk, e->key_id, NULL) != HV_CRYPTO_OK ||
      strncmp(e->key_id, name, HV_KEY_ID_LEN) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_CORRUPT, "key file %s is damaged or does not "
                         "match its name; refusing to start with a partial key ring", name);
  } else {
    rc = HV_CRYPTO_OK;
    e->plaintext_file = v1;
  }
done:
  OPENSSL_cleanse(sk, sizeof sk);
  OPENSSL_cleanse(wrapped, sizeof wrapped);
  return rc;
}

static hv_crypto_status load_key_file(hv_keyring *ring, const char *name, keyring_entry **out,
                                      hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char text[KEY_FILE_MAX + 1];
  keyring_entry *e = calloc(1, sizeof *e);

  *out = NULL;
  if (e == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a key");
    goto fail;
  }
  rc = read_private_file(ring, name, text, sizeof text, err);
  if (rc == HV_CRYPTO_OK)
    rc = parse_key_file(ring, text, name, e, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = e;
  e = NULL;
fail:
  OPENSSL_cleanse(text, sizeof text);
  entry_free(e);
  return rc;
}

/* ---- Opening -------------------------------------------------------------------------------- */

/* mkdir -p with mode 0700 for what it creates. */
static hv_crypto_status make_dirs(const char *dir, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t len = strlen(dir);
  char *path = malloc(len + 1);

  if (path == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a path");
    goto fail;
  }
  memcpy(path, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (path[i] != '/' && path[i] != '\0')
      continue;
    path[i] = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
      rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "creating %s: %s", path, strerror(errno));
      goto fail;
    }
    path[i] = dir[i];
  }
fail:
  free(path);
  return rc;
}

/* Opens the directory, which must be ours; group/other access is removed. */
static hv_crypto_status open_dir(hv_keyring *ring, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  struct stat st;

  ring->dir_fd = open(ring->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ring->dir_fd < 0 || fstat(ring->dir_fd, &st) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "opening key ring %s: %s", ring->dir,
                         strerror(errno));
  } else if (st.st_uid != geteuid()) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_PERMISSIONS, "key ring %s belongs to another "
                         "user", ring->dir);
  } else if ((st.st_mode & 077) != 0 && fchmod(ring->dir_fd, 0700) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_PERMISSIONS, "making key ring %s owner-only: %s",
                         ring->dir, strerror(errno));
  }
  return rc;
}

static int entry_order(const void *a, const void *b) {
  const keyring_entry *x = *(keyring_entry *const *)a;
  const keyring_entry *y = *(keyring_entry *const *)b;
  int by_time = (x->created_at > y->created_at) - (x->created_at < y->created_at);
  return by_time != 0 ? by_time : strcmp(x->key_id, y->key_id);
}

/* Loads every key file; removes temporary files a crash left behind; ignores other names. */
static hv_crypto_status load_keys(hv_keyring *ring, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  int fd = dup(ring->dir_fd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  struct dirent *de = NULL;

  if (d == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "listing %s: %s", ring->dir, strerror(errno));
    if (fd >= 0)
      close(fd);
    goto fail;
  }
  rewinddir(d);
  errno = 0;
  while (rc == HV_CRYPTO_OK && (de = readdir(d)) != NULL) {
    if (strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) == 0) {
      (void)unlinkat(ring->dir_fd, de->d_name, 0);
    } else if (is_key_file_name(de->d_name) && ring->count == HV_KEYRING_MAX_KEYS) {
      rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_FULL, "%s holds more than %d keys", ring->dir,
                           HV_KEYRING_MAX_KEYS);
    } else if (is_key_file_name(de->d_name)) {
      rc = load_key_file(ring, de->d_name, &ring->keys[ring->count], err);
      ring->count += rc == HV_CRYPTO_OK ? 1 : 0;
    }
    errno = 0;
  }
  if (rc == HV_CRYPTO_OK && errno != 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "listing %s: %s", ring->dir, strerror(errno));
  closedir(d);
  qsort(ring->keys, ring->count, sizeof ring->keys[0], entry_order);
fail:
  return rc;
}

static hv_crypto_status init_locks(hv_keyring *ring, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  pthread_rwlockattr_t attr;
  bool attr_ok = pthread_rwlockattr_init(&attr) == 0;

  /* Writer preference: a rotation must not starve behind a steady stream of decryptions. */
  if (!attr_ok ||
      pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP) != 0 ||
      pthread_rwlock_init(&ring->lock, &attr) != 0) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "creating the key ring lock");
  } else if (pthread_mutex_init(&ring->rotate_lock, NULL) != 0) {
    pthread_rwlock_destroy(&ring->lock);
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "creating the key ring lock");
  }
  if (attr_ok)
    pthread_rwlockattr_destroy(&attr);
  return rc;
}

/* With a KEK, rewrites the keys loaded from plaintext (v1) files wrapped, each atomically. */
static hv_crypto_status rewrap_plaintext_files(hv_keyring *ring, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  for (size_t i = 0; ring->kek != NULL && rc == HV_CRYPTO_OK && i < ring->count; i++) {
    if (!ring->keys[i]->plaintext_file)
      continue;
    rc = write_key_file(ring, ring->keys[i], err);
    ring->keys[i]->plaintext_file = rc != HV_CRYPTO_OK;
  }
  return rc;
}

hv_crypto_status hv_keyring_open(const char *dir, int64_t rotation_seconds, int64_t now,
                                 hv_keyring **out, hv_crypto_err *err) {
  return hv_keyring_open_kek(dir, rotation_seconds, now, NULL, out, err);
}

hv_crypto_status hv_keyring_open_kek(const char *dir, int64_t rotation_seconds, int64_t now,
                                     const hv_kek *kek, hv_keyring **out, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hv_keyring *ring = NULL;
  bool locks = false;

  hv_crypto__begin(err);
  *out = NULL;
  if (dir == NULL || dir[0] == '\0' || strlen(dir) > 4096 || rotation_seconds <= 0 ||
      rotation_seconds > MAX_PERIOD || now < 0 || now > MAX_TIME) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "key ring needs a directory, a "
                         "rotation period of 1 s to 100 years and a time");
    goto fail;
  }
  ring = calloc(1, sizeof *ring);
  if (ring == NULL || (ring->dir = strdup(dir)) == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the key ring");
    goto fail;
  }
  ring->dir_fd = -1;
  ring->period = rotation_seconds;
  rc = init_locks(ring, err);
  locks = rc == HV_CRYPTO_OK;
  if (rc == HV_CRYPTO_OK)
    rc = hv_kek_copy(kek, &ring->kek, err);
  if (rc == HV_CRYPTO_OK)
    rc = make_dirs(dir, err);
  if (rc == HV_CRYPTO_OK)
    rc = open_dir(ring, err);
  if (rc == HV_CRYPTO_OK)
    rc = load_keys(ring, err);
  if (rc == HV_CRYPTO_OK)
    rc = rewrap_plaintext_files(ring, err);
  if (rc == HV_CRYPTO_OK)
    rc = hv_keyring_rotate_if_due(ring, now, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = ring;
  ring = NULL;
fail:
  if (ring != NULL && !locks) {
    free(ring->dir);
    free(ring);
  } else {
    hv_keyring_close(ring);
  }
  return rc;
}

void hv_keyring_close(hv_keyring *ring) {
  if (ring == NULL)
    return;
  for (size_t i = 0; i < ring->count; i++)
    entry_free(ring->keys[i]);
  if (ring->dir_fd >= 0)
    close(ring->dir_fd);
  pthread_rwlock_destroy(&ring->lock);
  pthread_mutex_destroy(&ring->rotate_lock);
  hv_kek_free(ring->kek);
  free(ring->dir);
  free(ring);
}

/* ---- Rotation ------------------------------------------------------------------------------- */

/* A new key created at now, persisted, with a key_id unlike any in the ring. */
static hv_crypto_status new_key(hv_keyring *ring, int64_t now, keyring_entry **out,
                                hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  keyring_entry *e = calloc(1, sizeof *e);
  bool clash = true;

  *out = NULL;
  if (e == NULL) {
    rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a key");
    goto fail;
  }
  e->created_at = now;
  /* A 64-bit key_id collision is astronomically unlikely; retrying costs nothing to write. */
  for (int tries = 0; rc == HV_CRYPTO_OK && clash && tries < 4; tries++) {
    hpke_private_key_free(e->sk);
    e->sk = NULL;
    rc = hpke_private_key_generate(&e->sk, err);
    if (rc == HV_CRYPTO_OK)
      rc = hv_crypto_key_id(hpke_private_key_public(e->sk), e->key_id, err);
    clash = false;
    for (size_t i = 0; rc == HV_CRYPTO_OK && i < ring->count; i++)
      clash = clash || strcmp(ring->keys[i]->key_id, e->key_id) == 0;
  }
  if (rc == HV_CRYPTO_OK && clash)
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "could not draw an unused key_id");
  if (rc == HV_CRYPTO_OK)
    rc = write_key_file(ring, e, err);
  if (rc != HV_CRYPTO_OK)
    goto fail;
  *out = e;
  e = NULL;
fail:
  entry_free(e);
  return rc;
}

/* How many of the oldest keys were superseded at least one period before now. */
static size_t expired_prefix(const hv_keyring *ring, int64_t now) {
  size_t n = 0;
  while (n + 1 < ring->count && ring->keys[n + 1]->created_at + ring->period <= now)
    n++;
  return n;
}

/* Deletes the files of destroyed keys and frees them; memory is cleansed even if unlink fails. */
static hv_crypto_status destroy_keys(hv_keyring *ring, keyring_entry **doomed, size_t n,
                                     hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  char name[NAME_MAX_LEN];

  for (size_t i = 0; i < n; i++) {
    key_file_name(doomed[i]->key_id, name);
    if (ring->dir_fd < 0) { /* a shared ring: its keys have no files here */
      entry_free(doomed[i]);
      continue;
    }
    if (unlinkat(ring->dir_fd, name, 0) != 0 && errno != ENOENT && rc == HV_CRYPTO_OK)
      rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "removing %s/%s: %s", ring->dir, name,
                           strerror(errno));
    entry_free(doomed[i]);
  }
  if (n > 0 && ring->dir_fd >= 0 && fsync(ring->dir_fd) != 0 && rc == HV_CRYPTO_OK)
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_IO, "syncing %s: %s", ring->dir, strerror(errno));
  return rc;
}

/* Under the write lock: adds fresh (may be NULL) and moves expired keys into doomed. */
static hv_crypto_status swap_keys(hv_keyring *ring, keyring_entry *fresh, int64_t now,
                                  keyring_entry **doomed, size_t *doomed_count,
                                  hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  size_t n = 0;

  HV_CRYPTO__LOCKED(pthread_rwlock_wrlock(&ring->lock));
  if (fresh != NULL && ring->count == HV_KEYRING_MAX_KEYS) {
    rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_FULL, "%s already holds %d keys", ring->dir,
                         HV_KEYRING_MAX_KEYS);
  } else if (fresh != NULL) {
    ring->keys[ring->count++] = fresh;
  }
  n = expired_prefix(ring, now);
  memcpy(doomed, ring->keys, n * sizeof *doomed);
  memmove(ring->keys, ring->keys + n, (ring->count - n) * sizeof *ring->keys);
  ring->count -= n;
  HV_CRYPTO__LOCKED(pthread_rwlock_unlock(&ring->lock));
  *doomed_count = n;
  return rc;
}

hv_crypto_status hv_keyring_rotate_if_due(hv_keyring *ring, int64_t now, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  keyring_entry *fresh = NULL;
  keyring_entry *doomed[HV_KEYRING_MAX_KEYS];
  size_t doomed_count = 0;
  bool due = false;

  hv_crypto__begin(err);
  if (now < 0 || now > MAX_TIME) {
    rc = hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT, "time %lld out of range",
                         (long long)now);
    goto out;
  }
  HV_CRYPTO__LOCKED(pthread_mutex_lock(&ring->rotate_lock));
  /* Only rotations change the list and we hold rotate_lock: reading it needs no other lock. */
  due = ring->count == 0 || now >= ring->keys[ring->count - 1]->created_at + ring->period;
  due = due && ring->dir_fd >= 0; /* a shared ring's new keys come from hv_keyring_replace */
  if (!due && expired_prefix(ring, now) == 0)
    goto done;
  if (due)
    rc = new_key(ring, now, &fresh, err);
  if (rc != HV_CRYPTO_OK)
    goto done;
  rc = swap_keys(ring, fresh, now, doomed, &doomed_count, err);
  if (rc != HV_CRYPTO_OK) {
    /* Not installed: take its file back so a restart does not find it. */
    doomed[doomed_count++] = fresh;
  }
  fresh = NULL;
  {
    hv_crypto_status destroyed = destroy_keys(ring, doomed, doomed_count, err);
    rc = rc != HV_CRYPTO_OK ? rc : destroyed;
  }
done:
  HV_CRYPTO__LOCKED(pthread_mutex_unlock(&ring->rotate_lock));
out:
  return rc;
}

/* ---- Shared rings ------------------------------------------------------------------------- */

hv_crypto_status hv_keyring_open_shared(int64_t rotation_seconds, hv_keyring **out,
                                        hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  hv_keyring *ring = NULL;

  hv_crypto__begin(err);
  *out = NULL;
  if (rotation_seconds <= 0 || rotation_seconds > MAX_PERIOD)
    return hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT,
                           "key ring needs a rotation period of 1 s to 100 years");
  ring = calloc(1, sizeof *ring);
  if (ring == NULL || (ring->dir = strdup("(shared)")) == NULL) {
    free(ring);
    return hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating the key ring");
  }
  ring->dir_fd = -1;
  ring->period = rotation_seconds;
  rc = init_locks(ring, err);
  if (rc != HV_CRYPTO_OK) {
    free(ring->dir);
    free(ring);
    return rc;
  }
  *out = ring;
  return HV_CRYPTO_OK;
}

hv_crypto_status hv_keyring_replace(hv_keyring *ring, const hv_keyring_import *keys, size_t n,
                                    int64_t now, hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  keyring_entry *next[HV_KEYRING_MAX_KEYS];
  keyring_entry *old[HV_KEYRING_MAX_KEYS];
  bool kept[HV_KEYRING_MAX_KEYS] = {false};
  size_t count = 0;
  size_t old_count = 0;

  hv_crypto__begin(err);
  if (ring == NULL || (n > 0 && keys == NULL) || ring->dir_fd >= 0)
    return hv_crypto__fail(err, HV_CRYPTO_INVALID_ARGUMENT,
                           "hv_keyring_replace takes a shared ring and its keys");
  if (n > HV_KEYRING_MAX_KEYS)
    return hv_crypto__fail(err, HV_CRYPTO_KEYRING_FULL, "a shared key ring holds more than %d keys",
                           HV_KEYRING_MAX_KEYS);
  HV_CRYPTO__LOCKED(pthread_mutex_lock(&ring->rotate_lock));
  /* Only rotations and replacements change the list, under rotate_lock: read it freely here. */
  for (size_t i = 0; rc == HV_CRYPTO_OK && i < n; i++) {
    keyring_entry *e = NULL;
    for (size_t k = 0; e == NULL && k < ring->count; k++) {
      if (strcmp(ring->keys[k]->key_id, keys[i].key_id) == 0 &&
          ring->keys[k]->created_at == keys[i].created_at) {
        e = ring->keys[k]; /* already loaded: keep it, and its workspaces */
        kept[k] = true;
      }
    }
    if (e == NULL) {
      e = calloc(1, sizeof *e);
      if (e == NULL) {
        rc = hv_crypto__fail(err, HV_CRYPTO_NO_MEMORY, "allocating a key");
        break;
      }
      e->created_at = keys[i].created_at;
      if (keys[i].created_at < 0 || keys[i].created_at > MAX_TIME ||
          hpke_private_key_import(keys[i].private_key, &e->sk, NULL) != HV_CRYPTO_OK ||
          hv_crypto_key_id(hpke_private_key_public(e->sk), e->key_id, NULL) != HV_CRYPTO_OK ||
          strcmp(e->key_id, keys[i].key_id) != 0) {
        entry_free(e);
        rc = hv_crypto__fail(err, HV_CRYPTO_KEYRING_CORRUPT,
                             "shared key %.16s does not match its key_id or time", keys[i].key_id);
        break;
      }
    }
    next[count++] = e;
  }
  if (rc != HV_CRYPTO_OK) {
    for (size_t i = 0; i < count; i++) {
      bool ours = false;
      for (size_t k = 0; k < ring->count; k++) ours = ours || ring->keys[k] == next[i];
      if (!ours) entry_free(next[i]);
    }
    HV_CRYPTO__LOCKED(pthread_mutex_unlock(&ring->rotate_lock));
    return rc;
  }
  qsort(next, count, sizeof next[0], entry_order);
  for (size_t k = 0; k < ring->count; k++)
    if (!kept[k]) old[old_count++] = ring->keys[k];
  HV_CRYPTO__LOCKED(pthread_rwlock_wrlock(&ring->lock));
  memcpy(ring->keys, next, count * sizeof next[0]);
  ring->count = count;
  HV_CRYPTO__LOCKED(pthread_rwlock_unlock(&ring->lock));
  for (size_t i = 0; i < old_count; i++) entry_free(old[i]);
  HV_CRYPTO__LOCKED(pthread_mutex_unlock(&ring->rotate_lock));
  /* What has expired by now goes, even before the store has deleted it. */
  return hv_keyring_rotate_if_due(ring, now, err);
}

/* ---- Queries -------------------------------------------------------------------------------- */

/* The entry of keys[i] (the caller holds the lock). */
static void describe(const hv_keyring *ring, size_t i, hv_keyring_key_info *out) {
  const keyring_entry *e = ring->keys[i];
  bool current = i + 1 == ring->count;

  memcpy(out->key_id, e->key_id, sizeof out->key_id);
  memcpy(out->public_key, hpke_private_key_public(e->sk), HPKE_PUBLIC_KEY_LEN);
  out->created_at = e->created_at;
  out->current = current;
  out->expires_at = current ? e->created_at + 2 * ring->period
                            : ring->keys[i + 1]->created_at + ring->period;
}

void hv_keyring_list(hv_keyring *ring, hv_keyring_key_info *out, size_t cap, size_t *count) {
  HV_CRYPTO__LOCKED(pthread_rwlock_rdlock(&ring->lock));
  for (size_t k = 0; k < ring->count && k < cap; k++)
    describe(ring, ring->count - 1 - k, &out[k]);
  *count = ring->count;
  HV_CRYPTO__LOCKED(pthread_rwlock_unlock(&ring->lock));
}

hv_crypto_status hv_keyring_current(hv_keyring *ring, hv_keyring_key_info *out,
                                    hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;

  hv_crypto__begin(err);
  HV_CRYPTO__LOCKED(pthread_rwlock_rdlock(&ring->lock));
  if (ring->count > 0)
    describe(ring, ring->count - 1, out);
  else
    rc = hv_crypto__fail(err, HV_CRYPTO_UNKNOWN_KEY_ID, "the key ring has no key");
  HV_CRYPTO__LOCKED(pthread_rwlock_unlock(&ring->lock));
  return rc;
}

/* Index of key_id in the ring or -1 (the caller holds the lock). */
static long find_index(const hv_keyring *ring, const char *key_id) {
  long found = -1;
  for (size_t i = 0; found < 0 && i < ring->count; i++)
    found = strcmp(ring->keys[i]->key_id, key_id) == 0 ? (long)i : -1;
  return found;
}

hv_crypto_status hv_keyring_find(hv_keyring *ring, const char *key_id, hv_keyring_key_info *out,
                                 hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  long i = -1;

  hv_crypto__begin(err);
  HV_CRYPTO__LOCKED(pthread_rwlock_rdlock(&ring->lock));
  i = key_id != NULL && is_key_id(key_id) ? find_index(ring, key_id) : -1;
  if (i >= 0)
    describe(ring, (size_t)i, out);
  else
    rc = hv_crypto__fail(err, HV_CRYPTO_UNKNOWN_KEY_ID, "no live key has this key_id");
  HV_CRYPTO__LOCKED(pthread_rwlock_unlock(&ring->lock));
  return rc;
}

/* Tries the keys from first down to last (inclusive, newest first) until one is not "not this
 * key"; the caller holds the read lock. */
static hv_crypto_status try_keys(hv_keyring *ring, long first, long last,
                                 hv_keyring__attempt attempt, void *arg,
                                 char used_key_id[HV_KEY_ID_LEN + 1], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_DECRYPT_FAILED;
  bool final = false;

  for (long i = first; i >= last && rc == HV_CRYPTO_DECRYPT_FAILED && !final; i--) {
    rc = attempt(ring->keys[i]->sk, arg, &final, err);
    if (rc == HV_CRYPTO_OK && used_key_id != NULL)
      memcpy(used_key_id, ring->keys[i]->key_id, HV_KEY_ID_LEN + 1);
  }
  if (rc == HV_CRYPTO_DECRYPT_FAILED && !final)
    rc = hv_crypto__fail(err, HV_CRYPTO_DECRYPT_FAILED, "decryption or authentication failed%s",
                         first == last ? "" : " with every live key");
  return rc;
}

hv_crypto_status hv_keyring__try(hv_keyring *ring, const char *key_id,
                                 hv_keyring__attempt attempt, void *arg,
                                 char used_key_id[HV_KEY_ID_LEN + 1], hv_crypto_err *err) {
  hv_crypto_status rc = HV_CRYPTO_OK;
  bool any = key_id == NULL || key_id[0] == '\0';
  long i = -1;

  if (used_key_id != NULL)
    used_key_id[0] = '\0';
  HV_CRYPTO__LOCKED(pthread_rwlock_rdlock(&ring->lock));
  i = any ? (long)ring->count - 1 : is_key_id(key_id) ? find_index(ring, key_id) : -1;
  if (i < 0)
    rc = hv_crypto__fail(err, HV_CRYPTO_UNKNOWN_KEY_ID, any ? "the key ring has no key"
                                                            : "no live key has this key_id");
  else
    rc = try_keys(ring, i, any ? 0 : i, attempt, arg, used_key_id, err);
  HV_CRYPTO__LOCKED(pthread_rwlock_unlock(&ring->lock));
  return rc;
}

/* hv_keyring_decrypt's inputs and outputs, for open_base_attempt. */
typedef struct open_base_args {
  const uint8_t *in;
  size_t in_len;
  const uint8_t *info;
  size_t info_len;
  const uint8_t *aad;
  size_t aad_len;
  uint8_t **out;
  size_t *out_len;
} open_base_args;

static hv_crypto_status open_base_attempt(const hpke_private_key *sk, void *arg, bool *final,
                                          hv_crypto_err *err) {
  const open_base_args *a = arg;

  *final = false;
  return hpke_open_base(HPKE_SUITE_PROTOCOL, sk, a->in, a->in_len, a->info, a->info_len, a->aad,
                        a->aad_len, a->out, a->out_len, err);
}

hv_crypto_status hv_keyring_decrypt(hv_keyring *ring, const char *key_id, const uint8_t *in,
                                    size_t in_len, const uint8_t *info, size_t info_len,
                                    const uint8_t *aad, size_t aad_len, uint8_t **out,
                                    size_t *out_len, char used_key_id[HV_KEY_ID_LEN + 1],
                                    hv_crypto_err *err) {
  open_base_args args = {in, in_len, info, info_len, aad, aad_len, out, out_len};

  hv_crypto__begin(err);
  *out = NULL;
  *out_len = 0;
  return hv_keyring__try(ring, key_id, open_base_attempt, &args, used_key_id, err);
}
