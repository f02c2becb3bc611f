// Opening the store for octomig-admin, with the data directory checks and the running-server check.
#include "tools/admin_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <system_error>

namespace octomig::admin {
namespace {

namespace fs = std::filesystem;

// The process holding the RocksDB lock of db_dir (RocksDB takes a POSIX record lock on db/LOCK),
// if any other process holds it. 0 when the holder's pid is not visible (another pid namespace).
std::optional<pid_t> lock_holder(const fs::path& db_dir) {
  int fd = ::open((db_dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 0;
  probe.l_len = 0;
  const bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  if (!held) return std::nullopt;
  return probe.l_pid;
}

// The store opened read_write (created when missing), or the running-server refusal.
result<std::unique_ptr<storage::store>> open_writer(const storage::data_dir& d, bool sync) {
  storage::options o;
  o.db_dir = d.db();
  o.mode = storage::open_mode::read_write;
  o.sync = sync;
  auto st = storage::store::open(o);
  if (st) return st;
  if (auto pid = lock_holder(d.db())) {
    std::string who = *pid > 0 ? " (process " + std::to_string(*pid) + " holds " +
                                     (d.db() / "LOCK").string() + ")"
                               : std::string();
    return make_error(errc::unavailable, "the server is running; stop it first" + who);
  }
  return st.err();
}

}  // namespace

status require_store(const storage::data_dir& d) {
  std::error_code ec;
  if (!fs::is_directory(d.root, ec))
    return make_error(errc::not_found, "no data directory at " + d.root.string() +
                                           " (give --data-dir DIR or set OCTOMIG_DATA_DIR)");
  // RocksDB writes CURRENT when it creates a database; without it there is no store to open.
  if (!fs::is_regular_file(d.db() / "CURRENT", ec))
    return make_error(errc::not_found, "no store in " + d.db().string() +
                                           " (the server has never run on this data directory)");
  return ok_status();
}

result<std::unique_ptr<storage::store>> open_for_reading(const storage::data_dir& d) {
  if (auto s = require_store(d); !s) return s.err();
  storage::options o;
  o.db_dir = d.db();
  o.mode = storage::open_mode::secondary;
  return storage::store::open(o);
}

result<std::unique_ptr<storage::store>> open_for_writing(const storage::data_dir& d) {
  if (auto s = require_store(d); !s) return s.err();
  return open_writer(d, true);
}

result<std::unique_ptr<storage::store>> open_or_create_for_writing(const storage::data_dir& d,
                                                                   bool sync) {
  if (auto s = storage::ensure_layout(d); !s) return s.err();
  return open_writer(d, sync);
}

}  // namespace octomig::admin
