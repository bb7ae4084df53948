#!/usr/bin/env bash
# sha256sum_check.sh TEST_BINARY FILE: the guest sha256.wasm (run by TEST_BINARY --sha256-file)
# and coreutils' sha256sum must print the same line for FILE.
set -euo pipefail
guest=$("$1" --sha256-file "$2")
want=$(sha256sum -b "$2" | sed 's/ \*/  /')
if [ "$guest" != "$want" ]; then
  echo "guest:     $guest" >&2
  echo "sha256sum: $want" >&2
  exit 1
fi
echo "$guest"
