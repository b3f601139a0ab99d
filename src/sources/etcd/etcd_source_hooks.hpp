// A test seam for the etcd source: callbacks on its session thread at points
// a test cannot otherwise reach deterministically, such as between two pages
// of one listing. Not installed; nothing outside tests sets them.
#pragma once

#include <functional>

#include "liveconf/etcd.hpp"

namespace liveconf::detail {

struct EtcdSourceHooks {
  /// After page `page` (1, 2, ...) of a listing has arrived, before the next
  /// page is requested. A write made here lands between two pages.
  std::function<void(int page)> after_page;
  /// After a listing is in the mirror and the manager has been signalled,
  /// before the watch opens. While it runs the mirror is the listing.
  std::function<void()> after_list;
};

/// Installs `hooks` on a source made by make_etcd_source, before the source
/// starts (add_source). False for any other source.
LIVECONF_API bool set_etcd_source_hooks_for_test(Source& source, EtcdSourceHooks hooks);

}  // namespace liveconf::detail
