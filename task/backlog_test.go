package task

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/taskmill/taskmill/cron"
	"github.com/taskmill/taskmill/store"
	"github.com/taskmill/taskmill/store/memory"
)

// outage makes a faultyStore refuse every record it is asked to create
// while down, and counts the fires it refused (records of scheduled runs:
// the retries of held records are skipped ones, catch-up runs have their
// own trigger).
type outage struct {
	down  atomic.Bool
	fires atomic.Int32
}

func newOutage(fs *faultyStore) *outage {
	o := &outage{}
	fs.mu.Lock()
	fs.onCreate = func(x *store.Execution) error {
		if !o.down.Load() {
			return nil
		}
		if x.State != store.StateSkipped && x.Trigger == store.TriggerSchedule {
			o.fires.Add(1)
		}
		return errStoreDown
	}
	fs.mu.Unlock()
	return o
}

// setupOutage is setupFaulty with options and an outage controller.
func setupOutage(t *testing.T, opts ...Option) (*bundle, *outage) {
	t.Helper()
	fs := &faultyStore{Store: memory.New()}
	b := setup(t, append([]Option{WithStore(fs)}, opts...)...)
	b.store = fs.Store
	return b, newOutage(fs)
}

func second(n int) time.Time { return testStart.Add(time.Duration(n) * time.Second) }

// fireDown fires slots from..to (every second) while the store is down,
// waiting for each fire to be refused. The first refused fire arms the
// retrier's backoff timer beside the schedule's.
func (o *outage) fireDown(t *testing.T, b *bundle, at func(int) time.Time, from, to int) {
	t.Helper()
	o.down.Store(true)
	for i := from; i <= to; i++ {
		timers := 2
		want := o.fires.Load() + 1
		if want == 1 {
			timers = 1
		}
		b.advanceTo(t, timers, at(i))
		waitFor(t, fmt.Sprintf("the fire at %v refused", at(i)), func() bool { return o.fires.Load() == want })
	}
}

// bySlot indexes a history by nominal time, failing on a slot with two
// records.
func bySlot(t *testing.T, xs []*store.Execution) map[time.Time]*store.Execution {
	t.Helper()
	m := make(map[time.Time]*store.Execution)
	for _, x := range xs {
		s := x.ScheduledAt.UTC()
		if m[s] != nil {
			t.Fatalf("two records for slot %v: %s and %s", s, m[s].State, x.State)
		}
		m[s] = x
	}
	return m
}

func TestFiresDuringAStoreOutageAreRecorded(t *testing.T) {
	t.Parallel()
	b, o := setupOutage(t)
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	for i := 1; i <= 3; i++ {
		b.advanceTo(t, 1, second(i))
		b.waitRecords(t, "t", i)
	}
	o.fireDown(t, b, second, 4, 13)
	o.down.Store(false)
	b.advanceTo(t, 2, second(14)) // recorded: the held records follow
	m := bySlot(t, b.waitRecords(t, "t", 14))
	for i := 1; i <= 14; i++ {
		x := m[second(i)]
		switch {
		case x == nil:
			t.Fatalf("slot %d: no record", i)
		case i >= 4 && i <= 13:
			if x.State != store.StateSkipped || x.Trigger != store.TriggerSchedule ||
				!strings.HasPrefix(x.SkipReason, store.ReasonStoreUnavailable+": ") || !strings.Contains(x.SkipReason, "store down") ||
				!x.StartedAt.Equal(second(i)) || x.Node != "node-1" {
				t.Fatalf("slot %d: %s %s at %v on %q, reason %q; want skipped for the outage, at the fire", i, x.State, x.Trigger, x.StartedAt, x.Node, x.SkipReason)
			}
		default:
			if x.State != store.StateSucceeded {
				t.Fatalf("slot %d: %s, want succeeded", i, x.State)
			}
		}
	}
	if n := len(m); n != 14 {
		t.Fatalf("%d records, want 14", n)
	}
}

// Past WithMaxHeldRecords, slots are counted and recorded as one skipped
// execution; the Error log says so once, not once a slot.
func TestHeldRecordsPastTheLimitAreCounted(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.WarnLevel)
	b, o := setupOutage(t, WithMaxHeldRecords(3), WithLogger(zap.New(core)))
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, second, 1, 10)
	if n := logs.FilterLevelExact(zap.ErrorLevel).FilterMessageSnippet("at their limit").Len(); n != 1 {
		t.Fatalf("%d Error logs of the full backlog, want 1", n)
	}
	o.down.Store(false)
	b.advanceTo(t, 2, second(11))
	m := bySlot(t, b.waitRecords(t, "t", 5))
	for i := 1; i <= 3; i++ {
		if x := m[second(i)]; x == nil || x.State != store.StateSkipped || !strings.HasPrefix(x.SkipReason, store.ReasonStoreUnavailable) {
			t.Fatalf("slot %d: %v, want a held skipped record", i, x)
		}
	}
	sum := m[second(4)]
	want := fmt.Sprintf("%s: 7 slot(s) from %s to %s were not held", store.ReasonStoreUnavailable,
		second(4).Format(time.RFC3339Nano), second(10).Format(time.RFC3339Nano))
	if sum == nil || sum.State != store.StateSkipped || !strings.HasPrefix(sum.SkipReason, want) {
		t.Fatalf("slot 4: %v, want one skipped record starting %q", sum, want)
	}
	if x := m[second(11)]; x == nil || x.State != store.StateSucceeded {
		t.Fatalf("slot 11: %v, want succeeded", x)
	}
	if n := len(m); n != 5 {
		t.Fatalf("%d records, want 5 (3 held, 1 count, 1 run)", n)
	}
	if n := logs.FilterLevelExact(zap.ErrorLevel).FilterMessageSnippet("were not held").Len(); n != 1 {
		t.Fatalf("%d Error logs of the counted slots written, want 1", n)
	}
}

// The missed-slots record of a late fire is held like the fire's.
func TestLateFireDuringAStoreOutageIsRecorded(t *testing.T) {
	t.Parallel()
	b, o := setupOutage(t)
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, second, 3, 3) // the timer fires late: slots 1 and 2 passed
	o.down.Store(false)
	b.advanceTo(t, 2, second(4))
	m := bySlot(t, b.waitRecords(t, "t", 3))
	missed := fmt.Sprintf("%s: 2 slot(s) from %s to %s", store.ReasonMissed,
		second(1).Format(time.RFC3339Nano), second(2).Format(time.RFC3339Nano))
	if x := m[second(1)]; x == nil || x.State != store.StateSkipped || !strings.HasPrefix(x.SkipReason, missed) {
		t.Fatalf("slot 1: %v, want skipped %q", x, missed)
	}
	if x := m[second(3)]; x == nil || x.State != store.StateSkipped || !strings.HasPrefix(x.SkipReason, store.ReasonStoreUnavailable) {
		t.Fatalf("slot 3: %v, want skipped for the outage", x)
	}
	if x := m[second(4)]; x == nil || x.State != store.StateSucceeded || len(m) != 3 {
		t.Fatalf("slot 4: %v, %d records; want succeeded, 3 records", x, len(m))
	}
}

// A slot another engine recorded while this one's store was down keeps
// that record: the held one loses the claim and is dropped.
func TestHeldSlotClaimedElsewhereIsDropped(t *testing.T) {
	t.Parallel()
	b, o := setupOutage(t)
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, second, 1, 3)
	other := &store.Execution{ID: newID(), Task: "t", Trigger: store.TriggerSchedule, ScheduledAt: second(2),
		StartedAt: second(2), EndedAt: second(2), State: store.StateSucceeded, Node: "other"}
	if err := b.store.CreateExecution(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	o.down.Store(false)
	b.advanceTo(t, 2, second(4))
	m := bySlot(t, b.waitRecords(t, "t", 4))
	if x := m[second(2)]; x.ID != other.ID {
		t.Fatalf("slot 2: %s on %q, want the other engine's record", x.State, x.Node)
	}
	for _, i := range []int{1, 3} {
		if x := m[second(i)]; x == nil || x.State != store.StateSkipped {
			t.Fatalf("slot %d: %v, want skipped", i, x)
		}
	}
}

// The records still held at Shutdown get one last attempt.
func TestShutdownWritesHeldRecords(t *testing.T) {
	t.Parallel()
	b, o := setupOutage(t)
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, second, 1, 3)
	o.down.Store(false)
	if err := b.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := bySlot(t, b.history(t, "t"))
	for i := 1; i <= 3; i++ {
		if x := m[second(i)]; x == nil || x.State != store.StateSkipped {
			t.Fatalf("slot %d: %v, want skipped", i, x)
		}
	}
}

// What the store still refuses at Shutdown is logged at Error with the
// count.
func TestHeldRecordsLostAtShutdownAreLogged(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.WarnLevel)
	b, o := setupOutage(t, WithMaxHeldRecords(2), WithLogger(zap.New(core)))
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Second), Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, second, 1, 5)
	if err := b.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lost := logs.FilterLevelExact(zap.ErrorLevel).FilterMessageSnippet("records lost at shutdown").All()
	if len(lost) != 1 {
		t.Fatalf("%d Error logs of lost records, want 1", len(lost))
	}
	f := lost[0].ContextMap()
	if f["records"] != int64(2) || f["counted_slots"] != int64(3) {
		t.Fatalf("lost records logged with %v, want 2 records and 3 slots", f)
	}
	if xs := b.history(t, "t"); len(xs) != 0 {
		t.Fatalf("%d records, want none", len(xs))
	}
}

// Held fires follow the task's misfire policy once the store answers:
// MisfireRunAll runs them (trigger catch-up).
func TestHeldFiresRunWithMisfireRunAll(t *testing.T) {
	t.Parallel()
	b, o := setupOutage(t)
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Minute), Misfire: MisfireRunAll, Overlap: OverlapAllow, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, minute, 1, 3)
	o.down.Store(false)
	b.advanceTo(t, 2, minute(4))
	m := bySlot(t, b.waitRecords(t, "t", 4))
	for i := 1; i <= 4; i++ {
		want := store.TriggerCatchUp
		if i == 4 {
			want = store.TriggerSchedule
		}
		if x := m[minute(i)]; x == nil || x.State != store.StateSucceeded || x.Trigger != want {
			t.Fatalf("minute %d: %v, want succeeded, trigger %s", i, x, want)
		}
	}
}

// MisfireRunOnce runs the newest held fire if its next slot has not come,
// and records the older ones skipped.
func TestHeldFiresRunWithMisfireRunOnce(t *testing.T) {
	t.Parallel()
	b, o := setupOutage(t)
	b.register(t, Spec{Name: "t", Schedule: cron.Every(time.Minute), Misfire: MisfireRunOnce, Job: JobFunc(ok)})
	b.start(t)
	o.fireDown(t, b, minute, 1, 2)
	o.down.Store(false)
	b.timers(t, 2)
	b.clock.Advance(endWriteBackoffMax) // the retrier's next attempt, before minute 3
	m := bySlot(t, b.waitRecords(t, "t", 2))
	if x := m[minute(1)]; x == nil || x.State != store.StateSkipped || !strings.HasPrefix(x.SkipReason, store.ReasonStoreUnavailable) {
		t.Fatalf("minute 1: %v, want skipped", x)
	}
	if x := m[minute(2)]; x == nil || x.State != store.StateSucceeded || x.Trigger != store.TriggerCatchUp {
		t.Fatalf("minute 2: %v, want a catch-up run", x)
	}
}

func TestWithMaxHeldRecordsRejectsANegativeLimit(t *testing.T) {
	t.Parallel()
	if _, err := New(WithMaxHeldRecords(-1)); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("New(WithMaxHeldRecords(-1)) = %v, want ErrInvalidOption naming -1", err)
	}
}
