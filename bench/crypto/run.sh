#!/usr/bin/env bash
# HPKE throughput beside its floor. Prints SealBase and OpenBase operations per second (P-256,
# HKDF-SHA256, AES-256-GCM, 1 KiB plaintext) and, from the same run, the ECDH P-256 rate of
# `openssl speed ecdhp256`. A seal costs two P-256 scalar multiplications (ephemeral key
# generation and DH) and an open one, so the floor ratios are seal*2/ecdh and open*1/ecdh;
# the goal is 0.80 or more for each. Both sides divide by CPU time (`openssl speed` does by
# default), the three measurements run in turn `rounds` times and the best of each counts; an
# idle machine still gives the steadiest figures.
#
#   bench/crypto/run.sh [build-dir, default build] [seconds per measurement, default 3] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."

build="${1:-build}"
seconds="${2:-3}"
rounds="${3:-3}"
goal=0.80

if [ ! -f "$build/build.ninja" ] && [ ! -f "$build/Makefile" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target hv_crypto_bench >/dev/null
command -v openssl >/dev/null || { echo "run.sh: the openssl command is missing (apt-get install openssl)" >&2; exit 1; }

best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 > a + 0) ? b : a }'; }
seal="" open="" ecdh=""
for ((r = 1; r <= rounds; r++)); do
  ours=$("$build/bench/crypto/hv_crypto_bench" "$seconds")
  seal=$(best "$seal" "$(sed -n 's/^seal_ops_per_sec=//p' <<<"$ours")")
  open=$(best "$open" "$(sed -n 's/^open_ops_per_sec=//p' <<<"$ours")")
  speed=$(openssl speed -seconds "$seconds" ecdhp256 2>/dev/null |
    awk '/ecdh \(nistp256\)/ {v = $NF} END {print v}')
  ecdh=$(best "$ecdh" "$speed")
done
if [ -z "$ecdh" ] || [ -z "$seal" ] || [ -z "$open" ]; then
  echo "run.sh: could not read the rates (seal '$seal', open '$open', openssl '$ecdh')" >&2
  exit 1
fi

awk -v seal="$seal" -v open="$open" -v ecdh="$ecdh" -v goal="$goal" -v s="$seconds" -v rounds="$rounds" 'BEGIN {
  rs = seal * 2 / ecdh; ro = open / ecdh
  printf "HPKE DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM, 1 KiB plaintext\n"
  printf "best of %s rounds of %s s per measurement\n", rounds, s
  printf "  %-34s %10.1f op/s\n", "openssl speed ecdhp256 (floor)", ecdh
  printf "  %-34s %10.1f op/s   seal*2/ecdh = %.2f  %s\n", "hpke_seal_base", seal, rs, (rs >= goal ? "ok" : "below goal")
  printf "  %-34s %10.1f op/s   open*1/ecdh = %.2f  %s\n", "hpke_open_base", open, ro, (ro >= goal ? "ok" : "below goal")
  printf "  goal: each ratio >= %.2f\n", goal
}'
