// Package groupstest is an in-process fake of the Cloud Identity Groups
// REST API for tests: groups.lookup, memberships.checkTransitiveMembership
// and memberships.list (paged), over a table of groups. Tests call it with
// the real client (option.WithEndpoint(server.URL + "/")).
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
	// PageSize is the memberships per list page (default 2).
	PageSize int

	mu       sync.Mutex
	ids      map[string]string      // group email → id
	members  map[string][][2]string // group id → (type, email)
	failures int
	broken   bool
	calls    map[string]int
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
	if seen[id] {
		return false
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
		json.NewEncoder(w).Encode(map[string]string{"name": "groups/" + id})
	case "check":
		if !s.Premium {
			apiError(w, 403, "feature requires Cloud Identity Premium")
			return
		}
		id := strings.TrimSuffix(strings.TrimPrefix(p, "/v1/groups/"), "/memberships:checkTransitiveMembership")
		if _, ok := s.members[id]; !ok {
			apiError(w, 404, "no group "+id)
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
		size := s.PageSize
		if size <= 0 {
			size = 2
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
		end := min(start+size, len(ms))
		page := []map[string]any{}
		for i, m := range ms[start:end] {
			page = append(page, map[string]any{
				"name": fmt.Sprintf("groups/%s/memberships/%d", id, start+i), "type": m[0],
				"preferredMemberKey": map[string]string{"id": m[1]},
			})
		}
		resp := map[string]any{"memberships": page}
		if end < len(ms) {
			resp["nextPageToken"] = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(resp)
	}
}
