// A real engine on a real store in a temporary directory, with step actors the tests control.
#pragma once

#include <boost/json.hpp>
#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "actors/engine.hpp"
#include "actors/messages.hpp"
#include "actors/steps.hpp"
#include "storage/data_dir.hpp"
#include "storage/store.hpp"
#include "tests/support/must.hpp"

namespace octomig::test {

using release_atom = caf::atom_constant<caf::atom("release")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

// A step the test ends: run is answered when the test releases it, or, if it honours stop
// signals, soon after the supervisor asks it to stop (it polls ctx.stop every millisecond).
using gated_actor =
    actors::step_actor::extend<caf::reacts_to<release_atom, bool, std::string>,
                               caf::reacts_to<crash_atom>, caf::reacts_to<poll_atom>>;

// Step workers that wait to be released, so a test decides when a step ends.
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<gated_actor> started;
  std::vector<actors::step_context> contexts;  // what each started worker was given
  std::size_t stopped = 0;                     // workers that saw their stop signal and answered

  // Waits until n workers have started; fails the test after the limit.
  gated_actor wait_started(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu);
    bool ok = cv.wait_for(lock, limit, [&] { return started.size() >= n; });
    INFO("waited for step worker number " << n << " to start");
    REQUIRE(ok);
    return started[n - 1];
  }
  // Waits until n workers have stopped on their stop signal.
  void wait_stopped(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu);
    bool ok = cv.wait_for(lock, limit, [&] { return stopped >= n; });
    INFO("waited for step worker number " << n << " to stop on its stop signal");
    REQUIRE(ok);
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return started.size();
  }
  std::size_t stopped_count() {
    std::lock_guard<std::mutex> lock(mu);
    return stopped;
  }
  actors::step_context context(std::size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(contexts.size() >= n);
    return contexts[n - 1];
  }
};

inline actors::step_outcome outcome(bool ok, const std::string& text) {
  actors::step_outcome o;
  o.ok = ok;
  (ok ? o.summary : o.error_message) = text;
  return o;
}

// A worker that answers run only when released: (release_atom, ok, text). It counts as started
// once it has received run, so a release never overtakes the run request.
inline actors::step_spawner gated_step(std::shared_ptr<gate> g, bool honours_stop = true) {
  return [g, honours_stop](caf::actor_system& sys) -> actors::step_actor {
    return sys.spawn([g, honours_stop](gated_actor::pointer self) -> gated_actor::behavior_type {
      auto pending = std::make_shared<caf::typed_response_promise<actors::step_outcome>>();
      auto stop = std::make_shared<actors::stop_signal>();
      return {
          [=](actors::run_atom, const actors::step_context& ctx) {
            *pending = self->make_response_promise<actors::step_outcome>();
            *stop = ctx.stop;
            self->send(ctx.sink, actors::log_atom::value, ctx.task_id, std::string("Info"),
                       std::string("gated step running"));
            {
              std::lock_guard<std::mutex> lock(g->mu);
              g->started.push_back(caf::actor_cast<gated_actor>(self));
              g->contexts.push_back(ctx);
            }
            g->cv.notify_all();
            if (honours_stop) self->send(self, poll_atom::value);
            return *pending;
          },
          [=](release_atom, bool ok, const std::string& text) {
            pending->deliver(outcome(ok, text));
            self->quit();
          },
          [=](crash_atom) { self->quit(caf::exit_reason::unhandled_exception); },
          [=](poll_atom) {
            if (!stop->requested()) {
              self->delayed_send(self, std::chrono::milliseconds(1), poll_atom::value);
              return;
            }
            pending->deliver(outcome(false, "stopped on request"));
            {
              std::lock_guard<std::mutex> lock(g->mu);
              ++g->stopped;
            }
            g->cv.notify_all();
            self->quit();
          },
      };
    });
  };
}

// A worker that answers at once, with the given facts.
inline actors::step_spawner instant_step(bool ok, std::string text,
                                         std::vector<events::event_body> facts = {}) {
  return [ok, text, facts](caf::actor_system& sys) -> actors::step_actor {
    return sys.spawn(
        [ok, text, facts](actors::step_actor::pointer self) -> actors::step_actor::behavior_type {
          return {[=](actors::run_atom, const actors::step_context& ctx) {
            self->send(ctx.sink, actors::warn_atom::value, ctx.task_id,
                       std::string("instant step warning"));
            self->quit();
            auto o = outcome(ok, text);
            o.facts = facts;
            return o;
          }};
        });
  };
}

// A worker that takes run and quits without ever answering.
inline actors::step_spawner mute_step() {
  return [](caf::actor_system& sys) -> actors::step_actor {
    return sys.spawn([](actors::step_actor::pointer self) -> actors::step_actor::behavior_type {
      return {[=](actors::run_atom, const actors::step_context&) {
        auto never = self->make_response_promise<actors::step_outcome>();
        self->quit();
        return never;
      }};
    });
  };
}

// A journal the test can stall: while stalled, the journal waits before writing each batch.
struct journal_stall {
  std::mutex mu;
  std::condition_variable cv;
  bool stalled = false;
  std::size_t waiting = 0;  // batches held back right now

  void hold() {
    std::unique_lock<std::mutex> lock(mu);
    if (!stalled) return;
    ++waiting;
    cv.notify_all();
    // Bounded, so that a failing test cannot hang the journal (and the test run) for ever.
    cv.wait_for(lock, std::chrono::seconds(20), [&] { return !stalled; });
    --waiting;
  }
  void set(bool on) {
    {
      std::lock_guard<std::mutex> lock(mu);
      stalled = on;
    }
    cv.notify_all();
  }
  // Waits until the journal holds a batch back.
  void wait_holding(std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu);
    bool ok = cv.wait_for(lock, limit, [&] { return waiting > 0; });
    INFO("waited for the stalled journal to hold a batch back");
    REQUIRE(ok);
  }
};

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "octomig-actors-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

struct engine_fixture {
  temp_dir dir;
  storage::data_dir data{dir.path};
  std::unique_ptr<storage::store> store;
  std::unique_ptr<actors::engine> engine;
  std::shared_ptr<gate> steps = std::make_shared<gate>();
  std::shared_ptr<journal_stall> stall = std::make_shared<journal_stall>();
  std::chrono::milliseconds stop_grace{10000};
  std::chrono::milliseconds journal_timeout{30000};
  // The callback notifier's retries and timeouts; every start gets a fresh stopping flag.
  actors::notifier_options callbacks;
  std::shared_ptr<std::vector<std::string>> fatal_reasons =
      std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::mutex> fatal_mu = std::make_shared<std::mutex>();

  explicit engine_fixture(bool start_now = true) {
    REQUIRE(storage::ensure_layout(data).ok());
    open_store();
    if (start_now) start();
  }

  void open_store() {
    auto s = storage::store::open({data.db(), storage::open_mode::read_write, {}, true});
    REQUIRE(s.ok());
    store = std::move(s.value());
  }

  actors::pipeline_registry pipelines() {
    actors::pipeline_registry p;
    p["Gated"] = actors::pipeline{{{"Wait for release", gated_step(steps)}}, true, {}};
    p["Stubborn"] = actors::pipeline{{{"Ignore stop signals", gated_step(steps, false)}}, true, {}};
    p["TwoSteps"] = actors::pipeline{
        {{"First", instant_step(true, "first done")}, {"Second", gated_step(steps)}}, true, {}};
    p["Instant"] = actors::pipeline{{{"Do it", instant_step(true, "done")}}, true, {}};
    p["Failing"] = actors::pipeline{{{"Break", instant_step(false, "the step broke")}}, true, {}};
    p["NoMaintenance"] = actors::pipeline{{{"Do it", instant_step(true, "done")}}, false, {}};
    p["Mute"] = actors::pipeline{{{"Say nothing", mute_step()}}, true, {}};
    // A pipeline whose after-end command decide refuses (a callback without a URI).
    p["BadCallback"] = actors::pipeline{
        {{"Do it", instant_step(true, "done")}}, true, [](const actors::task_end&) {
          return std::vector<events::task_command>{events::cmd::schedule_callback{"success", ""}};
        }};
    // A step's fact reaches the next step, and the pipeline schedules a callback with its end.
    events::package_built built{"Sample.1.0.0.zip", 1234, std::string(64, 'a'), true};
    p["Facts"] = actors::pipeline{
        {{"Build", instant_step(true, "built", {built})}, {"Push", gated_step(steps)}},
        true,
        [](const actors::task_end& end) {
          std::vector<events::task_command> out;
          bool ok = end.final_state == events::task_status::success;
          const auto* pkg = actors::find_fact<events::package_built>(end.facts);
          out.push_back(events::cmd::schedule_callback{
              ok ? "success" : "failure",
              "http://127.0.0.1:9/hook?package=" + (pkg ? pkg->file_name : std::string())});
          return out;
        }};
    // Tasks that schedule the callback their arguments ask for, as the export pipeline does:
    // SuccessCallbackUri after Success, FailureCallbackUri after any other end.
    auto hook = [](const actors::task_end& end) {
      std::vector<events::task_command> out;
      auto args = boost::json::parse(end.arguments_json).as_object();
      bool ok = end.final_state == events::task_status::success;
      const auto* uri = args.if_contains(ok ? "SuccessCallbackUri" : "FailureCallbackUri");
      if (uri && uri->is_string())
        out.push_back(events::cmd::schedule_callback{ok ? "success" : "failure",
                                                     std::string(uri->get_string())});
      return out;
    };
    p["Hooked"] = actors::pipeline{{{"Do it", instant_step(true, "done")}}, true, hook};
    p["HookedFailing"] =
        actors::pipeline{{{"Break", instant_step(false, "the step broke")}}, true, hook};
    return p;
  }

  void start() {
    actors::engine_config cfg;
    cfg.store = store.get();
    auto master = storage::load_or_create_master_key(data);
    REQUIRE(master.ok());
    cfg.master_key = *master;
    cfg.work_root = data.work();
    cfg.feed_root = data.feed();
    cfg.threads = 2;
    cfg.pipelines = pipelines();
    cfg.stop_grace = stop_grace;
    cfg.journal_timeout = journal_timeout;
    cfg.callbacks = callbacks;
    cfg.callbacks.stopping = std::make_shared<std::atomic<bool>>(false);
    cfg.journal_before_write = [s = stall] { s->hold(); };
    cfg.on_fatal = [reasons = fatal_reasons, mu = fatal_mu](const std::string& why) {
      std::lock_guard<std::mutex> lock(*mu);
      reasons->push_back(why);
    };
    auto e = actors::engine::start(std::move(cfg));
    if (!e) FAIL(e.err().message);
    engine = std::move(e.value());
  }

  // Stops the engine as a shutdown would, leaving the store open.
  void stop() {
    engine->stop();
    engine.reset();
  }

  events::task_state queue(const std::string& name, std::int64_t time_limit_ms = 0,
                           const std::string& arguments_json = "{}") {
    std::promise<result<events::task_state>> p;
    auto f = p.get_future();
    engine->commands().queue_task(
        actors::queue_request{name, "Test task " + name, "Spaces-1", arguments_json, time_limit_ms,
                              nullptr},
        [&p](result<events::task_state> r) { p.set_value(std::move(r)); });
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = f.get();
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    return r.value();
  }

  result<events::task_state> cancel(const std::string& id) {
    auto f = cancel_async(id);
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return f.get();
  }

  // Sends a cancel and returns at once; the future has the answer.
  std::future<result<events::task_state>> cancel_async(const std::string& id) {
    auto p = std::make_shared<std::promise<result<events::task_state>>>();
    auto f = p->get_future();
    engine->commands().cancel_task(
        id, "test", [p](result<events::task_state> r) { p->set_value(std::move(r)); });
    return f;
  }

  storage::maintenance_state set_maintenance(bool on) {
    std::promise<result<storage::maintenance_state>> p;
    auto f = p.get_future();
    engine->commands().set_maintenance(
        on, [&p](result<storage::maintenance_state> r) { p.set_value(std::move(r)); });
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = f.get();
    REQUIRE(r.ok());
    return r.value();
  }

  events::task_state task(const std::string& id) {
    auto t = store->task(id);
    REQUIRE(t.ok());
    return t.value();
  }

  // Bounded wait for a task to reach a state (the store is the read model the API serves).
  events::task_state wait_for(const std::string& id, events::task_status state,
                              std::chrono::seconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    events::task_state t;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = store->task(id);
      if (r.ok() && r->state == state) return r.value();
      if (r.ok()) t = r.value();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL("task " << id << " did not reach " << events::to_string(state) << " within "
                 << limit.count() << " s; it is " << events::to_string(t.state) << " ("
                 << t.error_message << ")");
    return t;
  }

  // Bounded wait until the system stream has settled on the given maintenance state.
  void wait_maintenance(bool on, std::chrono::seconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = store->maintenance();
      REQUIRE(m.ok());
      if (m->on() == on) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL("maintenance mode did not become " << (on ? "on" : "off"));
  }

  std::vector<std::string> event_types(const std::string& stream) {
    auto evs = store->read_stream(stream);
    REQUIRE(evs.ok());
    std::vector<std::string> out;
    for (const auto& e : *evs) out.push_back(events::type_name(e.body));
    return out;
  }
};

inline void release(const gated_actor& worker, bool ok = true, std::string text = "released") {
  caf::anon_send(worker, release_atom::value, ok, std::move(text));
}

}  // namespace octomig::test
