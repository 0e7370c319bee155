package stats

import (
	"sync/atomic"
	"time"
)

// LastError holds the most recent error and when it happened. The zero
// value holds none.
type LastError struct {
	p atomic.Pointer[errorAt]
}

type errorAt struct {
	err error
	at  time.Time
}

// Set records err as happening at at. A nil err is ignored, so that the
// last real error is not erased. Set allocates one small record; errors
// are expected to be rare (one per failed attempt, with backoff between).
func (l *LastError) Set(err error, at time.Time) {
	if err == nil {
		return
	}
	l.p.Store(&errorAt{err: err, at: at})
}

// Load returns the last error and its time, or the zero time and nil if
// none was set.
func (l *LastError) Load() (time.Time, error) {
	e := l.p.Load()
	if e == nil {
		return time.Time{}, nil
	}
	return e.at, e.err
}
