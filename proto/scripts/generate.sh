#!/usr/bin/env bash
# Regenerates everything under gen/ (or under <out>/gen when an output folder is given):
#  - TypeScript from nst/v1/*.proto with ts-proto (buf.gen.yaml);
#  - descriptor sets for server reflection: nst_v1.binpb (this module and its imports, with
#    comments) and grpc_health_v1.binpb (grpc.health.v1 as shipped by grpc-health-check).
#    Reflection serves these compiler-built descriptors; @grpc/proto-loader's synthesized
#    ones lose field names and map entries, which breaks `buf curl` and grpcurl.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root="$(cd .. && pwd)"
bin="${repo_root}/node_modules/.bin"
out="${1:-.}"
PATH="${bin}:${PATH}" buf generate --output "${out}"
buf="${bin}/buf"
"$buf" build --output "${out}/gen/nst_v1.binpb"
"$buf" build "${repo_root}/node_modules/grpc-health-check/proto" --output "${out}/gen/grpc_health_v1.binpb"
