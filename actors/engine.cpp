#include "actors/engine.hpp"

#include "actors/api_ingress.hpp"
#include "actors/callback_notifier.hpp"
#include "actors/document_writer.hpp"
#include "actors/feed_publisher.hpp"
#include "actors/journal.hpp"
#include "actors/maintenance_guard.hpp"
#include "actors/task_supervisor.hpp"

namespace octomig::actors {
namespace {

// Sends one request from a short-lived actor and hands the reply to a callback, so that no
// caller thread ever blocks on an actor. The request gives up after the timeout.
template <class Reply, class... Ts>
void ask(caf::actor_system& sys, const api_ingress_actor& target, std::chrono::milliseconds timeout,
         std::function<void(Reply)> done, Ts&&... xs) {
  sys.spawn([=](caf::event_based_actor* self) {
    self->request(target, timeout, xs...)
        .then([=](Reply& r) { done(std::move(r)); },
              [=](caf::error& e) {
                done(Reply(make_error(errc::unavailable,
                                      "The engine did not answer (" + to_string(e) + ").")));
              });
  });
}

class caf_gateway final : public gateway {
 public:
  caf_gateway(caf::actor_system& sys, api_ingress_actor ingress, std::chrono::milliseconds timeout)
      : sys_(sys), ingress_(std::move(ingress)), timeout_(timeout) {}

  void queue_task(queue_request request, task_callback done) override {
    ask<task_reply>(sys_, ingress_, timeout_, std::move(done), queue_atom::value,
                    std::move(request));
  }
  void cancel_task(std::string id, std::string by, task_callback done) override {
    ask<task_reply>(sys_, ingress_, timeout_, std::move(done), cancel_atom::value, std::move(id),
                    std::move(by));
  }
  void set_maintenance(bool on, maintenance_callback done) override {
    ask<maintenance_reply>(sys_, ingress_, timeout_, std::move(done), set_atom::value, on);
  }
  void write_document(storage::document_command command, document_callback done) override {
    ask<document_reply>(sys_, ingress_, timeout_, std::move(done), document_atom::value,
                        std::move(command));
  }
  void publish_package(storage::publish_command command, publish_callback done) override {
    ask<publish_reply>(sys_, ingress_, timeout_, std::move(done), publish_atom::value,
                       std::move(command));
  }
  void unpublish_package(storage::package_record package, unpublish_callback done) override {
    ask<unpublish_reply>(sys_, ingress_, timeout_, std::move(done), unpublish_atom::value,
                         std::move(package));
  }

 private:
  caf::actor_system& sys_;
  api_ingress_actor ingress_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

struct engine::impl {
  engine_config cfg;
  caf::actor_system_config sys_cfg;
  std::unique_ptr<caf::actor_system> sys;
  journal_actor journal;
  maintenance_guard_actor guard;
  task_supervisor_actor supervisor;
  document_writer_actor documents;
  feed_publisher_actor feed;
  callback_notifier_actor notifier;
  api_ingress_actor ingress;
  std::unique_ptr<caf_gateway> gw;
  bool stopped = false;

  void stop() {
    if (stopped) return;
    stopped = true;
    // Commands stop first; the journal last, after it has written what it holds.
    // A callback's GET in flight gives up at once; the next start sends it again.
    if (cfg.callbacks.stopping) cfg.callbacks.stopping->store(true);
    for (const caf::actor_addr& a : {ingress.address(), supervisor.address(), guard.address(),
                                     documents.address(), feed.address(), notifier.address()})
      if (a) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    if (journal) caf::anon_send(journal, stop_atom::value);
    sys->await_all_actors_done();
  }
};

engine::engine(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

engine::~engine() {
  if (impl_) impl_->stop();
}

result<std::unique_ptr<engine>> engine::start(engine_config cfg) {
  if (!cfg.store) return make_error(errc::invalid_argument, "the engine needs a store");
  if (cfg.master_key.empty())
    return make_error(errc::invalid_argument, "the engine needs the master key");
  auto p = std::make_unique<impl>();
  p->cfg = std::move(cfg);
  p->sys_cfg.add_message_types<caf::id_block::octomig>();
  if (p->cfg.threads > 0) p->sys_cfg.set("scheduler.max-threads", p->cfg.threads);
  p->sys = std::make_unique<caf::actor_system>(p->sys_cfg);
  auto& sys = *p->sys;
  auto& st = *p->cfg.store;
  journal_options jo;
  jo.before_write = p->cfg.journal_before_write;
  p->journal = spawn_journal(sys, st, std::move(jo));
  p->guard = spawn_maintenance_guard(sys, st, p->journal, p->cfg.journal_timeout);
  // A flag of this engine's own: stopping it must not stop a later engine made from the same
  // configuration.
  p->cfg.callbacks.stopping = std::make_shared<std::atomic<bool>>(false);
  notifier_options no = p->cfg.callbacks;
  no.journal_timeout = p->cfg.journal_timeout;
  p->notifier = spawn_callback_notifier(sys, st, p->journal, std::move(no));
  supervisor_config sc;
  sc.store = &st;
  sc.journal = p->journal;
  sc.guard = p->guard;
  sc.pipelines = p->cfg.pipelines;
  sc.work_root = p->cfg.work_root;
  sc.server_node = p->cfg.server_node;
  sc.max_queue = p->cfg.max_queue;
  sc.journal_timeout = p->cfg.journal_timeout;
  sc.stop_grace = p->cfg.stop_grace;
  sc.on_fatal = p->cfg.on_fatal;
  sc.notifier = p->notifier;
  p->supervisor = spawn_task_supervisor(sys, std::move(sc));
  p->documents = spawn_document_writer(
      sys, p->cfg.documents ? p->cfg.documents
                            : std::make_shared<storage::documents>(st, p->cfg.master_key));
  p->feed = spawn_feed_publisher(sys, st, feed_options{p->cfg.feed_root, p->cfg.publish_faults});
  p->ingress =
      spawn_api_ingress(sys, ingress_targets{p->supervisor, p->guard, p->documents, p->feed});

  status recovered = make_error(errc::unavailable, "start-up recovery did not answer in 60 s");
  {
    caf::scoped_actor self{sys};
    self->request(p->supervisor, std::chrono::seconds(60), recover_atom::value)
        .receive([&](status& r) { recovered = std::move(r); },
                 [&](caf::error& e) {
                   recovered = make_error(errc::unavailable, "start-up recovery did not finish (" +
                                                                 to_string(e) + ")");
                 });
  }
  if (!recovered) {
    p->stop();
    return recovered.err();
  }
  // The callbacks that ended tasks left open, recovery's failure callbacks included.
  caf::anon_send(p->notifier, resume_atom::value);
  p->gw = std::make_unique<caf_gateway>(sys, p->ingress, p->cfg.command_timeout);
  return std::unique_ptr<engine>(new engine(std::move(p)));
}

gateway& engine::commands() {
  return *impl_->gw;
}
caf::actor_system& engine::system() {
  return *impl_->sys;
}
void engine::stop() {
  impl_->stop();
}

}  // namespace octomig::actors
