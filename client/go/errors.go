package voxgate

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Kinds of failure, for errors.Is: each Error matches the one of its code.
var (
	ErrInvalidRequest      = errors.New("invalid request")      // INVALID_ARGUMENT, OUT_OF_RANGE
	ErrNotConfigured       = errors.New("not configured")       // FAILED_PRECONDITION
	ErrModelNotFound       = errors.New("model not found")      // NOT_FOUND
	ErrOverloaded          = errors.New("overloaded")           // RESOURCE_EXHAUSTED
	ErrUpstreamUnavailable = errors.New("upstream unavailable") // UNAVAILABLE
	ErrUpstreamTimeout     = errors.New("upstream timeout")     // DEADLINE_EXCEEDED
	ErrUnauthenticated     = errors.New("unauthenticated")      // UNAUTHENTICATED, PERMISSION_DENIED
	ErrCancelled           = errors.New("cancelled")            // CANCELLED
)

// Error is a failed call: the gRPC code, the gateway's message (naming the
// field or limit at fault) and the request id to quote.
type Error struct {
	Code      codes.Code
	Message   string
	RequestID string
	// RetryAfter is when the gateway said to come back (a rate limit or
	// quota), 0 when it did not.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.RequestID != "" {
		return fmt.Sprintf("voxgate: %s: %s [request %s]", e.Code, e.Message, e.RequestID)
	}
	return fmt.Sprintf("voxgate: %s: %s", e.Code, e.Message)
}

// Is matches the kind of the error's code.
func (e *Error) Is(target error) bool {
	switch e.Code {
	case codes.InvalidArgument, codes.OutOfRange:
		return target == ErrInvalidRequest
	case codes.FailedPrecondition:
		return target == ErrNotConfigured
	case codes.NotFound:
		return target == ErrModelNotFound
	case codes.ResourceExhausted:
		return target == ErrOverloaded
	case codes.Unavailable:
		return target == ErrUpstreamUnavailable
	case codes.DeadlineExceeded:
		return target == ErrUpstreamTimeout
	case codes.Unauthenticated, codes.PermissionDenied:
		return target == ErrUnauthenticated
	case codes.Canceled:
		return target == ErrCancelled
	}
	return false
}

func wrap(err error, requestID string) error {
	s, ok := status.FromError(err)
	if !ok {
		return err
	}
	retryAfter, _ := RetryAfter(err)
	return &Error{Code: s.Code(), Message: s.Message(), RequestID: requestID, RetryAfter: retryAfter}
}

// RetryAfter is the delay a refusal's google.rpc.RetryInfo detail names.
func RetryAfter(err error) (time.Duration, bool) {
	var voxgateErr *Error
	if errors.As(err, &voxgateErr) && voxgateErr.RetryAfter > 0 {
		return voxgateErr.RetryAfter, true
	}
	s, ok := status.FromError(err)
	if !ok {
		return 0, false
	}
	for _, detail := range s.Details() {
		if info, ok := detail.(*errdetails.RetryInfo); ok && info.GetRetryDelay() != nil {
			return info.GetRetryDelay().AsDuration(), true
		}
	}
	return 0, false
}

// grpcMetadata collects a call's response headers (the gateway returns
// x-request-id there).
type grpcMetadata struct{ md metadata.MD }

func (m *grpcMetadata) requestID() string {
	if ids := m.md.Get("x-request-id"); len(ids) > 0 {
		return ids[0]
	}
	return ""
}
