// Package groupstest is an in-process fake of the Cloud Identity Groups
// REST API for tests: groups.lookup, memberships.checkTransitiveMembership
// and memberships.list (paged, with views), over a table of groups. Tests
// call it with the real client (option.WithEndpoint(server.URL + "/")).
//
// It follows the API reference
// (https://cloud.google.com/identity/docs/reference/rest/v1/groups.memberships):
//   - memberships.list defaults to the BASIC view, which here carries the
//     member key but not the membership type; FULL carries the type.
//     pageSize defaults to 200 (BASIC) or 50 (FULL) and must not exceed
//     1000 (BASIC) or 500 (FULL): larger is INVALID_ARGUMENT.
//   - checkTransitiveMembership needs a Premium (or Enterprise) account and
//     answers 403 PERMISSION_DENIED without one; hasMembership counts only
//     memberships the caller can view.
//   - A group the caller may not see answers 403 to every call, like a
//     permission error.
package groupstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Server is a fake Cloud Identity. Its zero value has no groups, refuses
// checkTransitiveMembership (as for accounts without Premium) and pages
// members two at a time; set Premium to allow the check.
type Server struct {
	// Premium allows checkTransitiveMembership.
	Premium bool
	// PageSize caps the memberships per list page below what the request
	// asks (default 2): the API may return fewer than pageSize.
	PageSize int
	// BasicOnly answers every list in the BASIC view, whatever view is asked,
	// as a server that leaves the membership type out would.
	BasicOnly bool

	mu           sync.Mutex
	hidden       map[string]bool        // group ids whose members the caller may not see
	lookupHidden map[string]bool        // group ids the caller may not even look up
	views        []string               // the view of each list request
	ids          map[string]string      // group email → id
	members      map[string][][2]string // group id → (type, email)
	failures     int
	broken       bool
	calls        map[string]int
}

// AddGroup adds a group and its direct members, as IAM member strings
// ("user:…", "serviceAccount:…", "group:…").
func (s *Server) AddGroup(email string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids, s.members = map[string]string{}, map[string][][2]string{}
	}
	id := fmt.Sprintf("id%d", len(s.ids))
	s.ids[strings.ToLower(email)] = id
	for _, m := range members {
		kind, e, _ := strings.Cut(m, ":")
		typ := map[string]string{"user": "USER", "serviceAccount": "SERVICE_ACCOUNT", "group": "GROUP"}[kind]
		s.members[id] = append(s.members[id], [2]string{typ, e})
	}
}

// Delete removes a group, as when it is deleted during a run: calls about
// it answer 404.
func (s *Server) Delete(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.ids[strings.ToLower(email)]
	delete(s.ids, strings.ToLower(email))
	delete(s.members, id)
}

// Hide makes a group invisible to the caller: every call about it answers
// 403, and memberships through it are not viewable.
func (s *Server) Hide(email string) { s.hide(email, true) }

// HideMembers lets the caller look the group up but not view its members:
// checkTransitiveMembership and memberships.list about it answer 403, and
// memberships through it are not viewable.
func (s *Server) HideMembers(email string) { s.hide(email, false) }

func (s *Server) hide(email string, whole bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hidden == nil {
		s.hidden, s.lookupHidden = map[string]bool{}, map[string]bool{}
	}
	id := s.ids[strings.ToLower(email)]
	s.hidden[id] = true
	s.lookupHidden[id] = whole
}

// Views returns the view asked by each list request ("" when none).
func (s *Server) Views() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.views...)
}

// FailNext answers the next n requests with 503.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = n
}

// Break answers every request with 500 when on.
func (s *Server) Break(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = on
}

// Calls counts requests by kind: "lookup", "check", "list".
func (s *Server) Calls(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

func (s *Server) transitive(id, email string, seen map[string]bool) bool {
	if seen[id] || s.hidden[id] {
		return false // memberships through a hidden group are not viewable
	}
	seen[id] = true
	for _, m := range s.members[id] {
		if strings.EqualFold(m[1], email) {
			return true
		}
		if m[0] == "GROUP" && s.transitive(s.ids[strings.ToLower(m[1])], email, seen) {
			return true
		}
	}
	return false
}

func apiError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// ServeHTTP implements the three REST calls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := r.URL.Path
	kind := ""
	switch {
	case r.Method != http.MethodGet:
	case p == "/v1/groups:lookup":
		kind = "lookup"
	case strings.HasSuffix(p, "/memberships:checkTransitiveMembership"):
		kind = "check"
	case strings.HasPrefix(p, "/v1/groups/") && strings.HasSuffix(p, "/memberships"):
		kind = "list"
	}
	if kind == "" {
		apiError(w, 404, "no such method "+r.Method+" "+p)
		return
	}
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[kind]++
	if s.broken {
		apiError(w, 500, "backend error")
		return
	}
	if s.failures > 0 {
		s.failures--
		apiError(w, 503, "try again")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch kind {
	case "lookup":
		id, ok := s.ids[strings.ToLower(r.URL.Query().Get("groupKey.id"))]
		if !ok {
			apiError(w, 404, "group not found")
			return
		}
		if s.lookupHidden[id] {
			apiError(w, 403, "The caller does not have permission")
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"name": "groups/" + id})
	case "check":
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/groups/"), "/memberships:checkTransitiveMembership")
		if _, ok := s.members[id]; !ok {
			apiError(w, 404, "no group "+id)
			return
		}
		if s.hidden[id] {
			apiError(w, 403, "The caller does not have permission")
			return
		}
		if !s.Premium {
			apiError(w, 403, "Request had insufficient authentication scopes or the feature requires Cloud Identity Premium")
			return
		}
		q := r.URL.Query().Get("query")
		email, ok := strings.CutPrefix(q, "member_key_id == '")
		if !ok || !strings.HasSuffix(email, "'") {
			apiError(w, 400, "bad query "+q)
			return
		}
		email = strings.TrimSuffix(email, "'")
		json.NewEncoder(w).Encode(map[string]bool{"hasMembership": s.transitive(id, email, map[string]bool{})})
	case "list":
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/groups/"), "/memberships")
		ms, ok := s.members[id]
		if !ok {
			apiError(w, 404, "no group "+id)
			return
		}
		if s.hidden[id] {
			apiError(w, 403, "The caller does not have permission")
			return
		}
		q := r.URL.Query()
		view := q.Get("view")
		s.views = append(s.views, view)
		full := view == "FULL"
		if view != "" && view != "BASIC" && view != "FULL" && view != "VIEW_UNSPECIFIED" {
			apiError(w, 400, "invalid view "+view)
			return
		}
		size, limit := 200, 1000
		if full {
			size, limit = 50, 500
		}
		if v := q.Get("pageSize"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > limit {
				apiError(w, 400, fmt.Sprintf("pageSize must not be greater than %d for the %s view", limit, map[bool]string{true: "FULL", false: "BASIC"}[full]))
				return
			}
			if n > 0 {
				size = n
			}
		}
		if s.PageSize > 0 {
			size = min(size, s.PageSize)
		} else {
			size = min(size, 2)
		}
		start, _ := strconv.Atoi(q.Get("pageToken"))
		end := min(start+size, len(ms))
		page := []map[string]any{}
		for i, m := range ms[start:end] {
			item := map[string]any{
				"name":               fmt.Sprintf("groups/%s/memberships/%d", id, start+i),
				"preferredMemberKey": map[string]string{"id": m[1]},
				"roles":              []map[string]string{{"name": "MEMBER"}},
			}
			if full && !s.BasicOnly {
				item["type"] = m[0]
			}
			page = append(page, item)
		}
		resp := map[string]any{"memberships": page}
		if end < len(ms) {
			resp["nextPageToken"] = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(resp)
	}
}
