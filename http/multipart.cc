#include "http/multipart.h"

#include <boost/beast/http/rfc7230.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace voxgate::http {
namespace {

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed multipart/form-data body: ", what));
}

// A parameter's value without the quotes of a quoted-string.
std::string Unquote(absl::string_view value) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
    return std::string(value);
  }
  std::string out;
  for (std::size_t i = 1; i + 1 < value.size(); ++i) {
    if (value[i] == '\\' && i + 2 < value.size()) ++i;
    out.push_back(value[i]);
  }
  return out;
}

// The parameters after a header value's first ';', lower-cased names.
std::vector<std::pair<std::string, std::string>> Parameters(
    absl::string_view header) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::size_t semicolon = header.find(';');
  if (semicolon == absl::string_view::npos) return out;
  const absl::string_view list = header.substr(semicolon);
  for (const auto& param : boost::beast::http::param_list(
           boost::beast::string_view(list.data(), list.size()))) {
    out.emplace_back(
        absl::AsciiStrToLower(
            absl::string_view(param.first.data(), param.first.size())),
        Unquote(absl::string_view(param.second.data(), param.second.size())));
  }
  return out;
}

std::string Parameter(absl::string_view header, absl::string_view name) {
  for (auto& [key, value] : Parameters(header)) {
    if (key == name) return value;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::vector<FormPart>> ParseFormData(
    absl::string_view content_type, absl::string_view body) {
  if (!absl::StartsWithIgnoreCase(content_type, "multipart/form-data")) {
    return absl::InvalidArgumentError(
        "the request must be multipart/form-data");
  }
  const std::string boundary = Parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70) {
    return Malformed("Content-Type names no boundary (1 to 70 characters)");
  }
  const std::string delimiter = "--" + boundary;
  if (!absl::StartsWith(body, delimiter)) {
    return Malformed("the body does not start with the boundary");
  }
  std::vector<FormPart> parts;
  std::size_t position = delimiter.size();
  while (true) {
    if (body.substr(position, 2) == "--") return parts;  // closing delimiter
    if (body.substr(position, 2) != "\r\n") {
      return Malformed("a boundary is not followed by CRLF");
    }
    position += 2;
    const std::size_t head_end = body.find("\r\n\r\n", position);
    if (head_end == absl::string_view::npos) {
      return Malformed("a part's headers do not end");
    }
    FormPart part;
    bool has_disposition = false;
    for (absl::string_view line :
         absl::StrSplit(body.substr(position, head_end - position), "\r\n")) {
      const std::size_t colon = line.find(':');
      if (colon == absl::string_view::npos) {
        return Malformed("a part header has no colon");
      }
      const std::string name = absl::AsciiStrToLower(
          absl::StripAsciiWhitespace(line.substr(0, colon)));
      const absl::string_view value =
          absl::StripAsciiWhitespace(line.substr(colon + 1));
      if (name == "content-disposition") {
        has_disposition = true;
        part.name = Parameter(value, "name");
        part.filename = Parameter(value, "filename");
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
    }
    if (!has_disposition || part.name.empty()) {
      return Malformed("a part has no Content-Disposition with a name");
    }
    part.offset = head_end + 4;
    const std::size_t next = body.find("\r\n" + delimiter, part.offset);
    if (next == absl::string_view::npos) {
      return Malformed("the body does not end with the closing boundary");
    }
    part.size = next - part.offset;
    if (parts.size() == kMaxFormParts) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the form has more than ", kMaxFormParts, " parts"));
    }
    parts.push_back(std::move(part));
    position = next + 2 + delimiter.size();
  }
}

void KeepOnly(const FormPart& part, std::string& body) {
  body.erase(0, part.offset);
  body.resize(part.size);
}

}  // namespace voxgate::http
