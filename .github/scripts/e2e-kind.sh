#!/usr/bin/env bash
# Shiplane end to end on a kind cluster, as `.github/workflows/e2e.yml` runs it
# (`make e2e-kind`). Needs a running kind cluster (helm/kind-action), docker,
# kubectl, helm and kind on PATH, and the project's .venv (`make env`).
#
#   1. cert-manager, kube-prometheus-stack (Prometheus only) and KServe in
#      Standard mode from their published OCI charts
#   2. our three images built with docker and loaded into kind
#   3. `helm install` of charts/shiplane: MLflow, a training Job (first version
#      -> @champion) and the breast-cancer InferenceService
#   4. traffic through the predictor with Locust (SLO-gated)
#   5. `helm upgrade`: a second training Job (-> @challenger) and a
#      spec.canary[] entry at 10%
#   6. `kubectl shiplane rollout` steps the canary to 100% and promotes it
#   7. a final Locust SLO run against the promoted model
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
  local_port=$(uv run --frozen python -c 'from shiplane.localstack import free_port; print(free_port())')
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

say "3/7 helm install: MLflow, training Job (-> @champion), InferenceService"
helm upgrade --install "$RELEASE" charts/shiplane --namespace "$NAMESPACE" \
  --create-namespace -f "$VALUES" --wait --wait-for-jobs --timeout 15m
kubectl -n "$NAMESPACE" wait --for=condition=Ready "inferenceservice/$MODEL" --timeout=10m

model_url=$(port_forward "$NAMESPACE" "svc/$MODEL-predictor" 80)
prometheus_url=$(port_forward monitoring svc/kube-prometheus-stack-prometheus 9090)

say "4/7 traffic + SLO run against the champion ($model_url)"
make loadtest HOST="$model_url" \
  LOADTEST_ARGS="--run-time 60s --report-dir $ARTIFACTS/champion --csv $ARTIFACTS/champion/locust --html $ARTIFACTS/champion/report.html"

say "5/7 helm upgrade: second training Job (-> @challenger), canary at 10%"
helm upgrade "$RELEASE" charts/shiplane --namespace "$NAMESPACE" -f "$VALUES" \
  --set "inferenceServices.$MODEL.canary.standard.enabled=true" \
  --set "inferenceServices.$MODEL.canary.standard.trafficPercent=10" \
  --set "inferenceServices.$MODEL.canary.standard.model.mlflowUri=models:/$MODEL@challenger" \
  --wait --wait-for-jobs --timeout 15m
kubectl -n "$NAMESPACE" wait --for=condition=Ready "inferenceservice/$MODEL" --timeout=10m

say "6/7 kubectl shiplane rollout -> promotion"
uv run --frozen kubectl shiplane rollout "$MODEL" --namespace "$NAMESPACE" \
  --steps 10,50,100 --interval 45s --max-failures 1 --actor e2e \
  --prometheus-url "$prometheus_url" \
  --locustfile "$root/loadtests/v1.py" --load-host "$model_url" --load-users 4 \
  --load-arg=--model-name="$MODEL" \
  | tee "$ARTIFACTS/rollout.txt"
kubectl -n "$NAMESPACE" get inferenceservice "$MODEL" \
  -o jsonpath='{.metadata.annotations}' >"$ARTIFACTS/isvc-annotations.json"

say "7/7 SLO run against the promoted model"
make loadtest HOST="$model_url" \
  LOADTEST_ARGS="--run-time 60s --report-dir $ARTIFACTS/promoted --csv $ARTIFACTS/promoted/locust --html $ARTIFACTS/promoted/report.html"

say "passed: champion served, challenger rolled out and promoted, SLOs met"
