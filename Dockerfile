# Switchboard gateway image. Built in two stages: the first installs the production dependencies
# (better-sqlite3 compiles its native addon there, with the build tools the runtime image lacks);
# the second is the slim runtime, run as the unprivileged `node` user.
#
# The gateway runs from its TypeScript sources with tsx (a production dependency): the tested code
# is exactly the code that ships, there is no emit step or source-map drift to manage, and tsx's
# esbuild transform costs only start-up time (about a second), never per call.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY server ./server
COPY gen ./gen
COPY proto ./proto
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# The SQLite store (when used) lives on a volume the node user owns.
RUN mkdir -p /var/lib/switchboard && chown node:node /var/lib/switchboard
USER node
EXPOSE 50051
# gRPC health (grpc.health.v1) on the main port, from inside the container.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "--import=tsx", "server/cli.ts"]
CMD ["serve"]
