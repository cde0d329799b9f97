// Package rounds splits a batch of executions to create into rounds in
// which no two share a unique key, for the SQL stores' batch creation
// (store.BatchCreator): a store may write a round's executions in any
// order, and tell apart afterwards which key each that was refused met,
// yet give each the answer CreateExecution called in the batch's order
// would, as long as it answers a round before it writes the next.
package rounds

import (
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

// key is a unique key an execution's insert takes: its ID, its slot claim,
// or its task's place among exclusive executions.
type key struct {
	kind uint8
	id   uuid.UUID
	task string
	at   int64 // a claim's slot, in microseconds (what the stores keep)
}

const (
	kindID uint8 = iota
	kindClaim
	kindExclusive
)

// keys appends the unique keys e's insert takes to ks.
func keys(ks []key, e *store.Execution) []key {
	ks = append(ks, key{kind: kindID, id: e.ID})
	if e.Trigger.Claims() {
		ks = append(ks, key{kind: kindClaim, task: e.Task, at: e.ScheduledAt.Truncate(time.Microsecond).UnixMicro()})
	}
	if e.Exclusive && !e.State.Final() {
		// Running and pending are two indexes, and recovery records are
		// in neither; one key for all is coarser than needed, which
		// costs a round, never a wrong answer.
		ks = append(ks, key{kind: kindExclusive, task: e.Task})
	}
	return ks
}

// Split returns the indexes of es, but those for which skip reports true,
// in rounds: each execution in the round after the latest of those before
// it in es that share a key with it, so that within a round no two share
// one and the rounds keep the order of es for those that do. A batch of
// one fire (one slot, distinct tasks) is one round.
func Split(es []*store.Execution, skip func(i int) bool) [][]int {
	var rounds [][]int
	last := make(map[key]int)
	var ks []key
	for i, e := range es {
		if skip(i) {
			continue
		}
		ks = keys(ks[:0], e)
		round := 0
		for _, k := range ks {
			if r, ok := last[k]; ok {
				round = max(round, r+1)
			}
		}
		for _, k := range ks {
			last[k] = round
		}
		if round == len(rounds) {
			var r []int
			if round == 0 {
				r = make([]int, 0, len(es)-i) // most often the only one
			}
			rounds = append(rounds, r)
		}
		rounds[round] = append(rounds[round], i)
	}
	return rounds
}
