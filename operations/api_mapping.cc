#include "operations/api_mapping.h"

#include <cmath>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json_limits.h"
#include "common/proto_duration.h"
#include "google/protobuf/util/time_util.h"
#include "operations/field_checks.h"

namespace voxgate::operations {
namespace {

using ::google::protobuf::util::TimeUtil;

google::protobuf::Duration ToProto(double seconds) {
  return TimeUtil::NanosecondsToDuration(
      static_cast<int64_t>(std::llround(seconds * 1e9)));
}

const std::set<absl::string_view>& TranscriptionOwnedKeys() {
  static const auto* keys =
      new std::set<absl::string_view>{"file",
                                      "model",
                                      "language",
                                      "prompt",
                                      "temperature",
                                      "response_format",
                                      "stream",
                                      "timestamp_granularities",
                                      "timestamp_granularities[]",
                                      "messages"};
  return *keys;
}

}  // namespace

absl::StatusOr<audio::DecodeOptions> DecodeOptionsFor(
    const v1::AudioInput& audio, const Config& config, absl::string_view field,
    AudioContent content_kind) {
  audio::DecodeOptions options;
  const std::string content = absl::StrCat(field, ".content");
  if (content_kind == AudioContent::kInline) {
    if (!audio.uri().empty()) {
      return FieldError(absl::StrCat(field, ".uri"),
                        "is fetched by Transcribe only; send the audio as "
                        "content here");
    }
    if (audio.content().empty()) return FieldError(content, "is empty");
    if (static_cast<int64_t>(audio.content().size()) >
        config.audio().max_audio_bytes()) {
      return FieldError(content, absl::StrCat(audio.content().size(),
                                              " bytes is over the limit of ",
                                              config.audio().max_audio_bytes(),
                                              " (audio.max_audio_bytes)"));
    }
  }
  options.max_input_bytes = config.audio().max_audio_bytes();
  options.max_duration = ToAbsl(config.audio().max_audio_duration());
  options.target_sample_rate = config.audio().target_sample_rate_hertz();
  const v1::AudioFormat& format = audio.format();
  switch (format.encoding()) {
    case v1::AUDIO_ENCODING_LINEAR16:
      options.format = audio::InputFormat::kS16le;
      break;
    case v1::AUDIO_ENCODING_MULAW:
      options.format = audio::InputFormat::kMulaw;
      break;
    case v1::AUDIO_ENCODING_ALAW:
      options.format = audio::InputFormat::kAlaw;
      break;
    default:
      options.format =
          audio::InputFormat::kAuto;  // containers describe themselves
      break;
  }
  if (options.format != audio::InputFormat::kAuto) {
    const std::string prefix =
        field.empty() ? "format" : absl::StrCat(field, ".format");
    const std::string rate = absl::StrCat(prefix, ".sample_rate_hertz");
    const std::string channels = absl::StrCat(prefix, ".channel_count");
    if (absl::Status status =
            CheckRange(rate, format.sample_rate_hertz(), 8000, 192000);
        !status.ok()) {
      return FieldError(
          rate, absl::StrCat("raw ", v1::AudioEncoding_Name(format.encoding()),
                             " audio needs it, 8000 to 192000; got ",
                             format.sample_rate_hertz()));
    }
    if (format.channel_count() < 1 || format.channel_count() > 8) {
      return FieldError(channels,
                        absl::StrCat("raw audio needs it, 1 to 8; got ",
                                     format.channel_count()));
    }
    options.input_sample_rate = format.sample_rate_hertz();
    options.input_channels = format.channel_count();
  }
  return options;
}

absl::StatusOr<TranscriptionJobOptions> TranscriptionOptionsFor(
    const v1::RecognitionConfig& recognition, const v1::AudioInput& audio,
    const Config& config, const upstream::TranscriptionBackend& backend,
    const std::string& pool_name, std::vector<std::string>& warnings,
    AudioContent content) {
  TranscriptionJobOptions options;
  absl::StatusOr<audio::DecodeOptions> decode = DecodeOptionsFor(
      audio, config, content == AudioContent::kInline ? "audio" : "", content);
  if (!decode.ok()) return decode.status();
  options.preprocess.decode = *decode;

  const v1::PreprocessingConfig& pre = recognition.preprocessing();
  if (pre.target_sample_rate_hertz() != 0) {
    if (absl::Status s =
            CheckRange("config.preprocessing.target_sample_rate_hertz",
                       pre.target_sample_rate_hertz(), 8000, 48000);
        !s.ok()) {
      return s;
    }
    options.preprocess.decode.target_sample_rate =
        pre.target_sample_rate_hertz();
  }
  if (pre.target_channel_count() != 0) {
    if (absl::Status s = CheckRange("config.preprocessing.target_channel_count",
                                    pre.target_channel_count(), 1, 2);
        !s.ok()) {
      return s;
    }
    options.preprocess.decode.target_channels = pre.target_channel_count();
  }
  options.preprocess.normalize_loudness =
      pre.has_normalize_loudness() ? pre.normalize_loudness()
                                   : config.audio().normalize_loudness();
  options.preprocess.loudness.target_lufs =
      config.audio().target_loudness_lufs();
  if (pre.target_loudness_lufs() != 0) {
    if (absl::Status s =
            CheckRange<double>("config.preprocessing.target_loudness_lufs",
                               pre.target_loudness_lufs(), -70, -5);
        !s.ok()) {
      return s;
    }
    options.preprocess.loudness.target_lufs = pre.target_loudness_lufs();
  }

  const v1::ChunkingConfig& chunking = recognition.chunking();
  options.segment.max_chunk_seconds =
      chunking.max_chunk_seconds() != 0
          ? chunking.max_chunk_seconds()
          : absl::ToDoubleSeconds(ToAbsl(config.audio().max_chunk()));
  if (absl::Status s =
          CheckRange<double>("config.chunking.max_chunk_seconds",
                             options.segment.max_chunk_seconds, 1, 600);
      !s.ok()) {
    return s;
  }
  // proto3 cannot tell 0 from unset: 0 takes the server's default.
  options.segment.overlap_seconds =
      chunking.overlap_seconds() != 0
          ? chunking.overlap_seconds()
          : absl::ToDoubleSeconds(ToAbsl(config.audio().chunk_overlap()));
  if (absl::Status s =
          CheckRange<double>("config.chunking.overlap_seconds",
                             options.segment.overlap_seconds, 0, 5);
      !s.ok()) {
    return s;
  }
  options.segment.split_on_silence =
      !chunking.has_split_on_silence() || chunking.split_on_silence();
  options.max_chunks_in_flight =
      static_cast<int>(config.limits().max_chunks_in_flight());

  upstream::TranscriptionRequest& request = options.request;
  if (recognition.language_codes_size() > 10) {
    return FieldError("config.language_codes", "at most 10");
  }
  if (recognition.language_codes_size() > 0 &&
      absl::AsciiStrToLower(recognition.language_codes(0)) != "auto") {
    request.language = recognition.language_codes(0);
    if (recognition.language_codes_size() > 1) {
      warnings.push_back(absl::StrCat("config.language_codes: pool ", pool_name,
                                      " takes one language; used ",
                                      recognition.language_codes(0)));
    }
  }
  if (recognition.prompt().size() > 4096) {
    return FieldError("config.prompt", "longer than 4096 characters");
  }
  request.prompt = recognition.prompt();
  if (recognition.phrase_hints_size() > 500) {
    return FieldError("config.phrase_hints", "at most 500");
  }
  std::vector<std::string> phrases;
  bool boosted = false;
  for (int i = 0; i < recognition.phrase_hints_size(); ++i) {
    const v1::PhraseHint& hint = recognition.phrase_hints(i);
    if (hint.phrase().empty() || hint.phrase().size() > 100) {
      return FieldError(absl::StrCat("config.phrase_hints[", i, "].phrase"),
                        "must be 1 to 100 characters");
    }
    if (absl::Status s = CheckRange<float>(
            absl::StrCat("config.phrase_hints[", i, "].boost"), hint.boost(), 0,
            20);
        !s.ok()) {
      return s;
    }
    boosted |= hint.boost() > 0;
    phrases.push_back(hint.phrase());
  }
  if (!phrases.empty()) {
    // OpenAI-compatible servers know no phrase lists; the prompt is the lever
    // they all have.
    absl::StrAppend(&request.prompt, request.prompt.empty() ? "" : " ",
                    "Vocabulary: ", absl::StrJoin(phrases, ", "), ".");
    if (boosted) {
      warnings.push_back(
          absl::StrCat("config.phrase_hints: pool ", pool_name,
                       " has no phrase boosts; the phrases were added to "
                       "the prompt"));
    }
  }
  if (absl::Status s = CheckRange<float>("config.temperature",
                                         recognition.temperature(), 0, 1);
      !s.ok()) {
    return s;
  }
  if (recognition.temperature() > 0)
    request.temperature = recognition.temperature();
  request.translate = recognition.task() == v1::TASK_TRANSLATE;
  if (request.translate && !backend.translates()) {
    warnings.push_back(absl::StrCat(
        "config.task: pool ", pool_name,
        " cannot translate; the transcript is in the spoken language"));
  }
  if (request.translate && !recognition.target_language().empty() &&
      absl::AsciiStrToLower(recognition.target_language()).rfind("en", 0) !=
          0) {
    warnings.push_back(absl::StrCat("config.target_language: pool ", pool_name,
                                    " translates to English only"));
  }
  bool wants_segments = recognition.enable_segment_timestamps();
  for (int format : recognition.output_formats()) {
    wants_segments |= format == v1::OUTPUT_FORMAT_SEGMENTS ||
                      format == v1::OUTPUT_FORMAT_SRT ||
                      format == v1::OUTPUT_FORMAT_VTT;
  }
  request.want_segments = wants_segments;
  request.want_words = recognition.enable_word_timestamps();
  if (wants_segments && !backend.returns_segments()) {
    warnings.push_back(
        absl::StrCat("config.enable_segment_timestamps: pool ", pool_name,
                     " returns no segments; each chunk is one segment"));
  }
  if (recognition.enable_word_timestamps() && !backend.returns_words()) {
    warnings.push_back(absl::StrCat("config.enable_word_timestamps: pool ",
                                    pool_name, " returns no word timings"));
  }
  if (recognition.enable_word_confidence() && !backend.returns_words()) {
    warnings.push_back(absl::StrCat("config.enable_word_confidence: pool ",
                                    pool_name, " returns no word confidences"));
  }
  if (absl::Status options_ok = CheckBackendOptions(
          recognition.backend_options(), "config.backend_options",
          TranscriptionOwnedKeys(), 1024);
      !options_ok.ok()) {
    return options_ok;
  }
  for (const auto& [key, value] : recognition.backend_options())
    request.extra_fields.emplace_back(key, value);
  return options;
}

void FillTranscribeResponse(const TranscriptionOutcome& outcome,
                            const v1::RecognitionConfig& recognition,
                            v1::TranscribeResponse& response) {
  const StitchedTranscript& transcript = outcome.transcript;
  response.set_text(transcript.text);
  response.set_language_code(transcript.language.empty() &&
                                     recognition.language_codes_size()
                                 ? recognition.language_codes(0)
                                 : transcript.language);
  *response.mutable_audio_duration() = ToProto(outcome.audio_seconds);
  bool segments = recognition.enable_segment_timestamps() ||
                  recognition.enable_word_timestamps();
  bool srt = false, vtt = false;
  for (int format : recognition.output_formats()) {
    segments |= format == v1::OUTPUT_FORMAT_SEGMENTS;
    srt |= format == v1::OUTPUT_FORMAT_SRT;
    vtt |= format == v1::OUTPUT_FORMAT_VTT;
  }
  if (segments) {
    int id = 0;
    std::size_t word = 0;
    for (const upstream::Segment& segment : transcript.segments) {
      v1::Segment* out = response.add_segments();
      out->set_id(id++);
      *out->mutable_start_offset() = ToProto(segment.start_seconds);
      *out->mutable_end_offset() = ToProto(segment.end_seconds);
      out->set_text(segment.text);
      out->set_avg_logprob(segment.avg_logprob);
      out->set_no_speech_prob(segment.no_speech_prob);
      // Words belong to the segment they start in.
      while (recognition.enable_word_timestamps() &&
             word < transcript.words.size() &&
             transcript.words[word].start_seconds <
                 segment.end_seconds + 1e-3) {
        const upstream::Word& w = transcript.words[word++];
        v1::WordInfo* info = out->add_words();
        info->set_word(w.word);
        *info->mutable_start_offset() = ToProto(w.start_seconds);
        *info->mutable_end_offset() = ToProto(w.end_seconds);
        info->set_confidence(w.confidence);
      }
    }
  }
  if (srt) response.set_srt(ToSrt(transcript.segments));
  if (vtt) response.set_vtt(ToVtt(transcript.segments));
  FillUsage(outcome.usage, *response.mutable_usage());
  response.set_model(outcome.model);
}

void FillUsage(const upstream::Usage& usage, v1::Usage& out) {
  out.set_audio_seconds(usage.audio_seconds);
  out.set_input_tokens(usage.input_tokens);
  out.set_audio_tokens(usage.audio_tokens);
  out.set_output_tokens(usage.output_tokens);
  out.set_total_tokens(usage.total_tokens);
}

}  // namespace voxgate::operations
