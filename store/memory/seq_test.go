package memory

import (
	"slices"
	"testing"
)

// A seq whose oldest element is dropped for each one pushed, the cap's
// steady state, stops allocating and keeps its array within a small
// multiple of its length; inserts and drops in the middle and deletions
// keep the order.
func TestSeq(t *testing.T) {
	var q seq[uint32]
	var want []uint32
	check := func(what string) {
		t.Helper()
		if !slices.Equal(q.all(), want) || q.len() != len(want) {
			t.Fatalf("%s: %v, want %v", what, q.all(), want)
		}
	}
	for i := range uint32(1000) {
		q.push(i)
		want = append(want, i)
	}
	next := uint32(1000)
	step := func() {
		q.push(next)
		q.drop(0)
		next++
	}
	for range 10_000 {
		step()
	}
	if n := testing.AllocsPerRun(1, func() {
		for range 10_000 {
			step()
		}
	}); n != 0 {
		t.Errorf("10,000 pushes and drops allocate %.0f times, want 0", n)
	}
	if c := cap(q.items); c > 2*q.len() {
		t.Errorf("array of %d for %d elements", c, q.len())
	}
	want = want[:0]
	for i := range uint32(1000) {
		want = append(want, next-1000+i)
	}
	check("after the steady state")

	q.drop(5)
	want = slices.Delete(want, 5, 6)
	check("drop(5)")
	q.insert(3, 7)
	want = slices.Insert(want, 3, 7)
	check("insert(3)")
	q.insert(q.len(), 8)
	want = append(want, 8)
	check("insert at the end")
	q.deleteFunc(func(v uint32) bool { return v%2 == 0 })
	want = slices.DeleteFunc(want, func(v uint32) bool { return v%2 == 0 })
	check("deleteFunc")
	for q.len() > 0 {
		q.drop(q.len() - 1)
		want = want[:len(want)-1]
	}
	check("emptied")
	if q.off != 0 {
		t.Errorf("empty seq keeps offset %d", q.off)
	}
}
