package sloghandler_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cloudfoundry/dropsonde"
	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/sloghandler"
	v1 "code.cloudfoundry.org/go-loggregator/v1"
)

// envelopeRecorder is a dropsonde emitter that keeps the envelopes the v1
// client emits instead of writing UDP datagrams; installed directly as
// dropsonde.DefaultEmitter, it starts none of the goroutines that
// dropsonde.Initialize starts.
type envelopeRecorder struct{ envs []*events.Envelope }

func (r *envelopeRecorder) Emit(events.Event) error { return nil }
func (r *envelopeRecorder) Origin() string          { return "slog-test" }
func (r *envelopeRecorder) EmitEnvelope(e *events.Envelope) error {
	r.envs = append(r.envs, e)
	return nil
}

// TestHandlerWithV1Client checks the handler through the v1 client: type,
// source info and tags arrive in the v1 LogMessage envelope; the v1
// client keeps its own time stamp.
func TestHandlerWithV1Client(t *testing.T) {
	rec := &envelopeRecorder{}
	saved := dropsonde.DefaultEmitter
	dropsonde.DefaultEmitter = rec
	defer func() { dropsonde.DefaultEmitter = saved }()

	client, _ := v1.NewClient()
	h := sloghandler.New(client, sloghandler.WithSourceInfo("app", "APP/PROC/WEB", "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now().UnixNano()
	for _, lv := range []slog.Level{slog.LevelInfo, slog.LevelError} {
		r := slog.NewRecord(past, lv, "m", 0)
		r.AddAttrs(slog.Group("G", slog.Int("n", 1)))
		if err := h.WithAttrs([]slog.Attr{slog.String("k", "v")}).Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := client.Stats(); got.Sent != 2 || got.Dropped != 0 {
		t.Fatalf("v1 client stats %+v, want 2 sent", got)
	}
	for i, typ := range []events.LogMessage_MessageType{events.LogMessage_OUT, events.LogMessage_ERR} {
		e := rec.envs[i]
		if e.GetTimestamp() < before {
			t.Errorf("envelope %d timestamp %d is before the emit; the v1 client keeps its own time", i, e.GetTimestamp())
		}
		e.Timestamp, e.LogMessage.Timestamp = nil, nil
		want := &events.Envelope{
			Origin:    proto.String("slog-test"),
			EventType: events.Envelope_LogMessage.Enum(),
			Tags:      map[string]string{"k": "v", "G.n": "1"},
			LogMessage: &events.LogMessage{
				Message:        []byte("m"),
				MessageType:    typ.Enum(),
				AppId:          proto.String("app"),
				SourceType:     proto.String("APP/PROC/WEB"),
				SourceInstance: proto.String("1"),
			},
		}
		if !proto.Equal(e, want) {
			t.Errorf("envelope %d:\n got: %s\nwant: %s", i, prototext.Format(e), prototext.Format(want))
		}
	}
}
