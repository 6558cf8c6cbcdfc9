// Command tokengate is the JWT verification sidecar and its tools.
//
//	tokengate serve   [--config FILE]                      run the sidecar
//	tokengate keygen  --alg ES256 --kid k1 --out DIR       make a key pair (or HMAC secret)
//	tokengate mint    --key FILE --claims JSON --ttl 15m   sign a token
//	tokengate verify  [--config FILE] TOKEN                check one token
//	tokengate check   [--config FILE]                      validate a configuration
//
// This package only wires the libraries together.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// exitError carries a process exit code through command functions.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "run the sidecar (/verify and the admin listener)", runServe},
	{"keygen", "generate a private key and its public JWKS (or an HMAC secret)", runKeygen},
	{"mint", "sign a token with a private key or secret", runMint},
	{"verify", "verify one token against the configured keys and policy", runVerify},
	{"check", "validate a configuration and load its keys", runCheck},
	{"loadtest", "load-test the sidecar or a session store over loopback HTTP", runLoadtest},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: tokengate <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tokengate <command> --help' for a command's flags.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		default:
			fmt.Fprintf(stderr, "tokengate %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "tokengate: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// newFlags makes a FlagSet whose --help prints the command's usage.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tokengate %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses and turns a usage error into exit code 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{2}
	}
	return nil
}
