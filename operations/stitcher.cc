#include "operations/stitcher.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace voxgate::operations {
namespace {

constexpr int kMaxOverlapWords = 8;

std::string Normalise(absl::string_view word) {
  std::string out;
  for (char c : word) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)))
      out.push_back(absl::ascii_tolower(c));
  }
  return out;
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
}

// How many leading words of `next` repeat the trailing words of `previous`.
std::size_t RepeatedWords(const std::vector<std::string>& previous,
                          const std::vector<std::string>& next) {
  const std::size_t limit =
      std::min<std::size_t>({kMaxOverlapWords, previous.size(), next.size()});
  for (std::size_t n = limit; n > 0; --n) {
    bool same = true;
    for (std::size_t i = 0; i < n && same; ++i) {
      const std::string a = Normalise(previous[previous.size() - n + i]);
      same = !a.empty() && a == Normalise(next[i]);
    }
    if (same) return n;
  }
  return 0;
}

void Append(std::string& text, absl::string_view piece) {
  piece = absl::StripAsciiWhitespace(piece);
  if (piece.empty()) return;
  if (!text.empty()) text.push_back(' ');
  absl::StrAppend(&text, piece);
}

std::string Timestamp(double seconds, char separator) {
  const int64_t millis = std::llround(std::max(0.0, seconds) * 1000);
  return absl::StrFormat("%02d:%02d:%02d%c%03d", millis / 3600000,
                         millis / 60000 % 60, millis / 1000 % 60, separator,
                         millis % 1000);
}

}  // namespace

StitchedTranscript Stitch(const std::vector<ChunkTranscript>& chunks) {
  StitchedTranscript result;
  std::vector<std::string> previous_words;
  for (const ChunkTranscript& chunk : chunks) {
    const upstream::Transcription& t = chunk.transcription;
    if (result.language.empty()) result.language = t.language;
    const double overlap = chunk.core_start_seconds - chunk.start_seconds;
    std::vector<std::string> words;
    if (!t.words.empty()) {
      // Timed words: keep those that end after the overlap.
      for (const upstream::Word& word : t.words) {
        if (overlap > 0 && word.end_seconds <= overlap + 1e-3) continue;
        upstream::Word shifted = word;
        shifted.start_seconds += chunk.start_seconds;
        shifted.end_seconds += chunk.start_seconds;
        result.words.push_back(shifted);
        words.push_back(word.word);
      }
    } else {
      words = Words(t.text);
      if (overlap > 0)
        words.erase(words.begin(),
                    words.begin() + RepeatedWords(previous_words, words));
    }
    const std::string text = absl::StrJoin(words, " ");
    Append(result.text, text);
    if (!t.segments.empty()) {
      for (const upstream::Segment& segment : t.segments) {
        if (overlap > 0 && segment.end_seconds <= overlap + 1e-3) continue;
        upstream::Segment shifted = segment;
        shifted.start_seconds =
            std::max(segment.start_seconds, overlap) + chunk.start_seconds;
        shifted.end_seconds += chunk.start_seconds;
        shifted.text = std::string(absl::StripAsciiWhitespace(shifted.text));
        result.segments.push_back(std::move(shifted));
      }
    } else if (!text.empty()) {
      upstream::Segment segment;
      segment.start_seconds = chunk.core_start_seconds;
      segment.end_seconds = chunk.end_seconds;
      segment.text = text;
      result.segments.push_back(std::move(segment));
    }
    previous_words = Words(t.text);
  }
  return result;
}

std::string ToSrt(const std::vector<upstream::Segment>& segments) {
  std::string out;
  int index = 1;
  for (const upstream::Segment& segment : segments) {
    absl::StrAppend(&out, index++, "\n", Timestamp(segment.start_seconds, ','),
                    " --> ", Timestamp(segment.end_seconds, ','), "\n",
                    segment.text, "\n\n");
  }
  return out;
}

std::string ToVtt(const std::vector<upstream::Segment>& segments) {
  std::string out = "WEBVTT\n\n";
  for (const upstream::Segment& segment : segments) {
    absl::StrAppend(&out, Timestamp(segment.start_seconds, '.'), " --> ",
                    Timestamp(segment.end_seconds, '.'), "\n", segment.text,
                    "\n\n");
  }
  return out;
}

}  // namespace voxgate::operations
