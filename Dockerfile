# syntax=docker/dockerfile:1
# Metering platform API. Build: `docker build -t metering .`; see docker-compose.yml for a full stack.
# .ci/run replays these steps on the host (production-only install of the built app, node dist/main).

# ---- build: install everything and compile TypeScript to dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Compiling needs no native addon: skip install scripts (argon2 is built in the deps stage).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ----
# argon2 is the one native addon. `npm rebuild argon2` keeps its prebuilt binary when that loads
# and compiles it otherwise: the prebuilt binaries of argon2 0.45 need Node-API 10, which Node 20
# lacks, so this stage has a compiler (it is not part of the final image).
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild argon2 \
 && node -e "require('argon2')" \
 && npm cache clean --force

# ---- runtime ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Only used when DATABASE_URL is unset (embedded PGlite): the one folder the app may write to.
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main"]
