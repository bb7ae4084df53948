/*
 * wc.c: a WASI command in plain C (wasi-libc): counts the lines, words and bytes of stdin and
 * prints them as `wc` does ("  2  3 16\n" style: "%d %d %d\n" here). With an argument "-v" it also
 * says on stderr how many arguments it got. Exit code: 0, or 3 when stdin was empty (so a test
 * sees exit codes travel through exit()).
 *
 * Built at build time with clang --target=wasm32-wasi against Debian's wasi-libc
 * (examples/CMakeLists.txt); run through the WASI stdio profile (docs/wasi.md).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  unsigned long lines = 0, words = 0, bytes = 0;
  int in_word = 0;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)buf[i];
      bytes++;
      if (c == '\n') lines++;
      if (isspace(c)) {
        in_word = 0;
      } else if (!in_word) {
        in_word = 1;
        words++;
      }
    }
  }
  printf("%lu %lu %lu\n", lines, words, bytes);
  if (argc > 1 && strcmp(argv[1], "-v") == 0) fprintf(stderr, "%s: %d arguments\n", argv[0], argc);
  return bytes == 0 ? 3 : 0;
}
