package report

import "github.com/capability-exporter/capability_exporter/triggers"

// A count may leave out what it saw on purpose: microservices does not
// count the datastores and brokers a Service selects. The report names them,
// each with why, so that whoever reads the count can check it.

// leftOutOf is what a known value left out, as JSON gives it; nil when it
// left nothing out or is unknown.
func leftOutOf(v triggers.Value) *LeftOut {
	if !v.Known || v.LeftOut == nil || v.LeftOut.Total == 0 {
		return nil
	}
	out := &LeftOut{Total: v.LeftOut.Total, Objects: make([]LeftOutObject, 0, len(v.LeftOut.Objects))}
	for _, o := range v.LeftOut.Objects {
		out.Objects = append(out.Objects, LeftOutObject{Name: o.Name, Reason: o.Reason})
	}
	return out
}

// More is how many objects were left out beyond those named.
func (l *LeftOut) More() int { return l.Total - len(l.Objects) }

// leftOut writes, to the Markdown record, what each count left out.
func (m *mdWriter) leftOut(r *Report) {
	var sigs []Signal
	for _, s := range r.Signals {
		if s.LeftOut != nil {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return
	}
	m.line("## Left out of the counts\n")
	m.line("What a measure saw and did not count, on purpose, with why: a datastore or broker a Service selects is " +
		"none of the app's own services.\n")
	for _, s := range sigs {
		m.f("- %s is **%s**; %d left out:\n", code(s.Name), md(s.Text), s.LeftOut.Total)
		for _, o := range s.LeftOut.Objects {
			m.line("  - " + code(o.Name) + ": " + md(o.Reason))
		}
		if more := s.LeftOut.More(); more > 0 {
			m.f("  - and %d more\n", more)
		}
	}
	m.line("")
}
