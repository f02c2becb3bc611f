// Package writing: package::writer (encrypted and plain) against raw libsodium secretstream and
// `7z a -tzip -mem=AES256 -mx=1` over the same documents, in the same run.
//
// Generates a deterministic set of Octopus-like documents (projects, variable sets with a few
// sensitive values, deployment processes with scripts, releases, deployments, a few accounts with
// passwords), about --mib MiB of JSON in all, keeps their text in memory and writes them once as
// files (documents/<Collection>/<Id>.json) for 7z. Then, in each round:
//   encrypted  package::writer, encrypt=true, interactive Argon2id; every document parsed from
//              its text in memory and handed to add_document (the export's Build package step
//              also parses each stored document); finish() fsyncs. The goal figure.
//   plain      the same with encrypt=false (sensitive values are sealed either way).
//   stream     crypto_secretstream_xchacha20poly1305 over the documents' bytes (concatenated,
//              64 KiB chunks, to a file, fsync at the end): no parsing, no compression, the
//              encryption ceiling.
//   7z         `7z a -tzip -mem=AES256 -mx=1 -p` on the folder of files (7z's default threads),
//              the password on its stdin from a 0600 file (not on its command line); the time is
//              the 7z process's. 7z does not fsync: the fsync of its archive is timed apart.
//   7z-mt1     the same with -mmt=1 (one thread, as package::writer): a breakdown figure.
// MB/s are of the documents' JSON bytes (1 MB = 10^6 bytes) for every row.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_util.hpp"
#include "migration/schema.hpp"
#include "package/package.hpp"

namespace {

using namespace octomig;
namespace bench = octomig::bench;
namespace fs = std::filesystem;
namespace json = boost::json;

// SplitMix64: deterministic sample data on every standard library.
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }

 private:
  std::uint64_t state_;
};

const char* const words[] = {
    "deploy",   "release",  "package",  "service",   "api",       "web",      "database",
    "migrate",  "config",   "health",   "check",     "timeout",   "retry",    "cluster",
    "node",     "worker",   "queue",    "cache",     "redis",     "postgres", "nginx",
    "tenant",   "customer", "billing",  "invoice",   "payment",   "gateway",  "auth",
    "token",    "session",  "user",     "account",   "report",    "export",   "import",
    "schedule", "backup",   "restore",  "snapshot",  "volume",    "storage",  "bucket",
    "region",   "zone",     "primary",  "replica",   "failover",  "monitor",  "alert",
    "metric",   "log",      "trace",    "span",      "feature",   "flag",     "toggle",
    "canary",   "blue",     "green",    "rolling",   "batch",     "stream",   "event",
    "handler",  "consumer", "producer", "topic",     "partition", "offset",   "commit",
    "build",    "artifact", "version",  "channel",   "lifecycle", "phase",    "step",
    "action",   "script",   "variable", "scope",     "target",    "role",     "machine",
    "pool",     "agent",    "tentacle", "listener",  "polling",   "ssh",      "azure",
    "aws",      "lambda",   "function", "container", "image",     "registry", "helm",
    "chart",    "manifest", "secret",   "vault",     "key",       "cert",     "domain",
    "dns",      "route",    "ingress",  "proxy",     "upstream",  "backend",  "frontend",
    "mobile",   "desktop",  "email",    "sender",    "notify",    "slack",    "teams",
    "pager",    "oncall",   "runbook",  "incident",  "approval",  "manual",   "intervention",
};
constexpr std::size_t word_count = sizeof words / sizeof words[0];

struct doc {
  const migration::collection_schema* collection;
  std::string id;
  std::string text;  // the revealed document as JSON
};

class doc_maker {
 public:
  explicit doc_maker(std::uint64_t seed) : rng_(seed) {}

  // Appends one project and what hangs off it; returns the bytes added.
  std::uint64_t project(std::uint64_t n, std::vector<doc>& out) {
    std::uint64_t bytes = 0;
    const std::string pid = "Projects-" + std::to_string(n);
    const std::string name = phrase(2) + " " + std::to_string(n);
    bytes += add(
        out, "Projects", pid,
        json::object{
            {"Id", pid},
            {"Name", name},
            {"Slug", slug(name)},
            {"Description", sentence(12 + rng_.below(30))},
            {"ProjectGroupId", "ProjectGroups-" + std::to_string(1 + n % 40)},
            {"LifecycleId", "Lifecycles-" + std::to_string(1 + n % 3)},
            {"DeploymentProcessId", "deploymentprocess-" + pid},
            {"VariableSetId", "variableset-" + pid},
            {"IncludedLibraryVariableSetIds",
             json::array{"LibraryVariableSets-" + std::to_string(1 + n % 3)}},
            {"IsDisabled", false},
            {"TenantedDeploymentMode", "Untenanted"},
            {"SpaceId", "Spaces-1"},
            {"Links", json::object{{"Self", "/api/Spaces-1/projects/" + pid},
                                   {"Releases", "/api/Spaces-1/projects/" + pid + "/releases"}}}});
    // Variables: 15-45, one in 20 sensitive.
    json::array vars;
    auto nvars = 15 + rng_.below(30);
    for (std::uint64_t v = 0; v < nvars; ++v) {
      const bool sensitive = rng_.below(20) == 0;
      json::object var{{"Id", guid()},
                       {"Name", "App." + word() + "." + word() + "." + std::to_string(v)},
                       {"Value", sensitive ? token(32) : value_text()},
                       {"Description", rng_.below(3) == 0 ? sentence(8) : std::string()},
                       {"Type", sensitive ? "Sensitive" : "String"},
                       {"IsSensitive", sensitive},
                       {"IsEditable", true},
                       {"Scope", json::object{{"Environment", environments()}}}};
      vars.push_back(std::move(var));
    }
    bytes += add(out, "VariableSets", "variableset-" + pid,
                 json::object{{"Id", "variableset-" + pid},
                              {"OwnerId", pid},
                              {"Version", 1 + rng_.below(40)},
                              {"Variables", std::move(vars)},
                              {"SpaceId", "Spaces-1"}});
    // Process: 3-8 steps, one script action each.
    json::array steps;
    auto nsteps = 3 + rng_.below(6);
    for (std::uint64_t s = 0; s < nsteps; ++s) {
      json::object props{{"Octopus.Action.Script.ScriptBody", script(8 + rng_.below(40))},
                         {"Octopus.Action.Script.Syntax", "Bash"},
                         {"Octopus.Action.RunOnServer", "false"},
                         {"Octopus.Action.TargetRoles", word() + "-" + word()}};
      steps.push_back(
          json::object{{"Id", guid()},
                       {"Name", "Step " + std::to_string(s + 1) + ": " + phrase(3)},
                       {"Condition", "Success"},
                       {"StartTrigger", "StartAfterPrevious"},
                       {"Properties", json::object{{"Octopus.Action.TargetRoles", word()}}},
                       {"Actions", json::array{json::object{{"Id", guid()},
                                                            {"Name", phrase(3)},
                                                            {"ActionType", "Octopus.Script"},
                                                            {"IsDisabled", false},
                                                            {"Environments", environments()},
                                                            {"Properties", std::move(props)}}}}});
    }
    bytes += add(out, "DeploymentProcesses", "deploymentprocess-" + pid,
                 json::object{{"Id", "deploymentprocess-" + pid},
                              {"ProjectId", pid},
                              {"Version", 1 + rng_.below(60)},
                              {"Steps", std::move(steps)},
                              {"SpaceId", "Spaces-1"}});
    // 10 releases, 2 deployments each.
    for (int r = 0; r < 10; ++r) {
      const std::string rid = "Releases-" + std::to_string(++releases_);
      const std::string version = "1." + std::to_string(r) + "." + std::to_string(rng_.below(500));
      bytes += add(
          out, "Releases", rid,
          json::object{
              {"Id", rid},
              {"Version", version},
              {"ProjectId", pid},
              {"ChannelId", "Channels-" + std::to_string(2 * n)},
              {"ReleaseNotes", sentence(10 + rng_.below(60))},
              {"Assembled", date()},
              {"ProjectDeploymentProcessSnapshotId", "deploymentprocess-" + pid + "-s-" + token(6)},
              {"SelectedPackages",
               json::array{json::object{
                   {"ActionName", phrase(2)}, {"PackageReferenceName", ""}, {"Version", version}}}},
              {"SpaceId", "Spaces-1"}});
      for (int d = 0; d < 2; ++d) {
        const std::string did = "Deployments-" + std::to_string(++deployments_);
        bytes += add(out, "Deployments", did,
                     json::object{{"Id", did},
                                  {"ReleaseId", rid},
                                  {"ProjectId", pid},
                                  {"EnvironmentId", "Environments-" + std::to_string(1 + d)},
                                  {"TaskId", "ServerTasks-" + std::to_string(deployments_)},
                                  {"Name", "Deploy to " + word()},
                                  {"Created", date()},
                                  {"Comments", rng_.below(4) == 0 ? sentence(6) : std::string()},
                                  {"FormValues", json::object{}},
                                  {"SkipActions", json::array{}},
                                  {"SpecificMachineIds", json::array{}},
                                  {"UseGuidedFailure", false},
                                  {"SpaceId", "Spaces-1"}});
      }
    }
    // One account with a password per 50 projects.
    if (n % 50 == 1) {
      const std::string aid = "Accounts-" + std::to_string(n / 50 + 1);
      bytes +=
          add(out, "Accounts", aid,
              json::object{{"Id", aid},
                           {"Name", phrase(2) + " account"},
                           {"AccountType", "UsernamePassword"},
                           {"Username", word() + "." + word()},
                           {"Password", json::object{{"HasValue", true}, {"NewValue", token(24)}}},
                           {"EnvironmentIds", environments()},
                           {"SpaceId", "Spaces-1"}});
    }
    return bytes;
  }

 private:
  std::uint64_t add(std::vector<doc>& out, const char* collection, const std::string& id,
                    json::object o) {
    const auto* c = migration::find_collection(collection);
    if (!c) throw std::runtime_error(std::string("no collection ") + collection);
    out.push_back({c, id, json::serialize(o)});
    return out.back().text.size();
  }
  std::string word() { return words[rng_.below(word_count)]; }
  std::string phrase(std::uint64_t n) {
    std::string s;
    for (std::uint64_t i = 0; i < n; ++i) {
      auto w = word();
      w[0] = static_cast<char>(w[0] - 'a' + 'A');
      s += (i ? " " : "") + w;
    }
    return s;
  }
  std::string sentence(std::uint64_t n) {
    std::string s;
    for (std::uint64_t i = 0; i < n; ++i) {
      s += (i ? " " : "") + word();
      if (rng_.below(8) == 0) s += " " + std::to_string(rng_.below(10000));
    }
    return s + ".";
  }
  std::string slug(std::string s) {
    for (auto& ch : s) ch = ch == ' ' ? '-' : static_cast<char>(std::tolower(ch));
    return s;
  }
  std::string token(std::size_t n) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rng_.below(sizeof alphabet - 1)];
    return s;
  }
  std::string guid() {
    static const char hex[] = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) s += '-';
      s += hex[rng_.below(16)];
    }
    return s;
  }
  std::string date() {
    char buf[40];
    std::snprintf(buf, sizeof buf, "2025-%02d-%02dT%02d:%02d:%02d.%03d+00:00",
                  static_cast<int>(1 + rng_.below(12)), static_cast<int>(1 + rng_.below(28)),
                  static_cast<int>(rng_.below(24)), static_cast<int>(rng_.below(60)),
                  static_cast<int>(rng_.below(60)), static_cast<int>(rng_.below(1000)));
    return buf;
  }
  std::string value_text() {
    switch (rng_.below(5)) {
      case 0:
        return "https://" + word() + "-" + word() +
               ".example.com:" + std::to_string(8000 + rng_.below(1000)) + "/" + word();
      case 1:
        return std::to_string(rng_.below(100000));
      case 2:
        return "Server=" + word() + "-db;Database=" + word() + ";Pooling=true";
      case 3:
        return rng_.below(2) ? "true" : "false";
      default:
        return sentence(3 + rng_.below(8));
    }
  }
  json::array environments() {
    json::array a;
    auto n = 1 + rng_.below(3);
    for (std::uint64_t i = 0; i < n; ++i)
      a.push_back(json::string("Environments-" + std::to_string(1 + i)));
    return a;
  }
  std::string script(std::uint64_t lines) {
    std::string s = "#!/bin/bash\nset -euo pipefail\n";
    for (std::uint64_t i = 0; i < lines; ++i) {
      switch (rng_.below(4)) {
        case 0:
          s += "echo \"" + sentence(4 + rng_.below(6)) + "\"\n";
          break;
        case 1:
          s += "if [ -z \"${" + word() + "_" + word() + ":-}\" ]; then exit " +
               std::to_string(rng_.below(5)) + "; fi\n";
          break;
        case 2:
          s += word() + "-cli --" + word() + " \"#{" + phrase(1) + "." + word() + "}\" --timeout " +
               std::to_string(rng_.below(600)) + "\n";
          break;
        default:
          s += "curl -fsS https://" + word() + ".internal/" + word() + "/" + token(8) + "\n";
          break;
      }
    }
    return s;
  }

  generator rng_;
  std::uint64_t releases_ = 0, deployments_ = 0;
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::uint64_t file_size_or_zero(const fs::path& p) {
  std::error_code ec;
  auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

void fsync_file(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + p.string());
  if (::fsync(fd) != 0) throw std::runtime_error("cannot fsync " + p.string());
  ::close(fd);
}

struct written {
  double seconds = 0;
  double kdf_seconds = 0;  // package::writer::create (the encrypted and plain writers derive keys)
  std::uint64_t bytes = 0;
};

written octomig_package(const std::vector<doc>& docs, const fs::path& file, bool encrypt,
                        const std::string& password) {
  written w;
  package::writer_options o;
  o.file = file;
  o.package_id = "Bench.Export";
  o.package_version = "1.0.0";
  o.producer_version = "bench";
  o.source_installation_id = "bench";
  o.encrypt = encrypt;
  o.options = json::object{{"EncryptPackage", encrypt}};
  auto t0 = bench::clock::now();
  auto created = package::writer::create(o, password);
  if (!created) throw std::runtime_error("writer::create: " + created.err().message);
  w.kdf_seconds = bench::seconds_since(t0);
  auto& pw = **created;
  for (const auto& d : docs) {
    json::value v = json::parse(d.text);
    auto s = pw.add_document(*d.collection, d.id, std::move(v.as_object()));
    if (!s) throw std::runtime_error("add_document " + d.id + ": " + s.err().message);
  }
  auto done = pw.finish();
  if (!done) throw std::runtime_error("finish: " + done.err().message);
  w.seconds = bench::seconds_since(t0);
  w.bytes = done->size_bytes;
  return w;
}

written raw_secretstream(const std::vector<doc>& docs, const fs::path& file) {
  written w;
  constexpr std::size_t chunk = 64 * 1024;
  auto t0 = bench::clock::now();
  unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  crypto_secretstream_xchacha20poly1305_keygen(key);
  crypto_secretstream_xchacha20poly1305_state st;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + file.string());
  auto put = [&](const unsigned char* p, std::size_t n) {
    while (n > 0) {
      auto r = ::write(fd, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) throw std::runtime_error("write failed");
      p += r;
      n -= static_cast<std::size_t>(r);
      w.bytes += static_cast<std::uint64_t>(r);
    }
  };
  put(header, sizeof header);
  std::vector<unsigned char> plain(chunk),
      cipher(chunk + crypto_secretstream_xchacha20poly1305_ABYTES);
  std::size_t fill = 0;
  auto push = [&](unsigned char tag) {
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&st, cipher.data(), &clen, plain.data(), fill,
                                               nullptr, 0, tag);
    put(cipher.data(), static_cast<std::size_t>(clen));
    fill = 0;
  };
  for (const auto& d : docs) {
    const auto* p = reinterpret_cast<const unsigned char*>(d.text.data());
    std::size_t n = d.text.size();
    while (n > 0) {
      auto take = std::min(n, chunk - fill);
      std::memcpy(plain.data() + fill, p, take);
      fill += take;
      p += take;
      n -= take;
      if (fill == chunk) push(0);
    }
  }
  push(crypto_secretstream_xchacha20poly1305_TAG_FINAL);
  if (::fsync(fd) != 0) throw std::runtime_error("fsync failed");
  ::close(fd);
  sodium_memzero(key, sizeof key);
  w.seconds = bench::seconds_since(t0);
  return w;
}

// Runs argv in dir with stdin from in_file and stdout/stderr appended to log; returns the exit
// status (or -1 when it did not exit normally).
int run_process(const std::vector<std::string>& argv, const fs::path& dir, const fs::path& in_file,
                const fs::path& log) {
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int in = ::open(in_file.c_str(), O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || ::chdir(dir.c_str()) != 0) _exit(126);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

written seven_zip(const std::string& exe, const fs::path& work, const fs::path& archive,
                  const fs::path& password_file, const fs::path& log, bool one_thread) {
  std::vector<std::string> argv{exe, "a", "-tzip", "-mem=AES256", "-mx=1", "-p", "-bd"};
  if (one_thread) argv.push_back("-mmt=1");
  argv.push_back(archive.string());
  argv.push_back("documents");
  written w;
  auto t0 = bench::clock::now();
  int rc = run_process(argv, work, password_file, log);
  w.seconds = bench::seconds_since(t0);
  if (rc != 0)
    throw std::runtime_error("7z exited with " + std::to_string(rc) + "; see " + log.string());
  w.bytes = file_size_or_zero(archive);
  return w;
}

const char* usage =
    "Usage: octomig_bench_package [options]\n"
    "  --dir DIR      base for the temporary files (default $OCTOMIG_BENCH_DIR or /tmp)\n"
    "  --mib N        documents' JSON in MiB, about (default 256)\n"
    "  --rounds N     rounds of every measurement; the median is reported (default 3)\n"
    "  --7z EXE       the 7-Zip executable (default 7z)\n"
    "  --no-mt1       skip the one-thread 7z measurement\n"
    "  --only encrypted|plain|stream|7z  time that one only, no summary (for profiling; the\n"
    "                 files for 7z are written only when it is timed)\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    fs::path base = bench::default_base();
    std::uint64_t mib = 256;
    std::size_t rounds = 3;
    std::string seven = "7z";
    bool mt1 = true;
    std::string only;
    for (int i = 1; i < argc; ++i) {
      std::string v;
      if (std::string(argv[i]) == "--help") return std::cout << usage, 0;
      if (std::string(argv[i]) == "--no-mt1") {
        mt1 = false;
        continue;
      }
      if (bench::flag(argc, argv, i, "--dir", v))
        base = v;
      else if (bench::flag(argc, argv, i, "--mib", v))
        mib = std::stoull(v);
      else if (bench::flag(argc, argv, i, "--rounds", v))
        rounds = std::stoul(v);
      else if (bench::flag(argc, argv, i, "--7z", v))
        seven = v;
      else if (bench::flag(argc, argv, i, "--only", v))
        only = v;
      else
        return std::cerr << "unknown option " << argv[i] << "\n" << usage, 2;
    }
    if (mib < 1 || mib > 4096 || rounds < 1 || rounds > 10 ||
        (!only.empty() && only != "encrypted" && only != "plain" && only != "stream" &&
         only != "7z"))
      return std::cerr << "options out of range\n" << usage, 2;
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");

    bench::temp_dir tmp(base, "octomig-bench-package");
    const fs::path work = tmp.path();
    std::printf("package benchmark: files under %s, on %s\n", work.c_str(),
                bench::describe_fs(work).c_str());

    // ---- documents (set-up, not timed in the figures) ----
    auto t0 = bench::clock::now();
    std::vector<doc> docs;
    std::uint64_t doc_bytes = 0, projects = 0;
    doc_maker maker(1);
    while (doc_bytes < (mib << 20)) doc_bytes += maker.project(++projects, docs);
    std::printf("documents: %zu (%llu projects), %llu bytes of JSON (%.1f MiB), made in %.1f s\n",
                docs.size(), static_cast<unsigned long long>(projects),
                static_cast<unsigned long long>(doc_bytes),
                static_cast<double>(doc_bytes) / (1 << 20), bench::seconds_since(t0));
    if (only.empty() || only == "7z") {
      t0 = bench::clock::now();
      std::map<std::string, bool> made;
      for (const auto& d : docs) {
        auto folder = work / "documents" / d.collection->name;
        if (!made[d.collection->name]) {
          fs::create_directories(folder);
          made[d.collection->name] = true;
        }
        write_file(folder / (d.id + ".json"), d.text);
      }
      ::sync();
      std::printf(
          "written once as files for 7z (documents/<Collection>/<Id>.json) in %.1f s, then "
          "synced\n",
          bench::seconds_since(t0));
    }
    // A throwaway password; 7z reads it from its stdin (this 0600 file), never from argv.
    char pw_bytes[16];
    randombytes_buf(pw_bytes, sizeof pw_bytes);
    std::string password;
    for (unsigned char b : pw_bytes) password += "abcdefghijklmnopqrstuvwxyz234567"[b & 31];
    const fs::path pw_file = work / "password";
    {
      int fd = ::open(pw_file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
      if (fd < 0 || ::write(fd, (password + "\n").data(), password.size() + 1) < 0)
        throw std::runtime_error("cannot write the password file");
      ::close(fd);
    }
    const fs::path log = work / "7z.log";

    // The input side alone: parsing every document's text (part of the octomig figures).
    t0 = bench::clock::now();
    std::size_t fields = 0;
    for (const auto& d : docs) fields += json::parse(d.text).as_object().size();
    const double parse_s = bench::seconds_since(t0);
    std::printf("json::parse of every document alone: %.3f s (%.0f MB/s, %zu top-level fields)\n",
                parse_s, static_cast<double>(doc_bytes) / 1e6 / parse_s, fields);

    struct round_figures {
      written enc, plain, stream, sz, sz1;
      double sz_fsync_s = 0;
    };
    std::vector<round_figures> all;
    auto mbs = [&](double s) { return s > 0 ? static_cast<double>(doc_bytes) / 1e6 / s : 0.0; };
    for (std::size_t round = 1; round <= rounds; ++round) {
      round_figures f;
      const fs::path enc = work / "enc.zip", plain = work / "plain.zip",
                     stream = work / "stream.bin", sz = work / "7z.zip", sz1 = work / "7z-mt1.zip";
      if (!only.empty()) {
        written w = only == "encrypted" ? octomig_package(docs, enc, true, password)
                    : only == "plain"   ? octomig_package(docs, plain, false, password)
                    : only == "stream"  ? raw_secretstream(docs, stream)
                                        : seven_zip(seven, work, sz, pw_file, log, !mt1);
        for (const auto& p : {enc, plain, stream, sz}) fs::remove(p);
        std::printf("round %zu: %s %.3f s (%.0f MB/s), %llu bytes\n", round, only.c_str(),
                    w.seconds, mbs(w.seconds), static_cast<unsigned long long>(w.bytes));
        std::fflush(stdout);
        continue;
      }
      f.enc = octomig_package(docs, enc, true, password);
      if (round == 1) {
        // Check once that the package opens with the password and holds every document.
        auto r = package::reader::open(enc, {}, work);
        if (!r) throw std::runtime_error("reader::open: " + r.err().message);
        if (auto s = (*r)->unlock(password); !s)
          throw std::runtime_error("unlock: " + s.err().message);
        std::size_t seen = 0;
        auto s = (*r)->for_each_document([&](const std::string&, const std::string&, json::object) {
          ++seen;
          return ok_status();
        });
        if (!s || seen != docs.size())
          throw std::runtime_error("the encrypted package does not read back: " +
                                   (s ? std::to_string(seen) + " documents" : s.err().message));
      }
      fs::remove(enc);
      f.plain = octomig_package(docs, plain, false, password);
      fs::remove(plain);
      f.stream = raw_secretstream(docs, stream);
      fs::remove(stream);
      f.sz = seven_zip(seven, work, sz, pw_file, log, false);
      auto ts = bench::clock::now();
      fsync_file(sz);
      f.sz_fsync_s = bench::seconds_since(ts);
      if (round == 1) {
        // 7z t reads the password from stdin when the archive needs one.
        if (run_process({seven, "t", "-bd", sz.string()}, work, pw_file, log) != 0)
          throw std::runtime_error("7z t failed on its own archive; see " + log.string());
      }
      fs::remove(sz);
      if (mt1) {
        f.sz1 = seven_zip(seven, work, sz1, pw_file, log, true);
        fs::remove(sz1);
      }
      std::printf(
          "round %zu: encrypted %.2f s (%.0f MB/s; create/KDF %.3f s; %llu B)  plain %.2f s (%.0f "
          "MB/s; %llu B)  secretstream %.2f s (%.0f MB/s)  7z %.2f s (%.2f MB/s; %llu B; +fsync "
          "%.3f s)",
          round, f.enc.seconds, mbs(f.enc.seconds), f.enc.kdf_seconds,
          static_cast<unsigned long long>(f.enc.bytes), f.plain.seconds, mbs(f.plain.seconds),
          static_cast<unsigned long long>(f.plain.bytes), f.stream.seconds, mbs(f.stream.seconds),
          f.sz.seconds, mbs(f.sz.seconds), static_cast<unsigned long long>(f.sz.bytes),
          f.sz_fsync_s);
      if (mt1) std::printf("  7z -mmt=1 %.2f s (%.2f MB/s)", f.sz1.seconds, mbs(f.sz1.seconds));
      std::printf("  encrypted/7z %.2fx\n", f.sz.seconds / f.enc.seconds);
      std::fflush(stdout);
      all.push_back(f);
    }
    if (!only.empty()) return 0;

    auto med = [&](auto get) {
      std::vector<double> v;
      for (auto& f : all) v.push_back(get(f));
      return bench::median(v);
    };
    const double enc = mbs(med([](auto& f) { return f.enc.seconds; }));
    const double plain = mbs(med([](auto& f) { return f.plain.seconds; }));
    const double stream = mbs(med([](auto& f) { return f.stream.seconds; }));
    const double sz = mbs(med([](auto& f) { return f.sz.seconds; }));
    const double sz1 = mt1 ? mbs(med([](auto& f) { return f.sz1.seconds; })) : 0;
    const double vs_7z = med([](auto& f) { return f.sz.seconds / f.enc.seconds; });
    const double vs_7z1 = mt1 ? med([](auto& f) { return f.sz1.seconds / f.enc.seconds; }) : 0;
    const double vs_stream = med([](auto& f) { return f.stream.seconds / f.enc.seconds; });
    std::printf(
        "\nsummary (median of %zu rounds; ratios taken per round, then the median; MB/s of the "
        "documents' %llu JSON bytes)\n",
        rounds, static_cast<unsigned long long>(doc_bytes));
    std::printf(
        "RESULT package documents=%zu doc_bytes=%llu encrypted_mb_s=%.1f plain_mb_s=%.1f "
        "secretstream_mb_s=%.0f sevenzip_mb_s=%.2f sevenzip_mt1_mb_s=%.2f parse_mb_s=%.0f "
        "encrypted_bytes=%llu sevenzip_bytes=%llu kdf_s=%.3f\n",
        docs.size(), static_cast<unsigned long long>(doc_bytes), enc, plain, stream, sz, sz1,
        static_cast<double>(doc_bytes) / 1e6 / parse_s,
        static_cast<unsigned long long>(all.back().enc.bytes),
        static_cast<unsigned long long>(all.back().sz.bytes),
        med([](auto& f) { return f.enc.kdf_seconds; }));
    std::printf(
        "RESULT package_ratios encrypted_over_7z=%.2fx encrypted_over_7z_mt1=%.2fx "
        "encrypted_over_secretstream=%.1f%%\n",
        vs_7z, vs_7z1, 100.0 * vs_stream);
    std::printf("GOAL package (encrypted package::writer >= 2x 7z AES-256 zip): %s\n",
                vs_7z >= 2.0 ? "met" : "MISSED");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "octomig_bench_package: " << e.what() << "\n";
    return 1;
  }
}
