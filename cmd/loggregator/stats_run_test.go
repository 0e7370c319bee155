package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if err := sleepCtx(ctx, 5*time.Millisecond); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
}

// exitLine returns the "<label> stats at exit" line of out.
func exitLine(t *testing.T, out, label string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, label+" stats at exit (") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %q exit summaries, want 1; output:\n%s", len(found), label, out)
	}
	return found[0]
}

// checkFields fails unless line has every name=value of want.
func checkFields(t *testing.T, line string, want ...string) {
	t.Helper()
	fields := " " + line + " "
	for _, w := range want {
		if !strings.Contains(fields, " "+w+" ") {
			t.Errorf("%q lacks %q", line, w)
		}
	}
}

// periodicLine returns the first periodic "<label> stats (" line of out,
// or "".
func periodicLine(out, label string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, label+" stats (") {
			return l
		}
	}
	return ""
}

// TestTailAndEmitStats tails the dev server with --stats through gRPC
// egress and through the gateway, waits for a periodic line, emits four
// logs with emit --stats and checks both exit summaries' counts.
func TestTailAndEmitStats(t *testing.T) {
	dir := t.TempDir()
	s, err := devserver.New(devserver.Config{IngressAddr: ":0", EgressAddr: ":0", GatewayAddr: ":0", CertDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sources := []struct {
		name string
		want []string // in the exit summary besides envelopes=4 and last_error=none
		args []string
	}{
		{"gRPC egress", []string{"dropped=0", "reconnects=0"}, []string{"--addr", s.Addrs().Egress, "--cert-dir", dir}},
		{"gateway", []string{"requests=1", "reconnects=0", "skipped=0"}, []string{"--gateway", s.Addrs().GatewayURL}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			waitFor(t, ctx, "earlier subscribers did not leave", func() bool { return s.Stats().Subscribers == 0 })
			var out, errb syncWriter
			done := make(chan int, 1)
			go func() {
				args := append([]string{"tail", "--count", "4", "--source-id", "stats-test", "--stats", "--stats-interval", "10ms"}, src.args...)
				done <- runContext(ctx, args, &out, &errb)
			}()
			waitFor(t, ctx, "tail did not subscribe", func() bool { return s.Stats().Subscribers == 1 })
			waitFor(t, ctx, "no periodic tail line", func() bool { return periodicLine(errb.String(), "tail") != "" })
			checkFields(t, periodicLine(errb.String(), "tail"), "envelopes=0", "lag_p50=n/a", "last_error=none")

			code, emitOut, emitErr := runCmd(t, ctx, "emit", "log", "--count", "4", "--addr", s.Addrs().Ingress, "--cert-dir", dir,
				"--source-id", "stats-test", "--stats")
			if code != 0 {
				t.Fatalf("emit exit %d: %s %s", code, emitOut, emitErr)
			}
			checkFields(t, exitLine(t, emitErr, "emit"), "accepted=4", "sent=4", "dropped=0", "buffered=0", "last_error=none")
			if code := <-done; code != 0 {
				t.Fatalf("tail exit %d: %s", code, errb.String())
			}
			sum := exitLine(t, errb.String(), "tail")
			checkFields(t, sum, append([]string{"envelopes=4", "last_error=none"}, src.want...)...)
			if !strings.Contains(sum, " lag_p99=<=") {
				t.Errorf("summary %q lacks a lag bound", sum)
			}
			if n := strings.Count(out.String(), "\n"); n != 4 {
				t.Errorf("tail printed %d envelopes, want 4", n)
			}
		})
	}
}

// TestDevStats runs dev with --stats, emits three logs to it and checks
// the periodic line and the exit summary.
func TestDevStats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	var out, errb syncWriter
	devCtx, stopDev := context.WithCancel(ctx)
	defer stopDev()
	done := make(chan int, 1)
	go func() {
		done <- runContext(devCtx, []string{"dev", "--quiet", "--cert-dir", dir, "--ingress-addr", ":0", "--v1-addr", "", "--egress-addr", ":0", "--gateway-addr", "",
			"--stats", "--stats-interval", "10ms"}, &out, &errb)
	}()
	addr := regexp.MustCompile(`export INGRESS_ADDR=(\S+)`)
	waitFor(t, ctx, "no banner", func() bool { return strings.Contains(out.String(), "Ctrl-C") })
	m := addr.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no INGRESS_ADDR in the banner:\n%s", out.String())
	}
	if code, o, e := runCmd(t, ctx, "emit", "log", "--count", "3", "--addr", m[1], "--cert-dir", dir); code != 0 {
		t.Fatalf("emit exit %d: %s %s", code, o, e)
	}
	waitFor(t, ctx, "no periodic line with the three envelopes", func() bool {
		return strings.Contains(errb.String(), "dev stats (") && strings.Contains(errb.String(), " received_v2=3 ")
	})
	stopDev()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d", code)
	}
	checkFields(t, exitLine(t, errb.String(), "dev"), "received_v2=3", "received_v1=0", "subscribers=0", "dropped_slow_subscriber=0")
}

// TestEmitStatsPeriodic runs a long, rate-limited emit with --stats until
// a periodic line appears, then interrupts it: the summary follows and
// counts what was accepted.
func TestEmitStatsPeriodic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	s, err := devserver.New(devserver.Config{IngressAddr: ":0", CertDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	emitCtx, stop := context.WithCancel(ctx)
	defer stop()
	var out, errb syncWriter
	done := make(chan int, 1)
	go func() {
		done <- runContext(emitCtx, []string{"emit", "counter", "--count", "1000000", "--rate", "200", "--addr", s.Addrs().Ingress, "--cert-dir", dir,
			"--stats", "--stats-interval", "10ms"}, &out, &errb)
	}()
	waitFor(t, ctx, "no periodic emit line after envelopes were sent", func() bool {
		return s.Stats().V2Received > 0 && periodicLine(errb.String(), "emit") != ""
	})
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	sum := exitLine(t, errb.String(), "emit")
	if regexp.MustCompile(` accepted=0 `).MatchString(sum) || !strings.Contains(sum, " sent=") {
		t.Errorf("summary %q: want envelopes accepted and a sent count", sum)
	}
}
