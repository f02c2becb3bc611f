#include "actors/callback_notifier.hpp"

#include <boost/json.hpp>
#include <set>

#include "events/decide.hpp"
#include "outbound/outbound.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace octomig::actors {
namespace {

namespace json = boost::json;

// The retry timer is the notifier's own: other actors cannot send it.
using notifier_impl = callback_notifier_actor::extend<caf::reacts_to<retry_atom, std::string>>;

struct notifier_state {
  storage::store* store = nullptr;
  journal_actor journal;
  notifier_options opts;
  // (task id, kind) being attempted or waiting for its next attempt: a second poke for the same
  // callback must not start a second sender.
  std::set<std::pair<std::string, std::string>> busy;
  static inline const char* name = "callback_notifier";
};

using self_ptr = notifier_impl::stateful_pointer<notifier_state>;

std::string argument(const std::string& arguments_json, const char* field) {
  json::error_code ec;
  auto v = json::parse(arguments_json, ec);
  if (ec || !v.is_object()) return {};
  auto* f = v.as_object().if_contains(field);
  return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

// The URL a callback goes to: a success callback carries the package (contract §1.2).
std::string target_url(const events::task_state& task, const events::pending_callback& cb) {
  if (cb.kind != "success") return cb.uri;
  return outbound::append_query(
      cb.uri, {{"packageId", argument(task.arguments_json, "PackageId")},
               {"packageVersion", argument(task.arguments_json, "PackageVersion")}});
}

// Whether asking again could change the answer: transport errors, 5xx, 408 and 429.
bool retryable(std::uint32_t status) {
  return status == 0 || status >= 500 || status == 408 || status == 429;
}

std::chrono::milliseconds backoff(const notifier_options& o, std::uint32_t attempt) {
  auto d = o.first_backoff;
  for (std::uint32_t i = 1; i < attempt && d < o.max_backoff; ++i) d *= 2;
  return std::min(d, o.max_backoff);
}

void send_open(self_ptr self, const std::string& task_id);

// One attempt of one callback, then its record; the next attempt is a timer.
void attempt(self_ptr self, const events::task_state& task, const events::pending_callback& cb) {
  auto& s = self->state;
  const std::uint32_t n = cb.attempts + 1;
  outbound::get_request req;
  req.url = target_url(task, cb);
  req.tls.ca_file = s.opts.ca_file;
  req.timeout = s.opts.request_timeout;
  req.stop = s.opts.stopping.get();
  auto answer = outbound::http_get(req);
  if (s.opts.stopping->load()) return;  // shutting down: the next start sends it again
  std::uint32_t status = answer ? static_cast<std::uint32_t>(answer->http_status) : 0;
  std::string outcome =
      answer ? "HTTP " + std::to_string(status) : "no answer: " + answer.err().message;
  const bool delivered = status >= 200 && status < 300;
  std::vector<events::task_command> commands{
      events::cmd::record_callback_attempt{cb.kind, n, status, outcome}};
  bool finished = true;
  if (delivered) {
    commands.push_back(events::cmd::deliver_callback{cb.kind, status});
  } else if (!retryable(status)) {
    commands.push_back(events::cmd::abandon_callback{
        cb.kind,
        "the receiver answered " + std::to_string(status) + ", which a retry cannot change"});
  } else if (n >= s.opts.max_attempts) {
    commands.push_back(events::cmd::abandon_callback{
        cb.kind, "no success after " + std::to_string(n) + " attempts (last: " + outcome + ")"});
  } else {
    finished = false;
  }
  auto decided = events::decide_all(task, commands, runtime::now_us());
  for (const auto& o : decided.outcomes)
    if (!o) {
      log::error("task " + task.id + ": the " + cb.kind +
                 " callback's attempt cannot be recorded: " + o.err().message);
      s.busy.erase({task.id, cb.kind});
      return;
    }
  const auto where = outbound::redact_url(cb.uri);
  if (delivered)
    log::info("task " + task.id + ": " + cb.kind + " callback to " + where + " delivered (" +
              outcome + ")");
  else
    log::warn("task " + task.id + ": " + cb.kind + " callback to " + where + ", attempt " +
              std::to_string(n) + ": " + outcome + (finished ? "; given up" : ""));
  storage::append_request a{task.id, task.version, std::move(decided.events), runtime::now_us()};
  const auto id = task.id;
  const auto key = std::make_pair(task.id, cb.kind);
  const auto wait = backoff(s.opts, n);
  self->request(s.journal, append_wait(s.opts.journal_timeout), append_atom::value, std::move(a),
                append_deadline(s.opts.journal_timeout))
      .await(
          [=](append_reply& r) {
            if (!r) {
              // Not recorded: the callback stays open in the log; try again after the backoff.
              log::error("task " + id +
                         ": a callback attempt could not be recorded: " + r.err().message);
              self->delayed_send(self, wait, retry_atom::value, id);
              return;
            }
            if (finished) {
              self->state.busy.erase(key);
              send_open(self, id);  // another callback of the same task, if it has one
            } else
              self->delayed_send(self, wait, retry_atom::value, id);
          },
          [=](caf::error& e) {
            log::error("task " + id + ": the journal did not answer a callback record (" +
                       to_string(e) + ")");
            self->delayed_send(self, wait, retry_atom::value, id);
          });
}

// Sends every open callback of a task that no sender has yet.
void send_open(self_ptr self, const std::string& task_id) {
  auto& s = self->state;
  auto task = s.store->task(task_id);
  if (!task) {
    log::error("task " + task_id + ": its callbacks cannot be read: " + task.err().message);
    return;
  }
  if (task->callbacks_pending == 0) return;
  auto stream = s.store->read_stream(task_id);
  if (!stream) {
    log::error("task " + task_id + ": its callbacks cannot be read: " + stream.err().message);
    return;
  }
  for (const auto& cb : events::pending_callbacks(*stream)) {
    if (!s.busy.insert({task_id, cb.kind}).second) continue;
    attempt(self, *task, cb);
    // attempt's record reads the task's version: one callback per round; the next one follows
    // its retry or the next poke.
    return;
  }
}

notifier_impl::behavior_type notifier(self_ptr self, storage::store* st, journal_actor journal,
                                      notifier_options opts) {
  self->state.store = st;
  self->state.journal = std::move(journal);
  self->state.opts = std::move(opts);
  return {
      [=](callback_atom, const std::string& task_id) { send_open(self, task_id); },
      [=](retry_atom, const std::string& task_id) {
        // The waiting callback may be attempted again, and so may any other of the task's.
        for (auto it = self->state.busy.begin(); it != self->state.busy.end();)
          it = it->first == task_id ? self->state.busy.erase(it) : std::next(it);
        send_open(self, task_id);
      },
      [=](resume_atom) {
        storage::task_filter ended;
        ended.states = {events::task_status::success, events::task_status::failed,
                        events::task_status::canceled, events::task_status::timed_out};
        auto scan = self->state.store->scan_tasks(ended);
        if (!scan) {
          log::error("callbacks: the tasks could not be scanned for open callbacks: " +
                     scan.err().message);
          return;
        }
        std::size_t open = 0;
        for (const auto& t : scan->tasks)
          if (t.callbacks_pending > 0) {
            ++open;
            self->send(self, callback_atom::value, t.id);
          }
        if (open > 0)
          log::info("callbacks: " + std::to_string(open) + " task(s) have callbacks to send");
      },
  };
}

}  // namespace

callback_notifier_actor spawn_callback_notifier(caf::actor_system& sys, storage::store& st,
                                                journal_actor journal, notifier_options opts) {
  auto a = sys.spawn<caf::detached>(notifier, &st, std::move(journal), std::move(opts));
  return caf::actor_cast<callback_notifier_actor>(a);
}

}  // namespace octomig::actors
