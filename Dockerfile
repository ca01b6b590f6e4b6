# syntax=docker/dockerfile:1
# Multi-stage image: compile TypeScript in a build stage, run `node dist/server.js` as a non-root user.
# The runtime keeps the project layout (/app/dist next to /app/migrations): dist/db/migrator.js reads ../../migrations.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
# Without DATABASE_URL the service uses embedded PGlite in DATA_DIR; mount a volume there to keep the data.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
ENV HOST=0.0.0.0 PORT=3000 DATA_DIR=/app/data
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Run node directly (no npm, no shell), so SIGTERM reaches close-with-grace.
# telemetry.js loads nothing unless OTEL_EXPORTER_OTLP_ENDPOINT is set (README, Observability).
CMD ["node", "--import", "./dist/telemetry.js", "dist/server.js"]
