#include "actors/export_steps.hpp"

#include "actors/step_support.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "events/json.hpp"
#include "events/time_format.hpp"
#include "migration/closure.hpp"
#include "outbound/outbound.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "storage/packages.hpp"

namespace octomig::actors {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
namespace mig = octomig::migration;

// The task's arguments: the request as the route echoed it (secrets blanked), defaults applied.
struct export_args {
  std::string space_id, package_id, package_version, destination, destination_space;
  std::vector<std::string> projects;
  mig::ignore_flags ignored;
  bool include_task_logs = false, encrypt = false;
  json::object as_json;
};

export_args parse_args(const std::string& arguments_json) {
  export_args a;
  json::error_code ec;
  auto v = json::parse(arguments_json, ec);
  if (ec || !v.is_object()) return a;
  const auto& o = v.get_object();
  a.space_id = string_field(o, "SpaceId");
  a.package_id = string_field(o, "PackageId");
  a.package_version = string_field(o, "PackageVersion");
  a.destination = string_field(o, "DestinationPackageFeed");
  a.destination_space = string_field(o, "DestinationPackageFeedSpaceId");
  if (auto* p = o.if_contains("Projects"); p && p->is_array())
    for (const auto& n : p->get_array())
      if (n.is_string()) a.projects.emplace_back(n.get_string());
  for (const char* f :
       {"IgnoreCertificates", "IgnoreMachines", "IgnoreDeployments", "IgnoreTenants"})
    if (flag_field(o, f)) a.ignored.insert(f);
  a.include_task_logs = flag_field(o, "IncludeTaskLogs");
  a.encrypt = flag_field(o, "EncryptPackage");
  a.as_json = o;
  return a;
}

using step_body = std::function<step_outcome(const migration_services&, const step_context&,
                                             const export_args&, const step_log&)>;

step_spawner export_step(std::string name, std::shared_ptr<const migration_services> sv,
                         step_body body) {
  return blocking_step(
      std::move(name), {sv->pause_in_step, sv->pause_for},
      [sv, body](const step_context& ctx, const step_log& log, caf::actor_system&) {
        return body(*sv, ctx, parse_args(ctx.arguments_json), log);
      });
}

// ---- Collect documents ----

step_outcome collect(const migration_services& sv, const step_context& ctx, const export_args& a,
                     const step_log& log) {
  auto& ws = *ctx.workspace;
  if (!ws.secrets || ws.secrets->password.empty())
    return failed(
        "The export's password is kept in memory only, and the server restarted after the export "
        "was queued. Request the export again.");
  std::shared_ptr<const mig::document_source> snap = sv.documents->snapshot();
  std::vector<std::string> ids;
  for (const auto& name : a.projects) {
    auto id = snap->id_by_name(a.space_id, "Projects", "", name);
    if (!id) return failed("The projects could not be read: " + id.err().message);
    if (!*id) return failed("The project '" + name + "' no longer exists in " + a.space_id + ".");
    ids.push_back(**id);
  }
  log.info("Collecting " + std::to_string(ids.size()) + " project(s) and what they need from " +
           a.space_id);
  auto closure = mig::collect_closure(*snap, a.space_id, ids, a.ignored,
                                      [&ctx] { return ctx.stop.requested(); });
  if (!closure) {
    if (ctx.stop.requested()) return stopped();
    return failed("The documents to export could not be collected: " + closure.err().message);
  }
  events::documents_collected fact;
  for (const auto& ref : closure->documents) {
    if (fact.counts.empty() || fact.counts.back().collection != ref.collection)
      fact.counts.push_back({ref.collection, 0});
    ++fact.counts.back().count;
  }
  for (const auto& c : fact.counts)
    log.info(count_line(mig::find_collection(c.collection)->item_type, c.count));
  if (!closure->task_ids.empty()) log.info(count_line("Task", closure->task_ids.size()));
  fact.task_logs = a.include_task_logs ? closure->task_ids.size() : 0;
  fact.left_out = closure->left_out.size();
  std::size_t shown = 0;
  for (const auto& l : closure->left_out) {
    if (++shown > 20) {
      log.info("... and " + std::to_string(closure->left_out.size() - 20) + " more");
      break;
    }
    log.info("Left to the destination (" + l.flag + "): " + l.collection + " '" + l.name + "' (" +
             l.id + "), referenced by " + l.referenced_by.id);
  }
  ws.snapshot = std::move(snap);
  ws.closure = std::make_shared<mig::export_closure>(std::move(*closure));
  step_outcome out;
  out.summary = std::to_string(ws.closure->documents.size()) + " documents, " +
                std::to_string(ws.closure->task_ids.size()) + " tasks";
  out.facts.push_back(std::move(fact));
  return out;
}

// ---- Build package ----

json::value task_log_json(const std::string& id, const std::vector<events::log_line>& lines) {
  json::array out;
  out.reserve(lines.size());
  for (const auto& l : lines)
    out.push_back(json::object{{"Category", l.category},
                               {"OccurredAt", events::octopus_date(l.occurred_at)},
                               {"Text", l.text}});
  return json::object{{"TaskId", id}, {"Lines", std::move(out)}};
}

step_outcome build(const migration_services& sv, const step_context& ctx, const export_args& a,
                   const step_log& log) {
  auto& ws = *ctx.workspace;
  if (!ws.snapshot || !ws.closure || !ws.secrets)
    return failed("The package cannot be built: the documents were not collected.");
  package::writer_options o;
  o.file = fs::path(ctx.work_dir) / (a.package_id + "." + a.package_version + ".zip");
  o.package_id = a.package_id;
  o.package_version = a.package_version;
  o.producer_version = sv.producer_version;
  o.source_installation_id = sv.installation_id;
  o.encrypt = a.encrypt;
  o.options = a.as_json;
  o.kdf = sv.kdf;
  if (sv.package_write_limit > 0) {
    auto written = std::make_shared<std::uint64_t>(0);
    o.before_write = [written, limit = sv.package_write_limit](std::size_t n) -> status {
      if (*written + n > limit)
        return make_error(errc::io_error, "cannot write the package: No space left on device");
      *written += n;
      return ok_status();
    };
  }
  auto w = package::writer::create(o, ws.secrets->password);
  if (!w) return failed("The package could not be created: " + w.err().message);
  const auto& closure = *ws.closure;
  for (const auto& ref : closure.documents) {
    if (ctx.stop.requested()) return stopped();
    auto doc = ws.snapshot->get_revealed(a.space_id, ref.collection, ref.id);
    if (!doc) return failed("The document " + ref.id + " could not be read: " + doc.err().message);
    if (!*doc) return failed("The document " + ref.id + " vanished from the snapshot.");
    auto added =
        (*w)->add_document(*mig::find_collection(ref.collection), ref.id, std::move(**doc));
    if (!added) return failed("The package could not be written: " + added.err().message);
  }
  const auto* tasks = mig::find_collection("ServerTasks");
  std::size_t missing_tasks = 0;
  for (const auto& id : closure.task_ids) {
    if (ctx.stop.requested()) return stopped();
    auto t = sv.store->task(id);
    if (!t && t.err().code == errc::not_found) {
      ++missing_tasks;
      continue;
    }
    if (!t) return failed("The task " + id + " could not be read: " + t.err().message);
    auto added = (*w)->add_document(*tasks, id, events::to_json(*t, runtime::now_us()));
    if (!added) return failed("The package could not be written: " + added.err().message);
    if (!a.include_task_logs) continue;
    auto lines = sv.store->task_log(id);
    if (!lines) return failed("The log of " + id + " could not be read: " + lines.err().message);
    auto logged = (*w)->add_task_log(id, task_log_json(id, *lines));
    if (!logged) return failed("The package could not be written: " + logged.err().message);
  }
  if (missing_tasks > 0)
    log.warn(std::to_string(missing_tasks) +
             " deployment task(s) are not in this server's task history; their deployments are "
             "exported without them.");
  json::array left_out;
  for (const auto& l : closure.left_out)
    left_out.push_back(json::object{
        {"Collection", l.collection},
        {"Id", l.id},
        {"Name", l.name},
        {"Flag", l.flag},
        {"ReferencedBy",
         json::object{{"Collection", l.referenced_by.collection}, {"Id", l.referenced_by.id}}}});
  (*w)->set_left_out(std::move(left_out));
  auto done = (*w)->finish();
  if (!done) return failed("The package could not be written: " + done.err().message);
  // The snapshot is no longer needed: let RocksDB drop what it kept for it.
  ws.snapshot.reset();
  ws.package_sha1 = done->sha1;
  const auto name = done->file.filename().string();
  log.info("Created package " + name + ": " + mib(done->size_bytes) + " (" +
           std::to_string(done->size_bytes) + " bytes), SHA-256 " + done->sha256 +
           (done->encrypted ? ", encrypted" : ""));
  step_outcome out;
  out.summary = name + ", " + std::to_string(done->size_bytes) + " bytes";
  out.facts.push_back(events::package_built{name, done->size_bytes, done->sha256, done->encrypted});
  return out;
}

// ---- Push package ----

step_outcome publish_locally(const migration_services& sv, const step_context& ctx,
                             const export_args& a, const events::package_built& built,
                             const step_log& log) {
  auto identity = storage::parse_package_file_name(built.file_name);
  if (!identity)
    return failed("The package's name is not one the feed accepts: " + identity.err().message);
  auto writer = storage::package_writer::create(sv.feed_root);
  if (!writer)
    return failed("The package could not be staged in the feed: " + writer.err().message);
  std::ifstream in(fs::path(ctx.work_dir) / built.file_name, std::ios::binary);
  if (!in) return failed("The package file could not be read.");
  std::vector<char> buf(storage::package_writer::write_chunk);
  while (in) {
    if (ctx.stop.requested()) return stopped();
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() <= 0) break;
    if (auto s = (*writer)->write(buf.data(), static_cast<std::size_t>(in.gcount())); !s)
      return failed("The package could not be staged in the feed: " + s.err().message);
  }
  if (in.bad()) return failed("The package file could not be read.");
  storage::publish_command cmd;
  cmd.space_id = a.space_id;
  cmd.identity = *identity;
  cmd.mode = storage::overwrite_mode::fail_if_exists;
  cmd.published = runtime::now_us();
  cmd.writer = std::shared_ptr<storage::package_writer>(std::move(*writer));
  auto published = storage::publish_package(*sv.store, sv.feed_root, std::move(cmd));
  if (!published) {
    if (published.err().code == errc::conflict)
      return failed("A package " + a.package_id + " " + a.package_version +
                    " is already in this server's feed: choose another PackageVersion, or "
                    "delete that package first.");
    return failed("The package could not be published in this server's feed: " +
                  published.err().message);
  }
  log.info("No destination was given: published " + built.file_name + " in this server's feed (" +
           a.space_id + ")");
  step_outcome out;
  out.summary = "published in this server's feed";
  out.facts.push_back(events::package_published_locally{a.space_id, a.package_id, a.package_version,
                                                        built.size_bytes});
  return out;
}

step_outcome push(const migration_services& sv, const step_context& ctx, const export_args& a,
                  const step_log& log) {
  const auto* built = find_fact<events::package_built>(ctx.facts);
  if (!built) return failed("There is no package to push: it was not built.");
  if (a.destination.empty()) return publish_locally(sv, ctx, a, *built, log);
  auto& ws = *ctx.workspace;
  const fs::path file = fs::path(ctx.work_dir) / built->file_name;
  const auto where = outbound::redact_url(a.destination);
  log.info("Pushing the package to the destination feed " + where + " (" + a.destination_space +
           ")");
  outbound::push_request r;
  r.base_url = a.destination;
  r.space_id = a.destination_space;
  r.api_key = ws.secrets ? ws.secrets->destination_api_key : std::string();
  r.file = file;
  r.file_name = built->file_name;
  r.package_id = a.package_id;
  r.version = a.package_version;
  r.sha1_hex = ws.package_sha1;
  r.tls.ca_file = sv.ca_file;
  r.max_attempts = sv.push_attempts;
  r.first_backoff = sv.push_first_backoff;
  r.stop = ctx.stop.flag();
  r.progress = [&log](std::uint64_t sent, std::uint64_t total) {
    auto pct = total == 0 ? 100 : static_cast<int>(sent * 100 / total);
    log.info("Uploaded " + mib(sent) + " of " + mib(total) + " (" + std::to_string(pct) + "%)");
  };
  r.on_retry = [&log](int attempt, const std::string& reason) {
    log.line("Warning",
             "Push attempt " + std::to_string(attempt) + " failed: " + reason + "; trying again");
  };
  auto pushed = outbound::push_package(r);
  if (!pushed) {
    if (ctx.stop.requested()) return stopped();
    return failed(pushed.err().message);
  }
  log.info("Pushed " + built->file_name + " to " + where + " in " +
           std::to_string(pushed->attempts) + " attempt(s)" +
           (pushed->already_there ? " (it was there already, with the same SHA-1)" : ""));
  step_outcome out;
  out.summary = "pushed to " + where;
  out.facts.push_back(events::package_pushed{where, a.destination_space, built->size_bytes,
                                             static_cast<std::uint32_t>(pushed->attempts),
                                             pushed->already_there});
  return out;
}

}  // namespace

pipeline partial_export_pipeline(std::shared_ptr<const migration_services> services) {
  pipeline p;
  p.needs_maintenance = true;
  p.steps = {{"Collect documents", export_step("Collect documents", services, collect)},
             {"Build package", export_step("Build package", services, build)},
             {"Push package", export_step("Push package", services, push)}};
  p.after_end = request_callbacks;
  return p;
}

}  // namespace octomig::actors
