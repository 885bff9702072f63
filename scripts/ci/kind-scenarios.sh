#!/usr/bin/env bash
# On the kind cluster of kind-setup.sh: first the README's install command exactly as written
# (no k6gate-tokens Secret exists: the pod must still become ready) and `helm test`; then the
# chart with both pod runners, the example's pod-runner Canaries, and a wait for Flagger to
# initialise them and for k6gate to answer their pre-rollout hooks once a new revision rolls out.
set -euo pipefail
cd "$(dirname "$0")/../.."
readme_install=$(grep -o 'helm upgrade --install k6gate ./charts/k6gate -n flagger-system --set secrets.existingSecret=k6gate-tokens' README.md | head -1)
[[ -n "$readme_install" ]] || { echo "kind-scenarios: the README's install command changed; update this script" >&2; exit 1; }
$readme_install --wait --timeout 5m
helm test k6gate -n flagger-system --logs
kubectl apply -f example/podinfo.yaml
helm upgrade --install k6gate charts/k6gate -n flagger-system -f example/pod-runners/pod-runners-values.yaml --wait
kubectl apply -f example/pod-runners/podinfo-job.yaml -f example/pod-runners/podinfo-k6-operator.yaml
for c in podinfo-job podinfo-big; do
  kubectl -n test wait "canary/$c" --for=condition=Promoted --timeout=10m
  kubectl -n test set env "deploy/$c" "REVISION=$(date +%s)"
done
for c in podinfo-job podinfo-big; do
  for _ in $(seq 1 120); do
    phase=$(kubectl -n test get "canary/$c" -o jsonpath='{.status.phase}')
    echo "$c: $phase"
    [[ "$phase" == Succeeded || "$phase" == Failed ]] && break
    sleep 10
  done
  kubectl -n test get events --field-selector "involvedObject.name=$c" | tail -20
  [[ "$phase" == Succeeded ]]
done
