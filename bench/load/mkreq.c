/*
 * mkreq.c: seals one POST /v1/execute body, for a load generator that replays it (the server
 * still decrypts, runs and seals a result on every request: the body is only sent again).
 *
 *   hv_load_mkreq --server-key BASE64 --key-id HEX --function NAME [--arguments JSON] FILE.wasm
 *
 * --server-key is the current key's public_key from GET /v1/keys. Writes the JSON body to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_file.h"
#include "hv_client.h"

static int usage(void) {
  fprintf(stderr, "usage: hv_load_mkreq --server-key BASE64 --key-id HEX --function NAME "
                  "[--arguments JSON] FILE.wasm\n");
  return 2;
}

int main(int argc, char **argv) {
  const char *server_key = NULL, *key_id = NULL, *function = NULL, *arguments = "[]", *file = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--server-key") == 0 && i + 1 < argc) server_key = argv[++i];
    else if (strcmp(argv[i], "--key-id") == 0 && i + 1 < argc) key_id = argv[++i];
    else if (strcmp(argv[i], "--function") == 0 && i + 1 < argc) function = argv[++i];
    else if (strcmp(argv[i], "--arguments") == 0 && i + 1 < argc) arguments = argv[++i];
    else if (argv[i][0] != '-' && !file) file = argv[i];
    else return usage();
  }
  if (!server_key || !key_id || !function || !file) return usage();

  size_t wasm_len = 0, pk_len = 0;
  char why[128] = "";
  uint8_t *wasm = cli_read_file(file, CLI_FILE_MAX, &wasm_len, why, sizeof why), *pk = NULL;
  hv_crypto_err err = {0};
  if (!wasm) {
    fprintf(stderr, "hv_load_mkreq: %s: %s\n", file, why);
    return 1;
  }
  if (hv_crypto_base64_decode(server_key, strlen(server_key), &pk, &pk_len, &err) != HV_CRYPTO_OK) {
    fprintf(stderr, "hv_load_mkreq: --server-key: %s\n", err.message);
    return 1;
  }
  json_error_t jerr;
  json_t *args = json_loads(arguments, 0, &jerr);
  if (!json_is_array(args)) {
    fprintf(stderr, "hv_load_mkreq: --arguments: not a JSON array\n");
    return 1;
  }
  hv_client_key *key = NULL;
  hv_client_sealed sealed = {0};
  char *pub = NULL;
  if (hv_client_key_generate(&key, &err) != HV_CRYPTO_OK ||
      hv_client_seal_request(key, pk, pk_len, function, wasm, wasm_len, &sealed, &err) !=
          HV_CRYPTO_OK ||
      hv_client_key_public_base64(key, &pub, &err) != HV_CRYPTO_OK) {
    fprintf(stderr, "hv_load_mkreq: %s\n", err.message);
    return 1;
  }
  json_t *o = json_object();
  json_object_set_new(o, "encrypted_wasm", json_string(sealed.base64));
  json_object_set_new(o, "key_id", json_string(key_id));
  json_object_set_new(o, "function_name", json_string(function));
  json_object_set_new(o, "arguments", args);
  json_object_set_new(o, "public_key", json_string(pub));
  int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : 1;
  json_decref(o);
  free(pub);
  hv_client_sealed_free(&sealed);
  hv_client_key_free(key);
  free(pk);
  free(wasm);
  return rc;
}
