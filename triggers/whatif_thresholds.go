package triggers

import "sync"

// WithOwnThresholds returns a copy of r whose thresholds take the values
// given and, for every threshold not given, the rules file's own value
// again. A what-if uses it to set some of the organisation's thresholds and
// to take others back to the rules' value; WithThresholds, which keeps the
// values already in force, is the config's.
func (r *Rules) WithOwnThresholds(values map[string]float64) *Rules {
	cp := *r
	cp.words = new(sync.Map)
	cp.thresholds = make(map[string]*Threshold, len(r.Thresholds))
	cp.Thresholds = make([]*Threshold, len(r.Thresholds))
	for i, t := range r.Thresholds {
		nt := *t
		nt.Value, nt.Own = nt.Default, false
		if v, ok := values[t.Name]; ok {
			nt.Value, nt.Own = v, true
		}
		cp.Thresholds[i] = &nt
		cp.thresholds[t.Name] = &nt
	}
	return &cp
}
