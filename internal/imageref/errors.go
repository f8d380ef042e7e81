package imageref

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every error Parse returns, so that callers can
// report an unparseable image (errors.Is) apart from other failures.
var ErrInvalid = errors.New("invalid image reference")

// invalidf returns an error wrapping ErrInvalid that names the input and
// says what is wrong with it.
func invalidf(ref, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalid, ref, fmt.Sprintf(format, args...))
}

// invalidWrap is invalidf for a failure reported by go-containerregistry;
// its error stays in the chain.
func invalidWrap(ref string, err error) error {
	return fmt.Errorf("%w %q: %w", ErrInvalid, ref, err)
}
