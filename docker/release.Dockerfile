# syntax=docker/dockerfile:1.7
# release image: ReleaseService (nst.v1.ReleaseService: rollouts, canary analysis, Istio routing; the mesh/ package), gRPC on 50053
# Build from the repository root: docker build -f docker/release.Dockerfile -t nst/release .
# Multi-stage: dependencies install in a build stage (npm 11, so .npmrc and package.json's
# allowScripts apply: onnxruntime-node skips its GPU download), and the final stage carries
# only production dependencies and the TypeScript sources tsx runs. Non-root (uid 1000, the
# image's "node" user), nothing written outside /data and /tmp, so the root file system can be
# mounted read-only (Kubernetes does).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
ARG NPM_VERSION=11.19.1
RUN npm install -g npm@${NPM_VERSION}
WORKDIR /app
# Every workspace's package.json: npm ci checks the lock file against all of them.
COPY package.json package-lock.json .npmrc ./
COPY proto/package.json proto/
COPY runtime/package.json runtime/
COPY style-network/package.json style-network/
COPY inference/package.json inference/
COPY trainer/package.json trainer/
COPY mesh/package.json mesh/
COPY gateway/package.json gateway/
COPY web/package.json web/
COPY cli/package.json cli/
COPY k8s/package.json k8s/
COPY test-kit/package.json test-kit/
COPY system-tests/package.json system-tests/
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production NST_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json tsconfig.base.json ./
COPY proto proto
COPY runtime runtime
COPY mesh mesh
COPY docker/healthcheck.ts docker/seed-registry.ts docker/
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 50053
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "--import", "tsx", "docker/healthcheck.ts", "grpc", "127.0.0.1:50053", "nst.v1.ReleaseService"]
ENV NST_RELEASE_ADDR=0.0.0.0:50053
# The service's own entry point, the same one `npm start` runs; the telemetry entry point
# loads before any service code, so grpc-js and http are traced.
ENTRYPOINT ["node", "--import", "tsx", "--import", "@nst/runtime/telemetry/register", "mesh/src/main.ts"]
