// The gRPC plumbing shared by EtcdClient and the etcd source: one channel
// with keepalive and TLS, the generated stubs, per-request contexts carrying
// the require-leader and auth-token metadata, and gRPC status -> liveconf
// Error. gRPC headers stop here and in the .cpp files of this folder.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "liveconf/etcd.hpp"

#include "base/mutex.hpp"
#include "rpc.grpc.pb.h"
#include "sources/etcd/etcd_mapping.hpp"

namespace liveconf::detail {

/// An Error for a failed call: kUnavailable for transport problems and
/// deadlines, kValidation for requests etcd refused; names the endpoint.
[[nodiscard]] Error etcd_error(const grpc::Status& status, std::string_view what,
                               std::string_view endpoints);

class EtcdRpc {
 public:
  /// Errors: kValidation (no endpoint, bad URL, unreadable TLS file).
  [[nodiscard]] static Result<std::unique_ptr<EtcdRpc>> create(const EtcdConnection& connection);

  /// A context for one call: metadata (hasleader, token) and, when
  /// `deadline` is positive, a deadline that far from now.
  void prepare(grpc::ClientContext& context, std::chrono::milliseconds deadline) const;
  /// Gets a token when a username is configured (again after a reconnect or
  /// an "invalid auth token"). Errors as etcd_error.
  [[nodiscard]] Status authenticate();
  /// Forgets the token, so the next authenticate() fetches a new one.
  void drop_token();
  /// Whether the channel's last connection attempt failed (refused, reset,
  /// TLS): asks it to connect and waits up to `wait` for its state to change.
  [[nodiscard]] bool connect_failed(std::chrono::milliseconds wait);
  /// Whether the channel is connected now (asking it to connect if idle).
  [[nodiscard]] bool connected_now();
  /// Waits up to `wait` for the channel to connect; whether it did.
  [[nodiscard]] bool wait_connected(std::chrono::milliseconds wait);

  /// A unary call with the connection's request deadline and metadata; one
  /// retry after re-authenticating when the token was refused.
  template <typename Request, typename Response, typename Call>
  [[nodiscard]] Status unary(std::string_view what, const Request& request, Response& response,
                             Call call) {
    for (int attempt = 0;; ++attempt) {
      if (Status st = authenticate(); !st.ok()) {
        return st;
      }
      grpc::ClientContext context;
      prepare(context, connection_.request_timeout);
      const grpc::Status status = call(&context, request, &response);
      if (status.ok()) {
        return ok_status();
      }
      if (attempt == 0 && token_refused(status)) {
        drop_token();
        continue;
      }
      return etcd_error(status, what, endpoints_);
    }
  }

  [[nodiscard]] etcdserverpb::KV::Stub& kv() { return *kv_; }
  [[nodiscard]] etcdserverpb::Watch::Stub& watch() { return *watch_; }
  [[nodiscard]] etcdserverpb::Lease::Stub& lease() { return *lease_; }
  [[nodiscard]] const std::string& endpoints() const { return endpoints_; }
  [[nodiscard]] const EtcdConnection& connection() const { return connection_; }
  [[nodiscard]] static bool token_refused(const grpc::Status& status);

 private:
  EtcdRpc() = default;

  EtcdConnection connection_;
  std::string endpoints_;  // for messages
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Auth::Stub> auth_;
  mutable Mutex token_mu_;
  std::string token_ LIVECONF_GUARDED_BY(token_mu_);
};

}  // namespace liveconf::detail
