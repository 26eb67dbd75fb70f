package voxgate

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc"

	v1 "github.com/voxgate/voxgate/client/go/voxgatev1"
)

// RecognitionOption adjusts a Transcribe or StreamTranscribe recognition config.
type RecognitionOption func(*v1.RecognitionConfig)

// WithModel picks a model from ListModels; default the gateway's audio pool.
func WithModel(model string) RecognitionOption {
	return func(c *v1.RecognitionConfig) { c.Model = model }
}

// WithLanguage gives a BCP-47 language hint ("en", "fr-FR").
func WithLanguage(language string) RecognitionOption {
	return func(c *v1.RecognitionConfig) { c.LanguageCodes = append(c.LanguageCodes, language) }
}

// WithOutputFormats asks for segments, SRT or VTT besides the text.
func WithOutputFormats(formats ...v1.OutputFormat) RecognitionOption {
	return func(c *v1.RecognitionConfig) { c.OutputFormats = append(c.OutputFormats, formats...) }
}

// Transcribe transcribes audio in any common format. Long audio is cut at
// silences and its chunks transcribed side by side by the gateway.
func (c *Client) Transcribe(ctx context.Context, audio []byte, opts ...RecognitionOption) (*v1.TranscribeResponse, error) {
	return c.transcribe(ctx, &v1.AudioInput{Content: audio}, opts)
}

// TranscribeURL transcribes the audio at uri (https://, or http:// where the
// gateway allows it), which the gateway fetches itself.
func (c *Client) TranscribeURL(ctx context.Context, uri string, opts ...RecognitionOption) (*v1.TranscribeResponse, error) {
	return c.transcribe(ctx, &v1.AudioInput{Uri: uri}, opts)
}

func (c *Client) transcribe(ctx context.Context, audio *v1.AudioInput, opts []RecognitionOption) (*v1.TranscribeResponse, error) {
	config := &v1.RecognitionConfig{}
	for _, opt := range opts {
		opt(config)
	}
	request := &v1.TranscribeRequest{Audio: audio, Config: config}
	return unary(c, ctx, func(ctx context.Context, o ...grpc.CallOption) (*v1.TranscribeResponse, error) {
		return c.stub.Transcribe(ctx, request, o...)
	})
}

// Analyze asks instruction about audio. DIRECT sends the audio to a multimodal
// model; CASCADE transcribes it and asks the text model; UNSPECIFIED lets the
// server pick (DIRECT when an audio chat model is configured). DIRECT's
// transcript costs a second upstream step: set IncludeTranscript on a request
// of your own and call the stub for it.
func (c *Client) Analyze(ctx context.Context, audio []byte, instruction string, mode v1.AnalyzeMode) (*v1.AnalyzeResponse, error) {
	request := &v1.AnalyzeRequest{Audio: &v1.AudioInput{Content: audio}, Instruction: instruction,
		Mode: mode}
	return unary(c, ctx, func(ctx context.Context, o ...grpc.CallOption) (*v1.AnalyzeResponse, error) {
		return c.stub.Analyze(ctx, request, o...)
	})
}

// Text is a chat message of one text part.
func Text(role v1.Role, text string) *v1.ChatMessage {
	return &v1.ChatMessage{Role: role, Content: []*v1.ContentPart{{Part: &v1.ContentPart_Text{Text: text}}}}
}

// User and System are the common Text messages.
func User(text string) *v1.ChatMessage   { return Text(v1.Role_ROLE_USER, text) }
func System(text string) *v1.ChatMessage { return Text(v1.Role_ROLE_SYSTEM, text) }

// ChatOption adjusts a chat request (model, generation parameters).
type ChatOption func(*v1.ChatRequest)

// WithChatModel picks the model; default the gateway's text pool.
func WithChatModel(model string) ChatOption { return func(r *v1.ChatRequest) { r.Model = model } }

// WithMaxTokens bounds the answer's length.
func WithMaxTokens(n int32) ChatOption {
	return func(r *v1.ChatRequest) { generation(r).MaxTokens = &n }
}

// WithTemperature sets the sampling temperature.
func WithTemperature(t float32) ChatOption {
	return func(r *v1.ChatRequest) { generation(r).Temperature = &t }
}

// WithTools declares functions the model may call; the answer's ToolCalls
// (FinishReason TOOL_CALLS) are sent back on an assistant message, then one
// ROLE_TOOL message per call with its ToolCallId.
func WithTools(tools ...*v1.Tool) ChatOption {
	return func(r *v1.ChatRequest) { r.Tools = append(r.Tools, tools...) }
}

// WithToolChoice says whether, or which, tool the model must call.
func WithToolChoice(choice *v1.ToolChoice) ChatOption {
	return func(r *v1.ChatRequest) { r.ToolChoice = choice }
}

func generation(r *v1.ChatRequest) *v1.GenerationConfig {
	if r.Generation == nil {
		r.Generation = &v1.GenerationConfig{}
	}
	return r.Generation
}

func chatRequest(messages []*v1.ChatMessage, opts []ChatOption) *v1.ChatRequest {
	request := &v1.ChatRequest{Messages: messages}
	for _, opt := range opts {
		opt(request)
	}
	return request
}

// Chat returns the model's whole answer.
func (c *Client) Chat(ctx context.Context, messages []*v1.ChatMessage, opts ...ChatOption) (*v1.ChatResponse, error) {
	request := chatRequest(messages, opts)
	return unary(c, ctx, func(ctx context.Context, o ...grpc.CallOption) (*v1.ChatResponse, error) {
		return c.stub.Chat(ctx, request, o...)
	})
}

// ChatStream yields the answer's text deltas as the model produces them; the
// last pair carries the error, if any. Breaking out of the loop cancels the
// call, and the gateway aborts the upstream request.
func (c *Client) ChatStream(ctx context.Context, messages []*v1.ChatMessage, opts ...ChatOption) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		ctx, cancel := c.withDeadline(ctx)
		defer cancel()
		var header grpcMetadata
		stream, err := c.stub.ChatStream(ctx, chatRequest(messages, opts), grpc.Header(&header.md))
		if err != nil {
			yield("", wrap(err, ""))
			return
		}
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield("", wrap(err, header.requestID()))
				return
			}
			if chunk.Delta != "" && !yield(chunk.Delta, nil) {
				return
			}
		}
	}
}

// ChatStreamChunks yields every chunk of the answer: text deltas, tool-call
// pieces, and last the finish reason and usage. The last pair carries the
// error, if any. Breaking out of the loop cancels the call.
func (c *Client) ChatStreamChunks(ctx context.Context, messages []*v1.ChatMessage, opts ...ChatOption) iter.Seq2[*v1.ChatChunk, error] {
	return func(yield func(*v1.ChatChunk, error) bool) {
		ctx, cancel := c.withDeadline(ctx)
		defer cancel()
		var header grpcMetadata
		stream, err := c.stub.ChatStream(ctx, chatRequest(messages, opts), grpc.Header(&header.md))
		if err != nil {
			yield(nil, wrap(err, ""))
			return
		}
		for {
			chunk, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(nil, wrap(err, header.requestID()))
				return
			}
			if !yield(chunk, nil) {
				return
			}
		}
	}
}

// StreamOption adjusts a StreamTranscribe config.
type StreamOption func(*v1.StreamTranscribeConfig)

// WithInterimResults asks for interim results while an utterance is in progress.
func WithInterimResults() StreamOption {
	return func(c *v1.StreamTranscribeConfig) { c.InterimResults = true }
}

// WithRecognition applies recognition options (model, language) to the stream.
func WithRecognition(opts ...RecognitionOption) StreamOption {
	return func(c *v1.StreamTranscribeConfig) {
		for _, opt := range opts {
			opt(c.Recognition)
		}
	}
}

// StreamTranscribe sends raw 16-bit mono PCM at sampleRate from audio as it
// can be read (pace it by what feeds the reader, e.g. a microphone) and
// yields results as they come: interim ones when asked, then each
// utterance's final result in order. The last pair carries the error, if any.
func (c *Client) StreamTranscribe(ctx context.Context, audio io.Reader, sampleRate int, opts ...StreamOption) iter.Seq2[*v1.StreamResult, error] {
	return func(yield func(*v1.StreamResult, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var header grpcMetadata
		stream, err := c.stub.StreamTranscribe(ctx, grpc.Header(&header.md))
		if err != nil {
			yield(nil, wrap(err, ""))
			return
		}
		config := &v1.StreamTranscribeConfig{
			Format: &v1.AudioFormat{Encoding: v1.AudioEncoding_AUDIO_ENCODING_LINEAR16,
				SampleRateHertz: int32(sampleRate), ChannelCount: 1},
			Recognition: &v1.RecognitionConfig{},
		}
		for _, opt := range opts {
			opt(config)
		}
		sendErr := make(chan error, 1)
		go func() {
			sendErr <- send(stream, config, audio, sampleRate)
		}()
		for {
			response, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				if err := <-sendErr; err != nil {
					yield(nil, err)
				}
				return
			}
			if err != nil {
				yield(nil, wrap(err, header.requestID()))
				return
			}
			if response.Result != nil && !yield(response.Result, nil) {
				return
			}
		}
	}
}

func send(stream v1.VoxgateService_StreamTranscribeClient, config *v1.StreamTranscribeConfig, audio io.Reader, sampleRate int) error {
	if err := stream.Send(&v1.StreamTranscribeRequest{Request: &v1.StreamTranscribeRequest_Config{Config: config}}); err != nil {
		return nil // the receive side reports the stream's status
	}
	buffer := make([]byte, sampleRate/5) // 100 ms
	for {
		n, err := io.ReadFull(audio, buffer)
		if n > 0 {
			piece := append([]byte(nil), buffer[:n]...)
			if stream.Send(&v1.StreamTranscribeRequest{Request: &v1.StreamTranscribeRequest_Audio{Audio: piece}}) != nil {
				return nil
			}
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

// ListModels lists the configured models with their pools and capabilities.
func (c *Client) ListModels(ctx context.Context) ([]*v1.ModelInfo, error) {
	response, err := unary(c, ctx, func(ctx context.Context, o ...grpc.CallOption) (*v1.ListModelsResponse, error) {
		return c.stub.ListModels(ctx, &v1.ListModelsRequest{}, o...)
	})
	if err != nil {
		return nil, err
	}
	return response.Models, nil
}

// Paced wraps a reader of 16-bit mono PCM at sampleRate so that it yields its
// audio no faster than real time, as a microphone would.
func Paced(pcm io.Reader, sampleRate int) io.Reader {
	return &pacedReader{pcm: pcm, bytesPerSecond: float64(sampleRate * 2), start: time.Now()}
}

type pacedReader struct {
	pcm            io.Reader
	bytesPerSecond float64
	start          time.Time
	read           int64
}

func (p *pacedReader) Read(b []byte) (int, error) {
	due := p.start.Add(time.Duration(float64(p.read) / p.bytesPerSecond * float64(time.Second)))
	time.Sleep(time.Until(due))
	n, err := p.pcm.Read(b)
	p.read += int64(n)
	return n, err
}
