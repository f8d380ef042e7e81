package deploy

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// cloudBuild is the part of a Cloud Build config the checks read.
type cloudBuild struct {
	Substitutions map[string]string `yaml:"substitutions"`
	Options       map[string]any    `yaml:"options"`
	Steps         []buildStep       `yaml:"steps"`
	Timeout       string            `yaml:"timeout"`
}

type buildStep struct {
	ID         string   `yaml:"id"`
	Name       string   `yaml:"name"`
	Entrypoint string   `yaml:"entrypoint"`
	Args       []string `yaml:"args"`
	Env        []string `yaml:"env"`
}

// script is everything the step runs, as one string.
func (s buildStep) script() string {
	return strings.Join(append([]string{s.Entrypoint}, s.Args...), " ")
}

func loadCloudBuild(t *testing.T) *cloudBuild {
	t.Helper()
	b, err := os.ReadFile("../cloudbuild.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cb cloudBuild
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&cb); err != nil {
		t.Fatalf("cloudbuild.yaml: %v", err)
	}
	return &cb
}

// builtinSubstitutions are Cloud Build's own.
var builtinSubstitutions = []string{
	"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION", "TRIGGER_NAME", "COMMIT_SHA",
	"REVISION_ID", "SHORT_SHA", "REPO_NAME", "REPO_FULL_NAME", "BRANCH_NAME", "TAG_NAME",
	"REF_NAME", "TRIGGER_BUILD_CONFIG_PATH", "SERVICE_ACCOUNT_EMAIL", "SERVICE_ACCOUNT",
}

// substRE finds what Cloud Build substitutes: $NAME or ${NAME}, not $$.
var substRE = regexp.MustCompile(`\$(\$|\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|.?)`)

// usedSubstitutions returns the substitution names s refers to, and an
// error for a lone $ that Cloud Build would reject or mangle (bash's own
// $VAR and $(…) must be written $$).
func usedSubstitutions(s string) ([]string, error) {
	var names []string
	for _, m := range substRE.FindAllStringSubmatch(s, -1) {
		ref := m[1]
		switch {
		case ref == "$":
			continue
		case strings.HasPrefix(ref, "{"):
			names = append(names, strings.Trim(ref, "{}"))
		case regexp.MustCompile(`^[A-Za-z_]`).MatchString(ref):
			names = append(names, ref)
		default:
			return nil, fmt.Errorf("lone $ before %q: write $$ for the shell", ref)
		}
	}
	return names, nil
}

var requiredSubstitutions = []string{"_PROJECT", "_REGION", "_REPOSITORY", "_DATASET", "_BUCKET", "_ORG", "_JOB", "_RUNTIME_SA"}

// requiredJobEnv is the job's configuration the deploy step must set.
var requiredJobEnv = map[string]string{
	"AUDIT_ORG":        "${_ORG}",
	"AUDIT_BQ_DATASET": "${_PROJECT}.${_DATASET}",
	"AUDIT_REPORT_URI": "gs://${_BUCKET}/${_REPORT_PREFIX}/",
	"AUDIT_OUT":        "/tmp/audit-out",
}

// checkCloudBuild returns every way cb falls short.
func checkCloudBuild(cb *cloudBuild, goImage string, knownEnv map[string]bool) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	// Steps: test, build, push, deploy, in that order.
	index := map[string]int{}
	for i, s := range cb.Steps {
		if s.ID == "" {
			bad("step %d (%s) has no id", i, s.Name)
		}
		index[s.ID] = i
	}
	order := []string{"test", "build", "push", "deploy"}
	for i, id := range order {
		j, ok := index[id]
		if !ok {
			bad("no %q step", id)
			continue
		}
		if i > 0 {
			if k, ok := index[order[i-1]]; ok && k > j {
				bad("step %q runs before %q", id, order[i-1])
			}
		}
	}
	step := func(id string) buildStep {
		if i, ok := index[id]; ok {
			return cb.Steps[i]
		}
		return buildStep{}
	}

	// Substitutions: the required ones exist; every one defined is used and
	// every one used is defined (Cloud Build rejects a build otherwise).
	for _, k := range requiredSubstitutions {
		if _, ok := cb.Substitutions[k]; !ok {
			bad("substitution %s is not defined", k)
		}
	}
	used := map[string]bool{}
	texts := []string{}
	for _, s := range cb.Steps {
		texts = append(texts, s.Name, s.script(), strings.Join(s.Env, " "))
	}
	for _, v := range cb.Substitutions {
		texts = append(texts, v)
	}
	for _, text := range texts {
		names, err := usedSubstitutions(text)
		if err != nil {
			bad("%v in %q", err, text)
		}
		for _, n := range names {
			used[n] = true
			if strings.HasPrefix(n, "_") {
				if _, ok := cb.Substitutions[n]; !ok {
					bad("substitution %s is used but not defined", n)
				}
			} else if !slices.Contains(builtinSubstitutions, n) {
				bad("$%s is neither a built-in nor a user substitution (write $$%s for the shell)", n, n)
			}
		}
	}
	for k := range cb.Substitutions {
		if !used[k] {
			bad("substitution %s is defined but never used", k)
		}
	}
	if v, _ := cb.Options["dynamicSubstitutions"].(bool); !v && strings.Contains(cb.Substitutions["_PROJECT"], "$") {
		bad("_PROJECT refers to another substitution without options.dynamicSubstitutions")
	}
	if cb.Options["logging"] != "CLOUD_LOGGING_ONLY" {
		bad("options.logging must be CLOUD_LOGGING_ONLY for a build with its own service account, not %v", cb.Options["logging"])
	}

	// Test with the Go release the image is built with.
	test := step("test")
	if test.Name != goImage && !(test.Name == "${_GO_IMAGE}" && cb.Substitutions["_GO_IMAGE"] == goImage) {
		bad("test step runs in %q, want the Dockerfile's build image %q", test.Name, goImage)
	}
	if !strings.Contains(test.script(), "go test ./...") || !strings.Contains(test.script(), "go vet ./...") {
		bad("test step does not run go vet ./... and go test ./...: %q", test.script())
	}

	// Build and push the image in the repository; deploy what was pushed.
	image := "${_REGION}-docker.pkg.dev/${_PROJECT}/${_REPOSITORY}/${_IMAGE}:${BUILD_ID}"
	if b := step("build"); !strings.HasPrefix(b.Name, "gcr.io/cloud-builders/docker") || !slices.Contains(b.Args, "build") || !slices.Contains(b.Args, "--tag="+image) {
		bad("build step does not docker build --tag=%s: %v", image, b.Args)
	}
	push := step("push")
	if !slices.Contains(push.Env, "IMAGE="+image) || !strings.Contains(push.script(), `docker push "$$IMAGE"`) {
		bad("push step does not push %s", image)
	}
	if !strings.Contains(push.script(), "RepoDigests") || !strings.Contains(push.script(), "/workspace/image-ref") {
		bad("push step does not record the pushed digest in /workspace/image-ref")
	}
	deploy := step("deploy")
	ds := deploy.script()
	for _, want := range []string{
		`gcloud run jobs deploy "${_JOB}"`,
		`--project="${_PROJECT}"`,
		`--region="${_REGION}"`,
		`--image="$$(cat /workspace/image-ref)"`,
		`--service-account="${_RUNTIME_SA}@${_PROJECT}.iam.gserviceaccount.com"`,
		"--max-retries=0",
		"--tasks=1",
	} {
		if !strings.Contains(ds, want) {
			bad("deploy step lacks %s", want)
		}
	}
	if strings.Contains(ds, "--set-env-vars") {
		bad("deploy step uses --set-env-vars, which drops variables set by hand; use --update-env-vars")
	}
	env := map[string]string{}
	if m := regexp.MustCompile(`--update-env-vars="([^"]*)"`).FindStringSubmatch(ds); m != nil {
		for _, kv := range strings.Split(m[1], ",") {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	} else {
		bad("deploy step has no --update-env-vars=\"…\"")
	}
	for k, want := range requiredJobEnv {
		if env[k] != want {
			bad("deploy sets %s=%q, want %q", k, env[k], want)
		}
	}
	for k := range env {
		if !knownEnv[k] && !runtimeEnv[k] {
			bad("deploy sets %s, which no flag of cmd/audit reads", k)
		}
	}
	return errs
}

// runtimeEnv are variables the Go runtime reads, not cmd/audit.
var runtimeEnv = map[string]bool{"GOMEMLIMIT": true}

func TestCloudBuild(t *testing.T) {
	cb := loadCloudBuild(t)
	known := auditEnvNames(t)
	for _, err := range checkCloudBuild(cb, dockerfileGoImage(t), known) {
		t.Error(err)
	}
}

// TestCloudBuildChecksFire breaks a copy of cloudbuild.yaml in each way the
// checks guard against and expects each to be caught.
func TestCloudBuildChecksFire(t *testing.T) {
	goImage, known := dockerfileGoImage(t), auditEnvNames(t)
	tests := []struct {
		name   string
		change func(cb *cloudBuild)
		want   string
	}{
		{"no push", func(cb *cloudBuild) {
			cb.Steps = slices.DeleteFunc(cb.Steps, func(s buildStep) bool { return s.ID == "push" })
		}, `no "push" step`},
		{"deploy before test", func(cb *cloudBuild) {
			i := slices.IndexFunc(cb.Steps, func(s buildStep) bool { return s.ID == "deploy" })
			cb.Steps[0], cb.Steps[i] = cb.Steps[i], cb.Steps[0]
		}, "runs before"},
		{"missing substitution", func(cb *cloudBuild) { delete(cb.Substitutions, "_BUCKET") }, "_BUCKET is not defined"},
		{"unused substitution", func(cb *cloudBuild) { cb.Substitutions["_SPARE"] = "x" }, "_SPARE is defined but never used"},
		{"shell variable unescaped", func(cb *cloudBuild) {
			for i := range cb.Steps {
				for j := range cb.Steps[i].Args {
					cb.Steps[i].Args[j] = strings.ReplaceAll(cb.Steps[i].Args[j], "$$IMAGE", "$IMAGE")
				}
			}
		}, "$IMAGE is neither"},
		{"set-env-vars", func(cb *cloudBuild) {
			i := slices.IndexFunc(cb.Steps, func(s buildStep) bool { return s.ID == "deploy" })
			a := cb.Steps[i].Args
			a[len(a)-1] = strings.ReplaceAll(a[len(a)-1], "--update-env-vars", "--set-env-vars")
		}, "--set-env-vars"},
		{"output outside /tmp", func(cb *cloudBuild) {
			i := slices.IndexFunc(cb.Steps, func(s buildStep) bool { return s.ID == "deploy" })
			a := cb.Steps[i].Args
			a[len(a)-1] = strings.ReplaceAll(a[len(a)-1], "AUDIT_OUT=/tmp/audit-out", "AUDIT_OUT=/audit-out")
		}, "AUDIT_OUT"},
		{"unknown variable", func(cb *cloudBuild) {
			i := slices.IndexFunc(cb.Steps, func(s buildStep) bool { return s.ID == "deploy" })
			a := cb.Steps[i].Args
			a[len(a)-1] = strings.ReplaceAll(a[len(a)-1], "AUDIT_QUIET=true", "AUDIT_QUITE=true")
		}, "AUDIT_QUITE, which no flag"},
		{"other Go release", func(cb *cloudBuild) { cb.Substitutions["_GO_IMAGE"] = "golang:1.20" }, "test step runs in"},
		{"retries", func(cb *cloudBuild) {
			i := slices.IndexFunc(cb.Steps, func(s buildStep) bool { return s.ID == "deploy" })
			a := cb.Steps[i].Args
			a[len(a)-1] = strings.ReplaceAll(a[len(a)-1], "--max-retries=0", "--max-retries=3")
		}, "--max-retries=0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cb := loadCloudBuild(t)
			tc.change(cb)
			errs := checkCloudBuild(cb, goImage, known)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("no error mentions %q; got %v", tc.want, errs)
		})
	}
}

func TestUsedSubstitutions(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"${_A}-$BUILD_ID", []string{"_A", "BUILD_ID"}, false},
		{`echo "$$IMAGE" $$(cat f)`, nil, false},
		{"price $ 5", nil, true},
		{"$(cat f)", nil, true},
		{"plain", nil, false},
	}
	for _, tc := range tests {
		got, err := usedSubstitutions(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("usedSubstitutions(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
