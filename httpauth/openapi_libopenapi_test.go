package httpauth_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	validatorerrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/httpauth"
)

// The document is also read by a second, independent implementation,
// pb33f's libopenapi, which checks it against the OpenAPI 3.1 schema and
// validates recorded exchanges on its own.

// TestOpenAPIIndependentLoader loads the document with libopenapi and
// validates it against the specification's schema.
func TestOpenAPIIndependentLoader(t *testing.T) {
	doc, err := libopenapi.NewDocument(httpauth.OpenAPI())
	require.NoError(t, err, "libopenapi reads the document")
	model, err := doc.BuildV3Model()
	require.NoError(t, err, "libopenapi builds the model")
	assert.Equal(t, "3.1.0", model.Model.Version)
	operations := 0
	for item := range model.Model.Paths.PathItems.ValuesFromOldest() {
		operations += item.GetOperations().Len()
	}
	assert.Equal(t, len(httpauth.RoutePatterns()), operations, "one operation per route")

	v, errs := validator.NewValidator(doc)
	require.Empty(t, errs, "libopenapi-validator takes the document")
	ok, verrs := v.ValidateDocument()
	for _, e := range verrs {
		t.Errorf("libopenapi-validator: %s: %s", e.Message, e.Reason)
	}
	assert.True(t, ok, "the document is valid OpenAPI 3.1")
}

// exchange is one request to the API and its answer, as recorded.
type exchange struct {
	method, path string
	reqHeader    http.Header
	reqBody      []byte
	status       int
	header       http.Header
	body         []byte
}

// exchangeLog records the exchanges with the API mounted at /api/auth.
type exchangeLog struct {
	mu  sync.Mutex
	all []exchange
}

func (l *exchangeLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, "/api/auth")
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{w: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		rec.finish()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.all = append(l.all, exchange{r.Method, path, r.Header.Clone(), body, rec.status, rec.header, rec.body.Bytes()})
	})
}

// TestOpenAPIIndependentValidator replays the exchanges of a user's round
// of the API, in bearer and in cookie mode, through libopenapi-validator:
// every request and every answer must match the document.
func TestOpenAPIIndependentValidator(t *testing.T) {
	doc, err := libopenapi.NewDocument(httpauth.OpenAPI())
	require.NoError(t, err)
	v, errs := validator.NewValidator(doc)
	require.Empty(t, errs)

	for _, mode := range []string{"bearer", "cookie"} {
		t.Run(mode, func(t *testing.T) {
			log := &exchangeLog{}
			e := newEnv(t, func(s *setup) {
				s.wrap = log.wrap
				if mode == "cookie" {
					// Over HTTPS, where the cookies have their __Host- names.
					s.http.Cookies = &httpauth.CookieConfig{AccessToken: true}
					s.tls = true
				}
			})
			browser := map[string]string{}
			if mode == "cookie" {
				browser["Sec-Fetch-Site"] = "same-origin"
			}
			res := e.do(req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "ada@example.com", "password": "correct horse", "display_name": "Ada"}, header: browser})
			require.Equal(t, http.StatusCreated, res.status, "%s", res.body)
			access := res.tokens(t).AccessToken
			res = e.do(req{method: http.MethodPost, path: "/login", body: map[string]string{"email": "ada@example.com", "password": "correct horse"}, header: browser})
			require.Equal(t, http.StatusOK, res.status, "%s", res.body)
			refresh := res.tokens(t).RefreshToken
			cookies := map[string]string{"Sec-Fetch-Site": "same-origin"}
			for _, c := range res.header.Values("Set-Cookie") {
				name, _, _ := strings.Cut(c, ";")
				cookies["Cookie"] += name + "; "
			}
			e.get("/me", access)
			e.get("/sessions", access)
			e.do(req{method: http.MethodPost, path: "/login", body: map[string]string{"email": "ada@example.com", "password": "wrong horse"}})
			e.do(req{method: http.MethodPost, path: "/register", body: map[string]string{"email": "ada@example.com", "password": "short"}})
			e.post("/forgot-password", map[string]string{"email": "bob@example.com"})
			e.get("/jwks.json", "")
			e.get("/openapi.json", "")
			invalid := len(log.all) // from here on, requests the document refuses
			e.get("/me", "")
			e.do(req{method: http.MethodPost, path: "/login", body: `{"email": 5}`})
			bad := len(log.all)
			if mode == "cookie" {
				e.do(req{method: http.MethodPost, path: "/refresh", header: cookies})
				e.do(req{method: http.MethodGet, path: "/me", header: cookies})
				e.do(req{method: http.MethodPost, path: "/logout", header: cookies})
			} else {
				res = e.post("/refresh", map[string]string{"refresh_token": refresh})
				require.Equal(t, http.StatusOK, res.status, "%s", res.body)
				e.post("/logout", map[string]string{"refresh_token": res.tokens(t).RefreshToken})
			}
			e.do(req{method: http.MethodPost, path: "/logout-all", bearer: access})

			log.mu.Lock()
			defer log.mu.Unlock()
			require.NotEmpty(t, log.all)
			for i, x := range log.all {
				r, err := http.NewRequestWithContext(t.Context(), x.method, "https://api.example.com"+x.path, bytes.NewReader(x.reqBody))
				require.NoError(t, err)
				r.Header = x.reqHeader
				resp := &http.Response{StatusCode: x.status, Header: x.header, Body: io.NopCloser(bytes.NewReader(x.body)), Request: r}
				var (
					ok    bool
					verrs []*validatorerrors.ValidationError
				)
				if i >= invalid && i < bad {
					ok, verrs = v.ValidateHttpResponse(r, resp)
				} else {
					ok, verrs = v.ValidateHttpRequestResponse(r, resp)
				}
				for _, ve := range verrs {
					t.Errorf("libopenapi-validator: %s %s → %d: %s: %s", x.method, x.path, x.status, ve.Message, ve.Reason)
				}
				assert.True(t, ok, "%s %s → %d matches the document", x.method, x.path, x.status)

				// And the validator does look: the same answer with a member
				// the document does not give is refused.
				if x.status == http.StatusOK && x.path == "/me" {
					tampered := bytes.Replace(x.body, []byte(`{`), []byte(`{"admin": true, `), 1)
					resp.Body = io.NopCloser(bytes.NewReader(tampered))
					ok, _ = v.ValidateHttpResponse(r, resp)
					assert.False(t, ok, "an undocumented member is refused")
				}
			}
		})
	}
}
