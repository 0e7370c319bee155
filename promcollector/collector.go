package promcollector

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	loggregator "code.cloudfoundry.org/go-loggregator"
)

// IngressSource is what the Collector reads from a v2 ingress client;
// *loggregator.IngressClient is meant to implement it.
type IngressSource interface {
	Stats() loggregator.IngressClientStats
}

// EnvelopeStreamSource is what the Collector reads from an egress
// client; *loggregator.EnvelopeStreamConnector is meant to implement it.
type EnvelopeStreamSource interface {
	Stats() loggregator.EnvelopeStreamStats
}

// RLPGatewaySource is what the Collector reads from an RLP gateway
// client; *loggregator.RLPGatewayClient is meant to implement it.
type RLPGatewaySource interface {
	Stats() loggregator.RLPGatewayStats
}

// V1StatsFunc returns the number of envelopes a v1 client has sent and
// dropped so far. A function rather than an interface keeps this package
// from importing the v1 package (and dropsonde with it).
type V1StatsFunc func() (sent, dropped uint64)

// ErrDuplicateClient is returned when a client is added under a name that
// is already in use.
var ErrDuplicateClient = errors.New("promcollector: a client with this name was already added")

// Collector is a prometheus.Collector for go-loggregator clients. Create
// it with New. It is safe for concurrent use.
type Collector struct {
	d descs

	mu      sync.Mutex               // serialises changes to sources
	sources atomic.Pointer[[]source] // immutable, sorted by name
}

// source is one added client; exactly one of its fields is set.
type source struct {
	name    string
	ingress IngressSource
	stream  EnvelopeStreamSource
	gateway RLPGatewaySource
	v1      V1StatsFunc
}

// New returns a Collector with no clients. It returns an error if an
// option is invalid (see WithConstLabels).
func New(opts ...Option) (*Collector, error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Collector{d: newDescs(cfg.constLabels)}
	c.sources.Store(&[]source{})
	return c, nil
}

// AddIngressClient adds a v2 ingress client under name, the value of its
// "client" label.
func (c *Collector) AddIngressClient(name string, s IngressSource) error {
	if s == nil {
		return fmt.Errorf("promcollector: AddIngressClient %q: nil source", name)
	}
	return c.add(source{name: name, ingress: s})
}

// AddEnvelopeStreamConnector adds an egress client under name, the value
// of its "client" label.
func (c *Collector) AddEnvelopeStreamConnector(name string, s EnvelopeStreamSource) error {
	if s == nil {
		return fmt.Errorf("promcollector: AddEnvelopeStreamConnector %q: nil source", name)
	}
	return c.add(source{name: name, stream: s})
}

// AddRLPGatewayClient adds an RLP gateway client under name, the value of
// its "client" label.
func (c *Collector) AddRLPGatewayClient(name string, s RLPGatewaySource) error {
	if s == nil {
		return fmt.Errorf("promcollector: AddRLPGatewayClient %q: nil source", name)
	}
	return c.add(source{name: name, gateway: s})
}

// AddV1Client adds a v1 client, read through f, under name, the value of
// its "client" label.
func (c *Collector) AddV1Client(name string, f V1StatsFunc) error {
	if f == nil {
		return fmt.Errorf("promcollector: AddV1Client %q: nil function", name)
	}
	return c.add(source{name: name, v1: f})
}

// Remove removes the client added under name and reports whether there
// was one. Its metrics disappear from the next scrape.
func (c *Collector) Remove(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.sources.Load()
	i, found := slices.BinarySearchFunc(old, name, compareName)
	if !found {
		return false
	}
	next := slices.Delete(slices.Clone(old), i, i+1)
	c.sources.Store(&next)
	return true
}

func compareName(s source, name string) int { return strings.Compare(s.name, name) }

func (c *Collector) add(s source) error {
	if s.name == "" {
		return errors.New("promcollector: empty client name")
	}
	if !utf8.ValidString(s.name) {
		return fmt.Errorf("promcollector: client name %q is not valid UTF-8", s.name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.sources.Load()
	i, found := slices.BinarySearchFunc(old, s.name, compareName)
	if found {
		return fmt.Errorf("%w: %q", ErrDuplicateClient, s.name)
	}
	next := slices.Insert(slices.Clone(old), i, s)
	c.sources.Store(&next)
	return nil
}

// Describe sends the descriptors of every metric the Collector can expose,
// whichever clients have been added. It implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.d.all() {
		ch <- d
	}
}

// Collect reads the Stats of every client added and sends their metrics.
// It implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range *c.sources.Load() {
		switch {
		case s.ingress != nil:
			c.d.collectIngress(ch, s.name, s.ingress.Stats())
		case s.stream != nil:
			c.d.collectStream(ch, s.name, s.stream.Stats())
		case s.gateway != nil:
			c.d.collectGateway(ch, s.name, s.gateway.Stats())
		case s.v1 != nil:
			sent, dropped := s.v1()
			c.d.collectV1(ch, s.name, sent, dropped)
		}
	}
}
