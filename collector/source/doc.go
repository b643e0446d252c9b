// Package source holds what every source of signal values shares with the
// scheduler that asks it: the request, the answer, and the errors counted by
// reason.
package source
