package voxgate

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/voxgate/voxgate/client/go/voxgatev1"
)

// rateLimited refuses the first `refusals` calls as a rate limit does, with
// google.rpc.RetryInfo, and records the API key and times of every call.
type rateLimited struct {
	v1.UnimplementedVoxgateServiceServer
	mu       sync.Mutex
	refusals int
	delay    time.Duration
	keys     []string
	times    []time.Time
}

func (s *rateLimited) ListModels(ctx context.Context, _ *v1.ListModelsRequest) (*v1.ListModelsResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	s.keys = append(s.keys, md.Get("authorization")...)
	s.times = append(s.times, time.Now())
	if len(s.times) <= s.refusals {
		st, _ := status.New(codes.ResourceExhausted, "requests_per_minute.general").WithDetails(
			&errdetails.RetryInfo{RetryDelay: durationpb.New(s.delay)})
		return nil, st.Err()
	}
	return &v1.ListModelsResponse{Models: []*v1.ModelInfo{{Id: "llama3"}}}, nil
}

func serve(t *testing.T, service v1.VoxgateServiceServer) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	v1.RegisterVoxgateServiceServer(server, service)
	go server.Serve(listener)
	t.Cleanup(server.Stop)
	return listener.Addr().String()
}

func TestRateLimitedCallsAreRetriedAfterTheGatewaysDelay(t *testing.T) {
	service := &rateLimited{refusals: 1, delay: 300 * time.Millisecond}
	client, err := New(serve(t, service), WithAPIKey("vxg_test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	models, err := client.ListModels(context.Background())
	if err != nil || len(models) != 1 {
		t.Fatalf("ListModels = %v, %v; want one model after a retry", models, err)
	}
	if len(service.times) != 2 {
		t.Fatalf("calls = %d, want 2", len(service.times))
	}
	if waited := service.times[1].Sub(service.times[0]); waited < service.delay {
		t.Errorf("retried after %v, before the RetryInfo delay %v", waited, service.delay)
	}
	for _, key := range service.keys {
		if key != "Bearer vxg_test" {
			t.Errorf("authorization = %q, want the API key", key)
		}
	}
}

func TestARetryDelayBeyondTheDeadlineFailsAtOnceWithTheDelay(t *testing.T) {
	service := &rateLimited{refusals: 5, delay: time.Minute}
	client, err := New(serve(t, service))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.ListModels(ctx)
	var voxgateErr *Error
	if !errors.As(err, &voxgateErr) || !errors.Is(err, ErrOverloaded) {
		t.Fatalf("err = %v, want a typed RESOURCE_EXHAUSTED", err)
	}
	if voxgateErr.RetryAfter != time.Minute {
		t.Errorf("RetryAfter = %v, want 1m", voxgateErr.RetryAfter)
	}
	if len(service.times) != 1 {
		t.Errorf("calls = %d, want 1 (a minute's wait does not fit the deadline)", len(service.times))
	}
}
