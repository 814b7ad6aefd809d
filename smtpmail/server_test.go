package smtpmail_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/testkit"
)

// The credentials the test server accepts.
const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
)

// serverTLS says how the test server offers TLS.
type serverTLS int

const (
	noTLS serverTLS = iota // plaintext, no STARTTLS offered
	offerSTARTTLS
	implicitTLS
)

// serverOptions configure a test SMTP server.
type serverOptions struct {
	tls   serverTLS
	mechs []string // AUTH mechanisms offered; none if empty
	// insecureAuth lets the server offer AUTH without TLS.
	insecureAuth bool
}

// received is one message as the server got it.
type received struct {
	from string
	to   []string
	data []byte // the raw DATA, dot-unstuffed, CRLF kept
	tls  bool   // whether DATA came over TLS
	user string // who authenticated, if anyone
}

// testServer is an in-process SMTP server on a loopback port that records
// what it is told.
type testServer struct {
	host string
	port int
	// roots trusts the server's self-signed certificate.
	roots *x509.CertPool

	mu        sync.Mutex
	mails     []received
	mailCalls int // MAIL FROM commands seen
	authCalls int // AUTH commands seen
}

func (s *testServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mails...)
}

func (s *testServer) commands() (mailCalls, authCalls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailCalls, s.authCalls
}

// startServer starts a go-smtp server on 127.0.0.1 and stops it when the
// test ends.
func startServer(tb testing.TB, opts serverOptions) *testServer {
	tb.Helper()
	cert, roots := selfSignedCert(tb)
	ts := &testServer{roots: roots}

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c, mechs: opts.mechs}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = opts.insecureAuth
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err, "listen on loopback")
	switch opts.tls {
	case offerSTARTTLS:
		srv.TLSConfig = tlsConfig
	case implicitTLS:
		ln = tls.NewListener(ln, tlsConfig)
	}
	host, port := splitAddr(tb, ln.Addr())
	ts.host, ts.port = host, port

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		_ = srv.Close()
		testkit.Finish(tb, "the test server's shutdown", func() { <-done })
	})
	return ts
}

// session is one SMTP session of the test server.
type session struct {
	srv   *testServer
	conn  *smtp.Conn
	mechs []string

	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return s.mechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.authCalls++
	s.srv.mu.Unlock()
	check := func(username, password string) error {
		if username != testUser || password != testPassword {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	default:
		return nil, smtp.ErrAuthUnknownMechanism
	}
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.srv.mu.Lock()
	s.srv.mailCalls++
	s.srv.mu.Unlock()
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.mails = append(s.srv.mails, received{from: s.from, to: s.to, data: data, tls: isTLS, user: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl provides
// only as a client.
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	l.step++
	switch l.step {
	case 1:
		if len(response) > 0 {
			return nil, false, errors.New("unexpected initial response")
		}
		return []byte("Username:"), false, nil
	case 2:
		l.username = string(response)
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(l.username, string(response))
	}
}

// stallingListener accepts connections on a loopback port and never says
// anything. It counts the connections it gets.
type stallingListener struct {
	host  string
	port  int
	conns atomic.Int32
}

func startStallingListener(tb testing.TB) *stallingListener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err, "listen on loopback")
	sl := &stallingListener{}
	sl.host, sl.port = splitAddr(tb, ln.Addr())
	var (
		mu    sync.Mutex
		open  []net.Conn
		done  = make(chan struct{})
		drain = func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range open {
				_ = c.Close()
			}
		}
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sl.conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		testkit.Finish(tb, "the listener's accept loop", func() { <-done })
		drain()
	})
	return sl
}

func splitAddr(tb testing.TB, addr net.Addr) (string, int) {
	tb.Helper()
	host, portStr, err := net.SplitHostPort(addr.String())
	require.NoError(tb, err, "split listener address")
	port, err := strconv.Atoi(portStr)
	require.NoError(tb, err, "parse listener port")
	return host, port
}

// selfSignedCert makes a certificate for localhost, 127.0.0.1 and ::1 and
// a pool that trusts it.
func selfSignedCert(tb testing.TB) (tls.Certificate, *x509.CertPool) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(tb, err, "generate key")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtpmail test server"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(tb, err, "create certificate")
	leaf, err := x509.ParseCertificate(der)
	require.NoError(tb, err, "parse certificate")
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
