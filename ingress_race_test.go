//go:build race

package loggregator_test

const raceEnabled = true
