#include "tests/call_mix.h"

namespace voxgate::testing {

bool WriteAudio(grpc::ClientReaderWriter<v1::StreamTranscribeRequest,
                                         v1::StreamTranscribeResponse>& stream,
                const std::string& audio, std::size_t piece) {
  for (std::size_t at = 0; at < audio.size(); at += piece) {
    v1::StreamTranscribeRequest message;
    message.set_audio(audio.substr(at, piece));
    if (!stream.Write(message)) return false;
  }
  return true;
}

grpc::Status RunCall(v1::VoxgateService::Stub& stub, CallKind kind,
                     grpc::ClientContext* context, const std::string& wav) {
  v1::ChatRequest chat;
  v1::ChatMessage* message = chat.add_messages();
  message->set_role(v1::ROLE_USER);
  message->add_content()->set_text("tell me something");
  switch (kind) {
    case CallKind::kChat: {
      v1::ChatResponse response;
      return stub.Chat(context, chat, &response);
    }
    case CallKind::kChatStream: {
      auto reader = stub.ChatStream(context, chat);
      v1::ChatChunk chunk;
      while (reader->Read(&chunk)) {
      }
      return reader->Finish();
    }
    case CallKind::kTranscribe: {
      v1::TranscribeRequest request;
      request.mutable_audio()->set_content(wav);
      v1::TranscribeResponse response;
      return stub.Transcribe(context, request, &response);
    }
    case CallKind::kStreamTranscribe: {
      auto stream = stub.StreamTranscribe(context);
      v1::StreamTranscribeRequest config;
      config.mutable_config()->mutable_format()->set_encoding(
          v1::AUDIO_ENCODING_WAV);
      if (stream->Write(config)) WriteAudio(*stream, wav, 32000);
      stream->WritesDone();
      v1::StreamTranscribeResponse response;
      while (stream->Read(&response)) {
      }
      return stream->Finish();
    }
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, "unknown call kind");
}

}  // namespace voxgate::testing
