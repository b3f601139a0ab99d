#include "cli/admin_client.hpp"

#include <curl/curl.h>

#include "base/file_io.hpp"

namespace liveconf::cli {
namespace {

std::size_t append_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

Result<std::string> admin_request(const std::string& admin, const std::string& path,
                                  const std::string& token_file, bool post) {
  std::string authorization;
  if (!token_file.empty()) {
    Result<std::string> token = detail::read_token_file(token_file, "admin token file");
    if (!token) {
      return token.error();
    }
    authorization = "Authorization: Bearer " + *token;
  }
  CURL* curl = ::curl_easy_init();
  if (curl == nullptr) {
    return Error(ErrorCode::kInternal, "libcurl could not start");
  }
  std::string url;
  if (admin.starts_with("unix:")) {
    ::curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, admin.substr(5).c_str());
    url = "http://localhost" + path;
  } else {
    url = "http://" + admin + path;
  }
  curl_slist* headers = nullptr;
  if (!authorization.empty()) {
    headers = ::curl_slist_append(headers, authorization.c_str());
    ::curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  if (post) {
    ::curl_easy_setopt(curl, CURLOPT_POST, 1L);
    ::curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  }
  std::string body;
  char message[CURL_ERROR_SIZE] = {};
  ::curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  ::curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &append_body);
  ::curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  ::curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, message);
  ::curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  ::curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = ::curl_easy_perform(curl);
  long status = 0;
  ::curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  ::curl_easy_cleanup(curl);
  ::curl_slist_free_all(headers);
  if (!authorization.empty()) {
    // The token does not linger in this process's memory longer than needed.
    std::fill(authorization.begin(), authorization.end(), '\0');
  }
  if (rc != CURLE_OK) {
    return Error(ErrorCode::kUnavailable,
                 "admin endpoint " + admin + ": " +
                     (message[0] != '\0' ? std::string(message) : ::curl_easy_strerror(rc)));
  }
  if (status < 200 || status >= 300) {
    while (!body.empty() && body.back() == '\n') {
      body.pop_back();
    }
    const ErrorCode code = status == 404                    ? ErrorCode::kNotFound
                           : status == 400 || status == 409 ? ErrorCode::kValidation
                           : status == 401 || status == 403 ? ErrorCode::kIo
                                                            : ErrorCode::kUnavailable;
    return Error(
        code, "admin endpoint " + admin + path + ": HTTP " + std::to_string(status) + ": " + body);
  }
  return body;
}

}  // namespace liveconf::cli
