package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestRead(t *testing.T) {
	good := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B {prefix}x")},
		"m/0001_a.sql": {Data: []byte("A {prefix}x")},
		"m/README":     {Data: []byte("not a migration")},
	}
	ms, err := Read(good, "m", 2)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if len(ms) != 2 || ms[0] != (File{1, "0001_a.sql", "A {prefix}x"}) || ms[1] != (File{2, "0002_b.sql", "B {prefix}x"}) {
		t.Errorf("Read = %+v, want 0001_a.sql then 0002_b.sql", ms)
	}
	p := WithPrefix(ms, "p_")
	if p[0].SQL != "A p_x" || p[1].SQL != "B p_x" || ms[0].SQL != "A {prefix}x" {
		t.Errorf("WithPrefix = %+v (from %+v), want the placeholder replaced in a copy", p, ms)
	}

	for name, tc := range map[string]struct {
		fs      fstest.MapFS
		version int
		want    string
	}{
		"fewer than the version": {good, 3, "2 files"},
		"a gap":                  {fstest.MapFS{"m/0001_a.sql": {}, "m/0003_c.sql": {}}, 3, "version 3, want 2"},
		"no number":              {fstest.MapFS{"m/init.sql": {}}, 1, `"init.sql"`},
		"number zero":            {fstest.MapFS{"m/0000_a.sql": {}}, 1, `"0000_a.sql"`},
	} {
		if _, err := Read(tc.fs, "m", tc.version); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Read = %v, want an error saying %q", name, err, tc.want)
		}
	}
}
