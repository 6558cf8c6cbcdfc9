package errclass_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tokengate/tokengate/internal/errclass"
)

type nsA struct{}
type nsB struct{}

var (
	regA      = errclass.NewRegistry[nsA]("a")
	regB      = errclass.NewRegistry[nsB]("b")
	errAClass = regA.Class("a_class", "a class", errclass.CodeInvalidToken)
	errADet   = regA.Detail(errAClass, "", "a detail")
	errALab   = regA.Detail(errAClass, "a_own", "a labelled detail")
	errBClass = regB.Class("b_class", "b class", errclass.CodeInvalidRequest)
)

// TestErrorMachinery: classes, details, labels, codes and the
// namespace separation every package relies on.
func TestErrorMachinery(t *testing.T) {
	tests := []struct {
		name                     string
		err                      *errclass.Error[nsA]
		class                    *errclass.Error[nsA]
		msg, reason, code, label string
	}{
		{"class", errAClass, errAClass, "a: a class", "a class", errclass.CodeInvalidToken, "a_class"},
		{"detail inherits label and code", errADet, errAClass, "a: a detail", "a detail", errclass.CodeInvalidToken, "a_class"},
		{"detail with its own label", errALab, errAClass, "a: a labelled detail", "a labelled detail", errclass.CodeInvalidToken, "a_own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.err
			if e.Error() != tt.msg || e.Reason() != tt.reason || e.Code() != tt.code || e.Label() != tt.label || e.Class() != tt.class {
				t.Errorf("got %q %q %q %q %v", e.Error(), e.Reason(), e.Code(), e.Label(), e.Class())
			}
			if !errors.Is(e, tt.class) {
				t.Error("not its class")
			}
			wrapped := fmt.Errorf("context: %w", e)
			if got, ok := errclass.As[nsA](wrapped); !ok || got != e {
				t.Errorf("As through a wrapper: %v %v", got, ok)
			}
		})
	}
	if errors.Is(errAClass, errADet) {
		t.Error("a class is not its detail")
	}
	if _, ok := errclass.As[nsA](errBClass); ok {
		t.Error("another namespace's error matched")
	}
	var b *errclass.Error[nsB]
	if errors.As(errADet, &b) {
		t.Error("errors.As crossed namespaces")
	}
	if _, ok := errclass.As[nsA](errors.New("plain")); ok {
		t.Error("a plain error matched")
	}
}

func TestAllListsEveryRegisteredError(t *testing.T) {
	want := map[errclass.Described]bool{errAClass: true, errADet: true, errALab: true, errBClass: true}
	for _, e := range errclass.All() {
		delete(want, e)
	}
	if len(want) != 0 {
		t.Errorf("missing from All: %v", want)
	}
}

func TestDetailNeedsClass(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a detail of a detail was created")
		}
	}()
	regA.Detail(errADet, "", "detail of a detail")
}
