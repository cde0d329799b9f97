package postgres

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/taskmill/taskmill/internal/groupcommit/groupcommittest"
	"github.com/taskmill/taskmill/store"
)

// commitComplete is the server's CommandComplete message for COMMIT.
var commitComplete = []byte("C\x00\x00\x00\x0bCOMMIT\x00")

// cutConn delivers, while armed, the bytes up to the end of a COMMIT's
// CommandComplete and then fails every read: the connection is lost after
// the server said the transaction committed, before its ReadyForQuery.
type cutConn struct {
	net.Conn
	armed *atomic.Bool
	cut   bool
}

func (c *cutConn) Read(p []byte) (int, error) {
	if c.cut {
		return 0, errors.New("test: connection lost after COMMIT")
	}
	n, err := c.Conn.Read(p)
	if n > 0 && c.armed.Load() {
		if i := bytes.Index(p[:n], commitComplete); i >= 0 {
			c.armed.Store(false)
			c.cut = true
			return i + len(commitComplete), nil
		}
	}
	return n, err
}

// TestGroupCommittedThenConnectionLost: when the group's COMMIT has been
// answered COMMIT and only the read of the ReadyForQuery that follows fails,
// the writes are committed; their callers must be told so, not see their
// own rows as conflicts after a rerun.
func TestGroupCommittedThenConnectionLost(t *testing.T) {
	var armed atomic.Bool
	s, _ := writerStore(t, nil, func(cfg *pgxpool.Config) {
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &cutConn{Conn: c, armed: &armed}, nil
		}
	})
	ctx := t.Context()
	end := s.w.Hold()
	es := []*store.Execution{manual("a"), manual("b")}
	errs := make([]error, len(es))
	var wg sync.WaitGroup
	for i, e := range es {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateExecution(ctx, e)
		}()
	}
	groupcommittest.WaitQueued(t, s.w.Writer, len(es))
	armed.Store(true)
	end()
	wg.Wait()
	if armed.Load() {
		t.Fatal("no group commit was cut")
	}
	for i, e := range es {
		if stored(t, s, e.ID) == nil {
			t.Errorf("execution %d was not stored", i)
		}
		if errs[i] != nil {
			t.Errorf("CreateExecution %d, committed by its group: %v; want nil", i, errs[i])
		}
	}
	groupcommittest.CheckIdle(t, s.w.Writer)
}
