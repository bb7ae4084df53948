/*
 * sandbox.c: a WASI command in plain C (wasi-libc) that tries to reach outside the WASI stdio
 * profile and reports, one line each, what libc says: opening files for reading and writing
 * (absolute and relative paths), listing a directory, and the socket calls wasi-libc has
 * (preview1 cannot create a socket: wasi-libc has no socket() or connect(), only accept, recv,
 * send and shutdown on descriptors it was given). Under the profile every attempt fails with an
 * error and the program says so; its output is deterministic.
 *
 * Exit code: the number of attempts that succeeded (0 under the profile, which is what the tests
 * expect), so a sandbox that let anything through shows in the exit code.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int escaped;

/* One line: what was tried, and "refused (errno N: text)" or "SUCCEEDED". */
static void report(const char *what, int failed, int err) {
  if (failed) {
    printf("%-36s refused (errno %d: %s)\n", what, err, strerror(err));
  } else {
    printf("%-36s SUCCEEDED\n", what);
    escaped++;
  }
}

int main(void) {
  FILE *f;
  errno = 0;
  f = fopen("/etc/passwd", "r");
  report("fopen(\"/etc/passwd\", \"r\")", f == NULL, errno);
  if (f) fclose(f);
  errno = 0;
  f = fopen("secret.txt", "r");
  report("fopen(\"secret.txt\", \"r\")", f == NULL, errno);
  if (f) fclose(f);
  errno = 0;
  f = fopen("/tmp/wasi-sandbox-out", "w");
  report("fopen(\"/tmp/wasi-sandbox-out\", \"w\")", f == NULL, errno);
  if (f) fclose(f);
  errno = 0;
  DIR *d = opendir(".");
  report("opendir(\".\")", d == NULL, errno);
  if (d) closedir(d);
  errno = 0;
  int fd = open("/dev/urandom", O_RDONLY);
  report("open(\"/dev/urandom\")", fd < 0, errno);
  if (fd >= 0) close(fd);

  /* The network: descriptor 3 would be a socket the host handed over; there is none. */
  char buf[16];
  errno = 0;
  int s = accept(3, NULL, NULL);
  report("accept(3)", s < 0, errno);
  errno = 0;
  ssize_t n = recv(3, buf, sizeof buf, 0);
  report("recv(3)", n < 0, errno);
  errno = 0;
  n = send(1, "x", 1, 0);
  report("send(1) (stdout is no socket)", n < 0, errno);
  errno = 0;
  report("shutdown(0, SHUT_RDWR)", shutdown(0, SHUT_RDWR) != 0, errno);

  fflush(stdout);
  fprintf(stderr, "%d of 9 attempts got through\n", escaped);
  return escaped;
}
