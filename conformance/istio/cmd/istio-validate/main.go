// istio-validate: Istio's own admission validation of Sidecar objects, for
// comparison with sidecar-guard (`check --isolated --output json`).
//
// Each Sidecar in the given files goes through Istio's validating webhook
// handler itself (pkg/webhooks/validation/server, in process, as an
// AdmissionReview v1 CREATE), which gives the verdict. The same steps are then
// taken one by one with Istio's functions (crd.IstioKind decoding,
// crd.ConvertObject, the schema's ValidateConfig, the top-level field check)
// to list the individual errors and warnings; the two must agree or the
// command fails.
//
// Usage: istio-validate [--namespace NS] [--domain-suffix D] FILE... (- for stdin)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/go-multierror"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	"istio.io/istio/pkg/webhooks/validation/server"

	"sidecar-guard/conformance/istio/internal/command"
	"sidecar-guard/conformance/istio/internal/manifest"
)

type message struct {
	Message string `json:"message"`
}

type result struct {
	File       string  `json:"file"`
	Index      int     `json:"index"`
	APIVersion *string `json:"apiVersion"`
	Namespace  *string `json:"namespace"`
	Name       *string `json:"name"`
	Allowed    bool    `json:"allowed"`
	// Stage: where Istio stopped. parse (not YAML/JSON), decode (the webhook's
	// JSON or protobuf decoding), type (not a kind Istio knows), validate
	// (ValidateSidecar), fields (the webhook's top-level field check), or ok.
	Stage    string    `json:"stage"`
	Errors   []message `json:"errors"`
	Warnings []message `json:"warnings"`
}

type summary struct {
	Files    int `json:"files"`
	Sidecars int `json:"sidecars"`
	Allowed  int `json:"allowed"`
	Rejected int `json:"rejected"`
	Skipped  int `json:"skipped"`
}

type output struct {
	Results []result `json:"results"`
	Summary summary  `json:"summary"`
}

// The same as istiod's validation server (pilot/pkg/bootstrap/validation.go).
var schemas = collections.PilotGatewayAPI()

func main() {
	fs := flag.NewFlagSet("istio-validate", flag.ContinueOnError)
	namespace := fs.String("namespace", "default", "namespace of objects that name none (the API server fills in the request's)")
	domainSuffix := fs.String("domain-suffix", "cluster.local", "istiod's --domain")
	objects := command.Start(fs, "usage: istio-validate [--namespace NS] [--domain-suffix D] FILE... (- for stdin)", namespace)
	webhook := newWebhook(*domainSuffix)
	out := output{Results: []result{}, Summary: summary{Files: fs.NArg()}}
	for _, obj := range objects {
		if obj.ParseErr == nil && !obj.IsSidecar() {
			out.Summary.Skipped++
			continue
		}
		r, err := judge(obj, webhook, *domainSuffix)
		if err != nil {
			fmt.Fprintf(os.Stderr, "istio-validate: %s object %d: %v\n", obj.File, obj.Index, err)
			os.Exit(3)
		}
		out.Results = append(out.Results, r)
		if r.Stage != "parse" {
			out.Summary.Sidecars++
		}
		if r.Allowed {
			out.Summary.Allowed++
		} else {
			out.Summary.Rejected++
		}
	}
	command.Print("istio-validate", out)
	if out.Summary.Rejected > 0 {
		os.Exit(1)
	}
}

func judge(obj manifest.Object, webhook http.Handler, domainSuffix string) (result, error) {
	r := result{File: obj.File, Index: obj.Index, Errors: []message{}, Warnings: []message{}}
	if obj.ParseErr != nil {
		r.Stage = "parse"
		r.Errors = append(r.Errors, message{obj.ParseErr.Error()})
		return r, nil
	}
	r.APIVersion, r.Namespace, r.Name = ptr(obj.APIVersion()), ptr(obj.Namespace()), ptr(obj.Name())
	raw := obj.JSON()
	o := steps(raw, obj.Namespace(), domainSuffix)
	r.Stage, r.Errors, r.Warnings = o.stage, o.errors, o.warnings
	r.Allowed = len(r.Errors) == 0

	verdict, err := callWebhook(webhook, raw, obj)
	if err != nil {
		return r, err
	}
	return r, agree(o, verdict)
}

// steps takes the webhook's steps one by one with Istio's functions, keeping
// each item of the error and warning lists, and the message the webhook must
// then give. Only the namespace and the decoded object come from the request.
type outcome struct {
	stage    string
	errors   []message
	warnings []message
	denial   string
	// alternatives: every denial text Istio may give (several unknown top-level keys).
	alternatives []string
}

func steps(raw []byte, namespace string, domainSuffix string) outcome {
	stop := func(stage, text string) outcome {
		return outcome{stage: stage, errors: []message{{text}}, warnings: []message{}, denial: text}
	}
	var obj crd.IstioKind
	if err := json.Unmarshal(raw, &obj); err != nil {
		return stop("decode", fmt.Sprintf("cannot decode configuration: %v", err))
	}
	gvk := obj.GroupVersionKind()
	s, exists := schemas.FindByGroupKind(resource.FromKubernetesGVK(&gvk))
	if !exists {
		return stop("type", fmt.Sprintf("unrecognized type %v", obj.GroupVersionKind()))
	}
	cfg, err := crd.ConvertObject(s, &obj, domainSuffix)
	if err != nil {
		return stop("decode", fmt.Sprintf("error decoding configuration: %v", err))
	}
	warning, err := s.ValidateConfig(*cfg)
	if err != nil {
		return outcome{stage: "validate", errors: items(err), warnings: items(warning), denial: fmt.Sprintf("configuration is invalid: %v", err)}
	}
	if candidates := checkFields(raw, obj.Kind, namespace, obj.Name); len(candidates) > 0 {
		o := stop("fields", candidates[0])
		o.warnings = items(warning)
		o.alternatives = candidates
		return o
	}
	return outcome{stage: "ok", errors: []message{}, warnings: items(warning)}
}

// items: each entry of a multierror, or the one error (as the webhook's
// toKubeWarnings splits warnings).
func items(err error) []message {
	out := []message{}
	if err == nil {
		return out
	}
	var me *multierror.Error
	if errors.As(err, &me) && me == err {
		for _, e := range me.Errors {
			out = append(out, message{e.Error()})
		}
		return out
	}
	return append(out, message{err.Error()})
}

// checkFields is the webhook's own check (unexported there): after
// validation, a top-level key other than these is refused. Istio names the
// first unknown key of a Go map walk, so with several the choice is random;
// here every candidate text is returned, sorted, and the first is reported.
var validFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true, "spec": true, "status": true}

func checkFields(raw []byte, kind, namespace, name string) []string {
	trial := make(map[string]json.RawMessage)
	if err := json.Unmarshal(raw, &trial); err != nil {
		return []string{fmt.Sprintf("cannot decode configuration fields: %v", err)}
	}
	var candidates []string
	for key := range trial {
		if !validFields[key] {
			candidates = append(candidates, fmt.Sprintf("unknown field %q on %s resource %s/%s", key, kind, namespace, name))
		}
	}
	sort.Strings(candidates)
	return candidates
}

// ---- the real webhook, in process ----------------------------------------

func newWebhook(domainSuffix string) http.Handler {
	mux := http.NewServeMux()
	if _, err := server.New(server.Options{Schemas: schemas, DomainSuffix: domainSuffix, Mux: mux}); err != nil {
		command.Fail("istio-validate", err)
	}
	return mux
}

type verdict struct {
	Allowed  bool
	Message  string
	Warnings []string
}

func callWebhook(webhook http.Handler, raw []byte, obj manifest.Object) (verdict, error) {
	gv, _ := schema.ParseGroupVersion(obj.APIVersion())
	review := map[string]any{
		"apiVersion": "admission.k8s.io/v1",
		"kind":       "AdmissionReview",
		"request": map[string]any{
			"uid":       "00000000-0000-0000-0000-000000000000",
			"kind":      metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: obj.Kind()},
			"resource":  metav1.GroupVersionResource{Group: gv.Group, Version: gv.Version, Resource: "sidecars"},
			"namespace": obj.Namespace(),
			"name":      obj.Name(),
			"operation": "CREATE",
			"userInfo":  map[string]any{},
			"object":    json.RawMessage(raw),
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		return verdict{}, err
	}
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	webhook.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return verdict{}, fmt.Errorf("webhook answered HTTP %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	var resp struct {
		Response *struct {
			Allowed  bool     `json:"allowed"`
			Warnings []string `json:"warnings"`
			Status   *struct {
				Message string `json:"message"`
			} `json:"status"`
		} `json:"response"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || resp.Response == nil {
		return verdict{}, fmt.Errorf("webhook answer not understood: %s", rec.Body.String())
	}
	v := verdict{Allowed: resp.Response.Allowed, Warnings: resp.Response.Warnings}
	if resp.Response.Status != nil {
		v.Message = resp.Response.Status.Message
	}
	return v, nil
}

// agree checks the step-by-step outcome against the webhook's own answer:
// the same verdict, the same denial text, the same warnings when admitted
// (the webhook sends warnings only with an admission).
func agree(o outcome, v verdict) error {
	allowed := len(o.errors) == 0
	denial := o.denial
	if slices.Contains(o.alternatives, v.Message) {
		denial = v.Message
	}
	if o.stage == "decode" && strings.HasPrefix(v.Message, "error decoding configuration: ") {
		// The decoder walks map fields (workloadSelector.labels) in Go map
		// order, so with several bad values it names any one of them.
		denial = v.Message
	}
	if allowed != v.Allowed || sortedLines(denial) != sortedLines(v.Message) {
		return fmt.Errorf("out of step with Istio's webhook: steps say allowed=%v %q, the webhook allowed=%v %q", allowed, o.denial, v.Allowed, v.Message)
	}
	if allowed {
		if got, want := strings.Join(v.Warnings, "\n"), joinMessages(o.warnings); sortedLines(got) != sortedLines(want) {
			return fmt.Errorf("out of step with Istio's webhook: warnings %q, the webhook's %q", want, got)
		}
	}
	return nil
}

// sortedLines: Istio visits workload-selector labels in Go map order, so the
// items of a multierror may come in any order from one call to the next.
func sortedLines(s string) string {
	lines := strings.Split(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func joinMessages(ms []message) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Message
	}
	return strings.Join(s, "\n")
}

func ptr(s string) *string { return &s }
