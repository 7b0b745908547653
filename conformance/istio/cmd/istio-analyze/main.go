// istio-analyze: Istio's analyzers that concern Sidecars, run over manifests
// with no cluster, for comparison with sidecar-guard (`audit --overlap pods
// --output json`).
//
// It drives Istio's own local analyzer (pkg/config/analysis/local) the way
// `istioctl analyze --use-kube=false -A` does, with one difference: Pods and
// Namespaces in the files are read as cluster state (AddTestReaderKubeSource,
// as Istio's analyzer tests do). istioctl drops those kinds from files, so
// with it every Sidecar with a selector would "match no pod".
//
// Analyzers: sidecar.SelectorAnalyzer (IST0101, IST0110, IST0111, IST0167)
// and deprecation.FieldAnalyzer (IST0002); only findings on Sidecars are kept.
//
// Usage: istio-analyze [--namespace NS] [--istio-namespace NS] [--like-istioctl] FILE... (- for stdin)
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"istio.io/istio/pkg/config/analysis"
	"istio.io/istio/pkg/config/analysis/analyzers/deprecation"
	"istio.io/istio/pkg/config/analysis/analyzers/sidecar"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/resource"

	"sidecar-guard/conformance/istio/internal/command"
)

type finding struct {
	Code      string `json:"code"`
	Severity  string `json:"severity"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Message   string `json:"message"`
}

type output struct {
	Findings []finding `json:"findings"`
	Summary  struct {
		Objects  int `json:"objects"`
		Findings int `json:"findings"`
	} `json:"summary"`
}

func main() {
	fs := flag.NewFlagSet("istio-analyze", flag.ContinueOnError)
	namespace := fs.String("namespace", "default", "namespace of objects that name none")
	istioNamespace := fs.String("istio-namespace", "istio-system", "istioctl's --istioNamespace")
	likeIstioctl := fs.Bool("like-istioctl", false, "read files exactly as istioctl analyze --use-kube=false does (Pods and Namespaces in files are ignored)")
	objects := command.Start(fs, "usage: istio-analyze [--namespace NS] [--istio-namespace NS] [--like-istioctl] FILE... (- for stdin)", namespace)
	// One stream of JSON documents, namespaces filled in, for Istio's file source.
	var stream bytes.Buffer
	count := 0
	for _, obj := range objects {
		if obj.ParseErr != nil {
			// Like istioctl analyze: report the unreadable document, analyse the rest.
			fmt.Fprintf(os.Stderr, "istio-analyze: %s object %d skipped: %v\n", obj.File, obj.Index, obj.ParseErr)
			continue
		}
		stream.WriteString("---\n")
		stream.Write(obj.JSON())
		stream.WriteString("\n")
		count++
	}

	combined := analysis.Combine("sidecar-guard-conformance", &sidecar.SelectorAnalyzer{}, &deprecation.FieldAnalyzer{})
	// Namespace "": every namespace, like istioctl analyze -A.
	sa := local.NewSourceAnalyzer(combined, "", resource.Namespace(*istioNamespace), nil)
	readers := []local.ReaderSource{{Name: "input", Reader: &stream}}
	var err error
	if *likeIstioctl {
		if err := sa.AddDefaultResources(); err != nil {
			command.Fail("istio-analyze", err)
		}
		err = sa.AddReaderKubeSource(readers)
	} else {
		err = sa.AddTestReaderKubeSource(readers)
	}
	if err != nil {
		// As istioctl analyze does: report the objects Istio could not read, analyse the rest.
		fmt.Fprintf(os.Stderr, "istio-analyze: %v\n", err)
	}
	cancel := make(chan struct{})
	defer close(cancel)
	result, err := sa.Analyze(cancel)
	if err != nil {
		command.Fail("istio-analyze", err)
	}

	out := output{Findings: []finding{}}
	for _, m := range result.Messages {
		if m.Resource == nil || m.Resource.Metadata.Schema == nil || m.Resource.Metadata.Schema.Kind() != "Sidecar" {
			continue
		}
		out.Findings = append(out.Findings, finding{
			Code:      m.Type.Code(),
			Severity:  strings.ToLower(m.Type.Level().String()),
			Kind:      m.Resource.Metadata.Schema.Kind(),
			Namespace: m.Resource.Metadata.FullName.Namespace.String(),
			Name:      m.Resource.Metadata.FullName.Name.String(),
			Message:   fmt.Sprintf(m.Type.Template(), m.Parameters...),
		})
	}
	sort.SliceStable(out.Findings, func(i, j int) bool {
		a, b := out.Findings[i], out.Findings[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Message < b.Message
	})
	out.Summary.Objects = count
	out.Summary.Findings = len(out.Findings)
	command.Print("istio-analyze", out)
}
