package voxgate

import (
	"sync"

	v1 "github.com/voxgate/voxgate/client/go/voxgatev1"
	"google.golang.org/protobuf/proto"
)

// progressTracker joins what the sender sent and what the gateway reported,
// and hands each change to the caller's callback, one at a time.
type progressTracker struct {
	mu       sync.Mutex
	state    UploadProgress
	callback func(UploadProgress)
}

func newProgressTracker(total int64, callback func(UploadProgress)) *progressTracker {
	return &progressTracker{state: UploadProgress{BytesTotal: total, Gateway: &v1.UploadProgress{}},
		callback: callback}
}

func (p *progressTracker) sent(n int64) {
	p.update(func(s *UploadProgress) { s.BytesSent += n })
}

func (p *progressTracker) reported(gateway *v1.UploadProgress) {
	p.update(func(s *UploadProgress) { s.Gateway = proto.Clone(gateway).(*v1.UploadProgress) })
}

func (p *progressTracker) update(change func(*UploadProgress)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	change(&p.state)
	if p.callback != nil {
		p.callback(p.state)
	}
}
