package sqlstore

import (
	"fmt"
	"time"
)

// mysqlTimeLayout is how times are written to MySQL DATETIME(6) columns: the
// UTC wall clock to the microsecond.
const mysqlTimeLayout = "2006-01-02 15:04:05.000000"

// timeArg returns t as the engine stores it: a UTC timestamptz on
// PostgreSQL, the UTC wall clock as text on MySQL (so that the connection's
// time zone settings cannot shift it) and microseconds since the Unix epoch
// on SQLite. Precision beyond the microsecond is truncated.
func (d sqlDialect) timeArg(t time.Time) any {
	switch d.engine {
	case MySQL:
		return t.UTC().Format(mysqlTimeLayout)
	case SQLite:
		return t.UnixMicro()
	default:
		return t.UTC().Truncate(time.Microsecond)
	}
}

// nullTimeArg is timeArg for a nullable column: the zero time is NULL.
func (d sqlDialect) nullTimeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.timeArg(t)
}

// timeDest scans a column written by timeArg into a UTC time.Time. NULL
// scans as the zero time.
type timeDest struct {
	t    *time.Time
	wall bool
}

// scanTime returns the destination for scanning a time column into t.
func (d sqlDialect) scanTime(t *time.Time) timeDest {
	return timeDest{t: t, wall: d.wallClockTimes}
}

// Scan implements sql.Scanner.
func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case time.Time:
		if d.wall {
			v = time.Date(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
		}
		*d.t = v.UTC()
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case []byte:
		return d.parse(string(v))
	case string:
		return d.parse(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// parse reads a time stored as text, taken to be UTC when it carries no
// offset.
func (d timeDest) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			*d.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("sqlstore: cannot read %q as a time", s)
}
