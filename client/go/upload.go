package voxgate

import (
	"context"
	"errors"
	"io"

	v1 "github.com/voxgate/voxgate/client/go/voxgatev1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// uploadPiece is what one TranscribeUpload message carries (the gateway takes
// up to 1 MiB).
const uploadPiece = 256 << 10

// UploadProgress is what an upload reports as it goes: the bytes this client
// sent, and the gateway's last report of audio decoded and transcribed.
type UploadProgress struct {
	BytesSent int64
	// BytesTotal is 0 when the size was not given.
	BytesTotal int64
	Gateway    *v1.UploadProgress
}

// UploadOption adjusts TranscribeUpload.
type UploadOption func(*uploadSettings)

type uploadSettings struct {
	config     *v1.TranscribeUploadConfig
	onProgress func(UploadProgress)
}

// WithUploadRecognition sets the upload's recognition options.
func WithUploadRecognition(opts ...RecognitionOption) UploadOption {
	return func(s *uploadSettings) {
		for _, opt := range opts {
			opt(s.config.Config)
		}
	}
}

// WithSize declares the upload's size in bytes: the gateway refuses an
// oversized file at once, and progress has a total.
func WithSize(bytes int64) UploadOption {
	return func(s *uploadSettings) { s.config.TotalBytes = bytes }
}

// WithProgress calls f as bytes go out and as the gateway reports, from the
// goroutines doing the upload.
func WithProgress(f func(UploadProgress)) UploadOption {
	return func(s *uploadSettings) { s.onProgress = f }
}

// TranscribeUpload transcribes audio of any size up to the gateway's
// max_audio_bytes, read from audio and streamed in pieces: the gateway
// decodes and transcribes while the upload goes on, and reads no faster than
// it transcribes. Not retried: a failed upload starts again from the start.
func (c *Client) TranscribeUpload(ctx context.Context, audio io.Reader, opts ...UploadOption) (*v1.TranscribeResponse, error) {
	settings := uploadSettings{config: &v1.TranscribeUploadConfig{Config: &v1.RecognitionConfig{}}}
	for _, opt := range opts {
		opt(&settings)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var header grpcMetadata
	stream, err := c.stub.TranscribeUpload(ctx, grpc.Header(&header.md))
	if err != nil {
		return nil, wrap(err, "")
	}
	progress := newProgressTracker(settings.config.TotalBytes, settings.onProgress)
	sendErr := make(chan error, 1)
	go func() { sendErr <- sendUpload(stream, settings.config, audio, progress) }()
	var result *v1.TranscribeResponse
	for {
		response, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrap(err, header.requestID())
		}
		if p := response.GetProgress(); p != nil {
			progress.reported(p)
		}
		if r := response.GetResult(); r != nil {
			result = r
		}
	}
	if err := <-sendErr; err != nil {
		return nil, err
	}
	if result == nil {
		return nil, &Error{Code: codes.Internal, Message: "the upload ended without a result",
			RequestID: header.requestID()}
	}
	return result, nil
}

func sendUpload(stream v1.VoxgateService_TranscribeUploadClient, config *v1.TranscribeUploadConfig, audio io.Reader, progress *progressTracker) error {
	first := &v1.TranscribeUploadRequest{Request: &v1.TranscribeUploadRequest_Config{Config: config}}
	if stream.Send(first) != nil {
		return nil // the receive side reports the call's status
	}
	buffer := make([]byte, uploadPiece)
	for {
		n, err := io.ReadFull(audio, buffer)
		if n > 0 {
			piece := append([]byte(nil), buffer[:n]...)
			message := &v1.TranscribeUploadRequest{Request: &v1.TranscribeUploadRequest_AudioContent{AudioContent: piece}}
			if stream.Send(message) != nil {
				return nil
			}
			progress.sent(int64(n))
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return stream.CloseSend()
		}
		if err != nil {
			stream.CloseSend()
			return err
		}
	}
}
