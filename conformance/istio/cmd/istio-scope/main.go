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
// Sidecar's own. Kinds other than v1 Service/Namespace and Istio config are
// ignored.
//
// Usage: istio-scope [--namespace NS] [--root-namespace NS] [--domain D] FILE... (- for stdin)
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
	ShadowedBy string     `json:"shadowedBy,omitempty"`
	Listeners  []listener `json:"listeners"`
}

type output struct {
	Sidecars []sidecarResult `json:"sidecars"`
}

// A fixed epoch keeps the output independent of when the command runs.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	fs := flag.NewFlagSet("istio-scope", flag.ContinueOnError)
	namespace := fs.String("namespace", "default", "namespace of objects that name none")
	rootNamespace := fs.String("root-namespace", "istio-system", "the mesh config's rootNamespace")
	domain := fs.String("domain", "cluster.local", "istiod's --domain (Kubernetes Services are name.ns.svc.<domain>)")
	objects := command.Start(fs, "usage: istio-scope [--namespace NS] [--root-namespace NS] [--domain D] FILE... (- for stdin)", namespace)

	kubeObjects, configs, sidecars := sortInput(objects, *domain)
	m := mesh.DefaultMeshConfig()
	m.RootNamespace = *rootNamespace
	results := run(m, *domain, kubeObjects, configs, sidecars)

	// A shadowed Sidecar's own scope: istiod converts every Sidecar the same
	// way whatever the others, so it is what istiod gives its proxies once
	// the older Sidecar is gone. Each extra pass keeps one shadowed Sidecar
	// per namespace and no other Sidecar.
	var others []config.Config
	for _, c := range configs {
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
		for i := range sidecars {
			if pending[i] && !taken[sidecars[i].Namespace] {
				taken[sidecars[i].Namespace] = true
				pass = append(pass, sidecars[i])
				index = append(index, i)
				delete(pending, i)
			}
		}
		passSidecars := pass[len(others):]
		for j, r := range run(m, *domain, kubeObjects, pass, passSidecars) {
			r.ShadowedBy = results[index[j]].ShadowedBy
			results[index[j]] = r
		}
	}
	command.Print("istio-scope", output{Sidecars: results})
}

// run builds the registries and one push context from the input, as
// pilot/test/xds does, and asks for the scope of each Sidecar's proxy.
func run(m *meshconfig.MeshConfig, domain string, kubeObjects []runtime.Object, configs, sidecars []config.Config) []sidecarResult {
	results := []sidecarResult{}
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
		for _, sc := range sidecars {
			results = append(results, scopeOf(env, sc, domain))
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

// sortInput converts every object as the API server and istiod would see it;
// anything unreadable is an input error (exit 2).
func sortInput(objects []manifest.Object, domain string) (kubeObjects []runtime.Object, configs, sidecars []config.Config) {
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
		if !isKube && !strings.HasSuffix(group, ".istio.io") {
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
		if m, ok := obj.Fields["metadata"].(map[string]any); ok && m["creationTimestamp"] == nil {
			m["creationTimestamp"] = epoch.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
		}
		if isKube {
			o, _, err := kubelib.IstioCodec.UniversalDeserializer().Decode(obj.JSON(), nil, nil)
			if err != nil {
				fail("%v", err)
			}
			kubeObjects = append(kubeObjects, o)
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
		configs = append(configs, *cfg)
		if isSidecar(*cfg) {
			sidecars = append(sidecars, *cfg)
		}
	}
	return kubeObjects, configs, sidecars
}

// scopeOf asks istiod's push context for the scope of a proxy this Sidecar
// selects, and lists its egress listeners as istiod holds them.
func scopeOf(env *core.ConfigGenTest, sc config.Config, domain string) sidecarResult {
	spec := sc.Spec.(*networking.Sidecar)
	labels := spec.GetWorkloadSelector().GetLabels()
	proxy := env.SetupProxy(&model.Proxy{
		ConfigNamespace: sc.Namespace,
		Labels:          labels,
		Metadata:        &model.NodeMetadata{Namespace: sc.Namespace, Labels: labels},
		DNSDomain:       sc.Namespace + ".svc." + domain,
	})
	scope := proxy.SidecarScope
	r := sidecarResult{Namespace: sc.Namespace, Name: sc.Name, Listeners: []listener{}}
	if scope.Name != sc.Name {
		r.ShadowedBy = scope.Name
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
