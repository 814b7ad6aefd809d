package main

// The reference server's API is held to the OpenAPI document from the
// client's side: every test client sends through contractTransport, which
// validates each request to /api/auth/ and its answer with kin-openapi
// (a test-only dependency).

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/authkit/authkit/httpauth"
)

// apiPrefix is where the reference server mounts the API.
const apiPrefix = "/api/auth"

var apiRouter = sync.OnceValues(func() (routers.Router, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpauth.OpenAPI())
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: apiPrefix}}
	return gorillamux.NewRouter(doc)
})

// contractTransport sends requests through next and reports on t every
// answer of the API that the document does not give, and every request
// that does not match the document yet was not refused with a 4xx.
type contractTransport struct {
	t    testing.TB
	next http.RoundTripper
}

func newContractClient(t testing.TB) *http.Client {
	t.Helper()
	if _, err := apiRouter(); err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	return &http.Client{Transport: &contractTransport{t: t, next: http.DefaultTransport}}
}

func (c *contractTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(r.URL.Path, apiPrefix+"/") {
		return c.next.RoundTrip(r)
	}
	where := r.Method + " " + r.URL.Path
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		_ = r.Body.Close()
	}
	send := r.Clone(r.Context())
	send.Body = io.NopCloser(bytes.NewReader(body))
	probe := r.Clone(r.Context())
	probe.Body = io.NopCloser(bytes.NewReader(body))

	router, _ := apiRouter()
	route, params, routeErr := router.FindRoute(probe)
	res, err := c.next.RoundTrip(send)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(got))

	if routeErr != nil {
		if res.StatusCode < 400 || res.StatusCode >= 500 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") {
			c.t.Errorf("OpenAPI: %s is no operation of the document (%v), yet it was answered %d", where, routeErr, res.StatusCode)
		}
		return res, nil
	}
	reqInput := &openapi3filter.RequestValidationInput{
		Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	reqErr := openapi3filter.ValidateRequest(r.Context(), reqInput)
	respErr := openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(got)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	switch {
	case respErr != nil:
		c.t.Errorf("OpenAPI: %s answered %d, not as documented: %v\nbody: %s", where, res.StatusCode, respErr, got)
	case reqErr != nil && (res.StatusCode < 400 || res.StatusCode >= 500):
		c.t.Errorf("OpenAPI: %s does not match the document (%v), yet it was answered %d", where, reqErr, res.StatusCode)
	}
	return res, nil
}
