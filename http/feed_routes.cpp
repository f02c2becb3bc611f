// The built-in package feed's routes (contract §4): push (a multipart body parsed as it arrives,
// its file part streamed into the feed), list, get, download and delete. Files and the index belong
// to storage/packages; this file only translates between them and the wire.
#include <algorithm>
#include <atomic>
#include <memory>

#include "events/time_format.hpp"
#include "http/json_util.hpp"
#include "http/multipart.hpp"
#include "http/routes.hpp"
#include "runtime/clock.hpp"
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

using ascii::lower;

response bad_request(const std::string& message) {
  return error_response(make_error(errc::invalid_argument, message));
}

class package_upload;

class feed_routes {
 public:
  explicit feed_routes(const api_config& cfg) : cfg_(cfg) {}

  // Uploads in progress, from the request's head until the answer: each holds up to six 1 MiB
  // buffers and a temporary file, so their number is capped (api_config::max_concurrent_uploads).
  class upload_slot {
   public:
    explicit upload_slot(std::atomic<std::size_t>& count) : count_(count) {}
    ~upload_slot() { --count_; }
    upload_slot(const upload_slot&) = delete;
    upload_slot& operator=(const upload_slot&) = delete;

   private:
    std::atomic<std::size_t>& count_;
  };

  std::unique_ptr<upload_slot> take_slot() const {
    auto n = uploads_.fetch_add(1) + 1;
    if (n > cfg_.max_concurrent_uploads) {
      --uploads_;
      return nullptr;
    }
    return std::make_unique<upload_slot>(uploads_);
  }

  static response too_many_uploads(std::size_t limit) {
    auto r = error_response(503, "Too many package uploads are in progress (the limit is " +
                                     std::to_string(limit) + "). Try again in a few seconds.");
    r.headers.emplace_back("Retry-After", "5");
    return r;
  }

  // Only the default space exists in octomig (as space_root and /api/spaces say).
  static bool known_space(const call& c) { return c.space_or_default() == default_space_id; }
  fs::path root() const { return cfg_.data_dir / "feed"; }
  storage::store* store() const { return cfg_.store; }

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

  // The sink a push's body goes to as it arrives (every decision is answered once the body has
  // ended, so that a client always reads a whole response); nullptr when every upload slot is
  // taken.
  std::shared_ptr<package_upload> start_push(const call& c) const;

  body_plan plan_push(const call& c) const;

  void push(const call& c, const respond_fn& respond) const;

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
      if (filter && !filter->empty() && !ascii::icontains(r.package_id, *filter)) continue;
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
    if (id.size() > 9 && ascii::istarts_with(id, "packages-")) id = id.substr(9);
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

  // The delete itself (a synced write and a file removal) runs in the engine, off this thread.
  void remove(const call& c, const respond_fn& respond) const {
    if (!known_space(c)) return respond(not_found());
    auto r = find(c);
    if (!r) return respond(r.err().code == errc::not_found ? not_found() : error_response(r.err()));
    auto self = this;
    cfg_.commands->unpublish_package(*r, [self, respond](result<storage::package_record> d) {
      if (!d) return respond(error_response(d.err()));
      respond(json_response(self->resource(*d)));
    });
  }

  actors::gateway& commands() const { return *cfg_.commands; }

 private:
  api_config cfg_;
  mutable std::atomic<std::size_t> uploads_{0};
};

// One push, as its body arrives: the multipart parser finds the file part; at the part's header the
// index decides whether its bytes are wanted at all (a FailIfExists duplicate is refused before a
// byte of it is written); the wanted bytes go straight into a package_writer, which hashes them on
// the way. The first decision or error is kept (the rest of the body is then read and dropped)
// and answered by complete(), once the body has ended.
class package_upload final : public body_sink {
 public:
  package_upload(const feed_routes& feed, const call& c,
                 std::unique_ptr<feed_routes::upload_slot> slot)
      : feed_(feed),
        slot_(std::move(slot)),
        space_(c.space_or_default()),
        may_replace_(c.caller.role == "admin"),
        boundary_(multipart_boundary(c.req.content_type)),
        parser_(
            boundary_.value_or("-"), [this](const file_part& p) { return on_part(p); },
            [this](const char* data, std::size_t n) { return writer_->write(data, n); }) {
    if (!feed_routes::known_space(c)) {
      answer_ = not_found();
      return;
    }
    auto m = feed_routes::mode(c.req);
    if (!m) {
      answer_ = error_response(m.err());
      return;
    }
    mode_ = *m;
    if (!boundary_) answer_ = bad_request(no_file_message);
  }

  void write(const char* data, std::size_t n) override {
    if (answer_) return;
    if (auto s = parser_.feed(data, n); !s && !answer_) answer_ = error_response(s.err());
  }

  bool ready(std::function<void()> resume) override {
    return answer_ || !writer_ || writer_->ready(std::move(resume));
  }

  // Answers the push once the body has ended: at once when something went wrong, otherwise once
  // the engine has published the package (finishing the file and writing the index take disk
  // syncs, which never run on this thread). The upload slot is given back just before the answer,
  // so a client that pushes again as soon as it has its answer finds it free.
  static void complete(std::shared_ptr<package_upload> self, respond_fn respond) {
    auto answer = [self, respond](response r) {
      self->slot_.reset();
      respond(std::move(r));
    };
    if (self->answer_) return answer(std::move(*self->answer_));
    auto done = self->parser_.finish();
    if (!done) return answer(error_response(done.err()));
    if (!*done) return answer(bad_request(no_file_message));
    if (self->writer_->size() == 0) return answer(bad_request(empty_file_message));
    storage::publish_command cmd;
    cmd.space_id = self->space_;
    cmd.identity = *self->id_;
    cmd.mode = self->mode_;
    cmd.may_replace = self->may_replace_;
    cmd.published = runtime::now_us();
    cmd.writer = std::move(self->writer_);
    const auto& feed = self->feed_;
    feed.commands().publish_package(
        std::move(cmd), [self, answer](result<storage::publish_outcome> out) {
          if (!out) return answer(error_response(out.err()));
          answer(json_response(self->feed_.resource(out->record), out->created ? 201 : 200));
        });
  }

 private:
  // Decides what the index allows before a byte is written; publish_package decides again under
  // its lock, since another push may land meanwhile.
  status on_part(const file_part& part) {
    auto id = storage::parse_package_file_name(part.file_name);
    if (!id) return stop(bad_request(id.err().message));
    id_ = std::move(*id);
    auto existing = storage::get_package(*feed_.store(), space_, id_->package_id, id_->version);
    if (existing) {
      if (mode_ == storage::overwrite_mode::ignore_if_exists)
        return stop(json_response(feed_.resource(*existing), 200));
      if (mode_ == storage::overwrite_mode::fail_if_exists)
        return stop(error_response(make_error(errc::conflict, storage::package_exists_message)));
    } else if (existing.err().code != errc::not_found) {
      return existing.err();
    }
    auto writer = storage::package_writer::create(feed_.root());
    if (!writer) return writer.err();
    writer_ = std::shared_ptr<storage::package_writer>(std::move(writer.value()));
    return ok_status();
  }

  // Ends the parsing with an answer already decided.
  status stop(response r) {
    answer_ = std::move(r);
    return make_error(errc::conflict, "the push was answered before its body ended");
  }

  const feed_routes& feed_;
  std::unique_ptr<feed_routes::upload_slot> slot_;
  std::string space_;
  bool may_replace_;
  storage::overwrite_mode mode_ = storage::overwrite_mode::fail_if_exists;
  std::optional<storage::package_identity> id_;
  std::shared_ptr<storage::package_writer> writer_;  // from the file part's header on
  std::optional<response> answer_;
  std::optional<std::string> boundary_;  // nullopt: not multipart/form-data
  multipart_parser parser_;              // last: its callbacks use the members above
};

std::shared_ptr<package_upload> feed_routes::start_push(const call& c) const {
  auto slot = take_slot();
  if (!slot) return nullptr;
  return std::make_shared<package_upload>(*this, c, std::move(slot));
}

body_plan feed_routes::plan_push(const call& c) const {
  body_plan plan;
  auto upload = start_push(c);
  if (!upload) {
    plan.how = body_plan::reject;
    plan.rejection = too_many_uploads(cfg_.max_concurrent_uploads);
    return plan;
  }
  plan.how = body_plan::to_sink;
  plan.sink = std::move(upload);
  return plan;
}

void feed_routes::push(const call& c, const respond_fn& respond) const {
  auto upload = std::dynamic_pointer_cast<package_upload>(c.req.sink);
  if (!upload) {
    // Without the server's planner (a handler called directly) the body arrived in memory.
    upload = start_push(c);
    if (!upload) return respond(too_many_uploads(cfg_.max_concurrent_uploads));
    upload->write(c.req.body.data(), c.req.body.size());
  }
  package_upload::complete(std::move(upload), respond);
}

}  // namespace

void add_package_routes(route_table& routes, const api_config& cfg) {
  auto f = std::make_shared<feed_routes>(cfg);
  auto h = [f](void (feed_routes::*m)(const call&, const respond_fn&) const) {
    return [f, m](const call& c, respond_fn r) { ((*f).*m)(c, r); };
  };
  routes.add("packages/raw", "POST", "packages/raw", access::user, both, h(&feed_routes::push),
             [f](const call& c) { return f->plan_push(c); });
  routes.add("packages", "GET", "packages", access::user, both, h(&feed_routes::list));
  routes.add("packages/{id}", "GET", "packages/{id}", access::user, both, h(&feed_routes::get));
  routes.add("packages/{id}/raw", "GET", "packages/{id}/raw", access::user, both,
             h(&feed_routes::raw));
  routes.add("packages/{id}", "DELETE", "packages/{id}", access::admin, both,
             h(&feed_routes::remove));
}

}  // namespace octomig::http
