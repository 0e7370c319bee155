package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHelpPrintsUsageOnce checks every subcommand (and every emit kind)
// with each spelling of the help flag: exit 0, the usage exactly once on
// stdout, nothing on stderr.
func TestHelpPrintsUsageOnce(t *testing.T) {
	commands := [][]string{
		{"dev"}, {"tail"}, {"emit"}, {"demo"},
		{"emit", "log"}, {"emit", "counter"}, {"emit", "gauge"}, {"emit", "timer"}, {"emit", "event"},
	}
	for _, cmd := range commands {
		for _, flag := range []string{"-h", "-help", "--help"} {
			args := append(append([]string(nil), cmd...), flag)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				code, out, errOut := runCmd(t, ctx, args...)
				if code != 0 {
					t.Errorf("exit %d, want 0", code)
				}
				if n := strings.Count(out, "Usage: loggregator "+cmd[0]); n != 1 {
					t.Errorf("usage printed %d times, want once:\n%s", n, out)
				}
				if n := strings.Count(out, "Flags:"); n != 1 {
					t.Errorf("flag list printed %d times, want once", n)
				}
				if errOut != "" {
					t.Errorf("stderr %q, want empty", errOut)
				}
			})
		}
	}
}

// TestBadFlagPrintsNoUsage checks that a bad flag gives the one-line
// reason on stderr and leaves stdout empty (the flag package would print
// the whole usage as well).
func TestBadFlagPrintsNoUsage(t *testing.T) {
	for _, args := range [][]string{{"dev", "--bogus"}, {"tail", "--count", "x"}, {"emit", "log", "--nope"}, {"demo", "-x"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			code, out, errOut := runCmd(t, ctx, args...)
			if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing and one line", code, out, errOut)
			}
		})
	}
}
