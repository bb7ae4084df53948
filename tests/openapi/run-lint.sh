#!/usr/bin/env bash
# CTest openapi_lint: Redocly's linter over docs/openapi.yaml with tools/openapi/redocly.yaml
# (the recommended rules, warnings as errors). Exit 77 without Node.js 20+.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
hv_openapi_name=openapi_lint
. "$here/../../tools/openapi/ensure.sh"
cd "$HV_OPENAPI_TOOLS"
# Redocly's banners (a notice about future Node.js versions) are not findings: keep its result only.
if ! out=$(REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
           ./node_modules/.bin/redocly lint --config redocly.yaml ../../docs/openapi.yaml 2>&1); then
  echo "$out" | grep -v '[║╔╚]'
  echo "openapi_lint: docs/openapi.yaml has lint errors"
  exit 1
fi
echo "$out" | grep -E 'validated in|valid' || true
echo "openapi_lint: docs/openapi.yaml is valid OpenAPI 3.1 under the recommended-strict rules"
