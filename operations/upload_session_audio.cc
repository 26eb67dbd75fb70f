// UploadSession's audio side: what the bytes are (a declared or sniffed
// container), spooling what cannot be decoded as it comes (MP4 has its index
// at the end), decoding and cutting into chunks, on the audio workers.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "audio/loudness.h"
#include "audio/wav.h"
#include "common/byte_budget.h"
#include "operations/api_mapping.h"
#include "operations/upload_session.h"

namespace voxgate::operations {
namespace {

bool LooksLikeMp4(absl::string_view bytes) {
  return bytes.size() >= 8 && bytes.substr(4, 4) == "ftyp";
}

absl::StatusOr<audio::StreamContainer> DeclaredContainer(
    v1::AudioEncoding encoding) {
  switch (encoding) {
    case v1::AUDIO_ENCODING_MP3:
      return audio::StreamContainer::kMp3;
    case v1::AUDIO_ENCODING_FLAC:
      return audio::StreamContainer::kFlac;
    case v1::AUDIO_ENCODING_OGG_OPUS:
      return audio::StreamContainer::kOggOpus;
    case v1::AUDIO_ENCODING_WEBM_OPUS:
      return audio::StreamContainer::kWebmOpus;
    case v1::AUDIO_ENCODING_OGG_VORBIS:
      return audio::StreamContainer::kOggVorbis;
    default:  // AUTO, WAV: sniffed
      return audio::StreamContainer::kAny;
  }
}

// An unlinked file in TMPDIR (or /tmp): it vanishes when closed, whatever
// happens to the process.
absl::StatusOr<int> OpenSpoolFile() {
  const char* dir = std::getenv("TMPDIR");
  const std::string folder = dir != nullptr && *dir != '\0' ? dir : "/tmp";
  int fd = open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string path = folder + "/voxgate-upload-XXXXXX";
    fd = mkostemp(path.data(), O_CLOEXEC);
    if (fd >= 0) unlink(path.c_str());
  }
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create a spool file for the upload in ", folder,
                     " (TMPDIR): ", std::strerror(errno)));
  }
  return fd;
}

}  // namespace

UploadSession::JobResult UploadSession::Process(std::string bytes,
                                                bool end_of_input) {
  const absl::Time started = absl::Now();
  JobResult result;
  std::vector<float> pcm;
  result.status =
      Decode(std::move(bytes), end_of_input, pcm, result.audio_over);
  if (!result.status.ok()) return result;
  std::vector<audio::StreamChunk> cut = segmenter_->Push(pcm);
  std::vector<float>().swap(pcm);
  if (result.audio_over) {
    for (audio::StreamChunk& chunk : segmenter_->Finish())
      cut.push_back(std::move(chunk));
  }
  result.frames_seen = segmenter_->frames_seen();
  const absl::Duration longest = options_.preprocess.decode.max_duration;
  if (result.frames_seen > absl::ToDoubleSeconds(longest) * rate_ + rate_) {
    result.status = absl::InvalidArgumentError(
        absl::StrCat("audio: decoded audio is longer than max_audio_duration ",
                     absl::FormatDuration(longest)));
    return result;
  }
  result.chunks = Encode(std::move(cut));
  result.took = absl::Now() - started;
  return result;
}

absl::Status UploadSession::Decode(std::string bytes, bool end_of_input,
                                   std::vector<float>& pcm, bool& audio_over) {
  if (input_ == Input::kUndecided) {
    // The container is chosen from the first bytes; wait for enough of them.
    sniffed_.append(bytes);
    if (sniffed_.size() < 12 && !end_of_input) return absl::OkStatus();
    bytes = std::move(sniffed_);
    sniffed_.clear();
    if (absl::Status chosen = ChooseInput(bytes); !chosen.ok()) return chosen;
  }
  switch (input_) {
    case Input::kRaw: {
      absl::Status status = raw_->Push(bytes, pcm);
      if (status.ok() && end_of_input) status = raw_->Flush(pcm);
      audio_over = end_of_input;
      return status;
    }
    case Input::kContainer: {
      absl::Status status = container_->Push(bytes, pcm);
      if (status.ok() && end_of_input) status = container_->Finish(pcm);
      audio_over = end_of_input;
      return status;
    }
    case Input::kSpool:
      break;
    case Input::kUndecided:
      return absl::InternalError("upload input undecided");
  }
  if (!bytes.empty()) {
    if (absl::Status spooled = Spool(bytes); !spooled.ok()) return spooled;
  }
  if (!end_of_input) return absl::OkStatus();
  if (spool_decoder_ == nullptr) {
    audio::DecodeOptions options = options_.preprocess.decode;
    options.format = audio::InputFormat::kAuto;
    options.target_sample_rate = rate_;
    options.target_channels = 1;
    options.max_wall_time = call_.deadline - services_.timers.clock().Now();
    absl::StatusOr<std::unique_ptr<audio::FileDecoder>> opened =
        audio::FileDecoder::Open(spool_fd_, spooled_bytes_, options);
    if (!opened.ok()) return opened.status();
    spool_decoder_ = *std::move(opened);
  }
  // One chunk's worth per step: the next step comes when the chunks have
  // gone upstream.
  const int64_t step = static_cast<int64_t>(
      std::max(1.0, options_.segment.max_chunk_seconds) * rate_);
  absl::StatusOr<bool> more = spool_decoder_->Next(step, pcm);
  if (!more.ok()) return more.status();
  audio_over = !*more;
  return absl::OkStatus();
}

absl::Status UploadSession::ChooseInput(absl::string_view first_bytes) {
  if (format_.encoding() == v1::AUDIO_ENCODING_M4A_AAC ||
      (format_.encoding() <= v1::AUDIO_ENCODING_AUTO &&
       LooksLikeMp4(first_bytes))) {
    absl::StatusOr<int> fd = OpenSpoolFile();
    if (!fd.ok()) return fd.status();
    spool_fd_ = *fd;
    input_ = Input::kSpool;
    return absl::OkStatus();
  }
  absl::StatusOr<audio::StreamContainer> container =
      DeclaredContainer(format_.encoding());
  if (!container.ok()) return container.status();
  container_ =
      std::make_unique<audio::ContainerStreamDecoder>(*container, rate_);
  input_ = Input::kContainer;
  return absl::OkStatus();
}

absl::Status UploadSession::Spool(absl::string_view bytes) {
  ByteBudget* budget = services_.spool;
  if (budget != nullptr &&
      !budget->TryTake(static_cast<int64_t>(bytes.size()))) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the gateway's disk spool for MP4/M4A uploads is full (",
        budget->limit(),
        " bytes over all uploads, audio.max_spool_bytes); retry later, or "
        "send a container that streams (MP3, FLAC, Ogg, WebM, WAV)"));
  }
  budgeted_bytes_ += static_cast<int64_t>(bytes.size());
  while (!bytes.empty()) {
    const ssize_t wrote =
        pwrite(spool_fd_, bytes.data(), bytes.size(), spooled_bytes_);
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      const int error = wrote < 0 ? errno : ENOSPC;
      const std::string why =
          absl::StrCat("spooling the upload to a temporary file failed after ",
                       spooled_bytes_, " bytes: ", std::strerror(error));
      return error == ENOSPC || error == EDQUOT
                 ? absl::ResourceExhaustedError(why)
                 : absl::InternalError(why);
    }
    spooled_bytes_ += wrote;
    bytes.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return absl::OkStatus();
}

std::vector<UploadSession::CutChunk> UploadSession::Encode(
    std::vector<audio::StreamChunk> chunks) {
  std::vector<CutChunk> out;
  for (audio::StreamChunk& chunk : chunks) {
    audio::PcmAudio pcm;
    pcm.sample_rate = rate_;
    pcm.samples = std::move(chunk.samples);
    if (options_.preprocess.normalize_loudness) {
      // Fails only when libebur128 cannot allocate; the chunk then goes as
      // it is.
      (void)audio::NormalizeLoudness(pcm, options_.preprocess.loudness);
    }
    out.push_back({next_index_++, chunk.frames, audio::EncodeWav(pcm)});
  }
  return out;
}

}  // namespace voxgate::operations
