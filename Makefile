# chainmesh — every entry point a developer or CI needs.
.PHONY: all install build browser test test-unit lint format bench ab cluster demo-local clean chaos chaos-ci soak chaos-docker scale sim sim-vs-real

NPM ?= npm
# make bench BENCH=core runs only bench/*core*.bench.ts
BENCH ?=
# make ab REVS="main~3 ." compares builds under the batched API load (bench/ab.ts)
REVS ?= HEAD .

all: build

node_modules: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch node_modules

install: node_modules

build: node_modules
	$(NPM) run build

# Debian's chromium for the explorer's browser test, via apt when missing (needs root; else that test skips).
browser:
	@scripts/install-browser.sh

test: build browser
	@mkdir -p .tmp
	npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest.json; \
	  status=$$?; node scripts/test-summary.mjs .tmp/vitest.json; exit $$status

# The fast loop: pure unit folders, no build, no processes, no Docker (vitest.unit.config.ts).
test-unit: node_modules
	npx vitest run --config vitest.unit.config.ts

lint: node_modules
	npx tsc --noEmit -p tsconfig.json
	npx eslint .
	npx prettier --check .

format: node_modules
	npx prettier --write .

bench: build
	npx tsx bench/run.ts $(BENCH)

ab: build
	npx tsx bench/ab.ts $(REVS)

# make scale: real node processes at N = 10, 25, 50, 100 on this machine (bounded at 15 min; SCALE_SIZES=10,25
# shortens it); writes bench/results/scale.md and its SVG plots (README "Scale").
scale: build
	npx tsx bench/scale/main.ts

# make cluster NODES=3 BASE_PORT=4100: the seed on BASE_PORT, nodes on the following ports
# (without BASE_PORT: $$SEED_PORT, else 3000, where compose publishes its seed too).
NODES ?= 5
BASE_PORT ?=
cluster: build
	node dist/cli/main.js cluster --nodes $(NODES)$(if $(BASE_PORT), --base-port $(BASE_PORT))

# Simulator (README "Simulated network"): the real peer layer at N = 1,000 and 10,000 on a virtual clock;
# SIM_NODES=1000 for a shorter run. Writes bench/results/sim.md. A larger young generation: the sim
# allocates short-lived request objects by the million, and scavenges were a quarter of its CPU
# (128 MB: ~9 % less wall time than 64 MB at N = 2,000; 256 MB was no better). A larger old
# generation: at N = 10,000 the heap reaches node's default limit (~4 GB here) and full collections
# then ran back to back (the cost per event doubled from 20 virtual s on).
sim: node_modules
	NODE_OPTIONS="--max-semi-space-size=128 --max-old-space-size=12288" npx tsx bench/sim/main.ts

# The simulator against make scale's real-process figures (bench/results/scale.json), same N and method,
# on a model of one 2-core machine; writes bench/results/sim-vs-real.md.
sim-vs-real: node_modules
	npx tsx bench/sim/compare.ts

# Chaos and soak (README "Chaos and soak"): real node processes under payments and seeded faults.
# make chaos SCENARIO=split-brain SEED=7 replays one run; CHAOS_ARGS passes other flags (--intensity, --nodes).
SCENARIO ?=
SEED ?=
CHAOS_ARGS ?=
chaos: build
	npx tsx bench/chaos/main.ts $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(SEED),--seed $(SEED)) $(CHAOS_ARGS)

chaos-ci: build
	npx tsx bench/chaos/main.ts --scenario ci --out .tmp/chaos/ci

soak: build
	npx tsx bench/chaos/main.ts --scenario soak $(if $(SEED),--seed $(SEED)) $(CHAOS_ARGS)

# The same harness against the compose cluster (docker kill/pause/network disconnect/update --cpus);
# default scenario docker-short. CHAOS_PROJECT names the compose project (default chainmesh-chaos-<pid>).
CHAOS_PROJECT ?=
chaos-docker: node_modules
	npx tsx bench/chaos/main.ts --docker --scenario $(or $(SCENARIO),docker-short) $(if $(SEED),--seed $(SEED)) $(if $(CHAOS_PROJECT),--project $(CHAOS_PROJECT)) $(CHAOS_ARGS)

# make demo-local: starts a demo cluster as local processes (seed on DEMO_PORT, NODES nodes on the
# following ports), pays between the public demo wallets through different nodes, reports, stops it.
DEMO_PORT ?= 4100
demo-local: build
	node dist/cli/main.js demo --local --base-port $(DEMO_PORT) --nodes $(NODES)

clean:
	rm -rf dist

# ---- deployment (docs/DEPLOYMENT.md) ----
.PHONY: up up-monitoring down logs demo e2e bench-docker k8s-image k8s-apply

# `docker compose` when the plugin exists, else docker-compose 1.29; the same file serves both.
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
VERSION := $(shell node -p "require('./package.json').version")
K8S_IMAGE := chainmesh:$(VERSION)

# `up` always passes --build: a changed tree is rebuilt into the image (cached layers make
# it quick when nothing changed), so compose never runs a stale chainmesh image.
up:
	$(COMPOSE) up -d --build --scale node=$${NODES:-5}

up-monitoring:
	$(COMPOSE) --profile monitoring up -d --build --scale node=$${NODES:-5}

# make demo: the compose cluster (NODES nodes), then `chainmesh demo` in a container on its network
# (every node is reachable there). The cluster keeps running so that its explorers can be looked at
# (the seed's on the host at http://localhost:$SEED_PORT/); `make down` stops it.
demo:
	$(COMPOSE) up -d --build --scale node=$(NODES)
	$(COMPOSE) run --rm --no-deps -T node demo --seed http://seed:3000 --nodes $(NODES)
	@echo "the cluster keeps running: the seed's explorer is http://localhost:$${SEED_PORT:-3000}/ on this host; make down stops it"

down:
	$(COMPOSE) --profile monitoring down

logs:
	$(COMPOSE) --profile monitoring logs -f --tail=100

e2e:
	scripts/e2e.sh

bench-docker:
	mkdir -p bench/results
	BENCH_OUT=bench/results/docker.md scripts/e2e.sh

# Build the image the k8s manifests name and load it into every local kind cluster
# (or only KIND_CLUSTER=name), else into a running minikube.
KIND_CLUSTER ?=
k8s-image:
	docker build --build-arg VERSION=$(VERSION) -t $(K8S_IMAGE) .
	@clusters="$(KIND_CLUSTER)"; \
	if [ -z "$$clusters" ] && command -v kind >/dev/null 2>&1; then clusters=$$(kind get clusters 2>/dev/null); fi; \
	if [ -n "$$clusters" ]; then \
	  for c in $$clusters; do \
	    echo "kind load docker-image $(K8S_IMAGE) --name $$c"; \
	    kind load docker-image $(K8S_IMAGE) --name "$$c" || exit 1; \
	  done; \
	elif command -v minikube >/dev/null 2>&1 && minikube status >/dev/null 2>&1; then \
	  minikube image load $(K8S_IMAGE); \
	else \
	  echo "built $(K8S_IMAGE); no running kind or minikube cluster to load it into"; \
	fi

# Apply k8s/ with another image, e.g. make k8s-apply IMAGE=registry.example.com/chainmesh:$(VERSION)
k8s-apply:
	@test -n "$(IMAGE)" || { echo "usage: make k8s-apply IMAGE=registry/chainmesh:$(VERSION)"; exit 2; }
	@tmp=$$(mktemp -d) && \
	  for f in k8s/*.yaml; do sed 's|image: $(K8S_IMAGE)$$|image: $(IMAGE)|' "$$f" > "$$tmp/$$(basename $$f)"; done && \
	  kubectl apply -f "$$tmp" && rm -rf "$$tmp"
