// A real HTTP client for tests of the admin endpoint: libcurl, over TCP or a
// Unix socket ("unix:/path" addresses, as AdminServer::address() gives them).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <curl/curl.h>

namespace liveconf::testing {

struct HttpReply {
  long status = 0;  // 0: no HTTP answer (connection refused, closed, timed out)
  std::string body;
  std::string content_type;
  std::string error;  // libcurl's message when status is 0
};

/// One request to `address` (HOST:PORT or unix:/path). `headers` are
/// "Name: value" lines.
inline HttpReply http_request(const std::string& address, const std::string& path,
                              const std::string& method = "GET",
                              const std::vector<std::string>& headers = {},
                              long timeout_ms = 10000) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  std::string url;
  if (address.rfind("unix:", 0) == 0) {
    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, address.substr(5).c_str());
    url = "http://localhost" + path;
  } else {
    url = "http://" + address + path;
  }
  curl_slist* list = nullptr;
  for (const std::string& h : headers) {
    list = curl_slist_append(list, h.c_str());
  }
  char message[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, message);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, std::size_t size, std::size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    reply.content_type = type != nullptr ? type : "";
  } else {
    reply.error = message;
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

inline HttpReply http_get(const std::string& address, const std::string& path) {
  return http_request(address, path);
}

}  // namespace liveconf::testing
