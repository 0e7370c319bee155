package loggregator_test

// This file checks the statements of the README section "Switching from the
// original": one test or example per statement.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	gendiodes "code.cloudfoundry.org/go-diodes"
	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/rfc5424"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// The generated types are the current protobuf API: an envelope that went
// over the wire is proto.Equal to the one sent, but not reflect.DeepEqual
// (nor gomega's Equal, which uses it), because messages carry internal
// state.
func Example_compareEnvelopesWithProtoEqual() {
	sent := &loggregator_v2.Envelope{
		SourceId: "app",
		Tags:     map[string]string{"source_type": "APP/PROC/WEB"},
		Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{
			Payload: []byte("hello"),
		}},
	}
	wire, err := proto.Marshal(sent)
	if err != nil {
		fmt.Println(err)
		return
	}
	received := &loggregator_v2.Envelope{}
	if err := proto.Unmarshal(wire, received); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("proto.Equal:", proto.Equal(sent, received))
	fmt.Println("reflect.DeepEqual:", reflect.DeepEqual(sent, received))
	// Output:
	// proto.Equal: true
	// reflect.DeepEqual: false
}

// TestSwitchingVetReportsEnvelopeCopy runs go vet on a program that copies
// an Envelope by value and checks that vet reports it: envelopes are passed
// by pointer. It builds a throw-away module that replaces this one with the
// working tree, offline (GOPROXY=off), from the module cache.
func TestSwitchingVetReportsEnvelopeCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet in a subprocess")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"go.mod": "module vetcheck\n\ngo 1.26\n\nrequire code.cloudfoundry.org/go-loggregator v0.0.0\n\n" +
			"replace code.cloudfoundry.org/go-loggregator => " + root + "\n",
		"go.sum": string(sum),
		"main.go": `package main

import "code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"

func main() {
	e := &loggregator_v2.Envelope{SourceId: "x"}
	copied := *e
	println(copied.GetSourceId())
}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "vet", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("go vet passed a copied Envelope:\n%s", out)
	}
	if !strings.Contains(string(out), "copies lock value") {
		t.Fatalf("go vet failed without reporting the copy:\n%s", out)
	}
}

// The TLS helpers' errors wrap the underlying error, so errors.Is and
// errors.As work; the text is that of v8 and later ("failed to load
// keypair: ..."), not the bare error v7.4.0 returned.
func Example_tlsErrorsWrap() {
	_, err := loggregator.NewIngressTLSConfig("/nonexistent/ca.pem", "/nonexistent/cert.pem", "/nonexistent/key.pem")
	fmt.Println("errors.Is(err, fs.ErrNotExist):", errors.Is(err, fs.ErrNotExist))
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		fmt.Println("errors.As *fs.PathError:", pathErr.Path)
		fmt.Println("original text:", pathErr)
	}
	fmt.Println("our text:", err)
	// Output:
	// errors.Is(err, fs.ErrNotExist): true
	// errors.As *fs.PathError: /nonexistent/cert.pem
	// original text: open /nonexistent/cert.pem: no such file or directory
	// our text: failed to load keypair: open /nonexistent/cert.pem: no such file or directory
}

// TestSwitchingTLSErrorsWrap checks both helpers and every file: each
// missing file gives an error that errors.Is reports as fs.ErrNotExist,
// whose text differs from the wrapped error's.
func TestSwitchingTLSErrorsWrap(t *testing.T) {
	certs := testhelpers.NewCerts(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	helpers := map[string]func(ca, cert, key string) (*tls.Config, error){
		"NewIngressTLSConfig": loggregator.NewIngressTLSConfig,
		"NewEgressTLSConfig":  loggregator.NewEgressTLSConfig,
	}
	files := []struct {
		name          string
		ca, cert, key string
	}{
		{"CA", missing, certs.ClientCertFile, certs.ClientKeyFile},
		{"cert", certs.CAFile, missing, certs.ClientKeyFile},
		{"key", certs.CAFile, certs.ClientCertFile, missing},
	}
	for hname, helper := range helpers {
		for _, f := range files {
			t.Run(hname+"/missing "+f.name, func(t *testing.T) {
				cfg, err := helper(f.ca, f.cert, f.key)
				if cfg != nil || !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("got %v, %v; want nil and an error wrapping fs.ErrNotExist", cfg, err)
				}
				var pathErr *fs.PathError
				if !errors.As(err, &pathErr) || pathErr.Path != missing {
					t.Fatalf("errors.As *fs.PathError: %v", err)
				}
				if err.Error() == pathErr.Error() || !strings.Contains(err.Error(), pathErr.Error()) {
					t.Errorf("text %q should extend the wrapped %q", err, pathErr)
				}
			})
		}
		t.Run(hname+"/all present", func(t *testing.T) {
			if _, err := helper(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// WithRLPGatewayClientLogger takes a *log.Logger, as in v7.4.0 (v10's
// GatewayLogger interface is satisfied by *log.Logger, so v10 callers that
// pass one compile unchanged); WithRLPGatewayErrChan accepts a chan error
// as v8+ callers pass it.
var _ func(*log.Logger) loggregator.RLPGatewayClientOption = loggregator.WithRLPGatewayClientLogger

func TestSwitchingGatewayOptionsCompile(t *testing.T) {
	errs := make(chan error, 1) // the type v8+ programs declare
	c := loggregator.NewRLPGatewayClient("http://127.0.0.1:1",
		loggregator.WithRLPGatewayClientLogger(log.New(io.Discard, "", log.LstdFlags)),
		loggregator.WithRLPGatewayMaxRetries(3),
		loggregator.WithRLPGatewayErrChan(errs),
	)
	if c == nil {
		t.Fatal("NewRLPGatewayClient returned nil")
	}
}

// The v9/v10 API (module code.cloudfoundry.org/go-loggregator/v10) that
// programs use exists here with the same signatures: the root package,
// conversion, rfc5424 and the generated rpc/loggregator_v2 (signatures from
// v10.3.1 as vendored by the loggregator agent release). The two gateway
// options whose parameter types differ are checked at their call sites in
// TestSwitchingGatewayOptionsCompile.
var (
	_ func(*loggregator.EnvelopeStreamConnector, context.Context, *loggregator_v2.EgressBatchRequest) loggregator.EnvelopeStream = (*loggregator.EnvelopeStreamConnector).Stream
	_ func(*loggregator.IngressClient) error                                                                                     = (*loggregator.IngressClient).CloseSend
	_ func(*loggregator.IngressClient, *loggregator_v2.Envelope)                                                                 = (*loggregator.IngressClient).Emit
	_ func(*loggregator.IngressClient, string, ...loggregator.EmitCounterOption)                                                 = (*loggregator.IngressClient).EmitCounter
	_ func(*loggregator.IngressClient, context.Context, string, string, ...loggregator.EmitEventOption) error                    = (*loggregator.IngressClient).EmitEvent
	_ func(*loggregator.IngressClient, ...loggregator.EmitGaugeOption)                                                           = (*loggregator.IngressClient).EmitGauge
	_ func(*loggregator.IngressClient, string, ...loggregator.EmitLogOption)                                                     = (*loggregator.IngressClient).EmitLog
	_ func(*loggregator.IngressClient, string, time.Time, time.Time, ...loggregator.EmitTimerOption)                             = (*loggregator.IngressClient).EmitTimer
	_ func(*loggregator.RLPGatewayClient, context.Context, *loggregator_v2.EgressBatchRequest) loggregator.EnvelopeStream        = (*loggregator.RLPGatewayClient).Stream
	_ func(*loggregator.OneToOneEnvelopeBatch) []*loggregator_v2.Envelope                                                        = (*loggregator.OneToOneEnvelopeBatch).Next
	_ func(*loggregator.OneToOneEnvelopeBatch, []*loggregator_v2.Envelope)                                                       = (*loggregator.OneToOneEnvelopeBatch).Set
	_ func(*loggregator.OneToOneEnvelopeBatch) ([]*loggregator_v2.Envelope, bool)                                                = (*loggregator.OneToOneEnvelopeBatch).TryNext

	_ func(string, string, string) (*tls.Config, error)                                                   = loggregator.NewEgressTLSConfig
	_ func(string, string, string) (*tls.Config, error)                                                   = loggregator.NewIngressTLSConfig
	_ func(string, *tls.Config, ...loggregator.EnvelopeStreamOption) *loggregator.EnvelopeStreamConnector = loggregator.NewEnvelopeStreamConnector
	_ func(*tls.Config, ...loggregator.IngressOption) (*loggregator.IngressClient, error)                 = loggregator.NewIngressClient
	_ func(int, gendiodes.Alerter, ...gendiodes.PollerConfigOption) *loggregator.OneToOneEnvelopeBatch    = loggregator.NewOneToOneEnvelopeBatch
	_ func(string, ...loggregator.RLPGatewayClientOption) *loggregator.RLPGatewayClient                   = loggregator.NewRLPGatewayClient
	_ func(string) loggregator.IngressOption                                                              = loggregator.WithAddr
	_ func(string, string, string) loggregator.EmitLogOption                                              = loggregator.WithAppInfo
	_ func(time.Duration) loggregator.IngressOption                                                       = loggregator.WithBatchFlushInterval
	_ func(uint) loggregator.IngressOption                                                                = loggregator.WithBatchMaxSize
	_ func(context.Context) loggregator.IngressOption                                                     = loggregator.WithContext
	_ func(string, int) loggregator.EmitCounterOption                                                     = loggregator.WithCounterAppInfo
	_ func(string, string) loggregator.EmitCounterOption                                                  = loggregator.WithCounterSourceInfo
	_ func(uint64) loggregator.EmitCounterOption                                                          = loggregator.WithDelta
	_ func(...grpc.DialOption) loggregator.IngressOption                                                  = loggregator.WithDialOptions
	_ func(int, func(int)) loggregator.EnvelopeStreamOption                                               = loggregator.WithEnvelopeStreamBuffer
	_ func(...grpc.DialOption) loggregator.EnvelopeStreamOption                                           = loggregator.WithEnvelopeStreamConnectorDialOptions
	_ func(loggregator.Logger) loggregator.EnvelopeStreamOption                                           = loggregator.WithEnvelopeStreamLogger
	_ func(string, string) func(proto.Message)                                                            = loggregator.WithEnvelopeTag
	_ func(map[string]string) func(proto.Message)                                                         = loggregator.WithEnvelopeTags
	_ func(string, string) loggregator.EmitEventOption                                                    = loggregator.WithEventSourceInfo
	_ func(string, int) loggregator.EmitGaugeOption                                                       = loggregator.WithGaugeAppInfo
	_ func(string, string) loggregator.EmitGaugeOption                                                    = loggregator.WithGaugeSourceInfo
	_ func(string, float64, string) loggregator.EmitGaugeOption                                           = loggregator.WithGaugeValue
	_ func(loggregator.Logger) loggregator.IngressOption                                                  = loggregator.WithLogger
	_ func(loggregator.Doer) loggregator.RLPGatewayClientOption                                           = loggregator.WithRLPGatewayHTTPClient
	_ func(int) loggregator.RLPGatewayClientOption                                                        = loggregator.WithRLPGatewayMaxRetries
	_ func(string, string, string) loggregator.EmitLogOption                                              = loggregator.WithSourceInfo
	_ func() loggregator.EmitLogOption                                                                    = loggregator.WithStdout
	_ func(string, string) loggregator.IngressOption                                                      = loggregator.WithTag
	_ func(string, string) loggregator.EmitTimerOption                                                    = loggregator.WithTimerSourceInfo
	_ func(uint64) loggregator.EmitCounterOption                                                          = loggregator.WithTotal
	_ func(*loggregator_v2.Envelope) []*events.Envelope                                                   = conversion.ToV1
	_ func(*events.Envelope, bool) *loggregator_v2.Envelope                                               = conversion.ToV2
	_ func(grpc.ClientConnInterface) loggregator_v2.IngressClient                                         = loggregator_v2.NewIngressClient
	_ func(grpc.ClientConnInterface) loggregator_v2.EgressClient                                          = loggregator_v2.NewEgressClient
	_ func(grpc.ServiceRegistrar, loggregator_v2.IngressServer)                                           = loggregator_v2.RegisterIngressServer
	_ func(grpc.ServiceRegistrar, loggregator_v2.EgressServer)                                            = loggregator_v2.RegisterEgressServer
	_ func(rfc5424.Message) ([]byte, error)                                                               = rfc5424.Message.MarshalBinary
	_ func(*rfc5424.Message, []byte) error                                                                = (*rfc5424.Message).UnmarshalBinary
	_ func(*rfc5424.Message, io.Reader) (int64, error)                                                    = (*rfc5424.Message).ReadFrom
	_ func(rfc5424.Message, io.Writer) (int64, error)                                                     = rfc5424.Message.WriteTo
	_ func(*rfc5424.Message, string, string, string)                                                      = (*rfc5424.Message).AddDatum

	// Option and value types keep their underlying types.
	_ = loggregator.EmitLogOption(func(proto.Message) {})
	_ = loggregator.EmitGaugeOption(func(proto.Message) {})
	_ = loggregator.EmitCounterOption(func(proto.Message) {})
	_ = loggregator.EmitTimerOption(func(proto.Message) {})
	_ = loggregator.EmitEventOption(func(proto.Message) {})
	_ = loggregator.IngressOption(func(*loggregator.IngressClient) {})
	_ = loggregator.EnvelopeStreamOption(func(*loggregator.EnvelopeStreamConnector) {})
	_ = loggregator.RLPGatewayClientOption(func(*loggregator.RLPGatewayClient) {})
	_ = loggregator.EnvelopeStream(func() []*loggregator_v2.Envelope { return nil })

	// Generated stream types that test doubles implement.
	_ loggregator_v2.IngressServer                = loggregator_v2.UnimplementedIngressServer{}
	_ loggregator_v2.EgressServer                 = loggregator_v2.UnimplementedEgressServer{}
	_ loggregator_v2.Ingress_BatchSenderServer    = (loggregator_v2.Ingress_BatchSenderServer)(nil)
	_ loggregator_v2.Ingress_SenderServer         = (loggregator_v2.Ingress_SenderServer)(nil)
	_ loggregator_v2.Egress_BatchedReceiverServer = (loggregator_v2.Egress_BatchedReceiverServer)(nil)
	_ loggregator_v2.Egress_ReceiverClient        = (loggregator_v2.Egress_ReceiverClient)(nil)
)

// TestSwitchingRFC5424AsTheAgentUsesIt builds a message the way the
// loggregator agent release's syslog egress does (struct literal, then
// MarshalBinary, then " \n" appended for metrics) and reads it back the way
// its test drains do.
func TestSwitchingRFC5424AsTheAgentUsesIt(t *testing.T) {
	m := rfc5424.Message{
		Priority:  rfc5424.Priority(14),
		Timestamp: time.Unix(0, 12345000).UTC(),
		Hostname:  "org.space.app",
		AppName:   "app-id",
		ProcessID: "[1]",
		Message:   []byte(""),
		StructuredData: []rfc5424.StructuredData{
			{ID: "gauge@47450", Parameters: []rfc5424.SDParam{{Name: "name", Value: "cpu"}, {Name: "value", Value: "0.5"}, {Name: "unit", Value: "percentage"}}},
			{ID: "tags@47450", Parameters: []rfc5424.SDParam{{Name: "source_type", Value: "APP/PROC/WEB"}}},
		},
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, " \n"...)
	want := `<14>1 1970-01-01T00:00:00.012345+00:00 org.space.app app-id [1] - [gauge@47450 name="cpu" value="0.5" unit="percentage"][tags@47450 source_type="APP/PROC/WEB"] ` + "\n"
	if string(b) != want {
		t.Fatalf("got  %q\nwant %q", b, want)
	}
	var back rfc5424.Message
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if back.AppName != "app-id" || back.ProcessID != "[1]" || string(back.Message) != "\n" || len(back.StructuredData) != 2 {
		t.Errorf("read back %+v", back)
	}
}
