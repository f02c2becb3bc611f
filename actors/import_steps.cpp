#include "actors/import_steps.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <optional>

#include "actors/step_support.hpp"
#include "events/time_format.hpp"
#include "migration/import_plan.hpp"
#include "package/package.hpp"
#include "runtime/clock.hpp"
#include "storage/packages.hpp"

namespace octomig::actors {

namespace json = boost::json;
namespace fs = std::filesystem;
namespace mig = octomig::migration;

// What the import's steps hand each other (task_workspace::import).
struct import_workspace {
  std::vector<mig::package_document> documents;  // sensitive values opened
  std::vector<std::string> task_ids;             // the package's history tasks, in package order
  std::map<std::string, json::object> tasks;     // source id -> its TaskResource
  std::map<std::string, std::vector<events::log_line>> logs;  // source task id -> its log
  std::vector<mig::left_out_entry> left_out;
  std::string source_installation;
  std::optional<storage::import_change> change;  // set by the plan
};

namespace {

// The task's arguments: the request as the route echoed it (Password blanked), defaults applied.
struct import_args {
  std::string feed_space, package_id, package_version;
  std::string space = "Spaces-1";  // where the documents go: the default space
  bool encrypted = false, dry_run = false, overwrite = false, delete_package = false;
};

import_args parse_args(const std::string& arguments_json) {
  import_args a;
  json::error_code ec;
  auto v = json::parse(arguments_json, ec);
  if (ec || !v.is_object()) return a;
  const auto& o = v.get_object();
  a.feed_space = string_field(o, "PackageFeedSpaceId");
  if (a.feed_space.empty()) a.feed_space = "Spaces-1";
  a.package_id = string_field(o, "PackageId");
  a.package_version = string_field(o, "PackageVersion");
  a.encrypted = flag_field(o, "IsEncryptedPackage");
  a.dry_run = flag_field(o, "IsDryRun");
  a.overwrite = flag_field(o, "OverwriteExisting");
  a.delete_package = flag_field(o, "DeletePackageOnCompletion");
  return a;
}

using step_body =
    std::function<step_outcome(const migration_services&, const step_context&, const import_args&,
                               const step_log&, caf::actor_system&)>;

step_spawner import_step(std::string name, std::shared_ptr<const migration_services> sv,
                         step_body body) {
  return blocking_step(
      std::move(name), {sv->pause_in_step, sv->pause_for},
      [sv, body](const step_context& ctx, const step_log& log, caf::actor_system& sys) {
        return body(*sv, ctx, parse_args(ctx.arguments_json), log, sys);
      });
}

std::string manifest_text(const json::object& m, const char* field) {
  return string_field(m, field);
}

// ---- Open package ----

// An error of the package reader as the task reports it.
step_outcome unreadable(const std::string& file, const error& e) {
  if (e.code == errc::corruption)
    return failed("The package " + file +
                  " is damaged or was changed after it was exported: " + e.message);
  // The reader's message names the file and says what is wrong with it.
  if (e.code == errc::invalid_argument)
    return failed("The package cannot be imported: " + e.message);
  return failed("The package " + file + " could not be read: " + e.message);
}

// A task log entry of the package: {"TaskId": .., "Lines": [{"Category","OccurredAt","Text"}]}.
result<std::vector<events::log_line>> log_lines(const std::string& id, const json::value& v) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::corruption, "the log of " + id + " " + why);
  };
  if (!v.is_object()) return bad("is not a JSON object");
  auto* lines = v.get_object().if_contains("Lines");
  if (!lines || !lines->is_array()) return bad("has no Lines array");
  std::vector<events::log_line> out;
  out.reserve(lines->get_array().size());
  for (const auto& l : lines->get_array()) {
    if (!l.is_object()) return bad("has a line that is not an object");
    const auto& o = l.get_object();
    events::log_line line;
    line.category = string_field(o, "Category");
    line.text = string_field(o, "Text");
    auto when = string_field(o, "OccurredAt");
    if (!when.empty() && !events::parse_octopus_date(when, line.occurred_at))
      return bad("has a line with an unreadable OccurredAt");
    out.push_back(std::move(line));
  }
  return out;
}

// Replaces every {"MigrationSealed":..} of a document by its plaintext, in the form a client
// sends a new value (a string), for the destination to seal with its own key.
status open_secrets(const package::reader& r, const mig::collection_schema& c, json::object& doc) {
  json::value v(std::move(doc));
  status st = ok_status();
  for (const auto& p : mig::sensitive_paths(c, v)) {
    json::value* at = mig::find_pointer(v, p.pointer);
    if (!at || !package::is_sealed_value(*at)) continue;
    auto plain = r.open_value(*at);
    if (!plain) {
      st = plain.err();
      break;
    }
    *at = json::string(*plain);
  }
  doc = std::move(v.as_object());
  return st;
}

step_outcome open_package(const migration_services& sv, const step_context& ctx,
                          const import_args& a, const step_log& log, caf::actor_system&) {
  auto& ws = *ctx.workspace;
  if (!ws.secrets || ws.secrets->password.empty())
    return failed(
        "The import's password is kept in memory only, and the server restarted after the "
        "import was queued. Request the import again.");
  auto rec = storage::get_package(*sv.store, a.feed_space, a.package_id, a.package_version);
  if (!rec) {
    if (rec.err().code == errc::not_found)
      return failed("The package " + a.package_id + " " + a.package_version +
                    " is not in this server's built-in feed (" + a.feed_space + ").");
    return failed("The built-in feed could not be read: " + rec.err().message);
  }
  const auto file = storage::package_path(sv.feed_root, *rec);
  const auto name = rec->file_name;
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  if (ec) return failed("The package " + name + " could not be read: " + ec.message());
  // A package's documents inflate to what JSON compresses to, never to a thousand times its size:
  // a bound well above the first and far below the second keeps a zip bomb out.
  package::reader_limits limits;
  limits.max_total_bytes = std::min<std::uint64_t>(
      limits.max_total_bytes, std::max<std::uint64_t>(256ull << 20, size * 200));
  auto opened = package::reader::open(file, limits, ctx.work_dir);
  if (!opened) return unreadable(name, opened.err());
  auto& r = **opened;
  const auto& m = r.manifest();
  // The same version on both sides, as Octopus requires of its migrator.
  const auto producer = manifest_text(m, "ProducerVersion");
  if (producer != sv.producer_version)
    return failed("The package was exported by octomig " + producer +
                  ", and this server runs octomig " + sv.producer_version +
                  ": the source and the destination must run the same version.");
  if (auto s = r.unlock(ws.secrets->password); !s) {
    if (s.err().code == errc::invalid_argument) return failed(s.err().message);
    return unreadable(name, s.err());
  }
  if (r.encrypted() != a.encrypted)
    return failed(r.encrypted()
                      ? "The package is encrypted, but IsEncryptedPackage is false: set "
                        "IsEncryptedPackage to true to import it."
                      : "The package is not encrypted, but IsEncryptedPackage is true: set "
                        "IsEncryptedPackage to false to import it.");
  if (auto s = r.verify_digests(); !s) return unreadable(name, s.err());
  log.info("Opened package " + name + " (" + mib(size) + "), exported by octomig " + producer +
           " at " + manifest_text(m, "CreatedAt") + (r.encrypted() ? ", encrypted" : ""));

  auto mine = std::make_shared<import_workspace>();
  mine->source_installation = manifest_text(m, "SourceInstallationId");
  std::map<std::string, std::uint64_t> counts;
  auto read = r.for_each_document(
      [&](const std::string& collection, const std::string& id, json::object doc) -> status {
        if (ctx.stop.requested()) return make_error(errc::unavailable, "stopped");
        if (collection == "ServerTasks") {
          mine->task_ids.push_back(id);
          mine->tasks.emplace(id, std::move(doc));
          return ok_status();
        }
        if (const auto* c = mig::find_collection(collection))
          if (auto s = open_secrets(r, *c, doc); !s) return s;
        ++counts[collection];
        mine->documents.push_back({collection, id, std::move(doc)});
        return ok_status();
      });
  if (!read) {
    if (ctx.stop.requested()) return stopped();
    return unreadable(name, read.err());
  }
  auto logs = r.for_each_task_log([&](const std::string& id, json::value v) -> status {
    if (ctx.stop.requested()) return make_error(errc::unavailable, "stopped");
    auto lines = log_lines(id, v);
    if (!lines) return lines.err();
    mine->logs[id] = std::move(*lines);
    return ok_status();
  });
  if (!logs) {
    if (ctx.stop.requested()) return stopped();
    return unreadable(name, logs.err());
  }
  if (auto* lo = m.if_contains("LeftOut"); lo && lo->is_array())
    for (const auto& e : lo->get_array())
      if (e.is_object())
        mine->left_out.push_back(
            {string_field(e.get_object(), "Collection"), string_field(e.get_object(), "Id"),
             string_field(e.get_object(), "Name"), string_field(e.get_object(), "Flag")});
  for (const auto& c : mig::collections())
    if (auto it = counts.find(c.name); it != counts.end())
      log.info(count_line(c.item_type, it->second));
  if (!mine->task_ids.empty()) log.info(count_line("Task", mine->task_ids.size()));
  if (!mine->logs.empty()) log.info(count_line("TaskLog", mine->logs.size()));
  step_outcome out;
  out.summary = std::to_string(mine->documents.size()) + " documents, " +
                std::to_string(mine->task_ids.size()) + " tasks";
  ws.import = std::move(mine);
  return out;
}

// ---- Plan import ----

// The destination as the plan reads it: one snapshot of the documents, and task numbers set
// aside by the supervisor for a real import (a dry run only looks).
class store_destination final : public mig::destination_view {
 public:
  using numbers_fn = std::function<result<std::uint64_t>(std::uint64_t)>;
  store_destination(const migration_services& sv, std::unique_ptr<mig::document_source> snap,
                    std::string installation, numbers_fn first_task_number)
      : sv_(sv),
        snap_(std::move(snap)),
        installation_(std::move(installation)),
        first_task_number_(std::move(first_task_number)) {}

  result<std::optional<std::string>> id_by_name(const std::string& space,
                                                const std::string& collection,
                                                const std::string& owner_id,
                                                const std::string& name) const override {
    return snap_->id_by_name(space, collection, owner_id, name);
  }
  result<bool> exists(const std::string& space, const std::string& collection,
                      const std::string& id) const override {
    auto d = snap_->get_revealed(space, collection, id);
    if (!d) return d.err();
    return d->has_value();
  }
  result<std::uint64_t> counter(const std::string& collection) const override {
    return sv_.documents->counter(collection);
  }
  result<std::optional<std::string>> imported_as(const std::string& source_id) const override {
    if (installation_.empty()) return std::optional<std::string>();
    return sv_.documents->imported_as(installation_, source_id);
  }
  result<bool> task_exists(const std::string& id) const override {
    auto t = sv_.store->task(id);
    if (t) return true;
    if (t.err().code == errc::not_found) return false;
    return t.err();
  }
  result<std::uint64_t> first_task_number(std::uint64_t count) const override {
    return first_task_number_(count);
  }

 private:
  const migration_services& sv_;
  std::unique_ptr<mig::document_source> snap_;
  std::string installation_;
  numbers_fn first_task_number_;
};

// n task numbers set aside for the running task by the supervisor (the step's sink).
result<std::uint64_t> reserve_task_numbers(caf::actor_system& sys, const step_context& ctx,
                                           std::uint64_t n) {
  caf::scoped_actor self{sys};
  result<std::uint64_t> out = make_error(errc::unavailable, "no answer");
  self->request(ctx.sink, std::chrono::seconds(30), reserve_atom::value, ctx.task_id, n)
      .receive([&](result<std::uint64_t>& r) { out = std::move(r); },
               [&](caf::error& e) {
                 out = make_error(errc::unavailable,
                                  "task numbers could not be set aside: " + to_string(e));
               });
  return out;
}

events::task_status status_named(const std::string& s) {
  using events::task_status;
  for (auto st :
       {task_status::queued, task_status::executing, task_status::failed, task_status::canceled,
        task_status::timed_out, task_status::success, task_status::cancelling})
    if (s == events::to_string(st)) return st;
  return task_status::none;
}

// A history task of the package as this server records it.
events::task_recorded recorded_task(const json::object& t, const std::string& space,
                                    std::vector<events::log_line> log) {
  events::task_recorded r;
  r.name = string_field(t, "Name");
  r.description = string_field(t, "Description");
  r.space_id = space;
  if (auto* args = t.if_contains("Arguments"); args && args->is_object())
    r.arguments_json = json::serialize(*args);
  r.final_state = status_named(string_field(t, "State"));
  r.error_message = string_field(t, "ErrorMessage");
  if (!events::is_completed(r.final_state)) {
    // History is finished work: a task exported while it ran is recorded as failed.
    r.final_state = events::task_status::failed;
    r.error_message = "The task had not finished when it was exported.";
  }
  auto when = [&](const char* field) {
    events::timestamp_us us = 0;
    auto text = string_field(t, field);
    if (!text.empty() && !events::parse_octopus_date(text, us)) us = 0;
    return us;
  };
  r.queue_time = when("QueueTime");
  r.start_time = when("StartTime");
  r.completed_time = when("CompletedTime");
  r.has_warnings_or_errors = flag_field(t, "HasWarningsOrErrors");
  r.log = std::move(log);
  return r;
}

// Problems as the task log lists them (Octopus: one error line each, then the count), and the
// failure that ends the task.
step_outcome refuse(const step_log& log, const std::vector<std::string>& problems) {
  constexpr std::size_t shown = 100;
  for (std::size_t i = 0; i < problems.size() && i < shown; ++i) log.line("Error", problems[i]);
  if (problems.size() > shown)
    log.line("Error", "... and " + std::to_string(problems.size() - shown) + " more");
  log.line("Error", std::to_string(problems.size()) + " errors were encountered");
  log.line("Error", "The transaction will be rolled back: nothing was imported");
  return failed("The import found " + std::to_string(problems.size()) +
                " problem(s), and nothing was written. " + problems.front() +
                (problems.size() > 1 ? " (see the task log for the others)" : ""));
}

step_outcome plan(const migration_services& sv, const step_context& ctx, const import_args& a,
                  const step_log& log, caf::actor_system& sys) {
  auto& ws = *ctx.workspace;
  if (!ws.import) return failed("There is nothing to plan: the package was not opened.");
  auto& in = *ws.import;
  store_destination::numbers_fn numbers;
  if (a.dry_run)  // only looks: the numbers shown are the ones free now
    numbers = [&sv](std::uint64_t) -> result<std::uint64_t> {
      auto h = sv.store->highest_task_number();
      if (!h) return h.err();
      return *h + 1;
    };
  else
    numbers = [&sys, &ctx](std::uint64_t n) { return reserve_task_numbers(sys, ctx, n); };
  store_destination dest(sv, sv.documents->snapshot(), in.source_installation, numbers);
  mig::import_options o;
  o.space_id = a.space;
  o.overwrite = a.overwrite;
  auto planned = mig::plan_import(std::move(in.documents), in.task_ids, in.left_out, dest, o,
                                  [&ctx] { return ctx.stop.requested(); });
  in.documents.clear();
  if (!planned) {
    if (ctx.stop.requested()) return stopped();
    return failed("The import could not be planned: " + planned.err().message);
  }
  auto& p = *planned;
  if (!p.problems.empty()) return refuse(log, p.problems);

  // Per document, what becomes of it and why; per collection, the counts.
  std::map<std::string, events::import_count> counts;
  storage::import_change change;
  change.space_id = a.space;
  change.source_installation = in.source_installation;
  change.counters = p.counters;
  for (auto& d : p.documents) {
    const auto& c = *mig::find_collection(d.collection);
    auto& n = counts[d.collection];
    n.collection = d.collection;
    const std::string label =
        c.item_type + (d.name.empty() ? "" : " '" + d.name + "'") + " (" + d.source_id;
    switch (d.action) {
      case mig::import_action::create:
        ++n.created;
        log.info("Create " + label + " -> " + d.id + ")");
        break;
      case mig::import_action::overwrite:
        ++n.overwritten;
        log.info("Overwrite " + label + " -> " + d.id + "): " + d.reason);
        break;
      case mig::import_action::skip:
        ++n.skipped;
        log.info("Skip " + label + "): " + d.reason);
        break;
    }
    if (d.action == mig::import_action::skip) continue;
    // Documents without a name are found again by where they came from.
    if (c.name_field.empty() && c.ids == mig::id_style::counter)
      change.provenance.emplace_back(d.source_id, d.id);
    change.documents.push_back(
        {d.collection, d.id, d.action == mig::import_action::overwrite, std::move(d.body)});
  }
  std::uint64_t tasks_created = 0, tasks_skipped = 0;
  const auto now = runtime::now_us();
  for (const auto& t : p.tasks) {
    if (t.action == mig::import_action::skip) {
      ++tasks_skipped;
      log.info("Skip Task " + t.source_id + ": " + t.reason);
      continue;
    }
    ++tasks_created;
    log.info("Create Task " + t.source_id + " -> " + t.id);
    auto lines = in.logs.find(t.source_id);
    auto rec = recorded_task(
        mig::remap_task(p, std::move(in.tasks.at(t.source_id))), a.space,
        lines == in.logs.end() ? std::vector<events::log_line>() : std::move(lines->second));
    change.tasks.push_back({t.id, 0, {std::move(rec)}, now});
    change.provenance.emplace_back(t.source_id, t.id);
  }
  in.tasks.clear();
  in.logs.clear();

  // The store's own checks (names, references, validation), as the commit will make them.
  auto problems = sv.documents->check_import(change);
  if (!problems) return failed("The import could not be checked: " + problems.err().message);
  if (!problems->empty()) return refuse(log, *problems);

  events::import_planned fact;
  fact.tasks = tasks_created;
  fact.left_out_resolved = p.left_out_resolved;
  fact.dry_run = a.dry_run;
  std::uint64_t created = 0, overwritten = 0, skipped = 0;
  for (const auto& c : mig::collections()) {
    auto it = counts.find(c.name);
    if (it == counts.end()) continue;
    const auto& n = it->second;
    created += n.created;
    overwritten += n.overwritten;
    skipped += n.skipped;
    fact.counts.push_back(n);
    if (a.dry_run)
      log.info(count_line(c.item_type, "create " + std::to_string(n.created) + ", overwrite " +
                                           std::to_string(n.overwritten) + ", skip " +
                                           std::to_string(n.skipped)));
  }
  if (a.dry_run) {
    if (!p.tasks.empty())
      log.info(count_line("Task", "create " + std::to_string(tasks_created) +
                                      ", overwrite 0, skip " + std::to_string(tasks_skipped)));
    log.info("Totals: create " + std::to_string(created) + ", overwrite " +
             std::to_string(overwritten) + ", skip " + std::to_string(skipped) + ", tasks " +
             std::to_string(tasks_created) + " (dry run: nothing was written)");
  }
  for (const auto& d : p.dropped) log.warn(d);
  if (p.left_out_resolved > 0)
    log.info(std::to_string(p.left_out_resolved) +
             " reference(s) the export left out were found on this server by name");
  in.change = std::move(change);
  step_outcome out;
  out.summary = std::to_string(created) + " to create, " + std::to_string(overwritten) +
                " to overwrite, " + std::to_string(skipped) + " to skip";
  out.facts.push_back(std::move(fact));
  return out;
}

// ---- Commit import ----

step_outcome commit(const migration_services& sv, const step_context& ctx, const import_args& a,
                    const step_log& log, caf::actor_system&) {
  auto& ws = *ctx.workspace;
  if (a.dry_run) {
    log.info("Dry run: nothing was written");
    step_outcome out;
    out.summary = "dry run: nothing written";
    return out;
  }
  const auto* planned = find_fact<events::import_planned>(ctx.facts);
  if (!ws.import || !ws.import->change || !planned)
    return failed("There is nothing to commit: the import was not planned.");
  events::import_committed fact{0, 0, 0, planned->tasks};
  for (const auto& n : planned->counts) {
    fact.created += n.created;
    fact.overwritten += n.overwritten;
    fact.skipped += n.skipped;
  }
  auto& change = *ws.import->change;
  log.info("Writing " + std::to_string(change.documents.size()) + " documents and " +
           std::to_string(change.tasks.size()) + " tasks in one transaction");
  // Written by the supervisor with this step's end: the documents, the history tasks and the fact
  // import_committed in one batch.
  ws.write_with_step_end = sv.documents->stage_import(std::move(change));
  ws.import->change.reset();
  step_outcome out;
  out.summary = std::to_string(fact.created) + " created, " + std::to_string(fact.overwritten) +
                " overwritten, " + std::to_string(fact.skipped) + " skipped";
  out.facts.push_back(fact);
  return out;
}

// ---- Finish import ----

step_outcome finish(const migration_services& sv, const step_context& ctx, const import_args& a,
                    const step_log& log, caf::actor_system&) {
  step_outcome out;
  const auto* planned = find_fact<events::import_planned>(ctx.facts);
  const auto* committed = find_fact<events::import_committed>(ctx.facts);
  if (a.dry_run || !planned || !committed) {
    out.summary = "dry run";
    return out;
  }
  for (const auto& n : planned->counts)
    log.info(count_line(mig::find_collection(n.collection)->item_type,
                        "created " + std::to_string(n.created) + ", overwritten " +
                            std::to_string(n.overwritten) + ", skipped " +
                            std::to_string(n.skipped)));
  log.info("Totals: created " + std::to_string(committed->created) + ", overwritten " +
           std::to_string(committed->overwritten) + ", skipped " +
           std::to_string(committed->skipped) + ", tasks " + std::to_string(committed->tasks));
  out.summary = "imported";
  if (!a.delete_package) return out;
  auto rec = storage::get_package(*sv.store, a.feed_space, a.package_id, a.package_version);
  status deleted = rec ? storage::delete_package(*sv.store, sv.feed_root, *rec) : status(rec.err());
  if (!deleted) {
    // The documents are in: the import succeeded, with a warning.
    log.warn("The package " + a.package_id + " " + a.package_version +
             " could not be deleted from the built-in feed: " + deleted.err().message);
    return out;
  }
  out.facts.push_back(events::package_deleted{a.feed_space, rec->package_id, rec->version});
  return out;
}

}  // namespace

pipeline import_pipeline(std::shared_ptr<const migration_services> services) {
  pipeline p;
  p.needs_maintenance = true;
  p.steps = {{"Open package", import_step("Open package", services, open_package)},
             {"Plan import", import_step("Plan import", services, plan)},
             {"Commit import", import_step("Commit import", services, commit)},
             {"Finish import", import_step("Finish import", services, finish)}};
  p.after_end = request_callbacks;
  p.interrupted_message = [](const std::vector<events::event_body>& facts) -> std::string {
    if (find_fact<events::import_committed>(facts))
      return "The Octopus Server restarted after this import was committed: its documents and "
             "tasks are in place, and an import of the same package again skips them.";
    return "The Octopus Server restarted while this import was running, before anything was "
           "written. Run the import again.";
  };
  return p;
}

}  // namespace octomig::actors
