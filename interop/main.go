// Command interop runs the go-loggregator clients against the real
// Loggregator servers (agent, router, reverse log proxy, RLP gateway) built
// from their public sources, and prints one line per scenario.
//
// It is started by scripts/interop.sh, which builds the servers. Settings
// come from the environment:
//
//	INTEROP_BIN_DIR    directory holding the binaries agent, router, rlp, rlp-gateway (required)
//	INTEROP_WORK_DIR   directory for certificates and server logs (required)
//	INTEROP_PIDFILE    file to which every started server's pid is appended
//	INTEROP_SCENARIOS  comma-separated scenario numbers (default 1,2,3,4,5,6)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is what a scenario prints: PASS or FAIL and its figures.
type result struct {
	pass    bool
	figures string
}

type scenario struct {
	n    int
	name string
	run  func(ctx context.Context, e *env) result
}

var scenarios = []scenario{
	{1, "v2 ingress to RLP and gateway", scenarioIngress},
	{2, "v1 UDP ingress converted", scenarioV1},
	{3, "agent restart", scenarioAgentRestart},
	{4, "RLP and gateway restart", scenarioEgressRestart},
	{5, "misconfiguration", scenarioMisconfig},
	{6, "throughput steps", scenarioThroughput},
}

func main() {
	os.Exit(run())
}

func run() int {
	binDir, workDir := os.Getenv("INTEROP_BIN_DIR"), os.Getenv("INTEROP_WORK_DIR")
	if binDir == "" || workDir == "" {
		fmt.Fprintln(os.Stderr, "interop: INTEROP_BIN_DIR and INTEROP_WORK_DIR must be set (use scripts/interop.sh)")
		return 2
	}
	want, err := parseScenarios(os.Getenv("INTEROP_SCENARIOS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	k, err := newPKI(workDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	st, err := startStubs(k)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop: stubs:", err)
		return 1
	}
	defer st.close()

	c, err := newCluster(binDir, workDir, k, &pidFile{path: os.Getenv("INTEROP_PIDFILE")}, st.uaaURL, st.ccURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer c.stop()
	// A scenario stuck after an interrupt must not keep the servers alive.
	go func() {
		<-ctx.Done()
		time.Sleep(15 * time.Second)
		fmt.Fprintln(os.Stderr, "interop: still running 15 s after the interrupt; stopping the servers and exiting")
		c.stop()
		os.Exit(130)
	}()
	started := time.Now()
	if err := c.start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "interop: starting servers:", err)
		return 1
	}
	fmt.Printf("servers up in %s (logs in %s); load average %s\n", secs(time.Since(started)), workDir, loadAverage())

	e := &env{c: c, k: k, stubs: st}
	failed := 0
	for _, s := range scenarios {
		if !want[s.n] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		if err := e.ensureRunning(ctx); err != nil {
			fmt.Printf("scenario %d FAIL (%s): servers not running: %v\n", s.n, s.name, err)
			failed++
			continue
		}
		t0 := time.Now()
		r := s.run(ctx, e)
		if ctx.Err() != nil {
			fmt.Printf("scenario %d INTERRUPTED (%s)\n", s.n, s.name)
			break
		}
		status := "PASS"
		if !r.pass {
			status = "FAIL"
			failed++
		}
		fmt.Printf("scenario %d %s (%s, %s): %s\n", s.n, status, s.name, secs(time.Since(t0)), r.figures)
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted: stopping servers")
		return 130
	}
	fmt.Printf("total %s, %d scenario(s) failed; load average %s\n", secs(time.Since(started)), failed, loadAverage())
	if failed > 0 {
		return 1
	}
	return 0
}

// ensureRunning restarts any server a previous scenario left stopped.
func (e *env) ensureRunning(ctx context.Context) error {
	for _, s := range e.c.servers() {
		if s.running() {
			continue
		}
		s.stop()
		if err := s.start(); err != nil {
			return err
		}
		if err := s.waitReady(ctx, 20*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func parseScenarios(s string) (map[int]bool, error) {
	want := map[int]bool{}
	if strings.TrimSpace(s) == "" {
		for _, sc := range scenarios {
			want[sc.n] = true
		}
		return want, nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > len(scenarios) {
			valid := make([]string, 0, len(scenarios))
			for _, sc := range scenarios {
				valid = append(valid, strconv.Itoa(sc.n))
			}
			sort.Strings(valid)
			return nil, fmt.Errorf("INTEROP_SCENARIOS: %q is not one of %s", f, strings.Join(valid, ","))
		}
		want[n] = true
	}
	return want, nil
}

// loadAverage returns the first three fields of /proc/loadavg: figures from
// a busy machine are noisier.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
