#include "actors/task_supervisor.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

#include "events/decide.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"

namespace octomig::actors {
namespace {

namespace fs = std::filesystem;
using events::task_command;

// The supervisor's own timers, on top of its public interface: only it sends them to itself.
using supervisor_impl = task_supervisor_actor::extend<caf::reacts_to<timeout_atom, std::uint64_t>,
                                                      caf::reacts_to<grace_atom, std::uint64_t>>;

using then_fn = std::function<void(task_reply)>;

// Commands for one task waiting for their append; at most one append per task is in flight.
struct outbox {
  struct entry {
    std::vector<task_command> commands;  // decided and appended together
    then_fn then;                        // once, with the state after them or the first error
    // Rows written in the same batch (task_workspace::write_with_step_end); may be null.
    std::shared_ptr<const storage::batch_extension> attached;
  };
  std::vector<entry> pending;
  bool in_flight = false;
};

struct running_task {
  std::string id;
  std::string name;              // the task type
  std::uint64_t generation = 0;  // tells a stale timer or step reply from a current one
  std::size_t step = 0;
  step_actor worker;  // null between steps
  // Set once the task must end early: canceled, timed_out, or failed (with ending_message).
  std::optional<events::task_status> ending;
  std::string ending_message;
  // Maintenance mode for the task: none (its pipeline needs none, or it never asked), asked (the
  // switch was sent and may or may not have happened), held (switched on for it).
  enum class maintenance { none, asked, held } maintenance = maintenance::none;
  bool finishing = false;  // its final event is on its way: nothing else may end it
  pipeline steps;
  step_context context;
  std::vector<events::event_body> facts;  // recorded by its steps so far
  std::vector<std::string> warnings;      // recorded just before its final event
  std::vector<caf::typed_response_promise<task_reply>> cancels;  // answered with its end
  events::timestamp_us started = 0;
};

struct supervisor_state {
  supervisor_config cfg;
  std::deque<std::string> queue;
  std::optional<running_task> running;
  std::map<std::string, outbox> outboxes;  // node-based: entries stay put while others come
  // The secrets of queued tasks (queue_request::secrets), until they start or are canceled.
  std::map<std::string, std::shared_ptr<const task_secrets>> secrets;
  std::uint64_t next_number = 0;
  std::uint64_t generation = 0;
  bool recovered = false;
  // Why nothing new starts: the engine's records failed, or the server is stopping.
  std::optional<std::string> halted;
  static inline const char* name = "task_supervisor";
};

using sup = supervisor_impl::stateful_pointer<supervisor_state>;

constexpr const char* interrupted_message =
    "The Octopus Server restarted while this task was running, so the task was interrupted. "
    "Run it again.";

void try_start(sup self);
void complete(sup self, task_command final_cmd);
void flush(sup self, std::string id);

// How long to wait for the maintenance guard: its own append may take append_wait.
std::chrono::milliseconds guard_wait(const supervisor_config& cfg) {
  return append_wait(cfg.journal_timeout) + cfg.journal_timeout;
}

bool current(sup self, std::uint64_t gen) {
  auto& r = self->state.running;
  return r && r->generation == gen;
}

std::string seconds(events::timestamp_us from, events::timestamp_us to) {
  auto tenths = (to - from) / 100000;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " s";
}

// The engine's own records could not be kept: stop taking work and have the server stop. The
// next start's recovery closes the task that was running and gives back maintenance mode.
void fatal(sup self, const std::string& reason) {
  auto& s = self->state;
  if (s.halted) return;
  s.halted = reason;
  log::error("fatal: " + reason + "; the server stops, and its next start recovers");
  if (s.cfg.on_fatal) s.cfg.on_fatal(reason);
}

// ---- the outbox ----

// Queues commands for one task, to be appended in order and together with whatever else is
// pending for it, as soon as no other append of the task is in flight.
// The id is taken by value everywhere here: continuations run inside these calls may end the
// running task whose id a caller passed by reference.
void enqueue_entries(sup self, std::string id, std::vector<outbox::entry> entries) {
  auto& box = self->state.outboxes[id];
  for (auto& e : entries) box.pending.push_back(std::move(e));
  if (!box.in_flight) flush(self, std::move(id));
}

void enqueue(sup self, std::string id, std::vector<task_command> commands, then_fn then,
             std::shared_ptr<const storage::batch_extension> attached = nullptr) {
  std::vector<outbox::entry> entries;
  entries.push_back({std::move(commands), std::move(then), std::move(attached)});
  enqueue_entries(self, std::move(id), std::move(entries));
}

void enqueue(sup self, std::string id, task_command command, then_fn then) {
  enqueue(self, std::move(id), std::vector<task_command>{std::move(command)}, std::move(then));
}

// Delivers each entry its outcome (its commands' refusal, or the append's result) in order, then
// sends what arrived meanwhile. The outbox stays in flight while delivering, so continuations
// that enqueue for this task only add to the next append.
void deliver(sup self, std::string id, std::vector<outbox::entry> entries,
             std::vector<std::optional<error>> refusals, const result<events::task_state>& after) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (refusals[i])
      entries[i].then(*refusals[i]);
    else
      entries[i].then(after);
  }
  auto it = self->state.outboxes.find(id);
  if (it == self->state.outboxes.end()) return;
  it->second.in_flight = false;
  if (it->second.pending.empty())
    self->state.outboxes.erase(it);
  else
    flush(self, id);
}

void flush(sup self, std::string id) {
  auto& s = self->state;
  auto& box = s.outboxes[id];
  if (box.in_flight || box.pending.empty()) return;
  auto entries = std::move(box.pending);
  box.pending.clear();
  box.in_flight = true;

  events::task_state now_state;
  now_state.id = id;
  auto stored = s.cfg.store->task(id);
  if (stored) {
    now_state = std::move(stored.value());
  } else if (stored.err().code != errc::not_found) {
    std::vector<std::optional<error>> all(entries.size(), stored.err());
    return deliver(self, id, std::move(entries), std::move(all), stored.err());
  }

  // Decide every entry's commands in order; an entry is all or nothing.
  const auto at = runtime::now_us();
  std::vector<events::event_body> batch;
  std::vector<std::optional<error>> refusals;
  events::task_state state = now_state;
  std::shared_ptr<const storage::batch_extension> attached;
  for (const auto& e : entries) {
    auto decided = events::decide_all(state, e.commands, at);
    std::optional<error> refused;
    for (auto& o : decided.outcomes)
      if (!o) {
        refused = o.err();
        break;
      }
    // One attachment per append: a second entry that carries one waits for the next append.
    if (!refused && e.attached && attached)
      refused = make_error(errc::illegal_transition, "two attached writes in one append");
    refusals.push_back(refused);
    if (refused) continue;
    if (e.attached) attached = e.attached;
    batch.insert(batch.end(), decided.events.begin(), decided.events.end());
    state = std::move(decided.state);
  }
  if (batch.empty()) return deliver(self, id, std::move(entries), std::move(refusals), now_state);

  storage::append_request r{id, now_state.version, std::move(batch), at, std::move(attached)};
  auto shared_entries = std::make_shared<std::vector<outbox::entry>>(std::move(entries));
  auto shared_refusals = std::make_shared<std::vector<std::optional<error>>>(std::move(refusals));
  auto timeout = append_wait(s.cfg.journal_timeout);
  self->request(s.cfg.journal, timeout, append_atom::value, std::move(r),
                append_deadline(s.cfg.journal_timeout))
      .then(
          [=](append_reply& a) {
            result<events::task_state> after =
                a ? self->state.cfg.store->task(id) : result<events::task_state>(a.err());
            deliver(self, id, std::move(*shared_entries), std::move(*shared_refusals), after);
          },
          [=](caf::error& e) {
            auto err = make_error(errc::unavailable, "the journal did not answer within " +
                                                         std::to_string(timeout.count()) + " ms (" +
                                                         to_string(e) + ")");
            deliver(self, id, std::move(*shared_entries), std::move(*shared_refusals), err);
          });
}

// ---- running a task ----

// Ends the running task early (a cancel, a time limit, a failure that is not the step's): tells
// its step to stop, and kills it if it has not answered after the grace period. Between steps
// the continuation in flight sees `ending` and completes the task.
void stop_early(sup self, events::task_status why, std::string message = {}) {
  auto& r = *self->state.running;
  if (r.ending || r.finishing) return;
  r.ending = why;
  r.ending_message = std::move(message);
  if (!r.worker) return;
  r.context.stop.request();
  self->delayed_send(self, self->state.cfg.stop_grace, grace_atom::value, r.generation);
}

void complete_ending(sup self) {
  auto& r = *self->state.running;
  switch (*r.ending) {
    case events::task_status::timed_out:
      return complete(self, events::cmd::time_out{});
    case events::task_status::canceled:
      return complete(self, events::cmd::confirm_canceled{});
    default:
      return complete(self, events::cmd::fail{r.ending_message});
  }
}

// A failed append of a line for the running task's log fails the task; a refused one (the task
// has ended meanwhile) is dropped.
then_fn on_logged(sup self, std::string id) {
  return [self, id](task_reply r) {
    if (r || r.err().code == errc::illegal_transition) return;
    auto& run = self->state.running;
    log::error("task " + id + ": a log line could not be recorded: " + r.err().message);
    if (run && run->id == id)
      stop_early(self, events::task_status::failed,
                 "The task log could not be written: " + r.err().message);
  };
}

void finish(sup self) {
  self->state.running.reset();
  try_start(self);
}

events::task_status final_state_of(const task_command& c) {
  if (std::holds_alternative<events::cmd::succeed>(c)) return events::task_status::success;
  if (std::holds_alternative<events::cmd::confirm_canceled>(c))
    return events::task_status::canceled;
  if (std::holds_alternative<events::cmd::time_out>(c)) return events::task_status::timed_out;
  return events::task_status::failed;
}

// A task's end, as two outbox entries sent in one append: the warnings and the final event, then
// whatever its pipeline asks for after it. Two entries, so that an after-end command that decide
// refuses (a pipeline's bug) is logged and never holds back the final event.
std::vector<outbox::entry> end_entries(const pipeline& p, const task_end& end,
                                       const std::vector<std::string>& warnings,
                                       task_command final_cmd, then_fn then,
                                       callback_notifier_actor notifier) {
  std::vector<outbox::entry> out;
  std::vector<task_command> final_commands;
  for (const auto& w : warnings) final_commands.push_back(events::cmd::warn{w});
  final_commands.push_back(std::move(final_cmd));
  out.push_back({std::move(final_commands), std::move(then), nullptr});
  if (p.after_end) {
    auto after = p.after_end(end);
    if (!after.empty())
      out.push_back({std::move(after),
                     [id = end.task_id, notifier](task_reply r) {
                       if (!r)
                         log::error("task " + id +
                                    ": what its pipeline appends after its end was "
                                    "refused: " +
                                    r.err().message);
                       else if (r->callbacks_pending > 0 && notifier)
                         caf::anon_send(notifier, callback_atom::value, id);
                     },
                     nullptr});
  }
  return out;
}

// Completes the running task with the final event its end calls for. The step is stopped, the
// work folder removed, and maintenance mode given back first: a client that sees the task's final
// state can write at once (a crash in between leaves the task Executing, and recovery closes it).
void complete(sup self, task_command final_cmd) {
  auto& r = *self->state.running;
  if (r.finishing) return;
  r.finishing = true;
  if (r.worker) {
    self->demonitor(r.worker.address());
    r.context.stop.request();
    self->send_exit(r.worker, caf::exit_reason::user_shutdown);
    r.worker = nullptr;
  }
  std::error_code ec;
  fs::remove_all(self->state.cfg.work_root / r.id, ec);
  if (ec) {
    r.warnings.push_back("The work folder of this task could not be removed: " + ec.message() +
                         ".");
    log::warn("task " + r.id + ": its work folder could not be removed: " + ec.message());
  }
  auto id = r.id;
  auto gen = r.generation;
  auto record = [self, id, gen, final_cmd](std::optional<std::string> fatal_after) {
    if (!current(self, gen)) return;
    auto& run = *self->state.running;
    task_end end{id, run.context.arguments_json, final_state_of(final_cmd), run.facts};
    auto recorded = [self, id, gen, fatal_after](task_reply t) {
      if (!current(self, gen)) return;
      auto& done = *self->state.running;
      if (!t) {
        fatal(self, "the end of task " + id + " could not be recorded: " + t.err().message);
      } else {
        auto line = "task " + id + " (" + done.name + ") ended " + events::to_string(t->state) +
                    " after " + seconds(done.started, runtime::now_us()) +
                    (t->error_message.empty() ? std::string() : ": " + t->error_message);
        if (t->state == events::task_status::success || t->state == events::task_status::canceled)
          log::info(line);
        else
          log::warn(line);
      }
      for (auto& rp : done.cancels) rp.deliver(t);
      if (fatal_after) fatal(self, *fatal_after);
      finish(self);
    };
    enqueue_entries(self, id,
                    end_entries(run.steps, end, run.warnings, final_cmd, std::move(recorded),
                                self->state.cfg.notifier));
  };
  if (r.maintenance == running_task::maintenance::none) return record(std::nullopt);
  // Known to be held: a failure to give it back leaves the books wrong, and stops the server
  // (recovery gives it back). Only asked for (the switch failed): most likely never taken, so a
  // failure here is logged, and a next start's recovery gives back what may be left.
  const bool held = r.maintenance == running_task::maintenance::held;
  r.maintenance = running_task::maintenance::none;
  auto on_failure = [self, id, gen, record, held](const std::string& why) {
    if (!current(self, gen)) return;
    log::error("task " + id + ": maintenance mode could not be given back: " + why);
    if (!held) return record(std::nullopt);
    self->state.running->warnings.push_back("Maintenance mode could not be given back: " + why);
    record("maintenance mode held by task " + id + " could not be given back (" + why + ")");
  };
  self->request(self->state.cfg.guard, guard_wait(self->state.cfg), leave_atom::value, id)
      .then(
          [=](maintenance_reply& m) {
            if (!m) return on_failure(m.err().message);
            record(std::nullopt);
          },
          [=](caf::error& e) { on_failure(to_string(e)); });
}

// The running task's step worker has answered or ended: true when it is still the task's current
// worker (now no longer monitored), false for a stale reply that must be ignored.
bool step_ended(sup self, std::uint64_t gen, const step_actor& worker) {
  if (!current(self, gen)) return false;
  auto& cur = *self->state.running;
  if (cur.worker != worker) return false;
  self->demonitor(worker.address());
  cur.worker = nullptr;
  return true;
}

void run_step(sup self, std::size_t index) {
  auto& r = *self->state.running;
  if (index >= r.steps.steps.size()) return complete(self, events::cmd::succeed{});
  r.step = index;
  auto name = r.steps.steps[index].name;
  auto gen = r.generation;
  enqueue(self, r.id, events::cmd::start_step{name}, [=](task_reply t) {
    if (!current(self, gen)) return;
    auto& run = *self->state.running;
    if (!t)
      return complete(self, events::cmd::fail{"The step " + name +
                                              " could not be recorded: " + t.err().message});
    if (run.ending) return complete_ending(self);
    auto worker = run.steps.steps[index].spawn(self->system());
    if (!worker) return complete(self, events::cmd::fail{"The step " + name + " could not start."});
    self->monitor(worker);
    run.worker = worker;
    run.context.facts = run.facts;
    // No timeout of its own: the task's time limit and a cancel end a step, and its down message
    // tells when it dies.
    self->request(worker, caf::infinite, run_atom::value, run.context)
        .then(
            [=](step_outcome& o) {
              if (!step_ended(self, gen, worker)) return;
              auto& cur = *self->state.running;
              if (cur.ending) return complete_ending(self);
              if (!o.ok) return complete(self, events::cmd::fail{o.error_message});
              // The step's facts and its end, in one append, with the rows the step asked to be
              // written with them.
              std::vector<task_command> commands;
              for (auto& f : o.facts) commands.push_back(events::cmd::record_fact{f});
              commands.push_back(events::cmd::finish_step{name, o.summary});
              auto facts = std::move(o.facts);
              auto attached = std::move(cur.context.workspace->write_with_step_end);
              cur.context.workspace->write_with_step_end = nullptr;
              const bool writes = attached != nullptr;
              enqueue(
                  self, cur.id, std::move(commands),
                  [=](task_reply f) {
                    if (!current(self, gen)) return;
                    auto& c = *self->state.running;
                    if (!f)
                      return complete(
                          self, events::cmd::fail{
                                    writes ? "Nothing was written: " + f.err().message
                                           : "The end of the step " + name +
                                                 " could not be recorded: " + f.err().message});
                    c.facts.insert(c.facts.end(), facts.begin(), facts.end());
                    if (c.ending) return complete_ending(self);
                    run_step(self, index + 1);
                  },
                  std::move(attached));
            },
            // The request failed because the worker died; its down message may come first, and
            // step_ended makes whichever comes second a no-op.
            [=](caf::error& e) {
              if (!step_ended(self, gen, worker)) return;
              if (self->state.running->ending) return complete_ending(self);
              complete(self, events::cmd::fail{"The step " + name + " stopped unexpectedly (" +
                                               to_string(e) + ")."});
            });
  });
}

// After the task's start is durable (and it holds maintenance mode if its pipeline needs it).
void run_first_step(sup self) {
  auto& run = *self->state.running;
  if (run.ending) return complete_ending(self);
  std::error_code ec;
  fs::create_directories(run.context.work_dir, ec);
  if (ec)
    return complete(self, events::cmd::fail{"The work folder of the task could not be created: " +
                                            ec.message() + "."});
  run_step(self, 0);
}

void begin(sup self, const events::task_state& task, pipeline steps) {
  auto& s = self->state;
  running_task r;
  r.id = task.id;
  r.name = task.name;
  r.generation = ++s.generation;
  r.steps = std::move(steps);
  r.started = runtime::now_us();
  r.context.task_id = task.id;
  r.context.space_id = task.space_id;
  r.context.arguments_json = task.arguments_json;
  r.context.work_dir = (s.cfg.work_root / task.id).string();
  r.context.sink = caf::actor_cast<step_sink>(self);
  r.context.workspace = std::make_shared<task_workspace>();
  if (auto it = s.secrets.find(task.id); it != s.secrets.end()) {
    r.context.workspace->secrets = std::move(it->second);
    s.secrets.erase(it);
  }
  s.running = std::move(r);
  const auto gen = s.running->generation;
  const auto id = task.id;
  const auto limit = task.time_limit_ms;
  const bool known = s.cfg.pipelines.count(task.name) > 0;
  log::info("task " + id + " (" + task.name + ") started");
  enqueue(self, id, events::cmd::start{s.cfg.server_node}, [=](task_reply t) {
    if (!current(self, gen)) return;
    auto& run = *self->state.running;
    if (!t && t.err().code == errc::illegal_transition) {
      // No longer Queued: canceled while it was being picked (its cancel's append was in flight).
      log::info("task " + id + " was not started: " + t.err().message);
      run.finishing = true;
      return finish(self);
    }
    if (!t) {
      // Still Queued in the log: the journal is failing, and the next start runs it again.
      run.finishing = true;
      fatal(self, "task " + id + " could not be started: " + t.err().message);
      return finish(self);
    }
    if (limit > 0)
      self->delayed_send(self, std::chrono::milliseconds(limit), timeout_atom::value, gen);
    if (!known)
      return complete(self, events::cmd::fail{"No pipeline runs tasks of type " + t->name + "."});
    if (run.ending) return complete_ending(self);
    if (!run.steps.needs_maintenance) return run_first_step(self);
    run.maintenance = running_task::maintenance::asked;
    auto failed = [self, gen](const std::string& why) {
      if (!current(self, gen)) return;
      complete(self,
               events::cmd::fail{"Maintenance mode could not be switched on for the task: " + why});
    };
    self->request(self->state.cfg.guard, guard_wait(self->state.cfg), enter_atom::value, id)
        .then(
            [=](maintenance_reply& m) {
              if (!current(self, gen)) return;
              if (!m) return failed(m.err().message);
              self->state.running->maintenance = running_task::maintenance::held;
              run_first_step(self);
            },
            [=](caf::error& e) { failed(to_string(e)); });
  });
}

// The pipeline of a task type; an unknown type gets an empty one (its start fails the task).
pipeline pipeline_of(const supervisor_config& cfg, const std::string& type) {
  auto it = cfg.pipelines.find(type);
  return it != cfg.pipelines.end() ? it->second : pipeline{{}, false, {}, {}};
}

void try_start(sup self) {
  auto& s = self->state;
  while (s.recovered && !s.halted && !s.running && !s.queue.empty()) {
    auto id = s.queue.front();
    s.queue.pop_front();
    auto task = s.cfg.store->task(id);
    if (!task) {
      fatal(self, "queued task " + id + " cannot be read: " + task.err().message);
      return;
    }
    if (task->state != events::task_status::queued) continue;  // canceled meanwhile
    begin(self, *task, pipeline_of(s.cfg, task->name));
  }
}

// ---- start-up recovery ----

struct recovery {
  caf::typed_response_promise<status> rp;
  std::size_t pending = 0;
  std::optional<error> failed;
  std::vector<std::string> queued;  // oldest first: the queue to run once recovery is done
};

// Damaged rows do not keep the server down: each is logged (the API answers 500 for it) until
// `octomig-admin projections rebuild` repairs it.
void report_damage(const std::vector<error>& damaged) {
  for (const auto& e : damaged)
    log::error("recovery: " + e.message +
               "; it is left as it is until 'octomig-admin projections rebuild' (server stopped) "
               "repairs it");
}

void recovery_failed(const std::shared_ptr<recovery>& rec, error err) {
  if (rec->failed) return;
  rec->failed = err;
  log::error("start-up recovery failed: " + err.message);
  rec->rp.deliver(status(std::move(err)));
}

// The last steps of recovery: give back maintenance mode, empty work/, re-queue.
void recover_rest(sup self, std::shared_ptr<recovery> rec) {
  auto& s = self->state;
  auto requeue = [self, rec] {
    auto& st = self->state;
    // No task runs yet: whatever is in work/ is left from before.
    std::error_code ec;
    std::size_t removed = 0;
    for (const auto& entry : fs::directory_iterator(st.cfg.work_root, ec)) {
      std::error_code rm;
      fs::remove_all(entry.path(), rm);
      if (rm)
        return recovery_failed(
            rec, make_error(errc::io_error, "cannot remove " + entry.path().filename().string() +
                                                " from the work folder: " + rm.message()));
      ++removed;
    }
    if (ec && ec != std::errc::no_such_file_or_directory)
      return recovery_failed(
          rec, make_error(errc::io_error, "cannot read the work folder: " + ec.message()));
    if (removed)
      log::info("recovery: removed " + std::to_string(removed) + " leftover work folder(s)");
    // Nothing could queue meanwhile: commands wait for recovery to be done.
    for (const auto& id : rec->queued) st.queue.push_back(id);
    if (!rec->queued.empty())
      log::info("recovery: " + std::to_string(rec->queued.size()) + " queued task(s) will run");
    st.recovered = true;
    rec->rp.deliver(status(ok_t{}));
    try_start(self);
  };
  auto m = s.cfg.store->maintenance();
  if (!m) {
    // Which task held it cannot be told; the API fails closed on it (writes from non-admin keys
    // are refused) until it is repaired.
    log::error("recovery: " + m.err().message);
    return requeue();
  }
  if (m->task_id.empty()) return requeue();
  // A task that held maintenance mode gives it back; the manual setting stays as it was.
  auto holder = m->task_id;
  log::info("recovery: giving back maintenance mode, which task " + holder + " held");
  self->request(s.cfg.guard, guard_wait(s.cfg), leave_atom::value, holder)
      .then(
          [=](maintenance_reply& left) {
            if (!left) return recovery_failed(rec, left.err());
            requeue();
          },
          [=](caf::error& e) {
            recovery_failed(
                rec, make_error(errc::unavailable,
                                "maintenance mode could not be given back: " + to_string(e)));
          });
}

void recover(sup self, caf::typed_response_promise<status> rp) {
  auto& s = self->state;
  auto rec = std::make_shared<recovery>();
  rec->rp = rp;
  auto highest = s.cfg.store->highest_task_number();
  if (!highest) return recovery_failed(rec, highest.err());
  s.next_number = *highest;
  // One scan finds both the tasks a restart interrupted and the queue to run again.
  storage::task_filter unfinished;
  unfinished.states = {events::task_status::executing, events::task_status::cancelling,
                       events::task_status::queued};
  auto scan = s.cfg.store->scan_tasks(unfinished);
  if (!scan) return recovery_failed(rec, scan.err());
  report_damage(scan->damaged);
  std::vector<events::task_state> found;
  // Newest first; the queue runs oldest first.
  for (auto it = scan->tasks.rbegin(); it != scan->tasks.rend(); ++it) {
    if (it->state == events::task_status::queued)
      rec->queued.push_back(it->id);
    else
      found.push_back(std::move(*it));
  }
  if (found.empty()) return recover_rest(self, rec);
  rec->pending = found.size();
  for (const auto& t : found) {
    log::warn("recovery: task " + t.id + " (" + t.name +
              ") was running when the server stopped; it is closed as Failed");
    // Its facts so far, for what its pipeline appends after the end (a failure callback).
    task_end end{t.id, t.arguments_json, events::task_status::failed, {}};
    auto history = s.cfg.store->read_stream(t.id);
    if (!history) return recovery_failed(rec, history.err());
    for (const auto& e : *history)
      if (events::is_step_fact(e.body)) end.facts.push_back(e.body);
    // Its work folder goes with the rest of work/ once every interrupted task is closed.
    auto closed = [self, rec, id = t.id](task_reply r) {
      if (!r)
        return recovery_failed(
            rec,
            make_error(r.err().code, "task " + id + " could not be closed: " + r.err().message));
      if (--rec->pending == 0 && !rec->failed) recover_rest(self, rec);
    };
    const auto& p = pipeline_of(s.cfg, t.name);
    auto message = p.interrupted_message ? p.interrupted_message(end.facts) : interrupted_message;
    enqueue_entries(self, t.id,
                    end_entries(p, end, {}, events::cmd::interrupt{message}, std::move(closed),
                                s.cfg.notifier));
  }
}

supervisor_impl::behavior_type supervisor(sup self, supervisor_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& run = self->state.running;
    if (!run || !run->worker || run->worker.address() != dm.source) return;
    // A worker's answer is a message from it, sent before it ends, so it is handled before the
    // down message that the same worker sends when it ends: a current worker here ended without
    // an answer (CAF 0.17 reports no error to the request of an actor that quit without one).
    self->demonitor(run->worker.address());
    run->worker = nullptr;
    if (run->ending) return complete_ending(self);
    auto step = run->steps.steps[run->step].name;
    complete(self, events::cmd::fail{dm.reason == caf::none
                                         ? "The step " + step + " ended without an answer."
                                         : "The step " + step + " stopped unexpectedly (" +
                                               to_string(dm.reason) + ")."});
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    // On shutdown the running step is told to stop and stopped; the task stays Executing in the
    // log and the next start closes it as interrupted. This must run before quit(): CAF destroys
    // the state before it calls attached functors, so an attach_functor would never see it.
    auto& s = self->state;
    auto& run = s.running;
    if (run && run->worker) {
      run->context.stop.request();
      self->send_exit(run->worker, caf::exit_reason::user_shutdown);
    }
    // Whoever still waits for an answer (a queue, a cancel) gets one now instead of running into
    // its timeout; nothing new starts meanwhile.
    if (!s.halted) s.halted = "the server is stopping";
    auto stopping = make_error(errc::unavailable,
                               "The server is stopping; try again once it has "
                               "restarted.");
    std::map<std::string, outbox> waiting;
    waiting.swap(s.outboxes);
    for (auto& [id, box] : waiting)
      for (auto& e : box.pending) e.then(stopping);
    if (run)
      for (auto& rp : run->cancels) rp.deliver(task_reply(stopping));
    self->quit(std::move(em.reason));
  });
  return {
      [=](recover_atom) -> caf::result<status> {
        auto rp = self->make_response_promise<status>();
        if (self->state.recovered) {
          rp.deliver(status(make_error(errc::illegal_transition, "recovery ran already")));
          return rp;
        }
        recover(self, rp);
        return rp;
      },
      [=](queue_atom, queue_request& q) -> caf::result<task_reply> {
        auto& s = self->state;
        if (s.halted)
          return task_reply(make_error(
              errc::unavailable,
              "The server is stopping (" + *s.halted + "); try again once it has restarted."));
        if (!s.recovered)
          return task_reply(make_error(errc::unavailable, "The server is starting; try again."));
        if (s.queue.size() >= s.cfg.max_queue)
          return task_reply(
              make_error(errc::unavailable, "The task queue is full; try again later."));
        auto id = std::string(events::task_stream_prefix) + std::to_string(++s.next_number);
        auto rp = self->make_response_promise<task_reply>();
        auto name = q.name;
        auto secrets = q.secrets;
        enqueue(self, id,
                events::cmd::queue{q.name, q.description, q.space_id, q.arguments_json,
                                   q.time_limit_ms},
                [=](task_reply t) mutable {
                  if (t) {
                    self->state.queue.push_back(id);
                    if (secrets) self->state.secrets[id] = secrets;
                    log::info("task " + id + " (" + name + ") queued");
                  } else {
                    log::error("a " + name + " task could not be queued: " + t.err().message);
                  }
                  rp.deliver(std::move(t));
                  try_start(self);
                });
        return rp;
      },
      [=](cancel_atom, const std::string& id, const std::string& by) -> caf::result<task_reply> {
        auto rp = self->make_response_promise<task_reply>();
        auto& run = self->state.running;
        bool is_running = run && run->id == id;
        if (is_running && run->finishing) {
          // Its final event is on its way: the answer is the state it ends in.
          run->cancels.push_back(rp);
          return rp;
        }
        // The step is told to stop now, whatever the journal is doing; the request is answered
        // once the cancel request is durable.
        if (is_running) stop_early(self, events::task_status::canceled);
        enqueue(self, id, events::cmd::request_cancel{by}, [=](task_reply t) mutable {
          if (t && !is_running) {
            auto& q = self->state.queue;
            q.erase(std::remove(q.begin(), q.end(), id), q.end());
            self->state.secrets.erase(id);
            log::info("task " + id + " canceled before it started");
          } else if (t) {
            log::info("task " + id + ": cancellation requested by " + by);
          }
          rp.deliver(std::move(t));
        });
        return rp;
      },
      [=](log_atom, const std::string& id, const std::string& category, const std::string& text) {
        enqueue(self, id, events::cmd::log{category, text}, on_logged(self, id));
      },
      [=](warn_atom, const std::string& id, const std::string& message) {
        enqueue(self, id, events::cmd::warn{message}, on_logged(self, id));
      },
      [=](reserve_atom, const std::string& id, std::uint64_t n) -> result<std::uint64_t> {
        auto& s = self->state;
        if (!s.running || s.running->id != id || s.running->finishing)
          return make_error(errc::illegal_transition,
                            "task numbers are set aside only for the running task");
        const auto first = s.next_number + 1;
        s.next_number += n;
        return first;
      },
      [=](timeout_atom, std::uint64_t gen) {
        if (!current(self, gen)) return;
        log::warn("task " + self->state.running->id + " reached its time limit; stopping it");
        stop_early(self, events::task_status::timed_out);
      },
      [=](grace_atom, std::uint64_t gen) {
        if (!current(self, gen)) return;
        auto& run = *self->state.running;
        if (!run.worker || run.finishing) return;
        log::warn("task " + run.id + ": the step " + run.steps.steps[run.step].name +
                  " did not stop within " + std::to_string(self->state.cfg.stop_grace.count()) +
                  " ms of being asked to; it is stopped hard");
        self->demonitor(run.worker.address());
        self->send_exit(run.worker, caf::exit_reason::kill);
        run.worker = nullptr;
        complete_ending(self);
      },
  };
}

}  // namespace

task_supervisor_actor spawn_task_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor, std::move(cfg));
}

}  // namespace octomig::actors
