// must(r): the value of a result, or the test fails with the result's own message.
#pragma once

#include <catch2/catch.hpp>
#include <utility>

#include "events/error.hpp"

namespace octomig::testing {

template <class T>
T must(result<T> r) {
  if (!r) FAIL(r.err().message);
  return std::move(r.value());
}

}  // namespace octomig::testing
