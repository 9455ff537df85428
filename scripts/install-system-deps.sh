#!/usr/bin/env bash
# Debian packages the project needs, by purpose. Idempotent; skips apt when all are present.
#   scripts/install-system-deps.sh            # what the test suite needs (CI runs this)
#   scripts/install-system-deps.sh bench      # + the PyTorch peer for `npm run bench`
#   scripts/install-system-deps.sh training   # + the Debian photo packages trainer/photos and the gallery are built from
set -euo pipefail
# chromium: the web app's browser tests (playwright-core drives it).
pkgs=(chromium)
# The shipping checks (k8s/src/*.test.ts): yamllint, Ansible's syntax check and ansible-lint,
# shellcheck (the deploy smoke test),
# LuaJIT for Envoy's Lua filter, docker-compose (its `config` checks compose.yaml without an
# engine), and kubectl for kustomize (Debian's, unless one is installed).
pkgs+=(yamllint ansible ansible-lint luajit docker-compose shellcheck)
command -v kubectl >/dev/null 2>&1 || pkgs+=(kubernetes-client)
# java: npm-groovy-lint runs CodeNarc on it for the Jenkinsfile lint (any Java 17+, unless one is installed).
command -v java >/dev/null 2>&1 || pkgs+=(default-jre-headless)
# promtool (package prometheus): observability/prometheus alert rules are checked and unit-tested.
pkgs+=(prometheus)
case "${1:-test}" in
  test) ;;
  bench) pkgs+=(python3-torch) ;;
  training) pkgs+=(mate-backgrounds lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 gcompris-qt-data python3-torch python3-skimage) ;;
  *) echo "usage: $0 [test|bench|training]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
