package rounds

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/taskmill/taskmill/store"
)

func TestSplit(t *testing.T) {
	slot := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	claim := func(task string, at time.Time) *store.Execution {
		return &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerSchedule, ScheduledAt: at,
			State: store.StateRunning}
	}
	manual := func(task string, exclusive bool, st store.State) *store.Execution {
		return &store.Execution{ID: uuid.New(), Task: task, Trigger: store.TriggerManual, State: st, Exclusive: exclusive}
	}
	sameID := manual("d", false, store.StateRunning)
	dup := manual("e", false, store.StateRunning)
	dup.ID = sameID.ID
	tests := []struct {
		name string
		es   []*store.Execution
		skip map[int]bool
		want [][]int
	}{
		{"none", nil, nil, nil},
		{"one fire", []*store.Execution{claim("a", slot), claim("b", slot), claim("c", slot)}, nil, [][]int{{0, 1, 2}}},
		{"one slot twice", []*store.Execution{claim("a", slot), claim("b", slot), claim("a", slot.Add(time.Nanosecond))},
			nil, [][]int{{0, 1}, {2}}},
		{"three of one slot", []*store.Execution{claim("a", slot), claim("a", slot), claim("a", slot), claim("b", slot)},
			nil, [][]int{{0, 3}, {1}, {2}}},
		{"skipped", []*store.Execution{claim("a", slot), claim("a", slot)}, map[int]bool{0: true}, [][]int{{1}}},
		{"an ID twice", []*store.Execution{sameID, claim("a", slot), dup}, nil, [][]int{{0, 1}, {2}}},
		{"exclusive", []*store.Execution{
			manual("x", true, store.StateRunning), manual("x", false, store.StateRunning),
			manual("x", true, store.StateSucceeded), manual("x", true, store.StatePending),
		}, nil, [][]int{{0, 1, 2}, {3}}},
		{"chained", []*store.Execution{
			claim("a", slot), func() *store.Execution { e := claim("a", slot.Add(time.Minute)); e.Exclusive = true; return e }(),
			func() *store.Execution { e := claim("a", slot); e.Exclusive = true; return e }(),
		}, nil, [][]int{{0, 1}, {2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.es, func(i int) bool { return tt.skip[i] })
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split = %v, want %v", got, tt.want)
			}
		})
	}
}
