#include "gateway/gateway_server.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/cpu_quota.h"
#include "common/proto_duration.h"
#include "common/redis_connection.h"
#include "config/command_line.h"
#include "gateway/gateway_collector.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "http/front_door.h"
#include "operations/audio_fetcher.h"
#include "operations/memory_operation_store.h"
#include "operations/redis_operation_store.h"
#include "server/operations_service.h"
#include "server/tls_credentials.h"
#include "server/voxgate_service.h"
#include "server/wire_messages.h"
#include "upstream/embedded_engine.h"

namespace voxgate::gateway {
namespace {

using ::google::protobuf::util::TimeUtil;

int ClampedMillis(const google::protobuf::Duration& duration) {
  const int64_t millis = TimeUtil::DurationToMilliseconds(duration);
  return static_cast<int>(std::min<int64_t>(millis, INT32_MAX));
}

void ApplyTransportSettings(const config::v1::ServerConfig& server,
                            grpc::ServerBuilder& builder) {
  // A second gateway on the same port must fail to start, not share it
  // silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<int64_t>(server.max_receive_message_bytes(), INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                             ClampedMillis(server.keepalive_time()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             ClampedMillis(server.keepalive_timeout()));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      ClampedMillis(server.min_client_ping_interval()));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                             server.permit_keepalive_without_calls() ? 1 : 0);
  // Zero means "never" in the config; gRPC spells never INT_MAX (its default).
  if (server.has_max_connection_age() &&
      ClampedMillis(server.max_connection_age()) > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               ClampedMillis(server.max_connection_age()));
  }
  if (ClampedMillis(server.max_connection_age_grace()) > 0) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
        ClampedMillis(server.max_connection_age_grace()));
  }
  if (ClampedMillis(server.max_connection_idle()) > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               ClampedMillis(server.max_connection_idle()));
  }
}

// Turns gRPC reflection on or off for one server: linking the reflection
// library registers it for every server of the process.
class ReflectionOption final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const auto& plugin) {
                                    return plugin->name() ==
                                           "proto_server_reflection";
                                  }),
                   plugins->end());
    if (enabled_) {
      plugins->push_back(
          std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  const bool enabled_;
};

// Where BatchTranscribe's operations live: Redis when the replicas share one
// (redis.operations_address, else redis.address), else this process's
// memory.
std::unique_ptr<operations::OperationStore> NewOperationStore(
    const Config& config, Clock& clock, const Logger& logger) {
  config::v1::RedisConfig redis = config.redis();
  if (redis.address().empty()) {
    return std::make_unique<operations::MemoryOperationStore>(clock);
  }
  if (!redis.operations_address().empty()) {
    redis.set_address(redis.operations_address());
  }
  return std::make_unique<operations::RedisOperationStore>(
      tenancy::RedisOptionsFrom(redis), clock, logger);
}

}  // namespace

GatewayServer::GatewayServer(const Config& config, const Logger& logger,
                             Clock& clock)
    : config_(config), logger_(logger), timers_(clock) {}

namespace {

// With redis.on_failure: closed, a Redis that cannot be reached refuses
// every call: starting then would serve nothing but UNAVAILABLE, so the
// start fails naming the address. (The open policy starts, and warns.)
absl::Status CheckRedisAtStart(const config::v1::RedisConfig& redis) {
  if (redis.address().empty() ||
      redis.on_failure() != config::v1::REDIS_FAILURE_POLICY_CLOSED) {
    return absl::OkStatus();
  }
  const RedisOptions options = tenancy::RedisOptionsFrom(redis);
  RedisConnection connection;
  const std::string error =
      connection.Open(options.host, options.port, options.timeout);
  if (error.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "redis.address: cannot reach ", redis.address(), " at start (", error,
      "); with redis.on_failure: closed every call would be refused"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    const Config& config, const Logger& logger, Options options) {
  // Both are process-wide registrations that must happen once, before any
  // builder.
  static std::once_flag once;
  std::call_once(once, [] {
    grpc::EnableDefaultHealthCheckService(true);
    server::CaptureProtobufDiagnostics();
  });

  if (absl::Status redis = CheckRedisAtStart(config.redis()); !redis.ok()) {
    return redis;
  }
  Clock& clock = options.clock != nullptr ? *options.clock : RealClock();
  std::unique_ptr<GatewayServer> gateway(
      new GatewayServer(config, logger, clock));
  auto tenancy = tenancy::Tenancy::Create(config, gateway->timers_, logger,
                                          *gateway->metrics_.registry());
  if (!tenancy.ok()) return tenancy.status();
  gateway->tenancy_ = *std::move(tenancy);
  gateway->admission_ = std::make_unique<call::Admission>(
      call::Admission::Limits{
          static_cast<int>(config.limits().max_concurrent_calls()),
          static_cast<int>(config.limits().max_waiting_calls()),
          ToAbsl(config.limits().admission_wait()),
          static_cast<int>(config.limits().max_streams()),
          static_cast<int>(config.limits().max_long_polls())},
      gateway->timers_,
      gateway->tenancy_ != nullptr ? &gateway->tenancy_->gate() : nullptr);
  call::Admission& admission = *gateway->admission_;
  auto credentials = server::GrpcServerCredentials(config.tls());
  if (!credentials.ok()) return credentials.status();
  const auto& tls = config.tls();
  if (!tls.cert_file().empty() && (tls.http() || tls.admin())) {
    auto source = http::TlsContextSource::Create(
        {tls.cert_file(), tls.key_file(), tls.client_ca_file(),
         tls.require_client_cert()},
        ToAbsl(tls.reload_interval()), gateway->timers_, logger);
    if (!source.ok()) return source.status();
    gateway->http_tls_ = *std::move(source);
  }
  const int threads = static_cast<int>(config.audio().worker_threads());
  gateway->workers_ = std::make_unique<WorkerPool>(
      threads, static_cast<int>(config.audio().worker_queue()));
  WorkerPool& workers = *gateway->workers_;
  upstream::Upstreams::Options upstream_options;
  upstream_options.env = ProcessEnv;
  upstream_options.clock = &clock;
  upstream_options.registry = gateway->metrics_.registry().get();
  upstream_options.embedded_factory = [&workers,
                                       threads](const config::v1::PoolConfig&)
      -> absl::StatusOr<std::unique_ptr<upstream::TranscriptionBackend>> {
    upstream::EmbeddedEngineOptions options;
    // One decoder per worker for whole decodes, and as many for streams'
    // incremental interims: a decoder holds its own model copy (about 100 MB
    // RSS for en-us), so streams beyond them get final results only.
    options.max_decoders = threads;
    options.max_stream_decoders = threads;
    auto engine = upstream::EmbeddedEngine::Create(options, workers);
    if (!engine.ok()) return engine.status();
    return std::unique_ptr<upstream::TranscriptionBackend>(std::move(*engine));
  };
  auto upstreams =
      upstream::Upstreams::Create(gateway->config_, upstream_options);
  if (!upstreams.ok()) return upstreams.status();
  gateway->upstreams_ = std::move(*upstreams);
  gateway->routing_ =
      options.routing != nullptr ? options.routing : gateway->upstreams_.get();
  auto fetcher = operations::AudioFetcher::Create(gateway->config_);
  if (!fetcher.ok()) return fetcher.status();
  gateway->fetcher_ = *std::move(fetcher);
  gateway->operation_store_ =
      NewOperationStore(gateway->config_, gateway->timers_.clock(), logger);
  gateway->spool_budget_ =
      std::make_unique<ByteBudget>(config.audio().max_spool_bytes());
  gateway->decoded_audio_budget_ =
      std::make_unique<ByteBudget>(config.audio().max_decoded_bytes());
  gateway->operations_ = std::make_unique<operations::OperationServices>(
      operations::OperationServices{
          gateway->config_, *gateway->routing_, workers, gateway->timers_,
          gateway->fetcher_.get(), gateway->spool_budget_.get(),
          gateway->decoded_audio_budget_.get()});
  gateway->service_ = std::make_unique<server::VoxgateServiceImpl>(
      call::CallServices{admission, logger, gateway->metrics_,
                         absl::ZeroDuration(), clock, &gateway->timers_},
      *gateway->operations_, gateway->operation_store_.get());
  gateway->operations_service_ =
      std::make_unique<server::OperationsServiceImpl>(
          call::CallServices{admission, logger, gateway->metrics_,
                             ToAbsl(config.limits().default_unary_deadline()),
                             clock, &gateway->timers_},
          gateway->service_->methods());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.server().listen(), *credentials,
                           &gateway->port_);
  builder.RegisterService(gateway->service_.get());
  builder.RegisterService(gateway->operations_service_.get());
  // Reflection lists the API to anyone; with keys it is off unless opened.
  // (Health stays open: probes carry no keys.)
  builder.SetOption(std::make_unique<ReflectionOption>(
      gateway->tenancy_ == nullptr || config.auth().open_reflection()));
  ApplyTransportSettings(config.server(), builder);
  if (options.customize) options.customize(builder);

  gateway->server_ = builder.BuildAndStart();
  if (gateway->server_ == nullptr || gateway->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "server.listen: cannot listen on ", config.server().listen(),
        " (address in use or not local?)"));
  }
  if (config.server().http_listen() != "off") {
    // The HTTP door keeps time on the gateway's clock too.
    auto http = http::HttpFrontDoor::Start(
        gateway->config_,
        {admission, logger, gateway->metrics_,
         ToAbsl(gateway->config_.limits().default_unary_deadline()), clock,
         &gateway->timers_},
        {admission, logger, gateway->metrics_,
         ToAbsl(gateway->config_.limits().default_stream_deadline()), clock,
         &gateway->timers_},
        *gateway->operations_, tls.http() ? gateway->http_tls_.get() : nullptr,
        &gateway->service_->methods());
    if (!http.ok()) return http.status();
    gateway->http_ = *std::move(http);
  }
  // The admin listener: /metrics, /healthz, /readyz.
  AdminServer::Security security;
  if (tls.admin()) security.tls = gateway->http_tls_.get();
  if (gateway->tenancy_ != nullptr && !config.auth().open_metrics()) {
    tenancy::TenantGate* gate = &gateway->tenancy_->gate();
    security.authorize_metrics = [gate](const call::CallerMetadata& metadata) {
      return gate->AuthorizeMetrics(metadata);
    };
  }
  GatewayServer* raw = gateway.get();
  auto admin = AdminServer::Start(
      config.server().admin_listen(),
      {gateway->metrics_.registry(),
       std::make_shared<GatewayCollector>(admission, *gateway->workers_,
                                          *gateway->upstreams_,
                                          gateway->logger_)},
      // Ready unless draining, as the gRPC health service says: every
      // replica shares the model servers, so an upstream outage marking them
      // all unready would empty the Service (embedded-engine and healthy
      // pools' calls too) and callers would get connection errors instead of
      // an UNAVAILABLE naming the pool. Pools are reported separately.
      [raw]() -> std::string {
        return raw->stopping_.load() || raw->admission_->draining() ? "draining"
                                                                    : "";
      },
      [raw] { return raw->routing_->PoolAvailability(); }, security);
  if (!admin.ok()) return admin.status();
  gateway->admin_ = std::move(*admin);
  grpc::HealthCheckServiceInterface* health =
      gateway->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);
  gateway->pool_health_ = std::make_unique<PoolHealthReporter>(
      gateway->timers_, *gateway->routing_, *health);
  gateway->pool_health_->Start();
  const CpuBudget cpus = CurrentCpuBudget();
  logger.Info("serving", {{"listen", config.server().listen()},
                          {"grpc_port", gateway->port_},
                          {"http_port", gateway->http_port()},
                          {"admin_port", gateway->admin_->port()},
                          {"worker_threads", threads},
                          {"cpu_affinity", cpus.affinity_cpus},
                          {"cpu_quota", cpus.quota_cpus.has_value()
                                            ? nlohmann::json(*cpus.quota_cpus)
                                            : nlohmann::json(nullptr)}});
  return gateway;
}

int GatewayServer::admin_port() const { return admin_->port(); }

int GatewayServer::http_port() const {
  return http_ != nullptr ? http_->port() : 0;
}

void GatewayServer::Drain() {
  if (drained_) return;
  drained_ = true;
  stopping_.store(true);  // /readyz agrees with the health service
  pool_health_->Stop();
  // Shutdown() of the health service turns every service NOT_SERVING for good,
  // Watch streams included.
  server_->GetHealthCheckService()->Shutdown();
  const absl::Duration delay = ToAbsl(config_.server().drain_delay());
  const absl::Duration timeout = ToAbsl(config_.server().drain_timeout());
  logger_.Info("draining",
               {{"delay_ms", absl::ToInt64Milliseconds(delay)},
                {"timeout_ms", absl::ToInt64Milliseconds(timeout)}});
  // Calls routed here before the endpoint removal has spread are still
  // served meanwhile.
  skip_drain_delay_.WaitForNotificationWithTimeout(delay);
  admission_->StartDraining();
  // Refuses new calls at once and waits for calls in flight up to the deadline.
  const absl::Time deadline = absl::Now() + timeout;
  server_->Shutdown(absl::ToChronoTime(deadline));
  server_->Wait();
  if (http_ != nullptr) http_->Stop(deadline);
  // Batches are not calls: they run through the drain window, and what is
  // unfinished then ends UNAVAILABLE (see BatchRunner).
  service_->batches().Shutdown(absl::Seconds(10));
  logger_.Info("drained");
}

GatewayServer::~GatewayServer() {
  if (pool_health_ != nullptr) pool_health_->Stop();
  if (http_ != nullptr) http_->Stop(absl::Now());
  if (server_ != nullptr && !drained_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
  if (service_ != nullptr) service_->batches().Shutdown(absl::Seconds(10));
}

}  // namespace voxgate::gateway
