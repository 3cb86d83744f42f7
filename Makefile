# Shiplane developer entry points. CI (.ci/run and .github/workflows) calls these
# same targets, so a laptop and CI run the same thing.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION ?= 0.13.9
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/.venv/bin:$(PATH)
export UV_PYTHON ?= 3.11
STATE := $(CURDIR)/.shiplane
MLFLOW_PORT ?= 5000
PYTEST_ARGS ?=
# Most tests wait on real servers (start-up, scrapes), so 3 workers beat 2 cores.
PYTEST_WORKERS ?= 3
BENCH_ARGS ?=
CONFIG ?= training/configs/breast_cancer.yaml
MODEL ?= breast-cancer

say = @printf '\033[1m==> %s\033[0m\n' "$(1)"

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: uv
uv:
	@command -v uv >/dev/null || { echo "==> installing uv $(UV_VERSION) from PyPI"; python3 -m pip install -q "uv==$(UV_VERSION)"; }

.PHONY: env
env: uv ## create .venv with every workspace package (uv sync)
	$(call say,uv sync: .venv with shiplane, shiplane-serving, shiplane-training and dev tools)
	uv sync --all-packages --frozen

.PHONY: tools
tools: uv ## install pinned helm, promtool, checkov, actionlint, zizmor, ... into .tools/
	$(call say,tools: helm, prometheus/promtool, wrk, checkov, zizmor, actionlint, hadolint, control plane, S3 server)
	bash scripts/tools.sh

.PHONY: lint
lint: env ## ruff lint + format check
	$(call say,ruff)
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .

.PHONY: typecheck
typecheck: env ## mypy --strict on our packages
	$(call say,mypy --strict)
	uv run --frozen mypy

.PHONY: test
test: env tools lint typecheck ## everything CI checks: lint, types, tests, chart, rules, terraform, workflows
	$(call say,pytest)
	uv run --frozen pytest -n $(PYTEST_WORKERS) --dist loadscope --durations=15 $(PYTEST_ARGS)

# Finer test targets for the CI matrix (.github/workflows/ci.yml).
TOOL_MARKERS := helm or prometheus or terraform or workflows or kube
.PHONY: test-python test-chart test-rules test-terraform test-workflows test-kube
test-python: env ## tests that need no external tool
	uv run --frozen pytest -m "not ($(TOOL_MARKERS))" $(PYTEST_ARGS)
test-chart: env tools ## chart: helm lint/template, schemas, checkov, manifests in sync
	uv run --frozen pytest -m helm $(PYTEST_ARGS)
test-rules: env tools ## Prometheus rules (promtool) and live queries
	uv run --frozen pytest -m prometheus $(PYTEST_ARGS)
test-terraform: env tools ## terraform fmt/validate/test and checkov
	uv run --frozen pytest -m terraform $(PYTEST_ARGS)
test-workflows: env tools ## GitHub workflows: actionlint, zizmor, shellcheck, policy
	uv run --frozen pytest -m workflows $(PYTEST_ARGS)
test-kube: env tools ## helm install, RBAC and KServe's controller on a real local control plane
	uv run --frozen pytest -m kube $(PYTEST_ARGS)

# A real control plane on 127.0.0.1 for people (tests start their own): etcd,
# kube-apiserver, kube-controller-manager and KServe; `make tools` builds it.
CLUSTER_STATE := $(STATE)/cluster
.PHONY: cluster-up cluster-down
cluster-up: env ## start a local control plane (KServe in Standard mode); prints export KUBECONFIG=...
	uv run --frozen python -m shiplane_tools.localcluster up --state $(CLUSTER_STATE)
cluster-down: ## stop the local control plane
	uv run --frozen python -m shiplane_tools.localcluster down --state $(CLUSTER_STATE)

# HOST on the command line wins; otherwise the router of the local demo stack.
LOADTEST_DEFAULT_HOST = $(shell cat $(STATE)/demo/router.url 2>/dev/null || echo http://127.0.0.1:8000)
LOADTEST_HOST = $(if $(filter command line,$(origin HOST)),$(HOST),$(LOADTEST_DEFAULT_HOST))
LOADTEST_SCENARIOS ?= loadtests/v1.py,loadtests/v2.py,loadtests/batch.py,loadtests/feedback.py,loadtests/sticky_router.py
LOADTEST_ARGS ?=
LOADTEST_TIMEOUT_S ?= 900
.PHONY: loadtest
loadtest: env ## headless Locust SLO run against HOST= (default: the demo's router), bounded by locust.conf
	$(call say,locust against $(LOADTEST_HOST))
	timeout --signal=INT --kill-after=30 $(LOADTEST_TIMEOUT_S) \
	  uv run --frozen locust -f $(LOADTEST_SCENARIOS) --config loadtests/locust.conf \
	  --host $(LOADTEST_HOST) $(LOADTEST_ARGS)

CONTAINER ?= $(shell command -v docker >/dev/null && echo docker || echo podman)
IMAGE_REGISTRY ?= ghcr.io/shiplane
IMAGE_TAG ?= dev
IMAGES := shiplane-serving=serving shiplane-training=training shiplane-router=router
image_registry = $(shell echo '$(IMAGE_REGISTRY)' | tr '[:upper:]' '[:lower:]')
.PHONY: images images-push chart-push e2e-kind
images: ## build the serving, training and router images (docker or podman)
	@set -e; for pair in $(IMAGES); do name=$${pair%%=*}; target=$${pair#*=}; \
	  echo "==> $(CONTAINER) build $(image_registry)/$$name:$(IMAGE_TAG) (--target $$target)"; \
	  $(CONTAINER) build --target "$$target" -t "$(image_registry)/$$name:$(IMAGE_TAG)" .; done
images-push: ## build and push the images with buildx (SBOM + provenance); release CI only
	@set -e; for pair in $(IMAGES); do name=$${pair%%=*}; target=$${pair#*=}; \
	  echo "==> push $(image_registry)/$$name:$(IMAGE_TAG)"; \
	  docker buildx build --push --sbom=true --provenance=mode=max \
	    --target "$$target" -t "$(image_registry)/$$name:$(IMAGE_TAG)" .; done
CHART_DIR ?= charts/shiplane
CHART_VERSION ?= $(shell sed -n 's/^version: *//p' $(CHART_DIR)/Chart.yaml)
CHART_REGISTRY ?= oci://ghcr.io/shiplane/charts
chart-push: ## package the chart at CHART_VERSION and push it to CHART_REGISTRY (OCI)
	mkdir -p dist
	helm package $(CHART_DIR) --version "$(CHART_VERSION)" --app-version "$(CHART_VERSION)" -d dist
	@if [ -n "$${REGISTRY_PASSWORD:-}" ]; then \
	  registry=$$(echo "$(CHART_REGISTRY)" | sed -E 's|^oci://([^/]+).*|\1|'); \
	  printf '%s' "$$REGISTRY_PASSWORD" | helm registry login "$$registry" -u "$${REGISTRY_USER:?}" --password-stdin; fi
	helm push dist/shiplane-$(CHART_VERSION).tgz $(shell echo '$(CHART_REGISTRY)' | tr '[:upper:]' '[:lower:]')
e2e-kind: env ## end to end on a running kind cluster: KServe, our chart, training, rollout, Locust
	bash .github/scripts/e2e-kind.sh

.PHONY: dashboards chart-docs manifests generate
dashboards: env ## regenerate the Grafana dashboard JSON (charts/shiplane/files/dashboards)
	uv run --frozen python -m shiplane_tools.observability.dashboards
chart-docs: env ## regenerate the values table of charts/shiplane/README.md
	uv run --frozen python -m shiplane_tools.chartdocs
manifests: env tools dashboards ## re-render manifests/ from the chart's defaults
	uv run --frozen python -m shiplane_tools.manifests
generate: dashboards chart-docs manifests ## every generated file

.PHONY: bench
bench: env tools ## side-by-side serving benchmark vs plain KServe, mlflow serve, MLServer, bare ASGI floor; rewrites docs/benchmarks.md
	$(call say,bench: one server at a time, wrk over loopback; about 8-10 minutes)
	uv run --frozen python -m serving.bench.run $(BENCH_ARGS)

.PHONY: train
train: env ## train CONFIG= into MLFLOW_TRACKING_URI (default: the `make mlflow` server)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:$(MLFLOW_PORT)} uv run --frozen shiplane train --config $(CONFIG)

.PHONY: serve
serve: env ## serve models:/$(MODEL)@champion from MLFLOW_TRACKING_URI on 127.0.0.1:8080
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-http://127.0.0.1:$(MLFLOW_PORT)} uv run --frozen python -m shiplane_serving \
	  --model-uri models:/$(MODEL)@champion --model-name $(MODEL) --http-port 8080 --grpc-port 8081

.PHONY: mlflow
mlflow: env ## start a local MLflow server (SQLite) on 127.0.0.1:$(MLFLOW_PORT)
	uv run --frozen python -m shiplane_tools.localstack mlflow-start --state $(STATE) --port $(MLFLOW_PORT)

.PHONY: mlflow-stop
mlflow-stop: ## stop the local MLflow server
	uv run --frozen python -m shiplane_tools.localstack mlflow-stop --state $(STATE)

.PHONY: demo
demo: env ## the whole flow on this machine: MLflow, champion + challenger, serving, router, load, analysis
	uv run --frozen python -m shiplane_tools.demo --state $(STATE)

.PHONY: demo-stop
demo-stop: ## stop everything make demo left running
	uv run --frozen python -m shiplane_tools.demo --state $(STATE) --stop

.PHONY: clean
clean: demo-stop cluster-down ## remove local state (.shiplane/) and caches
	rm -rf $(STATE) .mypy_cache .ruff_cache .pytest_cache
