package httpauth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// TestSeedCurlExamples replays the seed design's usage examples in order,
// with its URLs, bodies, status codes and messages.
func TestSeedCurlExamples(t *testing.T) {
	e := newEnv(t)

	// Register.
	res := e.post("/register", `{"email": "user@example.com", "password": "securepass123", "display_name": "John Doe"}`)
	require.Equal(t, http.StatusCreated, res.status, "POST /register: %s", res.body)
	assert.Equal(t, "application/json", res.header.Get("Content-Type"))
	reg := res.json(t)
	assert.Equal(t, "bearer", reg["token_type"])
	assert.Equal(t, "user@example.com", reg["email"])
	assert.Equal(t, "John Doe", reg["display_name"])
	assert.NotEmpty(t, reg["access_token"])
	assert.NotEmpty(t, reg["refresh_token"])
	assert.NotEmpty(t, reg["user_id"])
	assert.EqualValues(t, 15*60, reg["expires_in"])
	e.mail.Next(t, authkit.MessageVerifyEmail)

	// Login.
	res = e.post("/login", `{"email": "user@example.com", "password": "securepass123"}`)
	require.Equal(t, http.StatusOK, res.status, "POST /login: %s", res.body)
	login := res.tokens(t)
	assert.Equal(t, reg["user_id"], login.UserID)
	assert.Equal(t, "John Doe", login.DisplayName)
	assert.Equal(t, "bearer", login.TokenType)

	// Get current user.
	res = e.get("/me", login.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "GET /me: %s", res.body)
	me := res.json(t)
	assert.Equal(t, reg["user_id"], me["user_id"])
	assert.Equal(t, "user@example.com", me["email"])
	assert.Equal(t, "John Doe", me["display_name"])
	assert.Equal(t, false, me["email_verified"])
	created, err := time.Parse(time.RFC3339, me["created_at"].(string))
	require.NoError(t, err, "created_at is RFC 3339")
	assert.True(t, created.Equal(e.clock.Now()), "created_at %v", created)

	// Forgot password.
	res = e.post("/forgot-password", `{"email": "user@example.com"}`)
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, map[string]any{"message": "If an account exists, a password reset link has been sent."}, res.json(t))

	// Reset password with the mailed token.
	token := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))
	res = e.post("/reset-password", `{"token": "`+token+`", "password": "newpassword123"}`)
	require.Equal(t, http.StatusOK, res.status, "POST /reset-password: %s", res.body)
	assert.Equal(t, map[string]any{"message": "Password reset successfully."}, res.json(t))

	// The new password works, the old one does not.
	e.login("user@example.com", "newpassword123")
	res = e.post("/login", `{"email": "user@example.com", "password": "securepass123"}`)
	m := assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
	assert.Equal(t, "Invalid email or password", m["detail"])
}

// Key Features 1: "JWT Tokens: 7-day expiry, HS256 algorithm". The access
// token is an HS256 JWT; the default lifetime is 15 minutes and the seed's
// 7 days can be configured.
func TestSeedJWTTokensHS256(t *testing.T) {
	e := newEnv(t, withAuth(func(c *authkit.Config) { c.AccessTokenTTL = 7 * 24 * time.Hour }))
	tk, _ := e.register("ada@example.com", "correct horse")
	assert.EqualValues(t, 7*24*3600, tk.ExpiresIn, "expires_in")

	parts := strings.Split(tk.AccessToken, ".")
	require.Len(t, parts, 3, "compact JWS")
	hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	var header map[string]any
	require.NoError(t, json.Unmarshal(hdr, &header))
	assert.Equal(t, "HS256", header["alg"])
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	assert.Equal(t, tk.UserID, claims["user_id"], "the seed's user_id claim")
	assert.Equal(t, tk.UserID, claims["sub"])
	assert.EqualValues(t, e.clock.Now().Add(7*24*time.Hour).Unix(), claims["exp"])

	// Still good after six days, refused after seven (plus leeway).
	e.clock.Advance(6 * 24 * time.Hour)
	assert.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status)
	e.clock.Advance(24*time.Hour + time.Minute)
	assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")

	d := newEnv(t)
	tk, _ = d.register("ada@example.com", "correct horse")
	assert.EqualValues(t, 15*60, tk.ExpiresIn, "default expires_in")
}

// Key Features 2: "Bcrypt Hashing: secure password storage with passlib".
// Passwords are stored as bcrypt hashes, and a passlib ($2b$) hash logs in.
func TestSeedBcryptHashing(t *testing.T) {
	e := newEnv(t)
	e.register("ada@example.com", "correct horse")
	u, err := e.store.UserByEmail(t.Context(), "ada@example.com")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(u.PasswordHash, "$2a$"), "bcrypt hash, got %.4s…", u.PasswordHash)
	assert.NotContains(t, u.PasswordHash, "correct horse")
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte("correct horse")))

	// A user migrated from the seed's database, with a passlib hash.
	hash, err := bcrypt.GenerateFromPassword([]byte("securepass123"), 4)
	require.NoError(t, err)
	passlib := "$2b$" + string(hash[4:])
	now := e.clock.Now()
	require.NoError(t, e.store.CreateUser(t.Context(), authkit.User{
		ID: "6f1c2f7e-6a47-4a53-9d58-2f5b8f0e7d11", Email: "legacy@example.com", DisplayName: "legacy",
		PasswordHash: passlib, Active: true, CreatedAt: now, UpdatedAt: now,
	}))
	e.login("legacy@example.com", "securepass123")
	res := e.post("/login", map[string]string{"email": "legacy@example.com", "password": "securepass124"})
	assertProblem(t, res, http.StatusUnauthorized, "invalid_credentials")
}

// Key Features 3 and Security Notes: "Email verification tokens expire in
// 24 hours".
func TestSeedEmailVerificationExpires24h(t *testing.T) {
	e := newEnv(t)

	_, token := e.register("ada@example.com", "correct horse")
	e.clock.Advance(24*time.Hour - time.Minute)
	res := e.get("/verify-email/"+token, "")
	require.Equal(t, http.StatusOK, res.status, "GET /verify-email: %s", res.body)
	assert.Equal(t, map[string]any{"message": "Email verified successfully."}, res.json(t))
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	tk := e.login("ada@example.com", "correct horse")
	assert.Equal(t, true, e.get("/me", tk.AccessToken).json(t)["email_verified"])
	// Opened twice (a mail scanner first, say): still a success.
	res = e.get("/verify-email/"+token, "")
	require.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, map[string]any{"message": "Email already verified."}, res.json(t))

	_, token = e.register("grace@example.com", "correct horse")
	e.clock.Advance(24*time.Hour + time.Second)
	m := assertProblem(t, e.post("/verify-email", map[string]string{"token": token}), http.StatusBadRequest, "token_expired")
	assert.Equal(t, "Verification token expired", m["detail"])

	m = assertProblem(t, e.get("/verify-email/not-a-token", ""), http.StatusBadRequest, "invalid_token")
	assert.Equal(t, "Invalid verification token", m["detail"])

	// POST works like GET.
	_, token = e.register("linus@example.com", "correct horse")
	res = e.post("/verify-email", map[string]string{"token": token})
	require.Equal(t, http.StatusOK, res.status, "POST /verify-email: %s", res.body)
	assert.Equal(t, "Email verified successfully.", res.json(t)["message"])
}

// Key Features 4 and Security Notes: "Password reset tokens expire in 1
// hour".
func TestSeedPasswordResetExpires1h(t *testing.T) {
	e := newEnv(t)
	e.register("ada@example.com", "correct horse")

	require.Equal(t, http.StatusOK, e.post("/forgot-password", map[string]string{"email": "ada@example.com"}).status)
	token := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))
	e.clock.Advance(time.Hour + time.Second)
	m := assertProblem(t, e.post("/reset-password", map[string]string{"token": token, "password": "new password"}),
		http.StatusBadRequest, "token_expired")
	assert.Equal(t, "Invalid or expired reset token", m["detail"])
	e.login("ada@example.com", "correct horse")

	require.Equal(t, http.StatusOK, e.post("/forgot-password", map[string]string{"email": "ada@example.com"}).status)
	token = testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))
	e.clock.Advance(time.Hour - time.Minute)
	res := e.post("/reset-password", map[string]string{"token": token, "password": "new password"})
	require.Equal(t, http.StatusOK, res.status, "POST /reset-password: %s", res.body)
	e.login("ada@example.com", "new password")

	// Spent: single use.
	m = assertProblem(t, e.post("/reset-password", map[string]string{"token": token, "password": "third password"}),
		http.StatusBadRequest, "invalid_token")
	assert.Equal(t, "Invalid or expired reset token", m["detail"])
	m = assertProblem(t, e.post("/reset-password", map[string]string{"token": "forged", "password": "third password"}),
		http.StatusBadRequest, "invalid_token")
	assert.Equal(t, "Invalid or expired reset token", m["detail"])
}

// Key Features 5: "Custom Auth Backend: seamless integration with DRF
// permissions". RequireUser protects a host route and hands it the user.
func TestSeedCustomAuthBackend(t *testing.T) {
	e := newEnv(t)
	res := e.post("/register", map[string]string{"email": "ada@example.com", "password": "correct horse", "display_name": "Ada"})
	require.Equal(t, http.StatusCreated, res.status)
	tk := res.tokens(t)

	res = e.get("/api/hello", tk.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "GET /api/hello: %s", res.body)
	assert.Equal(t, "Hello, Ada!", res.json(t)["message"])

	res = e.get("/api/hello", "")
	m := assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, "Authentication credentials were not provided.", m["detail"])
	assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))

	res = e.get("/api/hello", "garbage")
	m = assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, "Invalid or expired token", m["detail"])
	assert.Equal(t, `Bearer error="invalid_token"`, res.header.Get("WWW-Authenticate"))
}

// Key Features 6 and Security Notes: "No user enumeration" and "Forgot
// password doesn't reveal if email exists". Known and unknown emails get
// the same status, headers and body, from forgot-password,
// resend-verification and login.
func TestSeedNoUserEnumeration(t *testing.T) {
	e := newEnv(t)
	e.register("ada@example.com", "correct horse")

	same := func(path string, known, unknown map[string]string) {
		t.Helper()
		a, b := e.post(path, known), e.post(path, unknown)
		assert.Equal(t, a.status, b.status, "%s status", path)
		assert.Equal(t, string(a.body), string(b.body), "%s body", path)
		a.header.Del("Date")
		b.header.Del("Date")
		assert.Equal(t, a.header, b.header, "%s headers", path)
	}
	same("/forgot-password", map[string]string{"email": "ada@example.com"}, map[string]string{"email": "nobody@example.com"})
	same("/resend-verification", map[string]string{"email": "ada@example.com"}, map[string]string{"email": "nobody@example.com"})
	same("/login",
		map[string]string{"email": "ada@example.com", "password": "wrong password"},
		map[string]string{"email": "nobody@example.com", "password": "wrong password"})

	res := e.post("/forgot-password", map[string]string{"email": "nobody@example.com"})
	assert.Equal(t, http.StatusOK, res.status)
	assert.Equal(t, "If an account exists, a password reset link has been sent.", res.json(t)["message"])
	// Only the known account got mail.
	e.drain()
	assert.Equal(t, "ada@example.com", e.mail.Next(t, authkit.MessageResetPassword).To)
	e.mail.None(t, authkit.MessageResetPassword)
}

// Security Notes: "Passwords limited to 72 bytes (bcrypt requirement)".
// Longer passwords are refused with the seed's message, never truncated.
func TestSeedPasswordLimit72Bytes(t *testing.T) {
	e := newEnv(t)
	const tooLong = "Password too long (max 72 bytes)"
	pw72 := "一二三四五六七八九十百千万亿甲乙丙丁戊己庚辛壬癸" // 72 bytes in UTF-8: 24 ideographs
	pw73 := pw72 + "x"

	m := assertProblem(t, e.post("/register", map[string]string{"email": "ada@example.com", "password": pw73}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{tooLong}}, m["fields"])
	m = assertProblem(t, e.post("/register", map[string]string{"email": "ada@example.com", "password": strings.Repeat("€", 25)}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{tooLong}}, m["fields"])

	tk, _ := e.register("ada@example.com", pw72)
	e.login("ada@example.com", pw72)
	// bcrypt would ignore byte 73: the kit refuses instead of truncating.
	m = assertProblem(t, e.post("/login", map[string]string{"email": "ada@example.com", "password": pw73}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{tooLong}}, m["fields"])

	res := e.do(req{method: http.MethodPost, path: "/change-password", bearer: tk.AccessToken,
		body: map[string]string{"current_password": pw72, "new_password": pw73}})
	m = assertProblem(t, res, http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"new_password": []any{tooLong}}, m["fields"])

	require.Equal(t, http.StatusOK, e.post("/forgot-password", map[string]string{"email": "ada@example.com"}).status)
	token := testkit.TokenOf(t, e.mail.Next(t, authkit.MessageResetPassword))
	m = assertProblem(t, e.post("/reset-password", map[string]string{"token": token, "password": pw73}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{tooLong}}, m["fields"])

	m = assertProblem(t, e.post("/register", map[string]string{"email": "bob@example.com", "password": "short"}), http.StatusBadRequest, "invalid_input")
	assert.Equal(t, map[string]any{"password": []any{"Password must be at least 8 characters"}}, m["fields"])
}

// Security Notes: "Inactive users cannot log in". A disabled account is
// revealed (403) only after the right password; a wrong one is the usual
// 401. Its tokens stop working at once.
func TestSeedInactiveUsersCannotLogIn(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")
	require.NoError(t, e.auth.SetActive(t.Context(), tk.UserID, false, authkit.Client{}))

	m := assertProblem(t, e.post("/login", map[string]string{"email": "ada@example.com", "password": "correct horse"}), http.StatusForbidden, "account_disabled")
	assert.Equal(t, "User account is disabled", m["detail"])
	m = assertProblem(t, e.post("/login", map[string]string{"email": "ada@example.com", "password": "wrong horse"}), http.StatusUnauthorized, "invalid_credentials")
	assert.Equal(t, "Invalid email or password", m["detail"])

	res := e.get("/me", tk.AccessToken)
	m = assertProblem(t, res, http.StatusUnauthorized, "unauthorized")
	assert.Contains(t, []any{"User not found or inactive", "Invalid or expired token"}, m["detail"])
	assertProblem(t, e.post("/refresh", map[string]string{"refresh_token": tk.RefreshToken}), http.StatusUnauthorized, "invalid_token")
}

// Security Notes: "JWT tokens verified on every request". A token is
// checked against the user on each request, not once: disabling the user,
// or the token expiring, refuses the very next request.
func TestSeedJWTVerifiedOnEveryRequest(t *testing.T) {
	e := newEnv(t)
	tk, _ := e.register("ada@example.com", "correct horse")
	for range 3 {
		require.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status)
	}
	require.NoError(t, e.auth.SetActive(t.Context(), tk.UserID, false, authkit.Client{}))
	assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
	require.NoError(t, e.auth.SetActive(t.Context(), tk.UserID, true, authkit.Client{}))
	// Disabling bumped the token version: the old token stays dead.
	assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")

	tk = e.login("ada@example.com", "correct horse")
	require.Equal(t, http.StatusOK, e.get("/me", tk.AccessToken).status)
	e.clock.Advance(15*time.Minute + 31*time.Second) // lifetime plus leeway
	m := assertProblem(t, e.get("/me", tk.AccessToken), http.StatusUnauthorized, "unauthorized")
	assert.Equal(t, "Invalid or expired token", m["detail"])
}
