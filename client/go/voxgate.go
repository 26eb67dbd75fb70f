// Package voxgate is a small Go client for the Voxgate gateway: context-aware
// calls, functional options, typed errors and retries of UNAVAILABLE. The
// generated stubs are in the voxgatev1 package for anything not wrapped here.
package voxgate

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	v1 "github.com/voxgate/voxgate/client/go/voxgatev1"
)

// Client is a connection to a gateway. Safe for concurrent use; make one per
// process and Close it at the end.
type Client struct {
	conn    *grpc.ClientConn
	stub    v1.VoxgateServiceClient
	timeout time.Duration
	retries int
}

type config struct {
	timeout time.Duration
	retries int
	dial    []grpc.DialOption
	apiKey  string
	tls     *TLSFiles
}

// Option configures a Client.
type Option func(*config)

// WithTimeout sets the deadline of calls whose context has none. Default 5m.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRetries sets how many times a call is retried within its deadline:
// UNAVAILABLE with jittered exponential backoff, and RESOURCE_EXHAUSTED after
// the delay the gateway's google.rpc.RetryInfo names (a rate limit's window).
// Default 2.
func WithRetries(n int) Option { return func(c *config) { c.retries = n } }

// WithDialOptions adds gRPC dial options (credentials, interceptors, ...).
// Without transport credentials the connection is plaintext.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dial = append(c.dial, opts...) }
}

// New connects to address ("host:port"); the connection is made lazily.
func New(address string, opts ...Option) (*Client, error) {
	cfg := config{timeout: 5 * time.Minute, retries: 2}
	for _, opt := range opts {
		opt(&cfg)
	}
	security, err := securityOptions(cfg)
	if err != nil {
		return nil, err
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)),
	}, security...)
	dial = append(dial, cfg.dial...)
	conn, err := grpc.NewClient(address, dial...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, stub: v1.NewVoxgateServiceClient(conn), timeout: cfg.timeout, retries: cfg.retries}, nil
}

// retryDelay says whether a failed call may be retried and after how long.
func retryDelay(err error, attempt int) (time.Duration, bool) {
	switch status.Code(err) {
	case codes.Unavailable:
		return time.Duration(rand.Int64N(int64(100*time.Millisecond) << attempt)), true
	case codes.ResourceExhausted:
		if delay, ok := RetryAfter(err); ok && delay <= 30*time.Second {
			return delay, true
		}
	}
	return 0, false
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Stub is the generated client, for calls and fields not wrapped here.
func (c *Client) Stub() v1.VoxgateServiceClient { return c.stub }

func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// unary runs call with the deadline and retries, and types its error.
func unary[T any](c *Client, ctx context.Context, call func(context.Context, ...grpc.CallOption) (T, error)) (T, error) {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	var header grpcMetadata
	for attempt := 0; ; attempt++ {
		result, err := call(ctx, grpc.Header(&header.md))
		if err == nil {
			return result, nil
		}
		backoff, retry := retryDelay(err, attempt)
		if !retry || attempt >= c.retries {
			return result, wrap(err, header.requestID())
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= backoff {
			return result, wrap(err, header.requestID())
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return result, wrap(err, header.requestID())
		}
	}
}
