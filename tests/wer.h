#ifndef VOXGATE_TESTS_WER_H_
#define VOXGATE_TESTS_WER_H_

// Word error rate by minimum edit distance over words (substitutions,
// deletions, insertions), after lower-casing and dropping punctuation.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace voxgate::testing {

inline std::vector<std::string> NormalisedWords(const std::string& text) {
  std::vector<std::string> words;
  for (absl::string_view piece : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    std::string word;
    for (char c : piece) {
      if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '\'') {
        word.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
      }
    }
    if (!word.empty()) words.push_back(word);
  }
  return words;
}

struct WordErrors {
  int substitutions = 0;
  int deletions = 0;
  int insertions = 0;
  int reference_words = 0;
  int errors() const { return substitutions + deletions + insertions; }
};

inline WordErrors CountWordErrors(const std::string& reference,
                                  const std::string& hypothesis) {
  const std::vector<std::string> ref = NormalisedWords(reference);
  const std::vector<std::string> hyp = NormalisedWords(hypothesis);
  // cost[i][j]: edits turning ref[0, i) into hyp[0, j), with the edit kinds
  // kept.
  struct Cell {
    int cost, subs, dels, ins;
  };
  std::vector<std::vector<Cell>> d(ref.size() + 1,
                                   std::vector<Cell>(hyp.size() + 1));
  for (std::size_t i = 0; i <= ref.size(); ++i)
    d[i][0] = {static_cast<int>(i), 0, static_cast<int>(i), 0};
  for (std::size_t j = 0; j <= hyp.size(); ++j)
    d[0][j] = {static_cast<int>(j), 0, 0, static_cast<int>(j)};
  for (std::size_t i = 1; i <= ref.size(); ++i) {
    for (std::size_t j = 1; j <= hyp.size(); ++j) {
      const bool same = ref[i - 1] == hyp[j - 1];
      Cell diagonal = d[i - 1][j - 1];
      diagonal.cost += same ? 0 : 1;
      diagonal.subs += same ? 0 : 1;
      Cell deletion = d[i - 1][j];
      deletion.cost += 1;
      deletion.dels += 1;
      Cell insertion = d[i][j - 1];
      insertion.cost += 1;
      insertion.ins += 1;
      d[i][j] = std::min(
          {diagonal, deletion, insertion},
          [](const Cell& a, const Cell& b) { return a.cost < b.cost; });
    }
  }
  const Cell& last = d[ref.size()][hyp.size()];
  return {last.subs, last.dels, last.ins, static_cast<int>(ref.size())};
}

}  // namespace voxgate::testing

#endif  // VOXGATE_TESTS_WER_H_
