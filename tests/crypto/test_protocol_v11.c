/*
 * Protocol v1.1 on the server's side: the module and the invocation document as two messages of
 * one HPKE context (hv_keyring_open_request_v11), and sealed errors (hv_crypto_seal_error). The
 * requests are sealed here from the HPKE primitives (hpke_setup_sender, hpke_seal), as
 * protocol.md writes the construction, not with hv_client.
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"

#define T0 1764000000
#define PERIOD 3600

static const uint8_t wasm[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
static const char invocation[] =
    "{\"function_name\":\"add\",\"arguments\":[{\"type\":\"i32\",\"value\":40}]}";

typedef struct fixture {
  char dir[64];
  hv_keyring *ring;
  hv_keyring_key_info server; /* the current key */
  hpke_private_key *client;
  hpke_public_key *client_pk;
} fixture;

/* A v1.1 request as the client sends it (decoded): enc || ct_wasm and ct_call. */
typedef struct request {
  uint8_t *wasm_msg; /* enc || ct_wasm */
  size_t wasm_msg_len;
  uint8_t *call; /* ct_call */
  size_t call_len;
} request;

/* What hv_keyring_open_request_v11 gave. */
typedef struct opened {
  hv_crypto_status rc;
  hv_crypto_err err;
  uint8_t *wasm;
  size_t wasm_len;
  uint8_t *invocation;
  size_t invocation_len;
  char key_id[HV_KEY_ID_LEN + 1];
} opened;

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
  snprintf(f->dir, sizeof f->dir, "/tmp/hv-v11-XXXXXX");
  if (mkdtemp(f->dir) == NULL ||
      hv_keyring_open(f->dir, PERIOD, T0, &f->ring, NULL) != HV_CRYPTO_OK ||
      hv_keyring_current(f->ring, &f->server, NULL) != HV_CRYPTO_OK ||
      hpke_private_key_generate(&f->client, NULL) != HV_CRYPTO_OK ||
      hpke_public_key_parse(hpke_private_key_public(f->client), HPKE_PUBLIC_KEY_LEN,
                            &f->client_pk, NULL) != HV_CRYPTO_OK)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hv_keyring_close(f->ring);
  hpke_private_key_free(f->client);
  hpke_public_key_free(f->client_pk);
  nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

/* Seals first then second as two messages of one context to server_key, with info and aad. */
static request seal_two(const uint8_t server_key[HPKE_PUBLIC_KEY_LEN], const char *info,
                        const uint8_t *aad, size_t aad_len, const uint8_t *first,
                        size_t first_len, const uint8_t *second, size_t second_len) {
  const hpke_setup_params params = {.suite = HPKE_SUITE_PROTOCOL,
                                    .mode = HPKE_MODE_BASE,
                                    .info = (const uint8_t *)info,
                                    .info_len = strlen(info)};
  hpke_public_key *pkR = NULL;
  hpke_ctx *ctx = NULL;
  request r;

  r.wasm_msg_len = HPKE_ENC_LEN + first_len + HPKE_TAG_LEN;
  r.wasm_msg = malloc(r.wasm_msg_len);
  r.call_len = second_len + HPKE_TAG_LEN;
  r.call = malloc(r.call_len);
  assert_non_null(r.wasm_msg);
  assert_non_null(r.call);
  assert_int_equal(hpke_public_key_parse(server_key, HPKE_PUBLIC_KEY_LEN, &pkR, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_setup_sender(&params, pkR, r.wasm_msg, &ctx, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_seal(ctx, aad, aad_len, first, first_len, r.wasm_msg + HPKE_ENC_LEN,
                             NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_seal(ctx, aad, aad_len, second, second_len, r.call, NULL), HV_CRYPTO_OK);
  hpke_ctx_free(ctx);
  hpke_public_key_free(pkR);
  return r;
}

/* The protocol's request: module at sequence 0, invocation at 1, aad = SEC1(client key). */
static request seal_request(const fixture *f, const uint8_t server_key[HPKE_PUBLIC_KEY_LEN]) {
  return seal_two(server_key, HV_PROTOCOL_REQUEST_INFO_V11, hpke_private_key_public(f->client),
                  HPKE_PUBLIC_KEY_LEN, wasm, sizeof wasm, (const uint8_t *)invocation,
                  strlen(invocation));
}

static void request_free(request *r) {
  free(r->wasm_msg);
  free(r->call);
}

static opened open_v11(const fixture *f, const char *key_id, const uint8_t *wasm_msg,
                       size_t wasm_msg_len, const uint8_t *call, size_t call_len,
                       const hpke_public_key *client_pk) {
  opened o;
  memset(&o, 0, sizeof o);
  o.wasm = o.invocation = (uint8_t *)1; /* must be overwritten */
  o.rc = hv_keyring_open_request_v11(f->ring, key_id, wasm_msg, wasm_msg_len, call, call_len,
                                     client_pk, &o.wasm, &o.wasm_len, &o.invocation,
                                     &o.invocation_len, o.key_id, &o.err);
  assert_int_equal(o.err.status, o.rc);
  if (o.rc != HV_CRYPTO_OK) {
    assert_null(o.wasm);
    assert_null(o.invocation);
    assert_int_equal(o.wasm_len, 0);
    assert_int_equal(o.invocation_len, 0);
    assert_string_equal(o.key_id, "");
  }
  return o;
}

static void opened_free(opened *o) {
  free(o->wasm);
  free(o->invocation);
}

/* The request opened to exactly the module and the invocation, by the key key_id. */
static void assert_opened(opened *o, const char *key_id) {
  assert_int_equal(o->rc, HV_CRYPTO_OK);
  assert_int_equal(o->wasm_len, sizeof wasm);
  assert_memory_equal(o->wasm, wasm, sizeof wasm);
  assert_int_equal(o->invocation_len, strlen(invocation));
  assert_string_equal((const char *)o->invocation, invocation); /* NUL-terminated */
  assert_string_equal(o->key_id, key_id);
  opened_free(o);
}

/* Fails as a wrong key, aad or module does: "decryption failed", nothing about the invocation. */
static void assert_wasm_refused(const opened *o) {
  assert_int_equal(o->rc, HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(hv_crypto_status_class(o->rc), HV_CRYPTO_CLASS_ENCRYPTION);
  assert_null(strstr(o->err.message, "encrypted_invocation"));
}

/* The module opened, the invocation did not. */
static void assert_invocation_refused(const opened *o) {
  assert_int_equal(o->rc, HV_CRYPTO_DECRYPT_FAILED);
  assert_non_null(strstr(o->err.message, "encrypted_invocation"));
}

static void test_open_with_key_id(void **state) {
  fixture *f = *state;
  request r = seal_request(f, f->server.public_key);
  opened o = open_v11(f, f->server.key_id, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len,
                      f->client_pk);
  assert_opened(&o, f->server.key_id);
  request_free(&r);
}

/* Without key_id each live key is tried; with another live key's id it fails. */
static void test_open_each_live_key(void **state) {
  fixture *f = *state;
  hv_keyring_key_info previous = f->server, current;
  request to_previous = seal_request(f, previous.public_key);
  request to_current;
  opened o;

  assert_int_equal(hv_keyring_rotate_if_due(f->ring, T0 + PERIOD, NULL), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_current(f->ring, &current, NULL), HV_CRYPTO_OK);
  assert_string_not_equal(current.key_id, previous.key_id);
  to_current = seal_request(f, current.public_key);

  o = open_v11(f, NULL, to_previous.wasm_msg, to_previous.wasm_msg_len, to_previous.call,
               to_previous.call_len, f->client_pk);
  assert_opened(&o, previous.key_id); /* the current key is tried first and passed over */
  o = open_v11(f, "", to_current.wasm_msg, to_current.wasm_msg_len, to_current.call,
               to_current.call_len, f->client_pk);
  assert_opened(&o, current.key_id);
  o = open_v11(f, previous.key_id, to_previous.wasm_msg, to_previous.wasm_msg_len,
               to_previous.call, to_previous.call_len, f->client_pk);
  assert_opened(&o, previous.key_id);
  /* a live key, but not the one it was sealed to */
  o = open_v11(f, current.key_id, to_previous.wasm_msg, to_previous.wasm_msg_len,
               to_previous.call, to_previous.call_len, f->client_pk);
  assert_wasm_refused(&o);
  /* an unknown key id */
  o = open_v11(f, "0123456789abcdef", to_current.wasm_msg, to_current.wasm_msg_len,
               to_current.call, to_current.call_len, f->client_pk);
  assert_int_equal(o.rc, HV_CRYPTO_UNKNOWN_KEY_ID);
  /* the previous key destroyed: what was sealed to it opens no more */
  assert_int_equal(hv_keyring_rotate_if_due(f->ring, T0 + 2 * PERIOD, NULL), HV_CRYPTO_OK);
  o = open_v11(f, NULL, to_previous.wasm_msg, to_previous.wasm_msg_len, to_previous.call,
               to_previous.call_len, f->client_pk);
  assert_wasm_refused(&o);
  assert_non_null(strstr(o.err.message, "every live key"));
  request_free(&to_previous);
  request_free(&to_current);
}

/* The aad is the client's key alone, and the info is v1.1's. */
static void test_wrong_aad_or_info(void **state) {
  fixture *f = *state;
  hpke_private_key *mallory = NULL;
  hpke_public_key *mallory_pk = NULL;
  request r = seal_request(f, f->server.public_key);
  uint8_t v1_aad[HPKE_PUBLIC_KEY_LEN + 3];
  request v1_style, v1_info, no_aad;
  opened o;

  /* another client key than the one the request was sealed with */
  assert_int_equal(hpke_private_key_generate(&mallory, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_public_key_parse(hpke_private_key_public(mallory), HPKE_PUBLIC_KEY_LEN,
                                         &mallory_pk, NULL),
                   HV_CRYPTO_OK);
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, mallory_pk);
  assert_wasm_refused(&o);
  o = open_v11(f, f->server.key_id, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, mallory_pk);
  assert_wasm_refused(&o);
  /* v1's aad (key || function name), v1's info, an empty aad */
  memcpy(v1_aad, hpke_private_key_public(f->client), HPKE_PUBLIC_KEY_LEN);
  memcpy(v1_aad + HPKE_PUBLIC_KEY_LEN, "add", 3);
  v1_style = seal_two(f->server.public_key, HV_PROTOCOL_REQUEST_INFO_V11, v1_aad, sizeof v1_aad,
                      wasm, sizeof wasm, (const uint8_t *)invocation, strlen(invocation));
  v1_info = seal_two(f->server.public_key, HV_PROTOCOL_REQUEST_INFO,
                     hpke_private_key_public(f->client), HPKE_PUBLIC_KEY_LEN, wasm, sizeof wasm,
                     (const uint8_t *)invocation, strlen(invocation));
  no_aad = seal_two(f->server.public_key, HV_PROTOCOL_REQUEST_INFO_V11, NULL, 0, wasm,
                    sizeof wasm, (const uint8_t *)invocation, strlen(invocation));
  const request *bad[] = {&v1_style, &v1_info, &no_aad};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o = open_v11(f, NULL, bad[i]->wasm_msg, bad[i]->wasm_msg_len, bad[i]->call, bad[i]->call_len,
                 f->client_pk);
    assert_wasm_refused(&o);
  }
  /* and the right one still opens */
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
  assert_opened(&o, f->server.key_id);
  request_free(&v1_style);
  request_free(&v1_info);
  request_free(&no_aad);
  request_free(&r);
  hpke_public_key_free(mallory_pk);
  hpke_private_key_free(mallory);
}

/* Sequence numbers: the module is message 0 and the invocation message 1, never the other way. */
static void test_sequence_order(void **state) {
  fixture *f = *state;
  request r = seal_request(f, f->server.public_key);
  request swapped_at_source =
      seal_two(f->server.public_key, HV_PROTOCOL_REQUEST_INFO_V11,
               hpke_private_key_public(f->client), HPKE_PUBLIC_KEY_LEN,
               (const uint8_t *)invocation, strlen(invocation), wasm, sizeof wasm);
  uint8_t *swapped = malloc(HPKE_ENC_LEN + r.call_len);
  uint8_t *call_as_first = NULL;
  opened o;

  assert_non_null(swapped);
  /* the invocation's ciphertext in the module's place and the other way round */
  memcpy(swapped, r.wasm_msg, HPKE_ENC_LEN);
  memcpy(swapped + HPKE_ENC_LEN, r.call, r.call_len);
  o = open_v11(f, NULL, swapped, HPKE_ENC_LEN + r.call_len, r.wasm_msg + HPKE_ENC_LEN,
               r.wasm_msg_len - HPKE_ENC_LEN, f->client_pk);
  assert_wasm_refused(&o);
  o = open_v11(f, f->server.key_id, swapped, HPKE_ENC_LEN + r.call_len,
               r.wasm_msg + HPKE_ENC_LEN, r.wasm_msg_len - HPKE_ENC_LEN, f->client_pk);
  assert_wasm_refused(&o);
  /* the module's ciphertext given again as the invocation: message 0 opened at sequence 1 */
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.wasm_msg + HPKE_ENC_LEN,
               r.wasm_msg_len - HPKE_ENC_LEN, f->client_pk);
  assert_invocation_refused(&o);
  /* a client that sealed the invocation first: each part opens as the other, which is refused */
  o = open_v11(f, NULL, swapped_at_source.wasm_msg, swapped_at_source.wasm_msg_len,
               swapped_at_source.call, swapped_at_source.call_len, f->client_pk);
  assert_int_equal(o.rc, HV_CRYPTO_OK); /* the crypto cannot tell ... */
  assert_memory_equal(o.wasm, invocation, strlen(invocation)); /* ... but the roles are fixed */
  assert_memory_equal(o.invocation, wasm, sizeof wasm);
  opened_free(&o);
  call_as_first = malloc(HPKE_ENC_LEN + swapped_at_source.call_len);
  assert_non_null(call_as_first);
  memcpy(call_as_first, swapped_at_source.wasm_msg, HPKE_ENC_LEN);
  memcpy(call_as_first + HPKE_ENC_LEN, swapped_at_source.call, swapped_at_source.call_len);
  o = open_v11(f, NULL, call_as_first, HPKE_ENC_LEN + swapped_at_source.call_len,
               swapped_at_source.wasm_msg + HPKE_ENC_LEN,
               swapped_at_source.wasm_msg_len - HPKE_ENC_LEN, f->client_pk);
  assert_wasm_refused(&o);
  free(call_as_first);
  free(swapped);
  request_free(&swapped_at_source);
  request_free(&r);
}

static void test_tampered_invocation(void **state) {
  fixture *f = *state;
  request r = seal_request(f, f->server.public_key);
  opened o;

  for (size_t i = 0; i < r.call_len; i += 7) {
    r.call[i] ^= 0x20;
    o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
    assert_invocation_refused(&o);
    r.call[i] ^= 0x20;
  }
  r.call[r.call_len - 1] ^= 1; /* the tag's last byte */
  o = open_v11(f, f->server.key_id, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
  assert_invocation_refused(&o);
  r.call[r.call_len - 1] ^= 1;
  /* cut short, shorter than a tag, missing */
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len - 1, f->client_pk);
  assert_invocation_refused(&o);
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, HPKE_TAG_LEN - 1, f->client_pk);
  assert_invocation_refused(&o);
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, NULL, 0, f->client_pk);
  assert_invocation_refused(&o);
  /* a changed module is refused before the invocation is looked at */
  r.wasm_msg[HPKE_ENC_LEN + 2] ^= 1;
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
  assert_wasm_refused(&o);
  r.wasm_msg[HPKE_ENC_LEN + 2] ^= 1;
  /* enc: too short, or not a point any more */
  o = open_v11(f, NULL, r.wasm_msg, HPKE_ENC_LEN - 1, r.call, r.call_len, f->client_pk);
  assert_int_equal(o.rc, HV_CRYPTO_BAD_ENC);
  r.wasm_msg[10] ^= 1;
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
  assert_int_equal(o.rc, HV_CRYPTO_BAD_ENC);
  r.wasm_msg[10] ^= 1;
  o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
  assert_opened(&o, f->server.key_id);
  request_free(&r);
}

/* The invocation of another request (another context: another enc) does not open with this one's
 * module, even from the same client to the same key. */
static void test_invocation_from_another_context(void **state) {
  fixture *f = *state;
  request a = seal_request(f, f->server.public_key);
  request b = seal_request(f, f->server.public_key);
  opened o;

  assert_memory_not_equal(a.wasm_msg, b.wasm_msg, HPKE_ENC_LEN); /* fresh ephemeral keys */
  o = open_v11(f, NULL, a.wasm_msg, a.wasm_msg_len, b.call, b.call_len, f->client_pk);
  assert_invocation_refused(&o);
  o = open_v11(f, NULL, b.wasm_msg, b.wasm_msg_len, a.call, a.call_len, f->client_pk);
  assert_invocation_refused(&o);
  o = open_v11(f, NULL, b.wasm_msg, b.wasm_msg_len, b.call, b.call_len, f->client_pk);
  assert_opened(&o, f->server.key_id);
  request_free(&a);
  request_free(&b);
}

static void test_empty_messages(void **state) {
  fixture *f = *state;
  request r = seal_two(f->server.public_key, HV_PROTOCOL_REQUEST_INFO_V11,
                       hpke_private_key_public(f->client), HPKE_PUBLIC_KEY_LEN, NULL, 0, NULL, 0);
  opened o = open_v11(f, NULL, r.wasm_msg, r.wasm_msg_len, r.call, r.call_len, f->client_pk);
  assert_int_equal(o.rc, HV_CRYPTO_OK);
  assert_int_equal(o.wasm_len, 0);
  assert_int_equal(o.invocation_len, 0);
  assert_non_null(o.wasm);
  assert_non_null(o.invocation);
  assert_int_equal(o.invocation[0], 0);
  opened_free(&o);
  request_free(&r);
}

/* ---- Sealed errors -------------------------------------------------------------------------- */

#define RID "9b2f8f0e-4a43-4c1e-9f0d-2b8c3e7f6a11"

/* Opens a sealed error as the protocol says a client does. */
static hv_crypto_status open_error(const fixture *f, const uint8_t *sealed, size_t sealed_len,
                                   const char *info, const char *aad, uint8_t **pt,
                                   size_t *pt_len) {
  return hpke_open_base(HPKE_SUITE_PROTOCOL, f->client, sealed, sealed_len,
                        (const uint8_t *)info, strlen(info), (const uint8_t *)aad, strlen(aad), pt,
                        pt_len, NULL);
}

static void test_seal_error(void **state) {
  fixture *f = *state;
  uint8_t *sealed = NULL, *pt = NULL;
  size_t sealed_len = 0, pt_len = 0;
  hpke_private_key *other = NULL;
  const char *want = "{\"request_id\":\"" RID "\",\"error_code\":\"EXECUTION_TRAP\","
                     "\"message\":\"trap in \\\"f\\\": out of bounds\\nat \xc3\xa9\\u0001\"}";

  assert_int_equal(hv_crypto_seal_error(f->client_pk, RID, "EXECUTION_TRAP",
                                        "trap in \"f\": out of bounds\nat \xc3\xa9\x01", &sealed,
                                        &sealed_len, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(sealed_len, HPKE_ENC_LEN + strlen(want) + HPKE_TAG_LEN);
  assert_int_equal(open_error(f, sealed, sealed_len, HV_PROTOCOL_ERROR_INFO, RID, &pt, &pt_len),
                   HV_CRYPTO_OK);
  assert_int_equal(pt_len, strlen(want));
  assert_memory_equal(pt, want, pt_len);
  free(pt);
  /* bound to the request_id, to the error info and to the client's key */
  assert_int_equal(open_error(f, sealed, sealed_len, HV_PROTOCOL_ERROR_INFO, "another", &pt,
                              &pt_len),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(open_error(f, sealed, sealed_len, HV_PROTOCOL_RESPONSE_INFO, RID, &pt,
                              &pt_len),
                   HV_CRYPTO_DECRYPT_FAILED);
  assert_int_equal(hpke_private_key_generate(&other, NULL), HV_CRYPTO_OK);
  assert_int_equal(hpke_open_base(HPKE_SUITE_PROTOCOL, other, sealed, sealed_len,
                                  (const uint8_t *)HV_PROTOCOL_ERROR_INFO,
                                  strlen(HV_PROTOCOL_ERROR_INFO), (const uint8_t *)RID,
                                  strlen(RID), &pt, &pt_len, NULL),
                   HV_CRYPTO_DECRYPT_FAILED);
  hpke_private_key_free(other);
  free(sealed);
}

static void test_seal_error_refusals(void **state) {
  fixture *f = *state;
  uint8_t *sealed = (uint8_t *)1;
  size_t sealed_len = 3;
  hv_crypto_err err;

  assert_int_equal(hv_crypto_seal_error(f->client_pk, RID, "EXECUTION_TRAP", "bad \xff", &sealed,
                                        &sealed_len, &err),
                   HV_CRYPTO_BAD_VALUE);
  assert_null(sealed);
  assert_int_equal(sealed_len, 0);
  assert_non_null(strstr(err.message, "message"));
  assert_int_equal(hv_crypto_seal_error(f->client_pk, RID, "\xc0\x80", "m", &sealed, &sealed_len,
                                        &err),
                   HV_CRYPTO_BAD_VALUE);
  assert_int_equal(hv_crypto_seal_error(NULL, RID, "E", "m", &sealed, &sealed_len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_int_equal(hv_crypto_seal_error(f->client_pk, RID, "E", NULL, &sealed, &sealed_len, &err),
                   HV_CRYPTO_INVALID_ARGUMENT);
  assert_null(sealed);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_with_key_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_open_each_live_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_aad_or_info, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sequence_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tampered_invocation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invocation_from_another_context, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_messages, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seal_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seal_error_refusals, setup, teardown),
  };
  return cmocka_run_group_tests_name("protocol_v11", tests, NULL, NULL);
}
