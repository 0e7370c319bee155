package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// documentedFamilies returns the metric families listed in
// promcollector/doc.go, by client kind: the part of the name after
// "loggregator_" up to the kind's trailing underscore ("ingress",
// "egress", "rlp_gateway", "v1").
func documentedFamilies(t *testing.T) map[string][]string {
	t.Helper()
	src, err := os.ReadFile("../../promcollector/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^//\s+(loggregator_[a-z0-9_]+)`).FindAllStringSubmatch(string(src), -1) {
		name := m[1]
		for _, kind := range []string{"ingress", "egress", "rlp_gateway", "v1"} {
			if strings.HasPrefix(name, "loggregator_"+kind+"_") {
				byKind[kind] = append(byKind[kind], name)
			}
		}
	}
	return byKind
}

// TestScrapeShowsEveryDocumentedMetric runs the example and checks that
// its scrape of /metrics declares every metric family promcollector
// documents for the kinds of client it registers, and that the counts
// are those of the run.
func TestScrapeShowsEveryDocumentedMetric(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	sc, err := run(ctx, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	doc := documentedFamilies(t)
	got := map[string]bool{}
	for _, f := range sc.families {
		got[f] = true
	}
	for _, kind := range []string{"ingress", "egress", "rlp_gateway"} {
		if len(doc[kind]) < 5 {
			t.Fatalf("doc.go lists %d %s families; the list was not parsed", len(doc[kind]), kind)
		}
		for _, name := range doc[kind] {
			if !got[name] {
				t.Errorf("%s (documented) is missing from the scrape", name)
			}
			if !strings.Contains(out.String(), "  "+name+"\n") {
				t.Errorf("%s is not printed", name)
			}
		}
	}
	for _, f := range sc.families {
		if strings.HasPrefix(f, "loggregator_v1_") {
			t.Errorf("%s scraped, but no v1 client was registered", f)
		}
	}
	want := []string{
		fmt.Sprintf(`loggregator_egress_envelopes_received_total{client="firehose",example="metrics"} %d`, numEnvelopes),
		fmt.Sprintf(`loggregator_rlp_gateway_envelopes_received_total{client="gateway",example="metrics"} %d`, numEnvelopes),
		fmt.Sprintf(`loggregator_egress_lag_seconds_count{client="firehose",example="metrics"} %d`, numEnvelopes),
		`loggregator_rlp_gateway_requests_total{client="gateway",example="metrics"} 1`,
		fmt.Sprintf(`loggregator_ingress_envelopes_accepted_total{client="emitter",example="metrics"} %d`, numEnvelopes),
		fmt.Sprintf(`loggregator_ingress_envelopes_sent_total{client="emitter",example="metrics"} %d`, numEnvelopes),
		`loggregator_ingress_envelopes_dropped_total{cause="buffer_full",client="emitter",example="metrics"} 0`,
	}
	for _, w := range want {
		if !strings.Contains(sc.body, "\n"+w+"\n") {
			t.Errorf("scrape lacks %q", w)
		}
	}
}
