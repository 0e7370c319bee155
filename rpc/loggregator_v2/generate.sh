#!/usr/bin/env bash
# Regenerates the committed Go code from the .proto files in this folder.
# Run through `go generate ./rpc/...`. Versions are pinned so the output is
# byte-for-byte identical to the committed files:
#   protoc              3.21.12  (Debian bookworm: apt-get install protobuf-compiler)
#   protoc-gen-go       v1.36.12 (google.golang.org/protobuf, same as go.mod)
#   protoc-gen-go-grpc  v1.6.2   (google.golang.org/grpc/cmd/protoc-gen-go-grpc)
set -euo pipefail

want_protoc="libprotoc 3.21.12"
protoc_gen_go="google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12"
protoc_gen_go_grpc="google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2"

cd "$(dirname "$0")"
if ! command -v protoc >/dev/null; then
  echo "generate.sh: protoc not found; install $want_protoc (Debian: apt-get install protobuf-compiler)" >&2
  exit 1
fi
have_protoc=$(protoc --version)
if [ "$have_protoc" != "$want_protoc" ]; then
  echo "generate.sh: need $want_protoc, have $have_protoc; output would differ from the committed files" >&2
  exit 1
fi

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
GOBIN="$bin" go install "$protoc_gen_go"
GOBIN="$bin" go install "$protoc_gen_go_grpc"

protoc \
  --plugin=protoc-gen-go="$bin/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
  --proto_path=. \
  --go_out=. --go_opt=paths=source_relative \
  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
  envelope.proto ingress.proto egress.proto
