#!/usr/bin/env bash
# On a kind cluster (CI): the real k6-operator and Flagger (kubernetes provider, no mesh), and
# the k6gate image built from this checkout and loaded into the cluster.
set -euo pipefail
cd "$(dirname "$0")/../.."
K6_OPERATOR_VERSION=${K6_OPERATOR_VERSION:-v1.6.0}
FLAGGER_VERSION=${FLAGGER_VERSION:-1.44.0}
kubectl apply --server-side -f "https://github.com/grafana/k6-operator/releases/download/${K6_OPERATOR_VERSION}/bundle.yaml"
helm repo add flagger https://flagger.app
helm upgrade --install flagger flagger/flagger --version "$FLAGGER_VERSION" -n flagger-system \
  --create-namespace --set meshProvider=kubernetes --set prometheus.install=false --wait
version=$(node -p "require('./package.json').version")
docker build -t "ghcr.io/k6gate/k6gate:${version}" .
kind load docker-image "ghcr.io/k6gate/k6gate:${version}" --name k6gate
kubectl -n k6-operator-system rollout status deploy --timeout=5m
