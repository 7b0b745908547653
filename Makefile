# sidecar-guard: every target installs dependencies first when they are missing.
SHELL := /bin/bash
# Node 24 (the current LTS) runs everything here: the machine's own when it is
# 24 or newer, otherwise one from the npm registry in .tools/node (see
# scripts/node-runtime.sh). npm runs on it as well.
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)
LISTEN ?= 127.0.0.1:8443
CERT_DIR ?= certs
METRICS_LISTEN ?= 127.0.0.1:9090

.PHONY: install build run test unit e2e typecheck bench bench-quick certs deploy-manifests clean

.tools/node/.ready: scripts/node-runtime.sh scripts/node-runtime/package-lock.json
	@bash scripts/node-runtime.sh

node_modules/.package-lock.json: .tools/node/.ready package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.package-lock.json

build: install
	@npm run --silent build

## make run: the webhook on https://$(LISTEN) in standalone mode (self-signed certs in $(CERT_DIR)/, no cluster)
run: build
	node bin/sidecar-guard.js serve --standalone --listen $(LISTEN) --cert-dir $(CERT_DIR) --metrics-listen $(METRICS_LISTEN) $(ARGS)

## make test: type check, unit + integration tests, then the kubectl end-to-end suite
test: build
	npm run --silent typecheck
	bash scripts/test.sh unit
	$(MAKE) --no-print-directory e2e

unit: build
	bash scripts/test.sh unit

## make e2e: start the test API server and the webhook (npm run e2e:up), run the kubectl scenarios, stop both
e2e: build
	@npm run --silent e2e:down
	npm run --silent e2e:up
	bash scripts/test.sh e2e; status=$$?; npm run --silent e2e:down; exit $$status

typecheck: install
	npm run --silent typecheck

## make bench: the full benchmark (minutes); make bench-quick: under a minute. Both print a table.
bench: build
	node --import tsx bench/run.ts $(ARGS)

bench-quick: build
	node --import tsx bench/run.ts --quick $(ARGS)

## make certs: a CA and a serving certificate for the in-cluster Service (SERVICE, NAMESPACE, OUT)
SERVICE ?= sidecar-guard
NAMESPACE ?= sidecar-guard
OUT ?= certs
certs: build
	node bin/sidecar-guard.js certs --service $(SERVICE) --namespace $(NAMESPACE) --out $(OUT)

## make deploy-manifests: render manifests/ with kustomize (kubectl's built-in)
deploy-manifests:
	kubectl kustomize manifests

clean:
	rm -rf dist .e2e .tools
