#!/usr/bin/env bash
# Debian packages the test suite needs. Idempotent; skips apt when everything is present.
set -euo pipefail
# chromium: the web app's browser tests (playwright-core drives it).
pkgs=(python3-torch chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
