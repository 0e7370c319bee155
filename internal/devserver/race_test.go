//go:build race

package devserver_test

const raceEnabled = true
