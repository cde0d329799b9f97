// This file owns init hooks: OnInit registers a module's tasks, run by
// Start.

package task

import (
	"fmt"
	"sort"
	"sync"
)

// Registrar is what an init hook registers its tasks on. *Engine is one.
type Registrar interface {
	Register(spec Spec) error
}

// InitHook registers a module's tasks on an engine.
type InitHook func(r Registrar) error

type hook struct {
	name string
	fn   InitHook
}

// hooks is the process-wide list OnInit appends to. It is written from
// init() functions of the host's packages, never by taskmill itself.
var hooks struct {
	mu   sync.Mutex
	list []hook
}

// OnInit adds a hook that every Engine runs at Start, the way each Metabase
// module registers its tasks in its own init!. Call it from a package's
// init(); hooks run in name order. Problems are reported by Start, not here
// (init code has nowhere to send an error): an empty name, a nil hook and
// two hooks with one name make Start fail with an error naming the hook,
// and so does a hook that returns an error. Engines built WithoutInitHooks
// do not run them.
func OnInit(name string, fn InitHook) {
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	hooks.list = append(hooks.list, hook{name: name, fn: fn})
}

// runHooks runs every hook on e in name order.
func runHooks(r Registrar) error {
	hooks.mu.Lock()
	list := append([]hook(nil), hooks.list...)
	hooks.mu.Unlock()
	sort.SliceStable(list, func(i, j int) bool { return list[i].name < list[j].name })
	for i, h := range list {
		if err := validateName("init hook name", h.name); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOption, err)
		}
		if h.fn == nil {
			return fmt.Errorf("%w: init hook %q is nil", ErrInvalidOption, h.name)
		}
		if i > 0 && list[i-1].name == h.name {
			return fmt.Errorf("%w: %q was added twice with OnInit", ErrDuplicateHook, h.name)
		}
	}
	for _, h := range list {
		if err := protect(func() error { return h.fn(r) }); err != nil {
			return fmt.Errorf("task: init hook %q: %w", h.name, err)
		}
	}
	return nil
}
