#!/usr/bin/env bash
# Debian's nats-server: the stream matching tests run three workers against a real JetStream.
set -euo pipefail
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq nats-server >/dev/null
/usr/sbin/nats-server --version
