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

# ---- deps: production dependencies with native bindings that load here ----
# classic-level (LevelDB) and secp256k1 ship prebuilt bindings that
# node-gyp-build finds at run time, so their install scripts are skipped and no
# compiler is needed where a prebuild fits (linux/amd64). Prebuilds for other
# platforms are dropped (~5 MB). Where none fits (secp256k1 has none for
# linux/arm64), python3, make and g++ are installed in this stage only and that
# module is compiled; the runtime stage copies node_modules without the compiler.
# The last check fails the build if a native binding (rather than secp256k1's
# pure-JS fallback) still cannot load.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && node -e "const fs=require('fs'),keep=process.platform+'-'+process.arch; \
      for (const m of ['classic-level','secp256k1']) { const d='node_modules/'+m+'/prebuilds'; \
        for (const e of fs.readdirSync(d)) if (e !== keep) fs.rmSync(d+'/'+e, { recursive: true }); }" \
 && missing=$(node -e "for (const [m, b] of [['classic-level','classic-level/binding'],['secp256k1','secp256k1/bindings']]) \
      try { require(b) } catch { console.log(m) }") \
 && if [ -n "$missing" ]; then \
      echo "no prebuilt binding for $(node -p 'process.platform+"-"+process.arch') in:" $missing "- compiling"; \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
      && if [ -f /usr/local/include/node/node.h ]; then export npm_config_nodedir=/usr/local; fi \
      && npm_config_build_from_source=true npm rebuild $missing \
      && for m in $missing; do \
           find node_modules/$m/build -mindepth 1 ! -path node_modules/$m/build/Release \
             ! -path "node_modules/$m/build/Release/*.node" -prune -exec rm -rf {} +; \
         done; \
    fi \
 && node -e "require('classic-level'); require('secp256k1/bindings')"

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
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The data directory must exist and belong to the runtime user before VOLUME:
# a fresh anonymous or named volume copies this ownership. The native bindings
# must load in this stage too (no compiler here).
RUN mkdir -p /data && chown node:node /data \
 && node -e "require('classic-level'); require('secp256k1/bindings')"
USER node
VOLUME /data
EXPOSE 3000
# A bash /dev/tcp request rather than `node -e fetch(...)`: a Node.js runtime per check takes
# seconds to start on a loaded host and turned healthy nodes unhealthy (see docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=30s --start-period=60s --retries=5 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-3000} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 25 status <&3 && [[ $status == 'HTTP/1.1 200'* ]]"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["node"]
