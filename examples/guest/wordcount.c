/*
 * wordcount.c: the example guest `wordcount(string) -> i32`: the number of words, a word being a
 * maximal run of bytes that are not ASCII whitespace. Whitespace is what C's isspace() takes in
 * the "C" locale: space, \t, \n, \v, \f and \r. Any other byte, non-ASCII ones included, is part
 * of a word, so "naïve café" is two words.
 *
 * Canonical ABI (core module): wordcount(i32 ptr, i32 len) -> i32. A numeric result needs no post
 * function; the argument is freed before returning.
 */
#include "cabi_guest.h"

int32_t wordcount(const unsigned char *text, uint32_t len);

CABI_EXPORT("wordcount")
int32_t wordcount(const unsigned char *text, uint32_t len) {
  uint32_t words = 0;
  int in_word = 0;
  for (uint32_t i = 0; i < len; i++) {
    unsigned char c = text[i];
    int space = c == ' ' || (c >= '\t' && c <= '\r'); /* \t \n \v \f \r are 9..13 */
    words += (uint32_t)(!space & !in_word);
    in_word = !space;
  }
  cabi_arena_reset();
  return (int32_t)words;
}
