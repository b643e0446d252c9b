package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Dashboard is the part of Grafana's dashboard model the checks read.
type Dashboard struct {
	File          string   `json:"-"` // the file's base name
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	SchemaVersion int      `json:"schemaVersion"`
	Tags          []string `json:"tags"`
	Panels        []Panel  `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a panel, or a row whose collapsed panels it holds.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *Datasource `json:"datasource"`
	Repeat      string      `json:"repeat"`
	Targets     []Target    `json:"targets"`
	Panels      []Panel     `json:"panels"` // a collapsed row's panels
	// TimeFrom overrides the dashboard's time range for this panel ("7d").
	TimeFrom        string           `json:"timeFrom"`
	Transformations []Transformation `json:"transformations"`
	FieldConfig     struct {
		Defaults struct {
			Unit     string    `json:"unit"`
			Mappings []Mapping `json:"mappings"`
			NoValue  string    `json:"noValue"` // shown when the query finds no series
		} `json:"defaults"`
		Overrides []struct {
			Matcher struct {
				ID      string `json:"id"`
				Options any    `json:"options"`
			} `json:"matcher"`
			Properties []struct {
				ID    string          `json:"id"`
				Value json.RawMessage `json:"value"`
			} `json:"properties"`
		} `json:"overrides"`
	} `json:"fieldConfig"`
}

// Transformation reshapes a panel's query results, such as
// groupingToMatrix turning (row, column, value) series into a grid.
type Transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// Datasource is a panel's or query's datasource; the dashboards name the
// ${datasource} variable so users pick their Prometheus.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Instant    bool        `json:"instant"`
	Range      bool        `json:"range"`
	Format     string      `json:"format"`
	Datasource *Datasource `json:"datasource"`
}

// Mapping maps values to text, such as NaN to unknown.
type Mapping struct {
	Type    string         `json:"type"`
	Options map[string]any `json:"options"`
}

// Variable is a template variable; Multi and IncludeAll decide how Grafana
// escapes its values into a query.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *Datasource     `json:"datasource"`
	IncludeAll bool            `json:"includeAll"`
	Multi      bool            `json:"multi"`
	AllValue   string          `json:"allValue"`
}

// QueryText returns a query variable's query, which Grafana 10 stores as an
// object and older versions as a string.
func (v Variable) QueryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var q struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &q)
	return q.Query
}

// AllPanels flattens collapsed rows: their panels follow the row.
func AllPanels(ps []Panel) []Panel {
	var out []Panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, AllPanels(p.Panels)...)
	}
	return out
}

// Load reads every dashboard (*.json) in dir, in file name order.
func Load(dir string) ([]Dashboard, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Dashboard
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var d Dashboard
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d.File = filepath.Base(f)
		out = append(out, d)
	}
	return out, nil
}
