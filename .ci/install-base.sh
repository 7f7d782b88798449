#!/usr/bin/env bash
# Debian packages the test suite needs (idempotent).
set -euo pipefail
need=()
command -v pg_isready >/dev/null 2>&1 || need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
