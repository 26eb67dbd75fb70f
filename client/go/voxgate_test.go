package voxgate_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	voxgate "github.com/voxgate/voxgate/client/go"
	"github.com/voxgate/voxgate/client/go/voxgatev1"
)

// The real gateway and fake upstream, built by Bazel (VOXGATE_BIN and
// FAKE_UPSTREAM_BIN override the paths), started once for the package.
var (
	gatewayAddress string
	fakeURL        string
)

// gatewayBinary is the voxgate binary the tests start.
func gatewayBinary() string { return binaryPath("VOXGATE_BIN", "gateway/voxgate") }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func binaryPath(env, relative string) string {
	if path := os.Getenv(env); path != "" {
		return path
	}
	return filepath.Join("..", "..", "bazel-bin", relative)
}

func run(m *testing.M) int {
	fake := exec.Command(binaryPath("FAKE_UPSTREAM_BIN", "tests/fake_upstream/fake_upstream_server"))
	fakeOut, _ := fake.StdoutPipe()
	if err := fake.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "fake upstream:", err)
		return 1
	}
	defer fake.Process.Kill()
	var port struct{ Port int }
	line, _ := bufio.NewReader(fakeOut).ReadString('\n')
	if err := json.Unmarshal([]byte(line), &port); err != nil {
		fmt.Fprintln(os.Stderr, "fake upstream did not report its port:", line)
		return 1
	}
	fakeURL = fmt.Sprintf("http://127.0.0.1:%d", port.Port)

	config := filepath.Join(os.TempDir(), fmt.Sprintf("voxgate-go-test-%d.yaml", os.Getpid()))
	yaml := strings.ReplaceAll(`
pools:
  - name: whisper
    protocol: openai_transcriptions
    endpoints: [{url: "FAKE/v1", max_concurrency: 16}]
    models: [whisper-1]
    health_check: {path: ""}
  - name: llm
    protocol: openai_chat
    endpoints: [{url: "FAKE/v1"}]
    models: [llama3]
    health_check: {path: ""}
routing:
  audio_pool: whisper
  text_pool: llm
`, "FAKE", fakeURL)
	os.WriteFile(config, []byte(yaml), 0o644)
	defer os.Remove(config)
	gateway := exec.Command(binaryPath("VOXGATE_BIN", "gateway/voxgate"), "--config="+config,
		"--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--http_listen=127.0.0.1:0")
	logs, _ := gateway.StderrPipe()
	if err := gateway.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "voxgate:", err)
		return 1
	}
	defer gateway.Process.Kill()
	scanner := bufio.NewScanner(logs)
	serving := regexp.MustCompile(`"grpc_port":(\d+)`)
	for scanner.Scan() {
		if match := serving.FindStringSubmatch(scanner.Text()); match != nil {
			gatewayAddress = "127.0.0.1:" + match[1]
			break
		}
	}
	if gatewayAddress == "" {
		fmt.Fprintln(os.Stderr, "voxgate did not start")
		return 1
	}
	// Keep its log pipe drained, and the last lines for a post-mortem.
	var tail []string
	var tailMu sync.Mutex
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for scanner.Scan() {
			tailMu.Lock()
			tail = append(tail, scanner.Text())
			if len(tail) > 40 {
				tail = tail[1:]
			}
			tailMu.Unlock()
		}
	}()
	exited := make(chan error, 1)
	go func() { <-drained; exited <- gateway.Wait() }()
	code := m.Run()
	select {
	case err := <-exited: // the gateway died under the tests: say how
		tailMu.Lock()
		fmt.Fprintf(os.Stderr, "voxgate exited during the tests (%v); its last log lines:\n%s\n",
			err, strings.Join(tail, "\n"))
		tailMu.Unlock()
		return 1
	default:
		return code
	}
}

// fakeControl posts to the fake's control endpoints.
func fakeControl(t *testing.T, path string, body any) {
	t.Helper()
	data, _ := json.Marshal(body)
	response, err := http.Post(fakeURL+path, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
}

func newClient(t *testing.T, opts ...voxgate.Option) *voxgate.Client {
	t.Helper()
	fakeControl(t, "/_fake/reset", map[string]any{})
	client, err := voxgate.New(gatewayAddress, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// tonePCM is half a second of silence (the VAD learns the noise floor), a
// 440 Hz tone (speech to the VAD), then silence, as 16 kHz s16le.
func tonePCM(seconds, silence float64) []byte {
	var pcm bytes.Buffer
	pcm.Write(make([]byte, 16000))
	for i := 0; i < int(seconds*16000); i++ {
		binary.Write(&pcm, binary.LittleEndian, int16(12000*math.Sin(2*math.Pi*440*float64(i)/16000)))
	}
	pcm.Write(make([]byte, 2*int(silence*16000)))
	return pcm.Bytes()
}

func wav(pcm []byte) []byte {
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(36+len(pcm)))
	out.WriteString("WAVEfmt ")
	for _, field := range []any{uint32(16), uint16(1), uint16(1), uint32(16000), uint32(32000), uint16(2), uint16(16)} {
		binary.Write(&out, binary.LittleEndian, field)
	}
	out.WriteString("data")
	binary.Write(&out, binary.LittleEndian, uint32(len(pcm)))
	out.Write(pcm)
	return out.Bytes()
}

func TestTranscribe(t *testing.T) {
	client := newClient(t)
	response, err := client.Transcribe(context.Background(), wav(tonePCM(2, 0)),
		voxgate.WithOutputFormats(voxgatev1.OutputFormat_OUTPUT_FORMAT_SRT))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(response.Text, "at 16000 Hz 1 ch") {
		t.Errorf("text %q does not describe 16 kHz mono audio", response.Text)
	}
	if !strings.Contains(response.Srt, " --> ") {
		t.Errorf("no SRT: %q", response.Srt)
	}
}

func TestTranscribeUploadStreamsAFileAndReportsProgress(t *testing.T) {
	client := newClient(t)
	// 70 s: the gateway cuts three chunks of at most 30 s.
	audio := wav(tonePCM(70, 0))
	var reports []voxgate.UploadProgress
	response, err := client.TranscribeUpload(context.Background(), bytes.NewReader(audio),
		voxgate.WithSize(int64(len(audio))),
		voxgate.WithProgress(func(p voxgate.UploadProgress) { reports = append(reports, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(response.Text, "at 16000 Hz 1 ch"); got != 3 {
		t.Errorf("text %q describes %d chunks, want 3", response.Text, got)
	}
	if d := response.AudioDuration.AsDuration(); d < 70*time.Second || d > 71*time.Second {
		t.Errorf("audio duration %v, want 70.5 s", d)
	}
	last := reports[len(reports)-1]
	if last.BytesSent != int64(len(audio)) || last.BytesTotal != int64(len(audio)) {
		t.Errorf("last report sent %d of %d bytes, want %d", last.BytesSent, last.BytesTotal, len(audio))
	}
	var done int32
	for _, report := range reports {
		if report.Gateway.ChunksDone < done {
			t.Fatalf("chunks done went back from %d to %d", done, report.Gateway.ChunksDone)
		}
		done = report.Gateway.ChunksDone
	}
	if done != 3 || last.Gateway.ChunksCut != 3 {
		t.Errorf("gateway reported %d of %d chunks done, want 3 of 3", done, last.Gateway.ChunksCut)
	}
}

func TestChatAndChatStream(t *testing.T) {
	client := newClient(t)
	fakeControl(t, "/_fake/default", map[string]any{"text": "one two three"})
	messages := []*voxgatev1.ChatMessage{voxgate.System("Be brief."), voxgate.User("Count.")}
	response, err := client.Chat(context.Background(), messages, voxgate.WithMaxTokens(10))
	if err != nil {
		t.Fatal(err)
	}
	if response.Content != "one two three" {
		t.Errorf("content %q", response.Content)
	}
	var deltas []string
	for delta, err := range client.ChatStream(context.Background(), messages) {
		if err != nil {
			t.Fatal(err)
		}
		deltas = append(deltas, delta)
	}
	if strings.Join(deltas, "") != "one two three" || len(deltas) < 2 {
		t.Errorf("deltas %q", deltas)
	}
}

func TestToolCallsRoundTrip(t *testing.T) {
	client := newClient(t)
	fakeControl(t, "/_fake/default", map[string]any{})
	tool := &voxgatev1.Tool{Name: "get_weather", ParametersJson: `{"type":"object"}`}
	messages := []*voxgatev1.ChatMessage{voxgate.User("weather in Oslo")}
	first, err := client.Chat(context.Background(), messages, voxgate.WithTools(tool),
		voxgate.WithToolChoice(&voxgatev1.ToolChoice{Choice: &voxgatev1.ToolChoice_Mode{
			Mode: voxgatev1.ToolChoiceMode_TOOL_CHOICE_MODE_REQUIRED}}))
	if err != nil {
		t.Fatal(err)
	}
	if first.FinishReason != voxgatev1.FinishReason_FINISH_REASON_TOOL_CALLS || len(first.ToolCalls) != 1 {
		t.Fatalf("first answer %v", first)
	}
	call := first.ToolCalls[0]
	messages = append(messages,
		&voxgatev1.ChatMessage{Role: voxgatev1.Role_ROLE_ASSISTANT, ToolCalls: []*voxgatev1.ToolCall{call}},
		&voxgatev1.ChatMessage{Role: voxgatev1.Role_ROLE_TOOL, ToolCallId: call.Id,
			Content: []*voxgatev1.ContentPart{{Part: &voxgatev1.ContentPart_Text{Text: "-3 C"}}}})
	second, err := client.Chat(context.Background(), messages, voxgate.WithTools(tool))
	if err != nil {
		t.Fatal(err)
	}
	if want := "tool " + call.Id + " said: -3 C"; second.Content != want {
		t.Errorf("second answer %q, want %q", second.Content, want)
	}
	// Streamed: the pieces, then the finish reason on the last chunk.
	var name, arguments string
	var finish voxgatev1.FinishReason
	for chunk, err := range client.ChatStreamChunks(context.Background(), messages[:1], voxgate.WithTools(tool)) {
		if err != nil {
			t.Fatal(err)
		}
		for _, piece := range chunk.ToolCalls {
			name += piece.Name
			arguments += piece.Arguments
		}
		if chunk.FinishReason != voxgatev1.FinishReason_FINISH_REASON_UNSPECIFIED {
			finish = chunk.FinishReason
		}
	}
	if name != "get_weather" || arguments != `{"text":"weather in Oslo"}` ||
		finish != voxgatev1.FinishReason_FINISH_REASON_TOOL_CALLS {
		t.Errorf("streamed %q %q %v", name, arguments, finish)
	}
}

func TestStreamTranscribeYieldsFinalResultsInOrder(t *testing.T) {
	client := newClient(t)
	pcm := append(tonePCM(1, 1), tonePCM(1, 1)...)
	var finals []*voxgatev1.StreamResult
	for result, err := range client.StreamTranscribe(context.Background(), bytes.NewReader(pcm), 16000) {
		if err != nil {
			t.Fatal(err)
		}
		if result.IsFinal {
			finals = append(finals, result)
		}
	}
	if len(finals) != 2 || finals[0].UtteranceIndex != 0 || finals[1].UtteranceIndex != 1 {
		t.Fatalf("finals %v", finals)
	}
}

func TestStreamTranscribeAtRealTimePaceSendsInterims(t *testing.T) {
	client := newClient(t)
	pcm := tonePCM(2.5, 1)
	interims := 0
	for result, err := range client.StreamTranscribe(context.Background(),
		voxgate.Paced(bytes.NewReader(pcm), 16000), 16000, voxgate.WithInterimResults()) {
		if err != nil {
			t.Fatal(err)
		}
		if !result.IsFinal {
			interims++
		}
	}
	if interims == 0 {
		t.Error("no interim result at real-time pace")
	}
}

func TestListModels(t *testing.T) {
	models, err := newClient(t).ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The two configured, and perhaps what the fake itself reports besides.
	configured := 0
	for _, model := range models {
		if model.Configured {
			configured++
		} else if model.Id != "fake-model" {
			t.Errorf("unexpected model %v", model)
		}
	}
	if configured != 2 {
		t.Errorf("models %v", models)
	}
}

func TestErrorsAreTyped(t *testing.T) {
	client := newClient(t, voxgate.WithRetries(0))
	_, err := client.Transcribe(context.Background(), []byte("not audio at all"))
	var failure *voxgate.Error
	if !errors.Is(err, voxgate.ErrInvalidRequest) || !errors.As(err, &failure) || failure.RequestID == "" {
		t.Errorf("bad audio: %v", err)
	}
	fakeControl(t, "/_fake/default", map[string]any{"latency_ms": 3000})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = client.Chat(ctx, []*voxgatev1.ChatMessage{voxgate.User("hi")})
	if !errors.Is(err, voxgate.ErrUpstreamTimeout) {
		t.Errorf("slow upstream: %v", err)
	}
}

func TestTranscribeBatchGivesEachFileItsResultOrError(t *testing.T) {
	client := newClient(t)
	fakeControl(t, "/_fake/default", map[string]any{"latency_ms": 200})
	defer fakeControl(t, "/_fake/default", map[string]any{})
	files := []voxgate.BatchFile{
		{ID: "one", Audio: wav(tonePCM(1, 0))},
		{ID: "two", Audio: wav(tonePCM(2, 0))},
		{ID: "broken", Audio: []byte("not audio at all, not at all")},
		{ID: "three", Audio: wav(tonePCM(3, 0))},
	}
	var reports []*voxgate.BatchProgress
	results, err := client.TranscribeBatch(context.Background(), files,
		voxgate.WithPollInterval(100*time.Millisecond),
		voxgate.WithBatchProgress(func(p *voxgate.BatchProgress) { reports = append(reports, p) }))
	if err != nil {
		t.Fatal(err)
	}
	// tonePCM adds half a second of silence.
	for i, want := range []float64{1.5, 2.5, 0, 3.5} {
		result := results[i]
		if result.ID != files[i].ID {
			t.Errorf("result %d is %q, want %q", i, result.ID, files[i].ID)
		}
		if want == 0 {
			if !errors.Is(result.Err, voxgate.ErrInvalidRequest) || result.Result != nil {
				t.Errorf("broken file: result %v, error %v", result.Result, result.Err)
			}
			continue
		}
		if result.Err != nil {
			t.Fatalf("%s: %v", result.ID, result.Err)
		}
		if got := result.Result.AudioDuration.AsDuration().Seconds(); got < want-0.05 || got > want+0.05 {
			t.Errorf("%s: %v s of audio, want %v", result.ID, got, want)
		}
	}
	last := reports[len(reports)-1]
	if last.FilesDone != 4 || last.FilesFailed != 1 {
		t.Errorf("last progress: %d done, %d failed; want 4 and 1", last.FilesDone, last.FilesFailed)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].FilesDone < reports[i-1].FilesDone {
			t.Fatalf("files done went back from %d to %d", reports[i-1].FilesDone, reports[i].FilesDone)
		}
	}
}
