package voxgate_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/voxgate/voxgate/client/go/voxgatev1"
	"github.com/voxgate/voxgate/client/go/voxgatev1/voxgatev1connect"
)

// Every RPC over plain HTTP, as Connect's own Go client calls it, in each of
// its protocols, against a gateway with API keys: Connect with proto and with
// JSON, and gRPC-Web.

var connectGateway struct {
	once    sync.Once
	baseURL string // http://127.0.0.1:<http port>
	key     string
	err     error
}

// startKeyedGateway starts, once, a gateway in front of the package's fake
// upstream whose every call needs a key, and mints that key.
func startKeyedGateway(t *testing.T) (string, string) {
	t.Helper()
	connectGateway.once.Do(func() {
		connectGateway.baseURL, connectGateway.key, connectGateway.err = launchKeyedGateway()
	})
	if connectGateway.err != nil {
		t.Fatal(connectGateway.err)
	}
	return connectGateway.baseURL, connectGateway.key
}

func launchKeyedGateway() (string, string, error) {
	minted, err := exec.Command(gatewayBinary(), "mint-key", "--tenant=connect", "--json").Output()
	if err != nil {
		return "", "", fmt.Errorf("mint-key: %v", err)
	}
	var key struct{ Key, ID, Tenant, Hash string }
	if err := json.Unmarshal(minted, &key); err != nil {
		return "", "", fmt.Errorf("mint-key printed %q: %v", minted, err)
	}
	dir, err := os.MkdirTemp("", "voxgate-connect-test")
	if err != nil {
		return "", "", err
	}
	keys := filepath.Join(dir, "keys.yaml")
	os.WriteFile(keys, []byte(fmt.Sprintf(
		"tenants:\n  - name: connect\nkeys:\n  - {id: %q, tenant: connect, hash: %q}\n",
		key.ID, key.Hash)), 0o600)
	config := filepath.Join(dir, "config.yaml")
	os.WriteFile(config, []byte(strings.ReplaceAll(`
pools:
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "FAKE/v1"}]
    models: [llama3]
    health_check: {path: ""}
routing:
  text_pool: llm
`, "FAKE", fakeURL)), 0o644)
	gateway := exec.Command(gatewayBinary(), "--config="+config, "--keys_file="+keys,
		"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0")
	// It ends with the test process, however that ends.
	gateway.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs, _ := gateway.StderrPipe()
	if err := gateway.Start(); err != nil {
		return "", "", err
	}
	scanner := bufio.NewScanner(logs)
	serving := regexp.MustCompile(`"http_port":(\d+)`)
	for scanner.Scan() {
		if match := serving.FindStringSubmatch(scanner.Text()); match != nil {
			go func() {
				for scanner.Scan() {
				}
			}()
			return "http://127.0.0.1:" + match[1], key.Key, nil
		}
	}
	gateway.Process.Kill()
	return "", "", errors.New("the keyed gateway did not start")
}

// withKey adds the API key to every request, as a browser or service would.
type withKey struct {
	key  string
	next http.RoundTripper
}

func (k withKey) RoundTrip(request *http.Request) (*http.Response, error) {
	request = request.Clone(request.Context())
	request.Header.Set("Authorization", "Bearer "+k.key)
	return k.next.RoundTrip(request)
}

var connectModes = []struct {
	name    string
	options []connect.ClientOption
}{
	{"connect-proto", nil},
	{"connect-json", []connect.ClientOption{connect.WithProtoJSON()}},
	{"grpc-web", []connect.ClientOption{connect.WithGRPCWeb()}},
}

func connectClient(t *testing.T, key string, options []connect.ClientOption) voxgatev1connect.VoxgateServiceClient {
	baseURL, _ := startKeyedGateway(t)
	httpClient := &http.Client{Transport: withKey{key, http.DefaultTransport}}
	return voxgatev1connect.NewVoxgateServiceClient(httpClient, baseURL, options...)
}

func hello(text string) *voxgatev1.ChatRequest {
	return &voxgatev1.ChatRequest{
		Model: "llama3",
		Messages: []*voxgatev1.ChatMessage{{
			Role:    voxgatev1.Role_ROLE_USER,
			Content: []*voxgatev1.ContentPart{{Part: &voxgatev1.ContentPart_Text{Text: text}}},
		}},
	}
}

func TestConnectClientsCallEveryKindOfRpc(t *testing.T) {
	_, key := startKeyedGateway(t)
	for _, mode := range connectModes {
		t.Run(mode.name, func(t *testing.T) {
			fakeControl(t, "/_fake/reset", map[string]any{})
			client := connectClient(t, key, mode.options)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			models, err := client.ListModels(ctx, connect.NewRequest(&voxgatev1.ListModelsRequest{}))
			if err != nil {
				t.Fatal("ListModels:", err)
			}
			found := false
			for _, model := range models.Msg.Models {
				found = found || model.Id == "llama3"
			}
			if !found {
				t.Errorf("ListModels lists no llama3: %v", models.Msg.Models)
			}

			chat, err := client.Chat(ctx, connect.NewRequest(hello("hi there")))
			if err != nil {
				t.Fatal("Chat:", err)
			}
			if chat.Msg.Content != "echo: hi there" {
				t.Errorf("Chat answered %q", chat.Msg.Content)
			}
			if chat.Header().Get("x-request-id") == "" {
				t.Error("no x-request-id on the answer")
			}

			fakeControl(t, "/_fake/default", map[string]any{"text": "one two three"})
			stream, err := client.ChatStream(ctx, connect.NewRequest(hello("count")))
			if err != nil {
				t.Fatal("ChatStream:", err)
			}
			var text strings.Builder
			chunks := 0
			for stream.Receive() {
				text.WriteString(stream.Msg().Delta)
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatal("ChatStream ended with", err)
			}
			if text.String() != "one two three" || chunks < 2 {
				t.Errorf("ChatStream gave %q in %d chunks", text.String(), chunks)
			}
		})
	}
}

func TestConnectErrorsCarryTheirCodes(t *testing.T) {
	_, key := startKeyedGateway(t)
	for _, mode := range connectModes {
		t.Run(mode.name, func(t *testing.T) {
			fakeControl(t, "/_fake/reset", map[string]any{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			client := connectClient(t, key, mode.options)

			_, err := client.Chat(ctx, connect.NewRequest(&voxgatev1.ChatRequest{Model: "llama3"}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument ||
				!strings.Contains(err.Error(), "messages") {
				t.Errorf("a chat without messages: %v", err)
			}

			stranger := connectClient(t, "vxg_000000000000_00", mode.options)
			_, err = stranger.Chat(ctx, connect.NewRequest(hello("hi")))
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("an unknown key: %v", err)
			}
			nobody := voxgatev1connect.NewVoxgateServiceClient(http.DefaultClient,
				connectGateway.baseURL, mode.options...)
			_, err = nobody.ListModels(ctx, connect.NewRequest(&voxgatev1.ListModelsRequest{}))
			if connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("no key: %v", err)
			}

		})
	}
}

func TestConnectDeadlinesEndTheCall(t *testing.T) {
	_, key := startKeyedGateway(t)
	for _, mode := range connectModes {
		t.Run(mode.name, func(t *testing.T) {
			fakeControl(t, "/_fake/default", map[string]any{"latency_ms": 3000})
			defer fakeControl(t, "/_fake/reset", map[string]any{})
			client := connectClient(t, key, mode.options)
			// The client sends its deadline as connect-timeout-ms or
			// grpc-timeout; the gateway ends the call there.
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			_, err := client.Chat(ctx, connect.NewRequest(hello("slow")))
			if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
				t.Errorf("a call past its deadline: %v", err)
			}
		})
	}
}

func TestClientStreamsOverHttpAreRefusedWithWhereToCallThem(t *testing.T) {
	baseURL, key := startKeyedGateway(t)
	// connect-go itself refuses a bidi stream over HTTP/1.1 before sending;
	// a hand-made request shows the gateway's own answer.
	request, _ := http.NewRequest("POST", baseURL+"/voxgate.v1.VoxgateService/TranscribeUpload",
		strings.NewReader("{}"))
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Authorization", "Bearer "+key)
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var body struct{ Code, Message string }
	json.NewDecoder(response.Body).Decode(&body)
	if response.StatusCode != 501 || body.Code != "unimplemented" ||
		!strings.Contains(body.Message, "gRPC") {
		t.Errorf("TranscribeUpload over HTTP: %d %+v", response.StatusCode, body)
	}
}
