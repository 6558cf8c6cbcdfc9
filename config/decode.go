package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	sizeType     = reflect.TypeFor[Size]()
	intType      = reflect.TypeFor[int]()
	boolType     = reflect.TypeFor[bool]()
	stringType   = reflect.TypeFor[string]()
	stringsType  = reflect.TypeFor[[]string]()
)

// decodeHook converts the values YAML and the environment produce into the
// Config field types. Decoding is otherwise strict (no weak typing): YAML
// values must have the field's type, and strings — everything that comes
// from the environment is a string — are parsed exactly.
func decodeHook() mapstructure.DecodeHookFuncType {
	return func(from, to reflect.Type, data any) (any, error) {
		switch to {
		case durationType:
			return toDuration(data)
		case sizeType:
			return toSize(data)
		case stringsType:
			if s, ok := data.(string); ok {
				return splitList(s), nil
			}
		case intType:
			return toInt(data)
		case boolType:
			if s, ok := data.(string); ok {
				b, err := strconv.ParseBool(strings.TrimSpace(s))
				if err != nil {
					return nil, fmt.Errorf("invalid boolean %q", s)
				}
				return b, nil
			}
		case stringType:
			// A YAML integer where a string is expected ("kid: 1",
			// "client: 42") means its digits. Booleans and floats do not
			// convert: "cookie: false" is not a cookie named "false".
			switch v := data.(type) {
			case int:
				return strconv.Itoa(v), nil
			case int64:
				return strconv.FormatInt(v, 10), nil
			case uint64:
				return strconv.FormatUint(v, 10), nil
			}
		}
		return data, nil
	}
}

// toDuration accepts Go duration strings. A bare number has no unit and is
// refused (weak decoding would read "leeway: 30" as 30ns); 0 is the one
// number whose unit does not matter.
func toDuration(data any) (any, error) {
	switch v := data.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (write it like 30s, 5m or 1h30m)", v)
		}
		return d, nil
	case time.Duration:
		return v, nil
	case int, int64, uint64, float64:
		if reflect.ValueOf(v).IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("duration %v has no unit (write it like %vs)", v, v)
	}
	return nil, fmt.Errorf("invalid duration of type %T", data)
}

func toSize(data any) (any, error) {
	switch v := data.(type) {
	case string:
		return ParseSize(v)
	case Size:
		return v, nil
	case int:
		return nonNegativeSize(int64(v))
	case int64:
		return nonNegativeSize(v)
	case uint64:
		if v > math.MaxInt64 {
			return nil, fmt.Errorf("size %d out of range", v)
		}
		return Size(v), nil
	case float64:
		if v == math.Trunc(v) && v >= 0 && v < math.MaxInt64 {
			return Size(v), nil
		}
		return nil, fmt.Errorf("invalid size %v: want bytes or an integer with KiB, MiB or GiB", v)
	}
	return nil, fmt.Errorf("invalid size of type %T", data)
}

func nonNegativeSize(n int64) (any, error) {
	if n < 0 {
		return nil, fmt.Errorf("invalid size %d: negative", n)
	}
	return Size(n), nil
}

func toInt(data any) (any, error) {
	switch v := data.(type) {
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", v)
		}
		return n, nil
	case float64:
		if v != math.Trunc(v) || v < math.MinInt || v >= math.MaxInt {
			return nil, fmt.Errorf("invalid integer %v", v)
		}
		return int(v), nil
	case uint64:
		if v > math.MaxInt {
			return nil, fmt.Errorf("integer %d out of range", v)
		}
		return int(v), nil
	}
	return data, nil
}

// splitList reads a string list from one string, as environment variables
// give it: comma-separated, each element trimmed, empty elements dropped
// ("" is the empty list).
func splitList(s string) []string {
	out := []string{}
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
