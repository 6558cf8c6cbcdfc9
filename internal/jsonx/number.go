package jsonx

import (
	"math"
	"strconv"
	"unsafe"
)

// maxExp10 bounds the decimal exponent of the leading digit Float accepts:
// values below 1e308 cannot round to more than math.MaxFloat64 (≈1.8e308),
// so strconv.ParseFloat never reports a range error (which would allocate a
// *strconv.NumError) and never returns ±Inf.
const maxExp10 = 307

// expClamp saturates parsed exponents; any larger magnitude already puts a
// value outside every range Float and Int accept, and clamping keeps all
// arithmetic below far from int64 overflow (inputs are < 2³¹ bytes).
const expClamp = 1 << 30

// numParts splits a number that Parse accepted into its sign, integer digits,
// fraction digits (possibly empty) and exponent (saturated at ±expClamp).
func numParts(raw []byte) (neg bool, intp, frac []byte, exp int64) {
	i := 0
	if raw[0] == '-' {
		neg = true
		i++
	}
	j := digits(raw, i)
	intp = raw[i:j]
	i = j
	if i < len(raw) && raw[i] == '.' {
		j = digits(raw, i+1)
		frac = raw[i+1 : j]
		i = j
	}
	if i < len(raw) { // 'e' or 'E'
		i++
		eneg := raw[i] == '-'
		if raw[i] == '-' || raw[i] == '+' {
			i++
		}
		for ; i < len(raw); i++ {
			if exp < expClamp {
				exp = exp*10 + int64(raw[i]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	return neg, intp, frac, exp
}

// digitAt returns digit j of the concatenation intp‖frac.
func digitAt(intp, frac []byte, j int) byte {
	if j < len(intp) {
		return intp[j] - '0'
	}
	return frac[j-len(intp)] - '0'
}

// Float returns the value of a Number as the nearest float64. It returns
// false if v is not a Number or if its magnitude is 1e308 or more (out of
// float64 range, or too close to it to convert without a range error).
// It never returns NaN or ±Inf. Values too small for a float64 become ±0.
// "-0" yields negative zero.
func (v Value) Float() (float64, bool) {
	n := v.node()
	if n == nil || n.kind != Number {
		return 0, false
	}
	raw := v.d.src[n.start:n.end]
	// The common case of a JWT (a NumericDate): a non-negative integer
	// of at most 15 digits, exact in a float64, read without ParseFloat.
	if len(raw) <= 15 {
		var u uint64
		for _, c := range raw {
			if c < '0' || c > '9' {
				goto general
			}
			u = u*10 + uint64(c-'0')
		}
		return float64(u), true
	}
general:
	_, intp, frac, exp := numParts(raw)
	nd := len(intp) + len(frac)
	k := 0
	for k < nd && digitAt(intp, frac, k) == 0 {
		k++
	}
	// Decimal exponent of the leading significant digit: the value is below
	// 10^(e10+1). A zero value (k == nd) is always in range.
	if k < nd && int64(len(intp)-1-k)+exp > maxExp10 {
		return 0, false
	}
	// ParseFloat does not retain its argument (and, given the check above and
	// Parse's grammar check, cannot fail), so a string view of src is safe and
	// avoids the copy that string(raw) would make for long numbers.
	f, err := strconv.ParseFloat(unsafe.String(&raw[0], len(raw)), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// Int returns the value of a Number whose mathematical value is an integer
// in int64 range, whatever its notation: "1000", "1e3", "1000.0", "10.0e2"
// and "-0" are integers (1000, 1000, 1000, 1000, 0); "1.5", "1e-1" and
// "9223372036854775808" are not. The conversion is exact, with no rounding
// through float64. It returns false for every other kind.
func (v Value) Int() (int64, bool) {
	n := v.node()
	if n == nil || n.kind != Number {
		return 0, false
	}
	neg, intp, frac, exp := numParts(v.d.src[n.start:n.end])
	nd := len(intp) + len(frac)
	first, last := 0, nd-1
	for first < nd && digitAt(intp, frac, first) == 0 {
		first++
	}
	if first == nd {
		return 0, true // every digit is zero: "0", "-0.00e7"
	}
	for digitAt(intp, frac, last) == 0 {
		last--
	}
	// value = digits[first..last] × 10^shift
	shift := exp - int64(len(frac)) + int64(nd-1-last)
	sig := last - first + 1
	if shift < 0 || int64(sig)+shift > 19 {
		return 0, false // a fraction remains, or ≥ 10^19 > MaxInt64
	}
	// At most 19 digits: below 10^19 < 2^64, so u cannot overflow.
	var u uint64
	for j := first; j <= last; j++ {
		u = u*10 + uint64(digitAt(intp, frac, j))
	}
	for ; shift > 0; shift-- {
		u *= 10
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true // u == 1<<63 gives math.MinInt64
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
