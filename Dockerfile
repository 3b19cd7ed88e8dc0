# chainmesh node image. Plain Dockerfile syntax only (no `RUN --mount`, no heredocs):
# it must build with the classic builder as well as BuildKit.

# ---- build: full dependencies, compile TypeScript to dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies + compiled output, non-root ----
FROM node:20-bookworm-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="chainmesh" \
      org.opencontainers.image.description="A blockchain node in TypeScript built to run as a cluster" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/chainmesh/chainmesh"
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/data \
    LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
# classic-level and secp256k1 load prebuilt binaries shipped in their own
# tarballs, so no compiler is needed. Prebuilds for other platforms are dropped
# (~5 MB); the last check fails the build if either native module (rather than
# secp256k1's pure-JS fallback) cannot load on this platform.
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && node -e "const fs=require('fs'),keep=process.platform+'-'+process.arch; \
      for (const m of ['classic-level','secp256k1']) { const d='node_modules/'+m+'/prebuilds'; \
        for (const e of fs.readdirSync(d)) if (e !== keep) fs.rmSync(d+'/'+e, { recursive: true }); }" \
 && node -e "require('classic-level'); require('secp256k1/bindings')"
COPY --from=build /app/dist ./dist
# The data directory must exist and belong to the runtime user before VOLUME:
# a fresh anonymous or named volume copies this ownership.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=10s --start-period=30s --retries=5 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["node"]
