// A streaming multipart/form-data parser for package uploads: finds the first part that has a
// file name and passes its bytes on as the body arrives.
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

// A push parser: the body is fed in pieces of any size as it arrives, and the first part that has
// a non-empty file name is handed out, its header first, then its bytes, without holding more than
// a part's headers and a delimiter's length in memory. Parts before it are skipped; everything
// after its closing delimiter is ignored.
class multipart_parser {
 public:
  // Called once, when the file part's headers are complete; an error stops the parser.
  using part_fn = std::function<status(const file_part&)>;
  // Called with the file part's bytes, in order, in pieces of any size; an error stops the parser.
  using data_fn = std::function<status(const char* data, std::size_t n)>;

  multipart_parser(const std::string& boundary, part_fn on_part, data_fn on_data);

  // The next bytes of the body. errc::invalid_argument when it is malformed; a callback's error
  // as it is. After an error, every later call returns it again.
  status feed(const char* data, std::size_t n);
  // The body has ended: true when the file part was complete, false when the body had none.
  // errc::invalid_argument when it ended inside the file part (a truncated upload) or malformed.
  result<bool> finish();

 private:
  // skip: in a part that is not the file part (or the preamble); done: after the file part or the
  // close delimiter.
  enum class state { skip, file, delimiter_line, headers, done };
  // Scans part data for the delimiter: bytes before it go to on_data_ (in the file part) or are
  // dropped. Returns how much of in was used.
  result<std::size_t> scan_data(const char* in, std::size_t n);
  result<std::size_t> scan_delimiter_line(const char* in, std::size_t n);
  result<std::size_t> scan_headers(const char* in, std::size_t n);
  status emit(const char* data, std::size_t n);
  error fail(error e);

  std::string delimiter_;  // "\r\n--" + boundary
  part_fn on_part_;
  data_fn on_data_;
  state state_ = state::skip;
  // Part data that may be the start of a delimiter (shorter than it), or the delimiter line and
  // headers gathered so far.
  std::string carry_;
  bool file_complete_ = false;
  std::optional<error> error_;
};

}  // namespace octomig::http
