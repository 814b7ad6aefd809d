package authpages_test

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
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/testkit"
)

// smtpSink is an in-process SMTP server on a loopback port, plaintext
// only, that keeps every message it is given: the Authenticator's
// smtpmail Mailer holds a real SMTP conversation with it.
type smtpSink struct {
	host string
	port int

	mu    sync.Mutex
	mails []sunkMail
}

// sunkMail is one message as the sink got it.
type sunkMail struct {
	to   []string
	data []byte
}

func startSMTPSink(t testing.TB) *smtpSink {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: sink}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = testkit.Timeout
	srv.WriteTimeout = testkit.Timeout
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "listen on loopback")
	addr := ln.Addr().(*net.TCPAddr)
	sink.host, sink.port = addr.IP.String(), addr.Port
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return sink
}

// link waits for a message to rcpt whose text carries a link to path, and
// returns the last such link.
func (s *smtpSink) link(t testing.TB, rcpt, path string) *url.URL {
	t.Helper()
	pattern := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?token=[A-Za-z0-9_-]+`)
	var found string
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range s.mails {
			if len(m.to) != 1 || m.to[0] != rcpt {
				continue
			}
			if text, err := mailText(m.data); err == nil {
				if l := pattern.FindString(text); l != "" {
					found = l
				}
			}
		}
		return found != ""
	}, testkit.Timeout, 10*time.Millisecond, "a mail with a %s link reaches %s", path, rcpt)
	u, err := url.Parse(found)
	require.NoError(t, err, "parse link %q", found)
	return u
}

type sinkSession struct {
	sink *smtpSink
	to   []string
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	defer s.sink.mu.Unlock()
	s.sink.mails = append(s.sink.mails, sunkMail{to: s.to, data: data})
	return nil
}

func (s *sinkSession) Reset()        { s.to = nil }
func (s *sinkSession) Logout() error { return nil }

// mailText returns the decoded text/plain part of a multipart/alternative
// message.
func mailText(raw []byte) (string, error) {
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
