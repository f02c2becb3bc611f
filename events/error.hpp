// Errors as values: one domain error enum for the whole engine, and a small result type.
// http/ maps errc to status codes and Octopus error bodies in exactly one place.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace octomig {

enum class errc {
  invalid_argument,    // the caller sent something malformed or incomplete
  not_found,           // no such task, stream, document or key
  conflict,            // expected stream version did not match; name already taken
  illegal_transition,  // decide() refused: the command does not fit the current state
  corruption,          // stored bytes could not be decoded
  io_error,            // the disk or the database failed
  unavailable,         // shutting down, or an actor did not answer in time
  maintenance,         // refused because maintenance mode is on
  unauthorized,        // no valid API key
  forbidden,           // valid key, missing role
  too_large,           // a size limit was exceeded
};

const char* to_string(errc code);

struct error {
  errc code;
  std::string message;  // human text; never contains a secret
};

inline error make_error(errc code, std::string message) {
  return error{code, std::move(message)};
}

// A value or an error. REQUIRES: callers check ok() before value(). [[nodiscard]]: a result
// dropped on the floor is a failure nobody hears of, so the compiler refuses it.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error err) : v_(std::move(err)) {}
  // An error ("no result"): for frameworks that make a value before they fill it in (CAF's
  // message deserialization); a result that is never filled in fails closed.
  result() : v_(error{errc::unavailable, "no result"}) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

// result<void>: success carries nothing.
struct ok_t {};
using status = result<ok_t>;
inline status ok_status() {
  return ok_t{};
}

}  // namespace octomig
