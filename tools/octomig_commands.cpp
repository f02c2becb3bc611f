// The commands. migrate is export, wait, import as a dry run, wait, show the plan, ask, import,
// wait, show what was done; the others are its parts on their own. Every task is followed the
// same way (follow): GET /api/tasks/{id} until IsCompleted, with the details' last log line for
// the progress display.
#include "tools/octomig_commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/ascii.hpp"
#include "tools/octomig_http.hpp"
#include "tools/octomig_output.hpp"
#include "tools/octomig_summary.hpp"

namespace octomig::cli {
namespace json = boost::json;

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto default_timeout = 3600s;
// A poll is one small GET: four a second at most costs a server nothing, and a migration's three
// tasks then end at most a quarter of a second before the client sees it.
constexpr auto first_poll_interval = 100ms;
constexpr auto max_poll_interval = 250ms;
constexpr int max_transient_failures = 5;  // in a row, while polling
constexpr const char* export_route = "/api/migrations/partialexport";
constexpr const char* import_route = "/api/migrations/import";
constexpr const char* default_package_id = "Octopus.Space.Migration";

// What a command shares with the helpers below, and what --json prints at the end.
struct run_state {
  const invocation& inv;
  bool json = false;
  progress prog;
  std::chrono::seconds timeout;
  json::object report;
  json::array tasks;  // every task started or followed, in order

  // Text for stdout; with --json stdout holds only the report.
  void say(const std::string& text) const {
    if (!json) std::cout << text << std::flush;
  }
};

// A followed task as its last poll saw it.
struct task_end {
  std::string label;
  std::string id;
  std::string state;
  std::string error_message;
  bool completed = false;
};

std::string text_field(const json::value& v, const char* key) {
  if (!v.is_object()) return {};
  auto* f = v.get_object().if_contains(key);
  return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

// "1.0.0-" and 8 random lower-case letters: a valid SemVer pre-release the import can name.
std::string random_version() {
  std::random_device rd;
  std::uniform_int_distribution<int> letter(0, 25);
  std::string v = "1.0.0-";
  for (int i = 0; i < 8; ++i) v += static_cast<char>('a' + letter(rd));
  return v;
}

secret_source key_source(const char* what, const invocation& inv, const char* file_option,
                         std::vector<const char*> env) {
  return secret_source{what, inv.text(file_option), file_option, std::move(env), true};
}

outcome<secret> password(const invocation& inv) {
  return load_secret(secret_source{"the package password",
                                   inv.text("--password-file"),
                                   "--password-file",
                                   {"OCTOMIG_PASSWORD"},
                                   false});
}

// --ca-file is checked before any request, so that a typo is a usage error and not a TLS one.
status check_ca_file(const invocation& inv) {
  const auto f = inv.text("--ca-file");
  if (f.empty() || std::ifstream(f).good()) return done();
  return fail(exit_code::usage, "cannot read --ca-file '" + f + "'");
}

std::string follow_hint(const server& s, const std::string& id) {
  return "'octomig task wait " + id + " --server " + s.shown_url() + "'";
}

// The step a task runs and its latest log line, from GET /api/tasks/{id}/details?tail=1.
void read_progress(const json::value& details, task_view& v) {
  const json::value* logs =
      details.is_object() ? details.get_object().if_contains("ActivityLogs") : nullptr;
  if (!logs || !logs->is_array() || logs->get_array().empty()) return;
  const auto& activity = logs->get_array().front();
  v.step = text_field(activity, "ProgressMessage");
  const json::value* elements =
      activity.is_object() ? activity.get_object().if_contains("LogElements") : nullptr;
  if (elements && elements->is_array() && !elements->get_array().empty())
    v.last_line = text_field(elements->get_array().back(), "MessageText");
}

// Polls the task until it completes or timeout passes (completed is false then), showing it on
// p. Up to max_transient_failures polls in a row may go unanswered (or answered 5xx).
outcome<task_end> follow(server& s, const std::string& label, const std::string& id,
                         std::chrono::seconds timeout, progress& p) {
  const auto start = clock_type::now();
  const auto deadline = start + timeout;
  auto interval = std::chrono::duration_cast<clock_type::duration>(first_poll_interval);
  int failures = 0;
  task_view view{label, id, {}, {}, {}, {}};
  while (true) {
    auto task = s.get_json("/api/tasks/" + id);
    view.elapsed = clock_type::now() - start;
    if (!task) {
      if (!task.err().transient || ++failures > max_transient_failures ||
          clock_type::now() >= deadline) {
        p.close();
        return task.err();
      }
    } else {
      failures = 0;
      view.state = text_field(*task, "State");
      if (view.state.empty()) {
        p.close();
        return fail(exit_code::unavailable, "the " + s.role() + " " + s.shown_url() +
                                                " answered GET /api/tasks/" + id +
                                                " with no task State");
      }
      bool completed =
          view.state != "Queued" && view.state != "Executing" && view.state != "Cancelling";
      if (auto* c = task->is_object() ? task->get_object().if_contains("IsCompleted") : nullptr;
          c && c->is_bool())
        completed = c->get_bool();
      if (completed) {
        p.finish(view);
        return task_end{label, id, view.state, text_field(*task, "ErrorMessage"), true};
      }
      // The step and the latest line only decorate the display: a failure here is no failure.
      if (auto details = s.get_json("/api/tasks/" + id + "/details?tail=1"); details)
        read_progress(*details, view);
      p.show(view);
    }
    const auto now = clock_type::now();
    if (now >= deadline) {
      p.finish(view);
      return task_end{label, id, view.state, {}, false};
    }
    std::this_thread::sleep_for(std::min(interval, deadline - now));
    interval = std::min<clock_type::duration>(interval * 3 / 2, max_poll_interval);
  }
}

json::object task_json(const task_end& t) {
  return json::object{{"Role", t.label},
                      {"TaskId", t.id},
                      {"State", t.state},
                      {"IsCompleted", t.completed},
                      {"ErrorMessage", t.error_message}};
}

// Follows the task, records it in the report, and fails unless it ended in Success.
outcome<task_end> follow_to_success(run_state& st, server& s, const std::string& label,
                                    const std::string& id) {
  auto end = follow(s, label, id, st.timeout, st.prog);
  if (!end) return end.err();
  st.tasks.push_back(task_json(*end));
  if (!end->completed)
    return fail(exit_code::task_failed, label + " " + id + " did not complete within " +
                                            std::to_string(st.timeout.count()) +
                                            " s; it is still " + end->state + " on the " +
                                            s.role() + " (" + follow_hint(s, id) + " follows it)");
  if (end->state != "Success")
    return fail(exit_code::task_failed,
                label + " " + id + " ended " + end->state +
                    (end->error_message.empty() ? "" : ": " + end->error_message) +
                    "\n  its log: 'octomig task log " + id + " --server " + s.shown_url() + "'");
  return end;
}

// Posts a request that queues a task, then follows it to Success.
outcome<task_end> run_task(run_state& st, server& s, const std::string& label, const char* route,
                           const json::object& body) {
  auto echo = s.post_json(route, body);
  if (!echo) return echo.err();
  const auto id = text_field(*echo, "TaskId");
  if (!is_task_id(id))
    return fail(exit_code::unavailable, "the " + s.role() + " " + s.shown_url() +
                                            " answered POST " + route + " without a TaskId");
  return follow_to_success(st, s, label, id);
}

// Every log element, through nested activities, in order.
void collect_lines(const json::value& activity, std::vector<const json::object*>& out) {
  if (!activity.is_object()) return;
  const auto& a = activity.get_object();
  if (auto* e = a.if_contains("LogElements"); e && e->is_array())
    for (const auto& line : e->get_array())
      if (line.is_object()) out.push_back(&line.get_object());
  if (auto* c = a.if_contains("Children"); c && c->is_array())
    for (const auto& child : c->get_array()) collect_lines(child, out);
}

outcome<json::value> task_details(server& s, const std::string& id) {
  return s.get_json("/api/tasks/" + id + "/details");
}

std::vector<const json::object*> log_elements(const json::value& details) {
  std::vector<const json::object*> out;
  if (!details.is_object()) return out;
  if (auto* logs = details.get_object().if_contains("ActivityLogs"); logs && logs->is_array())
    for (const auto& activity : logs->get_array()) collect_lines(activity, out);
  return out;
}

outcome<import_summary> read_summary(server& s, const std::string& id, bool dry_run) {
  auto details = task_details(s, id);
  if (!details) return details.err();
  std::vector<std::string> lines;
  for (const auto* e : log_elements(*details)) lines.push_back(text_field(*e, "MessageText"));
  return parse_import_log(lines, dry_run);
}

json::object export_body(const invocation& inv, const std::string& package_id,
                         const std::string& version, const secret& password) {
  json::array projects;
  for (const auto& p : inv.list("--project")) projects.emplace_back(p);
  return json::object{{"PackageId", package_id},
                      {"PackageVersion", version},
                      {"Password", password.reveal()},
                      {"Projects", std::move(projects)},
                      {"EncryptPackage", inv.has("--encrypt")},
                      {"IncludeTaskLogs", inv.has("--include-task-logs")},
                      {"IgnoreCertificates", inv.has("--ignore-certificates")},
                      {"IgnoreMachines", inv.has("--ignore-machines")},
                      {"IgnoreDeployments", inv.has("--ignore-deployments")},
                      {"IgnoreTenants", inv.has("--ignore-tenants")}};
}

struct import_options {
  bool encrypted = false;
  bool dry_run = false;
  bool overwrite = false;
  bool delete_package = false;
};

json::object import_body(const std::string& package_id, const std::string& version,
                         const secret& password, const import_options& o) {
  return json::object{{"PackageId", package_id},
                      {"PackageVersion", version},
                      {"Password", password.reveal()},
                      {"IsEncryptedPackage", o.encrypted},
                      {"IsDryRun", o.dry_run},
                      {"OverwriteExisting", o.overwrite},
                      {"DeletePackageOnCompletion", o.delete_package}};
}

std::string import_hint(const server& dest, const std::string& id, const std::string& version,
                        bool encrypted) {
  return "'octomig import --dest " + dest.shown_url() + " --package-id " + id +
         " --package-version " + version + (encrypted ? " --encrypted" : "") + "'";
}

// Asks on the terminal; true for "y" or "yes" in any case.
bool confirmed(const std::string& question) {
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::cerr << '\n';
    return false;
  }
  const auto first = answer.find_first_not_of(" \t\r");
  const auto last = answer.find_last_not_of(" \t\r");
  answer = first == std::string::npos ? "" : ascii::lower(answer.substr(first, last - first + 1));
  return answer == "y" || answer == "yes";
}

// ---- migrate ----

status run_migrate(run_state& st) {
  const auto& inv = st.inv;
  const bool dry_run_only = inv.has("--dry-run-only");
  const bool ask = !inv.has("--yes") && !dry_run_only;
  // Before anything is exported: an export nobody can confirm would leave a package behind.
  if (ask && isatty(STDIN_FILENO) != 1)
    return fail(exit_code::usage,
                "standard input is not a terminal, so there is no one to ask before the import: "
                "pass --yes to import without asking (or --dry-run-only to stop after the plan)");
  auto source_key = load_secret(
      key_source("the source API key", inv, "--source-api-key-file", {"OCTOMIG_SOURCE_API_KEY"}));
  if (!source_key) return source_key.err();
  auto dest_key = load_secret(
      key_source("the destination API key", inv, "--dest-api-key-file", {"OCTOMIG_DEST_API_KEY"}));
  if (!dest_key) return dest_key.err();
  auto pass = password(inv);
  if (!pass) return pass.err();
  if (auto ca = check_ca_file(inv); !ca) return ca.err();

  server source("source", inv.text("--source"), *source_key, inv.text("--ca-file"));
  server dest("destination", inv.text("--dest"), *dest_key, inv.text("--ca-file"));
  const std::string package_id =
      inv.has("--package-id") ? inv.text("--package-id") : default_package_id;
  const std::string version =
      inv.has("--package-version") ? inv.text("--package-version") : random_version();
  st.report["Source"] = source.shown_url();
  st.report["Destination"] = dest.shown_url();
  st.report["PackageId"] = package_id;
  st.report["PackageVersion"] = version;
  st.report["Plan"] = nullptr;
  st.report["Import"] = nullptr;

  auto body = export_body(inv, package_id, version, *pass);
  body["DestinationPackageFeed"] = inv.text("--dest");
  body["DestinationApiKey"] = dest_key->reveal();
  auto exported = run_task(st, source, "export", export_route, body);
  if (!exported) return exported.err();
  st.say("Exported " + package_id + " " + version + " into the feed of " + dest.shown_url() + " (" +
         exported->id + ")\n");

  import_options options;
  options.encrypted = inv.has("--encrypt");
  options.overwrite = inv.has("--overwrite");
  options.dry_run = true;
  auto planned = run_task(st, dest, "import (dry run)", import_route,
                          import_body(package_id, version, *pass, options));
  if (!planned) return planned.err();
  auto plan = read_summary(dest, planned->id, true);
  if (!plan) return plan.err();
  st.report["Plan"] = summary_json(*plan);
  st.say("Plan (" + planned->id + ", a dry run on " + dest.shown_url() + "):\n" +
         summary_text(*plan));

  const std::string stays = "the package stays in the destination's feed; " +
                            import_hint(dest, package_id, version, options.encrypted) +
                            " imports it";
  if (dry_run_only) {
    std::cerr << "Nothing was imported (--dry-run-only): " << stays << ".\n";
    return done();
  }
  if (ask && !confirmed("Import into " + dest.shown_url() + "?")) {
    st.report["Declined"] = true;
    return fail(exit_code::declined, "nothing was imported: " + stays);
  }

  options.dry_run = false;
  options.delete_package = true;
  auto imported =
      run_task(st, dest, "import", import_route, import_body(package_id, version, *pass, options));
  if (!imported) return imported.err();
  auto result = read_summary(dest, imported->id, false);
  if (!result) return result.err();
  st.report["Import"] = summary_json(*result);
  st.say("Imported into " + dest.shown_url() + " (" + imported->id + "):\n" +
         summary_text(*result));
  return done();
}

// ---- export ----

status run_export(run_state& st) {
  const auto& inv = st.inv;
  auto key = load_secret(
      key_source("the source API key", inv, "--api-key-file", {"OCTOMIG_SOURCE_API_KEY"}));
  if (!key) return key.err();
  const bool push = inv.has("--dest");
  secret dest_key;
  if (push) {
    auto k = load_secret(key_source("the destination API key", inv, "--dest-api-key-file",
                                    {"OCTOMIG_DEST_API_KEY"}));
    if (!k) return k.err();
    dest_key = *k;
  } else if (inv.has("--dest-api-key-file")) {
    return fail(exit_code::usage, "--dest-api-key-file goes with --dest");
  }
  auto pass = password(inv);
  if (!pass) return pass.err();
  if (auto ca = check_ca_file(inv); !ca) return ca.err();

  server source("source", inv.text("--source"), *key, inv.text("--ca-file"));
  const std::string package_id =
      inv.has("--package-id") ? inv.text("--package-id") : default_package_id;
  const std::string version =
      inv.has("--package-version") ? inv.text("--package-version") : random_version();
  st.report["Source"] = source.shown_url();
  st.report["Destination"] = push ? json::value(inv.text("--dest")) : json::value(nullptr);
  st.report["PackageId"] = package_id;
  st.report["PackageVersion"] = version;

  auto body = export_body(inv, package_id, version, *pass);
  if (push) {
    body["DestinationPackageFeed"] = inv.text("--dest");
    body["DestinationApiKey"] = dest_key.reveal();
  }
  auto exported = run_task(st, source, "export", export_route, body);
  if (!exported) return exported.err();
  st.report["TaskId"] = exported->id;
  st.say("TaskId          " + exported->id + "\nPackageId       " + package_id +
         "\nPackageVersion  " + version + "\nFeed            " +
         (push ? inv.text("--dest") : source.shown_url() + " (its own)") + "\n");
  return done();
}

// ---- import ----

status run_import(run_state& st) {
  const auto& inv = st.inv;
  auto key = load_secret(
      key_source("the destination API key", inv, "--api-key-file", {"OCTOMIG_DEST_API_KEY"}));
  if (!key) return key.err();
  auto pass = password(inv);
  if (!pass) return pass.err();
  if (auto ca = check_ca_file(inv); !ca) return ca.err();

  server dest("destination", inv.text("--dest"), *key, inv.text("--ca-file"));
  const auto package_id = inv.text("--package-id");
  const auto version = inv.text("--package-version");
  import_options options;
  options.encrypted = inv.has("--encrypted");
  options.dry_run = inv.has("--dry-run");
  options.overwrite = inv.has("--overwrite");
  options.delete_package = inv.has("--delete-package");
  st.report["Destination"] = dest.shown_url();
  st.report["PackageId"] = package_id;
  st.report["PackageVersion"] = version;
  const char* key_name = options.dry_run ? "Plan" : "Import";
  st.report[key_name] = nullptr;

  auto imported = run_task(st, dest, options.dry_run ? "import (dry run)" : "import", import_route,
                           import_body(package_id, version, *pass, options));
  if (!imported) return imported.err();
  st.report["TaskId"] = imported->id;
  auto summary = read_summary(dest, imported->id, options.dry_run);
  if (!summary) return summary.err();
  st.report[key_name] = summary_json(*summary);
  st.say((options.dry_run ? "Plan (" + imported->id + ", a dry run on " + dest.shown_url() + "):\n"
                          : "Imported into " + dest.shown_url() + " (" + imported->id + "):\n") +
         summary_text(*summary));
  return done();
}

// ---- task wait | show | log ----

outcome<secret> task_key(const invocation& inv) {
  return load_secret(key_source("the server's API key", inv, "--api-key-file",
                                {"OCTOMIG_API_KEY", "OCTOMIG_DEST_API_KEY"}));
}

status run_task_wait(run_state& st) {
  auto key = task_key(st.inv);
  if (!key) return key.err();
  if (auto ca = check_ca_file(st.inv); !ca) return ca.err();
  server s("server", st.inv.text("--server"), *key, st.inv.text("--ca-file"));
  const auto& id = st.inv.positional;
  st.report["TaskId"] = id;
  auto end = follow_to_success(st, s, "task", id);
  if (!st.tasks.empty()) {
    const auto& last = st.tasks.back().as_object();
    st.report["State"] = last.at("State");
    st.report["ErrorMessage"] = last.at("ErrorMessage");
  }
  if (!end) return end.err();
  st.say(id + "  " + end->state + "\n");
  return done();
}

status run_task_show(run_state& st) {
  auto key = task_key(st.inv);
  if (!key) return key.err();
  if (auto ca = check_ca_file(st.inv); !ca) return ca.err();
  server s("server", st.inv.text("--server"), *key, st.inv.text("--ca-file"));
  auto task = s.get_json("/api/tasks/" + st.inv.positional);
  if (!task) return task.err();
  if (!task->is_object())
    return fail(exit_code::unavailable, "the server answered with something that is no task");
  static const char* const fields[] = {
      "Id",          "Name",         "Description",        "State",
      "IsCompleted", "QueueTime",    "StartTime",          "CompletedTime",
      "Duration",    "ErrorMessage", "HasWarningsOrErrors"};
  json::object shown;
  std::string text;
  for (const char* f : fields) {
    const json::value* v = task->get_object().if_contains(f);
    shown[f] = v ? *v : json::value(nullptr);
    std::string value = !v || v->is_null() ? "-"
                        : v->is_string()   ? std::string(v->get_string())
                                           : json::serialize(*v);
    if (value.empty()) value = "-";
    std::string name = f;
    name.resize(std::max<std::size_t>(name.size(), 20), ' ');
    text += name + printable(value) + "\n";
  }
  st.report["Task"] = std::move(shown);
  st.say(text);
  return done();
}

status run_task_log(run_state& st) {
  auto key = task_key(st.inv);
  if (!key) return key.err();
  if (auto ca = check_ca_file(st.inv); !ca) return ca.err();
  server s("server", st.inv.text("--server"), *key, st.inv.text("--ca-file"));
  const auto& id = st.inv.positional;
  st.report["TaskId"] = id;
  if (st.json) {
    auto details = task_details(s, id);
    if (!details) return details.err();
    json::array lines;
    for (const auto* e : log_elements(*details))
      lines.push_back(json::object{{"Category", text_field(*e, "Category")},
                                   {"OccurredAt", text_field(*e, "OccurredAt")},
                                   {"MessageText", text_field(*e, "MessageText")}});
    st.report["Lines"] = std::move(lines);
    return done();
  }
  // On a terminal, the log cannot move the cursor: control characters but line ends and tabs
  // become spaces. Into a file or a pipe it goes as the server wrote it.
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  return s.get_stream("/api/tasks/" + id + "/raw", [terminal](std::string_view chunk) {
    if (!terminal) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      return;
    }
    std::string text(chunk);
    for (auto& c : text)
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) c = ' ';
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace

int run_command(const invocation& inv) {
  run_state st{inv,
               inv.has("--json"),
               progress::on_stderr(),
               inv.seconds("--timeout", default_timeout),
               json::object{{"Command", inv.command->words}},
               {}};
  status s = done();
  switch (inv.command->id) {
    case command_id::migrate:
      s = run_migrate(st);
      break;
    case command_id::export_package:
      s = run_export(st);
      break;
    case command_id::import_package:
      s = run_import(st);
      break;
    case command_id::task_wait:
      s = run_task_wait(st);
      break;
    case command_id::task_show:
      s = run_task_show(st);
      break;
    case command_id::task_log:
      s = run_task_log(st);
      break;
  }
  std::fflush(stdout);
  const int code = s ? 0 : to_int(s.err().code);
  if (!s) {
    st.prog.close();
    std::cerr << "octomig: " << s.err().message << '\n';
  }
  if (st.json) {
    if (inv.command->id == command_id::migrate || inv.command->id == command_id::export_package ||
        inv.command->id == command_id::import_package || inv.command->id == command_id::task_wait)
      st.report["Tasks"] = std::move(st.tasks);
    st.report["ExitCode"] = code;
    st.report["Error"] = s ? json::value(nullptr) : json::value(s.err().message);
    std::cout << json::serialize(st.report) << '\n' << std::flush;
  }
  return code;
}

}  // namespace octomig::cli
