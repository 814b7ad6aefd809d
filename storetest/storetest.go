package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// Run runs the conformance suite against the Store that newStore returns.
// newStore is called once per subtest, with that subtest's testing.TB, and
// must return a fresh, empty store; it should fail t itself if it cannot
// make one. Subtests run one after another.
//
// When the Store also implements authkit.FactorStore, the subtests under
// Factor check that contract too; otherwise Factor is skipped, and a Store
// without second factors passes the suite.
func Run(t *testing.T, newStore func(t testing.TB) authkit.Store) {
	t.Run("User", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("UpdateUser", func(t *testing.T) { testUpdateUser(t, newStore) })
	t.Run("DeleteUser", func(t *testing.T) { testDeleteUser(t, newStore) })
	t.Run("Token", func(t *testing.T) { testTokens(t, newStore) })
	t.Run("Session", func(t *testing.T) { testSessions(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newStore) })
	t.Run("Copies", func(t *testing.T) { testCopies(t, newStore) })
	t.Run("Context", func(t *testing.T) { testContext(t, newStore) })
	t.Run("Factor", func(t *testing.T) { testFactors(t, newStore) })
}

// now returns the current time the way the Authenticator passes it to a
// Store: in UTC and truncated to the microsecond.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read crashes instead
	return b
}

// newID returns a random version 4 UUID in its canonical text form.
func newID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newHash returns 64 random lower-case hex digits, the shape of a SHA-256.
func newHash() string {
	return hex.EncodeToString(randomBytes(32))
}

// newEmail returns a random, normalized email address.
func newEmail() string {
	return "user-" + hex.EncodeToString(randomBytes(6)) + "@example.com"
}

// newPasswordHash returns a random string shaped like a bcrypt hash.
func newPasswordHash() string {
	return "$2a$12$" + hex.EncodeToString(randomBytes(27))[:53]
}

// newUser returns an active, unverified user with random id, email and
// password hash, created a minute ago and updated now.
func newUser() authkit.User {
	t := now()
	return authkit.User{
		ID:           newID(),
		Email:        newEmail(),
		DisplayName:  "Ada Lovelace",
		PasswordHash: newPasswordHash(),
		Active:       true,
		TokenVersion: 3,
		CreatedAt:    t.Add(-time.Minute),
		UpdatedAt:    t,
	}
}

// newToken returns an unused token of the user for purpose, created at
// created and expiring an hour later.
func newToken(userID string, purpose authkit.TokenPurpose, created time.Time) authkit.OneTimeToken {
	return authkit.OneTimeToken{
		Hash:      newHash(),
		UserID:    userID,
		Purpose:   purpose,
		CreatedAt: created,
		ExpiresAt: created.Add(time.Hour),
	}
}

// newSession returns a never rotated session of the user, created and last
// used at created and expiring 30 days later, begun by a password and a
// one-time code checked two seconds before created.
func newSession(userID string, created time.Time) authkit.Session {
	return authkit.Session{
		ID:          newID(),
		UserID:      userID,
		RefreshHash: newHash(),
		CreatedAt:   created,
		LastUsedAt:  created,
		ExpiresAt:   created.Add(30 * 24 * time.Hour),
		UserAgent:   "Mozilla/5.0 (X11; Linux x86_64) storetest/1.0 ✓",
		ClientAddr:  "203.0.113.7",
		AuthMethods: []string{"pwd", "otp"},
		AuthTime:    created.Add(-2 * time.Second),
	}
}

// createUser creates a new user in s and returns it.
func createUser(t testing.TB, s authkit.Store) authkit.User {
	t.Helper()
	u := newUser()
	require.NoError(t, s.CreateUser(t.Context(), u), "CreateUser")
	return u
}

// createToken creates a new token of the user for purpose in s and returns it.
func createToken(t testing.TB, s authkit.Store, userID string, purpose authkit.TokenPurpose, created time.Time) authkit.OneTimeToken {
	t.Helper()
	tok := newToken(userID, purpose, created)
	require.NoError(t, s.CreateToken(t.Context(), tok), "CreateToken")
	return tok
}

// createSession creates a new session of the user in s and returns it.
func createSession(t testing.TB, s authkit.Store, userID string, created time.Time) authkit.Session {
	t.Helper()
	sess := newSession(userID, created)
	require.NoError(t, s.CreateSession(t.Context(), sess), "CreateSession")
	return sess
}

// assertTime checks that got is the same instant as want and is in UTC, or
// is the zero time when want is.
func assertTime(t testing.TB, want, got time.Time, what string) bool {
	t.Helper()
	if want.IsZero() {
		return assert.Truef(t, got.IsZero(), "%s: got %v, want the zero time", what, got)
	}
	ok := assert.Truef(t, got.Equal(want), "%s: got %v, want %v", what, got, want)
	return assert.Truef(t, got.Location() == time.UTC, "%s: got location %q, want UTC", what, got.Location()) && ok
}

// assertUser checks that got equals want field by field, times by instant.
func assertUser(t testing.TB, want, got authkit.User, call string) {
	t.Helper()
	assertTime(t, want.CreatedAt, got.CreatedAt, call+": CreatedAt")
	assertTime(t, want.UpdatedAt, got.UpdatedAt, call+": UpdatedAt")
	want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	got.CreatedAt, got.UpdatedAt = time.Time{}, time.Time{}
	assert.Equal(t, want, got, call)
}

// assertToken checks that got equals want field by field, times by instant.
func assertToken(t testing.TB, want, got authkit.OneTimeToken, call string) {
	t.Helper()
	assertTime(t, want.CreatedAt, got.CreatedAt, call+": CreatedAt")
	assertTime(t, want.ExpiresAt, got.ExpiresAt, call+": ExpiresAt")
	assertTime(t, want.UsedAt, got.UsedAt, call+": UsedAt")
	want.CreatedAt, want.ExpiresAt, want.UsedAt = time.Time{}, time.Time{}, time.Time{}
	got.CreatedAt, got.ExpiresAt, got.UsedAt = time.Time{}, time.Time{}, time.Time{}
	assert.Equal(t, want, got, call)
}

// assertSession checks that got equals want field by field, times by
// instant, and AuthMethods in order, nil and empty alike.
func assertSession(t testing.TB, want, got authkit.Session, call string) {
	t.Helper()
	assertTime(t, want.RotatedAt, got.RotatedAt, call+": RotatedAt")
	assertTime(t, want.CreatedAt, got.CreatedAt, call+": CreatedAt")
	assertTime(t, want.LastUsedAt, got.LastUsedAt, call+": LastUsedAt")
	assertTime(t, want.ExpiresAt, got.ExpiresAt, call+": ExpiresAt")
	assertTime(t, want.AuthTime, got.AuthTime, call+": AuthTime")
	assertMethods(t, want.AuthMethods, got.AuthMethods, call+": AuthMethods")
	want.RotatedAt, want.CreatedAt, want.LastUsedAt, want.ExpiresAt, want.AuthTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	got.RotatedAt, got.CreatedAt, got.LastUsedAt, got.ExpiresAt, got.AuthTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.AuthMethods, got.AuthMethods = nil, nil
	assert.Equal(t, want, got, call)
}

// assertMethods checks that got holds the methods of want in the same
// order; nil and empty are alike.
func assertMethods(t testing.TB, want, got []string, what string) bool {
	t.Helper()
	if len(want) == 0 {
		return assert.Emptyf(t, got, "%s: want none", what)
	}
	return assert.Equalf(t, want, got, "%s: want them as given, in order", what)
}

// sessionIDs returns the ids of sessions, in order.
func sessionIDs(sessions []authkit.Session) []string {
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID
	}
	return ids
}
