#include "bench/bench_util.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace octomig::bench {

temp_dir::temp_dir(const std::filesystem::path& base, const std::string& prefix) {
  std::filesystem::create_directories(base);
  std::string tmpl = (base / (prefix + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed under " + base.string());
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  if (keep) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path default_base() {
  if (const char* v = std::getenv("OCTOMIG_BENCH_DIR"); v && *v) return v;
  return "/tmp";
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  if (rank == 0) rank = 1;
  return values[std::min(rank, values.size()) - 1];
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

bool flag(int argc, char** argv, int& i, const char* name, std::string& out) {
  std::string a = argv[i];
  std::string n = name;
  if (a.rfind(n + "=", 0) == 0) {
    out = a.substr(n.size() + 1);
    return true;
  }
  if (a == n) {
    if (i + 1 >= argc) throw std::runtime_error(n + " needs a value");
    out = argv[++i];
    return true;
  }
  return false;
}

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(static_cast<std::size_t>(std::stoul(item)));
  return out;
}

std::string describe_fs(const std::filesystem::path& p) {
  // The longest mount point in /proc/mounts that is a prefix of the canonical path.
  std::error_code ec;
  auto canon = std::filesystem::weakly_canonical(p, ec).string();
  std::ifstream mounts("/proc/mounts");
  std::string dev, mnt, type, rest, best_dev, best_mnt, best_type;
  while (mounts >> dev >> mnt >> type && std::getline(mounts, rest)) {
    bool prefix =
        canon == mnt || (canon.rfind(mnt, 0) == 0 && (mnt == "/" || canon[mnt.size()] == '/'));
    if (prefix && mnt.size() >= best_mnt.size()) {
      best_dev = dev;
      best_mnt = mnt;
      best_type = type;
    }
  }
  return best_dev + " mounted on " + best_mnt + " (" + best_type + ")";
}

}  // namespace octomig::bench
