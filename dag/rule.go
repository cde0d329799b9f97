package dag

import (
	"fmt"
	"strings"
)

// TriggerRule says when a dependent runs, given the outcomes of its
// predecessors in the same graph run. It is ignored on roots. The zero
// value is AllSucceeded.
type TriggerRule int

const (
	// AllSucceeded runs the task when every predecessor succeeded. It is
	// skipped as soon as one predecessor fails or is skipped. The default.
	AllSucceeded TriggerRule = iota
	// AllDone runs the task when every predecessor has finished, whatever
	// the outcome. It is never skipped by its rule.
	AllDone
	// OneFailed runs the task as soon as one predecessor fails, without
	// waiting for the others: a handler for failures. It is skipped when
	// every predecessor has finished and none failed.
	OneFailed
	// NoneFailed runs the task when every predecessor has finished, none
	// failed and at least one succeeded (the others were skipped). It is
	// skipped as soon as one predecessor fails, or when all were skipped.
	NoneFailed
)

var ruleNames = [...]string{
	AllSucceeded: "all_succeeded",
	AllDone:      "all_done",
	OneFailed:    "one_failed",
	NoneFailed:   "none_failed",
}

// valid reports whether r is one of the constants.
func (r TriggerRule) valid() bool { return r >= 0 && int(r) < len(ruleNames) }

// String returns "all_succeeded", "all_done", "one_failed" or
// "none_failed", or "TriggerRule(n)" for an unknown value.
func (r TriggerRule) String() string {
	if r.valid() {
		return ruleNames[r]
	}
	return fmt.Sprintf("TriggerRule(%d)", int(r))
}

// ParseTriggerRule returns the rule String names. Case does not matter and
// "-" may stand for "_" ("ALL-DONE"); anything else, "" included, gives an
// error wrapping ErrUnknownRule.
func ParseTriggerRule(s string) (TriggerRule, error) {
	norm := strings.ToLower(strings.ReplaceAll(s, "-", "_"))
	for r, name := range ruleNames {
		if norm == name {
			return TriggerRule(r), nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownRule, s)
}

// MarshalText returns the rule's String, or an error wrapping
// ErrUnknownRule for an unknown value.
func (r TriggerRule) MarshalText() ([]byte, error) {
	if !r.valid() {
		return nil, fmt.Errorf("%w %d", ErrUnknownRule, int(r))
	}
	return []byte(ruleNames[r]), nil
}

// UnmarshalText sets r from text, as ParseTriggerRule reads it.
func (r *TriggerRule) UnmarshalText(text []byte) error {
	v, err := ParseTriggerRule(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Outcome is how a task ended in a graph run, as far as its dependents
// are concerned. The engine reports cancelled and abandoned executions as
// Failed. The zero value is not an outcome.
type Outcome int

const (
	// Succeeded: the task ran and succeeded.
	Succeeded Outcome = iota + 1
	// Failed: the task ran and failed, was cancelled or was abandoned.
	Failed
	// Skipped: the task did not run.
	Skipped
)

// String returns "succeeded", "failed", "skipped" or "Outcome(n)".
func (o Outcome) String() string {
	switch o {
	case Succeeded:
		return "succeeded"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}
