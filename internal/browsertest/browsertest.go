// Package browsertest starts the headless Chromium that the browser tests
// drive, or skips the test when the machine has none.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium to drive, or skips t:
// AUTHKIT_TEST_CHROME names one, else chromium is looked for on the PATH.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("AUTHKIT_TEST_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found: install chromium (or set AUTHKIT_TEST_CHROME) to run the browser tests")
	return ""
}

// Tab starts a headless Chromium, with a profile of its own and nothing
// that talks to the network on its own, for the rest of t, and returns
// a context that drives one tab of it.
func Tab(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	tab, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	return tab
}
