//go:build !race

package devserver_test

const raceEnabled = false
