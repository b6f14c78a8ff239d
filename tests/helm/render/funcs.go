package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yamlv2 "gopkg.in/yaml.v2"
)

// Helm marks the messages of required and fail so that an execution error can be reduced to them.
const (
	markOpen  = "HELM["
	markClose = "]HELM"
)

var markedMessage = regexp.MustCompile(`HELM\[(?s:(.*))\]HELM`)

// includeDepth bounds include recursion as Helm does.
const includeDepth = 1000

// funcMap is sprig's text functions with Helm's additions and removals. root is the template set
// include and tpl look names up in; it is filled in once the templates are parsed.
func funcMap(root **template.Template) template.FuncMap {
	funcs := sprig.TxtFuncMap()

	// Helm removes these so that a chart's output does not depend on the machine rendering it.
	delete(funcs, "env")
	delete(funcs, "expandenv")

	depth := map[string]int{}

	extra := template.FuncMap{
		"toYaml":        toYAML,
		"mustToYaml":    mustToYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"mustToJson":    mustToJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"required": func(message string, value interface{}) (interface{}, error) {
			if value == nil {
				return value, errors.New(markOpen + message + markClose)
			}

			if text, ok := value.(string); ok && text == "" {
				return value, errors.New(markOpen + message + markClose)
			}

			return value, nil
		},
		"fail": func(message string) (string, error) {
			return "", errors.New(markOpen + message + markClose)
		},
		// Nothing is live while rendering offline: lookup finds nothing, as under `helm template`.
		"lookup": func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		"include": func(name string, data interface{}) (string, error) {
			if depth[name] > includeDepth {
				return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
			}

			depth[name]++
			defer func() { depth[name]-- }()
			var out strings.Builder
			if err := (*root).ExecuteTemplate(&out, name, data); err != nil {
				return "", err
			}

			return out.String(), nil
		},
		"tpl": func(text string, data interface{}) (string, error) {
			clone, err := (*root).Clone()
			if err != nil {
				return "", err
			}

			name := "tpl"
			if values, ok := data.(map[string]interface{}); ok {
				if tmpl, ok := values["Template"].(map[string]interface{}); ok {
					if current, ok := tmpl["Name"].(string); ok {
						name = current
					}
				}
			}

			parsed, err := clone.New(name).Parse(text)
			if err != nil {
				return "", fmt.Errorf("cannot parse template %q: %w", text, err)
			}

			var out strings.Builder
			if err := parsed.Execute(&out, data); err != nil {
				return "", fmt.Errorf("error during tpl function execution for %q: %w", text, err)
			}

			return strings.ReplaceAll(out.String(), "<no value>", ""), nil
		},
	}

	for name, fn := range extra {
		funcs[name] = fn
	}

	return funcs
}

// toYAML writes YAML as Helm does (JSON first, then yaml.v2 with sorted keys), without the final newline.
func toYAML(value interface{}) string {
	text, err := mustToYAML(value)
	if err != nil {
		return ""
	}

	return text
}

func mustToYAML(value interface{}) (string, error) {
	asJSON, err := json.Marshal(value)
	if err != nil {
		return "", err
	}

	var tree interface{}
	if err := yamlv2.Unmarshal(asJSON, &tree); err != nil {
		return "", err
	}

	out, err := yamlv2.Marshal(tree)
	if err != nil {
		return "", err
	}

	return strings.TrimSuffix(string(out), "\n"), nil
}

// fromYAML returns the map, or a map holding the error under "Error", as Helm does.
func fromYAML(text string) map[string]interface{} {
	tree, err := parseYAML(text)
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}

	values, ok := tree.(map[string]interface{})
	if !ok {
		return map[string]interface{}{}
	}

	return values
}

func fromYAMLArray(text string) []interface{} {
	tree, err := parseYAML(text)
	if err != nil {
		return []interface{}{err.Error()}
	}

	values, _ := tree.([]interface{})
	return values
}

func toJSON(value interface{}) string {
	text, err := mustToJSON(value)
	if err != nil {
		return ""
	}

	return text
}

func mustToJSON(value interface{}) (string, error) {
	out, err := json.Marshal(value)
	return string(out), err
}

func fromJSON(text string) map[string]interface{} {
	values := map[string]interface{}{}
	if err := json.Unmarshal([]byte(text), &values); err != nil {
		values["Error"] = err.Error()
	}

	return values
}

func fromJSONArray(text string) []interface{} {
	var values []interface{}
	if err := json.Unmarshal([]byte(text), &values); err != nil {
		return []interface{}{err.Error()}
	}

	return values
}

// cleanError turns "template: x.yaml:3:4: executing ... error calling required: HELM[msg]HELM"
// into Helm's "execution error at (x.yaml:3:4): msg".
func cleanError(err error) error {
	var exec template.ExecError
	if !errors.As(err, &exec) {
		return err
	}

	parts := strings.SplitN(err.Error(), ": ", 3)
	if len(parts) != 3 {
		return err
	}

	if found := markedMessage.FindStringSubmatch(parts[2]); found != nil {
		return fmt.Errorf("execution error at (%s): %s", parts[1], found[1])
	}

	return err
}
