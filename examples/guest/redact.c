/*
 * redact.c: the example guest `redact(string) -> string`, a JSON transform. The argument is a JSON
 * text (RFC 8259); the result is the same text with the value of every object member whose key is
 * "password", "ssn" or "token", at any depth, replaced by the string "[redacted]". Everything
 * else is kept byte for byte: whitespace, number spellings, escapes, member order, duplicates.
 *
 *   {"user": "ann", "token": {"id": 7}, "list": [{"ssn" : 123}]}
 *   {"user": "ann", "token": "[redacted]", "list": [{"ssn" : "[redacted]"}]}
 *
 * Keys are compared after decoding their escapes ("pass\u0077ord" is "password") and are case
 * sensitive ("Password" is kept). Every member with a sensitive key is redacted, duplicates too;
 * inside a value already redacted nothing more needs doing.
 *
 * Invalid input traps (unreachable), so the service answers EXECUTION_TRAP; there is no error
 * string that a caller could mistake for a redacted document. Invalid means: anything outside
 * RFC 8259's grammar (trailing commas, single quotes, comments, leading zeros, control characters
 * in strings, bad escapes, trailing text after the value, an empty text), bytes in strings that
 * are not UTF-8 (overlong forms and encoded surrogates included), and nesting deeper than
 * MAX_DEPTH arrays and objects. Escaped lone surrogates (\ud800) are grammatical and kept as they
 * are. A JSON text that is a scalar is valid and comes back unchanged.
 *
 * The scanner is iterative (an explicit stack of open containers), one pass, every read bounds
 * checked. The output grows at the top of the arena as needed; cabi_post_redact frees it and the
 * argument together.
 *
 * Canonical ABI (core module): redact(i32 ptr, i32 len) -> i32 retptr, where retptr points at
 * {u32 ptr, u32 len}.
 */
#include "cabi_guest.h"

#define MAX_DEPTH 4096 /* open arrays and objects at once */

typedef unsigned char u8;

static const u8 REDACTED[] = "\"[redacted]\"";
#define REDACTED_LEN ((uint32_t)(sizeof REDACTED - 1))

/* ---- Output ------------------------------------------------------------------------------ */

typedef struct out_buf {
  u8 *data;
  uint32_t len;
  uint32_t cap;
} out_buf;

static void out_append(out_buf *o, const u8 *p, uint32_t n) {
  if (n > o->cap - o->len) {
    uint64_t need = (uint64_t)o->len + n;
    uint64_t cap = (uint64_t)o->cap * 2;
    if (cap < need) cap = need;
    if (cap > 0xffffffffull) cabi_trap();
    /* the newest block of the arena: grows in place */
    o->data = cabi_realloc(o->data, o->cap, 1, (uint32_t)cap);
    o->cap = (uint32_t)cap;
  }
  memcpy(o->data + o->len, p, n);
  o->len += n;
}

/* ---- Tokens: each takes the index of its first byte and returns the index after it -------- */

static uint32_t skip_ws(const u8 *in, uint32_t len, uint32_t i) {
  while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\n' || in[i] == '\r')) i++;
  return i;
}

static uint32_t scan_literal(const u8 *in, uint32_t len, uint32_t i, const char *word, uint32_t n) {
  if (len - i < n) cabi_trap();
  for (uint32_t k = 0; k < n; k++)
    if (in[i + k] != (u8)word[k]) cabi_trap();
  return i + n;
}

static uint32_t scan_digits(const u8 *in, uint32_t len, uint32_t i) {
  uint32_t start = i;
  while (i < len && in[i] - '0' < 10u) i++;
  if (i == start) cabi_trap(); /* at least one digit */
  return i;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static uint32_t scan_number(const u8 *in, uint32_t len, uint32_t i) {
  if (i < len && in[i] == '-') i++;
  if (i < len && in[i] == '0') {
    i++;
  } else {
    i = scan_digits(in, len, i);
  }
  if (i < len && in[i] == '.') i = scan_digits(in, len, i + 1);
  if (i < len && (in[i] == 'e' || in[i] == 'E')) {
    i++;
    if (i < len && (in[i] == '+' || in[i] == '-')) i++;
    i = scan_digits(in, len, i);
  }
  return i;
}

static int hex_value(u8 c) {
  if (c - '0' < 10u) return c - '0';
  if ((c | 0x20) - 'a' < 6u) return (c | 0x20) - 'a' + 10;
  cabi_trap();
}

/* One UTF-8 sequence whose lead byte (0x80 or above) is at i (Unicode 15, table 3-7). */
static uint32_t scan_utf8(const u8 *in, uint32_t len, uint32_t i) {
  u8 c = in[i];
  uint32_t more;
  u8 lo = 0x80, hi = 0xBF; /* the range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    more = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    more = 2;
    if (c == 0xE0) lo = 0xA0;      /* no overlong forms */
    else if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    more = 3;
    if (c == 0xF0) lo = 0x90;      /* no overlong forms */
    else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    cabi_trap();
  }
  if (len - i - 1 < more) cabi_trap();
  if (in[i + 1] < lo || in[i + 1] > hi) cabi_trap();
  for (uint32_t k = 2; k <= more; k++)
    if (in[i + k] < 0x80 || in[i + k] > 0xBF) cabi_trap();
  return i + 1 + more;
}

/* The keys whose values are redacted. */
static int is_sensitive(const u8 *key, uint32_t n) {
  static const struct { const char *text; uint32_t len; } keys[] = {
      {"password", 8}, {"ssn", 3}, {"token", 5}};
  for (uint32_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
    if (keys[k].len != n) continue;
    uint32_t j = 0;
    while (j < n && key[j] == (u8)keys[k].text[j]) j++;
    if (j == n) return 1;
  }
  return 0;
}

#define KEY_MAX 8 /* the longest sensitive key: longer ones need not be decoded */

/*
 * A string whose opening quote is at i. With `sensitive` non-NULL (a member's key) it also
 * decodes the key, as far as needed, and says whether it is one of the sensitive keys.
 */
static uint32_t scan_string(const u8 *in, uint32_t len, uint32_t i, int *sensitive) {
  u8 key[KEY_MAX];
  uint32_t key_len = 0; /* decoded length, counted past KEY_MAX */
  int ascii = 1;        /* every decoded character is ASCII */
  i++;
  for (;;) {
    if (i >= len) cabi_trap(); /* no closing quote */
    u8 c = in[i];
    uint32_t decoded;
    if (c == '"') {
      i++;
      break;
    } else if (c == '\\') {
      if (len - i < 2) cabi_trap();
      u8 e = in[i + 1];
      i += 2;
      switch (e) {
        case '"': decoded = '"'; break;
        case '\\': decoded = '\\'; break;
        case '/': decoded = '/'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'u':
          if (len - i < 4) cabi_trap();
          decoded = (uint32_t)(hex_value(in[i]) << 12 | hex_value(in[i + 1]) << 8 |
                               hex_value(in[i + 2]) << 4 | hex_value(in[i + 3]));
          i += 4;
          break;
        default: cabi_trap();
      }
    } else if (c < 0x20) {
      cabi_trap(); /* control characters must be escaped */
    } else if (c < 0x80) {
      decoded = c;
      i++;
    } else {
      i = scan_utf8(in, len, i);
      decoded = 0x80; /* not ASCII: no sensitive key has it */
    }
    if (decoded >= 0x80) ascii = 0;
    if (key_len < KEY_MAX) key[key_len] = (u8)decoded;
    if (key_len <= KEY_MAX) key_len++;
  }
  if (sensitive) *sensitive = ascii && key_len <= KEY_MAX && is_sensitive(key, key_len);
  return i;
}

/* ---- The document ------------------------------------------------------------------------ */

static cabi_pair result;
static u8 stack[MAX_DEPTH]; /* '{' or '[' for each open container */

int32_t redact(const u8 *in, uint32_t len);
void cabi_post_redact(int32_t retptr);

CABI_EXPORT("redact")
int32_t redact(const u8 *in, uint32_t len) {
  enum { VALUE, MEMBER, AFTER_VALUE } state = VALUE;
  /* The output is the arena's newest block, after the argument: it grows in place. Most
   * documents come back about as long as they came, so it starts at the argument's length. */
  out_buf out = {.data = cabi_alloc(1, len), .len = 0, .cap = len};
  uint32_t depth = 0;
  uint32_t copied = 0;    /* in[copied, ...) is not in the output yet */
  int pending = 0;        /* the next value is a sensitive member's */
  int redacting = 0;      /* inside a value being dropped ... */
  uint32_t redact_depth = 0; /* ... that started at this depth */
  uint32_t i = skip_ws(in, len, 0);

  for (;;) {
    if (state == VALUE) {
      if (pending) {
        out_append(&out, in + copied, i - copied);
        out_append(&out, REDACTED, REDACTED_LEN);
        pending = 0;
        redacting = 1;
        redact_depth = depth;
      }
      if (i >= len) cabi_trap();
      u8 c = in[i];
      if (c == '{' || c == '[') {
        if (depth == MAX_DEPTH) cabi_trap();
        stack[depth++] = c;
        i = skip_ws(in, len, i + 1);
        if (i < len && in[i] == (c == '{' ? '}' : ']')) {
          i++;
          depth--;
          state = AFTER_VALUE;
        } else {
          state = c == '{' ? MEMBER : VALUE;
        }
        continue;
      }
      if (c == '"') i = scan_string(in, len, i, NULL);
      else if (c == 't') i = scan_literal(in, len, i, "true", 4);
      else if (c == 'f') i = scan_literal(in, len, i, "false", 5);
      else if (c == 'n') i = scan_literal(in, len, i, "null", 4);
      else if (c == '-' || c - '0' < 10u) i = scan_number(in, len, i);
      else cabi_trap();
      state = AFTER_VALUE;
    } else if (state == MEMBER) { /* at a key, whitespace skipped */
      if (i >= len || in[i] != '"') cabi_trap();
      int sensitive;
      i = scan_string(in, len, i, &sensitive);
      i = skip_ws(in, len, i);
      if (i >= len || in[i] != ':') cabi_trap();
      i = skip_ws(in, len, i + 1);
      pending = sensitive && !redacting;
      state = VALUE;
    } else { /* AFTER_VALUE: just past a value */
      if (redacting && depth == redact_depth) {
        redacting = 0;
        copied = i; /* the dropped value ends here */
      }
      i = skip_ws(in, len, i);
      if (depth == 0) {
        if (i != len) cabi_trap(); /* text after the value */
        break;
      }
      u8 open = stack[depth - 1];
      if (i >= len) cabi_trap();
      if (in[i] == ',') {
        i = skip_ws(in, len, i + 1);
        state = open == '{' ? MEMBER : VALUE;
      } else if (in[i] == (open == '{' ? '}' : ']')) {
        i++;
        depth--;
      } else {
        cabi_trap();
      }
    }
  }
  out_append(&out, in + copied, len - copied);
  return cabi_return(&result, out.data, out.len);
}

CABI_EXPORT("cabi_post_redact")
void cabi_post_redact(int32_t retptr) {
  (void)retptr;
  cabi_arena_reset();
}
