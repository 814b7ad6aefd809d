package authkit

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// MailTemplate renders one kind of message: a subject line and a text body
// (text/template) and an HTML body (html/template, which escapes what it
// inserts). Each receives a MailData.
type MailTemplate struct {
	Subject *texttemplate.Template
	Text    *texttemplate.Template
	HTML    *htmltemplate.Template
}

// ParseMailTemplate parses the three parts of a MailTemplate. html may be
// empty for a text-only message.
func ParseMailTemplate(subject, text, html string) (*MailTemplate, error) {
	t := &MailTemplate{}
	var err error
	if t.Subject, err = texttemplate.New("subject").Parse(subject); err != nil {
		return nil, fmt.Errorf("authkit: subject template: %w", err)
	}
	if t.Text, err = texttemplate.New("text").Parse(text); err != nil {
		return nil, fmt.Errorf("authkit: text template: %w", err)
	}
	if html != "" {
		if t.HTML, err = htmltemplate.New("html").Parse(html); err != nil {
			return nil, fmt.Errorf("authkit: html template: %w", err)
		}
	}
	return t, nil
}

// Templates holds the templates of every message the kit sends. A nil field
// keeps the kit's default for that message.
type Templates struct {
	VerifyEmail     *MailTemplate
	ResetPassword   *MailTemplate
	PasswordChanged *MailTemplate
	// AlreadyRegistered is sent, with Config.RegisterQuietly, to the owner
	// of an address someone tried to register. Its MailData has no Link.
	AlreadyRegistered *MailTemplate
	// The notices about the second factor, without a Link.
	SecondFactorAdded   *MailTemplate
	SecondFactorRemoved *MailTemplate
	RecoveryCodeUsed    *MailTemplate
}

// MailData is what a MailTemplate is executed with.
type MailData struct {
	// AppName is Config.AppName.
	AppName string
	// Email is the recipient's address, as NormalizeEmail gives it.
	Email string
	// DisplayName is the recipient's display name, or empty: it is always
	// empty while the recipient's address is not verified (the
	// verification mail, and any reset mail or notice to an unverified
	// account),
	// because whoever chose the name may not own the address: anyone can
	// register someone else's address with a name such as "Claim your
	// prize at …", and the mail must not carry their words to its owner.
	// It is also empty for an account that has no display name. Greet
	// without it then, as the default templates do with
	// "Hello{{with .DisplayName}} {{.}}{{end}},".
	DisplayName string
	// Link is the link to follow (empty for notices), built from
	// Config.BaseURL; the token is in its "token" query parameter.
	Link string
	// ExpiresIn says in words how long Link works, such as "24 hours".
	ExpiresIn string
}

// render executes t with d into a Message of kind k to d.Email. ok is true
// when there is a message to send, as a mail job's build returns it.
func (t *MailTemplate) render(k MessageKind, d MailData) (m Message, ok bool, err error) {
	var subj, text, html bytes.Buffer
	if err := t.Subject.Execute(&subj, d); err != nil {
		return Message{}, false, fmt.Errorf("authkit: render %s subject: %w", k, err)
	}
	if err := t.Text.Execute(&text, d); err != nil {
		return Message{}, false, fmt.Errorf("authkit: render %s text: %w", k, err)
	}
	if t.HTML != nil {
		if err := t.HTML.Execute(&html, d); err != nil {
			return Message{}, false, fmt.Errorf("authkit: render %s html: %w", k, err)
		}
	}
	// A subject is one line: never let a template put a line break in it.
	subject := strings.Join(strings.Fields(subj.String()), " ")
	return Message{Kind: k, To: d.Email, Subject: subject, Text: text.String(), HTML: html.String(), Link: d.Link}, true, nil
}

// mustParse is used only for the kit's own constant templates, which tests
// parse on every run.
func mustParse(subject, text, html string) *MailTemplate {
	t, err := ParseMailTemplate(subject, text, html)
	if err != nil {
		panic(err)
	}
	return t
}

const htmlLayoutStart = `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>
<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;line-height:1.5;color:#222;max-width:560px;margin:0 auto;padding:24px">
`

const htmlLayoutEnd = `<p style="color:#777;font-size:13px">If you did not ask for this, you can ignore this message.</p>
</body></html>
`

// defaultTemplates are the kit's built-in messages.
var defaultTemplates = Templates{
	VerifyEmail: mustParse(
		`Verify your email for {{.AppName}}`,
		`Hello{{with .DisplayName}} {{.}}{{end}},

Please confirm that {{.Email}} is your email address by opening this link:

{{.Link}}

The link works for {{.ExpiresIn}}. If you did not create an account at {{.AppName}}, you can ignore this message.
`,
		htmlLayoutStart+`<p>Hello{{with .DisplayName}} {{.}}{{end}},</p>
<p>Please confirm that <b>{{.Email}}</b> is your email address.</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#2456d3;color:#fff;text-decoration:none;border-radius:6px">Verify email</a></p>
<p>Or paste this link into your browser:<br><span style="word-break:break-all">{{.Link}}</span></p>
<p>The link works for {{.ExpiresIn}}.</p>
`+htmlLayoutEnd),
	ResetPassword: mustParse(
		`Reset your {{.AppName}} password`,
		`Hello{{with .DisplayName}} {{.}}{{end}},

Someone asked to reset the password of the {{.AppName}} account for {{.Email}}. To choose a new password, open this link:

{{.Link}}

The link works for {{.ExpiresIn}} and only once. If you did not ask for this, you can ignore this message: your password stays as it is.
`,
		htmlLayoutStart+`<p>Hello{{with .DisplayName}} {{.}}{{end}},</p>
<p>Someone asked to reset the password of the {{.AppName}} account for <b>{{.Email}}</b>.</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:10px 18px;background:#2456d3;color:#fff;text-decoration:none;border-radius:6px">Choose a new password</a></p>
<p>Or paste this link into your browser:<br><span style="word-break:break-all">{{.Link}}</span></p>
<p>The link works for {{.ExpiresIn}} and only once. Your password stays as it is until you choose a new one.</p>
`+htmlLayoutEnd),
	PasswordChanged: mustParse(
		`Your {{.AppName}} password was changed`,
		`Hello{{with .DisplayName}} {{.}}{{end}},

The password of the {{.AppName}} account for {{.Email}} was just changed, and every other device was signed out.

If this was not you, reset your password at once with "Forgot password" and contact us.
`,
		htmlLayoutStart+`<p>Hello{{with .DisplayName}} {{.}}{{end}},</p>
<p>The password of the {{.AppName}} account for <b>{{.Email}}</b> was just changed, and every other device was signed out.</p>
<p>If this was not you, reset your password at once with “Forgot password” and contact us.</p>
</body></html>
`),
	AlreadyRegistered: mustParse(
		`You already have a {{.AppName}} account`,
		`Hello{{with .DisplayName}} {{.}}{{end}},

Someone, perhaps you, tried to create a {{.AppName}} account for {{.Email}}. There already is one, so nothing was created and nothing changed.

If it was you, sign in, or use "Forgot password" if you do not remember your password. If it was not you, you can ignore this message.
`,
		htmlLayoutStart+`<p>Hello{{with .DisplayName}} {{.}}{{end}},</p>
<p>Someone, perhaps you, tried to create a {{.AppName}} account for <b>{{.Email}}</b>. There already is one, so nothing was created and nothing changed.</p>
<p>If it was you, sign in, or use “Forgot password” if you do not remember your password.</p>
`+htmlLayoutEnd),
	SecondFactorAdded: securityNotice(`Two-step sign-in is on for your {{.AppName}} account`,
		`An authenticator app was just added to the {{.AppName}} account for {{.Email}}: signing in now asks for one of its codes after the password.`),
	SecondFactorRemoved: securityNotice(`Two-step sign-in is off for your {{.AppName}} account`,
		`The authenticator app of the {{.AppName}} account for {{.Email}} was just removed, with its recovery codes: signing in now asks for the password only.`),
	RecoveryCodeUsed: securityNotice(`A recovery code was used for your {{.AppName}} account`,
		`One of the recovery codes of the {{.AppName}} account for {{.Email}} was just used to sign in. Each works once; make new ones from your account if few are left.`),
}

// securityNotice makes the template of a notice that says what happened
// to the account, and what to do if it was not its owner.
func securityNotice(subject, happened string) *MailTemplate {
	return mustParse(subject,
		`Hello{{with .DisplayName}} {{.}}{{end}},

`+happened+`

If this was not you, reset your password at once with "Forgot password" and contact us.
`,
		htmlLayoutStart+`<p>Hello{{with .DisplayName}} {{.}}{{end}},</p>
<p>`+happened+`</p>
<p>If this was not you, reset your password at once with “Forgot password” and contact us.</p>
</body></html>
`)
}

// merged returns the templates in t, with defaults where t has none.
func (t *Templates) merged() Templates {
	out := defaultTemplates
	if t == nil {
		return out
	}
	if t.VerifyEmail != nil {
		out.VerifyEmail = t.VerifyEmail
	}
	if t.ResetPassword != nil {
		out.ResetPassword = t.ResetPassword
	}
	if t.PasswordChanged != nil {
		out.PasswordChanged = t.PasswordChanged
	}
	if t.AlreadyRegistered != nil {
		out.AlreadyRegistered = t.AlreadyRegistered
	}
	if t.SecondFactorAdded != nil {
		out.SecondFactorAdded = t.SecondFactorAdded
	}
	if t.SecondFactorRemoved != nil {
		out.SecondFactorRemoved = t.SecondFactorRemoved
	}
	if t.RecoveryCodeUsed != nil {
		out.RecoveryCodeUsed = t.RecoveryCodeUsed
	}
	return out
}
