// Package deploy holds tokengate's deployment recipes and the tests that
// keep them honest; it has no code of its own.
//
//   - nginx/nginx.conf: a server block using auth_request.
//   - caddy/Caddyfile: a site using forward_auth.
//   - kubernetes/: a Deployment with tokengate as a sidecar, its ConfigMap
//     and Secret.
//   - ../Dockerfile: the container image.
//
// integration_test.go drives the nginx and Caddy recipes, as committed,
// through the real servers (Debian packages nginx and caddy) in front of an
// in-process sidecar; it skips when a server is not installed unless
// TOKENGATE_INTEGRATION=require. kubernetes_test.go and dockerfile_test.go
// check the manifests and the Dockerfile statically.
package deploy
