package authkit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Known devices, after OWASP's "Slow Down Online Guessing Attacks with
// Device Cookies": a client that signs in to an account gets a signed
// credential for that account, and a login that shows it again spends a
// budget of that device's own instead of the account's. Guesses made
// elsewhere, which spend the account's budgets (Limits.LoginFailures and
// LoginFailuresSustained), then cannot keep the owner out.
//
// A credential is
//
//	"v1." base64url(id ‖ issued) "." base64url(HMAC-SHA256(key, "authkit device v1" 0x00 email 0x00 id ‖ issued))
//
// where id is 16 random bytes naming the device, issued the time it was
// issued (Unix seconds, 8 bytes big-endian), email the account's
// normalized email and key the device key (Config.DeviceSecret). It is
// checked from the email alone, before the Store is asked anything, so
// that it answers alike for known and unknown emails; nothing about it is
// stored.

// DeviceToken is a device credential: what a client shows at its next
// login (Client.Device) so that guesses made elsewhere at the account's
// password do not hold it back.
type DeviceToken struct {
	// Token is the credential, about 80 URL-safe characters. It is a
	// secret of the client's, like a refresh token: whoever holds it gets
	// the device's budget of guesses (Limits.LoginFailuresDevice) for the
	// account, though never access to it.
	Token string
	// ExpiresIn is how long Token is good for: Config.DeviceTTL.
	ExpiresIn time.Duration
}

// The parts of a device credential.
const (
	deviceVersion      = "v1."
	deviceIDBytes      = 16
	devicePayloadBytes = deviceIDBytes + 8
	deviceMACLabel     = "authkit device v1\x00"
	// deviceKeyLabel derives the device key from its source, so that no
	// key that signs access tokens is ever used raw for devices.
	deviceKeyLabel = "authkit device key v1"
	// maxDeviceTokenBytes bounds what is parsed; a credential is 79 bytes.
	maxDeviceTokenBytes = 128
)

// NewDeviceToken issues a device credential for the account that t signed
// in to. Login and Register already hand one out (Tokens.Device); call it
// to issue another for Tokens that have none. The client shows it at its
// next login as Client.Device. Each call issues a new credential for a new
// device id; those issued before stay good until they expire.
//
// t must hold an access token that this Authenticator issued and that has
// not expired; otherwise NewDeviceToken returns an error wrapping
// ErrInvalidToken (or ErrTokenExpired) and issues nothing. The credential
// is bound to the token's email: it counts for no other account. Any
// access token of the account vouches, since its holder has signed in;
// hand credentials out where a password was just proved, as httpauth does
// after login and register (not after refresh).
func (a *Authenticator) NewDeviceToken(t Tokens) (DeviceToken, error) {
	claims, err := a.keys.Load().verify(t.AccessToken)
	if err != nil {
		return DeviceToken{}, fmt.Errorf("authkit: device token: %w", err)
	}
	return a.issueDevice(claims.Email)
}

// issueDevice issues a device credential for the account of email, for a
// new device id, issued now.
func (a *Authenticator) issueDevice(email string) (DeviceToken, error) {
	email = NormalizeEmail(email)
	if email == "" || len(a.cfg.deviceKey) == 0 {
		return DeviceToken{}, fmt.Errorf("%w: device token: no email", ErrInvalidToken)
	}
	var payload [devicePayloadBytes]byte
	if _, err := rand.Read(payload[:deviceIDBytes]); err != nil {
		return DeviceToken{}, fmt.Errorf("authkit: random: %w", err)
	}
	// #nosec G115 -- a clock past 1970 gives a positive Unix time, which fits.
	binary.BigEndian.PutUint64(payload[deviceIDBytes:], uint64(a.now().Unix()))
	enc := base64.RawURLEncoding.EncodeToString
	token := deviceVersion + enc(payload[:]) + "." + enc(a.deviceMAC(email, payload[:]))
	return DeviceToken{Token: token, ExpiresIn: a.cfg.DeviceTTL}, nil
}

// knownDevice returns the id of the device that token names, when token
// is a device credential that this deployment issued for email and that
// has not expired; else ok is false. Anything else (no credential, a
// malformed, forged, tampered, expired or foreign one, one of another
// deployment or of a device key since rotated) is simply not a known
// device: never an error. One MAC is computed whatever token holds, so
// that a made-up credential takes the time of a missing one.
func (a *Authenticator) knownDevice(token, email string) (id string, ok bool) {
	payload, mac, parsed := parseDeviceToken(token)
	if !parsed {
		payload, mac = make([]byte, devicePayloadBytes), nil
	}
	want := a.deviceMAC(email, payload)
	if !parsed || len(a.cfg.deviceKey) == 0 || !hmac.Equal(mac, want) {
		return "", false
	}
	// #nosec G115 -- the MAC vouches that newDeviceToken wrote this value
	// from a positive Unix time.
	issued := time.Unix(int64(binary.BigEndian.Uint64(payload[deviceIDBytes:])), 0)
	now := a.now()
	if issued.After(now.Add(a.cfg.Leeway)) || !now.Before(issued.Add(a.cfg.DeviceTTL)) {
		return "", false
	}
	return hex.EncodeToString(payload[:deviceIDBytes]), true
}

// parseDeviceToken takes a device credential apart into its payload and
// MAC, accepting only the one form NewDeviceToken writes.
func parseDeviceToken(token string) (payload, mac []byte, ok bool) {
	if len(token) > maxDeviceTokenBytes || !strings.HasPrefix(token, deviceVersion) {
		return nil, nil, false
	}
	p64, m64, found := strings.Cut(token[len(deviceVersion):], ".")
	if !found {
		return nil, nil, false
	}
	payload, ok1 := decodePart(p64)
	mac, ok2 := decodePart(m64)
	if !ok1 || !ok2 || len(payload) != devicePayloadBytes || len(mac) != sha256.Size {
		return nil, nil, false
	}
	return payload, mac, true
}

// deviceMAC is the MAC of a device credential's payload for email.
func (a *Authenticator) deviceMAC(email string, payload []byte) []byte {
	m := hmac.New(sha256.New, a.cfg.deviceKey)
	m.Write([]byte(deviceMACLabel))
	m.Write([]byte(email))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// deriveDeviceKey returns the key that signs device credentials, derived
// (HMAC-SHA256 under deviceKeyLabel) from the first of: c.DeviceSecret;
// c.Secret, when it holds at least minSecretBytes; the private key (or
// HMAC secret) of c.SigningKey. It returns nil when there is none of
// them, which New refuses for want of a signing key anyway.
func deriveDeviceKey(c Config) ([]byte, error) {
	var source []byte
	switch {
	case len(c.DeviceSecret) > 0:
		source = c.DeviceSecret
	case len(c.Secret) >= minSecretBytes:
		source = c.Secret
	case c.SigningKey.CanSign():
		switch k := c.SigningKey.sign.(type) {
		case []byte: // an HS256 key
			source = k
		default:
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				return nil, configError("cannot derive the device key from SigningKey: %v", err)
			}
			source = der
		}
	default:
		return nil, nil
	}
	m := hmac.New(sha256.New, source)
	m.Write([]byte(deviceKeyLabel))
	return m.Sum(nil), nil
}
