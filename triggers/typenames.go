package triggers

import (
	"reflect"
	"strings"
)

// rawTypeNames words the raw types in yaml's messages as the rules file
// names them.
var rawTypeNames = map[string]string{
	"triggers.rawRules": "rules file", "triggers.rawSignal": "signal", "triggers.rawTool": "tool",
	"triggers.rawConditions": "add_conditions entry",
	"triggers.rawFoundation": "foundation", "triggers.rawCapability": "capability",
	"triggers.PrometheusSignal": "prometheus signal", "triggers.LokiSignal": "loki signal",
	"triggers.AlertHistory": "alert_history", "triggers.SignalSource": "first_known alternative", "triggers.Derive": "derive",
	"triggers.rawPresume": "presumption", "triggers.rawThreshold": "threshold",
	"triggers.rawDatastores": "datastores", "triggers.rawNotEncoded": "not_encoded entry",
}

// rawFields lists the fields of each raw type, by its word in rawTypeNames,
// for "unknown field" messages.
var rawFields = func() map[string]string {
	var fields func(t reflect.Type) []string
	fields = func(t reflect.Type) []string {
		var names []string
		for f := range t.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if opts == "inline" {
				names = append(names, fields(f.Type)...)
			} else if name != "" && name != "-" {
				names = append(names, name)
			}
		}
		return names
	}
	out := map[string]string{}
	for _, v := range []any{rawRules{}, rawSignal{}, rawTool{}, rawFoundation{}, rawCapability{},
		PrometheusSignal{}, LokiSignal{}, AlertHistory{}, SignalSource{}, Derive{}, rawConditions{}, rawThreshold{}, rawDatastores{}, rawNotEncoded{}} {
		t := reflect.TypeOf(v)
		names := fields(t)
		out[rawTypeNames[t.String()]] = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return out
}()
