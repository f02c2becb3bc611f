// Small helpers shared by the benchmarks: temporary directories, percentiles, argument parsing.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace octomig::bench {

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t0) {
  return std::chrono::duration<double>(clock::now() - t0).count();
}

// A fresh directory made with mkdtemp under base (created if missing); removed on destruction
// unless keep is set.
class temp_dir {
 public:
  explicit temp_dir(const std::filesystem::path& base, const std::string& prefix);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  bool keep = false;

 private:
  std::filesystem::path path_;
};

// The default base for benchmark data: $OCTOMIG_BENCH_DIR, else /tmp.
std::filesystem::path default_base();

// The p-th percentile (0..100) of values, nearest-rank; sorts values in place. 0 when empty.
double percentile(std::vector<double>& values, double p);

// The median: the middle value, or the mean of the two middle values for an even count. 0 when
// empty.
double median(std::vector<double> values);

// "--name=value" or "--name value"; returns true and sets out when argv[i] is that flag.
bool flag(int argc, char** argv, int& i, const char* name, std::string& out);

// Comma-separated unsigned numbers ("32,64").
std::vector<std::size_t> parse_list(const std::string& text);

// The filesystem that holds p, as df prints it (device and mount point), for the report.
std::string describe_fs(const std::filesystem::path& p);

}  // namespace octomig::bench
