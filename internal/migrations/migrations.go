// Package migrations reads the schema migrations the SQL stores embed:
// files named NNNN_name.sql, numbered 1, 2, ... up to the store's schema
// version, whose text writes Placeholder for the table prefix. How a
// store applies them, and records and checks versions, is its own.
package migrations

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// Placeholder stands for the table prefix in the migration files.
const Placeholder = "{prefix}"

// File is one migration. The stores' exported Migration types have the
// same fields, so that a File converts to one.
type File struct {
	Version int    // 1, 2, ...: the number the file name starts with
	Name    string // the file name, such as "0001_init.sql"
	SQL     string
}

// Read returns the .sql files in dir of fsys, in order, checking that
// their names are numbered 1, 2, ... up to version, each once.
func Read(fsys fs.FS, dir string, version int) ([]File, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var ms []File
	for _, p := range names { // Glob sorts
		name := path.Base(p)
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: file %q: name does not start with a version number and '_'", name)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migrations: file %q: version %d, want %d", name, v, len(ms)+1)
		}
		text, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, fmt.Errorf("migrations: file %q: %w", name, err)
		}
		ms = append(ms, File{Version: v, Name: name, SQL: string(text)})
	}
	if len(ms) != version {
		return nil, fmt.Errorf("migrations: %d files, want the schema version, %d", len(ms), version)
	}
	return ms, nil
}

// WithPrefix returns ms with Placeholder replaced by prefix, which the
// caller has checked is safe to write into SQL.
func WithPrefix(ms []File, prefix string) []File {
	out := make([]File, len(ms))
	for i, m := range ms {
		m.SQL = strings.ReplaceAll(m.SQL, Placeholder, prefix)
		out[i] = m
	}
	return out
}
