/*
 * srv_assets.h: the browser playground's files built into the binary (docs/playground.md).
 * clients/playground/CMakeLists.txt generates the table at build time from the esbuild output; a
 * build without Node.js has an empty table, and the server then answers / with 404.
 */
#ifndef HV_SERVER_SRV_ASSETS_H
#define HV_SERVER_SRV_ASSETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_asset {
  const char *name;          /* a flat file name: "index.html", "app.js" */
  const unsigned char *data; /* static, read-only */
  const uint64_t *len;       /* its length in bytes (a symbol of the generated file) */
} srv_asset;

extern const srv_asset srv_playground_assets[];
extern const size_t srv_playground_asset_count;

#endif /* HV_SERVER_SRV_ASSETS_H */
