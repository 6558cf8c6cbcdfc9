package middleware_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokengate/tokengate/build"
	"github.com/tokengate/tokengate/config"
	"github.com/tokengate/tokengate/middleware"
)

// A Go service verifying tokens in process, configured by the same file
// `tokengate serve` reads. build.New builds the keyring (files, JWKS
// URLs, discovery), revocation, decryption keys and the gate; Start keeps
// them current; SIGHUP reloads the file into the running gate, which the
// middleware asks for every request.
func Example() {
	cfg, err := config.Load("/etc/tokengate/config.yaml")
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		log.Fatal(err)
	}
	parts, err := build.New(cfg, build.Options{KeepClaims: true}) // KeepClaims: Token.Claims for the handlers
	if err != nil {
		log.Fatal(err)
	}
	defer parts.Close()
	parts.Start(context.Background())

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := middleware.TokenFrom(r.Context())
		if !ok {
			fmt.Fprintln(w, "hello, anonymous (a public route)")
			return
		}
		fmt.Fprintf(w, "hello, %s (scopes %v)\n", tok.Subject(), tok.Scopes())
	})

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			next, err := config.Load("/etc/tokengate/config.yaml")
			if err == nil {
				err = next.Validate()
			}
			if err == nil {
				err = parts.Reload(next) // keys, routes, headers; a bad file keeps the running ones
			}
			if err != nil {
				log.Print(err)
			}
		}
	}()
	log.Fatal(http.ListenAndServe(":8080", middleware.New(parts.Gate, app, middleware.Options{})))
}
