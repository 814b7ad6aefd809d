// Package smtpsink is an in-process SMTP server for tests: on a loopback
// port, plaintext only, it keeps every message it is given, so that a
// real SMTP conversation (smtpmail's) can be checked end to end.
package smtpsink

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/authkit/authkit/internal/testkit"
)

// Sink is a running SMTP server and the messages it got.
type Sink struct {
	// Host and Port are where it listens.
	Host string
	Port int

	mu    sync.Mutex
	mails []Mail
}

// Mail is one message as the sink got it.
type Mail struct {
	From string
	To   []string
	Data []byte
}

// Start starts a Sink, stopped when the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	sink := &Sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{sink: sink}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = testkit.Timeout
	srv.WriteTimeout = testkit.Timeout
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtpsink: listen on loopback: %v", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	sink.Host, sink.Port = addr.IP.String(), addr.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		testkit.Finish(t, "the SMTP sink's shutdown", func() { <-done })
	})
	return sink
}

// Addr is host:port.
func (s *Sink) Addr() string { return net.JoinHostPort(s.Host, fmt.Sprint(s.Port)) }

// Await waits for a message to rcpt whose text carries a link to path with
// a token, and returns the last such link and its message. It fails t if
// none arrives within testkit.Timeout.
func (s *Sink) Await(t testing.TB, rcpt, path string) (*url.URL, Mail) {
	t.Helper()
	pattern := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?token=[A-Za-z0-9_-]+`)
	find := func() (string, Mail) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var found string
		var got Mail
		for _, m := range s.mails {
			if len(m.To) != 1 || m.To[0] != rcpt {
				continue
			}
			if text, err := Text(m.Data); err == nil {
				if l := pattern.FindString(text); l != "" {
					found, got = l, m
				}
			}
		}
		return found, got
	}
	deadline := time.Now().Add(testkit.Timeout)
	for {
		if found, got := find(); found != "" {
			u, err := url.Parse(found)
			if err != nil {
				t.Fatalf("smtpsink: parse link %q: %v", found, err)
			}
			return u, got
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtpsink: no mail with a %s link reached %s within %s", path, rcpt, testkit.Timeout)
			return nil, Mail{}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type session struct {
	sink *Sink
	from string
	to   []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
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
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.mails = append(s.sink.mails, Mail{From: s.from, To: s.to, Data: data})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// Text returns the decoded text/plain part of a multipart/alternative
// message.
func Text(raw []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	if mediaType != "multipart/alternative" {
		return "", fmt.Errorf("Content-Type %s, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return "", fmt.Errorf("no text/plain part: %w", err)
		}
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			continue
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			r = quotedprintable.NewReader(p)
		}
		text, err := io.ReadAll(r)
		return string(text), err
	}
}
