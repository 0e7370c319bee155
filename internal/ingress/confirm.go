package ingress

import (
	"errors"
	"fmt"
	"time"

	"code.cloudfoundry.org/go-loggregator/internal/batch"
)

// confirmResult is the server's answer to a stream closed for
// confirmation, with the batches that were sent on it.
type confirmResult struct {
	batches  []*batch.Batch
	err      error
	clean    bool
	timedOut bool
	seq      uint64 // the stream's number (Sender.streamSeq when it opened)
}

// confirm closes the current stream to have its batches confirmed. While
// streams are healthy (the window is at its maximum) the answer is awaited
// by a helper goroutine, bounded by SendTimeout, and handled by Run
// (finishConfirm), so that the next stream starts at once and the server
// is never idle while the client waits; at most one answer is awaited at a
// time. After a failure, while the window grows again, the answer is
// awaited here, so that each batch goes through at most one unconfirmed
// stream at a time. It returns whether sending can go on.
func (s *Sender) confirm() bool {
	if s.confirming {
		s.finishConfirm(<-s.confirmed)
	}
	st, cancel, wd, timedOut, seq := s.st, s.stCancel, s.watchdog, s.timedOut, s.streamSeq
	bts := s.unconf
	s.st, s.stCancel, s.watchdog, s.timedOut = nil, nil, nil, nil
	s.unconf, s.unconfN, s.unconfBytes = nil, 0, 0
	_ = st.CloseSend() // never blocks; an error shows in RecvMsg
	wd.Reset(s.cfg.SendTimeout)
	await := func() confirmResult {
		var resp response
		err := st.RecvMsg(&resp)
		wd.Stop()
		clean := cleanEnd(err) && !timedOut.Load()
		if timedOut.Load() {
			err = fmt.Errorf("no answer within the send deadline of %v", s.cfg.SendTimeout)
		} else if err == nil && !clean {
			err = errors.New("no answer")
		}
		cancel()
		return confirmResult{batches: bts, err: err, clean: clean, timedOut: timedOut.Load(), seq: seq}
	}
	if s.window < maxWindow {
		r := await()
		s.finishConfirm(r)
		return r.clean
	}
	s.confirming, s.confirmCancel = true, cancel
	s.confirmWG.Add(1)
	go func() {
		defer s.confirmWG.Done()
		s.confirmed <- await()
	}()
	return true
}

// finishConfirm handles the answer to a stream closed for confirmation: a
// clean one releases its batches as delivered; otherwise they are queued
// again like those of a broken stream.
func (s *Sender) finishConfirm(r confirmResult) {
	s.confirming, s.confirmCancel = false, nil
	if r.clean {
		s.deliver(r.batches)
		s.window = min(s.window*2, maxWindow)
		s.bo.Reset()
		return
	}
	err := fmt.Errorf("server did not confirm the stream: %w", r.err)
	if r.timedOut {
		s.stalled.Store(true)
		s.buf.Wake()
	}
	s.requeue(r.batches, err)
	s.afterFailure(err, false, r.seq == s.streamSeq)
}

// deliver releases confirmed batches.
func (s *Sender) deliver(bts []*batch.Batch) {
	n := 0
	for _, b := range bts {
		n += b.N
		s.buf.Release(b)
	}
	s.stats.Delivered.Add(uint64(n))
	s.stats.BatchesDelivered.Add(uint64(len(bts)))
	s.progress.Store(time.Now().UnixNano())
	s.stalled.Store(false)
}
