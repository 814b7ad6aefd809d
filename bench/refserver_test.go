package bench_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
)

// refServer is the reference server (examples/server) running as a
// process of its own on a loopback port, on SQLite, and a user's token.
type refServer struct {
	url   string
	token string
}

var (
	refOnce    sync.Once
	refBinary  string
	refBinErr  error
	refMu      sync.Mutex
	refServers = map[string]*refServer{} // by algorithm
)

// refServerFor starts the reference server signing with alg, once per
// process, and registers a user on it.
func refServerFor(b *testing.B, alg string) *refServer {
	b.Helper()
	refOnce.Do(func() { refBinary, refBinErr = buildRefServer() })
	if refBinErr != nil {
		b.Fatal(refBinErr)
	}
	refMu.Lock()
	defer refMu.Unlock()
	if s := refServers[alg]; s != nil {
		return s
	}
	s, err := startRefServer(alg)
	if err != nil {
		b.Fatal(err)
	}
	refServers[alg] = s
	return s
}

// buildRefServer builds examples/server into a temporary directory.
func buildRefServer() (string, error) {
	dir, err := os.MkdirTemp("", "authkit-bench-")
	if err != nil {
		return "", err
	}
	closers = append(closers, func() { _ = os.RemoveAll(dir) })
	bin := filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", bin, "./examples/server")
	cmd.Dir = ".." // the authkit module
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build examples/server: %v\n%s", err, out)
	}
	return bin, nil
}

// listening finds the address in the server's "listening" log line.
var listening = regexp.MustCompile(`msg="authkit server listening" addr=(\S+)`)

func startRefServer(alg string) (*refServer, error) {
	k, err := newKeys(alg)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(refBinary)
	env := append(os.Environ(),
		"AUTHKIT_ADDR=127.0.0.1:0",
		"AUTHKIT_DATABASE_URL=sqlite:"+filepath.Join(dir, "bench-"+alg+".db"),
	)
	if alg == authkit.AlgHS256 {
		env = append(env, "AUTHKIT_SECRET="+string(k.secret))
	} else {
		pem, err := k.key.MarshalPEM()
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, "key-"+alg+".pem")
		if err := os.WriteFile(file, pem, 0o600); err != nil {
			return nil, err
		}
		env = append(env, "AUTHKIT_SIGNING_KEY_FILE="+file)
	}
	cmd := exec.Command(refBinary)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	closers = append(closers, func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() { // read the log to its end, so that the server never blocks on it
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	var s refServer
	select {
	case a, ok := <-addr:
		if !ok {
			return nil, fmt.Errorf("examples/server (%s) stopped before it listened", alg)
		}
		s.url = "http://" + a
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("examples/server (%s) did not listen within 30 s", alg)
	}
	body, _ := json.Marshal(map[string]string{"email": "bench@example.com", "password": password})
	resp, err := http.Post(s.url+"/api/auth/register", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tokens); err != nil || resp.StatusCode != http.StatusCreated || tokens.AccessToken == "" {
		return nil, fmt.Errorf("register on examples/server (%s): status %d, error %v", alg, resp.StatusCode, err)
	}
	s.token = tokens.AccessToken
	return &s, nil
}

// BenchmarkReferenceServer sends the reference server requests from 16
// clients at once over loopback: the protected GET /api/hello with a good
// token (RequireUser on SQLite), and GET /api/auth/jwks.json, which needs
// no token (404 problem+json under HS256, which has no public key; the
// key set under EdDSA). Its access tokens live 15 minutes, longer than
// this benchmark runs.
func BenchmarkReferenceServer(b *testing.B) {
	for _, alg := range algorithms {
		b.Run("alg="+alg, func(b *testing.B) {
			b.Run("route=jwks", func(b *testing.B) {
				s := refServerFor(b, alg)
				want := http.StatusOK
				if alg == authkit.AlgHS256 {
					want = http.StatusNotFound
				}
				hammer(b, newClient(b), s.url+"/api/auth/jwks.json", "", want)
			})
			b.Run("route=hello", func(b *testing.B) {
				s := refServerFor(b, alg)
				hammer(b, newClient(b), s.url+"/api/hello", s.token, http.StatusOK)
			})
		})
	}
}
