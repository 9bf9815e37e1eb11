package postgres

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// lockPoll is how often Lock tries again while another session holds the
// support lock.
const lockPoll = 50 * time.Millisecond

// supportLockKey is the advisory lock key of tenant's support lock: a hash
// of "gatehouse.support" and the tenant, so that tenants do not wait for
// each other.
func supportLockKey(tenant string) int64 {
	h := fnv.New64a()
	h.Write([]byte("gatehouse.support\x00"))
	h.Write([]byte(tenant))
	return int64(h.Sum64())
}

// Lock takes the tenant's support lock: a session-level advisory lock on a
// connection taken from the pool and held until unlock, so it lasts through
// delivery without a transaction open. It tries every 50 ms for at most
// wait; wait 0 tries once and returns gatehouse.ErrLockBusy when another
// session holds it. ctx ends the wait.
func (s *Store) Lock(ctx context.Context, wait time.Duration) (func(), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, classify(err, "take the support lock")
	}
	key := supportLockKey(s.tenant)
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
			conn.Release()
			return nil, classify(err, "take the support lock")
		}
		if ok {
			break
		}
		left := time.Until(deadline)
		if left <= 0 {
			conn.Release()
			if wait == 0 {
				return nil, gatehouse.ErrLockBusy
			}
			return nil, gatehouse.Wrap(gatehouse.EUNAVAILABLE, gatehouse.ErrLockBusy,
				"another support request or rotation held the support lock for longer than the wait (%s)", wait)
		}
		select {
		case <-ctx.Done():
			conn.Release()
			return nil, classify(ctx.Err(), "take the support lock")
		case <-time.After(min(lockPoll, left)):
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			// Unlock on a context of its own: the caller's may have ended.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var released bool
			if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", key).Scan(&released); err != nil || !released {
				// Closing the session releases its locks.
				_ = conn.Hijack().Close(ctx)
				return
			}
			conn.Release()
		})
	}, nil
}
