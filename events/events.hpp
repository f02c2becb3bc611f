// The event catalogue. One event is one plain struct named <subject>_<past tense>; events state
// facts. Each type has a numeric tag written to disk by the codec: a tag is assigned once and never
// reused or renumbered. Secrets (passwords, API keys, sensitive values) never appear in an event.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace octomig::events {

// Microseconds since the Unix epoch, UTC.
using timestamp_us = std::int64_t;

// Octopus task states; the numbers follow Octopus.Client's TaskState enum and are stored on disk.
enum class task_status : std::uint8_t {
  none = 0,  // the stream does not exist yet
  queued = 1,
  executing = 2,
  failed = 3,
  canceled = 4,
  timed_out = 5,
  success = 6,
  cancelling = 8,
};

// One line of a task's log: projected from a task event, or carried by a task_recorded.
struct log_line {
  std::string category;  // Info, Highlight, Warning, Error, Fatal, ...
  timestamp_us occurred_at = 0;
  std::string text;
};

// ---- task streams (ServerTasks-N) ----

struct task_queued {
  std::string name;            // Octopus task type, e.g. "MigrationPartialExport"
  std::string description;     // human description shown in the task list
  std::string space_id;        // "Spaces-1"
  std::string arguments_json;  // the request's arguments, secrets already redacted
  std::int64_t time_limit_ms;  // 0: no limit
};

struct task_started {
  std::string server_node;  // name of the node that picked the task up
};

struct step_started {
  std::string step;  // e.g. "Collect documents"
};

struct step_finished {
  std::string step;
  std::string summary;  // one line: what the step did
};

struct message_logged {
  std::string category;  // Octopus log category: Info, Verbose, Highlight, ...
  std::string text;
};

struct warning_raised {
  std::string message;
};

struct task_cancel_requested {
  std::string requested_by;  // API key name, or "system"
};

struct task_succeeded {};

struct task_failed {
  std::string error_message;
};

struct task_canceled {};

struct task_timed_out {
  std::int64_t time_limit_ms;
};

struct task_interrupted {
  std::string error_message;  // says that the server restarted during the task
};

// A finished task arriving from elsewhere (a seed or an import), with its final state and times.
struct task_recorded {
  std::string name;
  std::string description;
  std::string space_id;
  std::string arguments_json;
  task_status final_state;
  timestamp_us queue_time;
  timestamp_us start_time;      // 0: never started
  timestamp_us completed_time;  // 0: not completed
  std::string error_message;
  bool has_warnings_or_errors;
  // The task's log as it was written where the task ran: it becomes the task's log lines, in
  // order, so a recorded task shows the same log as one that ran here.
  std::vector<log_line> log;
};

// ---- facts of the migration steps (task streams, tags 14-63) ----
//
// A step records what it produced as events of its own: the steps after it read them (typed, not
// parsed from a summary), and so do the admin tool and a replay.

// A package file was written in the task's work folder.
struct package_built {
  std::string file_name;  // in the task's work folder, e.g. "Octopus.Space.Migration.1.0.0.zip"
  std::uint64_t size_bytes;
  std::string sha256;  // lower-case hex of the whole file
  bool encrypted;      // the documents and logs are inside payload.bin
};

// The exporter collected a closure of documents from one snapshot of the store.
struct collection_count {
  std::string collection;  // a collection of the schema table ("Projects")
  std::uint64_t count;
};
struct documents_collected {
  std::vector<collection_count>
      counts;               // in the schema table's order; collections with none left out
  std::uint64_t task_logs;  // logs of exported tasks (IncludeTaskLogs)
  std::uint64_t left_out;  // references into parts an Ignore* flag left out, listed in the manifest
};

// The package reached the destination's built-in feed.
struct package_pushed {
  std::string destination;  // the destination's base URL without userinfo, query or fragment
  std::string space_id;     // the destination space whose feed received it
  std::uint64_t size_bytes;
  std::uint32_t attempts;  // 1 when the first attempt went through
  bool already_there;      // a retried push found the same file (same SHA-1) there already
};

// With no destination, the package was published in this server's own built-in feed.
struct package_published_locally {
  std::string space_id;
  std::string package_id;
  std::string version;
  std::uint64_t size_bytes;
};

// A callback is due because the task ended: the outbox of the callback notifier. It is appended in
// the same batch as the task's final event, so it can be neither lost nor scheduled for a task that
// did not end.
struct callback_scheduled {
  std::string kind;  // "success" or "failure"
  std::string uri;   // as the request gave it: an absolute http(s) URL
};

// One attempt to send a scheduled callback, whatever came of it.
struct callback_attempted {
  std::string kind;           // "success" or "failure"
  std::uint32_t attempt;      // from 1
  std::uint32_t http_status;  // 0 when no answer came
  std::string outcome;        // "200 OK", or the transport error; never a secret
};

// The callback was answered with 2xx: it is never sent again.
struct callback_delivered {
  std::string kind;
  std::uint32_t http_status;
};

// The callback was given up after its last attempt, or because it can never succeed.
struct callback_abandoned {
  std::string kind;
  std::string reason;
};

// An import's plan: per collection, how many documents it creates, overwrites (in place, keeping
// the destination's id) and skips (the destination has one of that name), and how many tasks it
// records. A dry run ends with this fact and writes nothing else.
struct import_count {
  std::string collection;  // a collection of the schema table ("Projects")
  std::uint64_t created;
  std::uint64_t overwritten;
  std::uint64_t skipped;
};
struct import_planned {
  std::vector<import_count> counts;  // in the schema table's order; collections with none left out
  std::uint64_t tasks;               // history tasks to record (new ServerTasks ids)
  std::uint64_t left_out_resolved;   // references the export left out, found here by name
  bool dry_run;
};

// The import's documents, indexes, counters and history tasks were written: appended in the same
// WriteBatch as all of them, so the fact and the change exist together or not at all.
struct import_committed {
  std::uint64_t created;
  std::uint64_t overwritten;
  std::uint64_t skipped;
  std::uint64_t tasks;
};

// DeletePackageOnCompletion: the imported package was removed from this server's feed.
struct package_deleted {
  std::string space_id;
  std::string package_id;
  std::string version;
};

// ---- the system stream ----

// Maintenance mode switched on, manually (task_id empty) or for the duration of a task.
struct maintenance_entered {
  std::string task_id;
};

// Maintenance mode switched off, manually (task_id empty) or because its task ended.
struct maintenance_left {
  std::string task_id;
};

struct api_key_created {
  std::string name;
  std::string role;      // "admin" or "user"
  std::string key_hash;  // hex keyed BLAKE2b of the key; the key itself is never stored
};

struct api_key_revoked {
  std::string name;
};

using event_body =
    std::variant<task_queued, task_started, step_started, step_finished, message_logged,
                 warning_raised, task_cancel_requested, task_succeeded, task_failed, task_canceled,
                 task_timed_out, task_interrupted, task_recorded, package_built, callback_scheduled,
                 documents_collected, package_pushed, package_published_locally, callback_attempted,
                 callback_delivered, callback_abandoned, import_planned, import_committed,
                 package_deleted, maintenance_entered, maintenance_left, api_key_created,
                 api_key_revoked>;

// One entry of the log. position is the global position (from 1); stream_version counts from 1
// within the stream.
struct envelope {
  std::uint64_t position = 0;
  std::string stream;
  std::uint64_t stream_version = 0;
  timestamp_us timestamp = 0;
  event_body body;
};

// On-disk tags. Assigned once; never renumber, never reuse a retired number.
template <class T>
struct event_traits;

#define OCTOMIG_EVENT(type, number)              \
  template <>                                    \
  struct event_traits<type> {                    \
    static constexpr std::uint16_t tag = number; \
    static constexpr const char* name = #type;   \
  };

OCTOMIG_EVENT(task_queued, 1)
OCTOMIG_EVENT(task_started, 2)
OCTOMIG_EVENT(step_started, 3)
OCTOMIG_EVENT(step_finished, 4)
OCTOMIG_EVENT(message_logged, 5)
OCTOMIG_EVENT(warning_raised, 6)
OCTOMIG_EVENT(task_cancel_requested, 7)
OCTOMIG_EVENT(task_succeeded, 8)
OCTOMIG_EVENT(task_failed, 9)
OCTOMIG_EVENT(task_canceled, 10)
OCTOMIG_EVENT(task_timed_out, 11)
OCTOMIG_EVENT(task_interrupted, 12)
OCTOMIG_EVENT(task_recorded, 13)
// 14-63: the migration steps' task events, numbered in the order they are added.
OCTOMIG_EVENT(package_built, 14)
OCTOMIG_EVENT(callback_scheduled, 15)
OCTOMIG_EVENT(documents_collected, 16)
OCTOMIG_EVENT(package_pushed, 17)
OCTOMIG_EVENT(package_published_locally, 18)
OCTOMIG_EVENT(callback_attempted, 19)
OCTOMIG_EVENT(callback_delivered, 20)
OCTOMIG_EVENT(callback_abandoned, 21)
OCTOMIG_EVENT(import_planned, 22)
OCTOMIG_EVENT(import_committed, 23)
OCTOMIG_EVENT(package_deleted, 24)
OCTOMIG_EVENT(maintenance_entered, 64)
OCTOMIG_EVENT(maintenance_left, 65)
OCTOMIG_EVENT(api_key_created, 66)
OCTOMIG_EVENT(api_key_revoked, 67)

#undef OCTOMIG_EVENT

// Name of an event's type, e.g. "task_queued".
const char* type_name(const event_body& body);
std::uint16_t type_tag(const event_body& body);

// Whether b is a step's fact (a step's own record of what it produced, see package_built): what a
// step may hand to the steps after it and record through decide's record_fact.
bool is_step_fact(const event_body& b);

// Stream naming.
inline constexpr const char* system_stream = "system";
inline constexpr const char* task_stream_prefix = "ServerTasks-";
bool is_task_stream(const std::string& stream);

const char* to_string(task_status s);  // Octopus spelling: "Canceled", "Cancelling"
bool parse_task_status(const std::string& text, task_status& out);  // case-insensitive
bool is_completed(task_status s);

}  // namespace octomig::events
