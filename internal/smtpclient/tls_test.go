package smtpclient

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"testing"
)

func TestDeliverSTARTTLS(t *testing.T) {
	srvTLS, caFile := selfSigned(t)
	_, otherCA := selfSigned(t)
	tests := []struct {
		name     string
		offerTLS bool
		policy   TLSPolicy
		caFile   string
		host     string
		wantTLS  bool
		want     want
	}{
		{"opportunistic takes self-signed", true, TLSOpportunistic, "", "mx.test", true, want{delivered: true}},
		{"opportunistic without STARTTLS", false, TLSOpportunistic, "", "mx.test", false, want{delivered: true}},
		{"none", true, TLSNone, "", "mx.test", false, want{delivered: true}},
		{"required with the right CA", true, TLSRequired, caFile, "mx.test", true, want{delivered: true}},
		{"required with the right CA by IP", true, TLSRequired, caFile, "127.0.0.1", true, want{delivered: true}},
		{"required with the wrong CA", true, TLSRequired, otherCA, "mx.test", false, want{enhanced: "4.7.5"}},
		{"required with the wrong name", true, TLSRequired, caFile, "other.test", false, want{enhanced: "4.7.5"}},
		{"required without STARTTLS", false, TLSRequired, caFile, "mx.test", false, want{enhanced: "4.7.10"}},
		{"required with system roots", true, TLSRequired, "", "mx.test", false, want{enhanced: "4.7.5"}},
		{"required with missing CA file", true, TLSRequired, filepath.Join(t.TempDir(), "none.pem"), "mx.test", false, want{enhanced: "4.7.5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{ext: []string{"PIPELINING"}}
			if tc.offerTLS {
				f.ext = append(f.ext, "STARTTLS")
				f.tls = srvTLS
			}
			srv := newFakeServer(t, f)
			cl := testClient(t, nil)
			hop := srv.hop()
			hop.Host, hop.TLS, hop.CAFile = tc.host, tc.policy, tc.caFile
			res := cl.Deliver(context.Background(), []Hop{hop}, envOf("a@mx.test"), bodyOf(plainMsg))
			checkResult(t, res, tc.want)
			s := srv.session(0)
			if s.tls != tc.wantTLS {
				t.Errorf("TLS used = %v, want %v", s.tls, tc.wantTLS)
			}
			if !tc.want.delivered && len(s.msgs) > 0 {
				t.Errorf("message sent although TLS was required")
			}
		})
	}
}

func TestDeliverOpportunisticFallback(t *testing.T) {
	// The server offers STARTTLS but cannot do the handshake (no
	// certificate): the client comes back without TLS.
	f := &fakeServer{ext: []string{"STARTTLS"}, tls: &tls.Config{}}
	srv := newFakeServer(t, f)
	cl := testClient(t, nil)
	res := cl.Deliver(context.Background(), []Hop{srv.hop()}, envOf("a@mx.test"), bodyOf(plainMsg))
	checkResult(t, res, want{delivered: true})
	if srv.count() != 2 || srv.session(1).tls {
		t.Errorf("sessions %d; want a second one in the clear", srv.count())
	}
}

func TestDeliverAuth(t *testing.T) {
	srvTLS, caFile := selfSigned(t)
	tests := []struct {
		name     string
		ext      []string
		tls      bool
		auth     *Auth
		wantUser string
		want     want
	}{
		{"plain over tls", []string{"STARTTLS", "AUTH PLAIN LOGIN"}, true, &Auth{"u", "p"}, "u", want{delivered: true}},
		{"login over tls", []string{"STARTTLS", "AUTH LOGIN"}, true, &Auth{"u", "p"}, "u", want{delivered: true}},
		{"old auth= form", []string{"STARTTLS", "AUTH=LOGIN"}, true, &Auth{"u", "p"}, "u", want{delivered: true}},
		{"wrong password", []string{"STARTTLS", "AUTH PLAIN"}, true, &Auth{"u", "x"}, "", want{code: 535, enhanced: "4.7.8"}},
		{"no common mechanism", []string{"STARTTLS", "AUTH CRAM-MD5"}, true, &Auth{"u", "p"}, "", want{enhanced: "4.7.0"}},
		{"no tls: credentials kept", []string{"AUTH PLAIN"}, false, &Auth{"u", "p"}, "", want{enhanced: "4.7.0"}},
		{"no auth offered", []string{"STARTTLS"}, true, &Auth{"u", "p"}, "", want{delivered: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{ext: tc.ext, authUser: "u", authPass: "p"}
			if tc.tls {
				f.tls = srvTLS
			}
			srv := newFakeServer(t, f)
			cl := testClient(t, nil)
			hop := srv.hop()
			hop.Auth, hop.TLS, hop.CAFile = tc.auth, TLSRequired, caFile
			if !tc.tls {
				hop.TLS = TLSNone
			}
			res := cl.Deliver(context.Background(), []Hop{hop}, envOf("a@mx.test"), bodyOf(plainMsg))
			checkResult(t, res, tc.want)
			s := srv.session(0)
			if s.authed != tc.wantUser {
				t.Errorf("authenticated as %q, want %q", s.authed, tc.wantUser)
			}
			for _, c := range s.cmds {
				if !s.tls && len(c) > 4 && c[:4] == "AUTH" {
					t.Errorf("AUTH sent in the clear: %q", c)
				}
			}
		})
	}
}
