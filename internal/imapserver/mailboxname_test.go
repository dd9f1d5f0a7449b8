package imapserver

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"%/%", "a/b", true},
		{"INBOX", "INBOX", true},
		{"INBOX", "INBOXX", false},
		{"S%t", "Sent", true},
		{"S%t", "S/t", false},
		{"*t", "a/Sent", true},
		{"", "", true},
		{"", "a", false},
		{"a%", "a", true},
		{"%b", "a/b", false},
		{"*%*%*%*%*%*%*%*%*%*%*%*%*%z", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tc := range tests {
		if got := match(tc.pattern, tc.name); got != tc.want {
			t.Errorf("match(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}
