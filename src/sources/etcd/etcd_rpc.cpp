#include "sources/etcd/etcd_rpc.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <grpcpp/security/credentials.h>

#include "sources/file/read_file.hpp"

namespace liveconf::detail {
namespace {

constexpr std::size_t kMaxPemBytes = 1 << 20;

Result<std::string> read_pem(const std::string& path, std::string_view what) {
  Result<FileRead> r = read_file(path, "etcd " + std::string(what), kMaxPemBytes);
  if (!r) {
    return Error(ErrorCode::kValidation,
                 "etcd TLS " + std::string(what) + ": " + r.error().to_string());
  }
  return std::move(r->bytes);
}

}  // namespace

Error etcd_error(const grpc::Status& status, std::string_view what, std::string_view endpoints) {
  ErrorCode code = ErrorCode::kUnavailable;
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::NOT_FOUND:
      code = ErrorCode::kValidation;
      break;
    case grpc::StatusCode::CANCELLED:
      code = ErrorCode::kCancelled;
      break;
    default:
      break;  // UNAVAILABLE, DEADLINE_EXCEEDED, UNKNOWN, INTERNAL, ...: try again later
  }
  return Error(code, "etcd " + std::string(what) + " at " + std::string(endpoints) + ": " +
                         status.error_message() + " (gRPC " +
                         std::to_string(static_cast<int>(status.error_code())) + ")");
}

bool EtcdRpc::token_refused(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
         status.error_message().find("invalid auth token") != std::string::npos;
}

Result<std::unique_ptr<EtcdRpc>> EtcdRpc::create(const EtcdConnection& connection) {
  if (connection.endpoints.empty()) {
    return Error(ErrorCode::kValidation, "etcd: no endpoint given");
  }
  std::unique_ptr<EtcdRpc> rpc(new EtcdRpc());
  rpc->connection_ = connection;
  bool tls = connection.tls.has_value();
  std::vector<std::string> targets;
  for (const std::string& e : connection.endpoints) {
    Result<std::string> t = etcd_target(e, tls);
    if (!t) {
      return std::move(t).error();
    }
    targets.push_back(std::move(*t));
    rpc->endpoints_ += (rpc->endpoints_.empty() ? "" : ",") + e;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (tls) {
    grpc::SslCredentialsOptions ssl;
    if (connection.tls) {
      if (!connection.tls->ca_file.empty()) {
        Result<std::string> ca = read_pem(connection.tls->ca_file, "ca_file");
        if (!ca) {
          return std::move(ca).error();
        }
        ssl.pem_root_certs = std::move(*ca);
      }
      if (connection.tls->cert_file.empty() != connection.tls->key_file.empty()) {
        return Error(ErrorCode::kValidation, "etcd TLS: cert_file and key_file go together");
      }
      if (!connection.tls->cert_file.empty()) {
        Result<std::string> cert = read_pem(connection.tls->cert_file, "cert_file");
        Result<std::string> key = read_pem(connection.tls->key_file, "key_file");
        if (!cert) {
          return std::move(cert).error();
        }
        if (!key) {
          return std::move(key).error();
        }
        ssl.pem_cert_chain = std::move(*cert);
        ssl.pem_private_key = std::move(*key);
      }
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(connection.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
              static_cast<int>(connection.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Reconnect quickly after an etcd restart; our own session backoff (with
  // jitter) paces the retries above this.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetMaxReceiveMessageSize(64 << 20);
  // A private subchannel pool: two clients in one process (a test's writer
  // and the source) never share, so cancelling one never affects the other.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Round-robin over every address: a dead member is skipped, for several
  // endpoints and for one DNS name that resolves to all members alike.
  args.SetLoadBalancingPolicyName("round_robin");
  std::string target;
  if (targets.size() == 1) {
    target = targets[0];
  } else {
    // gRPC takes a list only as literal addresses ("ipv4:a:p,b:p").
    target = "ipv4:";
    for (std::size_t i = 0; i < targets.size(); ++i) {
      in_addr addr{};
      const std::string host = targets[i].substr(0, targets[i].rfind(':'));
      if (::inet_pton(AF_INET, host.c_str(), &addr) != 1) {
        return Error(ErrorCode::kValidation,
                     "etcd endpoints: several endpoints must be IPv4 addresses (\"" + host +
                         "\" is not); give one DNS name that resolves to every member instead");
      }
      target += (i ? "," : "") + targets[i];
    }
  }
  rpc->channel_ = grpc::CreateCustomChannel(target, credentials, args);
  rpc->kv_ = etcdserverpb::KV::NewStub(rpc->channel_);
  rpc->watch_ = etcdserverpb::Watch::NewStub(rpc->channel_);
  rpc->lease_ = etcdserverpb::Lease::NewStub(rpc->channel_);
  rpc->auth_ = etcdserverpb::Auth::NewStub(rpc->channel_);
  return rpc;
}

bool EtcdRpc::connected_now() {
  return channel_->GetState(/*try_to_connect=*/true) == GRPC_CHANNEL_READY;
}

bool EtcdRpc::wait_connected(std::chrono::milliseconds wait) {
  return channel_->WaitForConnected(std::chrono::system_clock::now() + wait);
}

bool EtcdRpc::connect_failed(std::chrono::milliseconds wait) {
  const grpc_connectivity_state now = channel_->GetState(/*try_to_connect=*/true);
  if (now == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    return true;
  }
  (void)channel_->WaitForStateChange(now, std::chrono::system_clock::now() + wait);
  return channel_->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE;
}

void EtcdRpc::prepare(grpc::ClientContext& context, std::chrono::milliseconds deadline) const {
  if (connection_.require_leader) {
    context.AddMetadata("hasleader", "true");
  }
  {
    MutexLock lk(token_mu_);
    if (!token_.empty()) {
      context.AddMetadata("token", token_);
    }
  }
  if (deadline.count() > 0) {
    context.set_deadline(std::chrono::system_clock::now() + deadline);
  }
  // Wait (within the deadline) for a connection instead of failing at once
  // while the channel backs off after a server restart.
  context.set_wait_for_ready(true);
}

Status EtcdRpc::authenticate() {
  if (connection_.username.empty()) {
    return ok_status();
  }
  {
    MutexLock lk(token_mu_);
    if (!token_.empty()) {
      return ok_status();
    }
  }
  etcdserverpb::AuthenticateRequest request;
  request.set_name(connection_.username);
  request.set_password(connection_.password);
  etcdserverpb::AuthenticateResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + connection_.request_timeout);
  const grpc::Status status = auth_->Authenticate(&context, request, &response);
  if (!status.ok()) {
    // The message is etcd's ("authentication failed, invalid user ID or
    // password"); it never contains the password.
    return etcd_error(status, "authentication as \"" + connection_.username + "\"", endpoints_);
  }
  MutexLock lk(token_mu_);
  token_ = response.token();
  return ok_status();
}

void EtcdRpc::drop_token() {
  MutexLock lk(token_mu_);
  token_.clear();
}

}  // namespace liveconf::detail
