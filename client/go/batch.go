package voxgate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/voxgate/voxgate/client/go/voxgatev1"
)

// BatchFile is one file of a batch: its audio inline or by URL (https://,
// fetched by the gateway), and an id that its result carries.
type BatchFile struct {
	ID    string
	Audio []byte
	URL   string
}

// BatchResult is one file's outcome: its transcript, or why it failed (a
// *Error). One bad file never fails the others.
type BatchResult struct {
	ID     string
	Result *v1.TranscribeResponse
	Err    error
}

// BatchProgress is a batch operation's metadata: files done and failed,
// audio seconds done, and every file's state.
type BatchProgress = v1.BatchTranscribeMetadata

// BatchOption adjusts TranscribeBatch.
type BatchOption func(*batchSettings)

type batchSettings struct {
	recognition []RecognitionOption
	progress    func(*BatchProgress)
	poll        time.Duration
}

// WithBatchRecognition sets every file's recognition options.
func WithBatchRecognition(opts ...RecognitionOption) BatchOption {
	return func(s *batchSettings) { s.recognition = append(s.recognition, opts...) }
}

// WithBatchProgress calls f with the operation's progress whenever the
// gateway reports a change (from the calling goroutine).
func WithBatchProgress(f func(*BatchProgress)) BatchOption {
	return func(s *batchSettings) { s.progress = f }
}

// WithPollInterval sets how long each WaitOperation waits. Default 5s.
func WithPollInterval(d time.Duration) BatchOption {
	return func(s *batchSettings) { s.poll = d }
}

// Operations is the google.longrunning.Operations client on the same
// connection, for GetOperation, ListOperations, CancelOperation,
// DeleteOperation and WaitOperation on batches.
func (c *Client) Operations() longrunningpb.OperationsClient {
	return longrunningpb.NewOperationsClient(c.conn)
}

// StartBatch submits a BatchTranscribe and returns its operation at once.
func (c *Client) StartBatch(ctx context.Context, files []BatchFile, opts ...RecognitionOption) (*longrunningpb.Operation, error) {
	config := &v1.RecognitionConfig{}
	for _, opt := range opts {
		opt(config)
	}
	request := &v1.BatchTranscribeRequest{Config: config}
	for _, file := range files {
		audio := &v1.AudioInput{Content: file.Audio, Uri: file.URL}
		request.Files = append(request.Files, &v1.BatchFile{Id: file.ID, Audio: audio})
	}
	return unary(c, ctx, func(ctx context.Context, o ...grpc.CallOption) (*longrunningpb.Operation, error) {
		return c.stub.BatchTranscribe(ctx, request, o...)
	})
}

// TranscribeBatch transcribes files as one BatchTranscribe operation and
// waits for it (as long as ctx allows; the client's timeout does not apply).
// Results come in the files' order. When ctx ends first, the operation is
// cancelled and ctx's error returned.
func (c *Client) TranscribeBatch(ctx context.Context, files []BatchFile, opts ...BatchOption) ([]BatchResult, error) {
	settings := batchSettings{poll: 5 * time.Second}
	for _, opt := range opts {
		opt(&settings)
	}
	operation, err := c.StartBatch(ctx, files, settings.recognition...)
	if err != nil {
		return nil, err
	}
	operations := c.Operations()
	var last []byte
	report := func() {
		if settings.progress == nil || operation.GetMetadata() == nil {
			return
		}
		if seen := operation.GetMetadata().GetValue(); string(seen) != string(last) || operation.Done {
			last = seen
			progress := &BatchProgress{}
			if operation.GetMetadata().UnmarshalTo(progress) == nil {
				settings.progress(progress)
			}
		}
	}
	for !operation.Done {
		report()
		wait := &longrunningpb.WaitOperationRequest{Name: operation.Name, Timeout: durationpb.New(settings.poll)}
		next, err := unary(c, ctx, func(ctx context.Context, o ...grpc.CallOption) (*longrunningpb.Operation, error) {
			return operations.WaitOperation(ctx, wait, o...)
		})
		if err != nil {
			if ctx.Err() != nil {
				cancel, done := context.WithTimeout(context.Background(), 10*time.Second)
				defer done()
				operations.CancelOperation(cancel, &longrunningpb.CancelOperationRequest{Name: operation.Name})
				return nil, ctx.Err()
			}
			return nil, err
		}
		operation = next
	}
	report()
	return BatchResults(operation)
}

// BatchResults reads a finished batch operation: one result per file in
// request order. An operation that ended early (cancelled, its replica
// stopped) gives the files finished by then and errors for the rest.
func BatchResults(operation *longrunningpb.Operation) ([]BatchResult, error) {
	if !operation.Done {
		return nil, errors.New("voxgate: the operation is not done")
	}
	response := &v1.BatchTranscribeResponse{}
	if r := operation.GetResponse(); r != nil {
		if err := r.UnmarshalTo(response); err != nil {
			return nil, fmt.Errorf("voxgate: operation response: %w", err)
		}
	} else if failure := operation.GetError(); failure != nil {
		for _, detail := range failure.Details {
			if detail.UnmarshalTo(response) == nil {
				break
			}
		}
	}
	metadata := &v1.BatchTranscribeMetadata{}
	if err := operation.GetMetadata().UnmarshalTo(metadata); err != nil {
		return nil, fmt.Errorf("voxgate: operation metadata: %w", err)
	}
	results := make([]BatchResult, len(metadata.Files))
	for i, file := range metadata.Files {
		results[i].ID = file.Id
		var entry *v1.BatchFileResult
		if i < len(response.Results) {
			entry = response.Results[i]
		}
		switch {
		case entry.GetResult() != nil:
			results[i].Result = entry.GetResult()
		case entry.GetError() != nil:
			results[i].Err = wrap(status.ErrorProto(entry.GetError()), "")
		case operation.GetError() != nil:
			results[i].Err = wrap(status.ErrorProto(operation.GetError()), "")
		default:
			results[i].Err = wrap(status.Error(codes.Unknown, "no result"), "")
		}
	}
	return results, nil
}
