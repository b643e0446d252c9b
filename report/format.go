package report

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/capability-exporter/capability_exporter/triggers"
)

// Human renders a value of type t for people: durations as 1h30m, ratios as
// percentages, bools as yes/no, numbers with at most two decimals. Literals
// from the rules come out as they were written (1h, 20%).
func Human(t triggers.ValueType, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	switch t {
	case triggers.TypeBool:
		if v != 0 {
			return "yes"
		}
		return "no"
	case triggers.TypeDuration:
		return humanDuration(v)
	case triggers.TypeRatio:
		return trimFloat(v*100, 1) + "%"
	}
	return trimFloat(v, 2)
}

func humanDuration(seconds float64) string {
	sign := ""
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	switch {
	case seconds == 0:
		return "0s"
	case seconds < 1:
		return sign + trimFloat(seconds*1000, 0) + "ms"
	case seconds >= 1e12: // beyond time.Duration; nobody waits that long
		return sign + trimFloat(seconds, 0) + "s"
	case seconds == math.Trunc(seconds):
		return sign + triggers.FormatValue(triggers.TypeDuration, seconds)
	}
	return sign + model.Duration(time.Duration(math.Round(seconds))*time.Second).String()
}

func trimFloat(v float64, decimals int) string {
	p := math.Pow(10, float64(decimals))
	r := math.Round(v*p) / p
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// stateWords is a decision for people.
func stateWords(s string) string { return strings.ReplaceAll(s, "_", " ") }

// decidedByWords says which step of the ladder decided.
func decidedByWords(step string) string {
	switch step {
	case triggers.StepAdopted:
		return "adoption evidence (a tool detected, or adopted_if)"
	case triggers.KindStructural:
		return "structural NOT case (nothing to act on)"
	case triggers.KindSkip:
		return "NOT bullet"
	case triggers.KindGate:
		return "readiness gate"
	case triggers.KindMust:
		return "declared obligation"
	case triggers.KindLater:
		return "LATER bullet"
	case triggers.KindNow:
		return "NOW bullet"
	case triggers.KindTrigger:
		return "trigger"
	}
	return step
}

// ageText says how long ago a reused value was measured ("measured 25m
// ago"), or "" for a value of this evaluation.
func (m Measured) ageText() string {
	if m.AgeSeconds == nil {
		return ""
	}
	return "measured " + ago(time.Duration(*m.AgeSeconds*float64(time.Second))) + " ago"
}

// withAge appends the age of a reused value to text, after a comma.
func withAge(text string, m Measured) string {
	if a := m.ageText(); a != "" {
		if text == "" {
			return a
		}
		return text + ", " + a
	}
	return text
}

// ago renders an age like 3m12s, rounded so it stays readable.
func ago(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return model.Duration(d.Round(time.Second)).String()
	}
	return model.Duration(d.Round(time.Minute)).String()
}
