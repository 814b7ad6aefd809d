package httpauth

import (
	"crypto/sha256"
	_ "embed" // the OpenAPI document
	"encoding/hex"
	"net/http"
	"strings"
)

// openapiDocument is the OpenAPI 3.1 description of the Handler's API.
//
//go:embed openapi.json
var openapiDocument []byte

// openapiETag is the entity tag of openapiDocument: a digest of it, so it
// changes exactly when the document does.
var openapiETag = func() string {
	sum := sha256.Sum256(openapiDocument)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// openapiMaxAge is how long clients may cache the document, in seconds;
// after that they revalidate it with its ETag.
const openapiMaxAge = "300"

// OpenAPI returns the OpenAPI 3.1 document (JSON) that describes the
// Handler's HTTP API: every route, request and response body, status,
// problem code, header and security scheme. It is the document the Handler
// serves at GET /openapi.json; each call returns a fresh copy, which the
// caller may change.
//
// Its one server has the URL ".": the directory the document is served
// from, which is where the Handler is mounted, whatever the prefix. A host
// that publishes the document elsewhere (at a documentation site, say)
// should replace servers with the API's absolute URL, such as
// "https://api.example.com/api/auth".
func OpenAPI() []byte {
	return append([]byte(nil), openapiDocument...)
}

// OpenAPIDocument serves GET /openapi.json: the document of OpenAPI, as
// application/json (the media type every OpenAPI tool, browser and HTTP
// client reads as JSON), cacheable by anyone for five minutes and then
// revalidated with its ETag: a request whose If-None-Match names it is
// answered 304 Not Modified without a body.
func (h *Handler) OpenAPIDocument(w http.ResponseWriter, r *http.Request) {
	serve(h, w, r, endpoint{name: "OpenAPIDocument"}, func(_ *noBody, _ *principal) error {
		hdr := w.Header()
		hdr.Set("ETag", openapiETag)
		hdr.Set("Cache-Control", "public, max-age="+openapiMaxAge)
		if etagMatch(r.Header.Values("If-None-Match"), openapiETag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		hdr.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(openapiDocument)
		return nil
	})
}

// etagMatch reports whether an If-None-Match header, given as its values,
// names etag or is "*", comparing weakly as RFC 9110 asks of it.
func etagMatch(values []string, etag string) bool {
	for _, v := range values {
		for tag := range strings.SplitSeq(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
				return true
			}
		}
	}
	return false
}
