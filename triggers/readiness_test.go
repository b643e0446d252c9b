package triggers

import (
	"testing"
	"time"
)

// "Team has no time for service instrumentation" says the team is not
// ready, not that tracing is not needed: with debugging at 2h an incident
// the need stands and the gate holds tracing back (later), as the mesh's
// "no capacity" does.
func TestNoInstrumentationTimeHoldsTracingBack(t *testing.T) {
	r, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	snap := webshopWith(Snapshot{
		"instrumentation_capacity": known(0),
		"debugging_per_incident":   known((2 * time.Hour).Seconds()),
		"logs_metrics_sufficient":  known(0),
	})
	d, _ := Decide(r, "distributed_tracing", snap)
	if d.State != StateLater || d.DecidedBy != KindGate {
		t.Errorf("tracing = %s by %s, want later by the gate", d.State, d.DecidedBy)
	}
	if d.Need != NeedYes && d.Need != NeedProbably {
		t.Errorf("tracing need = %s, want the need to stand (yes or probably)", d.Need)
	}
}
