#!/usr/bin/env bash
# Smoke test of a running platform, over the real protocols (Jenkins runs it after each deploy):
#   1. gRPC: grpc.health.v1 SERVING from StyleService, TrainerService and ReleaseService;
#   2. gRPC: a real StylizeImage of a photo, which must stream back an image and a summary
#      naming the style version that served it;
#   3. gRPC-Web through the front door (Envoy in the cluster): ListStyles.
# In a cluster (KUBECONFIG) it port-forwards to the Services of namespace $NST_NAMESPACE (nst).
# Against any other running platform, set all four addresses instead, e.g. for `npm start`:
#   SMOKE_STYLE=127.0.0.1:50051 SMOKE_TRAINER=127.0.0.1:50052 SMOKE_RELEASE=127.0.0.1:50053 \
#   SMOKE_WEB=127.0.0.1:8080 bash ansible/files/smoke-test.sh
# Needs `npm ci` (buf curl comes from @bufbuild/buf) and, for a cluster, kubectl.
set -euo pipefail
cd "$(dirname "$0")/../.."
ns=${NST_NAMESPACE:-nst}
pids=()
scratch=$(mktemp -d)
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$scratch"
}
trap cleanup EXIT

if [ -z "${SMOKE_STYLE:-}" ]; then
  forward() {
    kubectl -n "$ns" port-forward "svc/$1" "$2:$3" >"$scratch/$1.log" 2>&1 &
    pids+=("$!")
  }
  forward nst-style 15051 50051
  forward nst-trainer 15052 50052
  forward nst-release 15053 50053
  forward nst-envoy 18080 8080
  SMOKE_STYLE=127.0.0.1:15051 SMOKE_TRAINER=127.0.0.1:15052 SMOKE_RELEASE=127.0.0.1:15053 SMOKE_WEB=127.0.0.1:18080
fi

buf() { npx --no-install buf curl "$@"; }
grpc() { buf --protocol grpc --http2-prior-knowledge "$@"; }

# 1. Health (retried, by default for about a minute, while port-forwards come up).
for target in "$SMOKE_STYLE nst.v1.StyleService" "$SMOKE_TRAINER nst.v1.TrainerService" "$SMOKE_RELEASE nst.v1.ReleaseService"; do
  read -r addr service <<<"$target"
  status=""
  for _ in $(seq "${SMOKE_HEALTH_ATTEMPTS:-30}"); do
    status=$(grpc -d "{\"service\":\"$service\"}" "http://$addr/grpc.health.v1.Health/Check" 2>/dev/null || true)
    grep -q '"SERVING"' <<<"$status" && break
    sleep 2
  done
  grep -q '"SERVING"' <<<"$status" || { echo "smoke: $service at $addr is not SERVING (${status:-no answer})" >&2; exit 1; }
  echo "smoke: $service SERVING"
done

# 2. A real stylization: the first style, a photo from the repository.
grpc "http://$SMOKE_STYLE/nst.v1.StyleService/ListStyles" >"$scratch/styles.json"
style=$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(r.styles?.[0]?.id ?? "")' "$scratch/styles.json")
[ -n "$style" ] || { echo "smoke: ListStyles returned no style" >&2; exit 1; }
photo=$(find trainer/starter-styles -name style.jpg | head -n 1)
printf '{"header":{"style":"%s","clientId":"smoke-test","maxDimension":256},"image":"%s"}' "$style" "$(base64 -w0 "$photo")" >"$scratch/request.json"
grpc -d @"$scratch/request.json" "http://$SMOKE_STYLE/nst.v1.StyleService/StylizeImage" >"$scratch/reply.json"
# shellcheck disable=SC2016 # JavaScript, not shell: its ${...} are template literals.
node -e '
  const text = require("fs").readFileSync(process.argv[1], "utf8");
  const messages = text.split(/\n(?=\{)/).map((m) => JSON.parse(m));
  const bytes = messages.filter((m) => m.chunk).reduce((n, m) => n + Buffer.from(m.chunk, "base64").length, 0);
  const summary = messages.find((m) => m.summary)?.summary;
  if (!bytes || !summary) { console.error("smoke: StylizeImage returned no image or no summary"); process.exit(1); }
  console.log(`smoke: stylized with ${JSON.stringify(summary.style ?? "")} version ${JSON.stringify(summary.version ?? "")}: ${bytes} bytes`);
' "$scratch/reply.json"

# 3. gRPC-Web through the front door (no reflection there: the schema comes from proto/).
buf --schema proto --protocol grpcweb "http://$SMOKE_WEB/nst.v1.StyleService/ListStyles" >"$scratch/web.json"
grep -q "\"$style\"" "$scratch/web.json" || { echo "smoke: gRPC-Web ListStyles did not list $style" >&2; exit 1; }
echo "smoke: gRPC-Web ListStyles lists $style"
