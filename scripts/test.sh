#!/usr/bin/env bash
# The whole test suite: formatting, vet, staticcheck, race-enabled tests,
# short fuzzing of every parser, every example and the demo run end to end,
# and (where the pinned protoc is installed) a check that `go generate`
# recreates the committed protobuf code. Needs only Go; tools are fetched
# through the Go module proxy at pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME=${FUZZTIME:-5s}
step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

step "staticcheck ($STATICCHECK)"
go run "$STATICCHECK" ./...

step "go build (library, command and examples)"
go build ./...

step "go test -race"
# Packages are built in parallel, then their tests run one package at a
# time: several tests measure latency or throughput against in-process
# servers and must not share the two cores with another package's load
# test.
go build -race ./...
go test -race -p 1 -timeout 10m ./...

step "fuzz each parser for $FUZZTIME"
# Every Fuzz* function in the tree, run one at a time (go test -fuzz takes
# one target per package).
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
    echo "-- $dir $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$dir" >/dev/null
  done
done

step "examples and demo run to completion"
for ex in examples/*/; do
  echo "-- $ex"
  timeout 120 go run "./$ex" >/dev/null
done
if [ -d cmd/loggregator ]; then
  echo "-- cmd/loggregator demo"
  timeout 120 go run ./cmd/loggregator demo >/dev/null
fi

step "generated protobuf code is reproducible"
if command -v protoc >/dev/null && [ "$(protoc --version)" = "libprotoc 3.21.12" ]; then
  go generate ./rpc/...
  git diff --exit-code -- rpc/loggregator_v2 || { echo "go generate changed the committed files"; exit 1; }
  echo "regenerated files are identical"
else
  echo "skipped: protoc 3.21.12 not installed (Debian: apt-get install protobuf-compiler)"
fi

echo
echo "all checks passed"
