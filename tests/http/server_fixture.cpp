// The REST tests' fixture: the real store, engine, api and server wired as octomigd wires them.
#include "tests/http/server_fixture.hpp"

#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "actors/engine.hpp"
#include "actors/messages.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "runtime/clock.hpp"
#include "storage/data_dir.hpp"
#include "storage/packages.hpp"
#include "storage/store.hpp"

#ifndef OCTOMIG_VERSION
#error "OCTOMIG_VERSION must be defined (see tests/http/CMakeLists.txt)"
#endif

namespace octomig::http_test {

using release_atom = caf::atom_constant<caf::atom("release")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;

// The "Test" step: a step the test releases, which also stops when asked to (cancel).
using waiting_actor =
    actors::step_actor::extend<caf::reacts_to<release_atom>, caf::reacts_to<poll_atom>>;

constexpr auto command_wait = std::chrono::seconds(10);
constexpr auto poll_budget = std::chrono::seconds(10);
constexpr int poll_attempts = 2000;

temp_data_dir::temp_data_dir() {
  auto base = std::filesystem::temp_directory_path() / "octomig-http-XXXXXX";
  std::string pattern = base.string();
  if (!mkdtemp(pattern.data())) FAIL("mkdtemp failed for " << pattern);
  path = pattern;
}

temp_data_dir::~temp_data_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

// Where the waiting "Test" steps register, so that a test can tell when one runs and release it.
struct step_gate {
  std::mutex mu;
  std::condition_variable changed;
  std::map<std::string, waiting_actor> waiting;  // task id -> its running step

  void add(const std::string& task_id, waiting_actor step) {
    {
      std::lock_guard<std::mutex> lock(mu);
      waiting[task_id] = std::move(step);
    }
    changed.notify_all();
  }
};

namespace {

template <class Self>
void log_to_task(Self* self, const actors::step_context& ctx, std::string text) {
  self->send(ctx.sink, actors::log_atom::value, ctx.task_id, std::string("Info"), std::move(text));
}

actors::step_outcome succeeded(std::string summary) {
  actors::step_outcome o;
  o.summary = std::move(summary);
  return o;
}

// Logs one line and succeeds at once.
actors::step_actor::behavior_type instant_step(actors::step_actor::pointer self) {
  return {[=](actors::run_atom, const actors::step_context& ctx) {
    log_to_task(self, ctx, "Instant step ran for " + ctx.task_id);
    self->quit();
    return succeeded("instant");
  }};
}

// Logs one line, then answers when released, or, once its stop signal is set (a cancel), as
// stopped: it checks the signal every millisecond, as a real step checks it between chunks.
waiting_actor::behavior_type waiting_step(waiting_actor::pointer self,
                                          std::shared_ptr<step_gate> gate) {
  auto rp = std::make_shared<caf::typed_response_promise<actors::step_outcome>>();
  auto stop = std::make_shared<actors::stop_signal>();
  return {
      [=](actors::run_atom, const actors::step_context& ctx) {
        *rp = self->make_response_promise<actors::step_outcome>();
        *stop = ctx.stop;
        log_to_task(self, ctx, "Test step is waiting for " + ctx.task_id);
        gate->add(ctx.task_id, caf::actor_cast<waiting_actor>(self));
        self->send(self, poll_atom::value);
        return *rp;
      },
      [=](release_atom) {
        rp->deliver(succeeded("released"));
        self->quit();
      },
      [=](poll_atom) {
        if (!stop->requested())
          return self->delayed_send(self, std::chrono::milliseconds(1), poll_atom::value);
        actors::step_outcome o;
        o.ok = false;
        o.error_message = "stopped on request";
        rp->deliver(o);
        self->quit();
      },
  };
}

std::string read_first_line(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

}  // namespace

server_fixture::server_fixture(const fixture_options& opts) : gate_(std::make_shared<step_gate>()) {
  storage::data_dir d{dir_.path};
  auto laid = storage::ensure_layout(d);
  REQUIRE(laid.ok());
  auto master = storage::load_or_create_master_key(d);
  REQUIRE(master.ok());
  auto opened = storage::store::open({d.db(), storage::open_mode::read_write, {}, true});
  if (!opened) FAIL("cannot open the store: " << opened.err().message);
  store_ = std::move(opened.value());

  auto boot = storage::bootstrap(*store_, d, *master, runtime::now_us());
  if (!boot) FAIL("bootstrap failed: " << boot.err().message);
  REQUIRE(boot->created_admin_key);
  installation_id = boot->installation_id;
  admin_key = read_first_line(d.admin_key_file());
  REQUIRE(admin_key.rfind("API-", 0) == 0);
  auto user = storage::create_api_key(*store_, *master, "tests-user", "user", runtime::now_us());
  if (!user) FAIL("cannot create the user key: " << user.err().message);
  user_key = *user;

  actors::engine_config ec;
  ec.store = store_.get();
  ec.master_key = *master;
  ec.work_root = d.work();
  ec.feed_root = d.feed();
  ec.server_node = "octomig-test";
  ec.threads = 2;
  ec.command_timeout = std::chrono::milliseconds(10000);
  ec.publish_faults = opts.publish_faults;
  auto gate = gate_;
  ec.pipelines["Instant"] = actors::pipeline{
      {{"Run at once",
        [](caf::actor_system& sys) -> actors::step_actor { return sys.spawn(instant_step); }}},
      true,
      {}};
  ec.pipelines["Test"] = actors::pipeline{{{"Wait for the test",
                                            [gate](caf::actor_system& sys) -> actors::step_actor {
                                              return sys.spawn(waiting_step, gate);
                                            }}},
                                          true,
                                          {}};
  auto started = actors::engine::start(std::move(ec));
  if (!started) FAIL("the engine did not start: " << started.err().message);
  engine_ = std::move(started.value());

  http::api_config ac;
  ac.store = store_.get();
  ac.commands = &engine_->commands();
  ac.master_key = *master;
  ac.installation_id = installation_id;
  ac.version = OCTOMIG_VERSION;
  ac.server_node = "octomig-test";
  ac.data_dir = d.root;
  ac.max_concurrent_uploads = opts.max_concurrent_uploads;
  connections_ = std::make_unique<http::connection_stats>();
  ac.connections = connections_.get();
  api_ = std::make_unique<http::api>(std::move(ac));

  http::server_options so;
  so.address = "127.0.0.1";
  so.port = 0;
  so.threads = 1;
  so.request_timeout = std::chrono::seconds(5);
  so.header_timeout = opts.header_timeout;
  so.idle_timeout = opts.idle_timeout;
  so.max_connections = opts.max_connections;
  so.stats = connections_.get();
  so.max_upload_bytes = opts.max_upload_bytes;
  auto* api = api_.get();
  server_ = std::make_unique<http::server>(
      so,
      [api](const http::request& r, std::function<void(http::response)> done) {
        api->handle(r, std::move(done));
      },
      [api](const http::request& head) { return api->plan_body(head); });
  auto bound = server_->start();
  if (!bound) FAIL("the server did not start: " << bound.err().message);
  port_ = *bound;
  REQUIRE(port_ != 0);
  client_ = std::make_unique<http_client>(port_);
}

server_fixture::~server_fixture() {
  // The order octomigd shuts down in: no new connections, the engine drains, then the I/O stops.
  client_.reset();
  server_->stop_accepting();
  engine_->stop();
  server_->stop();
  server_.reset();
  api_.reset();
  engine_.reset();
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->waiting.clear();
  }
  store_.reset();
}

events::task_state server_fixture::queue_task(const std::string& type,
                                              const std::string& description,
                                              const std::string& space_id) {
  auto done = std::make_shared<std::promise<result<events::task_state>>>();
  auto answer = done->get_future();
  actors::queue_request q;
  q.name = type;
  q.description = description;
  q.space_id = space_id;
  q.arguments_json = R"({"Purpose":"http tests"})";
  engine_->commands().queue_task(
      std::move(q), [done](result<events::task_state> r) { done->set_value(std::move(r)); });
  if (answer.wait_for(command_wait) != std::future_status::ready)
    FAIL("the engine did not answer queue_task(" << type << ") within 10 s");
  auto r = answer.get();
  if (!r) FAIL("queue_task(" << type << ") was refused: " << r.err().message);
  return std::move(r.value());
}

void server_fixture::wait_until_step_runs(const std::string& task_id) {
  std::unique_lock<std::mutex> lock(gate_->mu);
  bool runs = gate_->changed.wait_for(lock, command_wait,
                                      [&] { return gate_->waiting.count(task_id) > 0; });
  if (!runs) FAIL("the Test step of " << task_id << " did not start within 10 s");
}

void server_fixture::release_step(const std::string& task_id) {
  waiting_actor step;
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    auto it = gate_->waiting.find(task_id);
    if (it == gate_->waiting.end()) FAIL("no Test step of " << task_id << " is waiting");
    step = it->second;
    gate_->waiting.erase(it);
  }
  caf::anon_send(step, release_atom::value);
}

namespace {

// Calls probe until it returns true, at most poll_attempts times within poll_budget, backing off
// from 1 ms to 20 ms between attempts. Returns whether probe succeeded.
template <class Probe>
bool poll(Probe probe) {
  auto deadline = std::chrono::steady_clock::now() + poll_budget;
  auto pause = std::chrono::milliseconds(1);
  for (int i = 0; i < poll_attempts && std::chrono::steady_clock::now() < deadline; ++i) {
    if (probe()) return true;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

json::object server_fixture::wait_for_state(const std::string& task_id,
                                            std::initializer_list<const char*> states) {
  json::object last;
  std::string seen = "(none)";
  bool reached = poll([&] {
    auto r = client_->get("/api/tasks/" + task_id, admin_key);
    if (r.status != 200) return false;
    last = r.object();
    seen = str(last, "State");
    return std::any_of(states.begin(), states.end(), [&](const char* s) { return seen == s; });
  });
  if (!reached) {
    std::string wanted;
    for (const char* s : states) wanted += std::string(wanted.empty() ? "" : " or ") + s;
    FAIL(task_id << " did not reach " << wanted << " within 10 s; last State: " << seen);
  }
  return last;
}

void server_fixture::wait_for_maintenance(bool on) {
  bool last = !on;
  bool reached = poll([&] {
    auto r = client_->get("/api/maintenanceconfiguration", admin_key);
    if (r.status != 200) return false;
    auto o = r.object();
    last = o.contains("IsInMaintenanceMode") && o.at("IsInMaintenanceMode") == json::value(true);
    return last == on;
  });
  if (!reached) FAIL("maintenance mode did not turn " << (on ? "on" : "off") << " within 10 s");
}

void server_fixture::eventually(const std::string& what, const std::function<bool()>& probe) {
  if (!poll(probe)) FAIL(what << ": not within 10 s");
}

std::string str(const json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  INFO("object: " << json::serialize(o));
  if (!v) FAIL("missing field " << field);
  if (!v->is_string()) FAIL("field " << field << " is not a string");
  return std::string(v->get_string());
}

std::int64_t integer(const json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  INFO("object: " << json::serialize(o));
  if (!v) FAIL("missing field " << field);
  json::error_code ec;
  auto n = v->to_number<std::int64_t>(ec);
  if (ec || v->is_double()) FAIL("field " << field << " is not an integer");
  return n;
}

std::string error_message(const http_reply& r) {
  INFO("status " << r.status << ", body: " << r.body);
  CHECK(r.header("content-type").rfind("application/json", 0) == 0);
  auto o = r.object();
  REQUIRE(o.contains("ErrorMessage"));
  REQUIRE(o.at("ErrorMessage").is_string());
  REQUIRE(o.contains("Errors"));
  REQUIRE(o.at("Errors").is_array());
  for (const auto& e : o.at("Errors").get_array()) CHECK(e.is_string());
  return std::string(o.at("ErrorMessage").get_string());
}

}  // namespace octomig::http_test
