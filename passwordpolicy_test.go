package authkit_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/testkit"
)

// tooCommon is the field error of a password the default policy finds in
// its list.
var tooCommon = authkit.FieldError{Code: authkit.CodePasswordTooCommon, Message: "This password is too common."}

// policyCalls records the calls of a PasswordPolicy and answers them with
// answer (nil when answer is nil).
type policyCalls struct {
	mu     sync.Mutex
	calls  []policyCall
	answer func(password string) error
}

type policyCall struct {
	password string
	pc       authkit.PasswordContext
}

func (p *policyCalls) policy(_ context.Context, password string, pc authkit.PasswordContext) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, policyCall{password, pc})
	if p.answer == nil {
		return nil
	}
	return p.answer(password)
}

func (p *policyCalls) all() []policyCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]policyCall(nil), p.calls...)
}

// requireFieldError requires err to be a *ValidationError holding exactly
// want on field.
func requireFieldError(t testing.TB, err error, field string, want authkit.FieldError, msg string) {
	t.Helper()
	var v *authkit.ValidationError
	require.ErrorAs(t, err, &v, msg)
	assert.Equal(t, map[string][]authkit.FieldError{field: {want}}, v.Fields, msg)
	assert.ErrorIs(t, err, authkit.ErrInvalidInput, msg)
}

func TestDefaultPasswordPolicy(t *testing.T) {
	pc := authkit.PasswordContext{
		Purpose: authkit.PasswordForRegister, UserID: "u1",
		Email: "alice.smith@example.com", DisplayName: "Wonder Land", AppName: "Acme Rockets",
	}
	refused := map[string]authkit.FieldCode{
		"password123":             authkit.CodePasswordTooCommon,
		"PassWord123":             authkit.CodePasswordTooCommon,
		"Ｐａｓｓｗｏｒｄ１２３":             authkit.CodePasswordTooCommon, // full-width: NFKC first
		"iloveyou":                authkit.CodePasswordTooCommon,
		"qwertyuiop":              authkit.CodePasswordTooCommon,
		"alice.smith@example.com": authkit.CodePasswordTooSimilar,
		"ALICE.SMITH":             authkit.CodePasswordTooSimilar, // the local part
		"alicesmith":              authkit.CodePasswordTooSimilar, // letters and digits only
		"alicesmith99":            authkit.CodePasswordTooSimilar, // mostly the local part
		"smith@example":           authkit.CodePasswordTooSimilar, // a piece of the email
		"wonderland!":             authkit.CodePasswordTooSimilar, // the display name
		"Wonder Land 2":           authkit.CodePasswordTooSimilar,
		"acmerockets":             authkit.CodePasswordTooSimilar, // the app name
		"AcmeRockets#1":           authkit.CodePasswordTooSimilar,
		"20240131":                authkit.CodePasswordEntirelyNumeric,
		"07700900123":             authkit.CodePasswordEntirelyNumeric,
		"aaaaaaaa":                authkit.CodePasswordRepeated,
		"ZZZZZZZZZZZZ":            authkit.CodePasswordRepeated,
		"abcabcabc":               authkit.CodePasswordRepeated,
		"%&%&%&%&":                authkit.CodePasswordRepeated,
		"ééééééééé":               authkit.CodePasswordRepeated,
		"abcdefghij":              authkit.CodePasswordSequence,
		"zyxwvutsrq":              authkit.CodePasswordSequence,
		"3456789":                 authkit.CodePasswordEntirelyNumeric,
		"klmnopqrs":               authkit.CodePasswordSequence,
	}
	for password, code := range refused {
		err := authkit.DefaultPasswordPolicy(t.Context(), password, pc)
		var r *authkit.PasswordRefusal
		if assert.ErrorAs(t, err, &r, "DefaultPasswordPolicy(%q)", password) {
			assert.Equal(t, code, r.Code, "DefaultPasswordPolicy(%q)", password)
			assert.NotEmpty(t, r.Message, "a refusal says why")
			assert.ErrorIs(t, err, authkit.ErrPasswordRefused)
		}
	}
	accepted := []string{
		"correct horse battery staple",
		"Blueheron123",
		"blue heron over the lake",
		"839201748263",                     // twelve digits
		"alice in the mountains at dawn",   // holds "alice", mostly not
		"abcdefg8",                         // no rule refuses it (nor does NIST ask)
		"q1w9e2r8t3",                       // neither a repeat nor a run
		"The Acme Rockets fly at midnight", // holds the app name, mostly not
	}
	for _, password := range accepted {
		assert.NoError(t, authkit.DefaultPasswordPolicy(t.Context(), password, pc), "DefaultPasswordPolicy(%q)", password)
	}

	// Details of fewer than 3 letters and digits are not compared.
	short := authkit.PasswordContext{Email: "al@example.com", DisplayName: "Al", AppName: "X"}
	assert.NoError(t, authkit.DefaultPasswordPolicy(t.Context(), "al-is-my-name-2024", short))
}

func TestDefaultPasswordPolicyMessages(t *testing.T) {
	pc := authkit.PasswordContext{Email: "ada@example.com", DisplayName: "Countess Lovelace", AppName: "Engines"}
	for password, want := range map[string]string{
		"password123":      "This password is too common.",
		"ada@example.com":  "The password is too similar to the email address.",
		"countesslovelace": "The password is too similar to the display name.",
		"engines!":         "The password is too similar to the name of this service.",
		"7302918465":       "This password is entirely numeric.",
		"xyxyxyxyxy":       "This password is made of repeated characters.",
		"mnopqrstu":        "This password is a sequence of consecutive characters.",
	} {
		var r *authkit.PasswordRefusal
		require.ErrorAs(t, authkit.DefaultPasswordPolicy(t.Context(), password, pc), &r, password)
		assert.Equal(t, want, r.Message, password)
	}
}

// TestEveryFlowRefusesACommonPassword: Register, ChangePassword and
// ResetPassword all apply the default policy, on their own field.
func TestEveryFlowRefusesACommonPassword(t *testing.T) {
	k := newKit(t, nil)
	_, err := k.Register(t.Context(), authkit.Registration{Email: "weak@example.com", Password: "password123"}, authkit.Client{})
	requireFieldError(t, err, "password", tooCommon, "Register")
	_, err = k.store.UserByEmail(t.Context(), "weak@example.com")
	assert.ErrorIs(t, err, authkit.ErrNotFound, "no account for a refused password")
	k.mail.None(t)

	tok, _ := k.register(t, "strong@example.com", pw)
	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, SessionID: tok.SessionID, CurrentPassword: pw, NewPassword: "iloveyou"}, authkit.Client{})
	requireFieldError(t, err, "new_password", tooCommon, "ChangePassword")
	ev, ok := k.events.last(authkit.EventPasswordChangeFail)
	require.True(t, ok, "a refused change is reported")
	assert.Equal(t, "password_refused", ev.Reason)
	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	assert.NoError(t, err, "a refused change cuts off no access token")
	_, err = k.Login(t.Context(), "strong@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "the old password still works")

	require.NoError(t, k.ForgotPassword(t.Context(), "strong@example.com", authkit.Client{}))
	token := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
	err = k.ResetPassword(t.Context(), token, "sunshine1", authkit.Client{})
	requireFieldError(t, err, "password", tooCommon, "ResetPassword")
}

// TestRefusedResetLeavesTheLinkUsable: a reset with a refused password
// spends nothing: the old password works, the sessions live, and the same
// link then sets a good password.
func TestRefusedResetLeavesTheLinkUsable(t *testing.T) {
	k := newKit(t, nil)
	tok, _ := k.register(t, "retry@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "retry@example.com", authkit.Client{}))
	token := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))

	for _, weak := range []string{"password1", "retry@example.com", "11111111", "Ｐａｓｓｗｏｒｄ１２３"} {
		err := k.ResetPassword(t.Context(), token, weak, authkit.Client{})
		var v *authkit.ValidationError
		require.ErrorAs(t, err, &v, "ResetPassword(%q)", weak)
		require.Len(t, v.Fields["password"], 1, "ResetPassword(%q)", weak)
	}
	_, err := k.Login(t.Context(), "retry@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "the old password still works")
	_, _, err = k.Authenticate(t.Context(), tok.AccessToken)
	assert.NoError(t, err, "no session ended, no access token cut off")
	assert.Zero(t, k.mail.Count(authkit.MessagePasswordChanged), "no notice of a change")

	require.NoError(t, k.ResetPassword(t.Context(), token, "a river runs through it", authkit.Client{}), "the same link, a good password")
	_, err = k.Login(t.Context(), "retry@example.com", "a river runs through it", authkit.Client{})
	assert.NoError(t, err, "the new password works")
	_, err = k.Login(t.Context(), "retry@example.com", pw, authkit.Client{})
	assert.ErrorIs(t, err, authkit.ErrInvalidCredentials, "the old one no longer does")
	assert.ErrorIs(t, k.ResetPassword(t.Context(), token, "another fine password", authkit.Client{}), authkit.ErrInvalidToken, "the link is spent now")
}

// TestPasswordPolicyContext: each flow hands the policy the NFKC form of
// the password and the context of the account, after its proof only.
func TestPasswordPolicyContext(t *testing.T) {
	rec := &policyCalls{}
	k := newKit(t, func(c *authkit.Config) { c.PasswordPolicy = rec.policy; c.AppName = "Acme" })

	reg, err := k.Register(t.Context(), authkit.Registration{Email: " Ctx@Example.com ", Password: "ｆｕｌｌ ｗｉｄｔｈ ｐｗ", DisplayName: "Ctx User"}, authkit.Client{})
	require.NoError(t, err)
	k.mail.Next(t, authkit.MessageVerifyEmail)
	_, err = k.Register(t.Context(), authkit.Registration{Email: "derived@example.com", Password: "derived password"}, authkit.Client{})
	require.NoError(t, err)
	k.mail.Next(t, authkit.MessageVerifyEmail)
	derived, err := k.store.UserByEmail(t.Context(), "derived@example.com")
	require.NoError(t, err)

	// Proofs that fail call no policy.
	_, err = k.Register(t.Context(), authkit.Registration{Email: "not an email", Password: "another password"}, authkit.Client{})
	require.ErrorIs(t, err, authkit.ErrInvalidInput)
	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: reg.User.ID, CurrentPassword: "wrong password", NewPassword: "changed password"}, authkit.Client{})
	requireFieldError(t, err, "current_password", authkit.FieldError{Code: authkit.CodeWrongPassword}, "a wrong current password")
	require.ErrorIs(t, k.ResetPassword(t.Context(), "no-such-token", "reset password", authkit.Client{}), authkit.ErrInvalidToken)
	require.Len(t, rec.all(), 2, "only the two registrations reached the policy")

	_, err = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: reg.User.ID, CurrentPassword: "full width pw", NewPassword: "changed password"}, authkit.Client{})
	require.NoError(t, err)
	require.NoError(t, k.ForgotPassword(t.Context(), "derived@example.com", authkit.Client{}))
	token := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))
	require.NoError(t, k.ResetPassword(t.Context(), token, "reset password", authkit.Client{}))

	want := []policyCall{
		{"full width pw", authkit.PasswordContext{Purpose: authkit.PasswordForRegister, UserID: reg.User.ID, Email: "ctx@example.com", DisplayName: "Ctx User", AppName: "Acme"}},
		{"derived password", authkit.PasswordContext{Purpose: authkit.PasswordForRegister, UserID: derived.ID, Email: "derived@example.com", DisplayName: "derived", AppName: "Acme"}},
		{"changed password", authkit.PasswordContext{Purpose: authkit.PasswordForChange, UserID: reg.User.ID, Email: "ctx@example.com", DisplayName: "Ctx User", AppName: "Acme"}},
		{"reset password", authkit.PasswordContext{Purpose: authkit.PasswordForReset, UserID: derived.ID, Email: "derived@example.com", DisplayName: "derived", AppName: "Acme"}},
	}
	assert.Equal(t, want, rec.all())
}

// TestPasswordPolicyFailure: a policy that cannot decide fails the flow
// without blaming the password, and spends nothing.
func TestPasswordPolicyFailure(t *testing.T) {
	down := errors.New("breach service down")
	var failing, busy bool
	var mu sync.Mutex
	policy := func(context.Context, string, authkit.PasswordContext) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case busy:
			return errors.Join(authkit.ErrBusy, down)
		case failing:
			return down
		}
		return nil
	}
	set := func(f, b bool) { mu.Lock(); failing, busy = f, b; mu.Unlock() }
	k := newKit(t, func(c *authkit.Config) { c.PasswordPolicy = policy })
	tok, _ := k.register(t, "fail@example.com", pw)
	require.NoError(t, k.ForgotPassword(t.Context(), "fail@example.com", authkit.Client{}))
	token := testkit.TokenOf(t, k.mail.Next(t, authkit.MessageResetPassword))

	for _, c := range []struct {
		name        string
		failing     bool
		busy        bool
		wantBusy    bool
		wantWrapped error
	}{
		{"an error", true, false, false, down},
		{"an error wrapping ErrBusy", false, true, true, down},
	} {
		set(c.failing, c.busy)
		flows := map[string]error{}
		_, flows["Register"] = k.Register(t.Context(), authkit.Registration{Email: "new@example.com", Password: "good password"}, authkit.Client{})
		_, flows["ChangePassword"] = k.ChangePassword(t.Context(), authkit.PasswordChange{UserID: tok.User.ID, CurrentPassword: pw, NewPassword: "good password"}, authkit.Client{})
		flows["ResetPassword"] = k.ResetPassword(t.Context(), token, "good password", authkit.Client{})
		for flow, err := range flows {
			require.Error(t, err, "%s: %s", c.name, flow)
			assert.ErrorIs(t, err, c.wantWrapped, "%s: %s", c.name, flow)
			assert.NotErrorIs(t, err, authkit.ErrInvalidInput, "%s: %s: not the user's fault", c.name, flow)
			assert.Equal(t, c.wantBusy, errors.Is(err, authkit.ErrBusy), "%s: %s: ErrBusy", c.name, flow)
		}
	}
	_, err := k.store.UserByEmail(t.Context(), "new@example.com")
	assert.ErrorIs(t, err, authkit.ErrNotFound, "no account created")
	_, err = k.Login(t.Context(), "fail@example.com", pw, authkit.Client{})
	assert.NoError(t, err, "the password did not change")

	set(false, false)
	require.NoError(t, k.ResetPassword(t.Context(), token, "good password", authkit.Client{}), "the link survived the failures")
}

func TestPasswordPolicies(t *testing.T) {
	var order []string
	step := func(name string, err error) authkit.PasswordPolicy {
		return func(context.Context, string, authkit.PasswordContext) error {
			order = append(order, name)
			return err
		}
	}
	refusal := &authkit.PasswordRefusal{Code: "house_rule", Message: "No."}
	p := authkit.PasswordPolicies(step("a", nil), nil, step("b", refusal), step("c", nil))
	assert.Same(t, refusal, p(t.Context(), "pw", authkit.PasswordContext{}))
	assert.Equal(t, []string{"a", "b"}, order, "in turn, up to the first error")
	assert.NoError(t, authkit.PasswordPolicies()(t.Context(), "pw", authkit.PasswordContext{}))

	// A host's own refusal reaches the field with its code and words.
	k := newKit(t, func(c *authkit.Config) {
		c.PasswordPolicy = authkit.PasswordPolicies(authkit.DefaultPasswordPolicy, func(_ context.Context, password string, _ authkit.PasswordContext) error {
			if len(password) < 12 {
				return &authkit.PasswordRefusal{Code: "house_rule", Message: "Use 12 characters or more."}
			}
			return nil
		})
	})
	_, err := k.Register(t.Context(), authkit.Registration{Email: "house@example.com", Password: "password1"}, authkit.Client{})
	requireFieldError(t, err, "password", tooCommon, "the default policy runs first")
	_, err = k.Register(t.Context(), authkit.Registration{Email: "house@example.com", Password: "blue heron"}, authkit.Client{})
	requireFieldError(t, err, "password", authkit.FieldError{Code: "house_rule", Message: "Use 12 characters or more."}, "the host's rule")
}

func TestNoPasswordPolicy(t *testing.T) {
	k := newKit(t, func(c *authkit.Config) { c.PasswordPolicy = authkit.NoPasswordPolicy })
	k.register(t, "anything@example.com", "password123")
	_, err := k.Register(t.Context(), authkit.Registration{Email: "short@example.com", Password: "1234567"}, authkit.Client{})
	requireFieldError(t, err, "password", authkit.FieldError{Code: authkit.CodeTooShort, Limit: 8}, "the length rules stay")
}

func BenchmarkDefaultPasswordPolicy(b *testing.B) {
	pc := authkit.PasswordContext{Email: "alice@example.com", DisplayName: "Alice", AppName: "authkit"}
	for b.Loop() {
		_ = authkit.DefaultPasswordPolicy(b.Context(), "blue heron over the lake", pc)
	}
}
