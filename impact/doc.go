// Package impact judges whether an adopted capability has paid off.
//
// It answers the framework's last two decision rules for each adopted
// capability: "Measure impact: every capability must solve a measurable
// problem" and "Exit strategy: can we go back if it does not work?". It
// reads each of the capability's impact signals from the store over two
// equal windows, one before adoption and one since, and says whether the
// signal moved the way the capability's trigger wants. Where none did after
// a judging period, it raises the exit question with each adopted tool's
// exit path.
//
// The package computes; the store is behind a small interface (Store),
// which the Prometheus source implements.
package impact
