// EtcdClient: synchronous KV, lease and compaction calls over EtcdRpc.
#include <algorithm>

#include <grpcpp/grpcpp.h>

#include "liveconf/etcd.hpp"

#include "sources/etcd/etcd_rpc.hpp"

namespace liveconf {
namespace {

class EtcdClientImpl final : public EtcdClient {
 public:
  explicit EtcdClientImpl(std::unique_ptr<detail::EtcdRpc> rpc) : rpc_(std::move(rpc)) {}

  Result<std::int64_t> put(const std::string& key, const std::string& value,
                           std::int64_t lease) override {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    if (Status st = call("put " + key, request, response, &Stub::Put); !st.ok()) {
      return st.error();
    }
    return response.header().revision();
  }

  Result<std::int64_t> remove(const std::string& key, bool prefix) override {
    etcdserverpb::DeleteRangeRequest request;
    fill_delete(request, key, prefix);
    etcdserverpb::DeleteRangeResponse response;
    if (Status st = call("delete " + key, request, response, &Stub::DeleteRange); !st.ok()) {
      return st.error();
    }
    return response.header().revision();
  }

  Result<std::int64_t> commit(const std::vector<EtcdWrite>& writes) override {
    return commit_if({}, writes);
  }

  Result<std::int64_t> commit_if(const std::vector<EtcdCompare>& guard,
                                 const std::vector<EtcdWrite>& writes) override {
    etcdserverpb::TxnRequest request;
    for (const EtcdCompare& c : guard) {
      etcdserverpb::Compare* cmp = request.add_compare();
      cmp->set_key(c.key);
      if (!c.range_end.empty()) {
        cmp->set_range_end(c.range_end);
      }
      cmp->set_target(etcdserverpb::Compare::MOD);
      cmp->set_mod_revision(c.mod_revision);
      switch (c.op) {
        case EtcdCompare::Op::kEqual:
          cmp->set_result(etcdserverpb::Compare::EQUAL);
          break;
        case EtcdCompare::Op::kNotEqual:
          cmp->set_result(etcdserverpb::Compare::NOT_EQUAL);
          break;
        case EtcdCompare::Op::kLess:
          cmp->set_result(etcdserverpb::Compare::LESS);
          break;
        case EtcdCompare::Op::kGreater:
          cmp->set_result(etcdserverpb::Compare::GREATER);
          break;
      }
    }
    for (const EtcdWrite& w : writes) {
      etcdserverpb::RequestOp* op = request.add_success();
      if (w.kind == EtcdWrite::Kind::kPut) {
        etcdserverpb::PutRequest* put = op->mutable_request_put();
        put->set_key(w.key);
        put->set_value(w.value);
        put->set_lease(w.lease);
      } else {
        fill_delete(*op->mutable_request_delete_range(), w.key,
                    w.kind == EtcdWrite::Kind::kDeletePrefix);
      }
    }
    etcdserverpb::TxnResponse response;
    if (Status st = call("transaction", request, response, &Stub::Txn); !st.ok()) {
      return st.error();
    }
    if (!response.succeeded()) {
      return Error(ErrorCode::kFailedPrecondition,
                   "etcd at " + rpc_->endpoints() +
                       ": transaction not applied: the keys it was guarded by changed meanwhile "
                       "(now at revision " +
                       std::to_string(response.header().revision()) + ")");
    }
    return response.header().revision();
  }

  Result<std::vector<EtcdKeyValue>> get(const std::string& key, bool prefix) override {
    std::vector<EtcdKeyValue> out;
    std::string from = key;
    std::int64_t pinned = 0;
    while (true) {
      etcdserverpb::RangeRequest request;
      request.set_key(from);
      if (prefix) {
        request.set_range_end(detail::etcd_prefix_end(key));
        request.set_limit(1000);
      }
      request.set_revision(pinned);
      etcdserverpb::RangeResponse response;
      if (Status st = call("range " + key, request, response, &Stub::Range); !st.ok()) {
        return st.error();
      }
      pinned = response.header().revision();
      for (const mvccpb::KeyValue& kv : response.kvs()) {
        out.push_back(EtcdKeyValue{kv.key(), kv.value(), kv.mod_revision(), kv.lease()});
      }
      if (!response.more() || response.kvs().empty()) {
        return out;
      }
      from = response.kvs(response.kvs_size() - 1).key() + std::string(1, '\0');
    }
  }

  Result<std::int64_t> revision() override {
    etcdserverpb::RangeRequest request;
    request.set_key(std::string(1, '\0'));
    request.set_count_only(true);
    etcdserverpb::RangeResponse response;
    if (Status st = call("revision", request, response, &Stub::Range); !st.ok()) {
      return st.error();
    }
    return response.header().revision();
  }

  Status compact(std::int64_t revision) override {
    etcdserverpb::CompactionRequest request;
    request.set_revision(revision);
    request.set_physical(true);
    etcdserverpb::CompactionResponse response;
    return call("compaction at " + std::to_string(revision), request, response, &Stub::Compact);
  }

  Result<std::int64_t> grant_lease(std::chrono::seconds ttl) override {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl.count());
    etcdserverpb::LeaseGrantResponse response;
    Status st = rpc_->unary("lease grant", request, response,
                            [this](grpc::ClientContext* c, const auto& req, auto* resp) {
                              return rpc_->lease().LeaseGrant(c, req, resp);
                            });
    if (!st.ok()) {
      return st.error();
    }
    if (!response.error().empty()) {
      return Error(ErrorCode::kValidation, "etcd lease grant: " + response.error());
    }
    return response.id();
  }

  Result<std::chrono::seconds> keep_alive(std::int64_t lease) override {
    // One request on a stream of its own (etcd has no unary renewal): open,
    // send, read the answer, close. A deadline bounds the whole exchange.
    if (Status st = rpc_->authenticate(); !st.ok()) {
      return st.error();
    }
    grpc::ClientContext context;
    rpc_->prepare(context, rpc_->connection().request_timeout);
    auto stream = rpc_->lease().LeaseKeepAlive(&context);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseKeepAliveResponse response;
    const bool answered = stream->Write(request) && stream->Read(&response);
    stream->WritesDone();
    if (!answered) {
      context.TryCancel();
    }
    const grpc::Status status = stream->Finish();
    if (!answered) {
      return detail::etcd_error(status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                           "no answer to the lease renewal")
                                            : status,
                                "lease keep-alive", rpc_->endpoints());
    }
    return std::chrono::seconds(std::max<std::int64_t>(response.ttl(), 0));
  }

  Status revoke_lease(std::int64_t lease) override {
    etcdserverpb::LeaseRevokeRequest request;
    request.set_id(lease);
    etcdserverpb::LeaseRevokeResponse response;
    return rpc_->unary("lease revoke", request, response,
                       [this](grpc::ClientContext* c, const auto& req, auto* resp) {
                         return rpc_->lease().LeaseRevoke(c, req, resp);
                       });
  }

 private:
  using Stub = etcdserverpb::KV::Stub;

  static void fill_delete(etcdserverpb::DeleteRangeRequest& request, const std::string& key,
                          bool prefix) {
    request.set_key(key);
    if (prefix) {
      request.set_range_end(detail::etcd_prefix_end(key));
    }
  }

  template <typename Request, typename Response>
  Status call(const std::string& what, const Request& request, Response& response,
              grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*)) {
    return rpc_->unary(what, request, response,
                       [this, method](grpc::ClientContext* c, const Request& req, Response* resp) {
                         return (rpc_->kv().*method)(c, req, resp);
                       });
  }

  std::unique_ptr<detail::EtcdRpc> rpc_;
};

}  // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::create(EtcdConnection connection) {
  Result<std::unique_ptr<detail::EtcdRpc>> rpc = detail::EtcdRpc::create(connection);
  if (!rpc) {
    return std::move(rpc).error();
  }
  return std::unique_ptr<EtcdClient>(new EtcdClientImpl(std::move(*rpc)));
}

}  // namespace liveconf
