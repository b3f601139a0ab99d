// Which filesystems inotify cannot be trusted on: a change made by another
// machine (NFS, SMB) or by a userspace daemon (FUSE) produces no event here.
// Split from is_network_filesystem() so the classification can be tested
// with every magic number, not only with the filesystems this machine mounts.
#pragma once

#include <cstdint>

namespace liveconf::detail {

/// True for statfs f_type values of network and userspace filesystems: NFS,
/// SMB/CIFS/SMB2, FUSE, 9p, Ceph, AFS (kAFS and OpenAFS), Coda, OCFS2, GFS2.
[[nodiscard]] bool is_network_filesystem_type(std::int64_t f_type) noexcept;

}  // namespace liveconf::detail
