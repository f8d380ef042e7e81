// Package deploy holds the deployment's setup script (setup.sh) and the
// tests that check it, the Dockerfile and cloudbuild.yaml offline: the
// build steps and substitutions, every role granted (allowed, scoped to
// the narrowest resource, minimal by its permissions), and an audit of the
// deployment itself by the project's own engine.
package deploy
