#ifndef VOXGATE_UPSTREAM_PROTOCOLS_H_
#define VOXGATE_UPSTREAM_PROTOCOLS_H_

#include <vector>

#include "voxgate/config/v1/config.pb.h"

namespace voxgate::upstream {

// The wire dialect of an OpenAI-compatible protocol.
enum class OpenAiDialect {
  kNone,            // not spoken over HTTP (the embedded engine)
  kTranscriptions,  // POST /audio/transcriptions
  kChatAudio,       // POST /chat/completions with input_audio (and text)
  kChat,            // POST /chat/completions, text
};

// One protocol a pool may speak: the one table config validation and
// defaults, ListModels, routing and the backends read. A protocol added to
// config.proto is added here once.
struct ProtocolInfo {
  config::v1::Protocol protocol;
  const char* name;  // as the config file spells it
  OpenAiDialect dialect;
  // Roles: what its pools may serve.
  bool transcribes;  // Transcribe, uploads, streams, batches
  bool text_chat;    // Chat, ChatStream
  bool audio_chat;   // Chat with audio parts, Analyze DIRECT
  // What its answers carry (ListModels' capabilities).
  bool translates;
  bool segment_timestamps;  // the model's own segments
  bool word_timestamps;
  bool language_detection;
  // Defaults: the pool's only model when it names none ("" for none), the
  // system prompt its transcription requests carry (null for none), and the
  // languages it knows (empty: whatever the model does).
  const char* default_model;
  const char* default_system_prompt;
  std::vector<const char*> languages;
  // Endpoints: required (a model server), or none allowed (in process).
  bool has_endpoints;
};

// Every protocol, in config.proto's order; never PROTOCOL_UNSPECIFIED.
const std::vector<ProtocolInfo>& AllProtocols();

// The entry of `protocol`, or null (PROTOCOL_UNSPECIFIED, or a number this
// build does not know).
const ProtocolInfo* FindProtocol(config::v1::Protocol protocol);

// "openai_transcriptions, openai_chat_audio, openai_chat or embedded".
const char* ProtocolNamesForErrors();

}  // namespace voxgate::upstream

#endif  // VOXGATE_UPSTREAM_PROTOCOLS_H_
