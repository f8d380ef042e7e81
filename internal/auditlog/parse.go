package auditlog

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"cloud.google.com/go/logging/apiv2/loggingpb"
	auditpb "google.golang.org/genproto/googleapis/cloud/audit"

	"github.com/runaudit/runaudit/internal/imageref"
)

// errNotAudit marks an entry whose payload is not an AuditLog.
var errNotAudit = errors.New("the entry's protoPayload is not a google.cloud.audit.AuditLog")

// deployMethod matches the Admin Activity methods that deploy: v1 creates
// and replaces, v2 creates and updates, of services, jobs and worker pools
// (https://cloud.google.com/run/docs/audit-logging).
var deployMethod = regexp.MustCompile(`^google\.cloud\.run\.v[12]\.(Services|Jobs|WorkerPools)\.(Create|Replace|Update)(Service|Job|WorkerPool)$`)

// systemMethod matches the methods of Cloud Run's System Event entries,
// which name the reconciled call without the API version
// ("/Services.ReplaceService", "v1.Services.CreateService", …).
var systemMethod = regexp.MustCompile(`(^|[./])(Services|Jobs|WorkerPools)\.(Create|Replace|Update)(Service|Job|WorkerPool)$`)

// FromEntry turns one log entry into a deploy event. ok is false for an
// entry that is not a Cloud Run deploy (another method or service, or a
// System Event entry that records no image-read failure); err is set when
// the entry is malformed.
func FromEntry(e *loggingpb.LogEntry) (ev Event, ok bool, err error) {
	any := e.GetProtoPayload()
	if any == nil {
		return Event{}, false, nil
	}
	var al auditpb.AuditLog
	if err := any.UnmarshalTo(&al); err != nil {
		return Event{}, false, fmt.Errorf("%w: %v", errNotAudit, err)
	}
	return fromAudit(e, &al)
}

func fromAudit(e *loggingpb.LogEntry, al *auditpb.AuditLog) (Event, bool, error) {
	if al.GetServiceName() != "" && al.GetServiceName() != "run.googleapis.com" {
		return Event{}, false, nil
	}
	src := AdminActivity
	switch {
	case strings.HasSuffix(e.GetLogName(), "cloudaudit.googleapis.com%2Fsystem_event"),
		strings.HasSuffix(e.GetLogName(), "cloudaudit.googleapis.com/system_event"):
		src = SystemEvent
	case strings.HasSuffix(e.GetLogName(), "cloudaudit.googleapis.com%2Factivity"),
		strings.HasSuffix(e.GetLogName(), "cloudaudit.googleapis.com/activity"):
	default:
		return Event{}, false, nil
	}
	method := al.GetMethodName()
	if src == AdminActivity && !deployMethod.MatchString(method) ||
		src == SystemEvent && !systemMethod.MatchString(method) {
		return Event{}, false, nil
	}
	ev := Event{
		Method: method, Source: src, InsertID: e.GetInsertId(), LogName: e.GetLogName(),
		Time: e.GetTimestamp().AsTime().UTC(), Operation: e.GetOperation().GetId(),
	}
	if err := ev.setResource(e, al.GetResourceName()); err != nil {
		return Event{}, false, err
	}
	ev.Caller = callerOf(al.GetAuthenticationInfo())

	st := al.GetStatus()
	switch {
	case st.GetCode() != 0:
		ev.Outcome = Failed
		ev.Failure = classify(st.GetCode(), st.GetMessage())
	case e.GetOperation() != nil && e.GetOperation().GetFirst() && !e.GetOperation().GetLast():
		ev.Outcome = Pending
	default:
		ev.Outcome = Succeeded
	}
	if src == SystemEvent {
		// The system, not a principal, reconciles: only the service
		// agent's failure to pull is of interest here.
		if !ev.ImageReadFailure() {
			return Event{}, false, nil
		}
		ev.Caller = Principal{Unmapped: "the Cloud Run service agent of the resource's project"}
		if a := ev.Failure.Account; a != "" {
			ev.Caller = Principal{Member: memberOfEmail(a), Logged: a}
		}
	}
	return ev, true, nil
}

// setResource finds the resource from the entry's resource name (v1
// namespaces/P/services/S, v2 projects/P/locations/L/services/S) and its
// monitored resource's labels (project_id is always the id; location is
// the region v1 names leave out).
func (ev *Event) setResource(e *loggingpb.LogEntry, name string) error {
	labels := e.GetResource().GetLabels()
	var project, location, collection, short string
	parts := strings.Split(name, "/")
	switch {
	case len(parts) == 4 && parts[0] == "namespaces":
		project, collection, short = parts[1], parts[2], parts[3]
	case len(parts) == 6 && parts[0] == "projects" && parts[2] == "locations":
		project, location, collection, short = parts[1], parts[3], parts[4], parts[5]
	}
	switch strings.ToLower(collection) {
	case "services":
		ev.ResourceType = TypeService
	case "jobs":
		ev.ResourceType = TypeJob
	case "workerpools":
		ev.ResourceType = TypeWorkerPool
	case "":
	default:
		return fmt.Errorf("resource name %q: unknown collection %q", name, collection)
	}
	if short == "" {
		// Some entries name only the parent: the monitored resource says which.
		switch e.GetResource().GetType() {
		case monitoredService:
			ev.ResourceType, short = TypeService, labels["service_name"]
		case monitoredJob:
			ev.ResourceType, short = TypeJob, labels["job_name"]
		case monitoredWorkerPool:
			ev.ResourceType, short = TypeWorkerPool, labels["worker_pool_name"]
		}
	}
	if id := labels["project_id"]; id != "" {
		project = id
	}
	if location == "" {
		location = labels["location"]
	}
	if project == "" || location == "" || short == "" || ev.ResourceType == "" {
		return fmt.Errorf("cannot tell the resource from resource name %q and monitored resource %s %v", name, e.GetResource().GetType(), labels)
	}
	ev.ProjectID, ev.Location, ev.Name = project, location, short
	ev.Resource = resourceName(project, location, collectionOf(ev.ResourceType), short)
	return nil
}

// callerOf maps the authenticated caller to an IAM member: the email of a
// user or service account, or a workload identity subject. For an
// impersonated service account the caller is the service account (IAM
// checked it) and the delegation info names who acted through it.
func callerOf(a *auditpb.AuthenticationInfo) Principal {
	var p Principal
	switch {
	case a.GetPrincipalEmail() != "":
		p.Logged = a.GetPrincipalEmail()
		p.Member = memberOfEmail(p.Logged)
	case a.GetPrincipalSubject() != "":
		p.Logged = a.GetPrincipalSubject()
		p.Member, p.Unmapped = memberOfSubject(p.Logged)
	default:
		p.Unmapped = "the entry names no caller (principalEmail can be redacted for callers outside the organization)"
	}
	for _, d := range a.GetServiceAccountDelegationInfo() {
		switch {
		case d.GetFirstPartyPrincipal().GetPrincipalEmail() != "":
			p.Delegates = append(p.Delegates, memberOfEmail(d.GetFirstPartyPrincipal().GetPrincipalEmail()))
		case d.GetPrincipalSubject() != "":
			if m, _ := memberOfSubject(d.GetPrincipalSubject()); m != "" {
				p.Delegates = append(p.Delegates, m)
			} else {
				p.Delegates = append(p.Delegates, d.GetPrincipalSubject())
			}
		case d.GetThirdPartyPrincipal() != nil:
			p.Delegates = append(p.Delegates, "a third-party principal")
		}
	}
	return p
}

func memberOfEmail(email string) string {
	if strings.HasSuffix(email, ".gserviceaccount.com") {
		return "serviceAccount:" + email
	}
	return "user:" + email
}

// memberOfSubject maps a principalSubject. principal://… subjects are IAM
// members as they are; the legacy serviceAccount:POOL[SUBJECT] form of
// some GKE identities is not a member any binding names.
func memberOfSubject(s string) (member, unmapped string) {
	if strings.HasPrefix(s, "principal://") {
		return s, ""
	}
	return "", "principalSubject " + quoteOr(s, "") + " is not an IAM member form the audit can map"
}

var (
	imageReadRe = regexp.MustCompile(`(?i)(?:(\S+@\S+)\s+)?must have permission to read the image,?\s+(\S+)`)
	repoRe      = regexp.MustCompile(`denied on resource [\\'"]*(projects/[^/\s"'\\]+/locations/[^/\s"'\\]+/repositories/[^/\s"'\\]+)`)
)

// classify reads a refusal's message. Only the image-read refusal counts as
// one: the actAs refusal, for one, has the same code and another message.
func classify(code int32, msg string) *Failure {
	f := &Failure{Code: code, Message: msg}
	lower := strings.ToLower(msg)
	f.ImageRead = strings.Contains(lower, "must have permission to read the image") ||
		strings.Contains(lower, strings.ToLower(DownloadArtifacts)) && strings.Contains(lower, "denied")
	if !f.ImageRead {
		return f
	}
	if m := imageReadRe.FindStringSubmatch(msg); m != nil {
		f.Account = strings.Trim(m[1], `.,;"'`)
		f.Image = strings.TrimRight(m[2], `.,;"'`)
	}
	if m := repoRe.FindStringSubmatch(msg); m != nil {
		f.Repository = m[1]
	} else if f.Image != "" {
		if ref, err := imageref.Parse(f.Image); err == nil {
			f.Repository = ref.RepositoryName()
		}
	}
	return f
}
