// istio-scope: which services istiod imports through each egress listener of
// a Sidecar, computed by Istio's own pilot code, for comparison with what
// sidecar-guard predicts a Sidecar's egress hosts reach.
//
// It assembles the registries the way Istio's own pilot tests do
// (pilot/pkg/networking/core.NewConfigGenTest, as pilot/test/xds does, minus
// the gRPC server): Services and Namespaces go into a fake Kubernetes client
// read by the real Kubernetes service registry (so hostnames, ports and the
// networking.istio.io/exportTo annotation behave as in a cluster with
// --domain), Istio config into the in-memory config store read by the real
// ServiceEntry registry. After one full push (PushContext.InitContext), each
// Sidecar gets a proxy in its namespace labelled with its workloadSelector
// labels (none without a selector) and istiod's SidecarScope for that proxy
// (Proxy.SetSidecarScope) is reported, listener by listener, as
// IstioEgressListenerWrapper.Services() gives it. Nothing is validated:
// istiod's config client does not validate what it reads (the webhook does,
// see istio-validate), so what istiod makes of an invalid listener is what is
// reported.
//
// Objects with no creationTimestamp are taken as created one second apart in
// input order; istiod picks between Sidecars that select one proxy (and
// between ServiceEntries of one host) by age. When an older Sidecar shadows
// one, "shadowedBy" names it and the listeners are still the shadowed
// Sidecar's own. "outboundMode" is the scope's outbound traffic policy
// (the Sidecar's own, else the mesh's).
//
// Each v1 Pod of the input is a probe: a proxy in its namespace with its
// labels, reported under "pods" with the scope istiod gives it and "sidecar",
// the Sidecar that scope comes from ("ns/name"; "" for istiod's built-in
// default when no Sidecar applies). With --fallback, each Sidecar also gets
// "fallback": the scope its own proxy gets once that Sidecar is deleted
// (one more push per batch of deletions that cannot affect each other).
// Kinds other than v1 Service/Namespace/Pod and Istio config are ignored.
//
// With --revision R, the output is what the istiod of revision R computes:
// its config client keeps only the Istio config without an istio.io/rev
// label or labelled R (Istio's config.LabelsInRevision, as crdclient filters
// its informers), so a Sidecar it does not read is left out of "sidecars"
// and can shadow nothing. Without it, every object is read (an istiod run
// without a revision). Pods are probed whatever their revision: which
// istiod serves a pod is the caller's to say.
//
// Usage: istio-scope [--namespace NS] [--root-namespace NS] [--domain D] [--revision R] [--fallback] FILE... (- for stdin)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	meshconfig "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"
	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/networking/core"
	"istio.io/istio/pilot/pkg/serviceregistry"
	kubecontroller "istio.io/istio/pilot/pkg/serviceregistry/kube/controller"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config/mesh/meshwatcher"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/gvk"
	"istio.io/istio/pkg/config/schema/resource"
	kubelib "istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/test"

	"sidecar-guard/conformance/istio/internal/command"
	"sidecar-guard/conformance/istio/internal/manifest"
)

type service struct {
	Hostname  string `json:"hostname"`
	Namespace string `json:"namespace"`
	Ports     []int  `json:"ports"`
}

type listener struct {
	Index    int       `json:"index"`
	Port     uint32    `json:"port"`
	Bind     string    `json:"bind"`
	Services []service `json:"services"`
}

type sidecarResult struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// ShadowedBy: the older Sidecar whose scope istiod gives this one's
	// proxies instead; the listeners are still this Sidecar's own.
	ShadowedBy string `json:"shadowedBy,omitempty"`
	// OutboundMode: REGISTRY_ONLY or ALLOW_ANY, as the scope holds it.
	OutboundMode string     `json:"outboundMode"`
	Listeners    []listener `json:"listeners"`
	// Fallback (--fallback): the scope this Sidecar's proxy gets without it.
	Fallback *scopeResult `json:"fallback,omitempty"`
}

// scopeResult is the scope istiod gives one proxy.
type scopeResult struct {
	// Sidecar: "ns/name" of the Sidecar the scope is made from ("" for
	// istiod's built-in default: every host, the mesh's outbound mode).
	Sidecar      string     `json:"sidecar"`
	OutboundMode string     `json:"outboundMode"`
	Listeners    []listener `json:"listeners"`
}

type podResult struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	scopeResult
}

type output struct {
	Sidecars []sidecarResult `json:"sidecars"`
	Pods     []podResult     `json:"pods,omitempty"`
}

// probe is a proxy to set up: a namespace and the proxy's labels.
type probe struct {
	namespace string
	labels    map[string]string
}

// A fixed epoch keeps the output independent of when the command runs.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	fs := flag.NewFlagSet("istio-scope", flag.ContinueOnError)
	namespace := fs.String("namespace", "default", "namespace of objects that name none")
	rootNamespace := fs.String("root-namespace", "istio-system", "the mesh config's rootNamespace")
	domain := fs.String("domain", "cluster.local", "istiod's --domain (Kubernetes Services are name.ns.svc.<domain>)")
	withFallback := fs.Bool("fallback", false, "also report, for each Sidecar, the scope its proxy gets once that Sidecar is deleted")
	revision := fs.String("revision", "", "compute as the istiod of this revision, which reads only the Istio config unlabelled or labelled with it")
	objects := command.Start(fs, "usage: istio-scope [--namespace NS] [--root-namespace NS] [--domain D] [--revision R] [--fallback] FILE... (- for stdin)", namespace)

	in := sortInput(objects, *domain)
	if *revision != "" {
		in = inRevision(in, *revision)
	}
	m := mesh.DefaultMeshConfig()
	m.RootNamespace = *rootNamespace
	probes := make([]probe, 0, len(in.sidecars)+len(in.pods))
	for _, sc := range in.sidecars {
		probes = append(probes, proxyOf(sc))
	}
	for _, p := range in.pods {
		probes = append(probes, p.probe)
	}
	scopes := run(m, *domain, in.kubeObjects, in.configs, probes)
	results := make([]sidecarResult, len(in.sidecars))
	for i, sc := range in.sidecars {
		results[i] = ownResult(sc, scopes[i])
		if scopes[i].name != sc.Name {
			results[i].ShadowedBy = scopes[i].name
		}
	}
	var pods []podResult
	for j, p := range in.pods {
		pods = append(pods, podResult{Namespace: p.namespace, Name: p.name, Labels: p.labels, scopeResult: scopes[len(in.sidecars)+j].scopeResult})
	}

	// A shadowed Sidecar's own scope: istiod converts every Sidecar the same
	// way whatever the others, so it is what istiod gives its proxies once
	// the older Sidecar is gone. Each extra pass keeps one shadowed Sidecar
	// per namespace and no other Sidecar.
	var others []config.Config
	for _, c := range in.configs {
		if !isSidecar(c) {
			others = append(others, c)
		}
	}
	pending := map[int]bool{}
	for i, r := range results {
		if r.ShadowedBy != "" {
			pending[i] = true
		}
	}
	for len(pending) > 0 {
		pass, index, taken := slices.Clone(others), []int{}, map[string]bool{}
		for i := range in.sidecars {
			if pending[i] && !taken[in.sidecars[i].Namespace] {
				taken[in.sidecars[i].Namespace] = true
				pass = append(pass, in.sidecars[i])
				index = append(index, i)
				delete(pending, i)
			}
		}
		passProbes := []probe{}
		for _, i := range index {
			passProbes = append(passProbes, proxyOf(in.sidecars[i]))
		}
		for j, s := range run(m, *domain, in.kubeObjects, pass, passProbes) {
			r := ownResult(in.sidecars[index[j]], s)
			r.ShadowedBy = results[index[j]].ShadowedBy
			results[index[j]] = r
		}
	}

	if *withFallback {
		fallbacks(m, *domain, in, results)
	}
	command.Print("istio-scope", output{Sidecars: results, Pods: pods})
}

// fallbacks fills in each Sidecar's Fallback: the scope its own proxy gets
// with that Sidecar deleted and everything else kept. Deleting a Sidecar
// changes what istiod gives the proxies of its namespace only, unless it is
// a namespace-wide one of the root namespace (a candidate mesh-wide
// default): so each pass deletes one Sidecar per namespace, and such a root
// Sidecar alone.
func fallbacks(m *meshconfig.MeshConfig, domain string, in input, results []sidecarResult) {
	pending := make([]bool, len(in.sidecars))
	left := len(in.sidecars)
	for i := range pending {
		pending[i] = true
	}
	meshWide := func(sc config.Config) bool {
		return sc.Namespace == m.RootNamespace && sc.Spec.(*networking.Sidecar).GetWorkloadSelector() == nil
	}
	for left > 0 {
		deleted, taken := []int{}, map[string]bool{}
		for i, sc := range in.sidecars {
			if !pending[i] || taken[sc.Namespace] {
				continue
			}
			if meshWide(sc) {
				if len(deleted) > 0 {
					continue
				}
				deleted = append(deleted, i)
				break
			}
			taken[sc.Namespace] = true
			deleted = append(deleted, i)
		}
		pass, probes := []config.Config{}, []probe{}
		for _, c := range in.configs {
			keep := true
			for _, i := range deleted {
				s := in.sidecars[i]
				if isSidecar(c) && c.Namespace == s.Namespace && c.Name == s.Name {
					keep = false
				}
			}
			if keep {
				pass = append(pass, c)
			}
		}
		for _, i := range deleted {
			probes = append(probes, proxyOf(in.sidecars[i]))
			pending[i] = false
			left--
		}
		for j, s := range run(m, domain, in.kubeObjects, pass, probes) {
			fb := s.scopeResult
			results[deleted[j]].Fallback = &fb
		}
	}
}

// proxyOf is the proxy a Sidecar is written for: in its namespace, labelled
// with its workloadSelector's labels (none without one).
func proxyOf(sc config.Config) probe {
	return probe{namespace: sc.Namespace, labels: sc.Spec.(*networking.Sidecar).GetWorkloadSelector().GetLabels()}
}

func ownResult(sc config.Config, s probed) sidecarResult {
	return sidecarResult{Namespace: sc.Namespace, Name: sc.Name, OutboundMode: s.OutboundMode, Listeners: s.Listeners}
}

// run builds the registries and one push context from the input, as
// pilot/test/xds does, and asks for the scope of each probe's proxy.
func run(m *meshconfig.MeshConfig, domain string, kubeObjects []runtime.Object, configs []config.Config, probes []probe) []probed {
	results := []probed{}
	// test.Wrap is Istio's own test.Failer for use outside `go test`: a
	// Fatal in the harness becomes an error, and its Cleanups stop the
	// registries once done.
	err := test.Wrap(func(t test.Failer) {
		objs := make([]runtime.Object, len(kubeObjects))
		for i, o := range kubeObjects {
			objs[i] = o.DeepCopyObject()
		}
		kube, _ := kubecontroller.NewFakeControllerWithOptions(t, kubecontroller.FakeControllerOptions{
			Client:          kubelib.NewFakeClient(objs...),
			ClusterID:       constants.DefaultClusterName,
			DomainSuffix:    domain,
			MeshWatcher:     meshwatcher.NewTestWatcher(m),
			SystemNamespace: m.RootNamespace,
			ConfigCluster:   true,
			SkipRun:         true, // the aggregate registry runs it, as in pilot/test/xds
		})
		env := core.NewConfigGenTest(t, core.TestOptions{
			Configs:           configs,
			MeshConfig:        m,
			ServiceRegistries: []serviceregistry.Instance{kube},
			ClusterID:         constants.DefaultClusterName,
		})
		// Which Sidecar a scope comes from: the scope holds the spec the
		// push context read from the config store, the same pointer.
		sources := map[*networking.Sidecar]string{}
		for _, c := range env.Store().List(gvk.Sidecar, "") {
			sources[c.Spec.(*networking.Sidecar)] = c.Namespace + "/" + c.Name
		}
		for _, p := range probes {
			results = append(results, scopeOf(env, p, domain, sources))
		}
	})
	if err != nil {
		command.Fail("istio-scope", err)
	}
	return results
}

func isSidecar(c config.Config) bool {
	return c.GroupVersionKind.Kind == gvk.Sidecar.Kind && c.GroupVersionKind.Group == gvk.Sidecar.Group
}

// input is what the objects hold for istiod: Kubernetes objects for its
// service registry, Istio config (the Sidecars among it also apart, in
// input order) and the pods to probe.
type input struct {
	kubeObjects []runtime.Object
	configs     []config.Config
	sidecars    []config.Config
	pods        []pod
}

type pod struct {
	probe
	name string
}

// sortInput converts every object as the API server and istiod would see it;
// anything unreadable is an input error (exit 2).
func sortInput(objects []manifest.Object, domain string) input {
	var in input
	seen := map[string]bool{}
	for i, obj := range objects {
		fail := func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "istio-scope: %s object %d: %s\n", obj.File, obj.Index, fmt.Sprintf(format, args...))
			os.Exit(2)
		}
		if obj.ParseErr != nil {
			fail("%v", obj.ParseErr)
		}
		group, _, _ := strings.Cut(obj.APIVersion(), "/")
		isKube := obj.APIVersion() == "v1" && (obj.Kind() == "Service" || obj.Kind() == "Namespace")
		isPod := obj.APIVersion() == "v1" && obj.Kind() == "Pod"
		if !isKube && !isPod && !strings.HasSuffix(group, ".istio.io") {
			continue
		}
		if obj.Name() == "" {
			fail("%s without metadata.name", obj.Kind())
		}
		// One object per group, kind, namespace and name, whatever the version.
		key := group + "/" + obj.Kind() + "/" + obj.Namespace() + "/" + obj.Name()
		if seen[key] {
			fail("%s %s/%s given twice", obj.Kind(), obj.Namespace(), obj.Name())
		}
		seen[key] = true
		if isPod {
			// A pod is only a probe: its labels, not a workload in the registry.
			p := pod{probe: probe{namespace: obj.Namespace(), labels: map[string]string{}}, name: obj.Name()}
			m, _ := obj.Fields["metadata"].(map[string]any)
			labels, _ := m["labels"].(map[string]any)
			for k, v := range labels {
				s, ok := v.(string)
				if !ok {
					fail("Pod label %q is not a string", k)
				}
				p.labels[k] = s
			}
			in.pods = append(in.pods, p)
			continue
		}
		if m, ok := obj.Fields["metadata"].(map[string]any); ok && m["creationTimestamp"] == nil {
			m["creationTimestamp"] = epoch.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		}
		if isKube {
			o, _, err := kubelib.IstioCodec.UniversalDeserializer().Decode(obj.JSON(), nil, nil)
			if err != nil {
				fail("%v", err)
			}
			in.kubeObjects = append(in.kubeObjects, o)
			continue
		}
		var ik crd.IstioKind
		if err := json.Unmarshal(obj.JSON(), &ik); err != nil {
			fail("cannot decode: %v", err)
		}
		k := ik.GroupVersionKind()
		s, found := collections.Pilot.FindByGroupVersionAliasesKind(resource.FromKubernetesGVK(&k))
		if !found {
			fail("unrecognized type %v", k)
		}
		cfg, err := crd.ConvertObject(s, &ik, domain)
		if err != nil {
			fail("%v", err)
		}
		in.configs = append(in.configs, *cfg)
		if isSidecar(*cfg) {
			in.sidecars = append(in.sidecars, *cfg)
		}
	}
	return in
}

// inRevision keeps the Istio config the istiod of a revision reads, by
// Istio's own filter.
func inRevision(in input, revision string) input {
	read := func(cs []config.Config) []config.Config {
		kept := []config.Config{}
		for _, c := range cs {
			if config.ObjectInRevision(&c, revision) {
				kept = append(kept, c)
			}
		}
		return kept
	}
	in.configs = read(in.configs)
	in.sidecars = read(in.sidecars)
	return in
}

// probed is what a probe's proxy gets: the scope and the scope's own name
// (the Sidecar's name; istiod's built-in default has one of its own).
type probed struct {
	scopeResult
	name string
}

// scopeOf asks istiod's push context for the scope of a proxy and lists its
// egress listeners as istiod holds them.
func scopeOf(env *core.ConfigGenTest, p probe, domain string, sources map[*networking.Sidecar]string) probed {
	proxy := env.SetupProxy(&model.Proxy{
		ConfigNamespace: p.namespace,
		Labels:          p.labels,
		Metadata:        &model.NodeMetadata{Namespace: p.namespace, Labels: p.labels},
		DNSDomain:       p.namespace + ".svc." + domain,
	})
	scope := proxy.SidecarScope
	r := probed{scopeResult: scopeResult{Listeners: []listener{}}, name: scope.Name}
	if scope.Sidecar != nil {
		source, found := sources[scope.Sidecar]
		if !found {
			command.Fail("istio-scope", fmt.Errorf("the scope of a proxy in %s comes from a Sidecar %q not in the config store", p.namespace, scope.Name))
		}
		r.Sidecar = source
	}
	if otp := scope.OutboundTrafficPolicy; otp != nil {
		r.OutboundMode = otp.GetMode().String()
	}
	for i, ilw := range scope.EgressListeners {
		l := listener{
			Index:    i,
			Port:     ilw.IstioListener.GetPort().GetNumber(),
			Bind:     ilw.IstioListener.GetBind(),
			Services: []service{},
		}
		for _, s := range ilw.Services() {
			ports := []int{}
			for _, p := range s.Ports {
				ports = append(ports, p.Port)
			}
			sort.Ints(ports)
			l.Services = append(l.Services, service{Hostname: string(s.Hostname), Namespace: s.Attributes.Namespace, Ports: ports})
		}
		sort.SliceStable(l.Services, func(a, b int) bool {
			x, y := l.Services[a], l.Services[b]
			if x.Hostname != y.Hostname {
				return x.Hostname < y.Hostname
			}
			return x.Namespace < y.Namespace
		})
		r.Listeners = append(r.Listeners, l)
	}
	return r
}
