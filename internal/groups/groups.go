// Package groups decides Google group membership for the access engine:
// from a file that lists groups and their members (offline), from the
// Cloud Identity API (live), or from both in turn. Membership is
// transitive: a member of a nested group is a member of every group that
// contains it. An answer that cannot be found is Unknown, never a grant.
package groups

import (
	"strings"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/inventory"
)

// Chain asks each decider in turn and returns the first decided answer
// (Yes or No). When none decides, the answer is Unknown with every
// decider's reason.
type Chain []access.Groups

// UseInventory implements access.InventoryUser for the deciders that need
// the inventory.
func (c Chain) UseInventory(inv *inventory.Inventory) {
	for _, g := range c {
		if u, ok := g.(access.InventoryUser); ok {
			u.UseInventory(inv)
		}
	}
}

// IsMember implements access.Groups.
func (c Chain) IsMember(member, group string) (access.Tri, string) {
	var notes []string
	for _, g := range c {
		res, note := g.IsMember(member, group)
		if res != access.Unknown {
			return res, note
		}
		notes = append(notes, note)
	}
	if len(notes) == 0 {
		return access.Unknown, "membership of " + group + " was not resolved"
	}
	return access.Unknown, strings.Join(notes, "; ")
}

// canonical returns an IAM member string with its email in lower case
// ("user:A@X" → "user:a@x"), and the kind and email apart. Bare emails are
// taken as groups when asGroup is true.
func canonical(m string, asGroup bool) (full, kind, email string) {
	kind, email, ok := strings.Cut(strings.TrimSpace(m), ":")
	if !ok {
		if !asGroup {
			return "", "", ""
		}
		kind, email = "group", kind
	}
	email = strings.ToLower(strings.TrimSpace(email))
	switch strings.ToLower(kind) {
	case "user":
		kind = "user"
	case "serviceaccount":
		kind = "serviceAccount"
	case "group":
		kind = "group"
	default:
		return "", "", ""
	}
	if email == "" || !strings.Contains(email, "@") {
		return "", "", ""
	}
	return kind + ":" + email, kind, email
}
