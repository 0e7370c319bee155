package loggregator

import (
	"reflect"
	"time"
	"unsafe"

	gendiodes "code.cloudfoundry.org/go-diodes"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// DefaultDiodePollingInterval is the interval at which
// OneToOneEnvelopeBatch.Next polls an empty diode unless
// gendiodes.WithPollingInterval says otherwise (it is go-diodes' default).
const DefaultDiodePollingInterval = 10 * time.Millisecond

// OneToOneEnvelopeBatch diode is optimized for a single writer and a single
// reader.
//
// It is a ring buffer of envelope batches: Set never blocks and overwrites
// the oldest unread batch when the ring is full. One goroutine may call Set
// while another calls TryNext or Next; anything beyond that is not safe.
type OneToOneEnvelopeBatch struct {
	d *gendiodes.Poller
}

// NewOneToOneEnvelopeBatch initializes a new one to one diode for envelope
// batches of a given size and alerter. The alerter is called whenever data
// is dropped with an integer representing the number of envelope batches
// that were dropped.
//
// A size below 1 is raised to 1 (the original panicked on the first Set).
// A nil alerter (or nil gendiodes.AlertFunc) ignores drops. The alerter
// runs on the reader's goroutine, inside TryNext or Next. A non-positive
// polling interval is replaced by DefaultDiodePollingInterval instead of
// spinning.
func NewOneToOneEnvelopeBatch(size int, alerter gendiodes.Alerter, opts ...gendiodes.PollerConfigOption) *OneToOneEnvelopeBatch {
	if size < 1 {
		size = 1
	}
	if f, ok := alerter.(gendiodes.AlertFunc); alerter == nil || (ok && f == nil) {
		alerter = gendiodes.AlertFunc(func(int) {})
	}
	return newOneToOneEnvelopeBatch(gendiodes.NewOneToOne(size, alerter), opts)
}

// newOneToOneEnvelopeBatch wraps d in a poller configured by opts, with
// the spin guard: a non-positive polling interval (which would make Next
// poll in a hot loop, since go-diodes sleeps for it between polls) is
// replaced by DefaultDiodePollingInterval. Tests pass their own diode.
func newOneToOneEnvelopeBatch(d gendiodes.Diode, opts []gendiodes.PollerConfigOption) *OneToOneEnvelopeBatch {
	p := gendiodes.NewPoller(d, opts...)
	if pollingInterval(p) <= 0 {
		opts = append(opts[:len(opts):len(opts)], gendiodes.WithPollingInterval(DefaultDiodePollingInterval))
		p = gendiodes.NewPoller(d, opts...)
	}
	return &OneToOneEnvelopeBatch{d: p}
}

// pollingInterval reads the poller's configured interval; go-diodes keeps
// it unexported, so reflection is the only way to guard against a spin. It
// reports the default when the field cannot be found (the guard is then
// off); TestDiodePollingIntervalFieldPinned fails if a go-diodes upgrade
// renames or retypes the field.
func pollingInterval(p *gendiodes.Poller) time.Duration {
	f := reflect.ValueOf(p).Elem().FieldByName("interval")
	if !f.IsValid() || f.Kind() != reflect.Int64 {
		return DefaultDiodePollingInterval
	}
	return time.Duration(f.Int())
}

// Set inserts the given V2 envelope into the diode.
//
// It stores the whole batch in one slot and never blocks.
func (d *OneToOneEnvelopeBatch) Set(data []*loggregator_v2.Envelope) {
	d.d.Set(gendiodes.GenericDataType(unsafe.Pointer(&data)))
}

// TryNext returns the next envelope batch to be read from the diode. If the
// diode is empty it will return a nil envelope and false for the bool.
func (d *OneToOneEnvelopeBatch) TryNext() ([]*loggregator_v2.Envelope, bool) {
	data, ok := d.d.TryNext()
	if !ok || data == nil {
		return nil, false
	}
	return *(*[]*loggregator_v2.Envelope)(data), true
}

// Next will return the next envelope batch to be read from the diode. If
// the diode is empty this method will block until an envelope is available
// to be read.
//
// When the polling context (gendiodes.WithPollingContext) is done and the
// diode is empty, Next returns nil (the original panicked).
func (d *OneToOneEnvelopeBatch) Next() []*loggregator_v2.Envelope {
	data := d.d.Next()
	if data == nil {
		return nil
	}
	return *(*[]*loggregator_v2.Envelope)(data)
}
