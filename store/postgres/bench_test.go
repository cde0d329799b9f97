package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/taskmill/taskmill/store/postgres"
	"github.com/taskmill/taskmill/store/storetest"
)

// BenchmarkCreateUpdate records one execution per op the way the engine
// does, created running and updated when it ends, from 1 and from 8
// goroutines sharing one store (a pool of as many connections). It reports
// executions/s: two statements per execution, each its own transaction when
// one goroutine writes, committed in groups when several do (see writer).
func BenchmarkCreateUpdate(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("goroutines=%d", workers), func(b *testing.B) {
			prefix := freshPrefix(b)
			s, err := postgres.New(context.Background(), newPool(b, workers), postgres.WithTablePrefix(prefix))
			if err != nil {
				b.Fatalf("New: %v", err)
			}
			b.Cleanup(func() { closeStore(b, s) })
			storetest.BenchCreateUpdate(b, s, workers)
		})
	}
}

// BenchmarkCreateFire is storetest.BenchCreateFire: a fire of 128 tasks
// (the engine's chunk) created in one CreateExecutions call against 128
// CreateExecution calls in a row, with the slots free and with them
// claimed before (by another process, as far as this one can tell).
func BenchmarkCreateFire(b *testing.B) {
	for _, claimed := range []bool{false, true} {
		for _, batch := range []bool{true, false} {
			b.Run(fmt.Sprintf("claimed=%v/batch=%v", claimed, batch), func(b *testing.B) {
				prefix := freshPrefix(b)
				s, err := postgres.New(context.Background(), newPool(b, 4), postgres.WithTablePrefix(prefix))
				if err != nil {
					b.Fatalf("New: %v", err)
				}
				b.Cleanup(func() { closeStore(b, s) })
				storetest.BenchCreateFire(b, s, 128, batch, claimed)
			})
		}
	}
}
