package httpauth_test

// The OpenAPI document is checked against every exchange of the HTTP tests:
// newEnv serves its API through apiContract, which validates each request
// and response with kin-openapi. kin-openapi and libopenapi are test
// dependencies only: no importer of httpauth compiles them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/authkit/authkit/httpauth"
)

// contract is the OpenAPI document, loaded and checked once, with a router
// for the API mounted at a prefix.
type contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	contractMu sync.Mutex
	contracts  = map[string]*contract{}
)

// loadContract loads httpauth.OpenAPI() with its server set to prefix, the
// API's mount point.
func loadContract(t testing.TB, prefix string) *contract {
	t.Helper()
	contractMu.Lock()
	defer contractMu.Unlock()
	if c, ok := contracts[prefix]; ok {
		return c
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpauth.OpenAPI())
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: prefix}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the OpenAPI document: %v", err)
	}
	c := &contract{doc: doc, router: router}
	contracts[prefix] = c
	return c
}

// shapeDetails are the details and field messages of a 400 invalid_input
// about a body's shape (not JSON, not an object, a member of the wrong
// type), which a request that matches the document must never get.
var shapeDetails = []string{
	"Request body is not valid JSON.",
	"Request body must be a JSON object.",
	"Not a valid string.",
	"Invalid value.",
}

// apiContract returns middleware that holds every exchange with the API
// mounted at prefix to the OpenAPI document, reporting a breach on t:
//
//   - every response must be one the document gives for the operation:
//     its status, content type, headers and body schema;
//   - a request that does not match the document (tests send malformed
//     ones on purpose) must be refused with a documented 4xx problem;
//   - a request that matches it must not be refused as malformed;
//   - a request for a path or method the document does not know must
//     get a 4xx problem.
//
// CORS preflights, which the document does not describe, pass unchecked,
// as do the host's routes outside prefix.
func apiContract(t testing.TB, prefix string) func(http.Handler) http.Handler {
	t.Helper()
	c := loadContract(t, prefix)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasPrefix(r.URL.Path, prefix+"/") ||
				(r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "") {
				next.ServeHTTP(w, r)
				return
			}
			c.exchange(t, w, r, next)
		})
	}
}

func (c *contract) exchange(t testing.TB, w http.ResponseWriter, r *http.Request, next http.Handler) {
	where := r.Method + " " + r.URL.Path
	body, readErr := io.ReadAll(r.Body)
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{readErr}))

	// The router matches on an absolute URL.
	probe := r.Clone(r.Context())
	probe.URL = &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	probe.Body = io.NopCloser(bytes.NewReader(body))

	rec := &recorder{w: w, status: http.StatusOK}
	route, params, routeErr := c.router.FindRoute(probe)
	if routeErr != nil {
		next.ServeHTTP(rec, r)
		rec.finish()
		if rec.status < 400 || rec.status >= 500 || c.checkProblem(rec) != nil {
			t.Errorf("OpenAPI: %s is no operation of the document (%v), yet it was answered %d %s: %s",
				where, routeErr, rec.status, rec.header.Get("Content-Type"), rec.body.Bytes())
		}
		return
	}
	reqInput := &openapi3filter.RequestValidationInput{
		Request:    probe,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: presentCredentials},
	}
	reqErr := error(nil)
	if readErr == nil {
		reqErr = openapi3filter.ValidateRequest(r.Context(), reqInput)
	}
	if trimmed := bytes.TrimSpace(body); reqErr == nil && len(trimmed) > 0 && !json.Valid(trimmed) {
		// kin-openapi reads the first JSON value and ignores what follows.
		reqErr = errors.New("the body is not one JSON value")
	}
	if trimmed := bytes.TrimSpace(body); reqErr == nil && len(trimmed) > 0 && !json.Valid(trimmed) {
		// kin-openapi reads the first JSON value and ignores what follows.
		reqErr = errors.New("the body is not one JSON value")
	}

	next.ServeHTTP(rec, r)
	rec.finish()
	if rec.status == 499 {
		return // the client went away: nobody reads this answer
	}
	respErr := c.checkResponse(r.Context(), reqInput, route, rec)
	switch {
	case respErr != nil:
		t.Errorf("OpenAPI: %s answered %d, not as documented: %v\nrequest valid: %v\nbody: %s", where, rec.status, respErr, errOrOK(reqErr), rec.body.Bytes())
	case reqErr != nil && readErr == nil && (rec.status < 400 || rec.status >= 500):
		t.Errorf("OpenAPI: %s does not match the document (%v), yet it was answered %d", where, reqErr, rec.status)
	case reqErr == nil && readErr == nil && rec.status == http.StatusBadRequest && refusedShape(rec.body.Bytes()):
		t.Errorf("OpenAPI: %s matches the document, yet it was refused as malformed: %s", where, rec.body.Bytes())
	}
}

// checkResponse validates rec as the answer to reqInput.
func (c *contract) checkResponse(ctx context.Context, reqInput *openapi3filter.RequestValidationInput, route *routers.Route, rec *recorder) error {
	if rec.status == http.StatusNotModified {
		// kin-openapi skips 304s: the status must be documented all the same.
		if route.Operation.Responses.Status(rec.status) == nil {
			return errors.New("status is not documented")
		}
		return nil
	}
	if rec.body.Len() == 0 && rec.header.Get("Content-Type") == "" {
		// A response without a body must be documented without content.
		if ref := route.Operation.Responses.Status(rec.status); ref != nil && ref.Value != nil && len(ref.Value.Content) > 0 {
			return errors.New("an empty answer where the document gives a body")
		}
	}
	return openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 rec.status,
		Header:                 rec.header,
		Body:                   io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
}

// checkProblem validates rec as a problem of the document.
func (c *contract) checkProblem(rec *recorder) error {
	mt, _, err := mime.ParseMediaType(rec.header.Get("Content-Type"))
	if err != nil || mt != "application/problem+json" {
		return errors.New("not application/problem+json")
	}
	var v any
	if err := json.Unmarshal(rec.body.Bytes(), &v); err != nil {
		return err
	}
	return c.doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// refusedShape reports whether a 400 body refuses the request's shape.
func refusedShape(body []byte) bool {
	var p struct {
		Code   string              `json:"code"`
		Detail string              `json:"detail"`
		Fields map[string][]string `json:"fields"`
	}
	if json.Unmarshal(body, &p) != nil || p.Code != "invalid_input" {
		return false
	}
	if slices.Contains(shapeDetails, p.Detail) {
		return true
	}
	for _, msgs := range p.Fields {
		for _, m := range msgs {
			if slices.Contains(shapeDetails, m) {
				return true
			}
		}
	}
	return false
}

// presentCredentials passes a security requirement when the request shows
// the credential it names (not whether it is good: that is the API's to
// say, with a documented 401).
func presentCredentials(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	s := in.SecurityScheme
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		v := r.Header.Get("Authorization")
		if len(v) > len("Bearer ") && strings.EqualFold(v[:len("Bearer ")], "Bearer ") && strings.TrimSpace(v[len("Bearer "):]) != "" {
			return nil
		}
	case s.Type == "apiKey" && s.In == "cookie":
		// Over plain HTTP to a loopback host the cookie goes without its
		// __Host- prefix.
		for _, name := range []string{s.Name, strings.TrimPrefix(s.Name, "__Host-")} {
			if ck, err := r.Cookie(name); err == nil && ck.Value != "" {
				return nil
			}
		}
	}
	return in.NewError(nil)
}

func errOrOK(err error) string {
	if err == nil {
		return "yes"
	}
	return err.Error()
}

// errReader fails with err, or is empty when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// recorder passes a response on to w and keeps a copy of it.
type recorder struct {
	w      http.ResponseWriter
	status int
	header http.Header
	wrote  bool
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.w.Header() }

func (rec *recorder) WriteHeader(status int) {
	if rec.wrote {
		return
	}
	rec.wrote = true
	rec.status = status
	rec.header = rec.w.Header().Clone()
	rec.w.WriteHeader(status)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.wrote {
		rec.WriteHeader(http.StatusOK)
	}
	rec.body.Write(b)
	return rec.w.Write(b)
}

// finish records the header of a response that wrote nothing.
func (rec *recorder) finish() {
	if !rec.wrote {
		rec.wrote = true
		rec.header = rec.w.Header().Clone()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.w }
