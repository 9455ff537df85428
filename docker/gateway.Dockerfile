# syntax=docker/dockerfile:1.7
# gateway image: the fastify gateway: the built web app, gRPC-Web bridge, /healthz, /readyz, /metrics on HTTP 8080
# Build from the repository root: docker build -f docker/gateway.Dockerfile -t nst/gateway .
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

# The web app is built with the dev dependencies (Vite, TypeScript), in a stage of its own.
FROM ${NODE_IMAGE} AS web
ARG NPM_VERSION=11.19.1
RUN npm install -g npm@${NPM_VERSION}
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production NST_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json tsconfig.base.json ./
COPY proto proto
COPY runtime runtime
COPY gateway gateway
COPY --from=web /app/web/dist web/dist
COPY web/package.json web/package.json
COPY docker/healthcheck.ts docker/seed-registry.ts docker/
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "--import", "tsx", "docker/healthcheck.ts", "http", "http://127.0.0.1:8080/readyz"]
ENV NST_GATEWAY_HOST=0.0.0.0 NST_GATEWAY_PORT=8080
# The service's own entry point, the same one `npm start` runs; the telemetry entry point
# loads before any service code, so grpc-js and http are traced.
ENTRYPOINT ["node", "--import", "tsx", "--import", "@nst/runtime/telemetry/register", "gateway/src/main.ts"]
