#!/usr/bin/env bash
# Shiplane end to end on a kind cluster, as `.github/workflows/e2e.yml` runs it
# (`make e2e-kind`). Needs a running kind cluster (helm/kind-action), docker,
# kubectl, helm and kind on PATH, and the project's .venv (`make env`).
#
#   1. cert-manager, kube-prometheus-stack (Prometheus only) and KServe in
#      Standard mode from their published OCI charts
#   2. our three images built with docker and loaded into kind
#   3. `helm install` of charts/shiplane pinned to v1: MLflow, a training Job
#      (v1 -> @champion) and the InferenceService serving models:/NAME/1
#   4. traffic through the predictor with Locust (SLO-gated)
#   5. `helm upgrade` with the same values: a second training Job (v2 ->
#      @challenger) and nothing else (the CLI owns versions and traffic);
#      `kubectl shiplane canary --model models:/NAME@challenger` pins v2
#   6. status, set-traffic, Locust load, analyze, promote (MLflow follows)
#   7. a third training run (v3 -> @challenger), a restart of every predictor
#      pod: each still serves the version its object names; a final SLO run
#
# The same journey runs in `make test` against a real kube-apiserver, etcd and
# KServe controller (tests/kube/test_model_identity_journey.py).
#
# Everything it learns on the way (pod logs, events, resources, Locust
# reports) lands in $ARTIFACTS for the workflow to upload, pass or fail.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

KIND_CLUSTER=${KIND_CLUSTER:-shiplane-e2e}
NAMESPACE=${NAMESPACE:-shiplane-e2e}
RELEASE=${RELEASE:-shiplane}
MODEL=${MODEL:-breast-cancer}
IMAGE_REGISTRY=${IMAGE_REGISTRY:-ghcr.io/shiplane}
IMAGE_TAG=${IMAGE_TAG:-e2e}
# Pinned chart versions of the dependencies; bump deliberately.
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.17.2}
KSERVE_VERSION=${KSERVE_VERSION:-v0.21.0}
KUBE_PROMETHEUS_STACK_VERSION=${KUBE_PROMETHEUS_STACK_VERSION:-75.15.1}
ARTIFACTS=${ARTIFACTS:-$root/reports/e2e}
VALUES=$root/.github/scripts/e2e-kind-values.yaml

mkdir -p "$ARTIFACTS"
pid_file=$ARTIFACTS/port-forward.pids
: >"$pid_file"

say() { printf '\033[1m[e2e %s]\033[0m %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf '[e2e] error: %s\n' "$*" >&2; exit 1; }

collect() {
  local rc=$?
  say "collecting diagnostics into $ARTIFACTS (exit code $rc)"
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$pid_file"
  {
    kubectl get nodes -o wide
    kubectl get all,inferenceservices,servingruntimes,jobs,pvc -A -o wide
  } >"$ARTIFACTS/resources.txt" 2>&1 || true
  kubectl get events -A --sort-by=.lastTimestamp >"$ARTIFACTS/events.txt" 2>&1 || true
  kubectl -n "$NAMESPACE" get inferenceservice "$MODEL" -o yaml >"$ARTIFACTS/isvc.yaml" 2>&1 || true
  local ns pod
  for ns in "$NAMESPACE" kserve-system; do
    for pod in $(kubectl -n "$ns" get pods -o name 2>/dev/null); do
      kubectl -n "$ns" logs "$pod" --all-containers --prefix --tail=2000 \
        >"$ARTIFACTS/logs-$ns-${pod#pod/}.txt" 2>&1 || true
    done
  done
  exit "$rc"
}
trap collect EXIT

for tool in docker kind kubectl helm uv; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
kubectl cluster-info --context "kind-$KIND_CLUSTER" >/dev/null \
  || die "no kind cluster named $KIND_CLUSTER (helm/kind-action creates it)"
kubectl config use-context "kind-$KIND_CLUSTER" >/dev/null

# port_forward NAMESPACE RESOURCE PORT: forward a free local port to it and
# print the local URL (called in $(...), so the PID goes to a file).
port_forward() {
  local namespace=$1 resource=$2 target=$3 local_port
  local_port=$(uv run --frozen python -c 'from shiplane_tools.localstack import free_port; print(free_port())')
  kubectl -n "$namespace" port-forward "$resource" "$local_port:$target" \
    >>"$ARTIFACTS/port-forward.log" 2>&1 &
  echo "$!" >>"$pid_file"
  for _ in $(seq 60); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$local_port") 2>/dev/null; then
      echo "http://127.0.0.1:$local_port"
      return 0
    fi
    sleep 1
  done
  die "port-forward to $resource:$target never opened"
}

say "1/7 cert-manager $CERT_MANAGER_VERSION, Prometheus, KServe $KSERVE_VERSION (Standard mode)"
helm upgrade --install cert-manager oci://quay.io/jetstack/charts/cert-manager \
  --version "$CERT_MANAGER_VERSION" --namespace cert-manager --create-namespace \
  --set crds.enabled=true --wait --timeout 5m
helm upgrade --install kube-prometheus-stack \
  oci://ghcr.io/prometheus-community/charts/kube-prometheus-stack \
  --version "$KUBE_PROMETHEUS_STACK_VERSION" --namespace monitoring --create-namespace \
  --set grafana.enabled=false --set alertmanager.enabled=false \
  --set nodeExporter.enabled=false --set kubeStateMetrics.enabled=false \
  --set prometheus.prometheusSpec.scrapeInterval=5s \
  --wait --timeout 8m
helm upgrade --install kserve-crd oci://ghcr.io/kserve/charts/kserve-crd \
  --version "$KSERVE_VERSION" --namespace kserve-system --create-namespace --wait
helm upgrade --install kserve oci://ghcr.io/kserve/charts/kserve \
  --version "$KSERVE_VERSION" --namespace kserve-system \
  --set kserve.controller.deploymentMode=Standard \
  --set kserve.controller.gateway.disableIngressCreation=true \
  --wait --timeout 8m
kubectl -n kserve-system rollout status deployment/kserve-controller-manager --timeout=5m

say "2/7 images: build with docker, load into kind"
make images IMAGE_REGISTRY="$IMAGE_REGISTRY" IMAGE_TAG="$IMAGE_TAG"
for image in shiplane-serving shiplane-training shiplane-router; do
  kind load docker-image --name "$KIND_CLUSTER" "$IMAGE_REGISTRY/$image:$IMAGE_TAG"
done

say "3/7 helm install pinned to v1: MLflow, training Job (-> @champion), InferenceService"
helm upgrade --install "$RELEASE" charts/shiplane --namespace "$NAMESPACE" \
  --create-namespace -f "$VALUES" --wait --wait-for-jobs --timeout 15m
kubectl -n "$NAMESPACE" wait --for=condition=Ready "inferenceservice/$MODEL" --timeout=10m

model_url=$(port_forward "$NAMESPACE" "svc/$MODEL-predictor" 80)
prometheus_url=$(port_forward monitoring svc/kube-prometheus-stack-prometheus 9090)

say "4/7 traffic + SLO run against the champion ($model_url)"
make loadtest HOST="$model_url" \
  LOADTEST_ARGS="--run-time 60s --report-dir $ARTIFACTS/champion --csv $ARTIFACTS/champion/locust --html $ARTIFACTS/champion/report.html"

say "5/7 helm upgrade, same values: second training Job (-> @challenger); canary of it"
helm upgrade "$RELEASE" charts/shiplane --namespace "$NAMESPACE" -f "$VALUES" \
  --wait --wait-for-jobs --timeout 15m
mlflow_url=$(port_forward "$NAMESPACE" "svc/$RELEASE-mlflow" 5000)
shiplane() { uv run --frozen kubectl shiplane "$@" --namespace "$NAMESPACE"; }
shiplane canary "$MODEL" --model "models:/$MODEL@challenger" --percent 10 \
  --mlflow-uri "$mlflow_url" --actor e2e | tee "$ARTIFACTS/canary.txt"
grep -q "models:/$MODEL/2" "$ARTIFACTS/canary.txt" || die "the canary was not pinned to v2"
kubectl -n "$NAMESPACE" wait --for=condition=Ready "inferenceservice/$MODEL" --timeout=10m

say "6/7 status, set-traffic 50, load, analyze, promote"
shiplane status "$MODEL" --mlflow-uri "$mlflow_url" | tee "$ARTIFACTS/status.txt"
shiplane set-traffic "$MODEL" 50
make loadtest HOST="$model_url" \
  LOADTEST_ARGS="--run-time 90s --report-dir $ARTIFACTS/canary --csv $ARTIFACTS/canary/locust --html $ARTIFACTS/canary/report.html"
shiplane analyze "$MODEL" --prometheus-url "$prometheus_url" --window 90s \
  | tee "$ARTIFACTS/analyze.txt"
shiplane promote "$MODEL" --mlflow-uri "$mlflow_url" --actor e2e --reason "e2e analysis passed" \
  | tee "$ARTIFACTS/promote.txt"
grep -q "@champion -> $MODEL v2" "$ARTIFACTS/promote.txt" || die "@champion did not move to v2"
kubectl -n "$NAMESPACE" get inferenceservice "$MODEL" \
  -o jsonpath='{.metadata.annotations}' >"$ARTIFACTS/isvc-annotations.json"

say "7/7 train v3 (-> @challenger), restart the predictors: they still serve v2"
helm upgrade "$RELEASE" charts/shiplane --namespace "$NAMESPACE" -f "$VALUES" \
  --wait --wait-for-jobs --timeout 15m
kubectl -n "$NAMESPACE" rollout restart "deployment/$MODEL-predictor"
kubectl -n "$NAMESPACE" rollout status "deployment/$MODEL-predictor" --timeout=10m
# A port-forward follows one pod: the restart ended the old one.
model_url=$(port_forward "$NAMESPACE" "svc/$MODEL-predictor" 80)
served=$(curl -fsS "$model_url/v2/models/$MODEL" | uv run --frozen python -c \
  'import json, sys; print(json.load(sys.stdin)["versions"][0])')
[ "$served" = 2 ] || die "after the restart the predictor serves v$served, not v2"
make loadtest HOST="$model_url" \
  LOADTEST_ARGS="--run-time 60s --report-dir $ARTIFACTS/promoted --csv $ARTIFACTS/promoted/locust --html $ARTIFACTS/promoted/report.html"

say "passed: pinned v1 served, v2 canaried, analyzed and promoted, v3 trained, restarts kept v2"
