// Package history carries decisions from one evaluation to the next.
//
// It keeps them stable: a new decision is published only after it has held
// for a number of evaluations (Prometheus' `for:` applied to decisions);
// until then the last published one stays in force, marked stale when what
// is pending is an unknown (a source outage). And it remembers why they
// changed: every published change is recorded with the conditions whose
// truth flipped and the signals that moved.
//
// A History is immutable: Next returns a new one, so that an evaluation cut
// short by shutdown leaves the published History as it was.
package history
