// Package manifest reads the files given to the oracle commands the way
// kubectl and the API server would hand their objects to Istio: multi-document
// YAML or a JSON stream, `kind: List` expanded, each object normalised to the
// JSON an API server sends to a webhook (integers kept as int64, other numbers
// as float64, keys sorted, metadata.namespace filled in for namespaced kinds).
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Object is one object of one file.
type Object struct {
	File string
	// Index is the object's 0-based position among the objects of its file
	// (empty documents do not count; a List's items count one each).
	Index int
	// Fields is the decoded object (nil when ParseErr is set).
	Fields map[string]any
	// ParseErr is set when the document could not be read as YAML/JSON.
	// Documents that are not objects (lists, scalars) are left out.
	ParseErr error
}

// APIVersion, Kind, Namespace and Name read the envelope ("" when absent or not a string).
func (o Object) APIVersion() string { return str(o.Fields["apiVersion"]) }
func (o Object) Kind() string       { return str(o.Fields["kind"]) }
func (o Object) Namespace() string  { return str(meta(o.Fields)["namespace"]) }
func (o Object) Name() string       { return str(meta(o.Fields)["name"]) }

// IsSidecar: any version of networking.istio.io counts (as in sidecar-guard's check).
func (o Object) IsSidecar() bool {
	return o.Kind() == "Sidecar" && strings.HasPrefix(o.APIVersion(), "networking.istio.io/")
}

// JSON is the object as an API server would send it to a webhook.
func (o Object) JSON() []byte {
	b, err := json.Marshal(o.Fields)
	if err != nil {
		// Values come from a JSON decoder, so they always marshal.
		panic(err)
	}
	return b
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func meta(fields map[string]any) map[string]any {
	m, _ := fields["metadata"].(map[string]any)
	return m
}

// ReadPaths reads every path ("-" is stdin) in order.
func ReadPaths(paths []string, defaultNamespace string) ([]Object, error) {
	var out []Object
	for _, p := range paths {
		var data []byte
		var err error
		if p == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Read(p, data, defaultNamespace)...)
	}
	return out, nil
}

// Read splits one file into objects.
func Read(file string, data []byte, defaultNamespace string) []Object {
	var raws [][]byte
	var errs []error
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		raws, errs = jsonStream(trimmed)
	} else {
		raws, errs = yamlDocuments(data)
	}
	var out []Object
	add := func(fields map[string]any, err error) {
		out = append(out, Object{File: file, Index: len(out), Fields: fields, ParseErr: err})
	}
	for i, raw := range raws {
		if errs[i] != nil {
			add(nil, errs[i])
			continue
		}
		var v any
		if err := utiljson.Unmarshal(raw, &v); err != nil {
			add(nil, err)
			continue
		}
		if v == nil {
			continue // an empty document
		}
		obj, ok := v.(map[string]any)
		if !ok {
			continue // a list or a scalar: not an object of any kind, so not a Sidecar either
		}
		if items, isList := listItems(obj); isList {
			for _, item := range items {
				itemObj, ok := item.(map[string]any)
				if !ok {
					continue
				}
				add(withNamespace(itemObj, defaultNamespace), nil)
			}
			continue
		}
		add(withNamespace(obj, defaultNamespace), nil)
	}
	return out
}

func listItems(obj map[string]any) ([]any, bool) {
	kind, _ := obj["kind"].(string)
	items, ok := obj["items"].([]any)
	return items, ok && strings.HasSuffix(kind, "List")
}

// Cluster-scoped kinds the commands may meet; everything else is namespaced.
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "CustomResourceDefinition": true}

// withNamespace gives a namespaced object without metadata.namespace the
// default one, as the API server does before admission.
func withNamespace(obj map[string]any, ns string) map[string]any {
	if clusterScoped[str(obj["kind"])] {
		return obj
	}
	m := meta(obj)
	if m == nil {
		if _, present := obj["metadata"]; present && obj["metadata"] != nil {
			return obj // a metadata of the wrong type: leave it for the decoder to refuse
		}
		m = map[string]any{}
		obj["metadata"] = m
	}
	// Only a missing or empty namespace; a value of the wrong type is left for the decoder to refuse.
	if v, present := m["namespace"]; !present || v == nil || v == "" {
		m["namespace"] = ns
	}
	return obj
}

func yamlDocuments(data []byte) ([][]byte, []error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var raws [][]byte
	var errs []error
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return raws, errs
		}
		if err != nil {
			return append(raws, nil), append(errs, err)
		}
		// A document that is a JSON object is read as JSON: YAML 1.1 would
		// take U+0085, U+2028 and U+2029 inside its strings for line breaks.
		if trimmed := withoutSeparator(doc); len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
			raws = append(raws, trimmed)
			errs = append(errs, nil)
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		raws = append(raws, js)
		errs = append(errs, err)
	}
}

// withoutSeparator: the YAML reader hands the first document over with its
// leading "---" line.
func withoutSeparator(doc []byte) []byte {
	body := bytes.TrimSpace(doc)
	for bytes.HasPrefix(body, []byte("---")) {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return nil
		}
		body = bytes.TrimSpace(body[i+1:])
	}
	return body
}

func jsonStream(data []byte) ([][]byte, []error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raws [][]byte
	var errs []error
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return raws, errs
		}
		if err != nil {
			return append(raws, nil), append(errs, err)
		}
		raws = append(raws, raw)
		errs = append(errs, nil)
	}
}
