package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	iam "cloud.google.com/go/iam/apiv2"
	policytroubleshooter "cloud.google.com/go/policytroubleshooter/iam/apiv3"
	cloudidentity "google.golang.org/api/cloudidentity/v1"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/runaudit/runaudit/internal/access"
	"github.com/runaudit/runaudit/internal/audit"
	"github.com/runaudit/runaudit/internal/conditions"
	"github.com/runaudit/runaudit/internal/confirm"
	"github.com/runaudit/runaudit/internal/deny"
	"github.com/runaudit/runaudit/internal/groups"
	"github.com/runaudit/runaudit/internal/inventory"
)

// AccuracyConfig says how grants are decided: the time conditions are
// evaluated at, where group memberships and deny policies come from, and
// whether findings are confirmed with Policy Troubleshooter. See
// docs/accuracy.md.
type AccuracyConfig struct {
	At time.Time

	GroupsFile    string
	ResolveGroups bool
	GroupsQPS     float64
	// groupsByDefault is set when ResolveGroups was not given and a live
	// run turned it on: Cloud Identity failing is then a gap, not an error.
	groupsByDefault bool

	DenyFile      string
	ReadDeny      bool
	DenyProjects  bool
	DenyPerMinute float64

	Confirm          bool
	ConfirmPerMinute float64

	// live holds what accessOptions set up, for the confirmation step.
	live *accuracyRun
}

// accuracyRun is the state of one run's accuracy mechanisms.
type accuracyRun struct {
	at       time.Time
	identity *groups.CloudIdentity
	reader   *deny.Reader
	denials  *deny.Evaluator
	closers  []func() error
	// gaps are what the accuracy mechanisms could not read.
	gaps []inventory.Gap
}

// Environment variables that point the live APIs at a local fake or
// emulator (host:port, plaintext, no credentials), as
// CLOUDASSET_EMULATOR_HOST does for Cloud Asset Inventory.
const (
	cloudIdentityHostEnv = "CLOUDIDENTITY_EMULATOR_HOST"
	iamHostEnv           = "IAM_EMULATOR_HOST"
	troubleshooterEnv    = "POLICYTROUBLESHOOTER_EMULATOR_HOST"
)

func (c *AccuracyConfig) define(fs *flag.FlagSet, def func(name, env string)) {
	fs.Var(timeFlag{&c.At}, "at", "evaluate IAM conditions at this time (RFC 3339; default now)")
	def("at", "AUDIT_AT")
	fs.StringVar(&c.GroupsFile, "groups", "", "group memberships file (JSON or CSV, group → members); authoritative for the groups it lists")
	def("groups", "AUDIT_GROUPS")
	fs.BoolVar(&c.ResolveGroups, "resolve-groups", false, "resolve group memberships with the Cloud Identity API (after --groups, for the groups it does not list); on by default for live runs, --resolve-groups=false turns it off")
	def("resolve-groups", "AUDIT_RESOLVE_GROUPS")
	fs.Float64Var(&c.GroupsQPS, "groups-qps", 5, "Cloud Identity API calls per second")
	def("groups-qps", "AUDIT_GROUPS_QPS")
	fs.StringVar(&c.DenyFile, "deny-policies", "", "IAM deny policies file (IAM v2 JSON: a policy, an array, or one per line)")
	def("deny-policies", "AUDIT_DENY_POLICIES")
	fs.BoolVar(&c.ReadDeny, "read-deny-policies", false, "read the deny policies of the organization and folders with the IAM v2 API")
	def("read-deny-policies", "AUDIT_READ_DENY_POLICIES")
	fs.BoolVar(&c.DenyProjects, "deny-policies-projects", false, "with --read-deny-policies, read project deny policies too (calls per project: see docs/accuracy.md)")
	def("deny-policies-projects", "AUDIT_DENY_POLICIES_PROJECTS")
	fs.Float64Var(&c.DenyPerMinute, "deny-policies-rate", deny.DefaultPerMinute, "most IAM v2 API calls in any minute (its default read quota is 5 per quota project: one is left to other callers)")
	def("deny-policies-rate", "AUDIT_DENY_POLICIES_RATE")
	fs.BoolVar(&c.Confirm, "confirm", false, "check each actionable finding with Policy Troubleshooter and record CONFIRMED, CONTRADICTED, UNKNOWN_CONDITIONAL or UNKNOWN")
	def("confirm", "AUDIT_CONFIRM")
	fs.Float64Var(&c.ConfirmPerMinute, "confirm-rate", 60, "Policy Troubleshooter calls per minute")
	def("confirm-rate", "AUDIT_CONFIRM_RATE")
}

// defaults turns group resolution on for a live run where it was not
// asked for either way: real organizations grant registry read through
// groups, and unresolved they leave most deployers undecided. Against a
// fake Cloud Asset Inventory (CLOUDASSET_EMULATOR_HOST) there is no
// directory behind the groups, so it stays off unless Cloud Identity is
// faked too.
func (c *AccuracyConfig) defaults(collect *CollectConfig, explicit bool) {
	if explicit || collect.scope == "" {
		return
	}
	if collect.EmulatorHost != "" && os.Getenv(cloudIdentityHostEnv) == "" {
		return
	}
	c.ResolveGroups, c.groupsByDefault = true, true
}

func (c *AccuracyConfig) check() error {
	switch {
	case c.DenyFile != "" && c.ReadDeny:
		return errors.New("give --deny-policies FILE or --read-deny-policies, not both")
	case c.DenyProjects && !c.ReadDeny:
		return errors.New("--deny-policies-projects needs --read-deny-policies")
	case c.GroupsQPS <= 0:
		return errors.New("--groups-qps must be positive")
	case c.DenyPerMinute <= 0:
		return errors.New("--deny-policies-rate must be positive")
	case c.ConfirmPerMinute <= 0:
		return errors.New("--confirm-rate must be positive")
	}
	return nil
}

// accessOptions builds the engine's deciders for conditions, groups and
// deny policies.
func accessOptions(ctx context.Context, cfg *Config, at time.Time) (access.Options, error) {
	c := &cfg.Accuracy
	c.live = &accuracyRun{at: at}
	conds, err := conditions.New(at)
	if err != nil {
		return access.Options{}, err
	}
	opts := access.Options{Conditions: conds}

	var chain groups.Chain
	if c.GroupsFile != "" {
		f, err := groups.ReadFile(c.GroupsFile)
		if err != nil {
			return access.Options{}, err
		}
		chain = append(chain, f)
	}
	if c.ResolveGroups {
		// Read-only scope: the client's default scopes include writes.
		svc, err := cloudidentity.NewService(ctx, cfg.googleOptions(apiCloudIdentity, append(restOptions(cloudIdentityHostEnv), option.WithScopes(cloudidentity.CloudIdentityGroupsReadonlyScope))...)...)
		switch {
		case err != nil && c.groupsByDefault:
			// On by default, unreachable: a gap, and groups stay undecided.
			c.live.gaps = append(c.live.gaps, inventory.Gap{Scope: "Cloud Identity", AssetType: "cloudidentity.googleapis.com/Group",
				Reason: "group memberships could not be resolved: " + err.Error(),
				Fix:    "give the job's principal the Groups Reader role in the Admin console and enable cloudidentity.googleapis.com, pass --groups FILE, or turn resolution off with --resolve-groups=false"})
		case err != nil:
			return access.Options{}, fmt.Errorf("connecting to the Cloud Identity API: %w", err)
		default:
			c.live.identity = groups.NewCloudIdentity(ctx, svc, groups.CloudIdentityOptions{QPS: c.GroupsQPS})
			chain = append(chain, c.live.identity)
		}
	}
	switch len(chain) {
	case 0:
	case 1:
		opts.Groups = chain[0]
	default:
		opts.Groups = chain
	}

	var src deny.Source
	switch {
	case c.DenyFile != "":
		s, err := deny.ReadFile(c.DenyFile)
		if err != nil {
			return access.Options{}, err
		}
		src = s
	case c.ReadDeny:
		client, err := iam.NewPoliciesClient(ctx, cfg.googleOptions(apiIAM, grpcOptions(iamHostEnv)...)...)
		if err != nil {
			return access.Options{}, fmt.Errorf("connecting to the IAM v2 API: %w", err)
		}
		c.live.closers = append(c.live.closers, client.Close)
		c.live.reader = deny.NewReader(ctx, client, deny.ReaderOptions{Projects: c.DenyProjects, PerMinute: c.DenyPerMinute})
		src = c.live.reader
	}
	if src != nil {
		c.live.denials = deny.New(src, opts.Groups, conds)
		opts.Denials = c.live.denials
	}
	return opts, nil
}

// accuracyGaps returns what the accuracy mechanisms could not read once the
// rules ran (deny policies not read, Cloud Identity refusing): coverage
// gaps of the run, whose answers were left undecided.
func accuracyGaps(cfg *Config) []inventory.Gap {
	run := cfg.Accuracy.live
	if run == nil {
		return nil
	}
	var gaps []inventory.Gap
	if run.denials != nil {
		gaps = append(gaps, run.denials.Gaps()...)
	}
	if run.identity != nil {
		gaps = append(gaps, run.identity.Gaps()...)
	}
	return gaps
}

// confirmFindings is the step between evaluating and writing: it reports
// what the live accuracy APIs cost and, with --confirm, checks every
// actionable finding with Policy Troubleshooter. It changes no finding
// but its Confirmation (and, when not confirmed, its reason); a failure
// leaves findings UNKNOWN, never removed.
func confirmFindings(ctx context.Context, cfg *Config, findings []audit.Finding, log *slog.Logger) {
	c := &cfg.Accuracy
	if run := c.live; run != nil {
		for _, closeClient := range run.closers {
			closeClient() // evaluation is over: the deciders' clients are done
		}
		if run.identity != nil {
			calls, failures := run.identity.Calls()
			log.Info("group memberships resolved with Cloud Identity", "calls", calls, "failures", failures)
		}
		if run.reader != nil {
			st := run.reader.Stats()
			log.Info("deny policies read with the IAM v2 API", "nodes", st.Nodes, "projects_not_read", st.Skipped, "list_calls", st.Lists, "get_calls", st.Gets, "failures", st.Failures, "busy", st.Busy.String())
			if !c.DenyProjects {
				log.Warn("project-level deny policies were not read (--deny-policies-projects is off): each project asked about is a coverage gap, and grants a project deny could take away are undecided")
			}
		}
	}
	if !c.Confirm {
		return
	}
	at := time.Time{}
	if c.live != nil {
		at = c.live.at
	}
	client, err := policytroubleshooter.NewPolicyTroubleshooterClient(ctx, cfg.googleOptions(apiTroubleshooter, grpcOptions(troubleshooterEnv)...)...)
	if err != nil {
		log.Error("Policy Troubleshooter is not reachable: findings are not confirmed", "err", err)
		for i := range findings {
			if findings[i].Kind.Actionable() {
				findings[i].Confirmation = confirm.Unknown
				findings[i].Reason += " Policy Troubleshooter: not reachable (" + err.Error() + ")."
			}
		}
		return
	}
	defer client.Close()
	st := confirm.New(client, confirm.Options{PerMinute: c.ConfirmPerMinute, At: at}).Confirm(ctx, findings)
	log.Info("findings checked with Policy Troubleshooter", "checked", st.Checked, "confirmed", st.Confirmed,
		"contradicted", st.Contradicted, "unknown", st.Unknown, "unknown_conditional", st.UnknownConditional, "calls", st.Calls, "failures", st.Failures)
}

// restOptions dial a REST API, or its local fake when env names one.
func restOptions(env string) []option.ClientOption {
	if host := os.Getenv(env); host != "" {
		return []option.ClientOption{option.WithEndpoint("http://" + host + "/"), option.WithoutAuthentication()}
	}
	return nil
}

// grpcOptions dial a gRPC API, or its local fake when env names one.
func grpcOptions(env string) []option.ClientOption {
	if host := os.Getenv(env); host != "" {
		return []option.ClientOption{
			option.WithEndpoint(host), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		}
	}
	return nil
}
