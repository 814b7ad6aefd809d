package httpauth_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/httpauth"
)

// TestOpenAPIServed checks GET openapi.json under the mount point: the
// document of OpenAPI, as JSON, cacheable and revalidated by its ETag;
// and that its relative server URL resolves to the mount point, whatever
// the prefix.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	res := e.get("/openapi.json", "")
	require.Equal(t, http.StatusOK, res.status, "GET /openapi.json: %s", res.body)
	assert.Equal(t, "application/json", res.header.Get("Content-Type"), "Content-Type")
	assert.Equal(t, "public, max-age=300", res.header.Get("Cache-Control"), "Cache-Control")
	assert.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	assert.Equal(t, httpauth.OpenAPI(), res.body, "the body is the document")
	etag := res.header.Get("ETag")
	require.NotEmpty(t, etag, "ETag")

	for _, match := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		again := e.do(req{method: http.MethodGet, path: "/openapi.json", header: map[string]string{"If-None-Match": match}})
		assert.Equal(t, http.StatusNotModified, again.status, "If-None-Match: %s", match)
		assert.Empty(t, again.body, "a 304 has no body")
		assert.Equal(t, etag, again.header.Get("ETag"))
	}
	stale := e.do(req{method: http.MethodGet, path: "/openapi.json", header: map[string]string{"If-None-Match": `"other"`}})
	assert.Equal(t, http.StatusOK, stale.status, "another ETag gets the document")

	var doc struct {
		Servers []struct{ URL string } `json:"servers"`
	}
	require.NoError(t, json.Unmarshal(res.body, &doc))
	require.Len(t, doc.Servers, 1)
	for _, mount := range []string{"/api/auth", "/v2/identity", ""} {
		served, err := url.Parse("https://api.example.com" + mount + "/openapi.json")
		require.NoError(t, err)
		base, err := served.Parse(doc.Servers[0].URL)
		require.NoError(t, err)
		assert.Equal(t, "https://api.example.com"+mount+"/login",
			strings.TrimSuffix(base.String(), "/")+"/login", "the server URL resolves to the mount %q", mount)
	}
}

// TestOpenAPIReturnsACopy checks that a caller cannot change the document
// the Handler serves.
func TestOpenAPIReturnsACopy(t *testing.T) {
	doc := httpauth.OpenAPI()
	want := bytes.Clone(doc)
	clear(doc)
	assert.Equal(t, want, httpauth.OpenAPI(), "OpenAPI returns a fresh copy")
	assert.True(t, json.Valid(want), "the document is JSON")
}
