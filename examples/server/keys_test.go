package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// writeKey generates a key of alg, writes its PEM into dir and returns the
// file's path and the key id the server will give it.
func writeKey(t *testing.T, dir, name, alg string) (path, kid string) {
	t.Helper()
	k, err := authkit.GenerateKey("", alg)
	require.NoError(t, err)
	pem, err := k.MarshalPEM()
	require.NoError(t, err)
	path = filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, pem, 0o600))
	parsed, err := authkit.ParseKeyPEM("", pem)
	require.NoError(t, err)
	return path, parsed.ID()
}

// header decodes the JOSE header of a JWT.
func header(t *testing.T, token string) map[string]any {
	t.Helper()
	head, _, ok := strings.Cut(token, ".")
	require.True(t, ok, "a JWT")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(raw, &h))
	return h
}

// login logs the test user in and returns the access token.
func (s *server) login(t *testing.T) string {
	t.Helper()
	status, body, _ := s.call(t, "POST", "/api/auth/login", "", map[string]string{"email": "keys@example.com", "password": "correct horse battery staple"})
	require.Equal(t, http.StatusOK, status, "login: %v", body)
	return body["access_token"].(string)
}

// hello reports the status of GET /api/hello with token.
func (s *server) hello(t *testing.T, token string) int {
	t.Helper()
	status, _, _ := s.call(t, "GET", "/api/hello", token, nil)
	return status
}

// kids returns the key ids the server publishes at /jwks.json.
func (s *server) kids(t *testing.T) []string {
	t.Helper()
	status, body, _ := s.call(t, "GET", "/api/auth/jwks.json", "", nil)
	require.Equal(t, http.StatusOK, status)
	var out []string
	for _, k := range body["keys"].([]any) {
		out = append(out, k.(map[string]any)["kid"].(string))
	}
	return out
}

// TestServerKeyRotation follows the README's steps: from the HS256 secret
// to a key pair, then to a newer key pair, restarting the server on the same
// database each time. No one is signed out until a key is removed.
func TestServerKeyRotation(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "authkit.db")
	const secret = "the secret of the first generation, 32+ bytes"
	// Each start listens on a new port: a fixed base URL keeps the
	// tokens' issuer and audience across the restarts.
	const issuer = "https://auth.example.com"
	oldPEM, oldKid := writeKey(t, dir, "old.pem", authkit.AlgEdDSA)
	newPEM, newKid := writeKey(t, dir, "new.pem", authkit.AlgES256)

	// HS256: no key set to publish.
	s := start(t, map[string]string{"AUTHKIT_DATABASE_URL": dbURL, "AUTHKIT_BASE_URL": issuer, "AUTHKIT_SECRET": secret})
	status, body, _ := s.call(t, "POST", "/api/auth/register", "", map[string]string{"email": "keys@example.com", "password": "correct horse battery staple"})
	require.Equal(t, http.StatusCreated, status, "register: %v", body)
	hsToken := body["access_token"].(string)
	assert.Equal(t, "HS256", header(t, hsToken)["alg"])
	status, _, _ = s.call(t, "GET", "/api/auth/jwks.json", "", nil)
	assert.Equal(t, http.StatusNotFound, status, "no JWK Set under HS256")
	require.NoError(t, s.stop())

	// Sign with a key pair; the secret only verifies.
	s = start(t, map[string]string{"AUTHKIT_DATABASE_URL": dbURL, "AUTHKIT_BASE_URL": issuer, "AUTHKIT_SECRET": secret, "AUTHKIT_SIGNING_KEY_FILE": oldPEM})
	edToken := s.login(t)
	assert.Equal(t, "EdDSA", header(t, edToken)["alg"])
	assert.Equal(t, oldKid, header(t, edToken)["kid"])
	assert.Equal(t, http.StatusOK, s.hello(t, hsToken), "the HS256 token still verifies")
	assert.Equal(t, http.StatusOK, s.hello(t, edToken))
	assert.Equal(t, []string{oldKid}, s.kids(t), "the secret is never published")
	require.NoError(t, s.stop())

	// Rotate to a newer key; the old one only verifies; the secret is gone.
	s = start(t, map[string]string{"AUTHKIT_DATABASE_URL": dbURL, "AUTHKIT_BASE_URL": issuer, "AUTHKIT_SIGNING_KEY_FILE": newPEM, "AUTHKIT_VERIFICATION_KEY_FILES": oldPEM})
	esToken := s.login(t)
	assert.Equal(t, "ES256", header(t, esToken)["alg"])
	assert.Equal(t, newKid, header(t, esToken)["kid"])
	assert.Equal(t, http.StatusOK, s.hello(t, edToken), "the retired key still verifies")
	assert.Equal(t, http.StatusOK, s.hello(t, esToken))
	assert.Equal(t, http.StatusUnauthorized, s.hello(t, hsToken), "the removed secret no longer verifies")
	assert.ElementsMatch(t, []string{oldKid, newKid}, s.kids(t))
	require.NoError(t, s.stop())

	// Remove the retired key.
	s = start(t, map[string]string{"AUTHKIT_DATABASE_URL": dbURL, "AUTHKIT_BASE_URL": issuer, "AUTHKIT_SIGNING_KEY_FILE": newPEM})
	assert.Equal(t, http.StatusUnauthorized, s.hello(t, edToken), "the removed key no longer verifies")
	assert.Equal(t, http.StatusOK, s.hello(t, esToken))
	assert.Equal(t, []string{newKid}, s.kids(t))
}
