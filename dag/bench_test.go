package dag

import (
	"fmt"
	"testing"
)

// forest returns graphs graphs of size nodes each: node i of a graph runs
// after node (i-1)/2, and every third node also after node (i-2)/2, so
// the graphs are trees with some diamonds.
func forest(graphs, size int) []Node {
	nodes := make([]Node, 0, graphs*size)
	for g := range graphs {
		name := func(i int) string { return fmt.Sprintf("g%03d-n%04d", g, i) }
		for i := range size {
			n := Node{Name: name(i)}
			if i > 0 {
				n.After = append(n.After, name((i-1)/2))
			}
			if i%3 == 0 && i > 2 && (i-2)/2 != (i-1)/2 {
				n.After = append(n.After, name((i-2)/2))
			}
			nodes = append(nodes, n)
		}
	}
	return nodes
}

func BenchmarkBuild(b *testing.B) {
	cases := []struct {
		name  string
		nodes []Node
	}{
		{"chain-1000", chain("c", 1000)},
		{"100-graphs-of-100", forest(100, 100)},
		{"isolated-10000", isolated(10000)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			mustBuild(b, c.nodes)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Build(c.nodes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRunChain(b *testing.B) {
	g := mustBuild(b, chain("c", 1000))
	b.ReportAllocs()
	for b.Loop() {
		r, err := g.NewRun("c000000")
		if err != nil {
			b.Fatal(err)
		}
		next := r.Ready()
		for len(next) > 0 {
			if next, _, err = r.Complete(next[0], Succeeded); err != nil {
				b.Fatal(err)
			}
		}
		if !r.Done() {
			b.Fatal("run not done")
		}
	}
}

func BenchmarkRunForest(b *testing.B) {
	g := mustBuild(b, forest(1, 1000))
	root := g.Roots()[0]
	b.ReportAllocs()
	for b.Loop() {
		driveAll(b, g, root, Succeeded)
	}
}
