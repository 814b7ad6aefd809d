package authkit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// TestParseKeyPEMReadsEveryCommonForm checks that the PEM forms openssl
// writes by default (PKCS#1 for RSA, SEC 1 for EC) give the same key as
// PKCS#8 and PKIX: the same thumbprint id, and tokens one signs the other
// verifies.
func TestParseKeyPEMReadsEveryCommonForm(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	require.NoError(t, err)

	for name, c := range map[string]struct {
		private    any
		legacy     *pem.Block
		publicForm *pem.Block
	}{
		"RSA PKCS#1": {rsaKey, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)},
			&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}},
		"EC SEC 1": {ecKey, &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			der, err := x509.MarshalPKCS8PrivateKey(c.private)
			require.NoError(t, err)
			modern, err := authkit.ParseKeyPEM("", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			require.NoError(t, err, "PKCS#8")
			legacy, err := authkit.ParseKeyPEM("", pem.EncodeToMemory(c.legacy))
			require.NoError(t, err, "%s", c.legacy.Type)
			assert.Equal(t, modern.ID(), legacy.ID(), "the same key")

			signer := newKit(t, func(cfg *authkit.Config) { cfg.Secret, cfg.SigningKey = nil, legacy })
			tk, _ := signer.register(t, "ada@example.com", "correct horse battery staple")
			verifier := newKitOn(t, signer, func(cfg *authkit.Config) { cfg.Secret, cfg.SigningKey = nil, modern })
			_, err = verifier.VerifyAccessToken(t.Context(), tk.AccessToken)
			assert.NoError(t, err, "a token signed with the %s form verifies with the PKCS#8 one", c.legacy.Type)

			if c.publicForm != nil {
				pub, err := authkit.ParseKeyPEM("", pem.EncodeToMemory(c.publicForm))
				require.NoError(t, err, "%s", c.publicForm.Type)
				assert.Equal(t, modern.ID(), pub.ID(), "the public half")
			}
		})
	}
	_, err = authkit.ParseKeyPEM("", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte("junk")}))
	assert.ErrorIs(t, err, authkit.ErrConfig, "a corrupt SEC 1 key")
}
