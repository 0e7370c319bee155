// Command withcollector imports promcollector; the link test builds it to
// show that go version -m does list client_golang when the collector is
// used, so that its absence from other programs means something.
package main

import (
	"fmt"
	"os"

	"code.cloudfoundry.org/go-loggregator/promcollector"
)

func main() {
	if _, err := promcollector.New(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
