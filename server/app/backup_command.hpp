#pragma once
// `cairnd backup --data DIR --to DEST`: a consistent copy of an LMDB data
// directory, taken while a cairnd may be serving it.
//
// DEST must be missing or empty (it is made with mode 0700). DEST/store gets
// a compacted copy of DIR/store made in one read snapshot
// (storage/lmdb_backup.hpp), with mode 0600; the node's key files
// (audit-signing.key, audit-signing.pub, page-token.key) are copied with mode
// 0600; any other file or folder of DIR (state other parts keep beside the
// store) is copied as it is, with its permissions. DEST is then a data_dir a
// cairnd can start on: restoring is stopping cairnd, moving DEST into place as
// data_dir (owned by the service user) and starting it again.
//
// Exit codes: 0 done, 1 the copy failed (DEST not empty, no store, I/O), 2
// bad usage.

#include <iosfwd>
#include <span>
#include <string_view>

namespace cairn::server {

int run_backup(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace cairn::server
