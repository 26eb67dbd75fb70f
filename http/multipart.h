#ifndef VOXGATE_HTTP_MULTIPART_H_
#define VOXGATE_HTTP_MULTIPART_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace voxgate::http {

// One part of a multipart/form-data body (RFC 7578), as a range of the body.
struct FormPart {
  std::string name;
  std::string filename;  // empty unless a file
  std::string content_type;
  std::size_t offset = 0;
  std::size_t size = 0;
};

// Parts one form may have.
inline constexpr std::size_t kMaxFormParts = 64;

// The parts of `body`, sent with `content_type` (which names the boundary).
// INVALID_ARGUMENT saying what is malformed: a missing boundary, a part
// without Content-Disposition or name, a body that does not end with the
// closing delimiter, more than kMaxFormParts parts. Part parameters are parsed by Beast's param_list.
absl::StatusOr<std::vector<FormPart>> ParseFormData(
    absl::string_view content_type, absl::string_view body);

// Keeps only `part`'s bytes in `body`, in place (no second copy of a large
// upload).
void KeepOnly(const FormPart& part, std::string& body);

}  // namespace voxgate::http

#endif  // VOXGATE_HTTP_MULTIPART_H_
