/*
 * srv_tls.c: the certificate and private key of server.tls, read and checked before libmicrohttpd
 * (built on GnuTLS) is given them.
 *
 * libmicrohttpd only says "failed to set up TLS" when a file is wrong, so the files are first
 * parsed here with OpenSSL (already the service's crypto library) to give a start-up error that
 * names the file and the fault: missing, unreadable, not PEM, an encrypted key (no passphrase can
 * be typed into a service), or a key that does not belong to the certificate. The key's bytes are
 * wiped as soon as libmicrohttpd has loaded them (srv_tls_free, after MHD_start_daemon).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "srv_int.h"

/* Reads a whole PEM file of at most SRV_TLS_FILE_MAX bytes into a NUL-terminated buffer (the form
 * libmicrohttpd takes). Ownership: *out is the caller's (srv_tls_free wipes and frees it). */
static bool srv_tls_read(const char *what, const char *path, char **out, size_t *len, char *why,
                         size_t why_size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    snprintf(why, why_size, "server.tls.%s: cannot open %.300s: %s", what, path, strerror(errno));
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    snprintf(why, why_size, "server.tls.%s: %.300s is not a regular file", what, path);
    return false;
  }
  if (st.st_size <= 0 || st.st_size > SRV_TLS_FILE_MAX) {
    close(fd);
    snprintf(why, why_size, "server.tls.%s: %.300s is %s (a PEM file of at most %u bytes is expected)",
             what, path, st.st_size <= 0 ? "empty" : "too large", SRV_TLS_FILE_MAX);
    return false;
  }
  size_t size = (size_t)st.st_size;
  char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    snprintf(why, why_size, "out of memory");
    return false;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      OPENSSL_cleanse(buf, size);
      free(buf);
      snprintf(why, why_size, "server.tls.%s: cannot read %.300s: %s", what, path, strerror(e));
      return false;
    }
    got += (size_t)n;
  }
  close(fd);
  buf[size] = '\0';
  *out = buf;
  *len = size;
  return true;
}

/* An encrypted key would make OpenSSL ask for a passphrase on the terminal: refuse instead. */
static int srv_tls_no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf, (void)size, (void)rwflag;
  *(bool *)u = true;
  return -1;
}

bool srv_tls_load(const hv_config_server *cfg, srv_tls *tls, char *why, size_t why_size) {
  memset(tls, 0, sizeof *tls);
  if (!cfg->tls_cert[0]) return true; /* plain HTTP */
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    snprintf(why, why_size,
             "server.tls is set, but this libmicrohttpd was built without TLS support");
    return false;
  }
  if (!srv_tls_read("cert", cfg->tls_cert, &tls->cert, &tls->cert_len, why, why_size) ||
      !srv_tls_read("key", cfg->tls_key, &tls->key, &tls->key_len, why, why_size)) {
    srv_tls_free(tls);
    return false;
  }

  bool ok = false, wanted_passphrase = false;
  X509 *cert = NULL;
  EVP_PKEY *key = NULL;
  BIO *b = BIO_new_mem_buf(tls->cert, (int)tls->cert_len);
  if (b) cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
  BIO_free(b);
  if (!cert) {
    snprintf(why, why_size, "server.tls.cert: %.300s holds no PEM certificate", cfg->tls_cert);
    goto out;
  }
  b = BIO_new_mem_buf(tls->key, (int)tls->key_len);
  if (b) key = PEM_read_bio_PrivateKey(b, NULL, srv_tls_no_passphrase, &wanted_passphrase);
  BIO_free(b);
  if (!key) {
    snprintf(why, why_size,
             wanted_passphrase
                 ? "server.tls.key: %.300s is encrypted; give the key without a passphrase "
                   "(readable only by the service's user)"
                 : "server.tls.key: %.300s holds no PEM private key",
             cfg->tls_key);
    goto out;
  }
  if (X509_check_private_key(cert, key) != 1) {
    snprintf(why, why_size, "server.tls.key: %.300s is not the private key of the certificate %.300s",
             cfg->tls_key, cfg->tls_cert);
    goto out;
  }
  ok = true;
out:
  ERR_clear_error(); /* nothing of the failed parse stays queued for the next OpenSSL caller */
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) srv_tls_free(tls);
  return ok;
}

void srv_tls_free(srv_tls *tls) {
  if (tls->key) OPENSSL_cleanse(tls->key, tls->key_len);
  free(tls->key);
  free(tls->cert);
  memset(tls, 0, sizeof *tls);
}
