package deploy

import (
	"slices"
	"strings"
	"testing"
)

// TestSetupSCCAndNotify: with ENABLE_SCC the setup creates the Security
// Command Center source once (through the API, which gcloud lacks a create
// for) and hands its name to the build; with NOTIFY_TOPIC it creates the
// topic and hands its full name over. Without them, neither happens.
func TestSetupSCCAndNotify(t *testing.T) {
	calls, out := runSetup(t, "ENABLE_SCC=true", "NOTIFY_TOPIC=runaudit-changes")
	var post, build, topic, enable []string
	for _, c := range calls {
		w := strings.Join(c, " ")
		switch {
		case c[0] == "curl":
			post = c
		case strings.HasPrefix(w, "gcloud builds submit"):
			build = c
		case strings.HasPrefix(w, "gcloud pubsub topics create"):
			topic = c
		case strings.HasPrefix(w, "gcloud services enable"):
			enable = c
		}
	}
	if post == nil || !slices.Contains(post, "https://securitycenter.googleapis.com/v2/organizations/"+testOrg+"/sources") || !slices.Contains(post, "POST") {
		t.Errorf("no organizations.sources.create call: %q", post)
	}
	if !strings.Contains(strings.Join(post, " "), `"displayName": "runaudit"`) {
		t.Errorf("source created without its display name: %q", post)
	}
	if topic == nil || topic[4] != "runaudit-changes" || flag(topic, "project") != testProject {
		t.Errorf("topic create: %q", topic)
	}
	for _, api := range []string{"securitycenter.googleapis.com", "pubsub.googleapis.com"} {
		if !slices.Contains(enable, api) {
			t.Errorf("%s not enabled", api)
		}
	}
	subs := flag(build, "substitutions")
	for _, want := range []string{"_SCC_SOURCE=organizations/" + testOrg + "/sources/5550001", "_NOTIFY_TOPIC=projects/" + testProject + "/topics/runaudit-changes"} {
		if !strings.Contains(","+subs+",", ","+want+",") {
			t.Errorf("build substitutions %q lack %s", subs, want)
		}
	}
	if !strings.Contains(out, "Security Command Center source: organizations/"+testOrg+"/sources/5550001") {
		t.Errorf("setup does not say which source it uses:\n%s", out)
	}
	// The role: the three calls the sink makes, never muting.
	role := customRole(t, calls, "runauditSccWriter")
	slices.Sort(role)
	if want := []string{"securitycenter.findings.list", "securitycenter.findings.setState", "securitycenter.findings.update"}; !slices.Equal(role, want) {
		t.Errorf("runauditSccWriter = %v, want %v", role, want)
	}
	// Each is a real permission, held by the predefined findings editor
	// role it is carved from.
	editorRole, _ := predefinedRoles(t).role(t, "roles/securitycenter.findingsEditor")
	editor := editorRole.Perms
	for _, p := range role {
		if !slices.Contains(editor, p) {
			t.Errorf("%s is not in roles/securitycenter.findingsEditor: misspelt?", p)
		}
	}

	// Off by default.
	calls, _ = runSetup(t)
	for _, c := range calls {
		w := strings.Join(c, " ")
		if c[0] == "curl" || strings.Contains(w, "pubsub") || strings.Contains(w, "securitycenter") || strings.Contains(w, "runauditSccWriter") {
			t.Errorf("default setup touches SCC or Pub/Sub: %q", w)
		}
		if strings.HasPrefix(w, "gcloud builds submit") && !strings.Contains(flag(c, "substitutions"), "_SCC_SOURCE=,_NOTIFY_TOPIC=") {
			t.Errorf("default build substitutions %q should leave both empty", flag(c, "substitutions"))
		}
	}
}
