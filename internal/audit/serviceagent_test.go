package audit

import "testing"

func TestServiceAgent(t *testing.T) {
	for member, want := range map[string]bool{
		"serviceAccount:service-100@gcf-admin-robot.iam.gserviceaccount.com":         true,
		"serviceAccount:service-100@serverless-robot-prod.iam.gserviceaccount.com":   true,
		"serviceAccount:service-100@gcp-sa-artifactregistry.iam.gserviceaccount.com": true,
		"serviceAccount:Service-100@GCP-SA-cloudbuild.iam.gserviceaccount.com":       true,
		"serviceAccount:100@cloudservices.gserviceaccount.com":                       true,
		// Accounts that deploy on their own: user-managed, Cloud Build's
		// legacy default, Compute Engine's default.
		"serviceAccount:ci@ci.iam.gserviceaccount.com":                                            false,
		"serviceAccount:service-100@my-project.iam.gserviceaccount.com":                           false,
		"serviceAccount:100@cloudbuild.gserviceaccount.com":                                       false,
		"serviceAccount:100-compute@developer.gserviceaccount.com":                                false,
		"user:service-100@gcf-admin-robot.iam.gserviceaccount.com":                                false,
		"serviceAccount:service-x@gcp-sa-artifactregistry.iam.gserviceaccount.com":                false,
		"serviceAccount:service-100@gcp-sa-artifactregistry.iam.gserviceaccount.com.evil.example": false,
	} {
		if got := ServiceAgent(member); got != want {
			t.Errorf("ServiceAgent(%q) = %v, want %v", member, got, want)
		}
	}
}

// A service agent whose Google-granted role holds Cloud Run's deploy
// permissions (the Google APIs Service Agent's roles/editor, Cloud
// Functions' agent role) is not a deployer of ordinary resources, even
// when it cannot read their images; a user-managed account with the same
// grant is.
func TestServiceAgentsAreNotOrdinaryDeployers(t *testing.T) {
	gcf := "serviceAccount:service-100@gcf-admin-robot.iam.gserviceaccount.com"
	apis := "serviceAccount:100@cloudservices.gserviceaccount.com"
	runCases(t, []ruleCase{
		{
			name: "agents with deploy roles on the project",
			assets: []string{
				serviceAsset("app", "web", "", sharedImg), agentRole,
				policy("reg", "roles/artifactregistry.reader", runAgent),
				policy("app", "roles/cloudfunctions.serviceAgent", gcf),
				policy("app", "roles/editor", apis),
			},
			want: nil,
		},
		{
			name: "an agent as last modifier of an ordinary service",
			assets: []string{
				serviceAsset("app", "web", "service-100@gcf-admin-robot.iam.gserviceaccount.com", sharedImg), agentRole,
				policy("reg", "roles/artifactregistry.reader", runAgent),
				policy("app", "roles/cloudfunctions.serviceAgent", gcf),
			},
			want: nil,
		},
		{
			name: "a user-managed account with the same grant",
			assets: []string{
				serviceAsset("app", "web", "", sharedImg), agentRole,
				policy("reg", "roles/artifactregistry.reader", runAgent),
				policy("app", "roles/editor", ciSA),
			},
			want: []string{"DEPLOYER_CANNOT_READ_IMAGE MEDIUM " + ciSA + " shared"},
		},
	})
}
