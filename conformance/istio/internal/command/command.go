// Package command holds what both oracle commands do around Istio's code:
// flags and files in, Istio's loggers off, one JSON object out.
package command

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"istio.io/istio/pkg/log"

	"sidecar-guard/conformance/istio/internal/manifest"
)

// Start parses the flags (a usage error exits 2), silences every Istio log
// scope (stdout carries only the JSON answer) and reads the files.
func Start(fs *flag.FlagSet, usage string, namespace *string) []manifest.Object {
	fs.Usage = func() { fmt.Fprintln(os.Stderr, usage) }
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		os.Exit(2)
	}
	for _, s := range log.Scopes() {
		s.SetOutputLevel(log.NoneLevel)
	}
	objects, err := manifest.ReadPaths(fs.Args(), *namespace)
	if err != nil {
		Fail(fs.Name(), err)
	}
	return objects
}

// Print writes v as one line of JSON, text as it is (no HTML escaping).
func Print(name string, v any) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		Fail(name, err)
	}
}

// Fail reports an error that is not about the input's content and exits 2.
func Fail(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(2)
}
