// Command check builds each kustomization it is given, the way `kustomize
// build` does (the kustomize API, in process), and decodes every object it
// renders strictly into its Kubernetes API type: an unknown or misspelt
// field, a duplicate field, a wrong type or an object of a kind it does not
// know fails the check. No cluster and no network: the schemas are the Go
// types of k8s.io/api (the Kubernetes version in go.mod), the Prometheus
// Operator's and Istio's.
//
//	go run . DIR...           prints one line per object, exits 1 on any error
//	go run . -render DIR      prints what the kustomization renders, as YAML
//	go run . -manifests FILE  checks rendered YAML (helm template's), "-": stdin
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"google.golang.org/protobuf/encoding/protojson"
	istionetworking "istio.io/api/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: check KUSTOMIZATION_DIR...")
		os.Exit(2)
	}
	if os.Args[1] == "-render" && len(os.Args) == 3 {
		if err := render(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		return
	}
	if os.Args[1] == "-manifests" && len(os.Args) == 3 {
		if err := checkManifests(os.Args[2]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[2], err)
			os.Exit(1)
		}
		return
	}
	failed := false
	for _, dir := range os.Args[1:] {
		if err := checkDir(dir); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func render(dir string) error {
	kustomizer := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := kustomizer.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return err
	}
	rendered, err := resources.AsYaml()
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(rendered)
	return err
}

func checkManifests(path string) error {
	input := os.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		input = file
	}
	return checkDocuments(path, input)
}

// checkDocuments decodes every object of a multi-document YAML stream
// strictly, printing "<label>: Kind/name ok" for each, and fails naming each
// object that does not decode.
func checkDocuments(label string, input io.Reader) error {
	decoder := serializer.NewCodecFactory(newScheme(), serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(input))
	var problems []string
	for {
		document, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(document, &head); err != nil {
			return err
		}
		if head.Kind == "" {
			continue // an empty document between separators
		}
		name := head.Kind + "/" + head.Metadata.Name
		if err := checkObject(decoder, document); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		fmt.Printf("%s: %s ok\n", label, name)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d objects fail:\n  %s", len(problems), strings.Join(problems, "\n  "))
	}
	return nil
}

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return scheme
}

// checkDir renders a kustomization as `kustomize build` does and checks
// what it renders.
func checkDir(dir string) error {
	kustomizer := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := kustomizer.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return fmt.Errorf("kustomize build: %w", err)
	}
	rendered, err := resources.AsYaml()
	if err != nil {
		return err
	}
	return checkDocuments(dir, bytes.NewReader(rendered))
}

func checkObject(decoder runtime.Decoder, rendered []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(rendered, &head); err != nil {
		return err
	}
	gvk := schema.FromAPIVersionAndKind(head.APIVersion, head.Kind)
	switch {
	case gvk.Group == "networking.istio.io":
		return checkIstio(gvk, rendered)
	}
	object, _, err := decoder.Decode(rendered, nil, nil)
	if err != nil {
		return err
	}
	if config, ok := object.(*corev1.ConfigMap); ok {
		return checkEmbeddedConfig(config)
	}
	return nil
}

// Istio's types are protobuf messages: the object's metadata decodes strictly
// as Kubernetes metadata and its spec through protojson, which refuses
// unknown fields.
func checkIstio(gvk schema.GroupVersionKind, rendered []byte) error {
	if gvk.Version != "v1" || gvk.Kind != "DestinationRule" {
		return fmt.Errorf("no schema for %s", gvk)
	}
	var object struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
		Spec       json.RawMessage   `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(rendered, &object); err != nil {
		return err
	}
	var spec istionetworking.DestinationRule
	return protojson.Unmarshal(object.Spec, &spec)
}

// Configuration carried inside ConfigMaps is checked against its own schema
// where this repository defines it.
func checkEmbeddedConfig(config *corev1.ConfigMap) error {
	if text, ok := config.Data["config.yaml"]; ok && strings.HasPrefix(config.Name, "prometheus-adapter") {
		var adapter adapterConfig
		if err := yaml.UnmarshalStrict([]byte(text), &adapter); err != nil {
			return fmt.Errorf("config.yaml: %w", err)
		}
		if len(adapter.Rules) == 0 {
			return fmt.Errorf("config.yaml: no rules")
		}
	}
	return nil
}

// The Prometheus adapter's discovery rule (sigs.k8s.io/prometheus-adapter
// pkg/config), the fields this repository uses and their siblings.
type adapterConfig struct {
	Rules         []adapterRule `json:"rules"`
	ExternalRules []adapterRule `json:"externalRules,omitempty"`
}

type adapterRule struct {
	SeriesQuery   string `json:"seriesQuery"`
	SeriesFilters []struct {
		Is    string `json:"is,omitempty"`
		IsNot string `json:"isNot,omitempty"`
	} `json:"seriesFilters,omitempty"`
	Resources struct {
		Template  string `json:"template,omitempty"`
		Overrides map[string]struct {
			Group    string `json:"group,omitempty"`
			Resource string `json:"resource"`
		} `json:"overrides,omitempty"`
		Namespaced *bool `json:"namespaced,omitempty"`
	} `json:"resources"`
	Name struct {
		Matches string `json:"matches"`
		As      string `json:"as"`
	} `json:"name"`
	MetricsQuery string `json:"metricsQuery"`
}
