// Package stats holds the lock-free recorders behind the clients'
// statistics snapshots: an egress lag histogram with fixed buckets
// (Histogram, fed one envelope at a time or through a goroutine-local
// Batch), the maximum of a series (Max), and the last error with its time
// (LastError).
//
// Every recorder is safe for concurrent use without locks: recording is a
// few atomic operations and never allocates, except LastError.Set, which
// allocates one small record per error. A snapshot reads each value
// atomically, but values written while a snapshot is taken may be seen
// in some fields and not yet in others.
//
// The zero value of each recorder is ready to use and must not be copied
// after first use.
package stats
