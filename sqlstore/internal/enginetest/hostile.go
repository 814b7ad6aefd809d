package enginetest

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testHostileBytes replays requests carrying bytes that some engines
// refuse (NUL, invalid UTF-8, control characters) in every place a client
// controls: headers, JSON strings, refresh tokens, path values. Each must
// get a 4xx (or be cleaned, for the User-Agent), never a 500, on every
// engine; an id that cannot name a session never reaches the Store.
func testHostileBytes(t *testing.T, h Harness) {
	db := h.migrated(t)()
	in := newInstance(t, h, db, nil)
	status, body := in.post(t, "/register", map[string]string{"email": "hostile@example.com", "password": "a good password"})
	require.Equal(t, http.StatusCreated, status, "register: %v", body)
	access := body["access_token"].(string)
	refresh := body["refresh_token"].(string)
	sid, _, _ := strings.Cut(refresh, ".")

	bad := []string{"\x00", "\xff\xfe", "a\x00b", "\u0000", "\x01\x1b[31m", strings.Repeat("\xc3", 300)}
	var corpus []rawRequest
	for _, b := range bad {
		js := rawJSON(b)
		corpus = append(corpus,
			rawRequest{"POST", "/api/auth/register", `{"email": "u` + js + `@example.com", "password": "a good password"}`, "", ""},
			rawRequest{"POST", "/api/auth/register", `{"email": "ok@example.com", "password": "pass` + js + `word", "display_name": "n` + js + `"}`, "", ""},
			rawRequest{"POST", "/api/auth/login", `{"email": "hostile@example.com", "password": "a good password` + js + `"}`, "", ""},
			rawRequest{"POST", "/api/auth/login", `{"email": "hostile` + js + `@example.com", "password": "a good password"}`, "", ""},
			rawRequest{"POST", "/api/auth/refresh", `{"refresh_token": "` + js + `.x"}`, "", ""},
			rawRequest{"POST", "/api/auth/refresh", `{"refresh_token": "` + sid + `.` + js + `"}`, "", ""},
			rawRequest{"POST", "/api/auth/refresh", `{"refresh_token": "` + sid[:35] + js + `.x"}`, "", ""},
			rawRequest{"POST", "/api/auth/logout", `{"refresh_token": "` + js + `.x"}`, "", ""},
			rawRequest{"POST", "/api/auth/verify-email", `{"token": "` + js + `"}`, "", ""},
			rawRequest{"POST", "/api/auth/reset-password", `{"token": "` + js + `", "password": "a good password"}`, "", ""},
			rawRequest{"POST", "/api/auth/forgot-password", `{"email": "x` + js + `@example.com"}`, "", ""},
			rawRequest{"POST", "/api/auth/resend-verification", `{"email": "x` + js + `@example.com"}`, "", ""},
			rawRequest{"GET", "/api/auth/verify-email/" + url.PathEscape(b), "", "", ""},
			rawRequest{"DELETE", "/api/auth/sessions/" + url.PathEscape(b), "", access, ""},
			rawRequest{"DELETE", "/api/auth/sessions/" + url.PathEscape(sid[:35]+b), "", access, ""},
			rawRequest{"GET", "/api/hello", "", access + url.PathEscape(b), ""},
		)
		if !strings.ContainsAny(b, "\x00\r\n") { // a header cannot carry these at all
			corpus = append(corpus,
				rawRequest{"POST", "/api/auth/login", `{"email": "hostile@example.com", "password": "a good password"}`, "", "agent " + b},
				rawRequest{"POST", "/api/auth/register", `{"email": "ua` + fmt.Sprint(len(corpus)) + `@example.com", "password": "a good password"}`, "", b + " agent"},
			)
		}
	}
	for _, rq := range corpus {
		status := rq.send(t, in.srv.Listener.Addr().String())
		assert.Less(t, status, 500, "%s %s %q (User-Agent %q): status %d", rq.method, rq.path, rq.body, rq.userAgent, status)
	}

	// Ids that cannot name a session are refused before the Store.
	for _, id := range []string{sid[:35] + "\x00", strings.ToUpper(sid), sid + "0", "'; DROP TABLE authkit_sessions; --"} {
		before := in.store.calls.Load()
		status, _ := in.post(t, "/refresh", map[string]string{"refresh_token": id + ".secret"})
		assert.Equal(t, http.StatusUnauthorized, status, "refresh with session id %q", id)
		assert.Equal(t, before, in.store.calls.Load(), "session id %q reached the Store", id)
	}

	// The User-Agents were cleaned, not refused: the sessions carry them
	// as valid text without control characters.
	sessions, err := in.store.UserSessions(t.Context(), body["user_id"].(string))
	require.NoError(t, err)
	for _, s := range sessions {
		assert.NotContains(t, s.UserAgent, "\x00")
		assert.NotContains(t, s.UserAgent, "\x1b")
		assert.True(t, strings.ToValidUTF8(s.UserAgent, "") == s.UserAgent, "valid UTF-8: %q", s.UserAgent)
	}
}

// rawJSON puts b into a JSON string as it is: raw bytes, except that a NUL
// is written as the escape \u0000 (raw control characters are not JSON).
func rawJSON(b string) string {
	return strings.NewReplacer("\x00", `\u0000`, "\x01", `\u0001`, "\x1b", `\u001b`).Replace(b)
}

// rawRequest is a request written byte for byte on a connection, so that
// no client library cleans what it carries.
type rawRequest struct {
	method, path, body, bearer, userAgent string
}

// send writes the request to addr and returns the status of the answer.
func (rq rawRequest) send(t *testing.T, addr string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", rq.method, rq.path, addr)
	if rq.userAgent != "" {
		fmt.Fprintf(&b, "User-Agent: %s\r\n", rq.userAgent)
	}
	if rq.bearer != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", rq.bearer)
	}
	if rq.body != "" {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(rq.body))
	}
	b.WriteString("\r\n")
	b.WriteString(rq.body)
	_, err = conn.Write([]byte(b.String()))
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "%s %s", rq.method, rq.path)
	defer res.Body.Close()
	return res.StatusCode
}
