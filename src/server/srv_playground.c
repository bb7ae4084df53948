/*
 * srv_playground.c: GET / and GET /playground/{file}, the browser playground (docs/playground.md),
 * served when server.playground is on. The files come from the copy built into the binary
 * (srv_assets.h) or, when server.playground_dir is set, from that directory (an installed
 * share/hypervisor/playground).
 *
 * Only flat file names of [A-Za-z0-9._-] that do not start with '.' are looked up, and only those
 * with a known type: the router already refuses any '/' in {file}, and libmicrohttpd has decoded
 * %2F and %2E before we see the path, so nothing can name a file outside the directory. (It also
 * decodes %00, so "app.js%00.html" arrives as "app.js": the file of that name, nothing more.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srv_assets.h"
#include "srv_int.h"

/* The files are the page, its script bundle and its style sheet: no inline script or style, no
 * other origin. 'wasm-unsafe-eval' lets the page compile WebAssembly: the wabt package (WAT to
 * binary in the browser) is itself a WebAssembly module, and the page reads a chosen module's
 * exports with WebAssembly.compile; it allows no JavaScript eval. */
const char srv_playground_csp[] =
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

/* Largest file read from server.playground_dir (the bundle is under 2 MiB). */
#define SRV_PLAYGROUND_FILE_MAX (16u * 1024 * 1024)

static const char *srv_playground_type(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".wasm", "application/wasm"},
      {".wat", "text/plain; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(name, '.');
  if (!dot) return NULL;
  for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
    if (strcmp(dot, types[k].ext) == 0) return types[k].type;
  return NULL;
}

static bool srv_playground_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64 || name[0] == '.') return false;
  for (size_t k = 0; k < n; k++) {
    char c = name[k];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/* The file from server.playground_dir, or NULL (not there, not a regular file, too large).
 * The caller owns the returned buffer (free()). */
static char *srv_playground_read(const char *dir, const char *name, size_t *len) {
  char path[HV_CONFIG_PATH_SIZE + 80];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) return NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
      (unsigned long long)st.st_size > SRV_PLAYGROUND_FILE_MAX)
    goto done;
  size_t size = (size_t)st.st_size, got = 0;
  buf = malloc(size ? size : 1);
  if (!buf) goto done;
  while (got < size) {
    ssize_t k = read(fd, buf + got, size - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      free(buf);
      buf = NULL;
      goto done;
    }
    got += (size_t)k;
  }
  *len = size;
done:
  close(fd);
  return buf;
}

srv_reply srv_route_playground(srv_request *r) {
  srv *s = r->server;
  const char *name = r->param[0] ? r->param : "index.html";
  const char *type = srv_playground_type(name);
  if (r->param_too_long || !srv_playground_name_ok(name) || !type)
    return srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "no such playground file");

  srv_reply reply = {.status = 200, .content_type = type, .page = true};
  if (s->config.server.playground_dir[0]) {
    reply.body = srv_playground_read(s->config.server.playground_dir, name, &reply.len);
    if (!reply.body)
      return srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "no such playground file");
    return reply;
  }
  for (size_t k = 0; k < srv_playground_asset_count; k++) {
    const srv_asset *a = &srv_playground_assets[k];
    if (strcmp(a->name, name) != 0) continue;
    /* srv_reply owns a malloc'd body: one copy per request of a file a browser fetches once. */
    size_t n = (size_t)*a->len;
    reply.body = malloc(n ? n : 1);
    if (!reply.body) return srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "out of memory");
    memcpy(reply.body, a->data, n);
    reply.len = n;
    return reply;
  }
  return srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "%s",
                         srv_playground_asset_count == 0
                             ? "the playground was not built into this server (no Node.js at build time)"
                             : "no such playground file");
}
