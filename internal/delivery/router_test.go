package delivery

import (
	"context"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/mailerr"
	"github.com/posthorn/posthorn/internal/store"
)

type fakeDir struct {
	users   map[string]store.User
	aliases map[string][]string
}

func (f *fakeDir) UserByAddress(_ context.Context, a string) (store.User, error) {
	u, ok := f.users[strings.ToLower(a)]
	if !ok {
		return store.User{}, mailerr.Permanent(mailerr.NoSuchUser, "no such user", nil)
	}
	return u, nil
}

func (f *fakeDir) AliasTargets(_ context.Context, a string) ([]string, error) {
	return f.aliases[strings.ToLower(a)], nil
}

func TestResolve(t *testing.T) {
	dir := &fakeDir{
		users: map[string]store.User{
			"alice@example.test": {ID: 1, Address: "alice@example.test"},
			"bob@example.test":   {ID: 2, Address: "bob@example.test"},
			"pm@example.test":    {ID: 3, Address: "pm@example.test"},
			"full@example.test":  {ID: 4, Address: "full@example.test", Quota: 10, Used: 10},
		},
		aliases: map[string][]string{
			"team@example.test":  {"alice@example.test", "bob@example.test", "ALICE@example.test"},
			"all@example.test":   {"team@example.test", "bob@example.test"},
			"loop@example.test":  {"loop2@example.test"},
			"loop2@example.test": {"loop@example.test"},
			"self@example.test":  {"self@example.test"},
			"bob2@example.test":  {"bob@example.test", "bob2@example.test"},
			"fwd@example.test":   {"Carol@Remote.test", "alice@example.test", "carol@remote.test"},
		},
	}
	r := NewRouter(dir, []string{"Example.TEST"}, "pm@example.test")
	tests := []struct {
		rcpt   string
		want   []int64
		reason mailerr.Reason
	}{
		{"alice@example.test", []int64{1}, 0},
		{"alice@EXAMPLE.test", []int64{1}, 0},
		{"team@example.test", []int64{1, 2}, 0},
		{"all@example.test", []int64{1, 2}, 0},
		{"postmaster", []int64{3}, 0},
		{"PostMaster@example.test", []int64{3}, 0},
		{"self@example.test", nil, mailerr.NoSuchUser},
		{"bob2@example.test", []int64{2}, 0},
		{"fwd@example.test", []int64{0, 1}, 0},
		{"nobody@example.test", nil, mailerr.NoSuchUser},
		{"alice@other.test", nil, mailerr.NotLocal},
		{"alice@example.test.", nil, mailerr.NotLocal},
		{"loop@example.test", nil, mailerr.Policy},
		{"full@example.test", nil, mailerr.OverQuota},
		{"nodomain", nil, mailerr.BadInput},
	}
	for _, tc := range tests {
		got, err := r.Resolve(context.Background(), tc.rcpt)
		if tc.reason != 0 {
			if !mailerr.Is(err, tc.reason) {
				t.Errorf("%s: err %v, want reason %v", tc.rcpt, err, tc.reason)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.rcpt, err)
			continue
		}
		var ids []int64
		for _, g := range got {
			ids = append(ids, g.UserID)
		}
		if len(ids) != len(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.rcpt, ids, tc.want)
			continue
		}
		for i := range ids {
			if ids[i] != tc.want[i] {
				t.Errorf("%s: got %v, want %v", tc.rcpt, ids, tc.want)
			}
		}
	}
}
