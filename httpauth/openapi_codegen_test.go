package httpauth_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/httpauth"
)

// TestOpenAPIGeneratedClientBuilds generates a Go client from the
// document with oapi-codegen and builds it, so that the document stays
// usable by client generators (a schema named like an operation's
// response, say, breaks the generated code). It runs when
// AUTHKIT_TEST_OAPI_CODEGEN names an oapi-codegen binary (v2.8.2 or
// later, from go install github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2);
// the build reads only the module cache, which must hold
// github.com/oapi-codegen/runtime (go mod download
// github.com/oapi-codegen/runtime@latest puts it there).
func TestOpenAPIGeneratedClientBuilds(t *testing.T) {
	codegen := os.Getenv("AUTHKIT_TEST_OAPI_CODEGEN")
	if codegen == "" {
		t.Skip("set AUTHKIT_TEST_OAPI_CODEGEN to an oapi-codegen binary to build a client from the document")
	}
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command")
	modcache, err := exec.CommandContext(t.Context(), gobin, "env", "GOMODCACHE").Output()
	require.NoError(t, err, "go env GOMODCACHE")
	// The module cache serves as the only proxy: nothing leaves the machine.
	proxy := "GOPROXY=file://" + filepath.ToSlash(filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"))
	dir := t.TempDir()
	doc := filepath.Join(dir, "openapi.json")
	require.NoError(t, os.WriteFile(doc, httpauth.OpenAPI(), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/authclient\n\ngo 1.26\n"), 0o600))

	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), proxy, "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %v:\n%s", filepath.Base(name), args, out)
	}
	run(codegen, "-generate", "types,client", "-package", "authclient", "-o", filepath.Join(dir, "client.gen.go"), doc)
	run(gobin, "mod", "tidy")
	run(gobin, "vet", "./...")
}
