#ifndef VOXGATE_HTTP_OPENAI_TRANSCRIPTION_FORM_H_
#define VOXGATE_HTTP_OPENAI_TRANSCRIPTION_FORM_H_

// POST /v1/audio/transcriptions and /translations: the multipart form in, and
// the answer in OpenAI's response formats (json, text, srt, vtt,
// verbose_json) out. Pure functions.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "http/multipart.h"
#include "voxgate/v1/transcribe.pb.h"

namespace voxgate::http {

// The transcription request's form fields.
struct TranscriptionForm {
  std::size_t file_part = 0;  // index of the `file` part
  std::string model;
  std::string language;
  std::string prompt;
  std::string temperature;
  std::string response_format;  // json, text, srt, vtt, verbose_json
  std::vector<std::string> timestamp_granularities;  // word, segment
};

// The form's fields from its parts (`body` holds their bytes). INVALID_
// ARGUMENT naming the field: no file part, text that is not UTF-8 or over
// 64 KiB, more than 8 timestamp granularities.
absl::StatusOr<TranscriptionForm> TranscriptionFormFromParts(
    const std::vector<FormPart>& parts, absl::string_view body);

// The RecognitionConfig for a transcription (or translation) form.
// INVALID_ARGUMENT naming the form field.
absl::StatusOr<v1::RecognitionConfig> RecognitionFromForm(
    const TranscriptionForm& form, bool translate);

// The response body and content type for the form's response_format.
struct TranscriptionBody {
  std::string content_type;
  std::string body;
};
TranscriptionBody TranscriptionResponseBody(
    const v1::TranscribeResponse& response, const TranscriptionForm& form,
    bool translate);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_OPENAI_TRANSCRIPTION_FORM_H_
