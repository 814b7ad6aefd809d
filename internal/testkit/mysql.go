package testkit

import (
	"net/url"
	"os"
	"strings"
	"testing"

	gomysql "github.com/go-sql-driver/mysql"
)

// MySQLVariable names the environment variable that points the tests at a
// MySQL or MariaDB server.
const MySQLVariable = "AUTHKIT_TEST_MYSQL_DSN"

// MySQLURL returns the URL, of the form mysql://user:password@host:port/db
// that mysql.Open and the reference server take, of the server the tests
// use, or skips tb when MySQLVariable is unset. The variable holds such a
// URL; go-sql-driver's own form ("user@tcp(host:port)/db?params"), which
// earlier versions asked for, is still read and turned into the URL.
func MySQLURL(tb testing.TB) string {
	tb.Helper()
	v := os.Getenv(MySQLVariable)
	if v == "" {
		tb.Skipf("%s is not set; set it (mysql://root@127.0.0.1:3306/test) to run these tests against a real server", MySQLVariable)
	}
	if strings.HasPrefix(v, "mysql://") {
		return v
	}
	cfg, err := gomysql.ParseDSN(v)
	if err != nil {
		tb.Fatalf("%s is neither a mysql:// URL nor a go-sql-driver DSN: %v", MySQLVariable, err)
	}
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + cfg.DBName, User: url.User(cfg.User)}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	}
	if _, params, ok := strings.Cut(v, "?"); ok {
		u.RawQuery = params
	}
	return u.String()
}
