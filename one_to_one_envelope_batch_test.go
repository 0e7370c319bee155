package loggregator

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	gendiodes "code.cloudfoundry.org/go-diodes"

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
			d := NewOneToOneEnvelopeBatch(tt.size, alerter)
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
	d := NewOneToOneEnvelopeBatch(1, gendiodes.AlertFunc(nil))
	d.Set(batchOf("a"))
	d.Set(batchOf("b"))
	if b, ok := d.TryNext(); !ok || b[0].SourceId != "b" {
		t.Fatalf("TryNext = %v, %v; want batch b", b, ok)
	}
}

// pollingDiode is a real go-diodes OneToOne that counts the polls of the
// reader, signals the first one, and can set a batch into itself at a
// given poll, so that tests know when Next is waiting and how often it
// polls.
type pollingDiode struct {
	gendiodes.Diode
	batch     *OneToOneEnvelopeBatch // set after construction
	setAt     int                    // poll at which batchOf("self") is set; 0: never
	polls     int                    // owned by the reader
	firstPoll chan struct{}          // closed at the first poll
}

func newPollingDiode(setAt int) *pollingDiode {
	return &pollingDiode{
		Diode:     gendiodes.NewOneToOne(4, gendiodes.AlertFunc(func(int) {})),
		setAt:     setAt,
		firstPoll: make(chan struct{}),
	}
}

func (p *pollingDiode) TryNext() (gendiodes.GenericDataType, bool) {
	p.polls++
	if p.polls == 1 {
		close(p.firstPoll)
	}
	if p.polls == p.setAt {
		p.batch.Set(batchOf("self"))
	}
	return p.Diode.TryNext()
}

func TestOneToOneEnvelopeBatchNext(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
	}{
		{"default interval", 0},
		{"short interval", time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := []gendiodes.PollerConfigOption{gendiodes.WithPollingContext(ctx)}
			if tt.interval != 0 {
				opts = append(opts, gendiodes.WithPollingInterval(tt.interval))
			}
			pd := newPollingDiode(0)
			d := newOneToOneEnvelopeBatch(pd, opts)
			pd.batch = d

			done := make(chan []*loggregator_v2.Envelope)
			go func() { done <- d.Next() }()
			select {
			case <-pd.firstPoll: // Next found the diode empty and waits
			case <-ctx.Done():
				t.Fatal("Next did not poll")
			}
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

// TestDiodePollingIntervalFieldPinned pins the unexported go-diodes field
// that the spin guard reads by reflection. If an upgrade of go-diodes
// renames or retypes Poller.interval, this test fails, instead of the
// guard silently reading nothing and letting a non-positive interval spin.
func TestDiodePollingIntervalFieldPinned(t *testing.T) {
	p := gendiodes.NewPoller(gendiodes.NewOneToOne(1, nil))
	f := reflect.ValueOf(p).Elem().FieldByName("interval")
	if !f.IsValid() {
		t.Fatal("go-diodes Poller has no field \"interval\" any more: update pollingInterval, the spin guard is blind")
	}
	if f.Type() != reflect.TypeOf(time.Duration(0)) {
		t.Fatalf("go-diodes Poller.interval is a %v, want time.Duration: update pollingInterval", f.Type())
	}
	tests := []struct {
		name string
		opts []gendiodes.PollerConfigOption
		want time.Duration
	}{
		{"go-diodes default is ours", nil, DefaultDiodePollingInterval},
		{"positive", []gendiodes.PollerConfigOption{gendiodes.WithPollingInterval(7 * time.Millisecond)}, 7 * time.Millisecond},
		{"zero", []gendiodes.PollerConfigOption{gendiodes.WithPollingInterval(0)}, 0},
		{"negative", []gendiodes.PollerConfigOption{gendiodes.WithPollingInterval(-time.Second)}, -time.Second},
		{"last option wins", []gendiodes.PollerConfigOption{gendiodes.WithPollingInterval(time.Second), gendiodes.WithPollingInterval(3 * time.Millisecond)}, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pollingInterval(gendiodes.NewPoller(gendiodes.NewOneToOne(1, nil), tt.opts...)); got != tt.want {
				t.Errorf("pollingInterval = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOneToOneEnvelopeBatchDoesNotSpin checks that a non-positive polling
// interval is replaced by the default, and that Next on an empty diode
// then waits that long between polls instead of polling in a hot loop.
func TestOneToOneEnvelopeBatchDoesNotSpin(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		want     time.Duration
	}{
		{"negative interval", -time.Second, DefaultDiodePollingInterval},
		{"zero interval", 0, DefaultDiodePollingInterval},
		{"positive interval kept", 3 * time.Millisecond, 3 * time.Millisecond},
	}
	const polls = 3 // Next returns at the third poll
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			opts := []gendiodes.PollerConfigOption{gendiodes.WithPollingContext(ctx), gendiodes.WithPollingInterval(tt.interval)}
			if got := pollingInterval(NewOneToOneEnvelopeBatch(4, nil, opts...).d); got != tt.want {
				t.Errorf("NewOneToOneEnvelopeBatch: polling interval %v, want %v", got, tt.want)
			}

			pd := newPollingDiode(polls)
			d := newOneToOneEnvelopeBatch(pd, opts)
			pd.batch = d
			start := time.Now()
			b := d.Next()
			elapsed := time.Since(start)
			if len(b) != 1 || b[0].SourceId != "self" {
				t.Fatalf("Next = %v, want the batch set at poll %d", b, polls)
			}
			// Sleeps never end early, so a poller that waits the interval
			// between polls cannot be faster than this; a spinning one
			// takes microseconds.
			if floor := (polls - 1) * tt.want; elapsed < floor {
				t.Errorf("Next polled %d times in %v, less than %v: it does not wait between polls", polls, elapsed, floor)
			}
		})
	}
}

func TestOneToOneEnvelopeBatchNextReturnsNilWhenContextDone(t *testing.T) {
	deadline, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	ctx, cancel := context.WithCancel(deadline)
	opts := []gendiodes.PollerConfigOption{gendiodes.WithPollingContext(ctx), gendiodes.WithPollingInterval(time.Millisecond)}
	pd := newPollingDiode(0)
	d := newOneToOneEnvelopeBatch(pd, opts)
	pd.batch = d
	done := make(chan []*loggregator_v2.Envelope)
	go func() { done <- d.Next() }()
	select {
	case <-pd.firstPoll: // Next is waiting on the empty diode
	case <-deadline.Done():
		t.Fatal("Next did not poll")
	}
	cancel()
	select {
	case b := <-done:
		if b != nil {
			t.Fatalf("Next after cancel = %v, want nil", b)
		}
	case <-deadline.Done():
		t.Fatal("Next did not return after its context was cancelled")
	}
	if b := d.Next(); b != nil {
		t.Fatalf("second Next after cancel = %v, want nil", b)
	}
	if b := NewOneToOneEnvelopeBatch(4, nil, opts...).Next(); b != nil {
		t.Fatalf("Next with a done context = %v, want nil", b)
	}
}

func TestOneToOneEnvelopeBatchConcurrentSafe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var dropped atomic.Int64
	d := NewOneToOneEnvelopeBatch(8, gendiodes.AlertFunc(func(n int) { dropped.Add(int64(n)) }),
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
