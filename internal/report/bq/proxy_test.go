package bq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	bqv2 "google.golang.org/api/bigquery/v2"
)

// proxy sits between the sink and the emulator. It records every request
// (the contract tests assert on them), can inject faults, and makes the
// emulator answer a duplicate job id the way BigQuery does: 409 Already
// Exists (the emulator says 400 or 500 "job ... is already created" and
// creates nothing, which is the same outcome).
type proxy struct {
	t      *testing.T
	target string
	srv    *httptest.Server

	mu   sync.Mutex
	reqs []*request
	// fault, when set, decides what happens to a request before it is
	// forwarded; it runs under mu.
	fault func(r *request) fault
	// rewrite, when set, changes the body forwarded to the emulator (never
	// what is recorded).
	rewrite func(r *request, body []byte) []byte
}

type fault int

const (
	pass fault = iota
	// lose drops the request: the client sees 503, the emulator nothing.
	lose
	// loseReply forwards the request, then answers 503: the work is done
	// but the client does not know.
	loseReply
	// twiceUnderNewID forwards a load, then the same load again under
	// another job id (what a client without fixed job ids would do).
	twiceUnderNewID
)

// request is one recorded API call.
type request struct {
	Method, Path, Query string
	Body                []byte
	// Job is the job resource of a jobs.insert (query or upload).
	Job *bqv2.Job
	// Data is the payload of a multipart upload.
	Data []byte
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) URL() string { return p.srv.URL }

func (p *proxy) requests() []*request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*request(nil), p.reqs...)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := &request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: body}
	if err := rec.decode(r.Header.Get("Content-Type")); err != nil {
		p.t.Errorf("proxy: decoding %s %s: %v", r.Method, r.URL.Path, err)
	}
	p.mu.Lock()
	p.reqs = append(p.reqs, rec)
	f := pass
	if p.fault != nil {
		f = p.fault(rec)
	}
	fwd := body
	if p.rewrite != nil {
		fwd = p.rewrite(rec, body)
	}
	p.mu.Unlock()

	if f == lose {
		http.Error(w, `{"error":{"code":503,"message":"injected: lost"}}`, http.StatusServiceUnavailable)
		return
	}
	status, header, respBody := p.forward(r, fwd)
	if f == twiceUnderNewID {
		again := bytes.Replace(fwd, []byte(`"jobId":"`+rec.Job.JobReference.JobId+`"`), []byte(`"jobId":"`+rec.Job.JobReference.JobId+`_dup"`), 1)
		if s, _, b := p.forward(r, again); s != http.StatusOK {
			p.t.Errorf("proxy: duplicate load: %d %s", s, b)
		}
	}
	if f == loseReply {
		http.Error(w, `{"error":{"code":503,"message":"injected: reply lost"}}`, http.StatusServiceUnavailable)
		return
	}
	if (status == http.StatusBadRequest || status == http.StatusInternalServerError) && bytes.Contains(respBody, []byte("is already created")) {
		status, respBody = http.StatusConflict, []byte(`{"error":{"code":409,"message":"Already Exists: Job","errors":[{"reason":"duplicate","message":"Already Exists: Job"}]}}`)
		header.Set("Content-Type", "application/json")
		header.Del("Content-Length")
	}
	for k, vs := range header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	w.Write(respBody)
}

func (p *proxy) forward(r *http.Request, body []byte) (int, http.Header, []byte) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		p.t.Errorf("proxy: %v", err)
		return http.StatusBadGateway, http.Header{}, nil
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Content-Length")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return http.StatusBadGateway, http.Header{}, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	h := resp.Header.Clone()
	h.Del("Content-Length")
	return resp.StatusCode, h, b
}

func (r *request) decode(contentType string) error {
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.Path, "/upload/"):
		mt, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(mt, "multipart/") {
			// A resumable upload's first request carries the job alone.
			r.Job = new(bqv2.Job)
			return json.Unmarshal(r.Body, r.Job)
		}
		mr := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			return err
		}
		r.Job = new(bqv2.Job)
		if err := json.NewDecoder(part).Decode(r.Job); err != nil {
			return err
		}
		if part, err = mr.NextPart(); err != nil {
			return err
		}
		r.Data, err = io.ReadAll(part)
		return err
	case r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/jobs"):
		r.Job = new(bqv2.Job)
		return json.Unmarshal(r.Body, r.Job)
	}
	return nil
}

func (r *request) String() string {
	if r.Job != nil && r.Job.JobReference != nil {
		return fmt.Sprintf("%s %s job %s", r.Method, r.Path, r.Job.JobReference.JobId)
	}
	return r.Method + " " + r.Path
}

// jobID of a jobs.insert, or "".
func (r *request) jobID() string {
	if r.Job == nil || r.Job.JobReference == nil {
		return ""
	}
	return r.Job.JobReference.JobId
}

// isLoad reports whether r starts a load job into a table whose name
// contains table.
func (r *request) isLoad(table string) bool {
	return r.Job != nil && r.Job.Configuration != nil && r.Job.Configuration.Load != nil &&
		r.Job.Configuration.Load.DestinationTable != nil &&
		strings.HasSuffix(r.Job.Configuration.Load.DestinationTable.TableId, "_"+table)
}

// query returns the SQL of a query job, or "".
func (r *request) query() string {
	if r.Job == nil || r.Job.Configuration == nil || r.Job.Configuration.Query == nil {
		return ""
	}
	return r.Job.Configuration.Query.Query
}
