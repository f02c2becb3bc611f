// One package pushed the way octomigd's Push package step pushes it (outbound::push_package:
// libcurl, a streamed multipart POST, certificates verified), for bench/https_bench.sh: prints
// "<seconds> <bytes>" once the destination has answered 2xx.
//
// Usage: octomig_bench_push BASE_URL PACKAGE_FILE VERSION KEY_FILE [CA_FILE]
// The API key is read from KEY_FILE (never from the command line) and never printed.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "outbound/outbound.hpp"

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::cerr << "usage: octomig_bench_push BASE_URL PACKAGE_FILE VERSION KEY_FILE [CA_FILE]\n";
    return 2;
  }
  std::ifstream key_in(argv[4]);
  std::string key;
  std::getline(key_in, key);
  if (key.empty()) {
    std::cerr << "octomig_bench_push: no API key in " << argv[4] << "\n";
    return 2;
  }
  octomig::outbound::push_request r;
  r.base_url = argv[1];
  r.space_id = "Spaces-1";
  r.api_key = key;
  r.file = argv[2];
  r.package_id = "Bench";
  r.version = argv[3];
  r.file_name = "Bench." + r.version + ".zip";
  if (argc == 6) r.tls.ca_file = argv[5];
  r.max_attempts = 1;
  const auto began = std::chrono::steady_clock::now();
  auto pushed = octomig::outbound::push_package(r);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
  if (!pushed) {
    std::cerr << "octomig_bench_push: " << pushed.err().message << "\n";
    return 1;
  }
  std::error_code ec;
  std::printf("%.3f %llu\n", took.count(),
              static_cast<unsigned long long>(std::filesystem::file_size(r.file, ec)));
  return 0;
}
