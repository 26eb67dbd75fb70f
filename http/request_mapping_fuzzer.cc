// libFuzzer target for the HTTP door's request mapping: caller bytes as a
// chat body, a multipart transcription form, or a WebSocket message must map
// to a request or to INVALID_ARGUMENT (whose error body serializes), never a
// crash, an exception, a leak or a sanitizer report.
// Build and run: scripts/fuzz.sh http [seconds]; the test command runs it for
// a bounded time from the seed corpus in http/fuzz_corpus.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "http/http_errors.h"
#include "http/multipart.h"
#include "http/openai_json.h"
#include "http/openai_transcription_form.h"
#include "http/stream_messages.h"

namespace voxgate::http {
namespace {

// Every refusal must still make an error body (which echoes caller bytes).
void Answer(const absl::Status& status) {
  if (!status.ok()) (void)ErrorResponse(status);
}

void Chat(absl::string_view body) {
  absl::StatusOr<OpenAiChatRequest> request =
      ChatRequestFromJson(std::string(body));
  Answer(request.status());
}

// The first line is the Content-Type (it names the boundary), the rest the
// body.
void Form(absl::string_view input, bool translate) {
  const std::size_t newline = input.find('\n');
  if (newline == absl::string_view::npos) return;
  const absl::string_view content_type = input.substr(0, newline);
  const absl::string_view body = input.substr(newline + 1);
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseFormData(content_type, body);
  if (!parts.ok()) return Answer(parts.status());
  absl::StatusOr<TranscriptionForm> form =
      TranscriptionFormFromParts(*parts, body);
  if (!form.ok()) return Answer(form.status());
  Answer(RecognitionFromForm(*form, translate).status());
  std::string kept(body);
  KeepOnly((*parts)[form->file_part], kept);
}

}  // namespace
}  // namespace voxgate::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the entry point.
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1,
                                size - 1);
  switch (data[0] % 5) {
    case 0:
      voxgate::http::Chat(input);
      break;
    case 1:
      voxgate::http::Form(input, /*translate=*/false);
      break;
    case 2:
      voxgate::http::Form(input, /*translate=*/true);
      break;
    case 3:
      voxgate::http::Answer(
          voxgate::http::StreamConfigFromJson(input).status());
      break;
    case 4:
      voxgate::http::Answer(
          voxgate::http::StreamControlFromJson(input).status());
      break;
  }
  return 0;
}
