// octomig_bench_seed_task: gives a STOPPED data directory one finished task, ServerTasks-1
// (task_queued, task_started, task_succeeded), so that bench/http_bench.sh has a task to GET.
// The server has no route that creates tasks yet. Bootstraps the directory first (master key,
// installation id, admin API key in admin-api-key), exactly as octomigd does on its first start.
// Never prints the API key.
#include <iostream>
#include <string>

#include "storage/data_dir.hpp"
#include "storage/store.hpp"

int main(int argc, char** argv) {
  using namespace octomig;
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::cerr << "Usage: octomig_bench_seed_task DATA_DIR   (the server must not be running)\n";
    return 2;
  }
  storage::data_dir dir{argv[1]};
  if (auto s = storage::ensure_layout(dir); !s) return std::cerr << s.err().message << "\n", 1;
  auto master = storage::load_or_create_master_key(dir);
  if (!master) return std::cerr << master.err().message << "\n", 1;
  auto opened = storage::store::open({dir.db(), storage::open_mode::read_write, {}, true});
  if (!opened) return std::cerr << opened.err().message << "\n", 1;
  auto& st = *opened.value();
  const events::timestamp_us t = 1767225600000000;  // 2026-01-01T00:00:00Z
  auto boot = storage::bootstrap(st, dir, *master, t);
  if (!boot) return std::cerr << boot.err().message << "\n", 1;

  const std::string id = "ServerTasks-1";
  auto version = st.stream_version(id);
  if (!version) return std::cerr << version.err().message << "\n", 1;
  if (*version != 0) {
    std::cout << id << " already exists; nothing to do\n";
    return 0;
  }
  storage::append_request r;
  r.stream = id;
  r.expected_version = 0;
  r.timestamp = t + 1000000;
  r.events = {events::task_queued{"MigrationPartialExport", "Export of Projects-1 from Spaces-1",
                                  "Spaces-1",
                                  R"({"PackageId":"Export.Projects-1","PackageVersion":"1.0.0",)"
                                  R"("Projects":["Projects-1"],"IncludeHistory":false})",
                                  0},
              events::task_started{"octomig"}, events::task_succeeded{}};
  auto a = st.append(r);
  if (!a) return std::cerr << a.err().message << "\n", 1;
  std::cout << "seeded " << id << " (positions " << a->first_position << "-" << a->last_position
            << ")\n";
  return 0;
}
