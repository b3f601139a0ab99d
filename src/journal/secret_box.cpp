#include "journal/secret_box.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <sodium.h>
#include <sys/stat.h>

#include "value/text.hpp"

namespace liveconf::detail {
namespace {

bool sodium_ready() {
  static const bool ready = ::sodium_init() >= 0;  // idempotent, thread-safe
  return ready;
}

}  // namespace

Result<SecretBox> SecretBox::from_key_file(const std::filesystem::path& path) {
  const std::string name = "key file " + path.string();
  if (!sodium_ready()) {
    return Error(ErrorCode::kInternal, "libsodium failed to initialise");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Error(ErrorCode::kIo, name + ": cannot read it");
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(ErrorCode::kValidation, name + ": not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return Error(ErrorCode::kValidation,
                 name + ": readable by group or others; chmod 600 it (the key unseals secrets)");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return Error(ErrorCode::kIo, name + ": cannot read it");
  }
  SecretBox box;
  if (text.size() == kKeyBytes) {
    std::copy(text.begin(), text.end(), box.key_.begin());
  } else {
    std::size_t b = 0;
    std::size_t e = text.size();
    while (b < e && std::isspace(static_cast<unsigned char>(text[b])) != 0) {
      ++b;
    }
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1])) != 0) {
      --e;
    }
    bool hex = e - b == 2 * kKeyBytes;
    for (std::size_t i = 0; hex && i < kKeyBytes; ++i) {
      const int hi = detail::hex_value(text[b + 2 * i]);
      const int lo = detail::hex_value(text[b + 2 * i + 1]);
      hex = hi >= 0 && lo >= 0;
      box.key_[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    if (!hex) {
      ::sodium_memzero(text.data(), text.size());
      return Error(ErrorCode::kValidation,
                   name + ": expected 32 raw bytes or 64 hex digits (head -c 32 /dev/urandom)");
    }
  }
  ::sodium_memzero(text.data(), text.size());
  return box;
}

void SecretBox::wipe(std::string& s) noexcept { ::sodium_memzero(s.data(), s.size()); }

SecretBox::~SecretBox() { ::sodium_memzero(key_.data(), key_.size()); }

std::string SecretBox::seal(std::string_view plaintext) const {
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  ::randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  ::crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                          reinterpret_cast<const unsigned char*>(plaintext.data()),
                          plaintext.size(), nonce, key_.data());
  return out;
}

std::optional<std::string> SecretBox::open(std::string_view sealed) const {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return std::nullopt;
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const std::size_t cipher = sealed.size() - crypto_secretbox_NONCEBYTES;
  std::string out(cipher - crypto_secretbox_MACBYTES, '\0');
  if (::crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                   nonce + crypto_secretbox_NONCEBYTES, cipher, nonce,
                                   key_.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace liveconf::detail
