package authkittest

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/authkit/authkit"
)

// TokenOption adjusts what TokenFor does.
type TokenOption func(*tokenSettings)

type tokenSettings struct {
	verified bool
}

// Unverified makes TokenFor leave the user's email unverified (and mark
// it unverified if it was), for testing what an unverified account may
// do. With Config.RequireVerifiedEmail such a user cannot sign in, so
// TokenFor fails the test.
func Unverified() TokenOption {
	return func(s *tokenSettings) { s.verified = false }
}

// TokenFor returns an access token, to send as "Authorization: Bearer …",
// for the user with email, signed in with a password as any user would be
// (Login), so that the token carries a session.
//
// A missing user is registered (Register), with a random password; the
// registration mails a verification link to the Outbox like any other.
// The user's email is then marked verified in the Store, unless Unverified
// is given. For a user that exists with a password TokenFor did not
// choose, TokenFor puts a password of its own in place for the one login
// and then puts the stored hash back, so the user's password is unchanged
// (a login with it that runs meanwhile fails).
//
// Anything that keeps the user from signing in fails t: a disabled
// account, a second factor, RequireVerifiedEmail with Unverified, rate
// limits that WithConfig switched on. TokenFor is safe for concurrent use;
// calls on one Kit run one at a time.
func (k *Kit) TokenFor(t testing.TB, email string, opts ...TokenOption) string {
	t.Helper()
	s := tokenSettings{verified: true}
	for _, o := range opts {
		o(&s)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ctx := t.Context()
	email = authkit.NormalizeEmail(email)

	u, err := k.store.UserByEmail(ctx, email)
	if errors.Is(err, authkit.ErrNotFound) {
		password := rand.Text() + rand.Text()
		_, err = k.Auth.Register(ctx, authkit.Registration{Email: email, Password: password}, authkit.Client{})
		if err != nil {
			t.Fatalf("authkittest: TokenFor(%q): register: %v", email, err)
		}
		k.passwords[email] = password
		u, err = k.store.UserByEmail(ctx, email)
	}
	if err != nil {
		t.Fatalf("authkittest: TokenFor(%q): find the user: %v", email, err)
	}
	if u.EmailVerified != s.verified {
		if _, err := k.store.UpdateUser(ctx, u.ID, authkit.UserUpdate{EmailVerified: &s.verified, UpdatedAt: u.UpdatedAt}); err != nil {
			t.Fatalf("authkittest: TokenFor(%q): mark the email verified=%t: %v", email, s.verified, err)
		}
	}

	password, ok := k.passwords[email]
	if !ok || !k.matches(u, password) {
		password = rand.Text() + rand.Text()
		restore := k.lend(t, u, password)
		defer restore()
	}
	tokens, err := k.Auth.Login(ctx, email, password, authkit.Client{})
	if err != nil {
		t.Fatalf("authkittest: TokenFor(%q): login: %v", email, err)
	}
	return tokens.AccessToken
}

// matches reports whether password is u's.
func (k *Kit) matches(u authkit.User, password string) bool {
	ok, err := k.hasher.Verify(u.PasswordHash, password)
	return err == nil && ok
}

// lend gives u the password for a moment: it stores password's hash in
// place of u's, and returns the function that puts u's hash back.
func (k *Kit) lend(t testing.TB, u authkit.User, password string) (restore func()) {
	t.Helper()
	hash, err := k.hasher.Hash(password)
	if err != nil {
		t.Fatalf("authkittest: TokenFor(%q): hash a password: %v", u.Email, err)
	}
	ctx := t.Context()
	upd := authkit.UserUpdate{PasswordHash: &hash, IfPasswordHash: u.PasswordHash, UpdatedAt: u.UpdatedAt}
	if _, err := k.store.UpdateUser(ctx, u.ID, upd); err != nil {
		t.Fatalf("authkittest: TokenFor(%q): lend a password: %v", u.Email, err)
	}
	return func() {
		t.Helper()
		back := authkit.UserUpdate{PasswordHash: &u.PasswordHash, IfPasswordHash: hash, UpdatedAt: u.UpdatedAt}
		if _, err := k.store.UpdateUser(ctx, u.ID, back); err != nil {
			t.Errorf("authkittest: TokenFor(%q): put the password back: %v", u.Email, err)
		}
	}
}
