#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "upstream/openai_json_fields.h"
#include "upstream/openai_protocol.h"

namespace voxgate::upstream {

using openai_fields::Json;
using openai_fields::NotA;
using openai_fields::NumberOr;
using openai_fields::ParseTokenUsage;
using openai_fields::PrimaryLanguage;
using openai_fields::StringOr;

namespace {

std::string AudioMime(const std::string& format) {
  if (format == "mp3") return "audio/mpeg";
  return absl::StrCat("audio/", format);
}

}  // namespace

HttpRequest TranscriptionHttpRequest(const std::string& base_url,
                                     const TranscriptionRequest& request,
                                     const std::string& model, bool stream) {
  HttpRequest http;
  http.url =
      absl::StrCat(base_url, request.translate ? "/audio/translations"
                                               : "/audio/transcriptions");
  const std::string& chosen = request.model.empty() ? model : request.model;
  http.form.push_back({"file", request.audio,
                       absl::StrCat("audio.", request.audio_format),
                       AudioMime(request.audio_format)});
  if (!chosen.empty()) http.form.push_back({"model", chosen, "", ""});
  if (!request.language.empty() && !request.translate) {
    http.form.push_back(
        {"language", PrimaryLanguage(request.language), "", ""});
  }
  if (!request.prompt.empty())
    http.form.push_back({"prompt", request.prompt, "", ""});
  if (request.temperature) {
    http.form.push_back(
        {"temperature", absl::StrCat(*request.temperature), "", ""});
  }
  const bool verbose = request.want_segments || request.want_words;
  http.form.push_back(
      {"response_format", verbose ? "verbose_json" : "json", "", ""});
  if (verbose && !request.translate) {
    if (request.want_segments) {
      http.form.push_back({"timestamp_granularities[]", "segment", "", ""});
    }
    if (request.want_words) {
      http.form.push_back({"timestamp_granularities[]", "word", "", ""});
    }
  }
  if (stream) http.form.push_back({"stream", "true", "", ""});
  for (const auto& [name, value] : request.extra_fields) {
    http.form.push_back({name, value, "", ""});
  }
  return http;
}

absl::StatusOr<Transcription> ParseTranscription(absl::string_view body) {
  const Json json = Json::parse(body.begin(), body.end(), nullptr, false);
  if (!json.is_object() || !json.contains("text") ||
      !json["text"].is_string()) {
    return NotA("an OpenAI transcription", body);
  }
  Transcription result;
  result.text = json["text"].get<std::string>();
  result.language = StringOr(json, "language");
  result.duration_seconds = NumberOr(json, "duration", 0);
  if (auto segments = json.find("segments");
      segments != json.end() && segments->is_array()) {
    for (const Json& segment : *segments) {
      if (!segment.is_object()) return NotA("a segment list", body);
      result.segments.push_back(
          {NumberOr(segment, "start", 0), NumberOr(segment, "end", 0),
           StringOr(segment, "text"),
           static_cast<float>(NumberOr(segment, "avg_logprob", 0)),
           static_cast<float>(NumberOr(segment, "no_speech_prob", 0))});
    }
  }
  if (auto words = json.find("words");
      words != json.end() && words->is_array()) {
    for (const Json& word : *words) {
      if (!word.is_object()) return NotA("a word list", body);
      // whisper.cpp names the confidence "probability".
      result.words.push_back(
          {StringOr(word, "word"), NumberOr(word, "start", 0),
           NumberOr(word, "end", 0),
           static_cast<float>(NumberOr(word, "probability", 0))});
    }
  }
  if (auto usage = json.find("usage"); usage != json.end()) {
    result.usage = ParseTokenUsage(*usage);
  }
  return result;
}

ChatRequest ChatAudioTranscriptionRequest(const TranscriptionRequest& request,
                                          const std::string& system_prompt) {
  std::string instruction =
      request.translate
          ? "Translate this audio to English. Reply with the "
            "translation only."
          : "Transcribe this audio. Reply with the transcript only.";
  if (!request.language.empty()) {
    absl::StrAppend(&instruction,
                    " (language: ", PrimaryLanguage(request.language), ")");
  }
  if (!request.prompt.empty())
    absl::StrAppend(&instruction, " Context: ", request.prompt);
  ChatRequest chat;
  chat.model = request.model;
  chat.messages.push_back(
      ChatMessage::Of("system", {ChatPart::Text(system_prompt)}));
  chat.messages.push_back(ChatMessage::Of(
      "user", {ChatPart::Text(std::move(instruction)),
               ChatPart::Audio(request.audio, request.audio_format)}));
  chat.params.temperature = request.temperature;
  return chat;
}

absl::Status TranscriptionStreamDecoder::Decode(
    const SseEvent& event, std::vector<std::string>& deltas,
    std::optional<Transcription>& final) {
  if (event.data == "[DONE]") {
    Transcription done;
    done.text = text_;
    done.usage = usage_;
    final = std::move(done);
    return absl::OkStatus();
  }
  const Json json = Json::parse(event.data, nullptr, false);
  if (!json.is_object())
    return NotA("a transcription stream event", event.data);
  if (auto error = json.find("error"); error != json.end()) {
    return absl::UnavailableError(
        absl::StrCat("upstream stream failed: ", Excerpt(error->dump())));
  }
  const std::string type = StringOr(json, "type");
  if (type == "transcript.text.delta") {
    deltas.push_back(StringOr(json, "delta"));
    text_ += deltas.back();
  } else if (type == "transcript.text.done") {
    Transcription done;
    done.text = StringOr(json, "text");
    if (auto usage = json.find("usage"); usage != json.end()) {
      done.usage = ParseTokenUsage(*usage);
    }
    final = std::move(done);
  } else if (StringOr(json, "object") == "transcription.chunk") {
    if (auto choices = json.find("choices");
        choices != json.end() && choices->is_array() && !choices->empty()) {
      const Json& choice = (*choices)[0];
      if (auto delta = choice.find("delta");
          delta != choice.end() && delta->is_object()) {
        const std::string content = StringOr(*delta, "content");
        if (!content.empty()) {
          deltas.push_back(content);
          text_ += content;
        }
      }
    }
    if (auto usage = json.find("usage");
        usage != json.end() && usage->is_object()) {
      usage_ = ParseTokenUsage(*usage);
    }
  } else if (!type.empty() && type.rfind("transcript.text.", 0) == 0) {
    // transcript.text.segment and future event types carry nothing we need.
  } else {
    return NotA("a transcription stream event", event.data);
  }
  return absl::OkStatus();
}

}  // namespace voxgate::upstream
