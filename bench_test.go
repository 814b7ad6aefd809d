package authkit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// benchKit is an Authenticator signing with the algorithm, and one user.
func benchKit(b *testing.B, alg string) (*authkit.Authenticator, authkit.Tokens) {
	b.Helper()
	var key *authkit.Key
	var err error
	if alg == authkit.AlgHS256 {
		key, err = authkit.NewHMACKey("hs", testSecret)
	} else {
		key, err = authkit.GenerateKey("", alg)
	}
	if err != nil {
		b.Fatal(err)
	}
	a, err := authkit.New(authkit.Config{
		Store:      memstore.New(),
		Mailer:     authkit.MailerFunc(func(context.Context, authkit.Message) error { return nil }),
		SigningKey: key,
		BaseURL:    "https://app.example.com",
		BcryptCost: 4,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	tok, err := a.Register(b.Context(), authkit.Registration{Email: "bench@example.com", Password: "correct horse"}, authkit.Client{})
	if err != nil {
		b.Fatal(err)
	}
	return a, tok.Tokens
}

var benchAlgorithms = []string{authkit.AlgHS256, authkit.AlgEdDSA, authkit.AlgES256, authkit.AlgRS256}

// BenchmarkVerifyAlgorithm verifies one access token per algorithm.
func BenchmarkVerifyAlgorithm(b *testing.B) {
	for _, alg := range benchAlgorithms {
		b.Run(alg, func(b *testing.B) {
			a, tok := benchKit(b, alg)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.VerifyAccessToken(ctx, tok.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBcryptCost checks one password at the costs a service picks
// from: the CPU a login costs, for the README's capacity model.
func BenchmarkBcryptCost(b *testing.B) {
	for _, cost := range []int{10, 11, 12, 13} {
		h := authkit.BcryptHasher{Cost: cost}
		hash, err := h.Hash("correct horse battery staple")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("cost=%d", cost), func(b *testing.B) {
			for b.Loop() {
				if ok, err := h.Verify(hash, "correct horse battery staple"); !ok || err != nil {
					b.Fatal("the password does not verify")
				}
			}
		})
	}
}
