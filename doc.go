// Package loggregator provides clients to send data to the Loggregator v1
// and v2 API.
//
// The package overview is completed as the clients land.
package loggregator
