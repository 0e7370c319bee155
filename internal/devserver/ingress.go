package devserver

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"

	"github.com/cloudfoundry/sonde-go/events"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/conversion"
	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// ingress implements loggregator_v2.IngressServer by publishing to the
// router.
type ingress struct {
	loggregator_v2.UnimplementedIngressServer
	router   *router.Router
	received *atomic.Uint64
}

func (in *ingress) Sender(stream loggregator_v2.Ingress_SenderServer) error {
	for {
		e, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return stream.SendAndClose(&loggregator_v2.IngressResponse{})
			}
			return err
		}
		in.received.Add(1)
		in.router.Publish(e)
	}
}

func (in *ingress) BatchSender(stream loggregator_v2.Ingress_BatchSenderServer) error {
	for {
		b, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return stream.SendAndClose(&loggregator_v2.BatchSenderResponse{})
			}
			return err
		}
		in.received.Add(uint64(len(b.GetBatch())))
		in.router.Publish(b.GetBatch()...)
	}
}

func (in *ingress) Send(_ context.Context, b *loggregator_v2.EnvelopeBatch) (*loggregator_v2.SendResponse, error) {
	in.received.Add(uint64(len(b.GetBatch())))
	in.router.Publish(b.GetBatch()...)
	return &loggregator_v2.SendResponse{}, nil
}

// serveUDP reads dropsonde datagrams until conn is closed.
func (s *Server) serveUDP(conn net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logf("v1 UDP ingress: %v", err)
			continue
		}
		e, ok := decodeV1(buf[:n])
		if !ok {
			s.v1Invalid.Add(1)
			continue
		}
		s.v1Received.Add(1)
		s.router.Publish(e)
	}
}

// decodeV1 does what the Loggregator agent does with a datagram: unmarshal
// it as an events.Envelope, drop it when its payload does not match its
// event type, fill the source_id tag from the origin when missing and
// convert it with preferred tags.
func decodeV1(b []byte) (*loggregator_v2.Envelope, bool) {
	var v1 events.Envelope
	if err := proto.Unmarshal(b, &v1); err != nil {
		return nil, false
	}
	if !hasPayload(&v1) {
		return nil, false
	}
	if v1.GetTags()["source_id"] == "" {
		tags := make(map[string]string, len(v1.GetTags())+1)
		for k, v := range v1.GetTags() {
			tags[k] = v
		}
		tags["source_id"] = v1.GetOrigin()
		v1.Tags = tags
	}
	return conversion.ToV2(&v1, true), true
}

func hasPayload(e *events.Envelope) bool {
	switch e.GetEventType() {
	case events.Envelope_HttpStartStop:
		return e.GetHttpStartStop() != nil
	case events.Envelope_LogMessage:
		return e.GetLogMessage() != nil
	case events.Envelope_ValueMetric:
		return e.GetValueMetric() != nil
	case events.Envelope_CounterEvent:
		return e.GetCounterEvent() != nil
	case events.Envelope_Error:
		return e.GetError() != nil
	case events.Envelope_ContainerMetric:
		return e.GetContainerMetric() != nil
	}
	return false
}
