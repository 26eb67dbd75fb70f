#include "audio/endpointer.h"

#include <algorithm>

namespace voxgate::audio {
namespace {

int64_t ToFrames(absl::Duration duration, int sample_rate) {
  return static_cast<int64_t>(absl::ToDoubleSeconds(duration) * sample_rate);
}

}  // namespace

Endpointer::Endpointer(const EndpointerOptions& options)
    : options_(options),
      vad_(options.vad, options.sample_rate),
      trailing_frames_(ToFrames(options.trailing_silence, options.sample_rate)),
      max_frames_(ToFrames(options.max_utterance, options.sample_rate)),
      timeout_frames_(
          ToFrames(options.speech_start_timeout, options.sample_rate)),
      pre_roll_samples_(static_cast<std::size_t>(
          ToFrames(options.pre_roll, options.sample_rate))) {}

std::vector<EndpointEvent> Endpointer::Push(absl::Span<const float> samples) {
  std::vector<EndpointEvent> events;
  const std::size_t frame = static_cast<std::size_t>(vad_.frame_samples());
  while (!samples.empty()) {
    const std::size_t take = std::min(frame - pending_.size(), samples.size());
    pending_.insert(pending_.end(), samples.begin(), samples.begin() + take);
    samples.remove_prefix(take);
    if (pending_.size() == frame) {
      ProcessFrame(pending_, events);
      pending_.clear();
    }
  }
  return events;
}

void Endpointer::ProcessFrame(absl::Span<const float> frame,
                              std::vector<EndpointEvent>& events) {
  const bool speech = vad_.Process(frame);
  processed_ += static_cast<int64_t>(frame.size());

  if (!in_utterance_) {
    pre_roll_.insert(pre_roll_.end(), frame.begin(), frame.end());
    const std::size_t keep =
        pre_roll_samples_ +
        static_cast<std::size_t>(options_.start_frames) * frame.size();
    if (pre_roll_.size() > keep)
      pre_roll_.erase(pre_roll_.begin(), pre_roll_.end() - keep);
    speech_run_ = speech ? speech_run_ + 1 : 0;
    if (speech_run_ >= options_.start_frames) {
      in_utterance_ = true;
      utterance_.swap(pre_roll_);
      pre_roll_.clear();
      utterance_start_ = processed_ - static_cast<int64_t>(utterance_.size());
      last_speech_end_ = processed_;
      EndpointEvent begin{EndpointEvent::Type::kSpeechBegin,
                          processed_ - options_.start_frames *
                                           static_cast<int64_t>(frame.size()),
                          processed_,
                          {}};
      events.push_back(std::move(begin));
    } else if (timeout_frames_ > 0 &&
               processed_ - idle_since_ >= timeout_frames_) {
      events.push_back({EndpointEvent::Type::kSpeechStartTimeout,
                        idle_since_,
                        processed_,
                        {}});
      idle_since_ = processed_;  // one event per timeout period
    }
    return;
  }

  utterance_.insert(utterance_.end(), frame.begin(), frame.end());
  // The trailing silence counts from the last loud frame: it is the hangover.
  if (vad_.last_frame_loud()) last_speech_end_ = processed_;
  if (processed_ - last_speech_end_ >= trailing_frames_) {
    // Keep a little of the trailing silence: half of it, or the hangover,
    // whichever is shorter, so the last word is not clipped.
    EndUtterance(std::min(processed_, last_speech_end_ + trailing_frames_ / 2),
                 events);
  } else if (processed_ - utterance_start_ >= max_frames_) {
    EndUtterance(processed_, events);
  }
}

void Endpointer::EndUtterance(int64_t end_frame,
                              std::vector<EndpointEvent>& events) {
  EndpointEvent end{
      EndpointEvent::Type::kUtteranceEnd, utterance_start_, end_frame, {}};
  const std::size_t length =
      static_cast<std::size_t>(end_frame - utterance_start_);
  end.audio.assign(utterance_.begin(),
                   utterance_.begin() + std::min(length, utterance_.size()));
  // What follows the end stays as pre-roll for the next utterance.
  pre_roll_.assign(utterance_.begin() + std::min(length, utterance_.size()),
                   utterance_.end());
  utterance_.clear();
  in_utterance_ = false;
  speech_run_ = 0;
  idle_since_ = processed_;
  events.push_back(std::move(end));
}

std::vector<EndpointEvent> Endpointer::Finalize() {
  std::vector<EndpointEvent> events;
  if (in_utterance_) EndUtterance(processed_, events);
  return events;
}

std::vector<EndpointEvent> Endpointer::Flush() {
  std::vector<EndpointEvent> events;
  if (!pending_.empty()) {
    std::vector<float> last = std::move(pending_);
    pending_.clear();
    ProcessFrame(last, events);
  }
  if (in_utterance_) EndUtterance(processed_, events);
  return events;
}

}  // namespace voxgate::audio
