package router_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"code.cloudfoundry.org/go-loggregator/internal/router"
	"code.cloudfoundry.org/go-loggregator/rpc/loggregator_v2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func logEnv(src string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{SourceId: src, Message: &loggregator_v2.Envelope_Log{Log: &loggregator_v2.Log{Payload: []byte("hi")}}}
}

func counterEnv(src, name string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{SourceId: src, Message: &loggregator_v2.Envelope_Counter{Counter: &loggregator_v2.Counter{Name: name}}}
}

func gaugeEnv(src string, names ...string) *loggregator_v2.Envelope {
	m := map[string]*loggregator_v2.GaugeValue{}
	for _, n := range names {
		m[n] = &loggregator_v2.GaugeValue{Value: 1}
	}
	return &loggregator_v2.Envelope{SourceId: src, Message: &loggregator_v2.Envelope_Gauge{Gauge: &loggregator_v2.Gauge{Metrics: m}}}
}

func timerEnv(src string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{SourceId: src, Message: &loggregator_v2.Envelope_Timer{Timer: &loggregator_v2.Timer{Name: "t"}}}
}

func eventEnv(src string) *loggregator_v2.Envelope {
	return &loggregator_v2.Envelope{SourceId: src, Message: &loggregator_v2.Envelope_Event{Event: &loggregator_v2.Event{Title: "e"}}}
}

func sel(src string, k string, names ...string) *loggregator_v2.Selector {
	s := &loggregator_v2.Selector{SourceId: src}
	switch k {
	case "log":
		s.Message = &loggregator_v2.Selector_Log{Log: &loggregator_v2.LogSelector{}}
	case "counter":
		c := &loggregator_v2.CounterSelector{}
		if len(names) > 0 {
			c.Name = names[0]
		}
		s.Message = &loggregator_v2.Selector_Counter{Counter: c}
	case "gauge":
		s.Message = &loggregator_v2.Selector_Gauge{Gauge: &loggregator_v2.GaugeSelector{Names: names}}
	case "timer":
		s.Message = &loggregator_v2.Selector_Timer{Timer: &loggregator_v2.TimerSelector{}}
	case "event":
		s.Message = &loggregator_v2.Selector_Event{Event: &loggregator_v2.EventSelector{}}
	}
	return s
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// drain returns whatever the subscription holds right now.
func drain(t *testing.T, s *router.Subscription) []*loggregator_v2.Envelope {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var out []*loggregator_v2.Envelope
	for {
		got, err := s.Next(c, nil, 0)
		if err != nil {
			return out
		}
		out = append(out, got...)
	}
}

func TestSelectorMatching(t *testing.T) {
	all := []*loggregator_v2.Envelope{
		logEnv("a"), logEnv("b"), counterEnv("a", "c1"), counterEnv("a", "c2"),
		gaugeEnv("a", "x"), gaugeEnv("a", "x", "y"), gaugeEnv("a", "y"),
		timerEnv("a"), eventEnv("b"),
	}
	tests := []struct {
		name string
		sels []*loggregator_v2.Selector
		want []int // indexes into all
	}{
		{"no selectors selects nothing", nil, nil},
		{"selector without kind selects nothing", []*loggregator_v2.Selector{{SourceId: "a"}}, nil},
		{"logs of any source", []*loggregator_v2.Selector{sel("", "log")}, []int{0, 1}},
		{"logs of a", []*loggregator_v2.Selector{sel("a", "log")}, []int{0}},
		{"all counters", []*loggregator_v2.Selector{sel("", "counter")}, []int{2, 3}},
		{"counter by name", []*loggregator_v2.Selector{sel("", "counter", "c2")}, []int{3}},
		{"all gauges", []*loggregator_v2.Selector{sel("a", "gauge")}, []int{4, 5, 6}},
		{"gauge exact single name", []*loggregator_v2.Selector{sel("a", "gauge", "x")}, []int{4}},
		{"gauge exact set, order and duplicates ignored", []*loggregator_v2.Selector{sel("", "gauge", "y", "x", "y")}, []int{5}},
		{"timer", []*loggregator_v2.Selector{sel("", "timer")}, []int{7}},
		{"event of b", []*loggregator_v2.Selector{sel("b", "event")}, []int{8}},
		{"event of a", []*loggregator_v2.Selector{sel("a", "event")}, nil},
		{"union, no duplicates", []*loggregator_v2.Selector{sel("", "log"), sel("a", "log"), sel("b", "event")}, []int{0, 1, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := router.New(nil)
			defer r.Close()
			s, err := r.Subscribe(&loggregator_v2.EgressBatchRequest{Selectors: tt.sels}, 100)
			if err != nil {
				t.Fatal(err)
			}
			r.Publish(all...)
			got := drain(t, s)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d envelopes, want %d", len(got), len(tt.want))
			}
			for i, w := range tt.want {
				if got[i] != all[w] {
					t.Errorf("envelope %d: got %v, want %v", i, got[i], all[w])
				}
			}
		})
	}
}

func TestLegacySelector(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	s, err := r.Subscribe(&loggregator_v2.EgressBatchRequest{LegacySelector: sel("a", "log")}, 10)
	if err != nil {
		t.Fatal(err)
	}
	r.Publish(logEnv("a"), logEnv("b"))
	if got := drain(t, s); len(got) != 1 || got[0].GetSourceId() != "a" {
		t.Fatalf("got %v", got)
	}
}

func TestShardGroups(t *testing.T) {
	tests := []struct {
		name   string
		shards []string
		// groups lists, per distinct group, the subscriber indexes in it.
		groups [][]int
	}{
		{"one shard id split by two", []string{"s", "s"}, [][]int{{0, 1}}},
		{"one shard id split by three", []string{"s", "s", "s"}, [][]int{{0, 1, 2}}},
		{"different shard ids each get all", []string{"s", "t"}, [][]int{{0}, {1}}},
		{"empty shard ids each get all", []string{"", ""}, [][]int{{0}, {1}}},
		{"mixed", []string{"s", "s", "t", ""}, [][]int{{0, 1}, {2}, {3}}},
	}
	const n = 999
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := router.New(nil)
			defer r.Close()
			var subs []*router.Subscription
			for _, sh := range tt.shards {
				s, err := r.Subscribe(&loggregator_v2.EgressBatchRequest{ShardId: sh, Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 2*n)
				if err != nil {
					t.Fatal(err)
				}
				subs = append(subs, s)
			}
			envs := make([]*loggregator_v2.Envelope, n)
			for i := range envs {
				envs[i] = logEnv("a")
			}
			for _, e := range envs {
				r.Publish(e)
			}
			got := make([][]*loggregator_v2.Envelope, len(subs))
			for i, s := range subs {
				got[i] = drain(t, s)
			}
			for _, g := range tt.groups {
				seen := map[*loggregator_v2.Envelope]int{}
				for _, i := range g {
					if len(g) > 1 && len(got[i]) < n/len(g)-1 {
						t.Errorf("subscriber %d got %d of %d: not an even split", i, len(got[i]), n)
					}
					for _, e := range got[i] {
						seen[e]++
					}
				}
				if len(seen) != n {
					t.Errorf("group %v received %d distinct envelopes, want %d", g, len(seen), n)
				}
				for _, c := range seen {
					if c != 1 {
						t.Fatalf("group %v received an envelope %d times", g, c)
					}
				}
			}
		})
	}
}

func TestShardGroupRespectsMemberSelectors(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	logs, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{ShardId: "s", Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 100)
	counters, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{ShardId: "s", Selectors: []*loggregator_v2.Selector{sel("", "counter")}}, 100)
	for i := 0; i < 10; i++ {
		r.Publish(logEnv("a"), counterEnv("a", "c"))
	}
	if got := drain(t, logs); len(got) != 10 {
		t.Errorf("log member got %d, want 10", len(got))
	}
	if got := drain(t, counters); len(got) != 10 {
		t.Errorf("counter member got %d, want 10", len(got))
	}
}

func TestDeterministicName(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	req := &loggregator_v2.EgressBatchRequest{ShardId: "s", DeterministicName: "d", Selectors: []*loggregator_v2.Selector{sel("", "counter")}}
	a, _ := r.Subscribe(req, 1000)
	b, _ := r.Subscribe(req, 1000)
	for i := 0; i < 50; i++ {
		r.Publish(counterEnv("x", "one"), counterEnv("x", "two"), counterEnv("x", "three"))
	}
	byName := map[string]map[*router.Subscription]bool{}
	for _, s := range []*router.Subscription{a, b} {
		for _, e := range drain(t, s) {
			n := e.GetCounter().GetName()
			if byName[n] == nil {
				byName[n] = map[*router.Subscription]bool{}
			}
			byName[n][s] = true
		}
	}
	for n, subs := range byName {
		if len(subs) != 1 {
			t.Errorf("counter %q went to %d subscribers, want 1", n, len(subs))
		}
	}
}

func TestBoundedBufferDropsAndCounts(t *testing.T) {
	var logs syncBuffer
	r := router.New(newLogger(&logs))
	defer r.Close()
	slow, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 10)
	fast, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 1000)
	for i := 0; i < 25; i++ {
		r.Publish(logEnv("a"))
	}
	if slow.Dropped() != 15 || slow.Accepted() != 10 {
		t.Errorf("slow: dropped %d accepted %d, want 15 and 10", slow.Dropped(), slow.Accepted())
	}
	if fast.Dropped() != 0 || len(drain(t, fast)) != 25 {
		t.Errorf("fast subscriber affected: dropped %d", fast.Dropped())
	}
	if got := len(drain(t, slow)); got != 10 {
		t.Errorf("slow buffered %d, want 10", got)
	}
	if !contains(logs.String(), "too slow") {
		t.Errorf("drop not logged: %q", logs.String())
	}
}

func TestNextMaxAndReuse(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	s, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 100)
	envs := make([]*loggregator_v2.Envelope, 7)
	for i := range envs {
		envs[i] = logEnv("a")
	}
	r.Publish(envs...)
	var got []*loggregator_v2.Envelope
	var buf []*loggregator_v2.Envelope
	for len(got) < 7 {
		var err error
		buf, err = s.Next(ctx(t), buf, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(buf) > 3 {
			t.Fatalf("Next returned %d > max 3", len(buf))
		}
		got = append(got, buf...)
	}
	for i := range envs {
		if got[i] != envs[i] {
			t.Fatalf("order not kept at %d", i)
		}
	}
}

func TestNextStopsOnContextAndClose(t *testing.T) {
	r := router.New(nil)
	s, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 100)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.Next(c, nil, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want deadline exceeded", err)
	}
	done := make(chan error, 1)
	waiting := &doneWatch{Context: ctx(t), asked: make(chan struct{})}
	go func() {
		_, err := s.Next(waiting, nil, 0)
		done <- err
	}()
	// Next asks for Done only once it found nothing buffered and is about
	// to block: Close must wake it.
	select {
	case <-waiting.asked:
	case <-ctx(t).Done():
		t.Fatal("Next never waited")
	}
	r.Close()
	if err := <-done; !errors.Is(err, router.ErrClosed) {
		t.Errorf("got %v, want ErrClosed", err)
	}
	if _, err := r.Subscribe(&loggregator_v2.EgressBatchRequest{}, 1); !errors.Is(err, router.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if r.Subscriptions() != 0 {
		t.Errorf("%d subscriptions left", r.Subscriptions())
	}
	r.Publish(logEnv("a")) // must not panic or block
}

// doneWatch is a context that closes asked the first time its Done
// method is called.
type doneWatch struct {
	context.Context
	once  sync.Once
	asked chan struct{}
}

func (c *doneWatch) Done() <-chan struct{} {
	c.once.Do(func() { close(c.asked) })
	return c.Context.Done()
}

func TestRouterConcurrentSafe(t *testing.T) {
	r := router.New(nil)
	defer r.Close()
	c := ctx(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					r.Publish(logEnv("a"), counterEnv("a", "c"))
					runtime.Gosched()
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		s, err := r.Subscribe(&loggregator_v2.EgressBatchRequest{ShardId: "s", Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Next(c, nil, 0); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s.Close()
	}
	close(stop)
	wg.Wait()
}

func TestConvertTags(t *testing.T) {
	text := func(s string) *loggregator_v2.Value {
		return &loggregator_v2.Value{Data: &loggregator_v2.Value_Text{Text: s}}
	}
	tests := []struct {
		name      string
		in        *loggregator_v2.Envelope
		preferred bool
		want      *loggregator_v2.Envelope
	}{
		{
			name:      "preferred moves deprecated into tags, deprecated wins",
			in:        &loggregator_v2.Envelope{SourceId: "a", Tags: map[string]string{"k": "t", "x": "1"}, DeprecatedTags: map[string]*loggregator_v2.Value{"k": text("d"), "i": {Data: &loggregator_v2.Value_Integer{Integer: 7}}, "f": {Data: &loggregator_v2.Value_Decimal{Decimal: 1.5}}}},
			preferred: true,
			want:      &loggregator_v2.Envelope{SourceId: "a", Tags: map[string]string{"k": "d", "x": "1", "i": "7", "f": "1.5"}},
		},
		{
			name:      "not preferred moves tags into deprecated as text",
			in:        &loggregator_v2.Envelope{SourceId: "a", Tags: map[string]string{"k": "t"}, DeprecatedTags: map[string]*loggregator_v2.Value{"old": {Data: &loggregator_v2.Value_Integer{Integer: 7}}}},
			preferred: false,
			want:      &loggregator_v2.Envelope{SourceId: "a", DeprecatedTags: map[string]*loggregator_v2.Value{"k": text("t"), "old": {Data: &loggregator_v2.Value_Integer{Integer: 7}}}},
		},
		{
			name:      "nothing to do",
			in:        &loggregator_v2.Envelope{SourceId: "a", Tags: map[string]string{"k": "t"}},
			preferred: true,
			want:      &loggregator_v2.Envelope{SourceId: "a", Tags: map[string]string{"k": "t"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proto.Clone(tt.in)
			got := router.ConvertTags(tt.in, tt.preferred)
			if !proto.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !proto.Equal(before, tt.in) {
				t.Errorf("input modified")
			}
		})
	}
}

func BenchmarkPublishOneSubscriber(b *testing.B) {
	r := router.New(nil)
	defer r.Close()
	s, _ := r.Subscribe(&loggregator_v2.EgressBatchRequest{Selectors: []*loggregator_v2.Selector{sel("", "log")}}, 1<<20)
	batch := make([]*loggregator_v2.Envelope, 100)
	for i := range batch {
		batch[i] = logEnv("a")
	}
	c, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf []*loggregator_v2.Envelope
		for {
			var err error
			if buf, err = s.Next(c, buf, 1000); err != nil {
				return
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Publish(batch...)
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "envelopes/s")
}
