#!/usr/bin/env bash
# The Debian packages some tests need, in one command (run as root, or with sudo):
#   - chromium: the operator dashboard's browser test (playwright-core drives /usr/bin/chromium);
#   - prometheus: promtool, which checks /metrics and the alert rules in deploy/;
#   - clang 14, lld, wasi-libc, the wasm32 runtime: rebuilding the C example app byte for byte.
# Without them `npm test` skips those tests and names them; nothing else depends on them.
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium prometheus clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32 >/dev/null
