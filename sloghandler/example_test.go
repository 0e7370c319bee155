package sloghandler_test

import (
	"fmt"
	"log"
	"log/slog"
	"sort"

	loggregator "code.cloudfoundry.org/go-loggregator"
	"code.cloudfoundry.org/go-loggregator/sloghandler"
	"code.cloudfoundry.org/go-loggregator/testhelpers"
)

// A slog.Logger whose records go to Loggregator through an IngressClient.
// The in-process agent from testhelpers stands in for the real one and
// prints what it received.
func Example() {
	certs, cleanup, err := testhelpers.NewTempCerts()
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	srv, err := testhelpers.NewIngressServer(certs)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	tlsConfig, err := loggregator.NewIngressTLSConfig(certs.CAFile, certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		log.Fatal(err)
	}
	client, err := loggregator.NewIngressClient(tlsConfig, loggregator.WithAddr(srv.Addr()))
	if err != nil {
		log.Fatal(err)
	}

	logger := slog.New(sloghandler.New(client,
		sloghandler.WithSourceInfo("my-app", "APP/PROC/WEB", "0"),
		sloghandler.WithLevelTag("level"),
	))
	logger.Info("request served", "status", 200, slog.Group("http", "method", "GET", "path", "/"))
	logger.With("disk", "/var").Error("disk full", "free_bytes", 0)

	// CloseSend delivers what is buffered before it returns.
	if err := client.CloseSend(); err != nil {
		log.Fatal(err)
	}
	for _, e := range srv.Envelopes() {
		fmt.Printf("%s/%s %s %q\n", e.GetSourceId(), e.GetInstanceId(), e.GetLog().GetType(), e.GetLog().GetPayload())
		keys := make([]string, 0, len(e.GetTags()))
		for k := range e.GetTags() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Printf("  %s=%s\n", k, e.GetTags()[k])
		}
	}
	// Output:
	// my-app/0 OUT "request served"
	//   http.method=GET
	//   http.path=/
	//   level=INFO
	//   source_type=APP/PROC/WEB
	//   status=200
	// my-app/0 ERR "disk full"
	//   disk=/var
	//   free_bytes=0
	//   level=ERROR
	//   source_type=APP/PROC/WEB
}
