// Package testhelpers provides real, in-process Loggregator servers and a
// throw-away certificate authority for tests: the same servers go-loggregator
// tests itself against, published so that programs using the library can
// test their emitters and nozzles without a Cloud Foundry deployment.
//
// Everything listens on 127.0.0.1 with an ephemeral port and speaks mutual
// TLS with certificates from GenerateCerts. Every server has a Stop (or
// Close) method that ends all of its goroutines; tests should defer it.
package testhelpers
