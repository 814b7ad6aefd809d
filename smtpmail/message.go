package smtpmail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

// maxLineBytes is the longest line RFC 5322 allows, without its CRLF.
const maxLineBytes = 998

// foldAt is the line length RFC 5322 recommends; headers are folded there
// when they have a space to fold at.
const foldAt = 78

// envelope is a message ready for the SMTP conversation: the addresses for
// MAIL FROM and RCPT TO and the full message text with CRLF lines.
type envelope struct {
	from, to string
	data     []byte
}

// compose validates m and renders it. It refuses line breaks in header
// values before doing anything else, so no value can add a header.
func compose(from *mail.Address, m authkit.Message, now time.Time) (envelope, error) {
	if strings.ContainsAny(m.Subject, "\r\n") {
		return envelope{}, fmt.Errorf("%w: Subject", ErrHeaderInjection)
	}
	if m.To == "" {
		return envelope{}, fmt.Errorf("%w: To is empty", ErrInvalidAddress)
	}
	to, err := parseAddress("To", m.To)
	if err != nil {
		return envelope{}, err
	}
	if m.Text == "" && m.HTML == "" {
		return envelope{}, ErrEmptyMessage
	}

	var b bytes.Buffer
	header := func(name, value string) {
		writeHeader(&b, name, value)
	}
	header("Date", now.Format(time.RFC1123Z))
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeSubject(m.Subject))
	header("Message-ID", messageID(from.Address))
	header("MIME-Version", "1.0")

	switch {
	case m.Text != "" && m.HTML != "":
		w := multipart.NewWriter(&b)
		header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": w.Boundary()}))
		b.WriteString("\r\n")
		for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
			pw, err := w.CreatePart(textproto.MIMEHeader{
				"Content-Type":              {p.typ + "; charset=UTF-8"},
				"Content-Transfer-Encoding": {"quoted-printable"},
			})
			if err != nil {
				return envelope{}, fmt.Errorf("smtpmail: compose: %w", err)
			}
			if err := writeQP(pw, p.body); err != nil {
				return envelope{}, fmt.Errorf("smtpmail: compose: %w", err)
			}
		}
		if err := w.Close(); err != nil {
			return envelope{}, fmt.Errorf("smtpmail: compose: %w", err)
		}
	default:
		typ, body := "text/plain", m.Text
		if body == "" {
			typ, body = "text/html", m.HTML
		}
		header("Content-Type", typ+"; charset=UTF-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, body); err != nil {
			return envelope{}, fmt.Errorf("smtpmail: compose: %w", err)
		}
		if !strings.HasSuffix(body, "\n") {
			// End on a line break without adding one to the text: a
			// soft line break, which decoding removes.
			b.WriteString("=\r\n")
		}
	}
	return envelope{from: from.Address, to: to.Address, data: b.Bytes()}, nil
}

// writeQP writes body quoted-printable encoded, with CRLF line breaks.
func writeQP(w interface{ Write([]byte) (int, error) }, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(body)); err != nil {
		return err
	}
	return qp.Close()
}

// encodeSubject returns s as it goes in the Subject header: as is when it
// is printable ASCII, RFC 2047 Q-encoded words when it is not. Printable
// ASCII that readers could misread ("=?" looks like the start of an encoded
// word; leading or trailing blanks are dropped by many) or that could not
// be folded into lines of 998 bytes is B-encoded.
func encodeSubject(s string) string {
	if enc := mime.QEncoding.Encode("UTF-8", s); enc != s {
		return enc
	}
	if !strings.Contains(s, "=?") && strings.Trim(s, " \t") == s && !slices.ContainsFunc(strings.Split(s, " "), func(w string) bool { return len(w) > maxLineBytes-len("Subject: ") }) {
		return s
	}
	// s is ASCII here, so any split is on a character boundary; 45 bytes
	// make 60 in base64 and an encoded word of 72.
	words := make([]string, 0, len(s)/45+1)
	for chunk := range slices.Chunk([]byte(s), 45) {
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString(chunk)+"?=")
	}
	return strings.Join(words, " ")
}

// writeHeader writes "name: value" and CRLF, folding the line before a
// space where it would grow past 78 characters. It folds only before a
// single space between two non-blank characters, so that unfolding gives
// the value back whether the reader removes the CRLF (RFC 5322) or, like
// net/textproto, trims the blanks around it and joins with one space.
func writeHeader(b *bytes.Buffer, name, value string) {
	line := name + ": " + value
	start := len(name) + 2 // never fold inside "name: "
	for len(line) > foldAt {
		// The last such space at or before foldAt, else the first after.
		cut := -1
		for i := start; i < len(line)-1; i++ {
			if line[i] != ' ' || isBlank(line[i-1]) || isBlank(line[i+1]) {
				continue
			}
			if i <= foldAt || cut < 0 {
				cut = i
			}
			if i > foldAt {
				break
			}
		}
		if cut < 0 {
			break
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n")
		line = line[cut:]
		start = 1
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// messageID returns a new random Message-ID in the domain of addr.
func messageID(addr string) string {
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if domain == "" || strings.ContainsFunc(domain, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '<' || r == '>' }) {
		domain = "localhost"
	}
	var id [16]byte
	_, _ = rand.Read(id[:]) // never fails (crypto/rand)
	return "<" + hex.EncodeToString(id[:]) + "@" + domain + ">"
}
