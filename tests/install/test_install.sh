#!/bin/sh
# test_install.sh BUILD_DIR CC SYSTEMD_ANALYZE [EXTRA_CFLAGS]: what `cmake --install` gives
# (docs/deploy.md), checked for real:
#   1. DESTDIR=STAGE cmake --install BUILD: the layout under STAGE/PREFIX; the staged binaries run
#      (--version, --check-config on the example configuration); a program that uses the client
#      library compiles and links with `pkg-config --define-prefix --cflags --libs` and runs.
#   2. cmake --install BUILD --prefix DIR: the unit's ExecStart names DIR/bin/hypervisor, which
#      exists, and `systemd-analyze verify` passes on the installed unit; the .pc file works
#      without --define-prefix.
set -eu
build=$1 cc=$2 analyze=${3:-} extra=${4:-}
tmp=$(mktemp -d /tmp/hv-install-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_install: FAILED: $*" >&2; exit 1; }

# ---- 1. DESTDIR staging -------------------------------------------------------------------------
DESTDIR=$tmp/destdir cmake --install "$build" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install with DESTDIR"; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
root=$tmp/destdir$prefix
[ -d "$root" ] || fail "nothing under DESTDIR$prefix"
pc=$(find "$root" -name hypervisor-client.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no hypervisor-client.pc"
libdir=$(dirname "$(dirname "$pc")")
for f in bin/hypervisor bin/hvctl include/hypervisor/hv_client.h include/hypervisor/hv_crypto.h \
         include/hypervisor/hv_value.h include/hypervisor/wasm_engine.h \
         lib/systemd/system/hypervisor.service share/doc/hypervisor/config.example.yaml \
         share/doc/hypervisor/LICENSE share/doc/hypervisor/deploy.md; do
  [ -e "$root/$f" ] || fail "missing $prefix/$f"
done
[ -f "$libdir/libhypervisor-client.a" ] || fail "missing libhypervisor-client.a in $libdir"
[ -x "$root/bin/hypervisor" ] && [ -x "$root/bin/hvctl" ] || fail "binaries not executable"
# Every installed file (CMake's manifest names them without DESTDIR) is under the prefix, in DESTDIR.
while IFS= read -r f; do
  case $f in "$prefix"/*) ;; *) fail "installed outside the prefix: $f" ;; esac
  [ -e "$tmp/destdir$f" ] || fail "in the manifest but not under DESTDIR: $f"
done <"$build/install_manifest.txt"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
"$root/bin/hypervisor" --version | grep -q "$version" || fail "hypervisor --version"
"$root/bin/hvctl" --version | grep -q "$version" || fail "hvctl --version"
"$root/bin/hypervisor" serve --check-config "$root/share/doc/hypervisor/config.example.yaml" \
  >/dev/null || fail "the example configuration does not pass --check-config"
grep -q "^ExecStart=$prefix/bin/hypervisor serve " "$root/lib/systemd/system/hypervisor.service" ||
  fail "the unit's ExecStart does not name $prefix/bin/hypervisor"

# A client of the library: a fresh key pair, its public key in base64 (65-byte SEC1 -> 88 chars).
cat >"$tmp/client.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hv_client.h>
int main(void) {
  hv_client_key *key = NULL;
  hv_crypto_err err;
  char *pk = NULL;
  if (hv_client_key_generate(&key, &err) != HV_CRYPTO_OK) return 1;
  if (hv_client_key_public_base64(key, &pk, &err) != HV_CRYPTO_OK) return 2;
  printf("%zu\n", strlen(pk));
  free(pk);
  hv_client_key_free(key);
  return 0;
}
C
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --define-prefix --cflags --libs hypervisor-client) ||
  fail "pkg-config --define-prefix hypervisor-client"
# shellcheck disable=SC2086
"$cc" -std=c17 $extra -o "$tmp/client" "$tmp/client.c" $flags || fail "compiling against the staged library: $flags"
[ "$("$tmp/client")" = 88 ] || fail "the program linked against the library did not run"

# ---- 2. An install under a real prefix, and the unit verified --------------------------------
real=$tmp/prefix
cmake --install "$build" --prefix "$real" >"$tmp/install2.log" 2>&1 ||
  { cat "$tmp/install2.log" >&2; fail "cmake --install --prefix"; }
unit=$real/lib/systemd/system/hypervisor.service
grep -q "^ExecStart=$real/bin/hypervisor serve --config %E/hypervisor/config.yaml$" "$unit" ||
  fail "ExecStart of $unit: $(grep ExecStart= "$unit")"
flags=$(PKG_CONFIG_PATH=$real/${libdir#"$root"/}/pkgconfig pkg-config --cflags --libs hypervisor-client)
case $flags in *"-I$real/include/hypervisor"*) ;; *) fail "pkg-config without --define-prefix: $flags" ;; esac
# shellcheck disable=SC2086
"$cc" -std=c17 $extra -o "$tmp/client2" "$tmp/client.c" $flags || fail "compiling against $real"
[ "$("$tmp/client2")" = 88 ] || fail "client2"

[ -n "$analyze" ] && [ -x "$analyze" ] ||
  fail "systemd-analyze not found (Debian package systemd: scripts/deps.sh)"
# --man=no: the unit's Documentation= is a file, not a man page. systemd need not be running.
if ! "$analyze" verify --man=no "$unit" >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
  cat "$tmp/verify.log" >&2
  fail "systemd-analyze verify $unit"
fi
echo "test_install: ok ($prefix via DESTDIR, $real via --prefix; systemd-analyze verify clean)"
