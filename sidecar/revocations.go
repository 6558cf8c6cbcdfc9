package sidecar

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"sort"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/tokengate/tokengate/revocation"
)

var bearerPrefix = []byte("bearer ")

// maxAdminBody bounds admin request bodies (one revocation rule).
const maxAdminBody = 64 << 10

// adminWriteTimeout bounds a Redis round trip made for an admin request.
const adminWriteTimeout = 5 * time.Second

// handleRevocations serves /revocations on the admin listener:
//
//	GET    /revocations                   every rule in force, as JSON
//	POST   /revocations                   add a rule: {"jti": …, "exp": …} or {"sub": …, "iss": …, "before": …}
//	DELETE /revocations?jti=…[&iss=…]     remove a jti rule
//	DELETE /revocations?sub=…[&iss=…]     remove a subject rule
//
// With Options.AdminToken the request needs "Authorization: Bearer
// <token>"; without one only requests arriving on a loopback address are
// served, so an admin listener bound to a pod IP cannot be used to revoke
// or un-revoke anything by whoever reaches it.
func (s *Server) handleRevocations(ctx *fasthttp.RequestCtx) {
	if s.revs == nil {
		adminError(ctx, fasthttp.StatusNotFound, "revocation is not enabled (set revocation in the configuration)")
		return
	}
	if !s.adminAuthorized(ctx) {
		return
	}
	switch string(ctx.Method()) {
	case fasthttp.MethodGet:
		s.listRevocations(ctx)
	case fasthttp.MethodPost:
		s.addRevocation(ctx)
	case fasthttp.MethodDelete:
		s.removeRevocation(ctx)
	default:
		ctx.Response.Header.Set("Allow", "GET, POST, DELETE")
		adminError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
	}
}

func (s *Server) adminAuthorized(ctx *fasthttp.RequestCtx) bool {
	if len(s.adminToken) == 0 {
		if ip, ok := ctx.LocalAddr().(*net.TCPAddr); ok && ip.IP.IsLoopback() {
			return true
		}
		adminError(ctx, fasthttp.StatusForbidden, "the admin listener is not on a loopback address: configure admin.token_file to use /keys and /revocations")
		return false
	}
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(h) > len(bearerPrefix) && bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) &&
		subtle.ConstantTimeCompare(h[len(bearerPrefix):], s.adminToken) == 1 {
		return true
	}
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="tokengate-admin"`)
	adminError(ctx, fasthttp.StatusUnauthorized, "admin bearer token missing or wrong")
	return false
}

type adminErrorBody struct {
	Error string `json:"error"`
}

func adminError(ctx *fasthttp.RequestCtx, status int, msg string) {
	ctx.SetStatusCode(status)
	writeJSON(ctx, adminErrorBody{Error: msg})
}

type revocationList struct {
	Count       int                `json:"count"`
	Revocations []revocation.Entry `json:"revocations"`
	Redis       *redisState        `json:"redis,omitempty"`
}

type redisState struct {
	Connected bool   `json:"connected"`
	LastSync  string `json:"last_sync,omitempty"`
	LastError string `json:"last_error,omitempty"`
	Pending   int    `json:"pending_writes"`
}

func (s *Server) redisState() *redisState {
	if s.revSync == nil {
		return nil
	}
	st := s.revSync.Status()
	out := &redisState{Connected: st.Connected, Pending: st.Pending}
	if !st.LastSync.IsZero() {
		out.LastSync = st.LastSync.UTC().Format(time.RFC3339)
	}
	if st.LastError != nil {
		out.LastError = st.LastError.Error()
	}
	return out
}

func (s *Server) listRevocations(ctx *fasthttp.RequestCtx) {
	list := s.revs.List()
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i].Key(), list[j].Key()
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Issuer != b.Issuer {
			return a.Issuer < b.Issuer
		}
		if a.Value != b.Value {
			return a.Value < b.Value
		}
		return list[i].Source < list[j].Source
	})
	if list == nil {
		list = []revocation.Entry{}
	}
	writeJSON(ctx, revocationList{Count: len(list), Revocations: list, Redis: s.redisState()})
}

type addAnswer struct {
	Revocation revocation.Entry `json:"revocation"`
	Shared     bool             `json:"shared"`
	Warning    string           `json:"warning,omitempty"`
}

func (s *Server) addRevocation(ctx *fasthttp.RequestCtx) {
	e, err := revocation.ParseEntry(ctx.PostBody(), revocation.ParseOptions{Now: s.now()})
	if err != nil {
		adminError(ctx, fasthttp.StatusBadRequest, "bad revocation rule: "+err.Error())
		return
	}
	e.Source = "api"
	if s.revSync == nil {
		e, err = s.revs.Add(e)
		if err != nil {
			adminError(ctx, addStatus(err), err.Error())
			return
		}
		ctx.SetStatusCode(fasthttp.StatusCreated)
		writeJSON(ctx, addAnswer{Revocation: e})
		return
	}
	c, cancel := context.WithTimeout(context.Background(), adminWriteTimeout)
	defer cancel()
	e, err = s.revSync.Add(c, e)
	switch {
	case errors.Is(err, revocation.ErrQueued):
		// In force here; the other replicas learn of it once Redis is back.
		ctx.SetStatusCode(fasthttp.StatusAccepted)
		writeJSON(ctx, addAnswer{Revocation: e, Warning: err.Error()})
	case err != nil:
		adminError(ctx, addStatus(err), err.Error())
	default:
		ctx.SetStatusCode(fasthttp.StatusCreated)
		writeJSON(ctx, addAnswer{Revocation: e, Shared: true})
	}
}

func addStatus(err error) int {
	if errors.Is(err, revocation.ErrFull) {
		return fasthttp.StatusInsufficientStorage
	}
	return fasthttp.StatusBadRequest
}

func (s *Server) removeRevocation(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	jti, sub, iss := string(args.Peek("jti")), string(args.Peek("sub")), string(args.Peek("iss"))
	var k revocation.Key
	switch {
	case jti != "" && sub == "":
		k = revocation.Key{Kind: revocation.KindJTI, Value: jti, Issuer: iss}
	case sub != "" && jti == "":
		k = revocation.Key{Kind: revocation.KindSubject, Value: sub, Issuer: iss}
	default:
		adminError(ctx, fasthttp.StatusBadRequest, "give exactly one of the query parameters jti and sub (and iss for an issuer's rule)")
		return
	}
	var (
		removed bool
		err     error
	)
	if s.revSync != nil {
		c, cancel := context.WithTimeout(context.Background(), adminWriteTimeout)
		removed, err = s.revSync.Remove(c, k)
		cancel()
	} else {
		removed = s.revs.Remove(k)
	}
	switch {
	case err != nil:
		adminError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
	case s.revs.InFile(k):
		adminError(ctx, fasthttp.StatusConflict, "the rule comes from the revocation file: remove it there")
	case !removed:
		adminError(ctx, fasthttp.StatusNotFound, "no such rule: "+k.String())
	default:
		writeJSON(ctx, struct {
			Removed string `json:"removed"`
		}{k.String()})
	}
}
