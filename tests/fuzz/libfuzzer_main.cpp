// One libFuzzer entry point per executable; OCTOMIG_FUZZ_TARGET names the target at build time.
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  octomig::fuzz::OCTOMIG_FUZZ_TARGET(data, size);
  return 0;
}
