//go:build tools

// The real helm CLI, built by scripts/build-helm.sh into test/helm/bin/.
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
