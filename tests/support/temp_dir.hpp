// A fresh directory under $TMPDIR for one test, removed with everything in it when the test ends.
#pragma once

#include <filesystem>
#include <string>

namespace octomig::testing {

class temp_dir {
 public:
  // prefix names the directory for whoever finds one left behind by a crashed test run.
  explicit temp_dir(const std::string& prefix = "octomig-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& child) const { return path_ / child; }

 private:
  std::filesystem::path path_;
};

// Every regular file under dir, concatenated: for checking that a secret reached no file on disk.
std::string all_file_bytes(const std::filesystem::path& dir);

}  // namespace octomig::testing
