# syntax=docker/dockerfile:1.7
# trainer image: TrainerService (nst.v1.TrainerService, TF.js training, ONNX export), gRPC on 50052; also runs the fine-tuning Jobs' client (cli)
# Build from the repository root: docker build -f docker/trainer.Dockerfile -t nst/trainer .
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
# The native TensorFlow backend: its install script (allowed in package.json's allowScripts)
# downloads libtensorflow, which works wherever the build reaches the internet. If it fails or cannot load, the trainer falls back to the WASM
# backend by itself (NST_TF_BACKEND picks one explicitly), so the build goes on without it.
RUN npm install --no-save --omit=dev --no-audit --no-fund @tensorflow/tfjs-node@^4.22.0 \
  || echo "tfjs-node did not install: the trainer will use the WASM backend"

FROM ${NODE_IMAGE}
ENV NODE_ENV=production NST_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY package.json tsconfig.base.json ./
COPY proto proto
COPY runtime runtime
COPY style-network style-network
COPY trainer trainer
# The `nst` CLI: the fine-tuning Jobs (k8s/jobs/finetune-job.yaml) run `nst finetune`.
COPY cli cli
COPY docker/healthcheck.ts docker/seed-registry.ts docker/
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 50052
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "--import", "tsx", "docker/healthcheck.ts", "grpc", "127.0.0.1:50052", "nst.v1.TrainerService"]
ENV NST_TRAINER_ADDR=0.0.0.0:50052
# The service's own entry point, the same one `npm start` runs; the telemetry entry point
# loads before any service code, so grpc-js and http are traced.
ENTRYPOINT ["node", "--import", "tsx", "--import", "@nst/runtime/telemetry/register", "trainer/src/main.ts"]
