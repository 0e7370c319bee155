package router_test

import (
	"bytes"
	"log"
	"strings"
	"sync"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger(b *syncBuffer) *log.Logger { return log.New(b, "", 0) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
