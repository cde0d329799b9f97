package memory

import "slices"

// seq is a slice that also gives up its first elements cheaply: a task's
// records and slot claims, from whose front the cap on records per task
// evicts the oldest one for each record it adds. Its elements are
// items[off:]; the room before them is reused, without allocating, when an
// append finds the array full and a quarter or more of it given up: each
// element is moved at most a few times, so that dropping one is O(1)
// amortized where re-slicing would make every append past the array's end
// allocate a new one.
type seq[T any] struct {
	items []T
	off   int
}

// all returns the elements; valid until the next change.
func (q *seq[T]) all() []T { return q.items[q.off:] }

func (q *seq[T]) len() int { return len(q.items) - q.off }

// push appends v.
func (q *seq[T]) push(v T) {
	if len(q.items) == cap(q.items) && q.off > 0 && 4*q.off >= len(q.items) {
		q.items = q.items[:copy(q.items, q.items[q.off:])]
		q.off = 0
	}
	q.items = append(q.items, v)
}

// insert puts v at index i of the elements.
func (q *seq[T]) insert(i int, v T) {
	if i == q.len() {
		q.push(v)
		return
	}
	q.items = slices.Insert(q.items, q.off+i, v)
}

// drop removes element i, moving the i elements before it, so that the
// front is the cheap end.
func (q *seq[T]) drop(i int) {
	copy(q.items[q.off+1:q.off+i+1], q.items[q.off:q.off+i])
	q.off++
	if q.off == len(q.items) {
		q.items, q.off = q.items[:0], 0
	}
}

// deleteFunc removes the elements for which del returns true.
func (q *seq[T]) deleteFunc(del func(T) bool) {
	kept := slices.DeleteFunc(q.all(), del)
	q.items = q.items[:q.off+len(kept)]
	if q.off == len(q.items) {
		q.items, q.off = q.items[:0], 0
	}
}
