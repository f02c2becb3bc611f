#include "actors/feed_publisher.hpp"

#include "runtime/log.hpp"

namespace octomig::actors {
namespace {

// One request, on a thread of its own; it quits once it has answered.
feed_publisher_actor::behavior_type worker(feed_publisher_actor::pointer self, storage::store* st,
                                           std::shared_ptr<const feed_options> opts) {
  return {
      [=](publish_atom, storage::publish_command& cmd) -> publish_reply {
        auto what = cmd.identity.package_id + " " + cmd.identity.version;
        auto out = storage::publish_package(*st, opts->feed_root, std::move(cmd), opts->faults);
        if (out && out->created)
          log::info("package feed: published " + what + " in " + out->record.space_id + " (" +
                    std::to_string(out->record.size_bytes) + " bytes)");
        self->quit();
        return out;
      },
      [=](unpublish_atom, storage::package_record& rec) -> unpublish_reply {
        auto removed = storage::delete_package(*st, opts->feed_root, rec);
        self->quit();
        if (!removed) return removed.err();
        log::info("package feed: deleted " + rec.package_id + " " + rec.version + " from " +
                  rec.space_id);
        return rec;
      },
  };
}

feed_publisher_actor::behavior_type publisher(feed_publisher_actor::pointer self,
                                              storage::store* st, feed_options opts) {
  // Shared with the workers, which may outlive this actor during a shutdown.
  auto shared = std::make_shared<const feed_options>(std::move(opts));
  auto spawn_worker = [self, st, shared] {
    return self->system().spawn<caf::detached>(worker, st, shared);
  };
  return {
      [=](publish_atom a, storage::publish_command& cmd) {
        return self->delegate(spawn_worker(), a, std::move(cmd));
      },
      [=](unpublish_atom a, storage::package_record& rec) {
        return self->delegate(spawn_worker(), a, std::move(rec));
      },
  };
}

}  // namespace

feed_publisher_actor spawn_feed_publisher(caf::actor_system& sys, storage::store& st,
                                          feed_options opts) {
  return sys.spawn(publisher, &st, std::move(opts));
}

}  // namespace octomig::actors
