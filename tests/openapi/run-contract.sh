#!/usr/bin/env bash
# CTest openapi_contract: the driver (contract.c) starts real servers and records every exchange;
# tools/openapi/validate.mjs validates each reply against docs/openapi.yaml and fails on any
# mismatch, then proves itself by rejecting a list of broken replies (--self-test).
# HV_CONTRACT_DRIVER is the driver binary (CMake sets it). Exit 77 without Node.js 20+.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hv_openapi_name=openapi_contract
. "$here/../../tools/openapi/ensure.sh"
: "${HV_CONTRACT_DRIVER:?HV_CONTRACT_DRIVER names the driver binary}"
spec="$here/../../docs/openapi.yaml"
work=$(mktemp -d /tmp/hv-openapi-XXXXXX)
trap 'rm -rf "$work"' EXIT
HV_CONTRACT_LOG="$work/exchanges.jsonl" "$HV_CONTRACT_DRIVER"
node "$HV_OPENAPI_TOOLS/validate.mjs" "$spec" "$work/exchanges.jsonl"
node "$HV_OPENAPI_TOOLS/validate.mjs" --self-test "$spec" "$work/exchanges.jsonl"
