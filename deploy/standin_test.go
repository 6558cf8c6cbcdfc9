//go:build unix

package deploy_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
)

// forwardToApp is the last step of a proxy stand-in (Envoy, Traefik):
// r goes to the application at appAddr with target as its request target
// (not cleaned or re-encoded) and header h, and the application's answer
// goes back to the client.
func forwardToApp(w http.ResponseWriter, r *http.Request, client *http.Client, appAddr, target string, h http.Header) {
	body, _ := io.ReadAll(r.Body)
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+appAddr+"/", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	path, query, _ := strings.Cut(target, "?")
	req.URL.Opaque, req.URL.RawQuery = path, query
	req.Header, req.Host = h, r.Host
	resp, err := client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for name, vals := range resp.Header {
		w.Header()[name] = vals
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
