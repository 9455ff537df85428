#!/usr/bin/env bash
# Checks the nst.v1 contract for breaking changes (buf FILE rules) against a git ref of this
# repository, `main` by default (override: NST_PROTO_BASELINE=<branch, tag or commit>).
# Passes with a note when the baseline has no contract yet: there is nothing to break.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline="${NST_PROTO_BASELINE:-main}"
repo_root="$(git rev-parse --show-toplevel)"
if ! commit="$(git rev-parse --verify --quiet "${baseline}^{commit}")"; then
  echo "buf breaking: baseline '${baseline}' is not a known git ref here; nothing to compare." >&2
  exit 0
fi
if ! git cat-file -e "${commit}:proto/buf.yaml" 2>/dev/null; then
  echo "buf breaking: '${baseline}' (${commit:0:12}) has no proto/buf.yaml yet; nothing to compare."
  exit 0
fi
buf="${repo_root}/node_modules/.bin/buf"
"$buf" breaking --against "${repo_root}/.git#ref=${commit},subdir=proto"
echo "buf breaking: no breaking changes against '${baseline}' (${commit:0:12})."
