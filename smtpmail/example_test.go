package smtpmail_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/smtpmail"
)

// A Mailer for a submission server with STARTTLS and a password. Pass it
// as authkit.Config.Mailer; the kit then sends its messages through it.
func Example() {
	mailer, err := smtpmail.New(smtpmail.Config{
		Host:     "smtp.example.com", // port 587, STARTTLS required
		Username: "apikey",
		Password: "secret",
		From:     "Example <no-reply@example.com>",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = mailer.Send(ctx, authkit.Message{
		To:      "user@example.org",
		Subject: "Welcome",
		Text:    "Hello!",
		HTML:    "<p>Hello!</p>",
	})
	if err != nil {
		log.Print(err)
	}
}

func ExampleParseURL() {
	cfg, err := smtpmail.ParseURL("smtps://apikey:s3cr%40t@smtp.example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Host, cfg.Port, cfg.TLS, cfg.Username, cfg.Password)

	cfg, err = smtpmail.ParseURL("smtp://localhost:1025?tls=none") // a local mail catcher
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Host, cfg.Port, cfg.TLS)

	cfg.Host = "mail.example.com"
	cfg.From = "no-reply@example.com"
	_, err = smtpmail.New(cfg)
	fmt.Println(errors.Is(err, smtpmail.ErrInvalidConfig))
	// Output:
	// smtp.example.com 0 implicit apikey s3cr@t
	// localhost 1025 none
	// true
}

// Send refuses a header value with a line break before it connects, so an
// attacker who controls the subject or the address cannot add headers or
// recipients.
func ExampleMailer_Send_headerInjection() {
	mailer, err := smtpmail.New(smtpmail.Config{Host: "localhost", From: "no-reply@example.com"})
	if err != nil {
		log.Fatal(err)
	}
	err = mailer.Send(context.Background(), authkit.Message{
		To:      "user@example.org\r\nBcc: victim@example.net",
		Subject: "Welcome",
		Text:    "Hello!",
	})
	fmt.Println(errors.Is(err, smtpmail.ErrHeaderInjection))
	fmt.Println(err)
	// Output:
	// true
	// smtpmail: line break in header value: To
}
