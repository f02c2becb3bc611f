#include "events/error.hpp"

namespace octomig {

const char* to_string(errc code) {
  switch (code) {
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::illegal_transition:
      return "illegal_transition";
    case errc::corruption:
      return "corruption";
    case errc::io_error:
      return "io_error";
    case errc::unavailable:
      return "unavailable";
    case errc::maintenance:
      return "maintenance";
    case errc::unauthorized:
      return "unauthorized";
    case errc::forbidden:
      return "forbidden";
    case errc::too_large:
      return "too_large";
  }
  return "unknown";
}

}  // namespace octomig
