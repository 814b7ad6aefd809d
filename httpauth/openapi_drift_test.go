package httpauth_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/httpauth"
)

// TestOpenAPIDescribesEveryRoute checks that every route the Handler
// serves is an operation of the document, and every operation a route.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := loadContract(t, "/api/auth").doc
	served := map[string]bool{}
	for _, pattern := range httpauth.RoutePatterns() {
		method, path, ok := strings.Cut(pattern, " ")
		require.True(t, ok, "pattern %q names its method", pattern)
		served[method+" "+path] = true
		item := doc.Paths.Value(path)
		if assert.NotNil(t, item, "the document has the path of %q", pattern) {
			assert.NotNil(t, item.GetOperation(method), "the document has the operation %q", pattern)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			assert.True(t, served[method+" "+path], "the documented operation %s %s is served", method, path)
		}
	}
}

// TestOpenAPIProblemCodes checks that the document's ProblemCode lists
// exactly the problem codes of problem.go, that every error response is a
// problem of its own status with codes from that list, and that every
// success body is JSON.
func TestOpenAPIProblemCodes(t *testing.T) {
	doc := loadContract(t, "/api/auth").doc
	var documented []string
	for _, v := range doc.Components.Schemas["ProblemCode"].Value.Enum {
		documented = append(documented, v.(string))
	}
	assert.ElementsMatch(t, declaredStrings(t, "problem.go", "code"), documented, "ProblemCode lists the codes of problem.go")

	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, resp := range op.Responses.Map() {
				code, err := strconv.Atoi(status)
				require.NoError(t, err, "%s %s: response %s has a numeric status", method, path, status)
				if code < 400 {
					continue
				}
				where := method + " " + path + " " + status
				media := resp.Value.Content.Get("application/problem+json")
				if !assert.NotNil(t, media, "%s is a problem", where) || !assert.Len(t, resp.Value.Content, 1, "%s is only a problem", where) {
					continue
				}
				narrowed := media.Schema.Value.Properties
				if !assert.Contains(t, narrowed, "code", "%s names its codes", where) || !assert.Contains(t, narrowed, "status", "%s names its status", where) {
					continue
				}
				assert.Equal(t, []any{float64(code)}, narrowed["status"].Value.Enum, "%s: status member", where)
				for _, c := range narrowed["code"].Value.Enum {
					assert.Contains(t, documented, c, "%s: code %v is a ProblemCode", where, c)
				}
			}
		}
	}
}

// TestOpenAPIMessages checks that every message of a successful answer
// (the msg constants of endpoints.go) is in the document, word for word,
// as a value its schema allows.
func TestOpenAPIMessages(t *testing.T) {
	doc := loadContract(t, "/api/auth").doc
	var documented []any
	for name, schema := range doc.Components.Schemas {
		if p, ok := schema.Value.Properties["message"]; ok {
			require.NotEmpty(t, p.Value.Enum, "%s lists its messages", name)
			documented = append(documented, p.Value.Enum...)
		}
	}
	for _, msg := range declaredStrings(t, "endpoints.go", "msg") {
		assert.Contains(t, documented, msg, "the document has the message %q", msg)
	}
}

// TestOpenAPIDetails checks that every "detail" the API gives (the detail
// constants of the package) is among the document's examples of the
// problem's detail member, word for word.
func TestOpenAPIDetails(t *testing.T) {
	doc := loadContract(t, "/api/auth").doc
	documented := doc.Components.Schemas["Problem"].Value.Properties["detail"].Value.Examples
	for _, file := range []string{"problem.go", "json.go", "jwks.go"} {
		for _, detail := range declaredStrings(t, file, "detail") {
			assert.Contains(t, documented, detail, "the document has the detail %q of %s", detail, file)
		}
	}
}

// declaredStrings returns the values of the string constants of file
// whose names start with prefix, read from the source so that a new one
// cannot be missed.
func declaredStrings(t *testing.T, file, prefix string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	require.NoError(t, err, "parse %s", file)
	var values []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, prefix) || i >= len(spec.Values) {
				continue
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				values = append(values, v)
			}
		}
		return true
	})
	require.NotEmpty(t, values, "%s declares %s constants", file, prefix)
	return values
}

// TestOpenAPIOperationIDs checks that every operation has a unique
// operationId, which client generators name their methods after.
func TestOpenAPIOperationIDs(t *testing.T) {
	doc := loadContract(t, "/api/auth").doc
	seen := map[string]string{}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		for method, op := range doc.Paths.Value(path).Operations() {
			where := method + " " + path
			if assert.NotEmpty(t, op.OperationID, "%s has an operationId", where) {
				assert.NotContains(t, seen, op.OperationID, "%s: operationId %q is unique (also on %s)", where, op.OperationID, seen[op.OperationID])
				seen[op.OperationID] = where
			}
		}
	}
}
