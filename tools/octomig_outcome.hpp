// The vocabulary every part of the octomig client shares: its exit codes, a failure that carries
// one, a value-or-failure, and a secret that cannot be printed by accident.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace octomig::cli {

// The process's exit codes; --help and docs/cli.md list them.
enum class exit_code : int {
  ok = 0,
  task_failed = 1,  // a task failed, was canceled, timed out or did not complete in --timeout
  usage = 2,        // bad arguments, a missing secret, no terminal for the question, a 4xx answer
  unavailable = 3,  // no answer, a TLS error, 401/403 (the key), a 5xx or an answer that is no JSON
  declined = 4,     // the user answered no to the question
};

inline int to_int(exit_code c) {
  return static_cast<int>(c);
}

// What went wrong, in words for the user (never with a secret in them), and how the process ends.
struct failure {
  exit_code code;
  std::string message;
  // A poll may try again: the server did not answer or answered 5xx. 401/403 and 4xx are final.
  bool transient = false;
};

inline failure fail(exit_code code, std::string message) {
  return failure{code, std::move(message), false};
}

// A value or a failure. REQUIRES: callers check ok() before value().
template <class T>
class [[nodiscard]] outcome {
 public:
  outcome(T value) : v_(std::move(value)) {}
  outcome(failure f) : v_(std::move(f)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const failure& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, failure> v_;
};

struct done_t {};
using status = outcome<done_t>;
inline status done() {
  return done_t{};
}

// An API key or a password. It has no stream operator and no conversion to a string: sending one
// takes a visible call to reveal(), and nothing else in this program calls it.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  secret(const secret&) = default;
  secret& operator=(const secret&) = default;
  ~secret() {
    // Best effort: the bytes this object held do not outlive it in the heap.
    volatile char* p = value_.data();
    for (std::size_t i = 0; i < value_.size(); ++i) p[i] = 0;
  }

  bool empty() const { return value_.empty(); }
  const std::string& reveal() const { return value_; }

 private:
  std::string value_;
};

}  // namespace octomig::cli
