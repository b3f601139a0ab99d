// Requests to a running admin endpoint (liveconf::admin) over TCP or a Unix
// socket, through libcurl: what `liveconf status`, `pin`, `unpin` and
// `rollback` send.
#pragma once

#include <string>

#include "liveconf/status.hpp"

namespace liveconf::cli {

/// The body of GET `path` (or POST, with `post`) from the endpoint at
/// `admin` ("127.0.0.1:9901" or "unix:/path"). `token_file`, if given, holds
/// the bearer token sent with the request. Errors: kUnavailable when the
/// endpoint cannot be reached; a non-2xx answer as its own code (kNotFound
/// for 404, kValidation for 400/409, kIo for 401/403) with the body.
[[nodiscard]] Result<std::string> admin_request(const std::string& admin, const std::string& path,
                                                const std::string& token_file = {},
                                                bool post = false);

}  // namespace liveconf::cli
