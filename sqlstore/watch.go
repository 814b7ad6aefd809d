package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.UserWatcher = (*Store)(nil)

// DefaultWatchInterval is how often WatchUsers polls for changes on MySQL
// and SQLite unless SetWatchInterval says otherwise.
const DefaultWatchInterval = 250 * time.Millisecond

const (
	// changeRetention is how long the rows of authkit_user_changes are
	// kept: far longer than any watcher that is still watching takes to
	// read them.
	changeRetention = time.Minute
	// trimEvery is how often, at most, a Store deletes the rows older than
	// changeRetention, after a change it wrote.
	trimEvery = 30 * time.Second
	// changesPerPoll is how many changes one poll reads at most; a full
	// page is followed by another poll at once.
	changesPerPoll = 500
	// listenPing is how long a PostgreSQL watcher waits for a notification
	// before it checks that its connection still answers, so that a
	// connection lost without a word is noticed.
	listenPing = 10 * time.Second
	// listenPingTimeout bounds that check.
	listenPingTimeout = 5 * time.Second
)

// SetWatchInterval sets how often WatchUsers polls for changes on MySQL
// and SQLite, from its next call on; zero or less restores
// DefaultWatchInterval. A change reaches every watcher within about this
// interval, so keep it well under a second. Each watcher runs one small
// query per interval. PostgreSQL does not poll: it is told of changes.
func (s *Store) SetWatchInterval(d time.Duration) {
	if d <= 0 {
		d = DefaultWatchInterval
	}
	s.watchInterval.Store(int64(d))
}

// WatchUsers implements authkit.UserWatcher, so that the Authenticators
// of every instance sharing the database keep their user caches true: it
// calls changed with the id of every user changed by UpdateUser (but an
// update that authkit.UserUpdate.TouchOnly reports) or deleted by
// DeleteUser, through any Store on the same tables. Those methods note the
// change in the transaction that makes it, so a change is reported exactly
// when it commits.
//
// On PostgreSQL the note is a notification (pg_notify) on a channel named
// after the current schema, delivered on commit; WatchUsers takes one
// connection from the pool for as long as it runs, LISTENs on it, and
// calls ready once it listens. After 10 seconds without a notification it
// checks that the connection still answers, so that a connection lost
// without a word is noticed.
//
// On MySQL and SQLite the note is a row of authkit_user_changes, numbered
// in commit order. WatchUsers reads the newest number, calls ready, and
// then polls for newer rows every watch interval (see SetWatchInterval).
// If rows it had not read yet were deleted meanwhile, it calls changed("").
// The Store deletes rows older than a minute, at most every 30 seconds,
// after a change it writes; the newest row is kept.
//
// WatchUsers returns ctx's error when ctx ends, and any other error (the
// connection failed, a poll failed, the tables are missing) as soon as it
// can no longer watch; the Authenticator then reads users from the Store
// until it watches again. On PostgreSQL it needs a Dialect with
// WaitForNotification, as postgres.Dialect has.
func (s *Store) WatchUsers(ctx context.Context, ready func(), changed func(userID string)) error {
	var err error
	if s.d.engine == PostgreSQL {
		err = s.listenUsers(ctx, ready, changed)
	} else {
		err = s.pollUsers(ctx, ready, changed)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return wrap("watch users", err)
}

// noteChange records, in tx, that user id changed: a notification on
// PostgreSQL, a row of authkit_user_changes elsewhere. It returns the row's
// number, or 0 on PostgreSQL.
func (s *Store) noteChange(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	var (
		res sql.Result
		err error
	)
	switch s.d.engine {
	case PostgreSQL:
		_, err = tx.ExecContext(ctx, s.q.notifyUser, id)
		return 0, err
	case MySQL:
		// Take the next number, and the counter's row lock until commit.
		res, err = tx.ExecContext(ctx, s.q.nextChangeSeq)
		if err != nil {
			return 0, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return 0, err
		} else if n != 1 {
			return 0, errors.New("authkit_user_change_seq holds no counter")
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return 0, err
		}
		_, err = tx.ExecContext(ctx, s.q.insertChange, seq, id, s.d.timeArg(time.Now()))
		return seq, err
	default:
		res, err = tx.ExecContext(ctx, s.q.insertChange, id, s.d.timeArg(time.Now()))
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
}

// trimChanges deletes the rows of authkit_user_changes older than
// changeRetention, but never newest (the row a change just wrote, so that a
// watcher can always tell rows it missed), when the Store has not done so
// for trimEvery. It is best effort: after a failure, the next change tries
// again.
func (s *Store) trimChanges(ctx context.Context, newest int64) {
	if newest == 0 {
		return
	}
	now := time.Now()
	last := s.lastTrim.Load()
	if now.UnixNano()-last < int64(trimEvery) || !s.lastTrim.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if _, err := s.exec(ctx, s.q.trimChanges, newest, s.d.timeArg(now.Add(-changeRetention))); err != nil {
		s.lastTrim.CompareAndSwap(now.UnixNano(), last)
	}
}

// pollUsers is WatchUsers on MySQL and SQLite.
func (s *Store) pollUsers(ctx context.Context, ready func(), changed func(string)) error {
	var last int64
	if err := s.queryRow(ctx, s.q.lastChange).Scan(&last); err != nil {
		return err
	}
	ready()
	interval := time.Duration(s.watchInterval.Load())
	if interval <= 0 {
		interval = DefaultWatchInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		for {
			n, err := s.pollChanges(ctx, &last, changed)
			if err != nil {
				return err
			}
			if n < changesPerPoll {
				break
			}
		}
	}
}

// change is one row of authkit_user_changes.
type change struct {
	seq    int64
	userID string
}

// pollChanges reads the changes numbered after *last, reports them and
// moves *last on. A number skipped means rows were deleted before they were
// read: it reports that any user may have changed. It returns how many rows
// it read.
func (s *Store) pollChanges(ctx context.Context, last *int64, changed func(string)) (int, error) {
	rows, err := s.query(ctx, s.q.changesAfter, *last)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var got []change
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.seq, &c.userID); err != nil {
			return 0, err
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	prev := *last
	for _, c := range got {
		if c.seq != prev+1 {
			changed("")
			break
		}
		prev = c.seq
	}
	for _, c := range got {
		changed(c.userID)
		*last = c.seq
	}
	return len(got), nil
}

// listenUsers is WatchUsers on PostgreSQL.
func (s *Store) listenUsers(ctx context.Context, ready func(), changed func(string)) error {
	if s.d.waitForNotification == nil {
		return errors.New("the Dialect has no WaitForNotification")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	// A connection that listens must not go back to the pool.
	defer func() {
		discard(conn)
		_ = conn.Close()
	}()
	var channel string
	if err := conn.QueryRowContext(ctx, s.q.userChannel).Scan(&channel); err != nil {
		return err
	}
	if strings.Trim(channel, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		return fmt.Errorf("channel name %q is not a plain identifier", channel)
	}
	if _, err := conn.ExecContext(ctx, "LISTEN "+channel); err != nil {
		return err
	}
	ready()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenPing)
		var got, payload string
		err := conn.Raw(func(driverConn any) error {
			var err error
			got, payload, err = s.d.waitForNotification(waitCtx, driverConn)
			return err
		})
		quiet := waitCtx.Err() != nil
		cancel()
		switch {
		case err == nil:
			if got == channel {
				changed(payload)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case quiet:
			// A half-open connection can leave a ping waiting for
			// minutes: give it a bound of its own.
			pingCtx, cancel := context.WithTimeout(ctx, listenPingTimeout)
			err := conn.PingContext(pingCtx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
	}
}
