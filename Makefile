# sidecar-guard: every target installs dependencies first when they are missing.
SHELL := /bin/bash
# Node 24 (the current LTS) runs everything here: the machine's own when it is
# 24 or newer, otherwise one from the npm registry in .tools/node (see
# scripts/node-runtime.sh). npm runs on it as well.
export PATH := $(CURDIR)/.tools/node/bin:$(PATH)
LISTEN ?= 127.0.0.1:8443
CERT_DIR ?= certs
METRICS_LISTEN ?= 127.0.0.1:9090

.DEFAULT_GOAL := help
.PHONY: help install build run test unit pre-commit-test e2e cluster helm-tools typecheck bench bench-quick certs deploy-manifests clean oracle conformance prometheus e2e-race

.tools/node/.ready: scripts/node-runtime.sh scripts/node-runtime/package-lock.json
	@bash scripts/node-runtime.sh

node_modules/.package-lock.json: .tools/node/.ready package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## make help: this list (also what a bare `make` prints), with the variables as they are set now
# The `## ` lines, with each $(VAR) they name replaced by its value (make help LISTEN=... shows that one).
HELP_VARS = $(sort $(shell sed -n 's/^## //p' $(MAKEFILE_LIST) | grep -o '\$$([A-Z_]*)' | tr -d '$$()'))
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST) $(foreach v,$(HELP_VARS),| sed 's|$$($(v))|$($(v))|g')

## make install: the pinned Node 24 (when the machine's is older) and node_modules (npm ci), when missing or stale
install: node_modules/.package-lock.json

## make build: compile src/ into dist/ (only when a source, tsconfig or the lockfile changed)
build: dist/.built

dist/.built: node_modules/.package-lock.json tsconfig.json tsconfig.build.json $(shell find src -type f 2>/dev/null)
	@npm run --silent build
	@touch $@

## make run: the webhook on https://$(LISTEN) in standalone mode (self-signed certs in $(CERT_DIR)/, no cluster)
run: build
	node bin/sidecar-guard.js serve --standalone --listen $(LISTEN) --cert-dir $(CERT_DIR) --metrics-listen $(METRICS_LISTEN) $(ARGS)

## make test: lint, type check, unit + integration tests, make pre-commit-test, then the end-to-end suite against the real
## kube-apiserver (built from Go modules on first use: make cluster)
test: lint build oracle cluster prometheus helm-tools
	npm run --silent typecheck
	KUBECTL=$(KUBECTL_FOR_TESTS) bash scripts/test.sh unit
	$(MAKE) --no-print-directory pre-commit-test
	$(MAKE) --no-print-directory e2e

## make unit: unit + integration tests (everything outside test/e2e), without lint, type check or e2e; needs Go
## (make helm-tools) and Prometheus (make prometheus)
unit: build prometheus helm-tools
	bash scripts/test.sh unit

## make pre-commit-test: .pre-commit-hooks.yaml through the real pre-commit (PyPI, pinned; a venv in
## .tools/pre-commit on first use) with `pre-commit try-repo` (about a minute: the hook installs itself)
pre-commit-test: build
	bash scripts/ensure-pre-commit.sh
	bash scripts/test.sh test/pre-commit/try-repo.ts

## make prometheus: Debian's prometheus package (prometheus, promtool) for test/traffic/, installed when missing
prometheus:
	@bash scripts/ensure-prometheus.sh

## make cluster: kube-apiserver, etcd and kubectl from the pinned Go modules in test/cluster/ into
## test/cluster/bin/ (minutes the first time; a no-op until a pin changes)
cluster:
	bash scripts/build-cluster.sh

## make helm-tools: helm (helm.sh/helm/v3) and the ServiceMonitor CRD (controller-gen over prometheus-operator's
## types) from the pinned Go modules in test/helm/ into test/helm/bin/, for the chart tests (a no-op until a pin changes)
helm-tools:
	@bash scripts/build-helm.sh

# The tests' kubectl: the one built beside kube-apiserver, unless KUBECTL says otherwise.
KUBECTL_FOR_TESTS = $(or $(KUBECTL),$(CURDIR)/test/cluster/bin/kubectl)

## make e2e: start the API server and three webhook replicas (npm run e2e:up), run test/e2e/, stop them.
## APISERVER=real (default: kube-apiserver and etcd, built when needed) or APISERVER=test (the simulator)
APISERVER ?= real
E2E_REPLICAS ?= 3
e2e: build helm-tools $(if $(filter real,$(APISERVER)),cluster)
	@npm run --silent e2e:down
	npm run --silent e2e:up -- --apiserver=$(APISERVER) --replicas $(E2E_REPLICAS)
	bash scripts/test.sh e2e; status=$$?; npm run --silent e2e:down; \
	  if [ $$status -ne 0 ]; then rm -rf .e2e-failed && mkdir .e2e-failed && cp .e2e/*.log .e2e-failed/ && \
	    echo "make e2e: the webhook replicas' logs are kept in .e2e-failed/ (the next e2e:up clears .e2e/)" >&2; fi; \
	  exit $$status

## make e2e-race: the replica race test alone with its kubectl form repeated 50 times as well (about 6 minutes)
e2e-race: build cluster
	@npm run --silent e2e:down
	npm run --silent e2e:up -- --replicas 3
	E2E_RACE_RUNS=50 E2E_RACE_KUBECTL_RUNS=50 bash scripts/test.sh test/e2e/60-replicas.test.ts; status=$$?; npm run --silent e2e:down; exit $$status

## make typecheck: tsc --noEmit over src/, test/, bench/ and scripts/ (tsconfig.json)
typecheck: install
	npm run --silent typecheck

## make lint: Biome's lint rules over the tree (biome.json; seconds); any finding fails, info-level ones too.
## make format-check: fails where Biome's formatter would change a file; make format: applies it.
## make lint checks both in one pass (LINT_CHECK=lint: the rules only).
.PHONY: lint format-check format
LINT_CHECK ?= ci
lint: install
	@bash scripts/lint.sh $(LINT_CHECK)

format-check: install
	@bash scripts/lint.sh format

# Twice: Biome 2.6.8 lays out some method chains one way on the first pass and settles on the second
# (biomejs/biome#10531), and one pass would leave the tree failing format-check.
format: install
	node_modules/.bin/biome format --write
	node_modules/.bin/biome format --write

## make oracle: Istio's own validator, analyzers and SidecarScope (istio-scope) built from the Istio Go module (conformance/istio/) into
## conformance/bin/; rebuilt only when its sources or pins change (minutes the first time, then seconds)
ORACLE_SOURCES := $(shell find conformance/istio -name '*.go') conformance/istio/go.mod conformance/istio/go.sum
conformance/bin/istio-validate conformance/bin/istio-analyze conformance/bin/istio-scope &: $(ORACLE_SOURCES)
	@command -v go >/dev/null || { echo "make oracle: needs the Go toolchain (go) to build Istio's code" >&2; exit 2; }
	cd conformance/istio && go build -trimpath -buildvcs=false -o ../bin/ ./cmd/istio-validate ./cmd/istio-analyze ./cmd/istio-scope
	@touch conformance/bin/istio-validate conformance/bin/istio-analyze conformance/bin/istio-scope

oracle: conformance/bin/istio-validate conformance/bin/istio-analyze conformance/bin/istio-scope

## make conformance: sidecar-guard against Istio's own code (docs/conformance.md); SEED=n replays a run
CONFORMANCE_SIDECARS ?= 100000
CONFORMANCE_NAMESPACES ?= 2000
conformance: build oracle
	node --import tsx test/conformance/run.ts --sidecars $(CONFORMANCE_SIDECARS) --namespaces $(CONFORMANCE_NAMESPACES) $(if $(SEED),--seed $(SEED))

## make bench: the full benchmark (minutes); make bench-quick: about 3 minutes (203 s on a 2-vCPU VM). Both print a table.
bench: build cluster
	node --import tsx bench/run.ts $(ARGS)

bench-quick: build cluster
	node --import tsx bench/run.ts --quick $(ARGS)

## make certs: a CA and a serving certificate for the in-cluster Service (SERVICE, NAMESPACE, OUT)
SERVICE ?= sidecar-guard
NAMESPACE ?= sidecar-guard
OUT ?= certs
certs: build
	node bin/sidecar-guard.js certs --service $(SERVICE) --namespace $(NAMESPACE) --out $(OUT)

## make deploy-manifests: print manifests/ rendered with kustomize (kubectl's built-in); kubectl apply -k manifests deploys them
deploy-manifests:
	kubectl kustomize manifests

## make clean: remove dist/, .e2e/ and .tools/ (the pinned Node and pre-commit); the Go-built binaries stay
clean:
	rm -rf dist .e2e .tools
