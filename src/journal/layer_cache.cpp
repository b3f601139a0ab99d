#include "journal/layer_cache.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <utility>

#include "base/file_io.hpp"
#include "journal/codec.hpp"
#include "journal/secret_box.hpp"

namespace liveconf::detail {
namespace {

constexpr std::uint64_t kPayloadVersion = 1;

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

LayerCache::LayerCache(std::filesystem::path file, std::shared_ptr<const SecretBox> box)
    : file_(std::move(file)), box_(std::move(box)) {}

Result<LayerCache> LayerCache::create(std::filesystem::path file,
                                      const std::filesystem::path& key_file) {
  Result<SecretBox> box = SecretBox::from_key_file(key_file);
  if (!box) {
    return std::move(box).error();
  }
  return LayerCache(std::move(file), std::make_shared<const SecretBox>(std::move(*box)));
}

Status LayerCache::write(std::string_view identity, std::int64_t revision,
                         const Layer& layer) const {
  ByteWriter body;
  TreeEncoder trees(nullptr);  // the whole payload is sealed below
  trees.encode(body, layer.data);
  ByteWriter payload;
  payload.varint(kPayloadVersion);
  payload.str(identity);
  payload.svarint(revision);
  payload.svarint(to_ms(std::chrono::system_clock::now()));
  payload.str(layer.name);
  payload.svarint(layer.priority);
  payload.str(layer.version);
  trees.write_origins(payload);
  payload.buffer().append(body.buffer());
  std::string file_bytes(kMagic);
  file_bytes += box_->seal(payload.buffer());
  SecretBox::wipe(payload.buffer());
  SecretBox::wipe(body.buffer());
  return write_file_atomically(file_, file_bytes);
}

Result<std::optional<CachedLayer>> LayerCache::read(std::string_view identity) const {
  const std::string name = "cache " + file_.string();
  std::ifstream in(file_, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) {
      return std::optional<CachedLayer>();
    }
    return Error(ErrorCode::kIo, name + ": cannot read it: " + std::strerror(errno));
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return Error(ErrorCode::kIo, name + ": cannot read it");
  }
  auto refuse = [&](const std::string& why) -> Error {
    return Error(ErrorCode::kValidation, name + " is refused: " + why);
  };
  if (!std::string_view(bytes).starts_with(kMagic)) {
    return refuse("not a liveconf cache");
  }
  std::optional<std::string> payload = box_->open(std::string_view(bytes).substr(kMagic.size()));
  if (!payload) {
    return refuse("it fails authentication (altered, truncated, or sealed with another key)");
  }
  ByteReader r(*payload);
  CachedLayer out;
  if (r.varint() != kPayloadVersion || !r.ok()) {
    SecretBox::wipe(*payload);
    return refuse("written by another version of liveconf");
  }
  out.identity = std::string(r.str());
  out.revision = r.svarint();
  out.written = std::chrono::system_clock::time_point(std::chrono::milliseconds(r.svarint()));
  out.layer.name = std::string(r.str());
  out.layer.priority = static_cast<int>(r.svarint());
  out.layer.version = std::string(r.str());
  TreeDecoder trees(nullptr, TreeDecoder::Secrets::kMask);
  std::optional<Value> data;
  if (r.ok() && trees.read_origins(r)) {
    data = trees.decode(r);
  }
  const bool whole = r.ok() && data.has_value() && r.done();
  const std::string error = trees.error();
  SecretBox::wipe(*payload);
  if (!whole) {
    // Authentic but unreadable: a bug, or a format this build does not know.
    return refuse("its content cannot be decoded" + (error.empty() ? "" : ": " + error));
  }
  if (out.identity != identity) {
    return refuse("it was written for " + out.identity + ", not " + std::string(identity));
  }
  out.layer.data = std::move(*data);
  return std::optional<CachedLayer>(std::move(out));
}

}  // namespace liveconf::detail
