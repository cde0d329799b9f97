package dag

import "fmt"

// Default limits of Build.
const (
	// MaxNodesDefault is the most tasks one graph (a root and everything
	// that runs after it) may have without WithMaxNodes.
	MaxNodesDefault = 1000
	// MaxChildrenDefault is the most direct dependents one task may have
	// without WithMaxChildren.
	MaxChildrenDefault = 100
)

// Option adjusts Build. An option given a bad value makes Build fail with
// an error wrapping ErrInvalidOption.
type Option func(*config) error

type config struct {
	maxNodes    int
	maxChildren int
}

// WithMaxNodes sets the most tasks one graph may have, counting its root;
// a larger graph makes Build fail with ErrTooManyNodes. n must be at least
// 1. The limit is per graph, not for all the nodes given to Build.
// Default: 1000 (MaxNodesDefault).
func WithMaxNodes(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxNodes(%d): must be at least 1", ErrInvalidOption, n)
		}
		c.maxNodes = n
		return nil
	}
}

// WithMaxChildren sets the most direct dependents (tasks that list it in
// After) one task may have; more make Build fail with ErrTooManyChildren.
// n must be at least 1. Default: 100 (MaxChildrenDefault).
func WithMaxChildren(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxChildren(%d): must be at least 1", ErrInvalidOption, n)
		}
		c.maxChildren = n
		return nil
	}
}
