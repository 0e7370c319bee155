package loggregator

import (
	"io"
	"log"
)

// Logger declares the minimal logging interface used within the v2 client.
//
// The library only ever calls Printf. Panicf is part of the interface for
// compatibility with existing loggers; unlike the original client, this
// library never calls it, so bad configuration never crashes the process.
type Logger interface {
	Printf(string, ...interface{})
	Panicf(string, ...interface{})
}

// discardLogger is the default Logger: it writes nowhere.
var discardLogger Logger = log.New(io.Discard, "", 0)

// loggerOrDiscard returns l, or the discarding logger when l is nil.
func loggerOrDiscard(l Logger) Logger {
	if l == nil {
		return discardLogger
	}
	return l
}
