package backoff

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNextGrowsAndCaps(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantFirst time.Duration
		wantMax   time.Duration
	}{
		{"defaults", Config{}, DefaultBaseDelay, DefaultMaxDelay},
		{"custom", Config{BaseDelay: 10 * time.Millisecond, MaxDelay: 80 * time.Millisecond, Jitter: 0.1}, 10 * time.Millisecond, 80 * time.Millisecond},
		{"max below base is raised", Config{BaseDelay: 50 * time.Millisecond, MaxDelay: time.Millisecond}, 50 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.cfg)
			jitter := b.cfg.Jitter
			first := b.Next()
			lo := time.Duration(float64(tt.wantFirst) * (1 - jitter))
			hi := time.Duration(float64(tt.wantFirst) * (1 + jitter))
			if first < lo || first > hi {
				t.Fatalf("first delay %v not within [%v, %v]", first, lo, hi)
			}
			var last time.Duration
			for i := 0; i < 50; i++ {
				last = b.Next()
				if last > tt.wantMax {
					t.Fatalf("delay %v exceeds cap %v", last, tt.wantMax)
				}
			}
			if last < time.Duration(float64(tt.wantMax)*(1-jitter)) {
				t.Fatalf("after 50 attempts delay %v has not reached the cap %v", last, tt.wantMax)
			}
			b.Reset()
			if got := b.Next(); got > hi {
				t.Fatalf("after Reset delay %v, want about %v", got, tt.wantFirst)
			}
		})
	}
}

func TestNextIsJittered(t *testing.T) {
	b := New(Config{BaseDelay: time.Second, Jitter: 0.5})
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		b.Reset()
		seen[b.Next()] = true
	}
	if len(seen) < 2 {
		t.Fatalf("20 first delays were all equal; no jitter")
	}
}

func TestSleepWakesOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if Sleep(ctx, time.Minute) {
		t.Fatal("Sleep reported a full delay although ctx ended")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("Sleep did not wake on cancel")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep with live ctx returned false")
	}
}
