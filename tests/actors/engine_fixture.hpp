// A real engine on a real store in a temporary directory, with step actors the tests control.
#pragma once

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

namespace octomig::test {

using release_atom = caf::atom_constant<caf::atom("release")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;

// Step workers that wait to be released, so a test decides when a step ends.
struct gate {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<caf::actor> started;

  // Waits until n workers have started; fails the test after the limit.
  caf::actor wait_started(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu);
    bool ok = cv.wait_for(lock, limit, [&] { return started.size() >= n; });
    INFO("waited for step worker number " << n << " to start");
    REQUIRE(ok);
    return started[n - 1];
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return started.size();
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
inline actors::step_spawner gated_step(std::shared_ptr<gate> g) {
  return [g](caf::actor_system& sys) {
    return sys.spawn([g](caf::event_based_actor* self) -> caf::behavior {
      auto pending = std::make_shared<caf::response_promise>();
      return {
          [=](actors::run_atom, const actors::step_context& ctx) {
            *pending = self->make_response_promise();
            self->send(ctx.supervisor, actors::log_atom::value, ctx.task_id, std::string("Info"),
                       std::string("gated step running"));
            {
              std::lock_guard<std::mutex> lock(g->mu);
              g->started.push_back(caf::actor_cast<caf::actor>(self));
            }
            g->cv.notify_all();
          },
          [=](release_atom, bool ok, const std::string& text) {
            pending->deliver(outcome(ok, text));
            self->quit();
          },
          [=](crash_atom) { self->quit(caf::exit_reason::unhandled_exception); },
      };
    });
  };
}

// A worker that answers at once.
inline actors::step_spawner instant_step(bool ok, std::string text) {
  return [ok, text](caf::actor_system& sys) {
    return sys.spawn([ok, text](caf::event_based_actor* self) -> caf::behavior {
      return {[=](actors::run_atom, const actors::step_context& ctx) {
        self->send(ctx.supervisor, actors::warn_atom::value, ctx.task_id,
                   std::string("instant step warning"));
        self->quit();
        return outcome(ok, text);
      }};
    });
  };
}

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

  engine_fixture() {
    REQUIRE(storage::ensure_layout(data).ok());
    open_store();
    start();
  }

  void open_store() {
    auto s = storage::store::open({data.db(), storage::open_mode::read_write, {}, true});
    REQUIRE(s.ok());
    store = std::move(s.value());
  }

  actors::pipeline_registry pipelines() {
    actors::pipeline_registry p;
    p["Gated"] = actors::pipeline{{{"Wait for release", gated_step(steps)}}, true};
    p["TwoSteps"] = actors::pipeline{
        {{"First", instant_step(true, "first done")}, {"Second", gated_step(steps)}}, true};
    p["Instant"] = actors::pipeline{{{"Do it", instant_step(true, "done")}}, true};
    p["Failing"] = actors::pipeline{{{"Break", instant_step(false, "the step broke")}}, true};
    p["NoMaintenance"] = actors::pipeline{{{"Do it", instant_step(true, "done")}}, false};
    return p;
  }

  void start() {
    actors::engine_config cfg;
    cfg.store = store.get();
    auto master = storage::load_or_create_master_key(data);
    REQUIRE(master.ok());
    cfg.master_key = *master;
    cfg.work_root = data.work();
    cfg.threads = 2;
    cfg.pipelines = pipelines();
    auto e = actors::engine::start(std::move(cfg));
    REQUIRE(e.ok());
    engine = std::move(e.value());
  }

  // Stops the engine as a shutdown would, leaving the store open.
  void stop() {
    engine->stop();
    engine.reset();
  }

  events::task_state queue(const std::string& name, std::int64_t time_limit_ms = 0) {
    std::promise<result<events::task_state>> p;
    auto f = p.get_future();
    engine->commands().queue_task(
        actors::queue_request{name, "Test task " + name, "Spaces-1", "{}", time_limit_ms},
        [&p](result<events::task_state> r) { p.set_value(std::move(r)); });
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto r = f.get();
    INFO((r.ok() ? std::string() : r.err().message));
    REQUIRE(r.ok());
    return r.value();
  }

  result<events::task_state> cancel(const std::string& id) {
    std::promise<result<events::task_state>> p;
    auto f = p.get_future();
    engine->commands().cancel_task(
        id, "test", [&p](result<events::task_state> r) { p.set_value(std::move(r)); });
    REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    return f.get();
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
      if (store->maintenance().on() == on) return;
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

inline void release(const caf::actor& worker, bool ok = true, std::string text = "released") {
  caf::anon_send(worker, release_atom::value, ok, std::move(text));
}

}  // namespace octomig::test
