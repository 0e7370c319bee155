package batch_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"code.cloudfoundry.org/go-loggregator/internal/batch"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSealing(t *testing.T) {
	tests := []struct {
		name      string
		cfg       batch.Config
		entries   []string
		wantFull  []int // N of each batch Take(false) returns, in order
		wantOpen  int   // N of the batch Take(true) returns afterwards (0: none)
		wantReady bool
	}{
		{"by count", batch.Config{Capacity: 10, MaxCount: 2, MaxBytes: 100}, []string{"a", "b", "c"}, []int{2}, 1, true},
		{"by bytes", batch.Config{Capacity: 10, MaxCount: 100, MaxBytes: 4}, []string{"ab", "cd", "e"}, []int{2}, 1, true},
		{"entry would overflow bytes", batch.Config{Capacity: 10, MaxCount: 100, MaxBytes: 4}, []string{"abc", "de"}, []int{1}, 1, true},
		{"oversized entry alone", batch.Config{Capacity: 10, MaxCount: 100, MaxBytes: 2}, []string{"abcdef"}, []int{1}, 0, true},
		{"nothing sealed", batch.Config{Capacity: 10, MaxCount: 5, MaxBytes: 100}, []string{"a", "b"}, nil, 2, false},
		{"zero config clamps to one", batch.Config{}, []string{"a"}, []int{1}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := batch.New(tc.cfg)
			for _, e := range tc.entries {
				if err := b.Add([]byte(e)); err != nil {
					t.Fatalf("Add(%q): %v", e, err)
				}
			}
			select {
			case <-b.Ready():
				if !tc.wantReady {
					t.Error("Ready signalled, want not")
				}
			default:
				if tc.wantReady {
					t.Error("Ready not signalled")
				}
			}
			for _, n := range tc.wantFull {
				bt := b.Take(false)
				if bt == nil || bt.N != n {
					t.Fatalf("Take(false) = %+v, want N=%d", bt, n)
				}
				b.Release(bt)
			}
			if bt := b.Take(false); bt != nil {
				t.Fatalf("extra sealed batch %+v", bt)
			}
			bt := b.Take(true)
			if tc.wantOpen == 0 {
				if bt != nil {
					t.Fatalf("Take(true) = %+v, want nil", bt)
				}
				return
			}
			if bt == nil || bt.N != tc.wantOpen {
				t.Fatalf("Take(true) = %+v, want N=%d", bt, tc.wantOpen)
			}
			b.Release(bt)
			if h := b.Held(); h != 0 {
				t.Fatalf("Held = %d after releasing everything", h)
			}
		})
	}
}

func TestCapacityCountsTakenBatches(t *testing.T) {
	b := batch.New(batch.Config{Capacity: 3, MaxCount: 2, MaxBytes: 100})
	for i := 0; i < 3; i++ {
		if err := b.Add([]byte{'x'}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add([]byte{'y'}); !errors.Is(err, batch.ErrFull) {
		t.Fatalf("Add over capacity: %v, want ErrFull", err)
	}
	bt := b.Take(false)
	if err := b.Add([]byte{'y'}); !errors.Is(err, batch.ErrFull) {
		t.Fatalf("Add with a taken, unreleased batch: %v, want ErrFull", err)
	}
	b.Release(bt)
	if err := b.Add([]byte{'y'}); err != nil {
		t.Fatalf("Add after Release: %v", err)
	}
	b.Close()
	if err := b.Add([]byte{'z'}); !errors.Is(err, batch.ErrClosed) {
		t.Fatalf("Add after Close: %v, want ErrClosed", err)
	}
	if bt := b.Take(true); bt == nil || bt.N != 2 || string(bt.Data) != "xy" {
		t.Fatalf("Take after Close = %+v", bt)
	}
}

func TestBufferConcurrentSafe(t *testing.T) {
	b := batch.New(batch.Config{Capacity: 1000, MaxCount: 10, MaxBytes: 1 << 20})
	const writers, each = 8, 5000
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for i := 0; i < each; i++ {
				if b.Add([]byte{'e'}) == nil {
					n++
				}
			}
			mu.Lock()
			added += n
			mu.Unlock()
		}()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	taken := 0
	take := func(bt *batch.Batch) {
		if len(bt.Data) != bt.N {
			t.Errorf("batch of %d entries has %d bytes", bt.N, len(bt.Data))
		}
		taken += bt.N
		b.Release(bt)
	}
	go func() {
		defer close(done)
		for {
			if bt := b.Take(true); bt != nil {
				take(bt)
				continue
			}
			select {
			case <-stop:
				return
			case <-b.Ready():
			case <-time.After(time.Millisecond):
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-done
	b.Close()
	for bt := b.Take(true); bt != nil; bt = b.Take(true) {
		take(bt)
	}
	mu.Lock()
	defer mu.Unlock()
	if taken != added || b.Held() != 0 {
		t.Fatalf("took %d envelopes, added %d, still held %d", taken, added, b.Held())
	}
}

func TestByteBound(t *testing.T) {
	tests := []struct {
		name     string
		maxCount int
		entry    int
		want     int // entries accepted before ErrFull
	}{
		{"one per batch", 1, 100, 10},
		{"ten per batch", 10, 100, 10},
		{"large entries", 100, 400, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := batch.New(batch.Config{Capacity: 1000, MaxCount: tc.maxCount, MaxBytes: 1 << 20, MaxHeldBytes: 1024})
			entry := make([]byte, tc.entry)
			n := 0
			for b.Add(entry) == nil {
				n++
				if n > 1000 {
					t.Fatal("no bound")
				}
			}
			if b.HeldBytes() > 1024 {
				t.Errorf("HeldBytes = %d > 1024", b.HeldBytes())
			}
			if n < tc.want {
				t.Errorf("accepted %d entries, want at least %d", n, tc.want)
			}
			for bt := b.Take(true); bt != nil; bt = b.Take(true) {
				b.Release(bt)
			}
			if b.Held() != 0 || b.HeldBytes() > 1024 {
				t.Errorf("after release: held %d, bytes %d", b.Held(), b.HeldBytes())
			}
			if err := b.Add(entry); err != nil {
				t.Errorf("Add after release: %v", err)
			}
		})
	}
}

func TestDropOldestRequeueAndRoom(t *testing.T) {
	b := batch.New(batch.Config{Capacity: 6, MaxCount: 2, MaxBytes: 100})
	for _, e := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := b.Add([]byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	room := b.Room()
	if err := b.Add([]byte("g")); !errors.Is(err, batch.ErrFull) {
		t.Fatalf("Add to a full buffer = %v", err)
	}
	taken := b.Take(false) // "ab"
	if n := b.DropOldest(); n != 2 {
		t.Fatalf("DropOldest = %d, want 2 (cd)", n)
	}
	select {
	case <-room:
	default:
		t.Fatal("Room not closed after DropOldest freed room")
	}
	b.Requeue([]*batch.Batch{taken})
	if bt := b.Take(false); bt == nil || string(bt.Data) != "ab" {
		t.Fatalf("requeued batch not first: %+v", bt)
	} else {
		b.Release(bt)
	}
	if bt := b.Take(false); bt == nil || string(bt.Data) != "ef" {
		t.Fatalf("next batch %+v, want ef", bt)
	} else {
		b.Release(bt)
	}
	if b.DropOldest() != 0 || b.Held() != 0 {
		t.Errorf("held %d", b.Held())
	}
	room = b.Room()
	b.Close()
	select {
	case <-room:
	default:
		t.Fatal("Room not closed by Close")
	}
}

func TestDropOldestKeepsRequeuedBatches(t *testing.T) {
	b := batch.New(batch.Config{Capacity: 10, MaxCount: 2, MaxBytes: 100})
	for _, e := range []string{"a", "b", "c", "d"} {
		if err := b.Add([]byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	sent := b.Take(false)
	sent.Attempts = 1 // it broke a stream: it may have been received
	b.Requeue([]*batch.Batch{sent})
	if n := b.DropOldest(); n != 2 {
		t.Fatalf("DropOldest = %d", n)
	}
	if bt := b.Take(false); bt == nil || string(bt.Data) != "ab" {
		t.Fatalf("the requeued batch was dropped: %+v", bt)
	}
	if n := b.DropOldest(); n != 0 {
		t.Errorf("DropOldest = %d with only a taken batch left", n)
	}
}

// TestCounts: Counts reports every successful Add, and the envelopes held
// now; refused entries, takes, requeues, releases and evictions do not
// change the number added.
func TestCounts(t *testing.T) {
	b := batch.New(batch.Config{Capacity: 5, MaxCount: 2, MaxBytes: 100})
	check := func(step string, wantAdded uint64, wantHeld int) {
		t.Helper()
		if added, held := b.Counts(); added != wantAdded || held != wantHeld {
			t.Errorf("%s: Counts() = %d, %d; want %d, %d", step, added, held, wantAdded, wantHeld)
		}
	}
	check("empty", 0, 0)
	for i := 0; i < 6; i++ {
		err := b.Add([]byte("e"))
		if (i < 5) != (err == nil) {
			t.Fatalf("Add %d: %v", i, err)
		}
	}
	check("five added, one refused", 5, 5)
	first := b.Take(false)
	check("taken", 5, 5)
	b.Requeue([]*batch.Batch{first})
	check("requeued", 5, 5)
	if n := b.DropOldest(); n != 2 {
		t.Fatalf("DropOldest = %d, want 2", n)
	}
	check("evicted", 5, 3)
	b.Release(b.Take(false))
	check("released", 5, 1)
	if err := b.Add([]byte("e")); err != nil {
		t.Fatal(err)
	}
	check("added again", 6, 2)
	b.Close()
	if err := b.Add([]byte("e")); !errors.Is(err, batch.ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	check("closed", 6, 2)
}
