package conditions

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
	"github.com/runaudit/runaudit/internal/scan"
)

// at is the evaluation time of the tests: a Monday, 10:30 in Berlin.
var at = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func loadInventory(t testing.TB) *inventory.Inventory {
	t.Helper()
	f, err := os.Open("testdata/org.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := inventory.NewBuilder()
	if _, err := scan.ReadExport(context.Background(), "testdata/org.ndjson", f, b, 1); err != nil {
		t.Fatal(err)
	}
	inv := b.Finish()
	if len(inv.Skipped) > 0 {
		t.Fatalf("fixture skipped: %+v", inv.Skipped)
	}
	return inv
}

func newEvaluator(t testing.TB) (*Evaluator, *inventory.Inventory) {
	t.Helper()
	e, err := New(at)
	if err != nil {
		t.Fatal(err)
	}
	inv := loadInventory(t)
	e.UseInventory(inv)
	return e, inv
}

const (
	repo     = "projects/200/locations/europe-west1/repositories/shared"
	repoNoID = "projects/300/locations/us/repositories/noid"
	secret   = "projects/200/secrets/token"
	service  = "projects/200/locations/europe-west1/services/web"
)

func TestEvaluate(t *testing.T) {
	e, inv := newEvaluator(t)
	tests := []struct {
		name   string
		expr   string
		target string
		want   access.Tri
		note   string // a part of the note
	}{
		{"expired grant", `request.time < timestamp("2026-01-01T00:00:00Z")`, repo, access.No, "false at 2026-11-02T09:30:00Z"},
		{"grant still in force", `request.time < timestamp("2027-01-01T00:00:00Z")`, repo, access.Yes, "holds at 2026-11-02T09:30:00Z"},
		{"grant not yet in force", `request.time >= timestamp("2027-01-01T00:00:00Z")`, repo, access.No, "false"},
		{"window around the evaluation time", `request.time > timestamp("2026-11-01T00:00:00Z") && request.time < timestamp("2026-11-03T00:00:00Z")`, repo, access.Yes, "holds"},
		{"business hours in a time zone", `request.time.getHours("Europe/Berlin") >= 9 && request.time.getHours("Europe/Berlin") < 17`, repo, access.Yes, "holds"},
		{"hours in UTC differ", `request.time.getHours() == 10`, repo, access.No, "false"},
		{"weekday", `request.time.getDayOfWeek("Europe/Berlin") == 1`, repo, access.Yes, "holds"},
		{"duration arithmetic", `request.time < timestamp("2026-11-01T00:00:00Z") + duration("48h")`, repo, access.Yes, "holds"},
		{"repository name with the project id", `resource.name.startsWith("projects/reg/locations/europe-west1/repositories/shared")`, repo, access.Yes, "holds"},
		{"another repository's name", `resource.name == "projects/reg/locations/europe-west1/repositories/other"`, repo, access.No, "false"},
		{"repository name needs the project id", `resource.name.startsWith("projects/")`, repoNoID, access.Unknown, "resource.name"},
		{"repository type", `resource.type == "artifactregistry.googleapis.com/Repository"`, repo, access.Yes, "holds"},
		{"repository service", `resource.service != "artifactregistry.googleapis.com"`, repo, access.No, "false"},
		{"extract", `resource.name.extract("projects/{project}/") == "reg"`, repo, access.Yes, "holds"},
		{"endsWith", `resource.name.endsWith("/shared")`, repo, access.Yes, "holds"},
		{"matches", `resource.name.matches("^projects/[a-z]+/locations/europe-")`, repo, access.Yes, "holds"},
		{"Cloud Run resource names are not known", `resource.name.startsWith("projects/reg/")`, service, access.Unknown, "resource.name"},
		{"Cloud Run resource type is not known", `resource.type == "run.googleapis.com/Service"`, service, access.Unknown, "resource.type"},
		{"secret service is known", `resource.service == "secretmanager.googleapis.com"`, secret, access.Yes, "holds"},
		{"secret name is not known", `resource.name.startsWith("projects/200/secrets/token")`, secret, access.Unknown, "resource.name"},
		{"tags are unknown", `resource.matchTag("123/env", "prod")`, repo, access.Unknown, "resource.matchTag"},
		{"tag ids are unknown", `resource.matchTagId("tagKeys/1", "tagValues/2")`, repo, access.Unknown, "resource.matchTagId"},
		{"tag keys are unknown", `resource.hasTagKey("123/env")`, repo, access.Unknown, "resource.hasTagKey"},
		{"API attributes are unknown", `"roles/run.invoker" in api.getAttribute("iam.googleapis.com/modifiedGrantsByRole", [])`, repo, access.Unknown, "api"},
		{"access levels are unknown", `"accessPolicies/1/accessLevels/corp" in request.auth.access_levels`, repo, access.Unknown, "request.auth"},
		{"destination is unknown", `destination.port == 22`, repo, access.Unknown, "destination"},
		{"IAP host is unknown", `request.host == "app.example.com"`, repo, access.Unknown, "request.host"},
		{"an expired grant stays expired whatever the tags", `request.time < timestamp("2026-01-01T00:00:00Z") && resource.matchTag("123/env", "prod")`, repo, access.No, "false"},
		{"a true time part decides an or", `request.time < timestamp("2027-01-01T00:00:00Z") || resource.matchTag("123/env", "prod")`, repo, access.Yes, "holds"},
		{"a false time part leaves an or undecided", `request.time < timestamp("2026-01-01T00:00:00Z") || resource.matchTag("123/env", "prod")`, repo, access.Unknown, "resource.matchTag"},
		{"a true time part leaves an and undecided", `request.time < timestamp("2027-01-01T00:00:00Z") && resource.matchTag("123/env", "prod")`, repo, access.Unknown, "resource.matchTag"},
		{"syntax error", `request.time <`, repo, access.Unknown, "cannot be evaluated"},
		{"undeclared variable", `principal.email == "a@x"`, repo, access.Unknown, "cannot be evaluated"},
		{"unknown request field", `request.foo == 1`, repo, access.Unknown, "cannot be evaluated"},
		{"not a bool", `"yes"`, repo, access.Unknown, "not a bool"},
		{"runtime error", `timestamp("not a time") < request.time`, repo, access.Unknown, "cannot be evaluated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := inv.Nodes[tc.target]
			if n == nil {
				t.Fatalf("no node %s", tc.target)
			}
			got, note := e.Evaluate(&inventory.Condition{Title: "t", Expression: tc.expr}, n)
			if got != tc.want || !strings.Contains(note, tc.note) {
				t.Errorf("Evaluate(%s) = %v, %q; want %v, a note with %q", tc.expr, got, note, tc.want, tc.note)
			}
		})
	}
}

func TestEvaluateAtDependsOnTime(t *testing.T) {
	inv := loadInventory(t)
	c := &inventory.Condition{Expression: `request.time < timestamp("2026-01-01T00:00:00Z")`}
	for _, tc := range []struct {
		at   time.Time
		want access.Tri
	}{
		{time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), access.Yes},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), access.No},
	} {
		e, err := New(tc.at)
		if err != nil {
			t.Fatal(err)
		}
		e.UseInventory(inv)
		if got, note := e.Evaluate(c, inv.Nodes[repo]); got != tc.want {
			t.Errorf("at %s: %v (%s), want %v", tc.at, got, note, tc.want)
		}
	}
}

func TestEmptyConditionHolds(t *testing.T) {
	e, inv := newEvaluator(t)
	if got, _ := e.Evaluate(&inventory.Condition{Title: "no expression"}, inv.Nodes[repo]); got != access.Yes {
		t.Errorf("empty expression: %v, want yes", got)
	}
}

func TestEvaluateConcurrently(t *testing.T) {
	e, inv := newEvaluator(t)
	exprs := []string{
		`request.time < timestamp("2027-01-01T00:00:00Z")`,
		`resource.matchTag("1/env", "prod")`,
		`resource.name.endsWith("/shared")`,
	}
	want := []access.Tri{access.Yes, access.Unknown, access.Yes}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % len(exprs)
				if got, _ := e.Evaluate(&inventory.Condition{Expression: exprs[k]}, inv.Nodes[repo]); got != want[k] {
					t.Errorf("%s: %v, want %v", exprs[k], got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestExtract(t *testing.T) {
	e, _ := newEvaluator(t)
	for _, tc := range []struct{ expr, want string }{
		{`"projects/p1/secrets/s".extract("projects/{project}/")`, "p1"},
		{`"projects/p1/secrets/s".extract("/secrets/{name}")`, "s"},
		{`"folders/1".extract("projects/{project}/")`, ""},
		{`"projects/p1".extract("projects/{project}/")`, ""},
	} {
		p, err := e.program(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		out, _, err := p.Eval(map[string]any{})
		if err != nil || out.Value() != tc.want {
			t.Errorf("%s = %v, %v; want %q", tc.expr, out, err, tc.want)
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	e, inv := newEvaluator(b)
	n := inv.Nodes[repo]
	c := &inventory.Condition{Expression: `request.time < timestamp("2027-01-01T00:00:00Z") && resource.name.startsWith("projects/reg/")`}
	b.Run("first", func(b *testing.B) {
		for range b.N {
			e.results.Clear()
			e.Evaluate(c, n)
		}
	})
	b.Run("cached", func(b *testing.B) {
		for range b.N {
			e.Evaluate(c, n)
		}
	})
}
