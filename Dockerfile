# syntax=docker/dockerfile:1
# Integration Hub image: build with dev dependencies, run on production dependencies only, as a non-root user.
# One image serves both processes: `node dist/main.js` (API, the default) and `node dist/worker.js` (jobs).

ARG NODE_IMAGE=node:24-slim

# ---- base: Node and pnpm at the version package.json pins (packageManager), through corepack ----
FROM ${NODE_IMAGE} AS base
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 \
    CI=true
WORKDIR /app
COPY package.json ./
RUN corepack enable && corepack install

# ---- deps: every dependency, dev ones included, for the build ----
FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --store-dir /pnpm/store

# ---- build: TypeScript to dist/, migrations copied beside it ----
FROM deps AS build
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN pnpm build

# ---- prod-deps: production dependencies only ----
FROM base AS prod-deps
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --prod --frozen-lockfile --store-dir /pnpm/store

# ---- runtime: no pnpm, no compiler, no sources ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3006 \
    DATA_DIR=/app/.data
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
# DATA_DIR only matters without DATABASE_URL (embedded PGlite); production requires DATABASE_URL.
RUN mkdir -p /app/.data && chown node:node /app/.data
# The image's unprivileged user (uid 1000).
USER node
EXPOSE 3006
# Liveness through node itself: the slim image has no curl. The worker has no HTTP port: compose turns it off there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3006) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
