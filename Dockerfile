# sidecar-guard container image.
#   docker build -t REGISTRY/sidecar-guard:TAG .
# Stage 1 compiles TypeScript with the full dependency tree; stage 2 installs
# production dependencies only; the runtime is distroless Node 24 (the current LTS) (no shell,
# no package manager) running as a numeric non-root user, so
# `runAsNonRoot: true` can be verified by the kubelet.

# ---- build: dev dependencies + tsc -> dist/
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" script compiles, and the sources are not here yet.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- production node_modules only
FROM node:24-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# 65532 is distroless's "nonroot"; numeric so the kubelet can check runAsNonRoot.
USER 65532:65532
# Writes nothing at run time in cluster mode (certificates live in the Secret
# and in memory), so readOnlyRootFilesystem works; /tmp is the only writable
# path the manifests mount.
EXPOSE 8443 9090
# A fixed young generation (16 MB semi-spaces): Node 24 otherwise sizes it
# from the node's memory (up to 64 MB each on large hosts). The benchmark runs
# with the same flag (bench/child.ts PRODUCTION_NODE_FLAGS).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=16", "/app/dist/cli.js"]
CMD ["serve"]
