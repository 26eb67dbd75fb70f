#include "tests/fake_upstream/fake_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/fake_upstream/openai_replies.h"

namespace voxgate::testing {
namespace {

using Json = nlohmann::json;

constexpr absl::Duration kWatchStep = absl::Milliseconds(5);

std::string DescribeAudio(const AudioProbe& probe) {
  if (probe.format != "wav") {
    return absl::StrFormat("audio %s %d bytes crc %08x", probe.format,
                           probe.bytes, probe.crc32);
  }
  return absl::StrFormat("audio %d frames at %d Hz %d ch crc %08x",
                         probe.frames, probe.sample_rate, probe.channels,
                         probe.crc32);
}

// The text of the last user message, whether content is a string or parts.
std::string LastUserText(const Json& messages) {
  std::string text;
  for (const Json& message : messages) {
    if (message.value("role", "") != "user" || !message.contains("content"))
      continue;
    const Json& content = message["content"];
    if (content.is_string()) {
      text = content.get<std::string>();
    } else if (content.is_array()) {
      for (const Json& part : content) {
        if (part.value("type", "") == "text") text = part.value("text", "");
      }
    }
  }
  return text;
}

int CountWords(const std::string& text) {
  return static_cast<int>(Tokens(text).size());
}

}  // namespace

FakeBehavior FakeBehavior::FromJson(const Json& json) {
  FakeBehavior behavior;
  behavior.status = json.value("status", behavior.status);
  behavior.latency = absl::Milliseconds(json.value("latency_ms", 0));
  behavior.retry_after_seconds = json.value("retry_after_seconds", -1);
  behavior.reset_before_response = json.value("reset_before_response", false);
  behavior.reset_after_body_bytes =
      json.value("reset_after_body_bytes", int64_t{-1});
  behavior.hang = json.value("hang", false);
  behavior.chunk_interval =
      absl::Milliseconds(json.value("chunk_interval_ms", 0));
  behavior.malformed_json = json.value("malformed_json", false);
  behavior.text = json.value("text", "");
  behavior.stream_style = json.value("stream_style", "openai");
  return behavior;
}

Json FakeBehavior::ToJson() const {
  return {{"status", status},
          {"latency_ms", absl::ToInt64Milliseconds(latency)},
          {"retry_after_seconds", retry_after_seconds},
          {"reset_before_response", reset_before_response},
          {"reset_after_body_bytes", reset_after_body_bytes},
          {"hang", hang},
          {"chunk_interval_ms", absl::ToInt64Milliseconds(chunk_interval)},
          {"malformed_json", malformed_json},
          {"text", text},
          {"stream_style", stream_style}};
}

std::string FakeRequest::FormValue(absl::string_view name) const {
  for (const FormPart& part : form) {
    if (part.name == name) return part.value;
  }
  return "";
}

std::vector<std::string> FakeRequest::FormValues(absl::string_view name) const {
  std::vector<std::string> values;
  for (const FormPart& part : form) {
    if (part.name == name) values.push_back(part.value);
  }
  return values;
}

absl::StatusOr<std::unique_ptr<FakeUpstream>> FakeUpstream::Start(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 4096) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("fake upstream bind: ", error));
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::unique_ptr<FakeUpstream> fake(
      new FakeUpstream(fd, ntohs(address.sin_port)));
  fake->acceptor_ =
      std::thread([server = fake.get()] { server->AcceptLoop(); });
  return fake;
}

FakeUpstream::~FakeUpstream() {
  std::map<int, std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  close(listen_fd_);
  {
    absl::MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (auto& [connection, worker] : workers) worker.join();
}

std::string FakeUpstream::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_, "/v1");
}

void FakeUpstream::SetDefault(const FakeBehavior& behavior) {
  absl::MutexLock lock(&mu_);
  default_ = behavior;
}

void FakeUpstream::Script(const std::string& path_prefix,
                          const FakeBehavior& behavior, int times) {
  absl::MutexLock lock(&mu_);
  scripts_.push_back({path_prefix, behavior, times});
}

void FakeUpstream::ClearScripts() {
  absl::MutexLock lock(&mu_);
  scripts_.clear();
}

void FakeUpstream::SetModels(std::vector<std::string> models) {
  absl::MutexLock lock(&mu_);
  models_ = std::move(models);
}

std::vector<FakeRequest> FakeUpstream::Requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

std::vector<FakeRequest> FakeUpstream::Requests(
    absl::string_view path_prefix) const {
  std::vector<FakeRequest> matching;
  for (FakeRequest& request : Requests()) {
    if (absl::StartsWith(request.wire.path, path_prefix)) {
      matching.push_back(std::move(request));
    }
  }
  return matching;
}

void FakeUpstream::ClearRequests() {
  absl::MutexLock lock(&mu_);
  requests_.clear();
  max_in_flight_ = in_flight_;
}

int FakeUpstream::max_in_flight() const {
  absl::MutexLock lock(&mu_);
  return max_in_flight_;
}

int FakeUpstream::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

int FakeUpstream::connections_accepted() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

bool FakeUpstream::WaitUntil(
    const std::function<bool(const std::vector<FakeRequest>&)>& condition,
    absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (condition(requests_)) return true;
    }
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(
        absl::Milliseconds(2));  // polling a test fixture, not the product
  }
}

void FakeUpstream::AcceptLoop() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // Connections that ended leave their threads to be joined here, so a
    // long run (a soak, with a new connection per cancelled request) does
    // not pile up finished threads until none can be made.
    std::vector<std::thread> ended;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      open_fds_.push_back(fd);
      const int connection = ++connections_;
      for (int id : ended_connections_) {
        auto it = workers_.find(id);
        if (it == workers_.end()) continue;
        ended.push_back(std::move(it->second));
        workers_.erase(it);
      }
      ended_connections_.clear();
      workers_.emplace(connection, std::thread([this, fd, connection] {
                         Serve(fd, connection);
                       }));
    }
    for (std::thread& worker : ended) worker.join();  // they are returning
  }
}

void FakeUpstream::Serve(int fd, int connection_id) {
  HttpConnection connection(fd);
  while (auto request = connection.ReadRequest()) {
    FakeRequest record;
    record.wire = std::move(*request);
    record.received = absl::Now();
    record.connection = connection_id;
    const bool keep_open = Handle(connection, record);
    if (!keep_open) break;
  }
  absl::MutexLock lock(&mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd),
                  open_fds_.end());
  ended_connections_.push_back(connection_id);
}

FakeBehavior FakeUpstream::Choose(const WireRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::string_view header = request.Header("x-fake-behavior");
      !header.empty()) {
    Json json = Json::parse(header, nullptr, false);
    if (!json.is_discarded()) return FakeBehavior::FromJson(json);
  }
  for (auto it = scripts_.begin(); it != scripts_.end(); ++it) {
    if (absl::StartsWith(request.path, it->path_prefix)) {
      FakeBehavior behavior = it->behavior;
      if (--it->remaining <= 0) scripts_.erase(it);
      return behavior;
    }
  }
  return default_;
}

bool FakeUpstream::WaitWatching(HttpConnection& connection,
                                absl::Duration duration) {
  const absl::Time until = absl::Now() + duration;
  while (absl::Now() < until) {
    if (connection.PeerClosedWithin(
            std::min(kWatchStep, until - absl::Now()))) {
      return false;
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
  }
  return true;
}

std::size_t FakeUpstream::Record(FakeRequest record) {
  record.finished = absl::Now();
  absl::MutexLock lock(&mu_);
  --in_flight_;
  requests_.push_back(std::move(record));
  return requests_.size() - 1;
}

void FakeUpstream::MarkClosedEarly(std::size_t index) {
  absl::MutexLock lock(&mu_);
  if (index < requests_.size()) requests_[index].client_closed_early = true;
}

bool FakeUpstream::HandleControl(HttpConnection& connection,
                                 const WireRequest& request) {
  const Json body = Json::parse(request.body, nullptr, false);
  if (request.path == "/_fake/script" && !body.is_discarded()) {
    Script(body.value("path", "/"),
           FakeBehavior::FromJson(body.value("behavior", Json())),
           body.value("times", 1));
  } else if (request.path == "/_fake/default" && !body.is_discarded()) {
    SetDefault(FakeBehavior::FromJson(body));
  } else if (request.path == "/_fake/reset") {
    ClearRequests();
    absl::MutexLock lock(&mu_);
    scripts_.clear();
    default_ = FakeBehavior();
  } else if (request.path == "/_fake/stats") {
    // Requests arrived and not answered yet (a hanging one among them).
    return connection.WriteResponse(
        200, "application/json",
        Json{{"in_flight", in_flight()}, {"max_in_flight", max_in_flight()}}
            .dump());
  } else if (request.path == "/_fake/requests") {
    Json list = Json::array();
    for (const FakeRequest& recorded : Requests()) {
      Json audio = Json::array();
      for (const AudioProbe& probe : recorded.audio)
        audio.push_back(probe.ToJson());
      list.push_back({{"method", recorded.wire.method},
                      {"path", recorded.wire.path},
                      {"audio", audio},
                      {"in_flight_at_arrival", recorded.in_flight_at_arrival},
                      {"client_closed_early", recorded.client_closed_early},
                      {"x_request_id", recorded.wire.Header("x-request-id")},
                      {"json", recorded.json}});
    }
    return connection.WriteResponse(200, "application/json", list.dump());
  } else {
    return connection.WriteResponse(400, "application/json",
                                    ErrorBody(400, "bad control request"));
  }
  return connection.WriteResponse(200, "application/json", "{}");
}

std::string FakeUpstream::ModelList() const {
  Json data = Json::array();
  absl::MutexLock lock(&mu_);
  for (const std::string& id : models_) {
    data.push_back({{"id", id},
                    {"object", "model"},
                    {"created", 0},
                    {"owned_by", "fake"}});
  }
  return Json{{"object", "list"}, {"data", data}}.dump();
}

bool FakeUpstream::Handle(HttpConnection& connection, FakeRequest& record) {
  const WireRequest& request = record.wire;
  if (absl::StartsWith(request.path, "/_fake/"))
    return HandleControl(connection, request);
  // The gateway's background model-list refresh is answered at once and not
  // recorded: it is not part of any call a test makes.
  if (request.path == "/v1/models" &&
      request.Header("x-request-id") == "voxgate-model-refresh") {
    return connection.WriteResponse(200, "application/json", ModelList());
  }

  {
    absl::MutexLock lock(&mu_);
    record.in_flight_at_arrival = ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
  }
  const FakeBehavior behavior = Choose(request);
  // Parse what arrived, whatever the answer will be, so tests can inspect it.
  if (absl::StartsWith(request.Header("content-type"), "multipart/form-data")) {
    if (auto parts =
            ParseMultipart(request.Header("content-type"), request.body)) {
      record.form = std::move(*parts);
      for (const FormPart& part : record.form) {
        if (!part.filename.empty())
          record.audio.push_back(ProbeAudio(part.value));
      }
    }
  } else if (!request.body.empty()) {
    record.json = Json::parse(request.body, nullptr, false);
    if (record.json.is_object() && record.json.contains("messages")) {
      for (const Json& message : record.json["messages"]) {
        if (!message.contains("content") || !message["content"].is_array())
          continue;
        for (const Json& part : message["content"]) {
          if (part.value("type", "") != "input_audio") continue;
          std::string bytes;
          absl::Base64Unescape(part["input_audio"].value("data", ""), &bytes);
          record.audio.push_back(ProbeAudio(bytes));
        }
      }
    }
  }

  // The record is published before the bytes that complete the response, so a
  // client that has its answer also finds its request recorded.
  std::optional<std::size_t> recorded;
  auto commit = [&] {
    if (!recorded) recorded = Record(record);
  };
  auto finish = [&](bool keep_open, bool closed_early) {
    commit();
    if (closed_early) MarkClosedEarly(*recorded);
    return keep_open;
  };

  if (behavior.hang) {
    while (WaitWatching(connection, absl::Milliseconds(100))) {
    }
    return finish(false, true);
  }
  if (!WaitWatching(connection, behavior.latency)) return finish(false, true);
  if (behavior.reset_before_response) {
    commit();
    connection.Reset();
    return finish(false, false);
  }

  // Decide the reply.
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> events;  // non-empty: answer as an SSE stream
  std::vector<std::pair<std::string, std::string>> extra;
  if (behavior.retry_after_seconds >= 0) {
    extra.emplace_back("Retry-After",
                       absl::StrCat(behavior.retry_after_seconds));
  }
  const double duration =
      record.audio.empty() ? 0 : record.audio[0].duration_seconds;
  std::string text = behavior.text;
  if (text.empty() && !record.audio.empty())
    text = DescribeAudio(record.audio[0]);
  int status = behavior.status;

  if (status >= 300) {
    body = ErrorBody(status, absl::StrCat("fake upstream answered ", status));
  } else if (request.path == "/health") {
    body = R"({"status":"ok"})";
  } else if (request.path == "/v1/models" && request.method == "GET") {
    body = ModelList();
  } else if (request.path == "/v1/audio/transcriptions" &&
             request.method == "POST") {
    if (record.audio.empty()) {
      status = 400;
      body = ErrorBody(400, "multipart field 'file' is required");
    } else {
      const std::string format = record.FormValue("response_format").empty()
                                     ? "json"
                                     : record.FormValue("response_format");
      const std::vector<std::string> granularities =
          record.FormValues("timestamp_granularities[]");
      const bool words =
          std::count(granularities.begin(), granularities.end(), "word");
      const bool segments =
          granularities.empty() ||
          std::count(granularities.begin(), granularities.end(), "segment");
      if (record.FormValue("stream") == "true") {
        events = TranscriptionStreamEvents(
            behavior.stream_style, record.FormValue("model"), text, duration);
      } else {
        body = TranscriptionBody(format, text, duration, words, segments);
        if (format == "text" || format == "srt" || format == "vtt") {
          content_type = "text/plain; charset=utf-8";
        }
      }
    }
  } else if (request.path == "/v1/chat/completions" &&
             request.method == "POST") {
    if (!record.json.is_object() || !record.json.contains("messages") ||
        !record.json["messages"].is_array() ||
        record.json["messages"].empty()) {
      status = 400;
      body = ErrorBody(400, "'messages' must be a non-empty array");
    } else {
      const std::string user_text = LastUserText(record.json["messages"]);
      const std::optional<FakeToolCall> tool_call =
          ToolCallFor(record.json, user_text);
      const Json& last = record.json["messages"].back();
      if (text.empty() && last.value("role", "") == "tool") {
        // Answering a tool result: say what the tool returned.
        text = absl::StrCat("tool ", last.value("tool_call_id", ""), " said: ",
                            last["content"].is_string()
                                ? last["content"].get<std::string>()
                                : last["content"].dump());
      }
      if (text.empty()) text = absl::StrCat("echo: ", user_text);
      const ChatUsage usage{static_cast<int>(request.body.size() / 4),
                            CountWords(text)};
      const std::string model = record.json.value("model", "fake-model");
      const bool include_usage =
          record.json.contains("stream_options") &&
          record.json["stream_options"].value("include_usage", false);
      if (record.json.value("stream", false)) {
        events =
            tool_call
                ? ToolCallStreamEvents(model, *tool_call, usage, include_usage)
                : ChatStreamEvents(model, text, usage, include_usage);
      } else {
        body = tool_call ? ToolCallCompletionBody(model, *tool_call, usage)
                         : ChatCompletionBody(model, text, usage);
      }
    }
  } else {
    status = 404;
    body = ErrorBody(
        404, absl::StrCat("no route for ", request.method, " ", request.path));
  }
  if (behavior.malformed_json && status < 300) {
    body = R"({"text": "cut off)";
    if (!events.empty()) events = {R"({"choices": [{"delta": )"};
  }

  // Send it.
  if (events.empty()) {
    if (behavior.reset_after_body_bytes >= 0 ||
        behavior.chunk_interval > absl::ZeroDuration()) {
      std::string head = absl::StrCat(
          "HTTP/1.1 ", status, " X\r\nContent-Type: ", content_type,
          "\r\nContent-Length: ", body.size(), "\r\n\r\n");
      if (!connection.WriteRaw(head)) return finish(false, true);
      const std::size_t limit =
          behavior.reset_after_body_bytes >= 0
              ? static_cast<std::size_t>(behavior.reset_after_body_bytes)
              : body.size();
      for (std::size_t sent = 0; sent < std::min(limit, body.size());
           sent += 16) {
        if (!WaitWatching(connection, behavior.chunk_interval)) {
          return finish(false, true);
        }
        if (sent + 16 >= body.size()) commit();
        if (!connection.WriteRaw(absl::string_view(body).substr(
                sent, std::min<std::size_t>(16, limit - sent)))) {
          return finish(false, true);
        }
      }
      if (behavior.reset_after_body_bytes >= 0) {
        commit();
        connection.Reset();
        return finish(false, false);
      }
      return finish(true, false);
    }
    commit();
    const bool written =
        connection.WriteResponse(status, content_type, body, extra);
    return finish(written, !written);
  }

  if (!connection.StartChunked(status, "text/event-stream"))
    return finish(false, true);
  std::size_t sent_bytes = 0;
  for (const std::string& event : events) {
    if (!WaitWatching(connection, behavior.chunk_interval))
      return finish(false, true);
    std::string frame = absl::StrCat("data: ", event, "\n\n");
    if (behavior.reset_after_body_bytes >= 0 &&
        sent_bytes + frame.size() >
            static_cast<std::size_t>(behavior.reset_after_body_bytes)) {
      connection.WriteChunk(
          frame.substr(0, behavior.reset_after_body_bytes - sent_bytes));
      commit();
      connection.Reset();
      return finish(false, false);
    }
    sent_bytes += frame.size();
    if (!connection.WriteChunk(frame)) return finish(false, true);
  }
  commit();
  const bool ended = connection.EndChunks();
  return finish(ended, !ended);
}

}  // namespace voxgate::testing
