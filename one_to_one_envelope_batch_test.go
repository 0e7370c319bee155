package loggregator_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	gendiodes "code.cloudfoundry.org/go-diodes"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func batchOf(ids ...string) []*loggregator_v2.Envelope {
	out := make([]*loggregator_v2.Envelope, len(ids))
	for i, id := range ids {
		out[i] = &loggregator_v2.Envelope{SourceId: id}
	}
	return out
}

func TestOneToOneEnvelopeBatchSetAndTryNext(t *testing.T) {
	tests := []struct {
		name        string
		size        int
		nilAlerter  bool
		sets        int
		wantFirst   string
		wantReads   int
		wantDropped int
	}{
		{"empty", 4, false, 0, "", 0, 0},
		{"within capacity keeps order", 4, false, 3, "0", 3, 0},
		// go-diodes jumps to the newest batch found in the slot it reads,
		// so a lapped reader loses more than the strict overflow.
		{"overwrite jumps ahead and alerts", 4, false, 6, "4", 2, 4},
		{"size zero is clamped to one", 0, false, 3, "2", 1, 2},
		{"negative size is clamped to one", -5, false, 2, "1", 1, 1},
		{"nil alerter ignores drops", 2, true, 5, "4", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dropped int
			var alerter gendiodes.Alerter = gendiodes.AlertFunc(func(n int) { dropped += n })
			if tt.nilAlerter {
				alerter = nil
			}
			d := loggregator.NewOneToOneEnvelopeBatch(tt.size, alerter)
			for i := 0; i < tt.sets; i++ {
				d.Set(batchOf(string(rune('0' + i))))
			}
			var got []string
			for {
				b, ok := d.TryNext()
				if !ok {
					if b != nil {
						t.Fatalf("TryNext returned %v with false", b)
					}
					break
				}
				got = append(got, b[0].SourceId)
			}
			if len(got) != tt.wantReads {
				t.Fatalf("read %d batches %v, want %d", len(got), got, tt.wantReads)
			}
			if tt.wantReads > 0 && got[0] != tt.wantFirst {
				t.Fatalf("first batch %q, want %q", got[0], tt.wantFirst)
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("batches out of order: %v", got)
				}
			}
			if dropped != tt.wantDropped {
				t.Fatalf("alerter reported %d dropped batches, want %d", dropped, tt.wantDropped)
			}
		})
	}
}

func TestOneToOneEnvelopeBatchNilAlertFunc(t *testing.T) {
	d := loggregator.NewOneToOneEnvelopeBatch(1, gendiodes.AlertFunc(nil))
	d.Set(batchOf("a"))
	d.Set(batchOf("b"))
	if b, ok := d.TryNext(); !ok || b[0].SourceId != "b" {
		t.Fatalf("TryNext = %v, %v; want batch b", b, ok)
	}
}

func TestOneToOneEnvelopeBatchNext(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
	}{
		{"default interval", 0},
		{"short interval", time.Millisecond},
		{"negative interval does not spin", -time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := []gendiodes.PollerConfigOption{gendiodes.WithPollingContext(ctx)}
			if tt.interval != 0 {
				opts = append(opts, gendiodes.WithPollingInterval(tt.interval))
			}
			d := loggregator.NewOneToOneEnvelopeBatch(4, nil, opts...)

			done := make(chan []*loggregator_v2.Envelope)
			go func() { done <- d.Next() }()
			time.Sleep(20 * time.Millisecond) // let Next start waiting on an empty diode
			d.Set(batchOf("x"))
			select {
			case b := <-done:
				if len(b) != 1 || b[0].SourceId != "x" {
					t.Fatalf("Next = %v, want batch x", b)
				}
			case <-ctx.Done():
				t.Fatal("Next did not return the batch")
			}
		})
	}
}

func TestOneToOneEnvelopeBatchNextReturnsNilWhenContextDone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	d := loggregator.NewOneToOneEnvelopeBatch(4, nil, gendiodes.WithPollingContext(ctx), gendiodes.WithPollingInterval(time.Millisecond))
	done := make(chan []*loggregator_v2.Envelope)
	go func() { done <- d.Next() }()
	cancel()
	select {
	case b := <-done:
		if b != nil {
			t.Fatalf("Next after cancel = %v, want nil", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return after its context was cancelled")
	}
	if b := d.Next(); b != nil {
		t.Fatalf("second Next after cancel = %v, want nil", b)
	}
}

func TestOneToOneEnvelopeBatchConcurrentSafe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dropped atomic.Int64
	d := loggregator.NewOneToOneEnvelopeBatch(8, gendiodes.AlertFunc(func(n int) { dropped.Add(int64(n)) }),
		gendiodes.WithPollingContext(ctx), gendiodes.WithPollingInterval(100*time.Microsecond))
	const n = 5000
	go func() {
		for i := 0; i < n; i++ {
			d.Set([]*loggregator_v2.Envelope{{Timestamp: int64(i)}})
		}
		d.Set([]*loggregator_v2.Envelope{{Timestamp: -1}})
	}()
	var read int64
	last := int64(-1)
	for {
		b := d.Next()
		if b == nil {
			t.Fatal("context ended before the writer finished")
		}
		ts := b[0].Timestamp
		if ts == -1 {
			break
		}
		if ts <= last {
			t.Fatalf("batch %d read after %d", ts, last)
		}
		last = ts
		read++
	}
	if read+dropped.Load() != n {
		t.Fatalf("read %d + dropped %d != written %d", read, dropped.Load(), n)
	}
}
