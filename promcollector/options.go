package promcollector

import (
	"fmt"
	"regexp"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// Option configures a Collector created by New.
type Option func(*config)

type config struct {
	constLabels prometheus.Labels
}

// WithConstLabels adds labels with fixed values to every metric the
// Collector exposes, for example the application or the foundation. The
// default is none. Label names must match [a-zA-Z_][a-zA-Z0-9_]*, must not
// start with "__", and must not be one of the labels the Collector sets
// itself ("client", "cause", "reason", and "le"); values must be valid
// UTF-8. New returns an error otherwise. Given more than once, the label
// sets are merged and later values win.
func WithConstLabels(labels prometheus.Labels) Option {
	return func(c *config) {
		if c.constLabels == nil {
			c.constLabels = prometheus.Labels{}
		}
		for k, v := range labels {
			c.constLabels[k] = v
		}
	}
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// reservedLabels are the variable labels of the Collector's metrics, and
// the histogram bucket label.
var reservedLabels = map[string]bool{
	clientLabel: true,
	causeLabel:  true,
	reasonLabel: true,
	"le":        true,
}

func (c *config) validate() error {
	for k, v := range c.constLabels {
		switch {
		case !labelNameRE.MatchString(k) || len(k) >= 2 && k[:2] == "__":
			return fmt.Errorf("promcollector: invalid constant label name %q", k)
		case reservedLabels[k]:
			return fmt.Errorf("promcollector: constant label %q clashes with a label the collector sets", k)
		case !utf8.ValidString(v):
			return fmt.Errorf("promcollector: constant label %q: value is not valid UTF-8", k)
		}
	}
	return nil
}
