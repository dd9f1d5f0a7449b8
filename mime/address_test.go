package mime

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
		bad  bool
	}{
		{"alice@example.com", []Address{{"", "alice@example.com"}}, false},
		{"Alice <alice@example.com>", []Address{{"Alice", "alice@example.com"}}, false},
		{"\"Smith, John\" <j@x.org>, bob@y.org", []Address{{"Smith, John", "j@x.org"}, {"", "bob@y.org"}}, false},
		{"alice@example.com (Alice Liddell)", []Address{{"Alice Liddell", "alice@example.com"}}, false},
		{"=?utf-8?q?J=C3=B6rg?= <j@x.de>", []Address{{"Jörg", "j@x.de"}}, false},
		{"\"=?utf-8?q?J=C3=B6rg?=\" <j@x.de>", []Address{{"Jörg", "j@x.de"}}, false},
		{"Jörg <j@x.de>", []Address{{"Jörg", "j@x.de"}}, false},
		// RFC 5322 appendix A.1.3: groups.
		{"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Mary <mary@x.test>",
			[]Address{{"Ed Jones", "c@a.test"}, {"", "joe@where.test"}, {"John", "jdoe@one.test"}, {"Mary", "mary@x.test"}}, false},
		{"Undisclosed recipients:;", []Address{}, false},
		// RFC 5322 appendix A.5: comments and white space.
		{"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", []Address{{"Pete", "pete@silly.test"}}, false},
		// Obsolete route (RFC 5322 4.4).
		{"<@route.a,@route.b:user@x.test>", []Address{{"", "user@x.test"}}, false},
		{"Mary Smith <mary@x.test", []Address{{"Mary Smith", "mary@x.test"}}, true},
		{"Doe, John <j@x.test>", []Address{{"Doe, John", "j@x.test"}}, false},
		{"John Q. Public <jqp@x.test>", []Address{{"John Q. Public", "jqp@x.test"}}, false},
		{"\"john.doe\"@x.test", []Address{{"", "john.doe@x.test"}}, false},
		{"\"john doe\"@x.test", []Address{{"", "\"john doe\"@x.test"}}, false},
		{"a@x.test,,b@x.test", []Address{{"", "a@x.test"}, {"", "b@x.test"}}, false},
		{"", []Address{}, false},
		{"postmaster", []Address{{"", "postmaster"}}, true},
	}
	for _, tt := range tests {
		got, err := ParseAddressList(tt.in)
		if !reflect.DeepEqual(got, tt.want) || (err != nil) != tt.bad {
			t.Errorf("ParseAddressList(%q) = %q, %v; want %q, bad=%v", tt.in, got, err, tt.want, tt.bad)
		}
		if err != nil && !errors.Is(err, ErrBadAddress) {
			t.Errorf("error %v does not wrap ErrBadAddress", err)
		}
	}
}

func TestAddressStringRoundTrip(t *testing.T) {
	for _, a := range []Address{
		{"", "a@x.test"}, {"Alice", "a@x.test"}, {"Smith, John", "j@x.test"}, {"Jörg Müller", "j@x.de"},
		{"李小龍", "l@x.cn"}, {"a \"quoted\" name", "q@x.test"}, {"=?not?=", "n@x.test"}, {"back\\slash", "b@x.test"},
	} {
		got, err := ParseAddressList(a.String())
		if err != nil || len(got) != 1 || got[0] != a {
			t.Errorf("%+v -> %q -> %+v, %v", a, a.String(), got, err)
		}
	}
}
