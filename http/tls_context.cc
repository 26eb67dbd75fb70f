#include "http/tls_context.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "common/peer_identity.h"
#include "absl/strings/str_cat.h"
#include "common/pem_file.h"

namespace voxgate::http {
namespace {

namespace ssl = boost::asio::ssl;

// Picks http/1.1 when the client offers it (curl and httpx offer h2 first);
// without a match the handshake goes on with no protocol chosen.
int SelectHttp11(SSL*, const unsigned char** out, unsigned char* out_length,
                 const unsigned char* offered, unsigned int offered_length,
                 void*) {
  static const unsigned char kHttp11[] = {8,   'h', 't', 't', 'p',
                                          '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kHttp11, sizeof(kHttp11),
                            offered,
                            offered_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

absl::StatusOr<std::shared_ptr<ssl::context>> NewContext(const TlsFiles& files,
                                                         bool client_auth) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  context->set_options(ssl::context::default_workarounds |
                       ssl::context::no_compression);
  SSL_CTX_set_alpn_select_cb(native, SelectHttp11, nullptr);
  boost::system::error_code ec;
  context->use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.cert_file: cannot load the certificate chain at ",
                     files.cert_file, ": ", ec.message()));
  }
  context->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.key_file: cannot load the private key at ",
                     files.key_file, " (or it does not match tls.cert_file)"));
  }
  if (client_auth && !files.client_ca_file.empty()) {
    context->load_verify_file(files.client_ca_file, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.client_ca_file: cannot load the CA bundle at ",
                       files.client_ca_file, ": ", ec.message()));
    }
    // Lists the acceptable CAs to clients choosing a certificate.
    SSL_CTX_set_client_CA_list(
        native, SSL_load_client_CA_file(files.client_ca_file.c_str()));
    context->set_verify_mode(
        ssl::verify_peer |
        (files.require_client_cert ? ssl::verify_fail_if_no_peer_cert : 0));
    // Session resumption with client certificates needs a context id.
    static const unsigned char kSessionContext[] = "voxgate-http";
    SSL_CTX_set_session_id_context(native, kSessionContext,
                                   sizeof(kSessionContext) - 1);
  } else {
    context->set_verify_mode(ssl::verify_none);
  }
  return context;
}

std::string AsString(const ASN1_STRING* text) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                     static_cast<std::size_t>(ASN1_STRING_length(text)));
}

}  // namespace

absl::StatusOr<TlsContextSource::Contexts> TlsContextSource::Load(
    const TlsFiles& files) {
  std::vector<std::pair<const char*, std::string>> pem_files = {
      {"tls.cert_file", files.cert_file}, {"tls.key_file", files.key_file}};
  if (!files.client_ca_file.empty()) {
    pem_files.emplace_back("tls.client_ca_file", files.client_ca_file);
  }
  for (const auto& [key, path] : pem_files) {
    if (auto pem = ReadPemFile(key, path); !pem.ok()) return pem.status();
  }
  Contexts contexts;
  auto with = NewContext(files, /*client_auth=*/true);
  if (!with.ok()) return with.status();
  auto without = NewContext(files, /*client_auth=*/false);
  if (!without.ok()) return without.status();
  contexts.with_client_auth = *std::move(with);
  contexts.without_client_auth = *std::move(without);
  return contexts;
}

absl::StatusOr<std::unique_ptr<TlsContextSource>> TlsContextSource::Create(
    TlsFiles files, absl::Duration reload_interval, TimerQueue& timers,
    const Logger& logger) {
  auto contexts = Load(files);
  if (!contexts.ok()) return contexts.status();
  std::unique_ptr<TlsContextSource> source(
      new TlsContextSource(files, *std::move(contexts), logger));
  std::vector<std::string> paths = {files.cert_file, files.key_file};
  if (!files.client_ca_file.empty()) paths.push_back(files.client_ca_file);
  TlsContextSource* raw = source.get();
  source->watcher_ = std::make_unique<FileWatcher>(
      std::move(paths), reload_interval, timers, [raw] { raw->Reload(); });
  return source;
}

TlsContextSource::TlsContextSource(TlsFiles files, Contexts contexts,
                                   const Logger& logger)
    : files_(std::move(files)),
      logger_(logger),
      contexts_(std::move(contexts)) {}

// The watcher first: no reload runs once the contexts start going.
TlsContextSource::~TlsContextSource() { watcher_.reset(); }

void TlsContextSource::Reload() {
  auto contexts = Load(files_);
  if (!contexts.ok()) {
    // cert-manager writes the certificate and the key one after the other:
    // a half-written pair is retried at the next change or interval.
    logger_.Warning(
        "TLS files changed but do not load; serving the previous "
        "certificate",
        {{"error", std::string(contexts.status().message())}});
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    contexts_ = *std::move(contexts);
  }
  logger_.Info("TLS certificate reloaded for the HTTP listeners",
               {{"cert_file", files_.cert_file}});
}

std::shared_ptr<ssl::context> TlsContextSource::WithClientAuth() const {
  absl::MutexLock lock(&mu_);
  return contexts_.with_client_auth;
}

std::shared_ptr<ssl::context> TlsContextSource::WithoutClientAuth() const {
  absl::MutexLock lock(&mu_);
  return contexts_.without_client_auth;
}

std::string VerifiedPeerIdentity(const ssl_st* connection) {
  if (SSL_get_verify_result(connection) != X509_V_OK) return "";
  X509* certificate = SSL_get1_peer_certificate(connection);
  if (certificate == nullptr) return "";
  std::vector<std::string> uris, dns;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI) {
      uris.push_back(AsString(name->d.uniformResourceIdentifier));
    } else if (name->type == GEN_DNS) {
      dns.push_back(AsString(name->d.dNSName));
    }
  }
  GENERAL_NAMES_free(names);
  std::string common_name;
  const X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    common_name =
        AsString(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  }
  X509_free(certificate);
  return ClientCertificateIdentity(uris, dns, common_name);
}

}  // namespace voxgate::http
