// The built-in package feed's routes (contract §4): push (multipart, streamed from the server's
// temporary file into the feed), list, get, download and delete. Files and the index belong to
// storage/packages; this file only translates between them and the wire.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "events/time_format.hpp"
#include "http/json_util.hpp"
#include "http/multipart.hpp"
#include "http/routes.hpp"
#include "storage/packages.hpp"

namespace octomig::http {
namespace {

namespace fs = std::filesystem;

const char* list_template = "{/id}{?nuGetPackageId,filter,latest,skip,take,includeNotes}";
const char* no_file_message = "A package file must be provided";
const char* empty_file_message =
    "The uploaded package file had length equal to 0. Please upload a non-empty file.";
const char* not_in_index_message =
    "Package was not found in the index of the built-in package repository.";

events::timestamp_us now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

response bad_request(const std::string& message) {
  return error_response(make_error(errc::invalid_argument, message));
}

// Reads a file descriptor; closes it when destroyed.
struct fd_source {
  int fd = -1;
  ~fd_source() {
    if (fd >= 0) ::close(fd);
  }
  result<std::size_t> operator()(char* buf, std::size_t n) const {
    while (true) {
      auto k = ::read(fd, buf, n);
      if (k >= 0) return static_cast<std::size_t>(k);
      if (errno != EINTR) return make_error(errc::io_error, "cannot read the uploaded body");
    }
  }
};

class feed_routes {
 public:
  explicit feed_routes(const api_config& cfg) : cfg_(cfg) {}

  // Only the default space exists in octomig (as space_root and /api/spaces say).
  static bool known_space(const call& c) { return c.space_or_default() == "Spaces-1"; }
  fs::path root() const { return cfg_.data_dir / "feed"; }

  json::object resource(const storage::package_record& r) const {
    std::string id = "packages-" + r.package_id + "." + r.version;
    std::string self = "/api/" + r.space_id + "/packages/" + id;
    return json::object{{"Id", id},
                        {"PackageId", r.package_id},
                        {"NuGetPackageId", r.package_id},
                        {"Version", r.version},
                        {"Title", r.title},
                        {"Summary", nullptr},
                        {"Description", nullptr},
                        {"Published", events::octopus_date(r.published)},
                        {"ReleaseNotes", nullptr},
                        {"FileExtension", r.extension},
                        {"PackageSizeBytes", r.size_bytes},
                        {"Hash", r.sha1},
                        {"FeedId", "feeds-builtin"},
                        {"NuGetFeedId", "feeds-builtin"},
                        {"PackageVersionBuildInformation", nullptr},
                        {"Links", json::object{{"Self", self}, {"Raw", self + "/raw"}}}};
  }

  // FailIfExists unless overwriteMode (preferred) or the legacy replace says otherwise.
  static result<storage::overwrite_mode> mode(const request& req) {
    if (auto* m = req.param("overwritemode"); m && !m->empty()) {
      auto v = lower(*m);
      if (v == "failifexists") return storage::overwrite_mode::fail_if_exists;
      if (v == "overwriteexisting") return storage::overwrite_mode::overwrite_existing;
      if (v == "ignoreifexists") return storage::overwrite_mode::ignore_if_exists;
      return make_error(errc::invalid_argument,
                        "The value of 'overwriteMode' must be FailIfExists, OverwriteExisting or "
                        "IgnoreIfExists.");
    }
    if (auto* r = req.param("replace"); r && !r->empty()) {
      auto b = parse_bool(*r);
      if (!b)
        return make_error(errc::invalid_argument, "The value of 'replace' must be true or false.");
      return *b ? storage::overwrite_mode::overwrite_existing
                : storage::overwrite_mode::fail_if_exists;
    }
    return storage::overwrite_mode::fail_if_exists;
  }

  // Runs on the session's I/O thread: copying and hashing a large package occupies that thread
  // (not the others) for about as long as reading the file once.
  void push(const call& c, const respond_fn& respond) const {
    if (!known_space(c)) return respond(not_found());
    auto m = mode(c.req);
    if (!m) return respond(error_response(m.err()));
    bool admin = c.caller.role == "admin";

    auto boundary = multipart_boundary(c.req.content_type);
    if (!boundary) return respond(bad_request(no_file_message));
    byte_source source;
    auto file = std::make_shared<fd_source>();
    if (!c.req.body_file.empty()) {
      file->fd = ::open(c.req.body_file.c_str(), O_RDONLY | O_CLOEXEC);
      if (file->fd < 0) return respond(error_response(500, "The uploaded body cannot be read."));
      source = [file](char* buf, std::size_t n) { return (*file)(buf, n); };
    } else {
      // Without the server's planner the body arrives in memory (small bodies in tests).
      auto offset = std::make_shared<std::size_t>(0);
      source = [&body = c.req.body, offset](char* buf, std::size_t n) -> result<std::size_t> {
        auto k = std::min(n, body.size() - *offset);
        std::copy_n(body.data() + *offset, k, buf);
        *offset += k;
        return k;
      };
    }
    multipart_reader reader(*boundary, std::move(source));
    auto part = reader.next_file_part();
    if (!part) return respond(error_response(part.err()));
    if (!*part) return respond(bad_request(no_file_message));

    auto id = storage::parse_package_file_name((*part)->file_name);
    if (!id) return respond(bad_request(id.err().message));
    std::string space = c.space_or_default();

    // Decide what the index allows before copying a byte; publish_package decides again under its
    // lock, since another push may land meanwhile.
    auto existing = storage::get_package(*cfg_.store, space, id->package_id, id->version);
    if (existing) {
      if (*m == storage::overwrite_mode::ignore_if_exists)
        return respond(json_response(resource(*existing), 200));
      if (*m == storage::overwrite_mode::fail_if_exists)
        return respond(error_response(make_error(errc::conflict, storage::package_exists_message)));
    } else if (existing.err().code != errc::not_found) {
      return respond(error_response(existing.err()));
    }

    auto writer = storage::package_writer::create(root());
    if (!writer) return respond(error_response(writer.err()));
    auto* w = writer->get();
    auto copied =
        reader.copy_part([w](const char* data, std::size_t n) { return w->write(data, n); });
    if (!copied) return respond(error_response(copied.err()));
    if (w->size() == 0) return respond(bad_request(empty_file_message));

    auto out = storage::publish_package(*cfg_.store, root(), std::move(writer.value()), space, *id,
                                        *m, admin, now_us());
    if (!out) return respond(error_response(out.err()));
    respond(json_response(resource(out->record), out->created ? 201 : 200));
  }

  void list(const call& c, const respond_fn& respond) const {
    if (!known_space(c)) return respond(not_found());
    auto p = parse_paging(c.req);
    if (!p) return respond(error_response(p.err()));
    auto* nuget = c.req.param("nugetpackageid");
    auto* filter = c.req.param("filter");
    if (nuget && !nuget->empty() && filter && !filter->empty())
      return respond(bad_request("Only one of either nuGetPackageId or filter may be specified."));
    bool latest = false;
    if (auto* l = c.req.param("latest"); l && !l->empty()) latest = parse_bool(*l).value_or(false);

    auto rows = storage::list_packages(*cfg_.store, c.space_or_default());
    if (!rows) return respond(error_response(rows.err()));
    std::vector<storage::package_record> kept;
    for (auto& r : *rows) {
      if (nuget && !nuget->empty() && !iequals(r.package_id, *nuget)) continue;
      if (filter && !filter->empty() && !contains_ci(r.package_id, *filter)) continue;
      kept.push_back(std::move(r));
    }
    // Package ids A to Z, each one's newest version first, so that `latest` keeps the first.
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      auto la = lower(a.package_id), lb = lower(b.package_id);
      if (la != lb) return la < lb;
      return storage::compare_versions(a.version, b.version) > 0;
    });
    if (latest)
      kept.erase(std::unique(kept.begin(), kept.end(),
                             [](const auto& a, const auto& b) {
                               return iequals(a.package_id, b.package_id);
                             }),
                 kept.end());
    json::array items;
    for (std::size_t i = p->skip; i < kept.size() && items.size() < p->take; ++i)
      items.push_back(resource(kept[i]));
    respond(
        json_response(collection("PackageFromBuiltInFeed", std::move(items), kept.size(), *p,
                                 c.base() + "/packages", c.base() + "/packages" + list_template)));
  }

  // The package named by the route's id, with or without the "packages-" prefix.
  result<storage::package_record> find(const call& c) const {
    std::string id = c.param("id");
    if (id.size() > 9 && iequals(id.substr(0, 9), "packages-")) id = id.substr(9);
    if (id.empty()) return make_error(errc::invalid_argument, "No id parameter was provided.");
    return storage::find_package(*cfg_.store, c.space_or_default(), id);
  }

  void get(const call& c, const respond_fn& respond) const {
    if (!known_space(c)) return respond(not_found());
    auto r = find(c);
    if (!r) return respond(r.err().code == errc::not_found ? not_found() : error_response(r.err()));
    respond(json_response(resource(*r)));
  }

  void raw(const call& c, const respond_fn& respond) const {
    if (!known_space(c)) return respond(not_found());
    auto r = find(c);
    if (!r)
      return respond(r.err().code == errc::not_found ? bad_request(not_in_index_message)
                                                     : error_response(r.err()));
    response out;
    out.content_type = "application/octet-stream";
    out.body_file = storage::package_path(root(), *r).string();
    out.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"" + r->file_name + "\"");
    respond(std::move(out));
  }

  void remove(const call& c, const respond_fn& respond) const {
    if (!known_space(c)) return respond(not_found());
    auto r = find(c);
    if (!r) return respond(r.err().code == errc::not_found ? not_found() : error_response(r.err()));
    if (auto d = storage::delete_package(*cfg_.store, root(), *r); !d)
      return respond(error_response(d.err()));
    respond(json_response(resource(*r)));
  }

 private:
  api_config cfg_;
};

}  // namespace

void add_package_routes(route_table& routes, const api_config& cfg) {
  auto f = std::make_shared<feed_routes>(cfg);
  auto h = [f](void (feed_routes::*m)(const call&, const respond_fn&) const) {
    return [f, m](const call& c, respond_fn r) { ((*f).*m)(c, r); };
  };
  routes.add("packages/raw", "POST", "packages/raw", access::user, both, h(&feed_routes::push),
             true);
  routes.add("packages", "GET", "packages", access::user, both, h(&feed_routes::list));
  routes.add("packages/{id}", "GET", "packages/{id}", access::user, both, h(&feed_routes::get));
  routes.add("packages/{id}/raw", "GET", "packages/{id}/raw", access::user, both,
             h(&feed_routes::raw));
  routes.add("packages/{id}", "DELETE", "packages/{id}", access::admin, both,
             h(&feed_routes::remove));
}

}  // namespace octomig::http
