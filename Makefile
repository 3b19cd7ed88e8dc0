# chainmesh — every entry point a developer or CI needs.
.PHONY: all install build test test-unit lint format bench cluster clean

NPM ?= npm
# make bench BENCH=core runs only bench/*core*.bench.ts
BENCH ?=

all: build

node_modules: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch node_modules

install: node_modules

build: node_modules
	$(NPM) run build

test: build
	npx vitest run

lint: node_modules
	npx tsc --noEmit -p tsconfig.json
	npx eslint .
	npx prettier --check .

format: node_modules
	npx prettier --write .

bench: build
	npx tsx bench/run.ts $(BENCH)

cluster: build
	node dist/cli/main.js cluster --nodes $${NODES:-5}

clean:
	rm -rf dist
