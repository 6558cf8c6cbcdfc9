// Package deploy holds tokengate's deployment recipes and the tests that
// keep them honest; it has no code of its own.
//
//   - nginx/nginx.conf: a server block using auth_request.
//   - caddy/Caddyfile: a site using forward_auth.
//   - envoy/envoy.yaml: Envoy's ext_authz filter, over gRPC and in HTTP
//     mode; envoy/tokengate.yaml: tokengate's matching listen section.
//   - istio/: extension providers (meshConfig) and an AuthorizationPolicy
//     with action CUSTOM.
//   - traefik/: a ForwardAuth middleware (dynamic.yaml) and the static
//     configuration that loads it.
//   - kubernetes/: a Deployment with tokengate as a sidecar, its ConfigMap
//     and Secret.
//   - ../Dockerfile: the container image.
//
// integration_test.go drives the nginx and Caddy recipes, as committed,
// through the real servers (Debian packages nginx and caddy) in front of an
// in-process sidecar; it skips when a server is not installed unless
// TOKENGATE_INTEGRATION=require. Envoy cannot be installed here and Traefik
// cannot be built from the module proxy: envoy_test.go, istio_test.go and
// traefik_test.go read those recipes (Envoy's with its own API types) and
// run the same request table through stand-ins that do what Envoy and
// Traefik do with the recipes' values, in front of the real tokengate
// front ends; traefik_test.go also runs it through a real Traefik when one
// is given. kubernetes_test.go and dockerfile_test.go check the manifests
// and the Dockerfile statically.
package deploy
