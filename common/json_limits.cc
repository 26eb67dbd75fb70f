#include "common/json_limits.h"

#include <string>

#include "nlohmann/json.hpp"

namespace voxgate {
namespace {

// Counts nesting; gives up (returns false, which stops the parser) one level
// past the limit.
class DepthLimit final : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit DepthLimit(int max_depth) : max_depth_(max_depth) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return Enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return Leave(); }
  bool start_array(std::size_t) override { return Enter(); }
  bool end_array() override { return Leave(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

  bool too_deep() const { return too_deep_; }

 private:
  bool Enter() {
    if (++depth_ <= max_depth_) return true;
    too_deep_ = true;
    return false;
  }
  bool Leave() {
    --depth_;
    return true;
  }

  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

}  // namespace

JsonShape InspectJson(absl::string_view text, int max_depth) {
  DepthLimit limit(max_depth);
  const bool parsed = nlohmann::json::sax_parse(
      text.begin(), text.end(), &limit, nlohmann::json::input_format_t::json,
      /*strict=*/true);
  if (limit.too_deep()) return JsonShape::kTooDeep;
  return parsed ? JsonShape::kValid : JsonShape::kNotJson;
}

}  // namespace voxgate
