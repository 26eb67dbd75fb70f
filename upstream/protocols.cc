#include "upstream/protocols.h"

namespace voxgate::upstream {

const std::vector<ProtocolInfo>& AllProtocols() {
  // Whisper-style servers (vLLM, OpenAI, speaches, whisper.cpp) return
  // segments with timestamps and detect the language; llama-server and vLLM
  // do not return words. Chat servers with an audio encoder transcribe by
  // being asked to, with a system prompt. pocketsphinx gives words with
  // times, in US English, and no segments of its own (the gateway's chunks
  // are the segments).
  static const auto* const kProtocols = new std::vector<ProtocolInfo>{
      {config::v1::PROTOCOL_OPENAI_TRANSCRIPTIONS, "openai_transcriptions",
       OpenAiDialect::kTranscriptions, /*transcribes=*/true,
       /*text_chat=*/false, /*audio_chat=*/false, /*translates=*/true,
       /*segment_timestamps=*/true, /*word_timestamps=*/false,
       /*language_detection=*/true, /*default_model=*/"",
       /*default_system_prompt=*/nullptr, /*languages=*/{},
       /*has_endpoints=*/true},
      {config::v1::PROTOCOL_OPENAI_CHAT_AUDIO, "openai_chat_audio",
       OpenAiDialect::kChatAudio, /*transcribes=*/true, /*text_chat=*/true,
       /*audio_chat=*/true, /*translates=*/false,
       /*segment_timestamps=*/false, /*word_timestamps=*/false,
       /*language_detection=*/false, /*default_model=*/"",
       /*default_system_prompt=*/
       "You are a helpful assistant that transcribes audio.",
       /*languages=*/{}, /*has_endpoints=*/true},
      {config::v1::PROTOCOL_OPENAI_CHAT, "openai_chat", OpenAiDialect::kChat,
       /*transcribes=*/false, /*text_chat=*/true, /*audio_chat=*/false,
       /*translates=*/false, /*segment_timestamps=*/false,
       /*word_timestamps=*/false, /*language_detection=*/false,
       /*default_model=*/"", /*default_system_prompt=*/nullptr,
       /*languages=*/{}, /*has_endpoints=*/true},
      {config::v1::PROTOCOL_EMBEDDED, "embedded", OpenAiDialect::kNone,
       /*transcribes=*/true, /*text_chat=*/false, /*audio_chat=*/false,
       /*translates=*/false, /*segment_timestamps=*/false,
       /*word_timestamps=*/true, /*language_detection=*/false,
       /*default_model=*/"pocketsphinx-en-us",
       /*default_system_prompt=*/nullptr, /*languages=*/{"en-US"},
       /*has_endpoints=*/false},
  };
  return *kProtocols;
}

const ProtocolInfo* FindProtocol(config::v1::Protocol protocol) {
  for (const ProtocolInfo& info : AllProtocols()) {
    if (info.protocol == protocol) return &info;
  }
  return nullptr;
}

const char* ProtocolNamesForErrors() {
  return "openai_transcriptions, openai_chat_audio, openai_chat or embedded";
}

}  // namespace voxgate::upstream
