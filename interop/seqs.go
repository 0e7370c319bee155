package main

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

// seqRecorder records when logs with payload "<prefix><number>" arrive, for
// any number of registered prefixes (one per emitter or step).
type seqRecorder struct {
	mu      sync.Mutex
	series  map[string]*series
	probes  int
	lastAny time.Time
	total   int
}

type series struct {
	arrived []time.Time // by sequence number; zero: not (yet) arrived
	unique  int
	dup     int
	first   time.Time
	last    time.Time
}

func newSeqRecorder() *seqRecorder { return &seqRecorder{series: map[string]*series{}} }

// register prepares prefix for sequence numbers 0..n-1 (more are ignored).
func (r *seqRecorder) register(prefix string, n int) {
	r.mu.Lock()
	r.series[prefix] = &series{arrived: make([]time.Time, n)}
	r.mu.Unlock()
}

func (r *seqRecorder) add(at time.Time, batch []*loggregator_v2.Envelope) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range batch {
		p := string(e.GetLog().GetPayload())
		if p == probeText {
			r.probes++
			continue
		}
		i := strings.LastIndexByte(p, '-')
		if i < 0 {
			continue
		}
		s, ok := r.series[p[:i+1]]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(p[i+1:])
		if err != nil || n < 0 || n >= len(s.arrived) {
			continue
		}
		r.total++
		r.lastAny = at
		if s.first.IsZero() {
			s.first = at
		}
		s.last = at
		if s.arrived[n].IsZero() {
			s.arrived[n] = at
			s.unique++
		} else {
			s.dup++
		}
	}
}

func (r *seqRecorder) probeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.probes
}

// count returns how many envelopes of any series arrived (with duplicates).
func (r *seqRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

func (r *seqRecorder) unique(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.series[prefix]; ok {
		return s.unique
	}
	return 0
}

// snapshot returns a copy of one series.
func (r *seqRecorder) snapshot(prefix string) series {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.series[prefix]
	if !ok {
		return series{}
	}
	c := *s
	c.arrived = append([]time.Time(nil), s.arrived...)
	return c
}

// firstArrivalAfter returns the earliest arrival at or after t, of any
// sequence number of the series, or the zero time.
func (s series) firstArrivalAfter(t time.Time) time.Time {
	var first time.Time
	for _, a := range s.arrived {
		if !a.IsZero() && !a.Before(t) && (first.IsZero() || a.Before(first)) {
			first = a
		}
	}
	return first
}
