package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/internal/devserver"
)

type gaugeValue struct {
	name, unit string
	value      float64
}

type emitOptions struct {
	kind                 string
	addr, certDir        string
	ca, cert, key        string
	tags                 listFlag
	sourceID, instanceID string
	sourceType           string
	message              string
	stdout               bool
	name                 string
	delta, total         uint64
	deltaSet             bool
	values               listFlag
	gauges               []gaugeValue
	duration             time.Duration
	title, body          string
	count                int
	rate                 float64
	progressEvery        time.Duration
}

const emitSynopsis = `loggregator emit <log|counter|gauge|timer|event> [flags]

Sends envelopes through the library's IngressClient to v2 ingress (by
default the dev server's, with the dev certificates). {n} in --message,
--name, --title or --body is replaced by the envelope's sequence number.`

func runEmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o emitOptions
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.kind, args = args[0], args[1:]
	}
	name := "loggregator emit"
	if o.kind != "" {
		name += " " + o.kind
	}
	fs := newFlagSet(name, emitSynopsis, stdout)
	fs.StringVar(&o.addr, "addr", devserver.DefaultIngressAddr, "v2 ingress `address`")
	fs.StringVar(&o.certDir, "cert-dir", defaultCertDir(), "`directory` with the dev certificates (default for --ca/--cert/--key)")
	fs.StringVar(&o.ca, "ca", "", "CA certificate `file` (default <cert-dir>/ca.crt)")
	fs.StringVar(&o.cert, "cert", "", "client certificate `file` (default <cert-dir>/client.crt)")
	fs.StringVar(&o.key, "key", "", "client key `file` (default <cert-dir>/client.key)")
	fs.Var(&o.tags, "tag", "tag `key=value` (repeatable)")
	fs.StringVar(&o.sourceID, "source-id", "loggregator-emit", "source `id` of the envelopes")
	fs.StringVar(&o.instanceID, "instance-id", "0", "instance `id` of the envelopes")
	fs.StringVar(&o.sourceType, "source-type", "EMIT", "log: source_type `tag`")
	fs.StringVar(&o.message, "message", "hello from loggregator emit", "log: the `text`")
	fs.BoolVar(&o.stdout, "stdout", false, "log: mark as stdout (default stderr, like EmitLog)")
	fs.StringVar(&o.name, "name", "", "counter/timer: the `name` (default \"requests\" / \"request\")")
	fs.Uint64Var(&o.delta, "delta", 1, "counter: the `delta` (with --total alone: 0)")
	fs.Uint64Var(&o.total, "total", 0, "counter: the `total` (0: unset)")
	fs.Var(&o.values, "value", "gauge: metric `name=value[:unit]` (repeatable; default cpu=1.5:percentage)")
	fs.DurationVar(&o.duration, "duration", 100*time.Millisecond, "timer: `duration` between start and stop (stop is now)")
	fs.StringVar(&o.title, "title", "loggregator emit", "event: the `title`")
	fs.StringVar(&o.body, "body", "an event from loggregator emit", "event: the `body`")
	fs.IntVar(&o.count, "count", 1, "number of envelopes to send")
	fs.Float64Var(&o.rate, "rate", 0, "envelopes per `second` (0: as fast as possible)")
	fs.DurationVar(&o.progressEvery, "progress", time.Second, "`interval` of the progress line on stderr for long runs (0: none)")
	sf := addStatsFlags(fs, "the IngressClient's")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if err := sf.validate(); err != nil {
		return usageError(stderr, fs.Name(), err.Error())
	}
	fs.Visit(func(f *flag.Flag) { o.deltaSet = o.deltaSet || f.Name == "delta" })
	if o.kind == "" && fs.NArg() > 0 {
		o.kind = fs.Arg(0)
	}
	switch o.kind {
	case "log", "counter", "gauge", "timer", "event":
	case "":
		return usageError(stderr, fs.Name(), "missing kind: log, counter, gauge, timer or event")
	default:
		return usageError(stderr, fs.Name(), fmt.Sprintf("unknown kind %q: want log, counter, gauge, timer or event", o.kind))
	}
	if err := o.validate(); err != nil {
		return usageError(stderr, fs.Name(), err.Error())
	}
	o.ca, o.cert, o.key = certPaths(o.certDir, o.ca, o.cert, o.key)
	tlsConf, err := loggregator.NewIngressTLSConfig(o.ca, o.cert, o.key)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v (run `loggregator dev` first, or pass --ca, --cert and --key)\n", fs.Name(), err)
		return 1
	}
	client, err := loggregator.NewIngressClient(tlsConf, loggregator.WithAddr(o.addr), loggregator.WithContext(ctx))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return 1
	}
	rep := startStats(sf, stderr, "emit", func(now time.Time) []statsField { return ingressStatsFields(client.Stats(), now) })
	return emitLoop(ctx, client, o, rep, stdout, stderr)
}

func (o *emitOptions) validate() error {
	if o.count < 1 {
		return fmt.Errorf("--count %d: must be at least 1", o.count)
	}
	if o.rate < 0 {
		return fmt.Errorf("--rate %g: must be 0 (unlimited) or more", o.rate)
	}
	for _, t := range o.tags {
		if k, _, ok := strings.Cut(t, "="); !ok || k == "" {
			return fmt.Errorf("--tag %q: want key=value", t)
		}
	}
	if o.name == "" {
		o.name = map[string]string{"counter": "requests", "timer": "request"}[o.kind]
	}
	if o.kind == "gauge" {
		if len(o.values) == 0 {
			o.values = listFlag{"cpu=1.5:percentage"}
		}
		for _, v := range o.values {
			name, rest, ok := strings.Cut(v, "=")
			num, unit, _ := strings.Cut(rest, ":")
			f, err := strconv.ParseFloat(num, 64)
			if !ok || name == "" || err != nil {
				return fmt.Errorf("--value %q: want name=number[:unit], e.g. cpu=1.5:percentage", v)
			}
			o.gauges = append(o.gauges, gaugeValue{name: name, value: f, unit: unit})
		}
	}
	return nil
}

func seq(s string, n int) string {
	if !strings.Contains(s, "{n}") {
		return s
	}
	return strings.ReplaceAll(s, "{n}", strconv.Itoa(n))
}

// emitOne sends envelope number n of the configured kind.
func emitOne(ctx context.Context, c *loggregator.IngressClient, o *emitOptions, n int) error {
	switch o.kind {
	case "log":
		opts := []loggregator.EmitLogOption{loggregator.WithSourceInfo(o.sourceID, o.sourceType, o.instanceID)}
		if o.stdout {
			opts = append(opts, loggregator.WithStdout())
		}
		for _, t := range o.tags {
			k, v, _ := strings.Cut(t, "=")
			opts = append(opts, loggregator.WithEnvelopeTag(k, v))
		}
		c.EmitLog(seq(o.message, n), opts...)
	case "counter":
		// WithTotal also zeroes the delta, so it goes first; with --total
		// alone the counter carries delta 0, as WithTotal alone gives.
		opts := []loggregator.EmitCounterOption{loggregator.WithCounterSourceInfo(o.sourceID, o.instanceID)}
		if o.total > 0 {
			opts = append(opts, loggregator.WithTotal(o.total))
		}
		if o.total == 0 || o.deltaSet {
			opts = append(opts, loggregator.WithDelta(o.delta))
		}
		for _, t := range o.tags {
			k, v, _ := strings.Cut(t, "=")
			opts = append(opts, loggregator.WithEnvelopeTag(k, v))
		}
		c.EmitCounter(seq(o.name, n), opts...)
	case "gauge":
		opts := []loggregator.EmitGaugeOption{loggregator.WithGaugeSourceInfo(o.sourceID, o.instanceID)}
		for _, g := range o.gauges {
			opts = append(opts, loggregator.WithGaugeValue(g.name, g.value, g.unit))
		}
		for _, t := range o.tags {
			k, v, _ := strings.Cut(t, "=")
			opts = append(opts, loggregator.WithEnvelopeTag(k, v))
		}
		c.EmitGauge(opts...)
	case "timer":
		opts := []loggregator.EmitTimerOption{loggregator.WithTimerSourceInfo(o.sourceID, o.instanceID)}
		for _, t := range o.tags {
			k, v, _ := strings.Cut(t, "=")
			opts = append(opts, loggregator.WithEnvelopeTag(k, v))
		}
		stop := time.Now()
		c.EmitTimer(seq(o.name, n), stop.Add(-o.duration), stop, opts...)
	case "event":
		opts := []loggregator.EmitEventOption{loggregator.WithEventSourceInfo(o.sourceID, o.instanceID)}
		for _, t := range o.tags {
			k, v, _ := strings.Cut(t, "=")
			opts = append(opts, loggregator.WithEnvelopeTag(k, v))
		}
		ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.EmitEvent(ectx, seq(o.title, n), seq(o.body, n), opts...)
	}
	return nil
}

// emitLoop sends the envelopes, closes the client and, with --stats,
// prints the statistics summary once the client is closed.
func emitLoop(ctx context.Context, c *loggregator.IngressClient, o emitOptions, rep *statsReporter, stdout, stderr io.Writer) int {
	start := time.Now()
	nextProgress := start.Add(o.progressEvery)
	failed := 0
	emitted := 0
	var wait *time.Timer
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	for emitted < o.count && ctx.Err() == nil {
		if o.rate > 0 {
			due := start.Add(time.Duration(float64(emitted) / o.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				if wait == nil {
					wait = time.NewTimer(d)
				} else {
					wait.Reset(d)
				}
				select {
				case <-ctx.Done():
					continue
				case <-wait.C:
				}
			}
		}
		if err := emitOne(ctx, c, &o, emitted+1); err != nil {
			failed++
			if failed == 1 {
				fmt.Fprintf(stderr, "emit: %v\n", err)
			}
		}
		emitted++
		if o.progressEvery > 0 && emitted&1023 == 0 && time.Now().After(nextProgress) {
			el := time.Since(start)
			fmt.Fprintf(stderr, "emit: %d of %d emitted, %d dropped, %.0f/s\n", emitted, o.count, c.Dropped(), float64(emitted)/el.Seconds())
			nextProgress = nextProgress.Add(o.progressEvery)
		}
	}
	closeErr := c.CloseSend()
	rep.finish()
	elapsed := time.Since(start)
	dropped := int(c.Dropped()) + failed
	sent := emitted - dropped
	fmt.Fprintf(stdout, "sent %d %s envelopes, dropped %d, elapsed %s, rate %.0f envelopes/s\n",
		sent, o.kind, dropped, elapsed.Round(time.Millisecond), float64(sent)/elapsed.Seconds())
	if closeErr != nil {
		fmt.Fprintf(stderr, "emit: %v\n", closeErr)
	}
	if ctx.Err() == nil && (dropped > 0 || closeErr != nil) && sent == 0 {
		return 1
	}
	return 0
}
