// The engine's message vocabulary: atoms, reply types, and the CAF type ids of every type that
// travels in a message. With CAF_ENABLE_TYPE_ID_CHECKS (set for every target that links the
// actors), putting a type without an id into a message fails to compile.
//
// Each type also has an inspect() overload, CAF's way to serialize and print it. Messages stay in
// one process today (the design's last section plans CAF's network layer for more), so these are
// written for correctness, not speed: events and task states go through the on-disk codec, JSON as
// text. A few fields are process-local handles (a stop signal, a package file being written): they
// travel as their plain value and are documented where they are declared.
//
// The step protocol's types are here too (step_sink, stop_signal, step_context, step_outcome), so
// that the one type id block below names every message type; actors/steps.hpp has the rest.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "actors/gateway.hpp"
#include "events/codec.hpp"
#include "events/error.hpp"
#include "events/task_state.hpp"
#include "storage/documents.hpp"
#include "storage/packages.hpp"
#include "storage/store.hpp"

namespace octomig::actors {

// At most 10 characters each (CAF 0.17 atoms).
using append_atom = caf::atom_constant<caf::atom("append")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using queue_atom = caf::atom_constant<caf::atom("queue")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using enter_atom = caf::atom_constant<caf::atom("enter")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using set_atom = caf::atom_constant<caf::atom("set")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using warn_atom = caf::atom_constant<caf::atom("warn")>;
using document_atom = caf::atom_constant<caf::atom("document")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using unpublish_atom = caf::atom_constant<caf::atom("unpublish")>;
using callback_atom = caf::atom_constant<caf::atom("callback")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using reserve_atom = caf::atom_constant<caf::atom("reserve")>;

using append_reply = result<storage::appended>;
using task_reply = result<events::task_state>;
using maintenance_reply = result<storage::maintenance_state>;
using document_reply = result<boost::json::object>;
using publish_reply = result<storage::publish_outcome>;
using unpublish_reply = result<storage::package_record>;

// What a step may tell its task while it runs: the supervisor's face to its steps.
//   (log_atom, task id, category, text)   a line for the task log (Info, Verbose, Highlight, ...)
//   (warn_atom, task id, message)         a warning: the task ends with warnings
//   (reserve_atom, task id, n) -> the first of n task numbers set aside for the running task's
//                                 records (an import's history tasks): no task queued later gets
//                                 one; errc::illegal_transition when that task is not running
// Lines are appended in batches: a step may log freely without waiting for a disk sync.
using step_sink = caf::typed_actor<
    caf::reacts_to<log_atom, std::string, std::string, std::string>,
    caf::reacts_to<warn_atom, std::string, std::string>,
    caf::replies_to<reserve_atom, std::string, std::uint64_t>::with<result<std::uint64_t>>>;

// Cooperative cancellation: the supervisor requests a stop (a cancel, a time limit), and the step
// checks requested() between chunks of its work, then stops, leaving nothing half-written, and
// answers. A step that does not stop within the supervisor's grace period is stopped hard. The
// flag is shared between the supervisor and the one step it was made for, and set only once; it is
// a process-local handle (another process would get a copy of its current value).
class stop_signal {
 public:
  stop_signal() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  bool requested() const { return flag_->load(std::memory_order_acquire); }
  void request() const { flag_->store(true, std::memory_order_release); }
  // For blocking code that polls a flag itself (libcurl's progress callback).
  const std::atomic<bool>* flag() const { return flag_.get(); }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, stop_signal& x) {
    bool value = x.requested();
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x = stop_signal();
      if (value) x.request();
      return caf::none;
    });
    return f(caf::meta::type_name("octomig::stop_signal"), value, load);
  }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// What the steps of one task hand each other beyond their facts: process-local handles that cannot
// be events (a secret, a snapshot of the store, a closure of ids). The supervisor makes one per
// task, with the task's secrets; the steps run one after another, each message hand-off ordering
// their accesses. A step fills what the steps after it read.
struct import_workspace;

struct task_workspace {
  std::shared_ptr<const task_secrets> secrets;  // null when the request carried none
  // Set by the exporter: the documents as they were when it started, and what to export of them.
  std::shared_ptr<const migration::document_source> snapshot;
  std::shared_ptr<const migration::export_closure> closure;
  // Set by the packager: the package's SHA-1, hashed as it was written (package_built carries
  // its SHA-256), which the push compares with the destination's after a retried push.
  std::string package_sha1;
  // The importer's own hand-over between its steps (the open package, the plan): defined in
  // actors/import_steps.cpp, opaque to everything else.
  std::shared_ptr<import_workspace> import;
  // Rows that must be written with the end of the step that sets it (the import's documents and
  // history tasks): the supervisor attaches it to the append of that step's facts and end, so the
  // step's facts and the rows exist together or not at all; it is taken once.
  std::shared_ptr<const storage::batch_extension> write_with_step_end;
};

// What a step is given when it runs.
struct step_context {
  std::string task_id;
  std::string space_id;
  std::string arguments_json;  // the task's arguments, secrets already redacted
  std::string work_dir;        // work/<TaskId>: the step's scratch, removed when the task ends
  step_sink sink;              // where the step's log lines and warnings go
  stop_signal stop;            // set when the step must stop early
  std::vector<events::event_body> facts;  // what the steps before this one recorded, in order
  // Shared by the task's steps; a process-local handle, never printed (see task_workspace).
  std::shared_ptr<task_workspace> workspace;
};

// What a step answers: its outcome and, on success, its facts (events::is_step_fact), which are
// recorded through decide in the same append as the step's end and handed to the steps after it.
struct step_outcome {
  bool ok = true;
  std::string summary;        // one line for the task log when ok
  std::string error_message;  // why the task fails when !ok; never contains a secret
  std::vector<events::event_body> facts;
};

}  // namespace octomig::actors

// ---- inspect(): one per message type, found by argument-dependent lookup ----

namespace octomig {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, error& x) {
  auto code = static_cast<std::uint8_t>(x.code);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.code = static_cast<errc>(code);
    return caf::none;
  });
  return f(caf::meta::type_name("octomig::error"), code, x.message, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ok_t&) {
  return f(caf::meta::type_name("octomig::ok"));
}

// A result travels as a flag, a value (default when it is an error) and an error.
template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, result<T>& x) {
  bool ok = x.ok();
  T value = ok ? x.value() : T{};
  error err = ok ? error{errc::io_error, {}} : x.err();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x = ok ? result<T>(std::move(value)) : result<T>(std::move(err));
    return caf::none;
  });
  return f(caf::meta::type_name("octomig::result"), ok, value, err, load);
}

}  // namespace octomig

namespace boost::json {

// JSON travels as its text.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, object& x) {
  std::string text = serialize(x);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    error_code ec;
    auto v = parse(text, ec);
    if (ec || !v.is_object()) return caf::make_error(caf::sec::invalid_argument, "json object");
    x = std::move(v.as_object());
    return caf::none;
  });
  return f(caf::meta::type_name("json::object"), text, load);
}

}  // namespace boost::json

namespace octomig::events {

// A task state travels in the codec's encoding, as it is stored.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_state& x) {
  std::string bytes = encode(x);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    auto t = decode_task_state(bytes);
    if (!t) return caf::make_error(caf::sec::invalid_argument, t.err().message);
    x = std::move(t.value());
    return caf::none;
  });
  return f(caf::meta::type_name("octomig::task_state"), bytes, load);
}

}  // namespace octomig::events

namespace octomig::storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, appended& x) {
  return f(caf::meta::type_name("octomig::appended"), x.first_position, x.last_position,
           x.last_version);
}

// Events travel in the codec's encoding, each body with its tag.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_request& x) {
  std::vector<std::string> bodies;
  for (const auto& e : x.events) bodies.push_back(events::encode_body(e));
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.events.clear();
    for (const auto& b : bodies) {
      auto e = events::decode_body(b);
      if (!e) return caf::make_error(caf::sec::invalid_argument, e.err().message);
      x.events.push_back(std::move(e.value()));
    }
    return caf::none;
  });
  return f(caf::meta::type_name("octomig::append_request"), x.stream, x.expected_version, bodies,
           x.timestamp, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, maintenance_state& x) {
  return f(caf::meta::type_name("octomig::maintenance_state"), x.manual, x.task_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, document_command& x) {
  auto op = static_cast<std::uint8_t>(x.op);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (op > static_cast<std::uint8_t>(document_op::remove))
      return caf::make_error(caf::sec::invalid_argument, "document_op");
    x.op = static_cast<document_op>(op);
    return caf::none;
  });
  return f(caf::meta::type_name("octomig::document_command"), op, x.space_id, x.collection, x.id,
           x.body, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, package_identity& x) {
  return f(caf::meta::type_name("octomig::package_identity"), x.package_id, x.version, x.extension);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, package_record& x) {
  return f(caf::meta::type_name("octomig::package_record"), x.space_id, x.package_id, x.version,
           x.extension, x.file_name, x.size_bytes, x.sha1, x.sha256, x.published, x.title);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_outcome& x) {
  return f(caf::meta::type_name("octomig::publish_outcome"), x.record, x.created);
}

// The package file being written is a process-local handle: it travels as its temporary path
// only, and arrives empty in another process.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, publish_command& x) {
  auto mode = static_cast<std::uint8_t>(x.mode);
  std::string file = x.writer ? x.writer->path().string() : std::string();
  auto load = caf::meta::load_callback([&]() -> caf::error {
    if (mode > static_cast<std::uint8_t>(overwrite_mode::ignore_if_exists))
      return caf::make_error(caf::sec::invalid_argument, "overwrite_mode");
    x.mode = static_cast<overwrite_mode>(mode);
    x.writer.reset();
    return caf::none;
  });
  return f(caf::meta::type_name("octomig::publish_command"), x.space_id, x.identity, mode,
           x.may_replace, x.published, file, load);
}

}  // namespace octomig::storage

namespace octomig::actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_request& x) {
  // secrets are left out on purpose: nothing that prints or serializes a message sees them.
  return f(caf::meta::type_name("octomig::queue_request"), x.name, x.description, x.space_id,
           x.arguments_json, x.time_limit_ms);
}

// Facts travel in the codec's encoding.
inline std::vector<std::string> encode_facts(const std::vector<events::event_body>& facts) {
  std::vector<std::string> out;
  for (const auto& e : facts) out.push_back(events::encode_body(e));
  return out;
}
inline caf::error decode_facts(const std::vector<std::string>& bytes,
                               std::vector<events::event_body>& out) {
  out.clear();
  for (const auto& b : bytes) {
    auto e = events::decode_body(b);
    if (!e) return caf::make_error(caf::sec::invalid_argument, e.err().message);
    out.push_back(std::move(e.value()));
  }
  return caf::none;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_context& x) {
  auto facts = encode_facts(x.facts);
  auto load = caf::meta::load_callback([&]() { return decode_facts(facts, x.facts); });
  // The workspace is left out: process-local handles and secrets (see task_workspace).
  return f(caf::meta::type_name("octomig::step_context"), x.task_id, x.space_id, x.arguments_json,
           x.work_dir, x.sink, x.stop, facts, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_outcome& x) {
  auto facts = encode_facts(x.facts);
  auto load = caf::meta::load_callback([&]() { return decode_facts(facts, x.facts); });
  return f(caf::meta::type_name("octomig::step_outcome"), x.ok, x.summary, x.error_message, facts,
           load);
}

}  // namespace octomig::actors

// ---- type ids ----

CAF_BEGIN_TYPE_ID_BLOCK(octomig, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(octomig, (octomig::error))
CAF_ADD_TYPE_ID(octomig, (octomig::result<octomig::ok_t>))
CAF_ADD_TYPE_ID(octomig, (octomig::result<std::uint64_t>))
CAF_ADD_TYPE_ID(octomig, (octomig::storage::append_request))
CAF_ADD_TYPE_ID(octomig, (octomig::result<octomig::storage::appended>))
CAF_ADD_TYPE_ID(octomig, (octomig::result<octomig::events::task_state>))
CAF_ADD_TYPE_ID(octomig, (octomig::result<octomig::storage::maintenance_state>))
CAF_ADD_TYPE_ID(octomig, (octomig::result<boost::json::object>))
CAF_ADD_TYPE_ID(octomig, (octomig::result<octomig::storage::publish_outcome>))
CAF_ADD_TYPE_ID(octomig, (octomig::result<octomig::storage::package_record>))
CAF_ADD_TYPE_ID(octomig, (octomig::actors::queue_request))
CAF_ADD_TYPE_ID(octomig, (octomig::storage::document_command))
CAF_ADD_TYPE_ID(octomig, (octomig::storage::publish_command))
CAF_ADD_TYPE_ID(octomig, (octomig::storage::package_record))
CAF_ADD_TYPE_ID(octomig, (octomig::actors::step_context))
CAF_ADD_TYPE_ID(octomig, (octomig::actors::step_outcome))
CAF_END_TYPE_ID_BLOCK(octomig)
