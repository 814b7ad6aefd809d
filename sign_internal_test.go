package authkit

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// benchIssuer is the issuer and audience of the benchmark's tokens.
const benchIssuer = "https://app.example.com"

// BenchmarkSign signs one access token per algorithm: the key ring alone,
// no Store and no randomness beyond what the algorithm itself needs.
func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{AlgHS256, AlgEdDSA, AlgES256, AlgRS256} {
		b.Run(alg, func(b *testing.B) {
			var key *Key
			var err error
			if alg == AlgHS256 {
				key, err = NewHMACKey("hs", []byte("0123456789abcdef0123456789abcdef"))
			} else {
				key, err = GenerateKey("", alg)
			}
			if err != nil {
				b.Fatal(err)
			}
			kr, err := newKeyring(key, nil, verifyRules{issuer: benchIssuer, audience: benchIssuer, leeway: DefaultLeeway, now: time.Now})
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			claims := &Claims{
				UserID: "5f0c7a8e-8c1e-4f3a-9a57-2b1d7f0e9c11", Email: "bench@example.com",
				SessionID: "0b0f2c4e-1f6d-4c52-8f0e-7d1a9b3c5e21",
				RegisteredClaims: jwt.RegisteredClaims{
					Issuer: benchIssuer, Subject: "5f0c7a8e-8c1e-4f3a-9a57-2b1d7f0e9c11",
					Audience: jwt.ClaimStrings{benchIssuer},
					IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
				},
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := kr.sign(claims, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
