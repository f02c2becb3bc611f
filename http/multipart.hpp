// A streaming multipart/form-data reader for package uploads: finds the first part that has a
// file name and copies its bytes out, holding at most one read buffer in memory.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "events/error.hpp"

namespace octomig::http {

// The boundary parameter of a multipart/form-data Content-Type (quoted or not); nullopt when the
// type is not multipart/form-data or has no boundary.
std::optional<std::string> multipart_boundary(const std::string& content_type);

// Reads up to n bytes into buf; 0 at the end of the body.
using byte_source = std::function<result<std::size_t>(char* buf, std::size_t n)>;
using byte_sink = std::function<status(const char* data, std::size_t n)>;

struct file_part {
  std::string field_name;
  // From filename* (RFC 5987, preferred as RFC 7578 says) or filename; quoted or not; any
  // directory a browser left in it removed.
  std::string file_name;
};

// Content-Disposition parameters as clients write them: name="a"; filename=b.zip;
// filename*=utf-8''b.zip. Returns false when the value is not form-data with parameters.
bool parse_content_disposition(const std::string& value, std::string& name, std::string& file_name,
                               bool& has_file_name);

class multipart_reader {
 public:
  multipart_reader(const std::string& boundary, byte_source source);

  // Skips to the next part that has a non-empty file name, leaving the reader at its first byte.
  // nullopt when the body ends without one; errc::invalid_argument when it is malformed.
  result<std::optional<file_part>> next_file_part();
  // Copies the current part's bytes to sink, up to its closing delimiter. errc::invalid_argument
  // when the body ends before it (a truncated upload); a sink's error is returned as it is.
  status copy_part(const byte_sink& sink);

 private:
  // Makes at least `want` bytes available after pos_ unless the body ends; returns what is there.
  result<std::size_t> fill(std::size_t want);
  // Finds the next delimiter, passing the bytes before it to sink (or dropping them); true when
  // found (pos_ is then just after it), false when the body ended first.
  result<bool> to_delimiter(const byte_sink* sink);

  std::string delimiter_;  // "\r\n--" + boundary
  byte_source source_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false;
  bool done_ = false;  // the closing delimiter was seen
};

}  // namespace octomig::http
