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
BENCH_ARGS ?=

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
	$(call say,tools: helm, prometheus/promtool, wrk, checkov, zizmor, actionlint, hadolint)
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
	uv run --frozen pytest $(PYTEST_ARGS)

.PHONY: bench
bench: env tools ## side-by-side serving benchmark vs plain KServe, mlflow serve, MLServer, bare ASGI floor; rewrites docs/benchmarks.md
	$(call say,bench: one server at a time, wrk over loopback; about 8-10 minutes)
	uv run --frozen python -m serving.bench.run $(BENCH_ARGS)

.PHONY: mlflow
mlflow: env ## start a local MLflow server (SQLite) on 127.0.0.1:$(MLFLOW_PORT)
	uv run --frozen python -m shiplane.localstack mlflow-start --state $(STATE) --port $(MLFLOW_PORT)

.PHONY: mlflow-stop
mlflow-stop: ## stop the local MLflow server
	uv run --frozen python -m shiplane.localstack mlflow-stop --state $(STATE)

.PHONY: demo
demo: env ## the whole flow on this machine: MLflow, champion + challenger, serving, router, load, analysis
	uv run --frozen python -m shiplane.demo --state $(STATE)

.PHONY: demo-stop
demo-stop: ## stop everything make demo left running
	uv run --frozen python -m shiplane.demo --state $(STATE) --stop

.PHONY: clean
clean: demo-stop ## remove local state (.shiplane/) and caches
	rm -rf $(STATE) .mypy_cache .ruff_cache .pytest_cache
