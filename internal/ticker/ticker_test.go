package ticker_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"code.cloudfoundry.org/go-loggregator/internal/ticker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRealTicksAndStops(t *testing.T) {
	c, stop := ticker.Real(time.Millisecond)
	defer stop()
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("no tick within 5s")
	}
}

func TestManual(t *testing.T) {
	m := ticker.NewManual()
	if m.Starts() != 0 {
		t.Fatalf("Starts() = %d before any ticker", m.Starts())
	}
	done := make(chan int)
	go func() {
		c, stop := m.New(7 * time.Second)
		n := 0
		for range 3 {
			<-c
			n++
		}
		stop()
		stop() // idempotent: one stop is reported
		done <- n
	}()
	if d := m.WaitStarted(t); d != 7*time.Second {
		t.Fatalf("interval %v, want 7s", d)
	}
	for range 3 {
		m.Tick(t)
	}
	m.WaitStopped(t)
	if n := <-done; n != 3 || m.Starts() != 1 {
		t.Fatalf("took %d ticks from %d tickers, want 3 from 1", n, m.Starts())
	}
}
