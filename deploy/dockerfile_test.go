package deploy

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	Line int
	Cmd  string // upper case
	Args string
}

func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{Line: start, Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stages splits instructions at each FROM.
func stages(ins []instruction) [][]instruction {
	var out [][]instruction
	for _, in := range ins {
		if in.Cmd == "FROM" {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], in)
		}
	}
	return out
}

// dockerfileGoImage is the build stage's base image.
func dockerfileGoImage(t *testing.T) string {
	t.Helper()
	st := stages(parseDockerfile(t, "../Dockerfile"))
	if len(st) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	img, _, _ := strings.Cut(st[0][0].Args, " ")
	return img
}

// auditEnvNames lists the environment variables cmd/audit reads, from its
// def(name, env) registrations.
func auditEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../cmd/audit/*.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\bdef\("[^"]+",\s*"([A-Z0-9_]+)"\)`)
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
	}
	if !names["AUDIT_OUT"] || !names["AUDIT_EXPORT"] {
		t.Fatalf("found no def(name, env) registrations for AUDIT_OUT and AUDIT_EXPORT in cmd/audit: %v", names)
	}
	return names
}

// TestDockerfile checks what the image must be: built in a separate stage
// without cgo, the Go release of go.mod, run from a distroless static base
// as a numeric non-root user, with an exec-form entrypoint and its outputs
// under /tmp.
func TestDockerfile(t *testing.T) {
	st := stages(parseDockerfile(t, "../Dockerfile"))
	if len(st) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, runtime)", len(st))
	}
	build, final := st[0], st[len(st)-1]

	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "golang:" + string(m[1]) + " AS build"; build[0].Args != want {
		t.Errorf("build stage FROM %q, want %q (go.mod's go line)", build[0].Args, want)
	}
	var buildRun string
	for _, in := range build {
		if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
			buildRun = in.Args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-tags disable_grpc_modules", "-s -w", "-o /out/audit", "./cmd/audit"} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("build stage's go build lacks %q: %q", want, buildRun)
		}
	}

	if base := final[0].Args; !strings.HasPrefix(base, "gcr.io/distroless/static-") || !strings.Contains(base, ":nonroot") {
		t.Errorf("final stage FROM %q, want a distroless static :nonroot image", base)
	}
	got := map[string][]string{}
	for _, in := range final[1:] {
		got[in.Cmd] = append(got[in.Cmd], in.Args)
	}
	if len(got["RUN"]) > 0 {
		t.Errorf("final stage runs commands %q; the base has no shell", got["RUN"])
	}
	if want := []string{"--from=build /out/audit /audit"}; strings.Join(got["COPY"], "|") != strings.Join(want, "|") {
		t.Errorf("final stage copies %q, want only %q", got["COPY"], want)
	}
	if u := got["USER"]; len(u) != 1 || !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(u[0]) {
		t.Errorf("final stage USER %q, want one numeric non-root uid:gid (Kubernetes-style runAsNonRoot checks need numbers)", u)
	}
	if e := got["ENTRYPOINT"]; len(e) != 1 || e[0] != `["/audit"]` {
		t.Errorf("ENTRYPOINT %q, want exec form [\"/audit\"]", e)
	}
	if e := got["ENV"]; len(e) != 1 || e[0] != "AUDIT_OUT=/tmp/audit-out" {
		t.Errorf("ENV %q, want AUDIT_OUT=/tmp/audit-out (only /tmp is writable on Cloud Run)", e)
	}
}

// TestDockerContextBuilds selects the build context exactly as Docker does
// from .dockerignore (moby/patternmatcher is Docker's own matcher), checks
// it holds no repository metadata or outputs, and builds the binary from
// that context alone, as the build stage does.
func TestDockerContextBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	f, err := os.Open("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	var sent []string
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		ignored, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if ignored && !pm.Exclusions() {
				return fs.SkipDir
			}
			return nil
		}
		if ignored {
			return nil
		}
		sent = append(sent, rel)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(ctxDir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sent {
		for _, never := range []string{".git/", "audit-out/", "examples/", "docs/", "deploy/", ".ci/"} {
			if strings.HasPrefix(f, never) {
				t.Errorf("build context sends %s", f)
			}
		}
		if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "/testdata/") {
			t.Errorf("build context sends test file %s", f)
		}
	}
	for _, want := range []string{"go.mod", "go.sum", "cmd/audit/main.go", "internal/access/roles.txt"} {
		if _, err := os.Stat(filepath.Join(ctxDir, want)); err != nil {
			t.Errorf("build context lacks %s", want)
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "disable_grpc_modules", "-ldflags", "-s -w", "-o", filepath.Join(t.TempDir(), "audit"), "./cmd/audit")
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in the Docker build context (%d files): %v\n%s", len(sent), err, out)
	}
}
