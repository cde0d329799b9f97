package postgres

import (
	"testing"
	"time"
)

// TestPoolConfigConnectTimeout: Open's pool gets a connect timeout in
// every case: the option's, else the DSN's, else ConnectTimeoutDefault.
func TestPoolConfigConnectTimeout(t *testing.T) {
	t.Setenv("PGCONNECT_TIMEOUT", "")
	const base = "postgres://u@127.0.0.1:1/db"
	for _, c := range []struct {
		dsn    string
		option time.Duration
		want   time.Duration
	}{
		{base, 0, ConnectTimeoutDefault},
		{base + "?connect_timeout=0", 0, ConnectTimeoutDefault},
		{base + "?connect_timeout=3", 0, 3 * time.Second},
		{base + "?connect_timeout=3", 7 * time.Second, 7 * time.Second},
		{base, time.Second, time.Second},
		{"host=127.0.0.1 port=1 connect_timeout=4", 0, 4 * time.Second},
	} {
		o := defaultOptions()
		if c.option > 0 {
			if err := WithConnectTimeout(c.option)(&o); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := poolConfig(c.dsn, o)
		if err != nil {
			t.Fatalf("poolConfig(%q): %v", c.dsn, err)
		}
		if got := cfg.ConnConfig.ConnectTimeout; got != c.want {
			t.Errorf("poolConfig(%q) with WithConnectTimeout(%v): connect timeout %v, want %v", c.dsn, c.option, got, c.want)
		}
	}
}
