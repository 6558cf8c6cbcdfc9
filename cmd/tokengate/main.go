// Command tokengate is the JWT verification sidecar and its tools.
//
//	tokengate serve   [--config FILE]                      run the sidecar
//	tokengate keygen  --alg ES256 --kid k1 --out DIR       make a key pair (or HMAC secret)
//	tokengate mint    --key FILE --claims JSON --ttl 15m   sign a token
//	tokengate verify  [--config FILE] TOKEN                check one token
//	tokengate check   [--config FILE]                      validate a configuration
//	tokengate version                                      print what the binary was built from
//
// This package only wires the libraries together.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tokengate/tokengate/internal/suggest"
)

// exitError carries a process exit code through command functions.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError is a command line that cannot be run as given: main prints
// the message, points at --help and exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

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
	{"version", "print the version, VCS revision and Go version of this binary", runVersion},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: tokengate <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
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
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var (
			ee exitError
			ue usageError
		)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "tokengate %s: %v\nRun 'tokengate %s --help' for its usage.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "tokengate %s: %v\n", c.name, err)
			return 1
		}
	}
	if strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "tokengate: %s before the command: flags go after it (tokengate <command> %s ...)\n\n", args[0], args[0])
	} else {
		fmt.Fprintf(stderr, "tokengate: unknown command %q", args[0])
		if s, ok := suggest.Closest(args[0], commandNames()); ok {
			fmt.Fprintf(stderr, " (did you mean %s?)", s)
		}
		fmt.Fprint(stderr, "\n\n")
	}
	usage(stderr)
	return 2
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
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

// parseFlags parses the flags of a command that takes no arguments and
// turns a usage error into exit code 2. Anything left after the flags is
// a usage error naming it.
func parseFlags(fs *flag.FlagSet, args []string) error { return parseArgs(fs, args) }

// parseArgs parses flags followed by exactly the arguments named (for
// messages: "TOKEN"). Flags must come first (the flag package stops at the
// first argument): a flag of the command after an argument is reported as
// misplaced rather than silently taken for an argument.
func parseArgs(fs *flag.FlagSet, args []string, names ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return exitError{2} // the flag package has printed what was wrong
	}
	rest := fs.Args()
	misplaced := ""
	for _, a := range rest[min(1, len(rest)):] {
		if name, ok := flagName(a); ok && fs.Lookup(name) != nil {
			misplaced = a
			break
		}
	}
	switch {
	case len(names) == 0 && len(rest) > 0 && misplaced != "":
		return usagef("unexpected argument %q: %s takes flags only (and %s after it was not read)", rest[0], fs.Name(), misplaced)
	case len(names) == 0 && len(rest) > 0 && fs.Lookup("config") != nil && (strings.HasSuffix(rest[0], ".yaml") || strings.HasSuffix(rest[0], ".yml")):
		return usagef("unexpected argument %q: %s takes flags only (the configuration file goes after --config)", rest[0], fs.Name())
	case len(names) == 0 && len(rest) > 0:
		return usagef("unexpected argument %q: %s takes flags only", rest[0], fs.Name())
	case misplaced != "":
		return usagef("flag %s after %s: flags go before %s", misplaced, names[0], names[0])
	case len(rest) > len(names):
		return usagef("unexpected argument %q after %s", rest[len(names)], strings.Join(names, " "))
	case len(rest) < len(names):
		return usagef("missing %s", strings.Join(names[len(rest):], " "))
	}
	return nil
}

// flagName returns the name of a flag argument: "--ttl=5m" is "ttl".
func flagName(arg string) (string, bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	return name, name != ""
}
