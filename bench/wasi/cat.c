/*
 * cat.c: the WASI stdio benchmark's guest (bench/wasi/run.sh): copies stdin to stdout with
 * read(2) and write(2) on a buffer of N bytes (argv[1], default 65536), so every chunk is one
 * fd_read and one fd_write through the WASI stdio profile. Exit code 0, or 1 on an error.
 */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  size_t size = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 65536;
  if (size == 0) size = 65536;
  char *buf = malloc(size);
  if (!buf) return 1;
  ssize_t n;
  while ((n = read(0, buf, size)) > 0) {
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(1, buf + done, (size_t)(n - done));
      if (w <= 0) return 1;
      done += w;
    }
  }
  return n < 0;
}
