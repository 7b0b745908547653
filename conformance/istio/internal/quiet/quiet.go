// Package quiet silences Istio's loggers: the commands print one JSON object
// on stdout and nothing else.
package quiet

import "istio.io/istio/pkg/log"

// Logs turns every registered Istio log scope off.
func Logs() {
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.NoneLevel)
	}
}
