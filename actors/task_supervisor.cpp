#include "actors/task_supervisor.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include "actors/messages.hpp"
#include "events/decide.hpp"

namespace octomig::actors {
namespace {

struct running_task {
  std::string id;
  std::uint64_t generation = 0;  // tells a stale timeout or step reply from a current one
  std::size_t step = 0;
  caf::actor worker;                          // null between steps
  std::optional<events::task_status> ending;  // canceled or timed_out once requested
  bool holds_maintenance = false;
  bool finishing = false;  // the final event is on its way; nothing else may end the task
  pipeline steps;
  step_context context;
};

struct supervisor_state {
  supervisor_config cfg;
  std::deque<std::string> queue;
  std::optional<running_task> running;
  std::uint64_t next_number = 0;
  std::uint64_t generation = 0;
  static inline const char* name = "task_supervisor";
};

using sup = caf::stateful_actor<supervisor_state>;
using then_fn = std::function<void(task_reply)>;

constexpr const char* interrupted_message =
    "The Octopus Server restarted while this task was running, so the task was interrupted. "
    "Run it again.";

void try_start(sup* self);
void finish(sup* self);

// Decides cmd against the projected task, appends the events through the journal and continues
// with the new projected state. await keeps every transition strictly in order.
void execute(sup* self, const std::string& id, events::task_command cmd, then_fn next) {
  auto& s = self->state;
  events::task_state current;
  if (auto t = s.cfg.store->task(id); t.ok())
    current = std::move(t.value());
  else if (t.err().code != errc::not_found)
    return next(t.err());
  else
    current.id = id;
  auto decided = events::decide(current, cmd);
  if (!decided) return next(decided.err());
  if (decided->empty()) return next(current);
  storage::append_request r{id, current.version, std::move(decided.value()), now_us()};
  self->request(s.cfg.journal, caf::infinite, append_atom::value, std::move(r))
      .await(
          [=](append_reply& a) {
            if (!a) return next(a.err());
            next(self->state.cfg.store->task(id));
          },
          [=](caf::error& e) {
            next(make_error(errc::unavailable, "journal did not answer: " + to_string(e)));
          });
}

void with_maintenance(sup* self, caf::atom_value which, const std::string& id,
                      std::function<void()> next) {
  auto on_reply = [=](maintenance_reply&) { next(); };
  auto on_error = [=](caf::error&) { next(); };
  if (which == enter_atom::value)
    self->request(self->state.cfg.guard, caf::infinite, enter_atom::value, id)
        .await(on_reply, on_error);
  else
    self->request(self->state.cfg.guard, caf::infinite, leave_atom::value, id)
        .await(on_reply, on_error);
}

void remove_work_dir(sup* self, const std::string& id) {
  std::error_code ec;
  std::filesystem::remove_all(self->state.cfg.work_root / id, ec);
}

// Completes the running task with the final event its end calls for. Maintenance mode is given
// back first: a client that sees the task's final state can write at once (a crash in between
// leaves the task Executing, and recovery interrupts it).
void complete(sup* self, events::task_command cmd) {
  auto& r = *self->state.running;
  if (r.finishing) return;
  r.finishing = true;
  auto id = r.id;
  auto record = [=] { execute(self, id, cmd, [=](task_reply) { finish(self); }); };
  if (!r.holds_maintenance) return record();
  r.holds_maintenance = false;
  with_maintenance(self, leave_atom::value, id, record);
}

void complete_ending(sup* self) {
  auto& r = *self->state.running;
  if (r.ending == events::task_status::timed_out)
    complete(self, events::cmd::time_out{});
  else
    complete(self, events::cmd::confirm_canceled{});
}

void stop_worker(sup* self) {
  auto& r = *self->state.running;
  if (r.worker) {
    self->send_exit(r.worker, caf::exit_reason::user_shutdown);
    // The down message completes the ending once the step has stopped.
  } else {
    complete_ending(self);
  }
}

void run_step(sup* self, std::size_t index) {
  auto& r = *self->state.running;
  if (index >= r.steps.steps.size()) return complete(self, events::cmd::succeed{});
  r.step = index;
  auto name = r.steps.steps[index].name;
  auto gen = r.generation;
  execute(self, r.id, events::cmd::start_step{name}, [=](task_reply t) {
    auto& run = self->state.running;
    if (!run || run->generation != gen) return;
    if (!t) return complete(self, events::cmd::fail{t.err().message});
    if (run->ending) return complete_ending(self);
    auto worker = run->steps.steps[index].spawn(self->system());
    if (!worker) return complete(self, events::cmd::fail{"The step " + name + " could not start."});
    self->monitor(worker);
    run->worker = worker;
    self->request(worker, caf::infinite, run_atom::value, run->context)
        .then(
            [=](step_outcome& o) {
              auto& cur = self->state.running;
              if (!cur || cur->generation != gen || cur->worker != worker) return;
              self->demonitor(worker);
              cur->worker = nullptr;
              if (cur->ending) return complete_ending(self);
              if (!o.ok) return complete(self, events::cmd::fail{o.error_message});
              execute(self, cur->id, events::cmd::finish_step{name, o.summary}, [=](task_reply f) {
                auto& c = self->state.running;
                if (!c || c->generation != gen) return;
                if (!f) return complete(self, events::cmd::fail{f.err().message});
                run_step(self, index + 1);
              });
            },
            // The worker ended without answering (a normal exit too: CAF may deliver its
            // down message before this error, so the down handler leaves that case to us).
            [=](caf::error& e) {
              auto& cur = self->state.running;
              if (!cur || cur->generation != gen || cur->worker != worker) return;
              self->demonitor(worker);
              cur->worker = nullptr;
              if (cur->ending) return complete_ending(self);
              complete(self, events::cmd::fail{"The step " + name + " stopped unexpectedly (" +
                                               to_string(e) + ")."});
            });
  });
}

void begin(sup* self, const std::string& id, pipeline steps) {
  auto& s = self->state;
  running_task r;
  r.id = id;
  r.generation = ++s.generation;
  r.holds_maintenance = steps.needs_maintenance;
  r.steps = std::move(steps);
  auto task = s.cfg.store->task(id);
  r.context = step_context{id, task ? task->space_id : std::string(),
                           task ? task->arguments_json : std::string(), s.cfg.work_root / id,
                           caf::actor_cast<caf::actor>(self)};
  std::int64_t limit = task ? task->time_limit_ms : 0;
  s.running = std::move(r);
  auto gen = s.running->generation;
  auto start = [=] {
    execute(self, id, events::cmd::start{self->state.cfg.server_node}, [=](task_reply t) {
      auto& run = self->state.running;
      if (!run || run->generation != gen) return;
      if (!t) return complete(self, events::cmd::fail{t.err().message});
      if (limit > 0)
        self->delayed_send(self, std::chrono::milliseconds(limit), timeout_atom::value, gen);
      std::error_code ec;
      std::filesystem::create_directories(run->context.work_dir, ec);
      if (run->steps.steps.empty() && !self->state.cfg.pipelines.count(t->name))
        return complete(self, events::cmd::fail{"No pipeline runs tasks of type " + t->name + "."});
      run_step(self, 0);
    });
  };
  if (s.running->holds_maintenance)
    with_maintenance(self, enter_atom::value, id, start);
  else
    start();
}

void try_start(sup* self) {
  auto& s = self->state;
  while (!s.running && !s.queue.empty()) {
    auto id = s.queue.front();
    s.queue.pop_front();
    auto task = s.cfg.store->task(id);
    if (!task || task->state != events::task_status::queued) continue;  // canceled meanwhile
    auto it = s.cfg.pipelines.find(task->name);
    begin(self, id, it != s.cfg.pipelines.end() ? it->second : pipeline{{}, false});
  }
}

void finish(sup* self) {
  auto& s = self->state;
  if (!s.running) return;
  auto r = std::move(*s.running);
  if (r.worker) {
    self->demonitor(r.worker);
    self->send_exit(r.worker, caf::exit_reason::user_shutdown);
  }
  remove_work_dir(self, r.id);
  auto next = [=] {
    self->state.running.reset();
    try_start(self);
  };
  if (r.holds_maintenance)
    with_maintenance(self, leave_atom::value, r.id, next);
  else
    next();
}

// Runs fn over items one after the other (each may await), then calls done.
template <class T, class F>
void sequentially(std::shared_ptr<std::vector<T>> items, std::size_t i, F fn,
                  std::function<void()> done) {
  if (i >= items->size()) return done();
  fn((*items)[i], [=] { sequentially(items, i + 1, fn, done); });
}

void recover(sup* self, caf::response_promise rp) {
  auto& s = self->state;
  s.next_number = s.cfg.store->highest_task_number();
  storage::task_filter running_filter;
  running_filter.states = {events::task_status::executing, events::task_status::cancelling};
  auto found = s.cfg.store->tasks(running_filter);
  auto interrupted = std::make_shared<std::vector<events::task_state>>(
      found ? std::move(found.value()) : std::vector<events::task_state>{});
  sequentially(
      interrupted, 0,
      [=](const events::task_state& t, std::function<void()> next) {
        execute(self, t.id, events::cmd::interrupt{interrupted_message}, [=](task_reply) {
          remove_work_dir(self, t.id);
          next();
        });
      },
      [=]() mutable {
        // A task that held maintenance mode gives it back; the manual setting stays as it was.
        auto holder = self->state.cfg.store->maintenance().task_id;
        auto requeue = [=]() mutable {
          storage::task_filter queued;
          queued.states = {events::task_status::queued};
          auto q = self->state.cfg.store->tasks(queued);
          if (q) {
            // tasks() is newest first; the queue runs oldest first.
            for (auto it = q->rbegin(); it != q->rend(); ++it) self->state.queue.push_back(it->id);
          }
          rp.deliver(true);
          try_start(self);
        };
        if (!holder.empty())
          with_maintenance(self, leave_atom::value, holder, requeue);
        else
          requeue();
      });
}

caf::behavior supervisor(sup* self, supervisor_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& run = self->state.running;
    if (!run || !run->worker || run->worker.address() != dm.source) return;
    // A worker that exits normally may still have its answer on the way; the request's error
    // handler deals with one that never answers.
    if (!run->ending && dm.reason == caf::none) return;
    run->worker = nullptr;
    if (run->ending) return complete_ending(self);
    auto step = run->steps.steps[run->step].name;
    complete(self, events::cmd::fail{"The step " + step + " stopped unexpectedly (" +
                                     to_string(dm.reason) + ")."});
  });
  self->set_exit_handler([=](caf::exit_msg& em) {
    // On shutdown the running step stops too; the task stays Executing in the log and the next
    // start closes it with task_interrupted. This must run before quit(): CAF destroys the state
    // before it calls attached functors, so an attach_functor would never see the worker.
    if (self->state.running && self->state.running->worker)
      self->send_exit(self->state.running->worker, caf::exit_reason::user_shutdown);
    self->quit(std::move(em.reason));
  });
  return {
      [=](recover_atom) {
        auto rp = self->make_response_promise();
        recover(self, rp);
        return rp;
      },
      [=](queue_atom, queue_request& q) -> caf::result<task_reply> {
        auto& s = self->state;
        if (s.queue.size() >= s.cfg.max_queue)
          return task_reply(
              make_error(errc::unavailable, "The task queue is full; try again later."));
        auto id = std::string(events::task_stream_prefix) + std::to_string(++s.next_number);
        auto rp = self->make_response_promise<task_reply>();
        execute(self, id,
                events::cmd::queue{q.name, q.description, q.space_id, q.arguments_json,
                                   q.time_limit_ms},
                [=](task_reply t) mutable {
                  if (t) self->state.queue.push_back(id);
                  rp.deliver(std::move(t));
                  try_start(self);
                });
        return rp;
      },
      [=](cancel_atom, const std::string& id, const std::string& by) -> caf::result<task_reply> {
        auto rp = self->make_response_promise<task_reply>();
        auto& run = self->state.running;
        bool is_running = run && run->id == id;
        execute(self, id, events::cmd::request_cancel{by}, [=](task_reply t) mutable {
          auto& cur = self->state.running;
          if (t && is_running && cur && cur->id == id && !cur->ending) {
            cur->ending = events::task_status::canceled;
            rp.deliver(std::move(t));
            return stop_worker(self);
          }
          if (t && !is_running) {
            auto& q = self->state.queue;
            q.erase(std::remove(q.begin(), q.end(), id), q.end());
          }
          rp.deliver(std::move(t));
        });
        return rp;
      },
      [=](timeout_atom, std::uint64_t gen) {
        auto& run = self->state.running;
        if (!run || run->generation != gen || run->ending) return;
        run->ending = events::task_status::timed_out;
        stop_worker(self);
      },
      [=](log_atom, const std::string& id, const std::string& category, const std::string& text) {
        execute(self, id, events::cmd::log{category, text}, [](task_reply) {});
      },
      [=](warn_atom, const std::string& id, const std::string& message) {
        execute(self, id, events::cmd::warn{message}, [](task_reply) {});
      },
  };
}

}  // namespace

caf::actor spawn_task_supervisor(caf::actor_system& sys, supervisor_config cfg) {
  return sys.spawn(supervisor, std::move(cfg));
}

}  // namespace octomig::actors
