// Package sloghandler sends log/slog records to Loggregator as v2 log
// envelopes.
//
// # Construction
//
// New wraps anything with the EmitLog method of loggregator.IngressClient
// (the Emitter interface; v1.Client fits too):
//
//	client, err := loggregator.NewIngressClient(tlsConfig)
//	...
//	logger := slog.New(sloghandler.New(client,
//		sloghandler.WithSourceInfo("my-app", "APP/PROC/WEB", "0")))
//	logger.Info("started", "port", 8080)
//
// The handler owns no goroutine and nothing to close; close the client as
// usual (IngressClient.CloseSend delivers what it has buffered).
//
// # What a record becomes
//
//   - The message is the log payload.
//   - Records at slog.LevelError and above are of type ERR, the others of
//     type OUT. WithLevelTag also writes the exact level into a tag.
//   - Each attribute is one tag. Attributes inside groups (slog.Group,
//     Handler.WithGroup) are named with the group names joined by dots:
//     slog.Group("http", "method", "GET") gives the tag "http.method".
//     Values are written as text: strings as they are, numbers in Go
//     syntax (strconv), durations with time.Duration.String, times in
//     RFC 3339 with nanoseconds, anything else as fmt.Sprint writes it.
//     LogValuers are resolved.
//   - Empty attributes, empty groups and attributes with an empty key are
//     left out; a group with an empty key is inlined, as the slog.Handler
//     contract says. When two attributes have the same name, the later one
//     wins.
//   - The number of tags and the length of names and values are bounded:
//     see MaxTags, MaxKeyLength, MaxValueLength and DroppedAttrsTag. Text
//     that is not valid UTF-8 is repaired (a protobuf string must be
//     UTF-8, and the IngressClient drops envelopes whose strings are not).
//   - WithSourceInfo sets the source id, source type and instance id.
//   - The record's time is the envelope's timestamp. A record with a zero
//     time keeps the time stamp the client gives every envelope. The v1
//     client has no option for its timestamp, so with it the client's time
//     is always used.
//
// Client tags (loggregator.WithTag) are written by the client, so with the
// IngressClient an attribute of the same name replaces them. The message
// itself is not truncated; the client's own limits apply to it.
//
// Because a dot separates groups, an attribute whose key contains a dot
// cannot be told from a grouped one on the receiving side.
//
// # Concurrency
//
// A Handler is immutable and safe for concurrent use; WithAttrs and
// WithGroup return new handlers and leave the receiver unchanged. Handle
// calls EmitLog on the caller's goroutine, so it costs what EmitLog costs
// (the IngressClient never blocks) plus the formatting of the attributes.
package sloghandler
