package bench_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkInProcess serves one request at a time straight through each
// middleware (ServeHTTP with an httptest.ResponseRecorder), with the same
// token every time.
func BenchmarkInProcess(b *testing.B) {
	for _, alg := range algorithms {
		b.Run("alg="+alg, func(b *testing.B) {
			for _, v := range variants {
				b.Run("mw="+v.name, func(b *testing.B) {
					h, token := v.build(b, fixtureFor(b, alg))
					r := httptest.NewRequest(http.MethodGet, "/api/hello", nil)
					r.Header.Set("Authorization", "Bearer "+token)
					serve := func() {
						w := httptest.NewRecorder()
						h.ServeHTTP(w, r)
						if w.Code != http.StatusNoContent {
							b.Fatalf("%s: status %d: %s", v.name, w.Code, w.Body)
						}
					}
					serve() // the token is good, and the caches are warm
					b.ReportAllocs()
					for b.Loop() {
						serve()
					}
				})
			}
		})
	}
}
