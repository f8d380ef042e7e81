// Package conditions evaluates IAM condition expressions (CEL) for the
// access engine. It knows the attributes the audit can know: request.time
// (the evaluation time) and, for resource types whose names IAM documents,
// resource.name, resource.type and resource.service. Every other attribute
// (resource tags, api.getAttribute, request.auth, destination.ip, …) is an
// unknown: an expression that needs one is undecided, unless the known part
// decides it alone (CEL's commutative && and || with partial evaluation).
package conditions

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// Evaluator decides IAM conditions at a fixed time. It implements
// access.Conditions and access.InventoryUser and is safe for concurrent use.
type Evaluator struct {
	at  time.Time
	env *cel.Env
	inv *inventory.Inventory

	programs sync.Map // expression → *compiled
	results  sync.Map // resultKey → verdict
}

type compiled struct {
	prg cel.Program
	err error
}

type resultKey struct{ expr, target string }

type verdict struct {
	res  access.Tri
	note string
}

// New returns an Evaluator that evaluates request.time as at.
func New(at time.Time) (*Evaluator, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("building the IAM condition environment: %w", err)
	}
	return &Evaluator{at: at.UTC(), env: env}, nil
}

// UseInventory gives the evaluator the project ids that resource names use.
func (e *Evaluator) UseInventory(inv *inventory.Inventory) { e.inv = inv }

// At returns the time request.time evaluates to.
func (e *Evaluator) At() time.Time { return e.at }

// Evaluate decides condition c for a request on target.
func (e *Evaluator) Evaluate(c *inventory.Condition, target *inventory.Node) (access.Tri, string) {
	if c == nil || strings.TrimSpace(c.Expression) == "" {
		return access.Yes, ""
	}
	k := resultKey{c.Expression, ""}
	if target != nil {
		k.target = target.Key
	}
	if v, ok := e.results.Load(k); ok {
		v := v.(verdict)
		return v.res, v.note
	}
	res, note := e.evaluate(c.Expression, target)
	e.results.Store(k, verdict{res, note})
	return res, note
}

func (e *Evaluator) evaluate(expr string, target *inventory.Node) (access.Tri, string) {
	p, err := e.program(expr)
	if err != nil {
		return access.Unknown, "the condition cannot be evaluated: " + firstLine(err.Error())
	}
	vars, unknowns := e.activation(target)
	act, err := cel.PartialVars(vars, unknowns...)
	if err != nil {
		return access.Unknown, "the condition cannot be evaluated: " + err.Error()
	}
	out, _, err := p.Eval(act)
	at := e.at.Format(time.RFC3339)
	switch {
	case types.IsUnknown(out):
		return access.Unknown, "the condition depends on " + unknownAttributes(out) + ", which the audit cannot know"
	case err != nil:
		return access.Unknown, "the condition cannot be evaluated: " + firstLine(err.Error())
	case out == types.True:
		return access.Yes, "the condition holds at " + at
	case out == types.False:
		return access.No, "the condition is false at " + at
	}
	return access.Unknown, fmt.Sprintf("the condition evaluates to %v, not a bool", out)
}

// program compiles expr once.
func (e *Evaluator) program(expr string) (cel.Program, error) {
	if v, ok := e.programs.Load(expr); ok {
		c := v.(*compiled)
		return c.prg, c.err
	}
	c := &compiled{}
	ast, iss := e.env.Compile(expr)
	if iss.Err() != nil {
		c.err = iss.Err()
	} else {
		c.prg, c.err = e.env.Program(ast, cel.EvalOptions(cel.OptPartialEval))
	}
	v, _ := e.programs.LoadOrStore(expr, c)
	c = v.(*compiled)
	return c.prg, c.err
}

// activation binds what the audit knows and marks the rest unknown.
func (e *Evaluator) activation(target *inventory.Node) (map[string]any, []*cel.AttributePatternType) {
	unknowns := []*cel.AttributePatternType{
		cel.AttributePattern("request").QualString("host"),
		cel.AttributePattern("request").QualString("path"),
		cel.AttributePattern("request").QualString("auth"),
		cel.AttributePattern("api"),
		cel.AttributePattern("destination"),
		cel.AttributePattern("origin"),
	}
	resource := map[string]any{}
	attrs := Resource(e.inv, target)
	for _, a := range []struct{ field, value string }{
		{"name", attrs.Name}, {"type", attrs.Type}, {"service", attrs.Service},
	} {
		if a.value == "" {
			unknowns = append(unknowns, cel.AttributePattern("resource").QualString(a.field))
		} else {
			resource[a.field] = a.value
		}
	}
	return map[string]any{
		"request":  map[string]any{"time": e.at},
		"resource": resource,
	}, unknowns
}

// unknownAttributes lists the attributes an unknown result depends on.
func unknownAttributes(v ref.Val) string {
	u, ok := v.(*types.Unknown)
	if !ok {
		return "unknown attributes"
	}
	seen := map[string]bool{}
	for _, id := range u.IDs() {
		trails, _ := u.GetAttributeTrails(id)
		for _, t := range trails {
			seen[t.String()] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "unknown attributes"
	}
	return strings.Join(names, ", ")
}

// firstLine keeps a CEL error to its message line: reasons are one line.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimPrefix(s, "ERROR: <input>:")
}
