package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// pidFile records the process id of every server the suite starts, one a
// line, so that scripts/interop.sh can stop them even if this program dies.
type pidFile struct {
	mu   sync.Mutex
	path string
}

func (p *pidFile) record(pid int) error {
	if p == nil || p.path == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "%d\n", pid)
	return err
}

// server is one real Loggregator process, started from a binary with an
// environment; its output goes to a log file that survives restarts.
type server struct {
	name    string
	bin     string
	env     []string
	logPath string
	ready   string // TCP address that accepts connections once it is up
	pids    *pidFile

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("%s already running", s.name)
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, s.env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group, so a Ctrl-C reaches this program first and it stops
	// the servers in order; killed with this program if it dies (Linux).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	logf.Close()
	if err := s.pids.record(cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	return nil
}

// waitReady waits until the server's address accepts TCP connections.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) error {
	if s.ready == "" {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		select {
		case <-done:
			return fmt.Errorf("%s exited during start-up (see %s)", s.name, s.logPath)
		default:
		}
		c, err := net.DialTimeout("tcp", s.ready, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %v (see %s)", s.name, s.ready, timeout, s.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM, waits up to 3 s, then SIGKILL; a stopped server is a
// no-op.
func (s *server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(3 * time.Second):
	}
	_ = cmd.Process.Kill()
	<-done
}

// running reports whether the process is alive.
func (s *server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// logSize returns the current size of the log file: an offset for
// droppedSince.
func (s *server) logSize() int64 {
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

var (
	agentDropLine         = regexp.MustCompile(`Dropped (\d+) v2 envelopes`)
	routerIngressDropLine = regexp.MustCompile(`Dropped (\d+) envelopes \(v2 buffer\)\s*$`)
	routerEgressDropLine  = regexp.MustCompile(`Dropped (\d+) envelopes \(v2 buffer\) ShardID: (\S+)`)
)

// droppedSince sums the agent's "Dropped N v2 envelopes" lines written after
// offset, and returns how many such lines there were.
func (s *server) droppedSince(offset int64) (total uint64, lines int) {
	return s.sumLines(offset, agentDropLine, nil)
}

// sumLines adds up the number in the first group of every line written
// after offset that matches re (and keep, if not nil).
func (s *server) sumLines(offset int64, re *regexp.Regexp, keep func(m [][]byte) bool) (total uint64, lines int) {
	f, err := os.Open(s.logPath)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := re.FindSubmatch(sc.Bytes())
		if m == nil || (keep != nil && !keep(m)) {
			continue
		}
		n, _ := strconv.ParseUint(string(m[1]), 10, 64)
		total += n
		lines++
	}
	return total, lines
}

// serverDrops is what the servers logged as dropped after some offsets.
type serverDrops struct {
	agent, routerIngress, routerEgress uint64
}

type logOffsets struct{ agent, router int64 }

func (c *cluster) logOffsets() logOffsets {
	return logOffsets{agent: c.agent.logSize(), router: c.router.logSize()}
}

// dropsSince returns the drops the agent and router logged after o; router
// egress drops only for the given shard ids.
func (c *cluster) dropsSince(o logOffsets, shards ...string) serverDrops {
	var d serverDrops
	d.agent, _ = c.agent.sumLines(o.agent, agentDropLine, nil)
	d.routerIngress, _ = c.router.sumLines(o.router, routerIngressDropLine, nil)
	d.routerEgress, _ = c.router.sumLines(o.router, routerEgressDropLine, func(m [][]byte) bool {
		for _, s := range shards {
			if string(m[2]) == s {
				return true
			}
		}
		return false
	})
	return d
}

func (d serverDrops) String() string {
	return fmt.Sprintf("servers logged drops: agent %d, router ingress %d, router egress to our subscribers %d",
		d.agent, d.routerIngress, d.routerEgress)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// cluster is the four servers, wired together on loopback.
type cluster struct {
	router, agent, rlp, gateway *server

	agentAddr   string // v2 gRPC ingress
	agentUDP    string // v1 dropsonde ingress
	rlpAddr     string
	gatewayAddr string // https://127.0.0.1:port
}

type clusterPorts struct {
	router, agent, agentUDP, rlp, gateway int
}

func allocatePorts() (clusterPorts, error) {
	var p clusterPorts
	var err error
	for _, dst := range []*int{&p.router, &p.agent, &p.rlp, &p.gateway} {
		if *dst, err = freePort(); err != nil {
			return p, err
		}
	}
	p.agentUDP, err = freeUDPPort()
	return p, err
}

func newCluster(binDir, workDir string, k *pki, pids *pidFile, uaaURL, ccURL string) (*cluster, error) {
	p, err := allocatePorts()
	if err != nil {
		return nil, err
	}
	loop := func(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
	caFile := k.ca.caFile
	metrics := func(kp keyPair) []string {
		return []string{"METRICS_PORT=0", "METRICS_CA_FILE_PATH=" + caFile,
			"METRICS_CERT_FILE_PATH=" + kp.Cert, "METRICS_KEY_FILE_PATH=" + kp.Key}
	}
	c := &cluster{
		agentAddr:   loop(p.agent),
		agentUDP:    loop(p.agentUDP),
		rlpAddr:     loop(p.rlp),
		gatewayAddr: "https://" + loop(p.gateway),
	}
	c.router = &server{name: "router", bin: filepath.Join(binDir, "router"), pids: pids,
		logPath: filepath.Join(workDir, "router.log"), ready: loop(p.router),
		env: []string{
			"ROUTER_PORT=" + strconv.Itoa(p.router),
			"ROUTER_CERT_FILE=" + k.router.Cert, "ROUTER_KEY_FILE=" + k.router.Key, "ROUTER_CA_FILE=" + caFile,
			"AGENT_GRPC_ADDRESS=" + c.agentAddr, "ROUTER_PPROF_PORT=0",
			"INGRESS_BUFFER_SIZE=10000", "EGRESS_BUFFER_SIZE=1000",
		}}
	c.agent = &server{name: "agent", bin: filepath.Join(binDir, "agent"), pids: pids,
		logPath: filepath.Join(workDir, "agent.log"), ready: c.agentAddr,
		env: append([]string{
			"AGENT_PORT=" + strconv.Itoa(p.agent), "AGENT_INCOMING_UDP_PORT=" + strconv.Itoa(p.agentUDP),
			"AGENT_CA_FILE=" + caFile, "AGENT_CERT_FILE=" + k.agent.Cert, "AGENT_KEY_FILE=" + k.agent.Key,
			"ROUTER_ADDR=" + loop(p.router),
			"AGENT_DEPLOYMENT=" + agentDeployment, "AGENT_JOB=" + agentJob, "AGENT_INDEX=" + agentIndex, "AGENT_IP=" + agentIP,
		}, metrics(k.agent)...)}
	c.rlp = &server{name: "rlp", bin: filepath.Join(binDir, "rlp"), pids: pids,
		logPath: filepath.Join(workDir, "rlp.log"), ready: c.rlpAddr,
		env: []string{
			"RLP_PORT=" + strconv.Itoa(p.rlp),
			"RLP_CERT_FILE=" + k.rlp.Cert, "RLP_KEY_FILE=" + k.rlp.Key, "RLP_CA_FILE=" + caFile,
			"ROUTER_ADDRS=" + loop(p.router), "AGENT_ADDR=" + c.agentAddr, "RLP_PPROF_PORT=0",
		}}
	c.gateway = &server{name: "rlp-gateway", bin: filepath.Join(binDir, "rlp-gateway"), pids: pids,
		logPath: filepath.Join(workDir, "rlp-gateway.log"), ready: loop(p.gateway),
		env: append([]string{
			"GATEWAY_ADDR=" + loop(p.gateway),
			"HTTP_CERT_PATH=" + k.gateway.Cert, "HTTP_KEY_PATH=" + k.gateway.Key,
			"LOGS_PROVIDER_ADDR=" + c.rlpAddr, "LOGS_PROVIDER_CA_PATH=" + caFile,
			"LOGS_PROVIDER_CLIENT_CERT_PATH=" + k.gateway.Cert, "LOGS_PROVIDER_CLIENT_KEY_PATH=" + k.gateway.Key,
			"LOG_ACCESS_ADDR=" + ccURL, "LOG_ACCESS_ADDR_EXTERNAL=" + ccURL,
			"LOG_ACCESS_CERT_PATH=" + k.gateway.Cert, "LOG_ACCESS_KEY_PATH=" + k.gateway.Key,
			"LOG_ACCESS_CA_PATH=" + caFile, "LOG_ACCESS_COMMON_NAME=" + ccCommonName,
			"LOG_ADMIN_ADDR=" + uaaURL, "LOG_ADMIN_CLIENT_ID=interop", "LOG_ADMIN_CLIENT_SECRET=interop-secret",
			"LOG_ADMIN_CA_PATH=" + caFile, "PPROF_PORT=0",
		}, metrics(k.gateway)...)}
	return c, nil
}

// Tags the agent writes into v1 envelopes (AGENT_* configuration).
const (
	agentDeployment = "interop"
	agentJob        = "agent"
	agentIndex      = "0"
	agentIP         = "127.0.0.1"
)

func (c *cluster) servers() []*server { return []*server{c.router, c.agent, c.rlp, c.gateway} }

// start starts every server in dependency order and waits for each to listen.
func (c *cluster) start(ctx context.Context) error {
	for _, s := range c.servers() {
		if err := s.start(); err != nil {
			return err
		}
		if err := s.waitReady(ctx, 20*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// stop stops every server, the last started first.
func (c *cluster) stop() {
	srv := c.servers()
	for i := len(srv) - 1; i >= 0; i-- {
		srv[i].stop()
	}
}

// restart stops s, waits down, starts it again and returns the moment the
// new process was started.
func restart(ctx context.Context, s *server, down time.Duration) (stopped, started time.Time, err error) {
	s.stop()
	stopped = time.Now()
	select {
	case <-ctx.Done():
		return stopped, time.Time{}, ctx.Err()
	case <-time.After(down):
	}
	started = time.Now()
	if err := s.start(); err != nil {
		return stopped, started, err
	}
	return stopped, started, nil
}
