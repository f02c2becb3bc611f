// The on-disk codec: cereal portable binary, one format byte, then the fields.
//
// envelope value (the key is the global position):
//   u8 format (1) | string stream | u64 stream_version | i64 timestamp_us | u16 tag | body fields
// Decoding never aborts: a short buffer, trailing bytes, an unknown format or an unknown tag is
// reported as errc::corruption naming the position.
#pragma once

#include <string>
#include <string_view>

#include "events/error.hpp"
#include "events/events.hpp"
#include "events/task_state.hpp"

namespace octomig::events {

std::string encode(const envelope& e);
result<envelope> decode(std::uint64_t position, std::string_view bytes);

// Only the body, with its tag (used where the envelope's other fields are known).
std::string encode_body(const event_body& b);
result<event_body> decode_body(std::string_view bytes);

std::string encode(const task_state& s);
result<task_state> decode_task_state(std::string_view bytes);

std::string encode(const log_line& l);
result<log_line> decode_log_line(std::string_view bytes);

}  // namespace octomig::events
