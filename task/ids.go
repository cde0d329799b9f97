// This file owns execution ids.

package task

import "github.com/google/uuid"

// newID returns a version 7 UUID: its first 48 bits are the Unix time in
// milliseconds and uuid.NewV7 keeps the ids it makes increasing within the
// process, so executions created in one instant list in creation order.
// (crypto/rand, under NewV7, does not fail: it crashes the program instead.)
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
