package promcollector_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClientGolangLinkedOnlyThroughCollector builds programs with the go
// command and reads their module list with go version -m: the quickstart
// example, which does not import promcollector, must not link
// client_golang; a program that imports promcollector must (this shows
// the check can fail).
func TestClientGolangLinkedOnlyThroughCollector(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	const dep = "github.com/prometheus/client_golang"
	tests := []struct {
		name       string
		pkg        string // relative to the module root
		wantLinked bool
	}{
		{"quickstart example", "./examples/quickstart", false},
		{"program importing promcollector", "./promcollector/testdata/withcollector", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			bin := filepath.Join(t.TempDir(), "prog")
			build := exec.CommandContext(ctx, goBin, "build", "-o", bin, tt.pkg)
			build.Dir = ".."
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build %s: %v\n%s", tt.pkg, err, out)
			}
			out, err := exec.CommandContext(ctx, goBin, "version", "-m", bin).CombinedOutput()
			if err != nil {
				t.Fatalf("go version -m: %v\n%s", err, out)
			}
			mods := string(out)
			// The module list must be there at all, or absence proves
			// nothing.
			if !strings.Contains(mods, "\tdep\tgoogle.golang.org/grpc\t") {
				t.Fatalf("go version -m lists no grpc dependency; output:\n%s", mods)
			}
			if linked := strings.Contains(mods, "\tdep\t"+dep+"\t"); linked != tt.wantLinked {
				t.Fatalf("%s linked = %v, want %v; go version -m:\n%s", dep, linked, tt.wantLinked, mods)
			}
		})
	}
}
