#!/usr/bin/env bash
# Installs the Debian packages that building, running and testing need. Idempotent and quiet
# when everything is already there; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang lld libclang-rt-14-dev
  wasi-libc libclang-rt-14-dev-wasm32 rustc libstd-rust-dev-wasm32
  libssl-dev libjansson-dev libcmocka-dev wabt libcyaml-dev libyaml-dev libsqlite3-dev
  libmicrohttpd-dev libcurl4-openssl-dev libsimdjson-dev libseccomp-dev openssl wrk valgrind linux-perf
  curl prometheus systemd
  python3 python3-cryptography python3-pytest
  chromium # headless, for the browser tests (clients/playground)
  libpq-dev postgresql haproxy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
