package task

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/taskmill/taskmill/cron"
)

// TestRestIsZeroCoversEveryField: a task that sets any Spec field beyond
// its name, job and schedule keeps its whole Spec (def.x). A field added to
// Spec and forgotten in restIsZero would be silently dropped: this fails.
func TestRestIsZeroCoversEveryField(t *testing.T) {
	inline := map[string]bool{"Name": true, "Job": true, "Schedule": true, "Cron": true, "TimeZone": true}
	typ := reflect.TypeOf(Spec{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if inline[f.Name] {
			continue
		}
		var s Spec
		v := reflect.ValueOf(&s).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(1)
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			v.SetMapIndex(reflect.Zero(v.Type().Key()), reflect.Zero(v.Type().Elem()))
		case reflect.Func:
			v.Set(reflect.MakeFunc(v.Type(), func([]reflect.Value) []reflect.Value { return nil }))
		default:
			t.Fatalf("Spec.%s has kind %s: teach this test and restIsZero about it", f.Name, v.Kind())
		}
		if s.restIsZero() {
			t.Errorf("Spec.%s set, but restIsZero says the rest is zero: the field would be dropped", f.Name)
		}
		if d := newDef(&s); d.o() != &s {
			t.Errorf("Spec.%s set, but newDef did not keep the whole spec", f.Name)
		}
	}
	if d := newDef(&Spec{Name: "n", Cron: "* * * * * *"}); d.x != nil || d.o().Timeout != 0 {
		t.Fatalf("a plain spec kept its whole Spec: %+v", d)
	}
}

// TestScheduleCacheKeysOnZone: tasks on the same Cron text in different
// zones get their own schedules; the same text and zone share one; an
// invalid expression is rejected every time, never cached.
func TestScheduleCacheKeysOnZone(t *testing.T) {
	b := setup(t)
	job := JobFunc(func(context.Context) error { return nil })
	b.register(t, Spec{Name: "tokyo", Cron: "0 0 9 * * *", TimeZone: "Asia/Tokyo", Job: job})
	b.register(t, Spec{Name: "tokyo2", Cron: "0 0 9 * * *", TimeZone: "Asia/Tokyo", Job: job})
	b.register(t, Spec{Name: "berlin", Cron: "0 0 9 * * *", TimeZone: "Europe/Berlin", Job: job})
	b.eng.mu.Lock()
	tokyo, tokyo2, berlin := b.eng.tasks["tokyo"].spec.Schedule, b.eng.tasks["tokyo2"].spec.Schedule, b.eng.tasks["berlin"].spec.Schedule
	b.eng.mu.Unlock()
	if tokyo != tokyo2 {
		t.Error("two tasks on the same text and zone parsed it twice")
	}
	from := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	if tokyo.Next(from).Equal(berlin.Next(from)) {
		t.Fatalf("Tokyo and Berlin share a schedule: next %v", tokyo.Next(from))
	}
	for i := 0; i < 2; i++ {
		err := b.eng.Register(Spec{Name: "bad", Cron: "61 * * * * *", Job: job})
		var pe *cron.ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("Register of a bad expression (try %d) = %v, want a *cron.ParseError", i, err)
		}
	}
}

func TestScheduleCacheIsBounded(t *testing.T) {
	var c scheduleCache
	s, err := cron.Parse("* * * * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < maxCachedSchedules+10; i++ {
		c.put(fmt.Sprint(i), "", s)
	}
	if n := len(c.m); n > maxCachedSchedules {
		t.Fatalf("cache holds %d schedules, more than %d", n, maxCachedSchedules)
	}
	if c.get(fmt.Sprint(maxCachedSchedules+9), "") == nil {
		t.Fatal("the newest entry is not cached")
	}
}
