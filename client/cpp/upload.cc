#include "client/cpp/upload.h"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace voxgate::cli {
namespace {

constexpr std::size_t kPiece = 256 << 10;

double Seconds(const google::protobuf::Duration& duration) {
  return duration.seconds() + duration.nanos() / 1e9;
}

std::string Clock(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
}

// What is shown: the bytes this side sent, and the gateway's last report.
class ProgressDisplay {
 public:
  ProgressDisplay(ProgressStyle style, int64_t total)
      : style_(style), total_(total) {}
  ~ProgressDisplay() {
    if (style_ == ProgressStyle::kBar && shown_) std::fprintf(stderr, "\n");
  }

  void Sent(int64_t bytes) {
    absl::MutexLock lock(&mu_);
    sent_ += bytes;
    ShowLocked(sent_ == total_);
  }
  void Reported(const v1::UploadProgress& progress) {
    absl::MutexLock lock(&mu_);
    server_ = progress;
    ShowLocked(false);
  }
  void Done() {
    absl::MutexLock lock(&mu_);
    ShowLocked(true);
  }

 private:
  void ShowLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (style_ == ProgressStyle::kNone) return;
    const absl::Time now = absl::Now();
    const absl::Duration every = style_ == ProgressStyle::kBar
                                     ? absl::Milliseconds(100)
                                     : absl::Milliseconds(500);
    if (!force && now - last_ < every) return;
    last_ = now;
    const double percent = total_ > 0 ? 100.0 * sent_ / total_ : 0;
    const std::string line = absl::StrFormat(
        "upload %3.0f%% (%.1f/%.1f MiB) | decoded %s | transcribed %s | "
        "chunks %d/%d",
        percent, sent_ / 1048576.0, total_ / 1048576.0,
        Clock(Seconds(server_.audio_decoded())),
        Clock(Seconds(server_.audio_transcribed())), server_.chunks_done(),
        server_.chunks_cut());
    if (style_ == ProgressStyle::kBar) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    shown_ = true;
  }

  const ProgressStyle style_;
  const int64_t total_;
  absl::Mutex mu_;
  int64_t sent_ ABSL_GUARDED_BY(mu_) = 0;
  v1::UploadProgress server_ ABSL_GUARDED_BY(mu_);
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool shown_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

grpc::Status UploadFile(v1::VoxgateService::Stub& stub,
                        grpc::ClientContext& context, const std::string& path,
                        int64_t size, const v1::RecognitionConfig& config,
                        ProgressStyle style, v1::TranscribeResponse& response) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "cannot read " + path);
  }
  ProgressDisplay display(style, size);
  auto stream = stub.TranscribeUpload(&context);
  // The writer sends as fast as the gateway reads (it reads no faster than
  // it transcribes); the reader takes progress and the result meanwhile.
  std::thread writer([&] {
    v1::TranscribeUploadRequest first;
    *first.mutable_config()->mutable_config() = config;
    first.mutable_config()->set_total_bytes(size);
    bool writing = stream->Write(first);
    std::vector<char> buffer(kPiece);
    while (writing && file) {
      file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const std::streamsize got = file.gcount();
      if (got <= 0) break;
      v1::TranscribeUploadRequest piece;
      piece.set_audio_content(buffer.data(), static_cast<std::size_t>(got));
      writing = stream->Write(piece);
      if (writing) display.Sent(got);
    }
    stream->WritesDone();
  });
  v1::TranscribeUploadResponse message;
  while (stream->Read(&message)) {
    if (message.has_progress()) display.Reported(message.progress());
    if (message.has_result()) response = std::move(*message.mutable_result());
  }
  writer.join();
  const grpc::Status status = stream->Finish();
  if (status.ok()) display.Done();
  return status;
}

}  // namespace voxgate::cli
