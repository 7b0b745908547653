//go:build tools

// controller-gen and prometheus-operator's API types: scripts/build-helm.sh
// generates the ServiceMonitor CRD from the types, as prometheus-operator's
// own build does, into test/helm/bin/crds/ (for the e2e server-side dry run).
package tools

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
