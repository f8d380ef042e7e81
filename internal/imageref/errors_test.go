package imageref

import (
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestErrorsWrap(t *testing.T) {
	// Our own checks wrap ErrInvalid only.
	err := invalidf("x", "bad %s", "thing")
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("invalidf does not wrap ErrInvalid: %v", err)
	}
	if got, want := err.Error(), `invalid image reference "x": bad thing`; got != want {
		t.Errorf("invalidf message = %q, want %q", got, want)
	}
	var bad *name.ErrBadName
	if errors.As(err, &bad) {
		t.Errorf("invalidf error claims to be a go-containerregistry error")
	}

	// go-containerregistry's error stays in the chain next to ErrInvalid.
	_, err = Parse("gcr.io/p/img@sha256:abc")
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &bad) {
		t.Errorf("Parse error %v should wrap both ErrInvalid and name.ErrBadName", err)
	}
}
