# syntax=docker/dockerfile:1
# Metering platform API. Build: `docker build -t metering .`; see docker-compose.yml for a full stack.
# .ci/run replays these steps on the host with the same Node (production-only install of the built
# app, the migrations and admin commands, `node dist/main`, the health checks).
#
# Node 26: Active LTS since October 2026 and supported until April 2029 (Node 24 is in maintenance
# until April 2028). argon2's prebuilt binary (Node-API 10) loads on it: no compiler anywhere.
ARG NODE_IMAGE=node:26-bookworm-slim

# ---- build: install everything and compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ----
# --omit=optional too: npm otherwise keeps packages that are both devDependencies and optional
# peers of a runtime package (ts-node, typescript). The only optional runtime package it drops is
# pg-cloudflare (Cloudflare Workers only).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund \
 && node -e "require('argon2')" \
 && npm cache clean --force

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
# A heap that fits a 256 MB container, as `npm run start:prod` sets it: 128 MB of old space holds
# the app's ~60 MB of live objects twice over; the young generation keeps V8's default (16 MB
# semi-spaces: 8 MB measured 19% of CPU in GC against 15%, 32 MB only cost RSS). Measured with
# `npm run bench -- --quick`: peak RSS 230 MB (400 MB without a limit). In NODE_OPTIONS, so that
# a bigger container can raise it (`-e NODE_OPTIONS=--max-old-space-size=...`).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=128 \
    PORT=3000
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Only used when DATABASE_URL is unset (embedded PGlite): the one folder the app may write to.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The same node flags as `npm run start:prod` (through NODE_OPTIONS above). Other commands of the image:
#   node dist/database/migrate.cli          apply pending migrations (with MIGRATIONS_RUN=false)
#   node dist/cli admin grant <email>       make a user a platform admin (or revoke)
CMD ["node", "dist/main"]
