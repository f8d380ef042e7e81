// Command rolesnapshot writes the repository's copy of the published
// predefined-role definitions (third_party/iam/predefined-roles.jsonl.gz)
// from the full snapshot, small enough to commit and complete enough for
// the two things that read it:
//
//   - go generate ./internal/access (rolegen), which needs every role
//     name and the permissions of the services the audit evaluates (Cloud
//     Run, Artifact Registry, Secret Manager);
//   - the deploy tests, which need every permission of each role the
//     deploy scripts name.
//
// Roles the deploy scripts name keep every permission; every other role
// keeps only the audited services' permissions and is marked
// "filtered":true, so that a reader needing a full role can tell.
//
//	go run ./scripts/rolesnapshot -in ../shared/iam/predefined-roles.jsonl.gz
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// auditedServices are the permission prefixes kept in every role: the
// services whose permissions the audit evaluates now or may soon.
var auditedServices = []string{"run.", "artifactregistry.", "secretmanager."}

// role is an IAM Role as published, with the mark this tool adds.
type role struct {
	Name                string   `json:"name"`
	Title               string   `json:"title,omitempty"`
	Stage               string   `json:"stage,omitempty"`
	Deleted             bool     `json:"deleted,omitempty"`
	IncludedPermissions []string `json:"includedPermissions"`
	Filtered            bool     `json:"filtered,omitempty"`
}

func main() {
	in := flag.String("in", "../shared/iam/predefined-roles.jsonl.gz", "full snapshot: JSONL of IAM Role objects, gzip-compressed")
	out := flag.String("out", "third_party/iam/predefined-roles.jsonl.gz", "filtered snapshot to write")
	deploy := flag.String("deploy", "deploy", "directory whose scripts and tests name the roles kept whole")
	flag.Parse()
	if err := run(*in, *out, *deploy); err != nil {
		fmt.Fprintln(os.Stderr, "rolesnapshot:", err)
		os.Exit(1)
	}
}

func run(in, out, deployDir string) error {
	keep, err := namedRoles(deployDir)
	if err != nil {
		return err
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("reading %s: %w", in, err)
	}
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(o) // no name or time in the header: the file is reproducible
	n, err := filter(zr, zw, keep)
	if err == nil {
		err = zw.Close()
	}
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s from %s: %w", out, in, err)
	}
	fmt.Fprintf(os.Stderr, "rolesnapshot: wrote %d roles to %s (%d kept whole)\n", n, out, len(keep))
	return nil
}

// roleName matches a predefined role name in a script or test.
var roleName = regexp.MustCompile(`roles/[a-zA-Z][a-zA-Z0-9]*\.[a-zA-Z][a-zA-Z0-9.]*[a-zA-Z0-9]|roles/(owner|editor|viewer|browser)\b`)

// namedRoles lists the role names found in dir's .sh and .go files.
func namedRoles(dir string) (map[string]bool, error) {
	keep := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		if ext := filepath.Ext(name); ext != ".sh" && ext != ".go" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		for _, m := range roleName.FindAllString(string(b), -1) {
			keep[m] = true
		}
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("no role names in %s: wrong -deploy directory?", dir)
	}
	return keep, nil
}

// filter copies the roles of r to w, one JSON object a line, keeping the
// roles in keep whole and only the audited services' permissions of the
// others. It returns the number of roles written.
func filter(r io.Reader, w io.Writer, keep map[string]bool) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var ro role
		if err := json.Unmarshal(sc.Bytes(), &ro); err != nil {
			return n, fmt.Errorf("line %d: %w", line, err)
		}
		if !keep[ro.Name] {
			ro.IncludedPermissions = slices.DeleteFunc(ro.IncludedPermissions, func(p string) bool {
				return !slices.ContainsFunc(auditedServices, func(s string) bool { return strings.HasPrefix(p, s) })
			})
			ro.Filtered = true
		}
		if ro.IncludedPermissions == nil {
			ro.IncludedPermissions = []string{}
		}
		if err := enc.Encode(ro); err != nil {
			return n, err
		}
		n++
	}
	return n, sc.Err()
}
