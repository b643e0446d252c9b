package triggers

// WithOwnThresholds returns a copy of r whose thresholds take the values
// given and, for every threshold not given, the rules file's own value
// again. A what-if uses it to set some of the organisation's thresholds and
// to take others back to the rules' value; WithThresholds, which keeps the
// values already in force, is the config's.
func (r *Rules) WithOwnThresholds(values map[string]float64) *Rules {
	return r.withValues(func(t *Threshold) (float64, bool) {
		if v, ok := values[t.Name]; ok {
			return v, true
		}
		return t.Default, false
	})
}
