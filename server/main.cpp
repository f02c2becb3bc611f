// octomigd: the composition root. Opens the data directory and the store, starts the engine's
// actors and the HTTP server, and shuts them down in order on SIGINT or SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "actors/engine.hpp"
#include "actors/pipelines.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "runtime/clock.hpp"
#include "runtime/log.hpp"
#include "storage/data_dir.hpp"
#include "storage/packages.hpp"

#ifndef OCTOMIG_VERSION
#define OCTOMIG_VERSION "0.0.0"
#endif

namespace {

using namespace octomig;

struct settings {
  std::string data_dir = "./octomig-data";
  std::string listen = "127.0.0.1:8080";
  bool listen_given = false;  // --listen or OCTOMIG_LISTEN: with --listen-tls, serve both
  std::string listen_tls;     // empty: no HTTPS
  std::string tls_cert, tls_key;
  std::size_t threads = 0;
  std::string log_level = "info";
  std::string log_format = "text";
  std::uint64_t max_upload_bytes = 5ull << 30;
  std::size_t max_concurrent_uploads = 8;
  std::string ca_file;
  std::size_t header_timeout = 60, idle_timeout = 75, max_connections = 1024;
};

const char* usage =
    "Usage: octomigd [options]\n"
    "\n"
    "The octomig server: the Octopus Deploy Migration API, its task engine and package feed.\n"
    "\n"
    "Options (each also read from the environment variable in brackets; a flag wins):\n"
    "  --data-dir DIR     data directory: store, feed, master key [OCTOMIG_DATA_DIR]\n"
    "                     default ./octomig-data; created on first start\n"
    "  --listen HOST:PORT address to serve HTTP on [OCTOMIG_LISTEN]; default 127.0.0.1:8080;\n"
    "                     port 0 picks a free port (the log says which)\n"
    "  --tls-cert FILE    PEM certificate (the chain may follow it) to serve HTTPS with\n"
    "                     [OCTOMIG_TLS_CERT]; TLS 1.2 and 1.3 only\n"
    "  --tls-key FILE     its PEM private key [OCTOMIG_TLS_KEY]\n"
    "  --listen-tls HOST:PORT  address to serve HTTPS on [OCTOMIG_LISTEN_TLS]; default\n"
    "                     127.0.0.1:8443 when a certificate is given; without --listen, HTTPS\n"
    "                     only. SIGHUP reloads the certificate and key (a pair that does not\n"
    "                     load is refused and logged, and the old one kept)\n"
    "  --threads N        HTTP I/O and actor scheduler threads [OCTOMIG_THREADS];\n"
    "                     default: the number of cores\n"
    "  --log-level LEVEL  error, warn, info or debug [OCTOMIG_LOG_LEVEL]; default info\n"
    "  --log-format FORMAT  text, or json for one JSON object a line (time, level, message,\n"
    "                     logger) for log collectors [OCTOMIG_LOG_FORMAT]; default text\n"
    "  --max-upload-bytes N  largest package upload, in bytes [OCTOMIG_MAX_UPLOAD_BYTES];\n"
    "                     default 5368709120 (5 GiB); larger uploads get 413\n"
    "  --max-concurrent-uploads N  package uploads at once [OCTOMIG_MAX_CONCURRENT_UPLOADS];\n"
    "                     default 8; more get 503 with Retry-After\n"
    "  --header-timeout SECONDS  a new connection's first request header (and TLS\n"
    "                     handshake) must arrive within this [OCTOMIG_HEADER_TIMEOUT]; default 60\n"
    "  --idle-timeout SECONDS  a kept-alive connection is closed after this long without a\n"
    "                     request [OCTOMIG_IDLE_TIMEOUT]; default 75\n"
    "  --max-connections N  connections open at once; one more is closed as soon as it is\n"
    "                     accepted [OCTOMIG_MAX_CONNECTIONS]; default 1024\n"
    "  --ca-file FILE     a PEM CA bundle to trust, besides the system's, for package pushes\n"
    "                     and callbacks [OCTOMIG_CA_FILE]; certificates are always verified\n"
    "  --help             print this and exit\n"
    "\n"
    "On first start the data directory gets master.key and an admin API key in admin-api-key\n"
    "(both readable by the owner only). SIGINT or SIGTERM stops the server cleanly.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 after a failure, 2 for a usage error or a TLS\n"
    "certificate or key that is missing, unreadable or does not match.\n";

std::optional<settings> parse_args(int argc, char** argv, int& exit_code) {
  settings s;
  auto env = [](const char* name, std::string& out) {
    if (const char* v = std::getenv(name); v && *v) out = v;
  };
  std::string threads, max_upload, max_uploads, header_timeout, idle_timeout, max_connections;
  env("OCTOMIG_HEADER_TIMEOUT", header_timeout);
  env("OCTOMIG_IDLE_TIMEOUT", idle_timeout);
  env("OCTOMIG_MAX_CONNECTIONS", max_connections);
  env("OCTOMIG_DATA_DIR", s.data_dir);
  env("OCTOMIG_MAX_UPLOAD_BYTES", max_upload);
  env("OCTOMIG_MAX_CONCURRENT_UPLOADS", max_uploads);
  env("OCTOMIG_LISTEN", s.listen);
  s.listen_given = std::getenv("OCTOMIG_LISTEN") && *std::getenv("OCTOMIG_LISTEN");
  env("OCTOMIG_LISTEN_TLS", s.listen_tls);
  env("OCTOMIG_TLS_CERT", s.tls_cert);
  env("OCTOMIG_TLS_KEY", s.tls_key);
  env("OCTOMIG_THREADS", threads);
  env("OCTOMIG_LOG_LEVEL", s.log_level);
  env("OCTOMIG_LOG_FORMAT", s.log_format);
  env("OCTOMIG_CA_FILE", s.ca_file);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        out = a.substr(eq + 1);
        return true;
      }
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    auto is = [&](const char* flag) {
      return a == flag || a.rfind(std::string(flag) + "=", 0) == 0;
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      exit_code = 0;
      return std::nullopt;
    } else if (is("--data-dir")) {
      ok = value(s.data_dir);
    } else if (is("--listen-tls")) {
      ok = value(s.listen_tls);
    } else if (is("--tls-cert")) {
      ok = value(s.tls_cert);
    } else if (is("--tls-key")) {
      ok = value(s.tls_key);
    } else if (is("--listen")) {
      ok = value(s.listen);
      s.listen_given = true;
    } else if (is("--threads")) {
      ok = value(threads);
    } else if (is("--log-level")) {
      ok = value(s.log_level);
    } else if (is("--log-format")) {
      ok = value(s.log_format);
    } else if (is("--max-upload-bytes")) {
      ok = value(max_upload);
    } else if (is("--max-concurrent-uploads")) {
      ok = value(max_uploads);
    } else if (is("--ca-file")) {
      ok = value(s.ca_file);
    } else if (is("--header-timeout")) {
      ok = value(header_timeout);
    } else if (is("--idle-timeout")) {
      ok = value(idle_timeout);
    } else if (is("--max-connections")) {
      ok = value(max_connections);
    } else {
      std::cerr << "octomigd: unknown option " << a << "\n\n" << usage;
      exit_code = 2;
      return std::nullopt;
    }
    if (!ok) {
      std::cerr << "octomigd: " << a << " needs a value\n";
      exit_code = 2;
      return std::nullopt;
    }
  }
  // A whole number from low to high, or a usage error naming the flag.
  auto count = [&](const std::string& text, const char* flag, long low, long high,
                   std::size_t& out) {
    if (text.empty()) return true;
    char* end = nullptr;
    long n = std::strtol(text.c_str(), &end, 10);
    if (*end || n < low || n > high) {
      std::cerr << "octomigd: " << flag << " takes a number from " << low << " to " << high << "\n";
      exit_code = 2;
      return false;
    }
    out = static_cast<std::size_t>(n);
    return true;
  };
  if (!count(threads, "--threads", 1, 256, s.threads)) return std::nullopt;
  if (!count(header_timeout, "--header-timeout", 1, 3600, s.header_timeout)) return std::nullopt;
  if (!count(idle_timeout, "--idle-timeout", 1, 3600, s.idle_timeout)) return std::nullopt;
  if (!count(max_connections, "--max-connections", 1, 1000000, s.max_connections))
    return std::nullopt;
  if (!count(max_uploads, "--max-concurrent-uploads", 1, 1024, s.max_concurrent_uploads))
    return std::nullopt;
  if (!max_upload.empty()) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(max_upload.c_str(), &end, 10);
    if (*end || errno || n == 0 || max_upload[0] == '-') {
      std::cerr << "octomigd: --max-upload-bytes takes a positive number of bytes\n";
      exit_code = 2;
      return std::nullopt;
    }
    s.max_upload_bytes = n;
  }
  if (s.tls_cert.empty() != s.tls_key.empty() || (!s.listen_tls.empty() && s.tls_cert.empty())) {
    std::cerr << "octomigd: HTTPS needs both --tls-cert and --tls-key\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!s.tls_cert.empty() && s.listen_tls.empty()) s.listen_tls = "127.0.0.1:8443";
  if (auto f = log::parse_log_format(s.log_format); !f) {
    std::cerr << "octomigd: --log-format: " << f.err().message << "\n";
    exit_code = 2;
    return std::nullopt;
  }
  if (!log::parse_level(s.log_level)) {
    std::cerr << "octomigd: --log-level takes error, warn, info or debug\n";
    exit_code = 2;
    return std::nullopt;
  }
  return s;
}

bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long p = std::strtol(listen.c_str() + colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535 || colon + 1 == listen.size()) return false;
  port = static_cast<std::uint16_t>(p);
  return !host.empty();
}

int run(const settings& s) {
  log::set_format(*log::parse_log_format(s.log_format));
  log::set_level(*log::parse_level(s.log_level));
  std::string host;
  std::uint16_t port = 0;
  if (!split_listen(s.listen, host, port)) {
    log::error("--listen must be HOST:PORT, not " + s.listen);
    return 2;
  }
  std::optional<http::tls_options> tls;
  if (!s.listen_tls.empty()) {
    tls.emplace();
    if (!split_listen(s.listen_tls, tls->address, tls->port)) {
      log::error("--listen-tls must be HOST:PORT, not " + s.listen_tls);
      return 2;
    }
    tls->cert_file = s.tls_cert;
    tls->key_file = s.tls_key;
  }

  // Signals are taken by sigwait in this thread only; every thread started later inherits the mask.
  // A fatal failure inside the engine raises SIGTERM too, with its reason kept here.
  static std::mutex fatal_mu;
  static std::optional<std::string> fatal_reason;
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reloads the TLS certificate
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  storage::data_dir dir{s.data_dir};
  if (auto st = storage::ensure_layout(dir); !st) return log::error(st.err().message), 1;
  auto master = storage::load_or_create_master_key(dir);
  if (!master) return log::error(master.err().message), 1;
  auto opened = storage::store::open({dir.db(), storage::open_mode::read_write, {}, true});
  if (!opened) return log::error(opened.err().message), 1;
  auto store = std::move(opened.value());

  // Nothing can be uploading yet: leftovers of a crash in the feed are removed before any request.
  auto swept = storage::sweep_feed(*store, dir.feed());
  if (!swept) return log::error(swept.err().message), 1;
  if (swept->publishes_completed || swept->publishes_dropped)
    log::info("package feed: completed " + std::to_string(swept->publishes_completed) +
              " and undid " + std::to_string(swept->publishes_dropped) +
              " package publish(es) an earlier run left unfinished");
  for (const auto& damage : swept->damaged) log::error("package feed: " + damage);
  if (swept->temporary_removed || swept->orphans_removed)
    log::info("package feed: removed " + std::to_string(swept->temporary_removed) +
              " unfinished upload(s) and " + std::to_string(swept->orphans_removed) +
              " unindexed package file(s) left by an earlier run");

  auto boot = storage::bootstrap(*store, dir, *master, runtime::now_us());
  if (!boot) return log::error(boot.err().message), 1;
  if (boot->created_admin_key)
    log::info("created an admin API key; it is in " + dir.admin_key_file().string() +
              " (mode 0600)");

  std::size_t threads = s.threads ? s.threads : std::max(2u, std::thread::hardware_concurrency());
  actors::engine_config ec;
  ec.store = store.get();
  ec.master_key = *master;
  ec.work_root = dir.work();
  ec.feed_root = dir.feed();
  auto exports = std::make_shared<actors::migration_services>();
  exports->store = store.get();
  exports->documents = std::make_shared<storage::documents>(*store, *master);
  ec.documents = exports->documents;
  exports->feed_root = dir.feed();
  exports->installation_id = boot->installation_id;
  exports->producer_version = OCTOMIG_VERSION;
  exports->ca_file = s.ca_file;
  // Test-only switches, from the environment so that they stay out of --help: a crash test
  // pauses a step to kill the server in it; a disk-full test caps the package's size; fast key
  // derivation and retries keep the tests quick. Each one set is logged as a warning: a server
  // with OCTOMIG_TEST_FAST_KDF makes weak packages.
  for (const char* name : {"OCTOMIG_TEST_PAUSE_IN_STEP", "OCTOMIG_TEST_PACKAGE_WRITE_LIMIT",
                           "OCTOMIG_TEST_FAST_KDF", "OCTOMIG_TEST_FAST_RETRIES"})
    if (const char* v = std::getenv(name); v && *v)
      log::warn(std::string("test switch ") + name + " is set: this server is not for real use");
  // "Build package", or "Build package:500" to pause 500 ms at most.
  if (const char* v = std::getenv("OCTOMIG_TEST_PAUSE_IN_STEP")) {
    std::string pause = v;
    if (auto colon = pause.rfind(':'); colon != std::string::npos) {
      exports->pause_for =
          std::chrono::milliseconds(std::strtoll(pause.c_str() + colon + 1, nullptr, 10));
      pause.resize(colon);
    }
    exports->pause_in_step = pause;
  }
  if (const char* v = std::getenv("OCTOMIG_TEST_PACKAGE_WRITE_LIMIT"))
    exports->package_write_limit = std::strtoull(v, nullptr, 10);
  if (const char* v = std::getenv("OCTOMIG_TEST_FAST_KDF"); v && *v == '1')
    exports->kdf = package::min_kdf_limits;
  if (const char* v = std::getenv("OCTOMIG_TEST_FAST_RETRIES"); v && *v == '1') {
    exports->push_first_backoff = std::chrono::milliseconds(20);
    ec.callbacks.first_backoff = std::chrono::milliseconds(20);
    ec.callbacks.max_backoff = std::chrono::milliseconds(200);
  }
  ec.callbacks.ca_file = s.ca_file;
  ec.pipelines = actors::builtin_pipelines(exports);
  ec.threads = threads;
  ec.on_fatal = [](const std::string& reason) {
    {
      std::lock_guard<std::mutex> lock(fatal_mu);
      if (!fatal_reason) fatal_reason = reason;
    }
    ::kill(::getpid(), SIGTERM);
  };
  auto eng = actors::engine::start(std::move(ec));
  if (!eng) return log::error(eng.err().message), 1;
  auto engine = std::move(eng.value());

  http::api_config ac;
  ac.store = store.get();
  ac.commands = &engine->commands();
  ac.master_key = *master;
  ac.installation_id = boot->installation_id;
  ac.version = OCTOMIG_VERSION;
  ac.data_dir = dir.root;
  ac.max_concurrent_uploads = s.max_concurrent_uploads;
  static http::connection_stats connections;  // outlives the server and the api
  ac.connections = &connections;
  http::api api(std::move(ac));

  http::server_options so;
  so.plain = !tls || s.listen_given;
  so.address = host;
  so.port = port;
  so.tls = tls;
  so.threads = threads;
  so.max_upload_bytes = s.max_upload_bytes;
  so.header_timeout = std::chrono::seconds(s.header_timeout);
  so.idle_timeout = std::chrono::seconds(s.idle_timeout);
  so.max_connections = s.max_connections;
  so.stats = &connections;
  http::server srv(
      so,
      [&api](const http::request& r, std::function<void(http::response)> done) {
        api.handle(r, std::move(done));
      },
      [&api](const http::request& head) { return api.plan_body(head); });
  auto bound = srv.start();
  if (!bound) {
    engine->stop();
    log::error(bound.err().message);
    // A certificate or key that is missing, unreadable or wrong is the caller's to fix.
    return bound.err().code == errc::invalid_argument ? 2 : 1;
  }
  auto bracketed = [](const std::string& h) {
    return h.find(':') != std::string::npos ? "[" + h + "]" : h;
  };
  if (so.plain)
    log::info("octomigd " + std::string(OCTOMIG_VERSION) + " listening on http://" +
              bracketed(host) + ":" + std::to_string(srv.port()) + "/api (data directory " +
              s.data_dir + ")");
  if (tls)
    log::info("octomigd " + std::string(OCTOMIG_VERSION) + " listening on https://" +
              bracketed(tls->address) + ":" + std::to_string(srv.tls_port()) +
              "/api (data directory " + s.data_dir + ")");

  int sig = 0;
  for (;;) {
    sigwait(&stop_signals, &sig);
    if (sig != SIGHUP) break;
    if (!tls) {
      log::info("received SIGHUP; there is no TLS certificate to reload");
      continue;
    }
    if (auto r = srv.reload_tls(); r)
      log::info("received SIGHUP; reloaded the TLS certificate " + tls->cert_file +
                " and key: new connections use them");
    else
      log::error("received SIGHUP; the TLS certificate was not reloaded, the old one stays: " +
                 r.err().message);
  }
  std::optional<std::string> failure;
  {
    std::lock_guard<std::mutex> lock(fatal_mu);
    failure = fatal_reason;
  }
  if (failure)
    log::error("stopping after a failure: " + *failure);
  else
    log::info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
              "; shutting down");
  srv.stop_accepting();
  engine->stop();  // the journal finishes the appends it holds
  srv.stop();
  engine.reset();
  store.reset();  // closes RocksDB
  if (failure) {
    log::error("stopped after a failure; the next start recovers");
    return 1;
  }
  log::info("stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int code = 0;
    auto s = parse_args(argc, argv, code);
    if (!s) return code;
    return run(*s);
  } catch (const std::exception& e) {
    std::cerr << "octomigd: fatal: " << e.what() << "\n";
    return 1;
  }
}
