package v1

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudfoundry/dropsonde"
)

type lineLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLogger) Printf(format string, args ...interface{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *lineLogger) Panicf(format string, args ...interface{}) { l.Printf(format, args...) }

func TestUninitializedLogIsRateLimited(t *testing.T) {
	logger := &lineLogger{}
	c, _ := NewClient(WithLogger(logger))
	c.emitter = func() dropsonde.EventEmitter { return &dropsonde.NullEventEmitter{} }

	steps := []struct {
		name      string
		before    func()
		wantLines int
		wantCount string
	}{
		{name: "first drop is logged", wantLines: 1, wantCount: "(1 dropped"},
		{name: "second drop within the interval is not", wantLines: 1},
		{
			name: "a drop after the interval is logged with the total",
			before: func() {
				c.lastWarn.Store(time.Now().Add(-UninitializedLogInterval - time.Second).UnixNano())
			},
			wantLines: 2, wantCount: "(3 dropped",
		},
		{name: "and then rate-limited again", wantLines: 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			c.EmitCounter("x")
			logger.mu.Lock()
			defer logger.mu.Unlock()
			if len(logger.lines) != s.wantLines {
				t.Fatalf("%d lines logged, want %d: %q", len(logger.lines), s.wantLines, logger.lines)
			}
			if s.wantCount != "" && !strings.Contains(logger.lines[len(logger.lines)-1], s.wantCount) {
				t.Errorf("last line %q does not contain %q", logger.lines[len(logger.lines)-1], s.wantCount)
			}
		})
	}
}

func TestToUint64(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want uint64
	}{
		{0, 0}, {0.99, 0}, {1.99, 1}, {-0.5, 0}, {-1e300, 0},
		{1 << 63, 1 << 63}, {1 << 64, 1<<64 - 1}, {1e300, 1<<64 - 1},
	} {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			if got := toUint64(tc.in); got != tc.want {
				t.Errorf("toUint64(%v) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}
