#!/usr/bin/env bash
# Debian packages the test suite needs (idempotent).
set -euo pipefail
need=()
command -v pg_isready >/dev/null 2>&1 || need+=(postgresql-client)
# WeasyPrint (bulletins, minutes, after-action reports as PDF) needs Pango; fonts with Cyrillic.
ldconfig -p | grep -q libpangoft2-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
