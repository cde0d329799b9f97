package memory

import (
	"encoding/binary"
	"slices"

	"github.com/google/uuid"
)

// idIndex maps a shard's IDs to record numbers.
//
// The engine's IDs are UUIDv7 minted in increasing order, and a fire's
// records are created in the order of their IDs: those are appended to
// asc, a slice sorted by ID, with no lookup at all — an ID above every ID
// the index ever held cannot be in it. The rest (IDs created out of order,
// by concurrent callers or a host minting its own) go to a map. A hash map
// of every ID scatters each insert over memory the size of the history,
// one cache miss per record on a large store (measured in bench/README.md,
// "The memory store: arena or map"); the sorted slice keeps the memory a
// fire touches at its tail.
//
// A lookup is a binary search of asc, then the map. A delete in asc leaves
// a tombstone, swept when tombstones are half of it.
type idIndex struct {
	asc   []idEntry // ascending by ID
	dead  int       // tombstones in asc
	other map[uuid.UUID]uint32
	top   idKey // the highest ID the index has held, if held
	held  bool  // the index has held an ID (top is valid)
}

// idEntry is an ID in asc and its record; n is tombstone once deleted.
type idEntry struct {
	key idKey
	n   uint32
}

const tombstone = ^uint32(0)

// idKey is an ID as two big-endian halves: IDs compare as their bytes do.
type idKey struct{ hi, lo uint64 }

func keyOf(id uuid.UUID) idKey {
	return idKey{binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])}
}

func (k idKey) cmp(o idKey) int {
	switch {
	case k.hi != o.hi:
		if k.hi < o.hi {
			return -1
		}
		return 1
	case k.lo < o.lo:
		return -1
	case k.lo > o.lo:
		return 1
	}
	return 0
}

func newIDIndex() idIndex { return idIndex{other: make(map[uuid.UUID]uint32)} }

// fresh reports whether id is above every ID the index has held: it is
// not in the index, and put appends it.
func (x *idIndex) fresh(k idKey) bool { return !x.held || k.cmp(x.top) > 0 }

// get returns the record of id.
func (x *idIndex) get(id uuid.UUID) (uint32, bool) {
	k := keyOf(id)
	if x.fresh(k) {
		return 0, false
	}
	if i, ok := x.search(k); ok {
		return x.asc[i].n, true
	}
	n, ok := x.other[id]
	return n, ok
}

// search returns the index in asc of a live entry for k.
func (x *idIndex) search(k idKey) (int, bool) {
	i, ok := slices.BinarySearchFunc(x.asc, k, func(e idEntry, k idKey) int { return e.key.cmp(k) })
	return i, ok && x.asc[i].n != tombstone
}

// put adds id, which the index does not hold, for record n.
func (x *idIndex) put(id uuid.UUID, n uint32) {
	k := keyOf(id)
	if x.fresh(k) {
		x.asc = append(x.asc, idEntry{k, n})
		x.top, x.held = k, true
		return
	}
	// An ID below the top may equal a tombstone's: the map holds it then,
	// and search skips the tombstone.
	x.other[id] = n
}

// del removes id, if held.
func (x *idIndex) del(id uuid.UUID) {
	k := keyOf(id)
	if x.fresh(k) {
		return
	}
	if i, ok := x.search(k); ok {
		x.asc[i].n = tombstone
		if x.dead++; x.dead >= 64 && 2*x.dead >= len(x.asc) {
			x.sweep()
		}
		return
	}
	delete(x.other, id)
}

// sweep drops asc's tombstones (top stays: it bounds the map's IDs too).
func (x *idIndex) sweep() {
	x.asc = slices.DeleteFunc(x.asc, func(e idEntry) bool { return e.n == tombstone })
	if cap(x.asc) > 4*len(x.asc) {
		x.asc = slices.Clip(slices.Clone(x.asc))
	}
	x.dead = 0
}

// len returns how many IDs the index holds.
func (x *idIndex) len() int { return len(x.asc) - x.dead + len(x.other) }
