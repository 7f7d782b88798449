#!/bin/sh
# Install the real Suricata (bookworm-backports) so exported rules can be checked with `suricata -T`.
# Idempotent: does nothing when suricata is already on PATH.
set -eu
if command -v suricata >/dev/null 2>&1; then
    exit 0
fi
SOURCES=/etc/apt/sources.list.d/backports.sources
if [ ! -f "$SOURCES" ]; then
    cat > "$SOURCES" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq -t bookworm-backports suricata >/dev/null
suricata -V
