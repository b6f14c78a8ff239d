package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver"
	"gopkg.in/yaml.v3"
)

// Chart is Chart.yaml, with the field names Helm gives .Chart in templates.
type Chart struct {
	APIVersion   string            `yaml:"apiVersion"`
	Name         string            `yaml:"name"`
	Version      string            `yaml:"version"`
	KubeVersion  string            `yaml:"kubeVersion"`
	Description  string            `yaml:"description"`
	Type         string            `yaml:"type"`
	Keywords     []string          `yaml:"keywords"`
	Home         string            `yaml:"home"`
	Sources      []string          `yaml:"sources"`
	Maintainers  []Maintainer      `yaml:"maintainers"`
	Icon         string            `yaml:"icon"`
	AppVersion   string            `yaml:"appVersion"`
	Deprecated   bool              `yaml:"deprecated"`
	Annotations  map[string]string `yaml:"annotations"`
	Dependencies []interface{}     `yaml:"dependencies"`
}

// Maintainer is one entry of Chart.yaml's maintainers.
type Maintainer struct {
	Name  string `yaml:"name"`
	Email string `yaml:"email"`
	URL   string `yaml:"url"`
}

// loadChart reads Chart.yaml strictly and checks what Helm checks before rendering.
func loadChart(dir string, kube KubeVersion) (*Chart, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}

	decoder := yaml.NewDecoder(bytes.NewReader(raw))
	decoder.KnownFields(true)
	var chart Chart
	if err := decoder.Decode(&chart); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %w", err)
	}

	switch {
	case chart.APIVersion != "v2":
		return nil, fmt.Errorf("Chart.yaml: apiVersion must be v2, not %q", chart.APIVersion)
	case chart.Name == "":
		return nil, errors.New("Chart.yaml: name is required")
	case chart.Version == "":
		return nil, errors.New("Chart.yaml: version is required")
	case len(chart.Dependencies) > 0:
		return nil, errors.New("Chart.yaml: dependencies are not supported by this renderer")
	}

	if _, err := semver.StrictNewVersion(chart.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %w", chart.Version, err)
	}

	if chart.KubeVersion != "" {
		constraint, err := semver.NewConstraint(chart.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("Chart.yaml: kubeVersion %q: %w", chart.KubeVersion, err)
		}

		if !constraint.Check(semver.MustParse(kube.Version)) {
			return nil, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", chart.KubeVersion, kube.Version)
		}
	}

	return &chart, nil
}

// loadValues reads a YAML file into the JSON-shaped tree Helm works on: maps with string keys,
// float64 numbers. An empty file is an empty map.
func loadValues(path string) (map[string]interface{}, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}

	tree, err := parseYAML(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	if tree == nil {
		return map[string]interface{}{}, nil
	}

	values, ok := tree.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: the top level must be a map, not %T", path, tree)
	}

	return values, nil
}

// parseYAML decodes YAML and passes it through JSON, as sigs.k8s.io/yaml does for Helm, so
// numbers are float64 and every map is map[string]interface{} (what sprig's dict functions take).
func parseYAML(text string) (interface{}, error) {
	var tree interface{}
	if err := yaml.Unmarshal([]byte(text), &tree); err != nil {
		return nil, err
	}

	if tree == nil {
		return nil, nil
	}

	asJSON, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("not representable as JSON (non-string map key?): %w", err)
	}

	var out interface{}
	if err := json.Unmarshal(asJSON, &out); err != nil {
		return nil, err
	}

	return out, nil
}

// coalesce merges src over dst the way Helm merges -f files over values.yaml: maps merge key by
// key, anything else replaces, and a null deletes the key.
func coalesce(dst, src map[string]interface{}) {
	for key, value := range src {
		if value == nil {
			delete(dst, key)
			continue
		}

		if srcMap, ok := value.(map[string]interface{}); ok {
			if dstMap, ok := dst[key].(map[string]interface{}); ok {
				coalesce(dstMap, srcMap)
				continue
			}
		}

		dst[key] = value
	}
}

// Files is .Files: the chart's files outside templates/, readable by name.
type Files map[string][]byte

// Get returns a file's content, or "" when there is no such file.
func (f Files) Get(name string) string { return string(f[name]) }

// GetBytes returns a file's content as bytes.
func (f Files) GetBytes(name string) []byte { return f[name] }

func loadFiles(dir string) (Files, error) {
	files := Files{}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}

		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			if rel == "templates" || rel == "charts" {
				return filepath.SkipDir
			}

			return nil
		}

		switch rel {
		case "Chart.yaml", "values.yaml", "values.schema.json", ".helmignore":
			return nil
		}

		content, err := os.ReadFile(path)
		if err == nil {
			files[rel] = content
		}

		return err
	})
	return files, err
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k KubeVersion) String() string { return k.Version }

func parseKubeVersion(text string) (KubeVersion, error) {
	version, err := semver.NewVersion(text)
	if err != nil {
		return KubeVersion{}, fmt.Errorf("--kube-version %q: %w", text, err)
	}

	v := "v" + version.String()
	return KubeVersion{Version: v, Major: fmt.Sprint(version.Major()), Minor: fmt.Sprint(version.Minor()), GitVersion: v}, nil
}

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has tells whether a group/version (or group/version/Kind) is served.
func (v VersionSet) Has(apiVersion string) bool {
	for _, served := range v {
		if served == apiVersion {
			return true
		}
	}

	return false
}

// Capabilities is .Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion map[string]string
}

// defaultAPIVersions is what a cluster without custom resources serves, as in `helm template`.
var defaultAPIVersions = strings.Fields(`v1 apps/v1 batch/v1 policy/v1 autoscaling/v1 autoscaling/v2
	networking.k8s.io/v1 rbac.authorization.k8s.io/v1 apiextensions.k8s.io/v1 admissionregistration.k8s.io/v1
	coordination.k8s.io/v1 discovery.k8s.io/v1 storage.k8s.io/v1 scheduling.k8s.io/v1 certificates.k8s.io/v1
	events.k8s.io/v1 node.k8s.io/v1 authentication.k8s.io/v1 authorization.k8s.io/v1`)
