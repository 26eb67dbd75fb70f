#include "http/openai_transcription_form.h"

#include "absl/strings/str_cat.h"
#include "common/json_limits.h"
#include "google/protobuf/util/time_util.h"
#include "nlohmann/json.hpp"
#include "operations/field_checks.h"

namespace voxgate::http {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::voxgate::operations::FieldError;
using json = nlohmann::json;

double Seconds(const google::protobuf::Duration& duration) {
  return static_cast<double>(TimeUtil::DurationToMilliseconds(duration)) /
         1000.0;
}

}  // namespace

absl::StatusOr<TranscriptionForm> TranscriptionFormFromParts(
    const std::vector<FormPart>& parts, absl::string_view body) {
  constexpr std::size_t kMaxText = 64 << 10;
  TranscriptionForm form;
  bool has_file = false;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const FormPart& part = parts[i];
    if (part.name == "file") {
      form.file_part = i;
      has_file = true;
      continue;
    }
    std::string* field = nullptr;
    if (part.name == "model") field = &form.model;
    if (part.name == "language") field = &form.language;
    if (part.name == "prompt") field = &form.prompt;
    if (part.name == "temperature") field = &form.temperature;
    if (part.name == "response_format") field = &form.response_format;
    const bool granularity = part.name == "timestamp_granularities[]" ||
                             part.name == "timestamp_granularities";
    if (field == nullptr && !granularity) continue;  // as OpenAI: ignored
    const absl::string_view value = body.substr(part.offset, part.size);
    if (value.size() > kMaxText) {
      return FieldError(part.name, absl::StrCat("over ", kMaxText, " bytes"));
    }
    if (ValidUtf8(value) != value) return FieldError(part.name, "not UTF-8");
    if (granularity) {
      if (form.timestamp_granularities.size() == 8) {
        return FieldError(part.name, "at most 8 values");
      }
      form.timestamp_granularities.emplace_back(value);
    } else {
      field->assign(value.data(), value.size());
    }
  }
  if (!has_file) return FieldError("file", "the form has no file part");
  return form;
}

absl::StatusOr<v1::RecognitionConfig> RecognitionFromForm(
    const TranscriptionForm& form, bool translate) {
  v1::RecognitionConfig config;
  config.set_model(form.model);
  if (!form.language.empty()) config.add_language_codes(form.language);
  config.set_prompt(form.prompt);
  if (!form.temperature.empty()) {
    float temperature = 0;
    if (!absl::SimpleAtof(form.temperature, &temperature)) {
      return FieldError("temperature", "must be a number");
    }
    config.set_temperature(temperature);
  }
  if (translate) config.set_task(v1::TASK_TRANSLATE);
  const std::string& format = form.response_format;
  if (format == "srt") {
    config.add_output_formats(v1::OUTPUT_FORMAT_SRT);
  } else if (format == "vtt") {
    config.add_output_formats(v1::OUTPUT_FORMAT_VTT);
  } else if (format == "verbose_json") {
    config.set_enable_segment_timestamps(true);
  } else if (!format.empty() && format != "json" && format != "text") {
    return FieldError("response_format",
                      absl::StrCat("unknown format \"", format,
                                   "\"; expected json, text, srt, vtt or "
                                   "verbose_json"));
  }
  for (const std::string& granularity : form.timestamp_granularities) {
    if (granularity == "word") {
      config.set_enable_word_timestamps(true);
    } else if (granularity == "segment") {
      config.set_enable_segment_timestamps(true);
    } else {
      return FieldError("timestamp_granularities[]",
                        absl::StrCat("unknown granularity \"", granularity,
                                     "\"; expected word or segment"));
    }
  }
  return config;
}

TranscriptionBody TranscriptionResponseBody(
    const v1::TranscribeResponse& response, const TranscriptionForm& form,
    bool translate) {
  const std::string& format = form.response_format;
  if (format == "text")
    return {"text/plain; charset=utf-8", response.text() + "\n"};
  if (format == "srt") return {"application/x-subrip", response.srt()};
  if (format == "vtt") return {"text/vtt; charset=utf-8", response.vtt()};
  json body = {{"text", response.text()}};
  if (format == "verbose_json") {
    json segments = json::array();
    json words = json::array();
    for (const v1::Segment& segment : response.segments()) {
      segments.push_back({{"id", segment.id()},
                          {"seek", 0},
                          {"start", Seconds(segment.start_offset())},
                          {"end", Seconds(segment.end_offset())},
                          {"text", segment.text()},
                          {"tokens", json::array()},
                          {"temperature", 0.0},
                          {"avg_logprob", segment.avg_logprob()},
                          {"compression_ratio", 0.0},
                          {"no_speech_prob", segment.no_speech_prob()}});
      for (const v1::WordInfo& word : segment.words()) {
        words.push_back({{"word", word.word()},
                         {"start", Seconds(word.start_offset())},
                         {"end", Seconds(word.end_offset())}});
      }
    }
    body = {{"task", translate ? "translate" : "transcribe"},
            {"language", response.language_code()},
            {"duration", Seconds(response.audio_duration())},
            {"text", response.text()},
            {"segments", std::move(segments)}};
    if (!words.empty()) body["words"] = std::move(words);
  }
  if (response.warnings_size() > 0) {
    body["warnings"] = json(std::vector<std::string>(
        response.warnings().begin(), response.warnings().end()));
  }
  return {"application/json", DumpJson(body)};
}

}  // namespace voxgate::http
