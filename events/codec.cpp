#include "events/codec.hpp"

#include "events/events.hpp"

#include <algorithm>
#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <sstream>
#include <streambuf>

// Declared before the loads below, which name it: cereal finds a type's serialize by ADL.
namespace octomig::events {
template <class A>
void serialize(A& a, log_line& l) {
  a(l.category, l.occurred_at, l.text);
}
template <class A>
void serialize(A& a, collection_count& c) {
  a(c.collection, c.count);
}
template <class A>
void serialize(A& a, import_count& c) {
  a(c.collection, c.created, c.overwritten, c.skipped);
}
}  // namespace octomig::events

// Strings are read in bounded chunks: cereal's own load resizes the string to the length field
// before reading, so one damaged length made the decoder allocate and zero gigabytes (or abort)
// for a buffer of a few bytes. The wire format is cereal's: a size tag, then the bytes.
// ADL finds this overload through the archive type and prefers it to cereal's template.
// REQUIRES: this is the only translation unit that loads a std::string from a
// PortableBinaryInputArchive (cereal is a private dependency of this file).
namespace cereal {
void load(PortableBinaryInputArchive& ar, std::string& s) {
  size_type size = 0;
  ar(make_size_tag(size));
  s.clear();
  constexpr size_type chunk = 64 * 1024;
  while (s.size() < size) {
    const std::size_t old = s.size();
    const std::size_t n = static_cast<std::size_t>(std::min<size_type>(chunk, size - old));
    s.resize(old + n);
    ar(binary_data(s.data() + old, n));
  }
}

// Vectors of structs (a task_recorded's log, a documents_collected's counts). cereal's own vector
// load resizes to the length field first, with the same failure as strings above; this one grows
// the vector as elements actually decode, so a damaged length ends in a short-buffer error
// instead. Same wire format.
template <class T>
void load_grown(PortableBinaryInputArchive& ar, std::vector<T>& v) {
  size_type size = 0;
  ar(make_size_tag(size));
  v.clear();
  v.reserve(static_cast<std::size_t>(std::min<size_type>(size, 1024)));
  for (size_type i = 0; i < size; ++i) {
    T element;
    ar(element);
    v.push_back(std::move(element));
  }
}
void load(PortableBinaryInputArchive& ar, std::vector<octomig::events::log_line>& v) {
  load_grown(ar, v);
}
void load(PortableBinaryInputArchive& ar, std::vector<octomig::events::collection_count>& v) {
  load_grown(ar, v);
}
void load(PortableBinaryInputArchive& ar, std::vector<octomig::events::import_count>& v) {
  load_grown(ar, v);
}
}  // namespace cereal

namespace octomig::events {

// cereal serializers: one per event; field order is part of the on-disk format.
template <class A>
void serialize(A& a, task_queued& e) {
  a(e.name, e.description, e.space_id, e.arguments_json, e.time_limit_ms);
}
template <class A>
void serialize(A& a, task_started& e) {
  a(e.server_node);
}
template <class A>
void serialize(A& a, step_started& e) {
  a(e.step);
}
template <class A>
void serialize(A& a, step_finished& e) {
  a(e.step, e.summary);
}
template <class A>
void serialize(A& a, message_logged& e) {
  a(e.category, e.text);
}
template <class A>
void serialize(A& a, warning_raised& e) {
  a(e.message);
}
template <class A>
void serialize(A& a, task_cancel_requested& e) {
  a(e.requested_by);
}
template <class A>
void serialize(A&, task_succeeded&) {}
template <class A>
void serialize(A& a, task_failed& e) {
  a(e.error_message);
}
template <class A>
void serialize(A&, task_canceled&) {}
template <class A>
void serialize(A& a, task_timed_out& e) {
  a(e.time_limit_ms);
}
template <class A>
void serialize(A& a, task_interrupted& e) {
  a(e.error_message);
}
template <class A>
void serialize(A& a, task_recorded& e) {
  auto state = static_cast<std::uint8_t>(e.final_state);
  a(e.name, e.description, e.space_id, e.arguments_json, state, e.queue_time, e.start_time,
    e.completed_time, e.error_message, e.has_warnings_or_errors, e.log);
  e.final_state = static_cast<task_status>(state);
}
template <class A>
void serialize(A& a, package_built& e) {
  a(e.file_name, e.size_bytes, e.sha256, e.encrypted);
}
template <class A>
void serialize(A& a, callback_scheduled& e) {
  a(e.kind, e.uri);
}
template <class A>
void serialize(A& a, documents_collected& e) {
  a(e.counts, e.task_logs, e.left_out);
}
template <class A>
void serialize(A& a, package_pushed& e) {
  a(e.destination, e.space_id, e.size_bytes, e.attempts, e.already_there);
}
template <class A>
void serialize(A& a, package_published_locally& e) {
  a(e.space_id, e.package_id, e.version, e.size_bytes);
}
template <class A>
void serialize(A& a, callback_attempted& e) {
  a(e.kind, e.attempt, e.http_status, e.outcome);
}
template <class A>
void serialize(A& a, callback_delivered& e) {
  a(e.kind, e.http_status);
}
template <class A>
void serialize(A& a, callback_abandoned& e) {
  a(e.kind, e.reason);
}
template <class A>
void serialize(A& a, import_planned& e) {
  a(e.counts, e.tasks, e.left_out_resolved, e.dry_run);
}
template <class A>
void serialize(A& a, import_committed& e) {
  a(e.created, e.overwritten, e.skipped, e.tasks);
}
template <class A>
void serialize(A& a, package_deleted& e) {
  a(e.space_id, e.package_id, e.version);
}
template <class A>
void serialize(A& a, maintenance_entered& e) {
  a(e.task_id);
}
template <class A>
void serialize(A& a, maintenance_left& e) {
  a(e.task_id);
}
template <class A>
void serialize(A& a, api_key_created& e) {
  a(e.name, e.role, e.key_hash);
}
template <class A>
void serialize(A& a, api_key_revoked& e) {
  a(e.name);
}

namespace {

constexpr std::uint8_t envelope_format = 1;
// 2: adds callbacks_pending. Format 1 rows are from schema 2 stores, which are rebuilt on open.
constexpr std::uint8_t task_state_format = 2;
constexpr std::uint8_t log_line_format = 1;

// Reads from a string_view without copying it.
struct view_buf : std::streambuf {
  explicit view_buf(std::string_view v) { reset(v); }
  void reset(std::string_view v) {
    char* p = const_cast<char*>(v.data());
    setg(p, p, p + v.size());
  }
  std::streamsize remaining() const { return egptr() - gptr(); }
};

void write_body(cereal::PortableBinaryOutputArchive& out, const event_body& b) {
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        std::uint16_t tag = event_traits<T>::tag;
        out(tag);
        out(const_cast<T&>(ev));
      },
      b);
}

template <std::size_t I = 0>
bool read_body_with_tag(cereal::PortableBinaryInputArchive& in, std::uint16_t tag,
                        event_body& out) {
  if constexpr (I == std::variant_size_v<event_body>) {
    return false;
  } else {
    using T = std::variant_alternative_t<I, event_body>;
    if (event_traits<T>::tag == tag) {
      T ev{};
      in(ev);
      out = std::move(ev);
      return true;
    }
    return read_body_with_tag<I + 1>(in, tag, out);
  }
}

error corrupt(const std::string& what) {
  return make_error(errc::corruption, what);
}

// Runs a decoder over bytes; any cereal or allocation failure, or bytes left over, is corruption.
// what() names the record for the error message; it is called only on failure (hot path).
template <class T, class W, class F>
result<T> decode_with(std::string_view bytes, W&& what, F&& read) {
  // One stream per thread, re-pointed at each record: constructing a std::istream costs more
  // than decoding a typical event (locale set-up).
  thread_local view_buf buf({});
  thread_local std::istream is(&buf);
  buf.reset(bytes);
  is.clear();
  try {
    cereal::PortableBinaryInputArchive in(is);
    T value{};
    if (auto err = read(in, value); !err.empty()) return corrupt(what() + ": " + err);
    if (buf.remaining() != 0) return corrupt(what() + ": trailing bytes");
    return value;
  } catch (const std::exception&) {
    return corrupt(what() + ": truncated or malformed");
  }
}

}  // namespace

std::string encode(const envelope& e) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive out(os);
    std::uint8_t format = envelope_format;
    std::string stream = e.stream;
    std::uint64_t version = e.stream_version;
    std::int64_t ts = e.timestamp;
    out(format, stream, version, ts);
    write_body(out, e.body);
  }
  return std::move(os).str();
}

result<envelope> decode(std::uint64_t position, std::string_view bytes) {
  return decode_with<envelope>(
      bytes, [position] { return "event at position " + std::to_string(position); },
      [&](cereal::PortableBinaryInputArchive& in, envelope& e) -> std::string {
        std::uint8_t format = 0;
        in(format);
        if (format != envelope_format) return "unknown format " + std::to_string(format);
        std::uint16_t tag = 0;
        in(e.stream, e.stream_version, e.timestamp, tag);
        if (!read_body_with_tag(in, tag, e.body)) return "unknown event tag " + std::to_string(tag);
        e.position = position;
        return {};
      });
}

std::string encode_body(const event_body& b) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive out(os);
    write_body(out, b);
  }
  return std::move(os).str();
}

result<event_body> decode_body(std::string_view bytes) {
  return decode_with<event_body>(
      bytes, [] { return std::string("event body"); },
      [&](cereal::PortableBinaryInputArchive& in, event_body& b) -> std::string {
        std::uint16_t tag = 0;
        in(tag);
        if (!read_body_with_tag(in, tag, b)) return "unknown event tag " + std::to_string(tag);
        return {};
      });
}

std::string encode(const task_state& s) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive out(os);
    auto t = s;
    std::uint8_t format = task_state_format;
    auto state = static_cast<std::uint8_t>(t.state);
    out(format, t.id, t.version, t.name, t.description, t.space_id, t.arguments_json, state,
        t.queue_time, t.start_time, t.completed_time, t.last_updated, t.error_message,
        t.has_warnings_or_errors, t.time_limit_ms, t.server_node, t.current_step, t.log_line_count,
        t.callbacks_pending);
  }
  return std::move(os).str();
}

result<task_state> decode_task_state(std::string_view bytes) {
  return decode_with<task_state>(
      bytes, [] { return std::string("task state"); },
      [&](cereal::PortableBinaryInputArchive& in, task_state& t) -> std::string {
        std::uint8_t format = 0, state = 0;
        in(format);
        if (format != 1 && format != task_state_format)
          return "unknown format " + std::to_string(format);
        in(t.id, t.version, t.name, t.description, t.space_id, t.arguments_json, state,
           t.queue_time, t.start_time, t.completed_time, t.last_updated, t.error_message,
           t.has_warnings_or_errors, t.time_limit_ms, t.server_node, t.current_step,
           t.log_line_count);
        if (format >= 2) in(t.callbacks_pending);
        t.state = static_cast<task_status>(state);
        return {};
      });
}

std::string encode(const log_line& l) {
  std::ostringstream os;
  {
    cereal::PortableBinaryOutputArchive out(os);
    auto c = l;
    std::uint8_t format = log_line_format;
    out(format, c.category, c.occurred_at, c.text);
  }
  return std::move(os).str();
}

result<log_line> decode_log_line(std::string_view bytes) {
  return decode_with<log_line>(
      bytes, [] { return std::string("log line"); },
      [&](cereal::PortableBinaryInputArchive& in, log_line& l) -> std::string {
        std::uint8_t format = 0;
        in(format);
        if (format != log_line_format) return "unknown format " + std::to_string(format);
        in(l.category, l.occurred_at, l.text);
        return {};
      });
}

}  // namespace octomig::events
