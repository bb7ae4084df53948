/*
 * apikey.c: `hypervisor api-key [--id NAME]`: makes a new API key and prints it with the
 * auth.api_keys entry that admits it (docs/cli.md). The key has the development key's form
 * (hv_api_key_new); the server keeps only its SHA-256, so the key itself is shown once, here, and never written anywhere else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "hv_crypto.h"

#define API_KEY_ID_MAX 64 /* auth.api_keys[].id: 1 to 64 of A-Z a-z 0-9 . _ - (docs/config.md) */

__attribute__((format(printf, 1, 2))) static int api_key_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hypervisor api-key: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nusage: " CLI_API_KEY_USAGE "\n", stderr);
  return CLI_EXIT_USAGE;
}

/* What the configuration loader accepts as a key id. */
static bool api_key_id_valid(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > API_KEY_ID_MAX) return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-'))
      return false;
  return true;
}

/* write(2) until all of buf is out; false (errno set) on an error. */
static bool api_key_write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    buf += w;
    len -= (size_t)w;
  }
  return true;
}

int cli_api_key(int argc, char **argv) {
  const char *id = NULL;
  for (int i = 1; i < argc; i++) {
    const char *value = NULL;
    int m;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return cli_print_usage(CLI_API_KEY_USAGE);
    if ((m = cli_option(argc, argv, &i, "--id", &value)) != 0) {
      if (m < 0) return api_key_usage("--id needs a value");
      if (!api_key_id_valid(value))
        return api_key_usage("--id takes 1 to %d of A-Z a-z 0-9 . _ - (got '%.80s')", API_KEY_ID_MAX,
                             value);
      id = value;
    } else {
      return api_key_usage("unexpected argument '%s'", argv[i]);
    }
  }

  char key[HV_API_KEY_LEN + 1], sha_hex[65];
  uint8_t sha[32];
  hv_crypto_err err;
  if (hv_api_key_new(key, sha, &err) != HV_CRYPTO_OK) {
    fprintf(stderr, "hypervisor api-key: cannot make a key: %s\n", err.message);
    return CLI_EXIT_FAILURE;
  }
  hv_crypto_hex_encode(sha, sizeof sha, sha_hex);
  char default_id[16];
  if (!id) { /* unique enough among a few keys, and says which hash it is */
    snprintf(default_id, sizeof default_id, "key-%.8s", sha_hex);
    id = default_id;
  }
  /* stdout: exactly the key and the entry, for scripts; the explanation goes to stderr. Written
   * with write(2) from one buffer that is wiped after, so no stdio buffer keeps a copy. */
  char out[(HV_API_KEY_LEN + 1) + API_KEY_ID_MAX + 128];
  int len = snprintf(out, sizeof out, "%s\n- {id: \"%s\", sha256: \"%s\"}\n", key, id, sha_hex);
  OPENSSL_cleanse(key, sizeof key);
  bool written = len > 0 && (size_t)len < sizeof out && api_key_write_all(STDOUT_FILENO, out, (size_t)len);
  OPENSSL_cleanse(out, sizeof out);
  if (!written) {
    fprintf(stderr, "hypervisor api-key: cannot write the key to stdout: %s\n", strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  fprintf(stderr,
          "The first line is the new API key: give it to the client (the X-API-Key header, or\n"
          "HYPERVISOR_API_KEY for hvctl). It is shown only this once; the service keeps only its\n"
          "SHA-256. Add the second line under auth.api_keys in the configuration.\n");
  return CLI_EXIT_OK;
}
