// Package sqlfiles embeds runaudit's BigQuery dataset definition: the DDL of
// its tables (tables/*.sql) and the views the dashboards read
// (views/NN_*.sql, applied in file-name order because later views read
// earlier ones). The BigQuery sink applies these files as they are, so they
// are the single source of truth for the dataset's shape.
//
// Every statement names its objects as `${dataset}.NAME`; replace the
// placeholder with PROJECT.DATASET (see Render) before running one.
package sqlfiles

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// FS holds tables/*.sql and views/*.sql.
//
//go:embed tables/*.sql views/*.sql
var FS embed.FS

// Placeholder stands for PROJECT.DATASET in every statement.
const Placeholder = "${dataset}"

// File is one embedded statement.
type File struct {
	// Name is the object the statement creates: the file name without its
	// order prefix and extension (views/03_remediation_progress.sql →
	// remediation_progress).
	Name string
	// Path is the file's path within FS.
	Path string
	// SQL is the statement with the placeholder in place.
	SQL string
}

// Tables returns the table DDL, sorted by file name.
func Tables() ([]File, error) { return files("tables") }

// Views returns the view DDL in the order it must be applied.
func Views() ([]File, error) { return files("views") }

// Render replaces the placeholder in sql with project.dataset.
func Render(sql, project, dataset string) string {
	return strings.ReplaceAll(sql, Placeholder, project+"."+dataset)
}

func files(dir string) ([]File, error) {
	names, err := fs.Glob(FS, dir+"/*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	sort.Strings(names)
	out := make([]File, 0, len(names))
	for _, p := range names {
		b, err := FS.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		name := strings.TrimSuffix(path.Base(p), ".sql")
		if i := strings.IndexByte(name, '_'); i > 0 && isDigits(name[:i]) {
			name = name[i+1:]
		}
		if !strings.Contains(string(b), "`"+Placeholder+"."+name+"`") {
			return nil, fmt.Errorf("%s: does not create `%s.%s`", p, Placeholder, name)
		}
		out = append(out, File{Name: name, Path: p, SQL: string(b)})
	}
	return out, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
