// Command render renders a Helm chart as `helm template` does, without Helm: Go's text/template
// with sprig's functions and the ones Helm adds (include, tpl, required, toYaml, lookup...).
//
//	render --chart deploy/helm/turn -f values-a.yaml -f values-b.yaml [-o out.yaml] [--notes NOTES.out]
//
// The output is a YAML stream, one document per object, each headed by "# Source: CHART/templates/FILE",
// ordered by kind as Helm installs them. Errors go to stderr, and the exit code is 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	chartDir    string
	valueFiles  listFlag
	release     string
	namespace   string
	kubeVersion string
	apiVersions listFlag
	output      string
	notes       string
	upgrade     bool
}

// manifest is one rendered object.
type manifest struct {
	source  string
	kind    string
	content string
}

func main() {
	var opts options
	flag.StringVar(&opts.chartDir, "chart", ".", "chart directory (holding Chart.yaml)")
	flag.Var(&opts.valueFiles, "f", "values file merged over values.yaml; repeatable, later files win")
	flag.Var(&opts.valueFiles, "values", "same as -f")
	flag.StringVar(&opts.release, "name", "turn", "release name")
	flag.StringVar(&opts.namespace, "namespace", "default", "release namespace")
	flag.StringVar(&opts.kubeVersion, "kube-version", "v1.31.0", "Kubernetes version for .Capabilities")
	flag.Var(&opts.apiVersions, "api-versions", "extra API version for .Capabilities.APIVersions; repeatable")
	flag.StringVar(&opts.output, "o", "", "write the manifests to this file instead of stdout")
	flag.StringVar(&opts.notes, "notes", "", "write the rendered NOTES.txt to this file")
	flag.BoolVar(&opts.upgrade, "upgrade", false, "render as an upgrade (.Release.IsUpgrade) rather than an install")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected argument %q", flag.Arg(0)))
	}

	manifests, notes, err := render(opts)
	if err != nil {
		fail(err)
	}

	var out strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.source, m.content)
	}

	if opts.output == "" {
		fmt.Print(out.String())
	} else if err := os.WriteFile(opts.output, []byte(out.String()), 0o644); err != nil {
		fail(err)
	}

	if opts.notes != "" {
		if err := os.WriteFile(opts.notes, []byte(notes), 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "Error: "+err.Error())
	os.Exit(1)
}

func render(opts options) ([]manifest, string, error) {
	kube, err := parseKubeVersion(opts.kubeVersion)
	if err != nil {
		return nil, "", err
	}

	chart, err := loadChart(opts.chartDir, kube)
	if err != nil {
		return nil, "", err
	}

	values, err := loadValues(filepath.Join(opts.chartDir, "values.yaml"))
	if err != nil {
		return nil, "", err
	}

	for _, file := range opts.valueFiles {
		override, err := loadValues(file)
		if err != nil {
			return nil, "", err
		}

		coalesce(values, override)
	}

	files, err := loadFiles(opts.chartDir)
	if err != nil {
		return nil, "", err
	}

	top := map[string]interface{}{
		"Values": values,
		"Chart":  chart,
		"Release": map[string]interface{}{
			"Name":      opts.release,
			"Namespace": opts.namespace,
			"Service":   "Helm",
			"IsInstall": !opts.upgrade,
			"IsUpgrade": opts.upgrade,
			"Revision":  1,
		},
		"Capabilities": Capabilities{
			KubeVersion: kube,
			APIVersions: append(VersionSet(defaultAPIVersions), opts.apiVersions...),
			HelmVersion: map[string]string{"Version": "v3.16.0"},
		},
		"Files": files,
	}

	root, names, err := parseTemplates(chart.Name, filepath.Join(opts.chartDir, "templates"))
	if err != nil {
		return nil, "", err
	}

	var manifests []manifest
	notes := ""
	basePath := chart.Name + "/templates"
	for _, name := range names {
		if strings.HasPrefix(path.Base(name), "_") {
			continue
		}

		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}

		data["Template"] = map[string]interface{}{"Name": name, "BasePath": basePath}
		var out strings.Builder
		if err := root.ExecuteTemplate(&out, name, data); err != nil {
			return nil, "", cleanError(err)
		}

		text := strings.ReplaceAll(out.String(), "<no value>", "")
		if path.Base(name) == "NOTES.txt" {
			notes = text
			continue
		}

		split, err := splitManifests(name, text)
		if err != nil {
			return nil, "", err
		}

		manifests = append(manifests, split...)
	}

	sort.SliceStable(manifests, func(i, j int) bool { return kindRank(manifests[i].kind) < kindRank(manifests[j].kind) })
	return manifests, notes, nil
}

// parseTemplates parses every file under templates/ into one set named CHART/templates/PATH,
// so that any file can include what another defines.
func parseTemplates(chartName, dir string) (*template.Template, []string, error) {
	var root *template.Template
	root = template.New(chartName).Funcs(funcMap(&root)).Option("missingkey=zero")
	var names []string
	err := filepath.Walk(dir, func(file string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}

		rel, _ := filepath.Rel(dir, file)
		name := chartName + "/templates/" + filepath.ToSlash(rel)
		text, err := os.ReadFile(file)
		if err != nil {
			return err
		}

		if _, err := root.New(name).Parse(string(text)); err != nil {
			return fmt.Errorf("parse error in %q: %w", name, err)
		}

		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}

	if len(names) == 0 {
		return nil, nil, fmt.Errorf("no templates in %s", dir)
	}

	sort.Strings(names)
	return root, names, nil
}

var documentSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

// splitManifests cuts a rendered file into documents as Helm does, dropping the empty ones (and
// those holding only comments), and checks that each is a YAML object with apiVersion, kind and a name.
func splitManifests(source, text string) ([]manifest, error) {
	var out []manifest
	for _, document := range documentSeparator.Split(strings.TrimSpace(text), -1) {
		document = strings.TrimSpace(document)
		if onlyComments(document) {
			continue
		}

		var head struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(document), &head); err != nil {
			return nil, fmt.Errorf("YAML parse error on %s: %w\n%s", source, err, numbered(document))
		}

		if head.APIVersion == "" || head.Kind == "" || head.Metadata.Name == "" {
			return nil, fmt.Errorf("%s: a document without apiVersion, kind or metadata.name\n%s", source, numbered(document))
		}

		out = append(out, manifest{source: source, kind: head.Kind, content: document})
	}

	return out, nil
}

func onlyComments(document string) bool {
	for _, line := range strings.Split(document, "\n") {
		if trimmed := strings.TrimSpace(line); trimmed != "" && !strings.HasPrefix(trimmed, "#") {
			return false
		}
	}

	return true
}

func numbered(document string) string {
	var out strings.Builder
	for i, line := range strings.Split(document, "\n") {
		fmt.Fprintf(&out, "%4d | %s\n", i+1, line)
	}

	return out.String()
}

// installOrder is Helm's order of kinds on install; other kinds come after, in file order.
var installOrder = strings.Fields(`PriorityClass Namespace NetworkPolicy ResourceQuota LimitRange
	PodSecurityPolicy PodDisruptionBudget ServiceAccount Secret SecretList ConfigMap StorageClass
	PersistentVolume PersistentVolumeClaim CustomResourceDefinition ClusterRole ClusterRoleList
	ClusterRoleBinding ClusterRoleBindingList Role RoleList RoleBinding RoleBindingList Service
	DaemonSet Pod ReplicationController ReplicaSet Deployment HorizontalPodAutoscaler StatefulSet
	Job CronJob IngressClass Ingress APIService`)

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}

	return len(installOrder)
}
