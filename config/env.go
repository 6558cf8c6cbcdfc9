package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/tokengate/tokengate/internal/suggest"
)

// ErrUnknownEnv reports a variable under EnvPrefix that names no
// configuration key (wrapped, with the variable's name). Like an unknown
// key in the file, it is an error: a misspelt TOKENGATE_LISTEN_VERIFYY
// must not leave /verify on its default address unnoticed.
var ErrUnknownEnv = errors.New("config: unknown environment variable")

// nonConfigEnv are the variables under EnvPrefix that are not
// configuration: the repository's tests, benchmarks and load test read
// them (README, "Running the tests"). No configuration key may take one of
// these names; a test keeps the two apart.
var nonConfigEnv = []string{
	"TOKENGATE_INTEGRATION", // "require": a missing service fails a test instead of skipping it
	"TOKENGATE_CHAOS",       // "full": the long form of the chaos scenarios
	"TOKENGATE_REDIS_URL",   // the Redis of tests, benchmarks and `tokengate loadtest`
	"TOKENGATE_PG_DSN",      // the PostgreSQL of benchmarks and `tokengate loadtest`
	"TOKENGATE_HYDRA",       // the Ory Hydra binary of idp/hydra_test.go
	"TOKENGATE_TRAEFIK",     // a Traefik binary for deploy's TestTraefikRecipeRealTraefik
}

// nonConfigPrefix starts the benchmark command's own variables
// (TOKENGATE_BENCH_ROWS, ...); no configuration key starts with it.
const nonConfigPrefix = "TOKENGATE_BENCH_"

// NonConfigEnv lists the variables under EnvPrefix that Load accepts
// without their naming a configuration key: the test suite's and the load
// test's.
func NonConfigEnv() []string { return slices.Clone(nonConfigEnv) }

// envSettings returns the configuration keys set by environment variables
// in environ ("NAME=value" entries, as os.Environ returns them), mapped to
// the variable's name.
func envSettings(environ []string) map[string]string {
	var set map[string]string
	for _, key := range EnvKeys() {
		name := EnvName(key)
		for _, kv := range environ {
			if n, _, _ := strings.Cut(kv, "="); n == name {
				if set == nil {
					set = map[string]string{}
				}
				set[key] = name
			}
		}
	}
	return set
}

// unknownEnv returns an error for every variable in environ whose name
// starts with EnvPrefix (in any case) and that is neither a key's
// variable, nor one of nonConfigEnv, nor named by the configuration itself
// (referenced: the values of secret_env, token_env, password_env).
func unknownEnv(environ []string, referenced map[string]bool) []error {
	known := map[string]bool{}
	var names []string
	for _, key := range EnvKeys() {
		known[EnvName(key)] = true
		names = append(names, EnvName(key))
	}
	for _, n := range nonConfigEnv {
		known[n] = true
	}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(strings.ToUpper(name), EnvPrefix) || known[name] || referenced[name] || strings.HasPrefix(name, nonConfigPrefix) {
			continue
		}
		hint := "no configuration key has this name"
		if key, ok := fileOnlyKey(name); ok {
			hint = key + " can be set in the configuration file only"
		} else if s, ok := suggest.Closest(name, names); ok {
			hint += " (did you mean " + s + "?)"
		}
		errs = append(errs, fmt.Errorf("%w %s: %s; every %s variable must be a configuration key's (see config.yaml), one of %s, or start with %s",
			ErrUnknownEnv, name, hint, EnvPrefix, strings.Join(nonConfigEnv, ", "), nonConfigPrefix))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// fileOnlyKey reports whether name is the variable a list of objects or a
// map (keys, routes, headers.claims...) would have, had it one.
func fileOnlyKey(name string) (string, bool) {
	found := ""
	walkKeys(configType, "", func(key string, fileOnly bool) {
		if fileOnly && EnvName(key) == name {
			found = key
		}
	})
	return found, found != ""
}

// walkKeys calls fn for every key of t below prefix that holds a value:
// the leaves, and (fileOnly) the lists of objects and the maps, whose
// content environment variables cannot set.
func walkKeys(t reflect.Type, prefix string, fn func(key string, fileOnly bool)) {
	for f := range t.Fields() {
		name := f.Tag.Get("mapstructure")
		if name == "" || !f.IsExported() {
			continue
		}
		key := prefix + name
		switch ft := f.Type; {
		case ft.Kind() == reflect.Struct:
			walkKeys(ft, key+".", fn)
		case ft.Kind() == reflect.Map,
			ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			fn(key, true)
		default:
			fn(key, false)
		}
	}
}

// referencedEnv collects the variable names the configuration settings
// point at: the string values of every key ending in "_env", at any depth
// and inside lists.
func referencedEnv(v any, key string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			referencedEnv(sub, k, out)
		}
	case []any:
		for _, sub := range x {
			referencedEnv(sub, key, out)
		}
	case string:
		if strings.HasSuffix(strings.ToLower(key), "_env") && x != "" {
			out[x] = true
		}
	}
}

// fromEnv marks each *FieldError in err (a single error or an
// errors.Join) whose key an environment variable set, so that its message
// names the variable: the operator looks there, not in the file.
func fromEnv(err error, set map[string]string) error {
	if err == nil || len(set) == 0 {
		return err
	}
	var fe *FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			fromEnv(e, set)
		}
	} else if errors.As(err, &fe) && fe.Env == "" {
		fe.Env = set[strings.ToLower(fe.Field)]
	}
	return err
}
