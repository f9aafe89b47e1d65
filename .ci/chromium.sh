#!/usr/bin/env bash
# Installs Debian's Chromium if the machine lacks it (the browser checks of the ws and openapi
# stages drive it headless).
set -euo pipefail
if ! command -v chromium >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
