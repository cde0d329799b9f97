package memory

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
)

// TestIDIndex runs random operations on an idIndex and a map side by side:
// IDs mostly ascending (as the engine mints them), some out of order, some
// random, some deleted and put again, with enough deletes to sweep.
func TestIDIndex(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed))
		x, ref := newIDIndex(), map[uuid.UUID]uint32{}
		var held []uuid.UUID // every ID ever put, to look up, delete and put again
		var seq uint64
		next := func() uuid.UUID {
			var id uuid.UUID
			switch k := rng.IntN(10); {
			case k < 6: // ascending
				seq += 1 + uint64(rng.IntN(3))
			case k < 8 && seq > 10: // a little behind
				seq -= uint64(rng.IntN(10))
			default: // anywhere
				binary.BigEndian.PutUint64(id[:8], rng.Uint64())
				binary.BigEndian.PutUint64(id[8:], rng.Uint64())
				return id
			}
			binary.BigEndian.PutUint64(id[:8], seq)
			binary.BigEndian.PutUint64(id[8:], uint64(rng.IntN(4)))
			return id
		}
		for op := 0; op < 20000; op++ {
			switch k := rng.IntN(10); {
			case k < 5 || len(held) == 0:
				id := next()
				if len(held) > 0 && rng.IntN(8) == 0 {
					id = held[rng.IntN(len(held))] // maybe deleted: put again
				}
				_, got := x.get(id)
				if _, want := ref[id]; got != want {
					t.Fatalf("seed %d op %d: get(%s) before put found %v, want %v", seed, op, id, got, want)
				}
				if !got {
					n := uint32(op)
					x.put(id, n)
					ref[id] = n
					held = append(held, id)
				}
			case k < 8:
				id := held[rng.IntN(len(held))]
				x.del(id)
				delete(ref, id)
			default:
				id := held[rng.IntN(len(held))]
				n, ok := x.get(id)
				if wn, wok := ref[id]; ok != wok || n != wn {
					t.Fatalf("seed %d op %d: get(%s) = %d, %v; want %d, %v", seed, op, id, n, ok, wn, wok)
				}
			}
			if x.len() != len(ref) {
				t.Fatalf("seed %d op %d: len %d, want %d", seed, op, x.len(), len(ref))
			}
		}
		for id, n := range ref {
			if got, ok := x.get(id); !ok || got != n {
				t.Fatalf("seed %d: at the end get(%s) = %d, %v; want %d", seed, id, got, ok, n)
			}
		}
		if x.dead > len(x.asc) {
			t.Fatalf("seed %d: %d tombstones in %d entries", seed, x.dead, len(x.asc))
		}
	}
}

// TestIDIndexAppends checks that ascending IDs skip the map, and that
// deleting most of them sweeps the tombstones.
func TestIDIndexAppends(t *testing.T) {
	x := newIDIndex()
	ids := make([]uuid.UUID, 1000)
	for i := range ids {
		binary.BigEndian.PutUint64(ids[i][:8], uint64(i+1))
		x.put(ids[i], uint32(i))
	}
	if len(x.other) != 0 || len(x.asc) != 1000 {
		t.Fatalf("ascending IDs: %d in the map, %d in the slice; want 0 and 1000", len(x.other), len(x.asc))
	}
	for _, id := range ids[:900] {
		x.del(id)
	}
	if len(x.asc) >= 1000 || x.len() != 100 {
		t.Fatalf("after deleting 900: slice %d (tombstones %d), len %d; want swept, 100", len(x.asc), x.dead, x.len())
	}
	// An ID deleted below the top comes back through the map.
	x.put(ids[0], 7)
	if n, ok := x.get(ids[0]); !ok || n != 7 || len(x.other) != 1 {
		t.Fatalf("re-put: get = %d, %v with %d in the map; want 7, true, 1", n, ok, len(x.other))
	}
	for i, id := range ids[900:] {
		if n, ok := x.get(id); !ok || n != uint32(900+i) {
			t.Fatalf("get(ids[%d]) = %d, %v", 900+i, n, ok)
		}
	}
}
