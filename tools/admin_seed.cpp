// `seed`: fills a stopped server's store with a realistic, deterministic instance that uses every
// collection of the schema table, for tests, demos and benchmarks (issue 3, "Sample instances").
//
// Every document goes through documents::execute, the API's own write path, so a seed exercises
// validation, references, the name index and the id counters exactly as clients would. History
// tasks are recorded the event-sourced way: decide(cmd::record) then one append, so the task
// projection and task_logs come from the same fold as for tasks that ran here (design §7).
//
// Determinism: the only inputs are the sizes and --seed. Nothing reads the clock or the system's
// random source for document content: element ids, names, secrets and times come from one
// seeded generator, so the same arguments give the same documents (their sealed bytes on disk
// differ, because sealing uses a fresh nonce and the data directory's own master key).
#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/defaults.hpp"
#include "events/decide.hpp"
#include "events/time_format.hpp"
#include "migration/schema.hpp"
#include "storage/data_dir.hpp"
#include "storage/documents.hpp"
#include "tools/admin_commands.hpp"
#include "tools/admin_store.hpp"

namespace octomig::admin {
namespace {

namespace json = boost::json;
using events::timestamp_us;

constexpr const char* space = default_space_id;
// Every seeded time counts from here (2025-01-06T09:00:00Z), never from the clock.
constexpr timestamp_us origin = 1'736'154'000'000'000;
constexpr timestamp_us second = 1'000'000;

// Upper bounds that keep a typo from filling the disk; well above any benchmark's needs.
constexpr std::uint64_t max_projects = 100'000;
constexpr std::uint64_t max_per_parent = 100;  // releases per project, deployments per release
constexpr std::uint64_t max_log_lines = 10'000;

// SplitMix64: tiny, fast and specified bit for bit, unlike the standard distributions, whose
// output may differ between standard libraries and would break "same seed, same instance".
class generator {
 public:
  explicit generator(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform enough for sample data: the modulo bias is far below anything a seed can show.
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  bool percent(unsigned p) { return below(100) < p; }
  std::string hex(std::size_t chars) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    while (out.size() < chars) {
      std::uint64_t v = next();
      for (int i = 0; i < 16 && out.size() < chars; ++i, v >>= 4) out += digits[v & 15];
    }
    return out;
  }
  // An RFC 4122 version 4 shape, so element ids look like the ones the server makes.
  std::string uuid() {
    std::string h = hex(32);
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
  }

 private:
  std::uint64_t state_;
};

struct sizes {
  std::uint64_t projects = 0;
  std::uint64_t releases = 2;
  std::uint64_t deployments = 2;
  std::uint64_t log_lines = 20;
  std::uint64_t seed = 1;
};

json::object sensitive(const std::string& plain) {
  return json::object{{"HasValue", true}, {"NewValue", plain}};
}

json::array ids(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

// Picks a name from a list; past the list's end the names get a number, so they stay unique.
std::string numbered(const std::vector<const char*>& names, std::uint64_t i) {
  std::string n = names[i % names.size()];
  if (i >= names.size()) n += " " + std::to_string(i / names.size() + 1);
  return n;
}

struct environment {
  std::string id, name, short_name;
};

struct lifecycle {
  std::string id;
  std::vector<std::size_t> phases;  // indexes into the environments, in promotion order
};

struct machine {
  std::string id, name;
};

struct project {
  std::string id, name, slug;
  std::size_t lifecycle_index = 0;
  std::string tenant;  // empty: untenanted
};

class seeder {
 public:
  seeder(storage::store& st, storage::documents& docs, const sizes& z)
      : st_(st), docs_(docs), z_(z), rng_(z.seed) {}

  status run() {
    environments();
    project_groups();
    lifecycles();
    library_variable_sets();
    projects();
    tenants();
    certificates();
    accounts();
    feeds();
    worker_pools();
    workers();
    action_templates();
    machines();
    library_variables();
    if (failed_) return *failed_;
    for (std::size_t i = 0; i < projects_.size(); ++i)
      if (auto s = project_contents(projects_[i], i); !s) return s;
    return ok_status();
  }

  std::map<std::string, std::uint64_t> created;  // documents per collection
  std::uint64_t tasks = 0, log_lines = 0, failed_tasks = 0;

 private:
  // The first failure stops the seed: later calls do nothing and return "".
  std::string make(const std::string& collection, json::object body) {
    if (failed_) return {};
    auto r = docs_.execute({storage::document_op::create, space, collection, {}, std::move(body)});
    if (!r) {
      failed_ = make_error(r.err().code, "seeding " + collection + ": " + r.err().message);
      return {};
    }
    ++created[collection];
    for (const auto& side : migration::find_collection(collection)->creates)
      ++created[side.collection];
    return std::string(r->at("Id").as_string());
  }

  void replace(const std::string& collection, const std::string& id, json::object body) {
    if (failed_) return;
    auto r = docs_.execute({storage::document_op::replace, space, collection, id, std::move(body)});
    if (!r)
      failed_ =
          make_error(r.err().code, "seeding " + collection + " " + id + ": " + r.err().message);
  }

  void environments() {
    const char* names[][2] = {
        {"Development", "dev"}, {"Test", "test"}, {"Staging", "stage"}, {"Production", "prod"}};
    int order = 0;
    for (auto& n : names) {
      const bool prod = std::string(n[0]) == "Production";
      auto id =
          make("Environments", {{"Name", n[0]},
                                {"Description", std::string("Where ") + n[1] + " deployments land"},
                                {"SortOrder", order++},
                                {"UseGuidedFailure", prod},
                                {"AllowDynamicInfrastructure", !prod}});
      envs_.push_back({id, n[0], n[1]});
    }
  }

  std::vector<std::string> env_ids(const std::vector<std::size_t>& which) const {
    std::vector<std::string> out;
    for (auto i : which) out.push_back(envs_[i].id);
    return out;
  }
  std::vector<std::string> all_env_ids() const { return env_ids({0, 1, 2, 3}); }

  void project_groups() {
    static const std::vector<const char*> teams = {
        "Payments", "Identity", "Storefront", "Logistics", "Analytics",
        "Platform", "Mobile",   "Billing",    "Search",    "Notifications"};
    const std::uint64_t n =
        std::min<std::uint64_t>(std::max<std::uint64_t>(1, (z_.projects + 24) / 25), 40);
    for (std::uint64_t g = 0; g < n; ++g)
      groups_.push_back(make("ProjectGroups", {{"Name", numbered(teams, g)},
                                               {"Description", "Services of the team"},
                                               {"EnvironmentIds", ids(all_env_ids())}}));
  }

  void lifecycles() {
    struct spec {
      const char* name;
      std::vector<std::size_t> phases;
    };
    const std::vector<spec> specs = {
        {"Default Lifecycle", {0, 1, 2, 3}}, {"Hotfix", {2, 3}}, {"Internal Tools", {0, 1}}};
    for (const auto& s : specs) {
      json::array phases;
      bool first = true;
      for (auto p : s.phases) {
        // The first phase deploys on its own; later ones wait for a person to promote.
        json::array automatic, optional;
        (first ? automatic : optional).emplace_back(envs_[p].id);
        phases.push_back(json::object{{"Id", rng_.uuid()},
                                      {"Name", envs_[p].name},
                                      {"AutomaticDeploymentTargets", automatic},
                                      {"OptionalDeploymentTargets", optional},
                                      {"MinimumEnvironmentsBeforePromotion", 0},
                                      {"IsOptionalPhase", false}});
        first = false;
      }
      lifecycles_.push_back({make("Lifecycles", {{"Name", s.name},
                                                 {"Description", "Shared by many projects"},
                                                 {"Phases", std::move(phases)}}),
                             s.phases});
    }
  }

  void library_variable_sets() {
    for (const char* n : {"Shared Settings", "Database Connections", "Notifications"})
      libraries_.push_back(make("LibraryVariableSets",
                                {{"Name", n}, {"Description", "Variables shared by projects"}}));
  }

  void projects() {
    static const std::vector<const char*> components = {
        "Web Portal",     "Order API",      "Inventory Service", "Checkout",
        "Auth Gateway",   "Search Indexer", "Report Builder",    "Email Sender",
        "Pricing Engine", "Mobile Backend", "Admin Console",     "Image Resizer"};
    for (std::uint64_t i = 0; i < z_.projects; ++i) {
      project p;
      p.name = numbered(components, i);
      p.slug = migration::slugify(p.name);
      // Most projects follow the default lifecycle; one in five is an internal tool.
      p.lifecycle_index = i % 5 == 4 ? 2 : 0;
      json::array libs{libraries_[0]};
      if (i % 2) libs.emplace_back(libraries_[1 + i % 4 / 2]);
      const bool tenanted = i % 3 == 0;
      p.id = make("Projects",
                  {{"Name", p.name},
                   {"Description", "Deploys " + p.name + " to every environment"},
                   {"ProjectGroupId", groups_[i % groups_.size()]},
                   {"LifecycleId", lifecycles_[p.lifecycle_index].id},
                   {"IncludedLibraryVariableSetIds", std::move(libs)},
                   {"TenantedDeploymentMode", tenanted ? "TenantedOrUntenanted" : "Untenanted"}});
      if (tenanted) p.tenant = "pending";  // named once the tenants exist
      projects_.push_back(std::move(p));
    }
  }

  void tenants() {
    static const std::vector<const char*> names = {"Acme Corp", "Globex", "Initech", "Umbrella",
                                                   "Hooli",     "Stark",  "Wayne",   "Wonka",
                                                   "Cyberdyne", "Soylent"};
    const std::uint64_t n =
        std::min<std::uint64_t>(std::max<std::uint64_t>(2, z_.projects / 10), 200);
    std::vector<json::object> connected(n);
    std::uint64_t k = 0;
    for (auto& p : projects_) {
      if (p.tenant.empty()) continue;
      // A tenant is deployed to the environments customers use.
      connected[k++ % n][p.id] = ids(env_ids({2, 3}));
    }
    for (std::uint64_t t = 0; t < n; ++t)
      tenants_.push_back(make("Tenants", {{"Name", numbered(names, t)},
                                          {"Description", "A customer with its own stack"},
                                          {"ProjectEnvironments", std::move(connected[t])}}));
    k = 0;
    for (auto& p : projects_)
      if (!p.tenant.empty()) p.tenant = tenants_[k++ % n];
  }

  void certificates() {
    certificate_ =
        make("Certificates", {{"Name", "Wildcard example.com"},
                              {"Notes", "Public TLS certificate of the customer sites"},
                              {"CertificateData", sensitive("MII" + rng_.hex(120))},
                              {"Password", sensitive(rng_.hex(24))},
                              {"EnvironmentIds", ids(env_ids({2, 3}))},
                              {"TenantIds", ids({tenants_[0]})},
                              {"TenantedDeploymentParticipation", "TenantedOrUntenanted"}});
    make("Certificates", {{"Name", "Internal CA"},
                          {"CertificateData", sensitive("MII" + rng_.hex(120))},
                          {"EnvironmentIds", ids(env_ids({0, 1}))}});
  }

  void accounts() {
    aws_ = make("Accounts", {{"Name", "AWS Production"},
                             {"AccountType", "AmazonWebServicesAccount"},
                             {"AccessKey", "AKIA" + rng_.hex(16)},
                             {"SecretKey", sensitive(rng_.hex(40))},
                             {"EnvironmentIds", ids(env_ids({2, 3}))}});
    make("Accounts", {{"Name", "Azure Subscription"},
                      {"AccountType", "AzureServicePrincipal"},
                      {"SubscriptionNumber", rng_.uuid()},
                      {"ClientId", rng_.uuid()},
                      {"TenantId", rng_.uuid()},  // Azure's tenant, not an Octopus one
                      {"ClientSecret", sensitive(rng_.hex(32))}});
    ssh_user_ = make("Accounts", {{"Name", "Linux deploy user"},
                                  {"AccountType", "UsernamePassword"},
                                  {"Username", "deploy"},
                                  {"Password", sensitive(rng_.hex(20))}});
    make("Accounts", {{"Name", "Customer API token"},
                      {"AccountType", "Token"},
                      {"Token", sensitive(rng_.hex(40))},
                      {"TenantIds", ids({tenants_[0]})},
                      {"TenantedDeploymentParticipation", "Tenanted"}});
  }

  void feeds() {
    nuget_ = make("Feeds", {{"Name", "NuGet.org"},
                            {"FeedType", "NuGet"},
                            {"FeedUri", "https://api.nuget.org/v3/index.json"}});
    make("Feeds", {{"Name", "Docker Hub"},
                   {"FeedType", "Docker"},
                   {"FeedUri", "https://index.docker.io"},
                   {"Username", "octomig"},
                   {"Password", sensitive(rng_.hex(32))}});
    make("Feeds", {{"Name", "Internal Artifactory"},
                   {"FeedType", "Maven"},
                   {"FeedUri", "https://artifactory.example.com/maven"},
                   {"Username", "ci"},
                   {"Password", sensitive(rng_.hex(32))}});
  }

  void worker_pools() {
    int order = 0;
    for (const char* n : {"Default Worker Pool", "Linux Workers", "Windows Workers"}) {
      ++order;
      pools_.push_back(make("WorkerPools", {{"Name", n},
                                            {"IsDefault", order == 1},
                                            {"SortOrder", order},
                                            {"Description", "Runs steps that need no target"}}));
    }
  }

  void workers() {
    for (std::size_t p = 0; p < pools_.size(); ++p)
      for (int w = 1; w <= 2; ++w) {
        const std::string name = std::string(p == 2 ? "worker-win-" : "worker-linux-") +
                                 std::to_string(p) + std::to_string(w);
        json::object endpoint;
        if (p == 1 && w == 2)  // one worker over SSH, with the deploy user's account
          endpoint = {{"CommunicationStyle", "Ssh"},
                      {"Host", name + ".example.com"},
                      {"Port", 22},
                      {"AccountId", ssh_user_},
                      {"Fingerprint", rng_.hex(32)}};
        else
          endpoint = {{"CommunicationStyle", "TentaclePassive"},
                      {"Uri", "https://" + name + ".example.com:10933/"},
                      {"Thumbprint", rng_.hex(40)}};
        make("Workers", {{"Name", name},
                         {"WorkerPoolIds", ids({pools_[p]})},
                         {"Endpoint", std::move(endpoint)}});
      }
  }

  void action_templates() {
    notify_ = make(
        "ActionTemplates",
        {{"Name", "Notify Slack"},
         {"Description", "Posts the deployment's outcome to a channel"},
         {"ActionType", "Octopus.Script"},
         {"Properties",
          {{"Octopus.Action.Script.Syntax", "Bash"},
           {"Octopus.Action.Script.ScriptBody",
            "curl -s -X POST \"$SlackWebhookUrl\" -d \"$Message\""}}},
         {"Parameters",
          json::array{
              json::object{{"Id", rng_.uuid()},
                           {"Name", "SlackWebhookUrl"},
                           {"Label", "Webhook URL"},
                           {"DisplaySettings", {{"Octopus.ControlType", "Sensitive"}}}},
              json::object{{"Id", rng_.uuid()},
                           {"Name", "Message"},
                           {"Label", "Message"},
                           {"DefaultValue", "#{Octopus.Project.Name} deployed"},
                           {"DisplaySettings", {{"Octopus.ControlType", "SingleLineText"}}}}}}});
    migrate_ = make("ActionTemplates",
                    {{"Name", "Run database migrations"},
                     {"ActionType", "Octopus.Script"},
                     {"Properties",
                      {{"Octopus.Action.Script.Syntax", "Bash"},
                       {"Octopus.Action.Script.ScriptBody", "./migrate --connection \"$Db\""}}},
                     {"Parameters",
                      json::array{json::object{
                          {"Id", rng_.uuid()}, {"Name", "Db"}, {"Label", "Connection string"}}}}});
  }

  // Target roles: one per deployment step, so that every step finds targets in every environment.
  static const std::vector<const char*>& roles() {
    static const std::vector<const char*> r = {"web-server", "app-server", "db-server"};
    return r;
  }

  void machines() {
    const std::uint64_t per =
        std::min<std::uint64_t>(std::max<std::uint64_t>(1, z_.projects / 100), 20);
    for (std::size_t e = 0; e < envs_.size(); ++e)
      for (std::size_t r = 0; r < roles().size(); ++r)
        for (std::uint64_t k = 1; k <= per; ++k) {
          std::string role = roles()[r];
          std::string name = envs_[e].short_name + "-" + role.substr(0, role.find('-')) + "-" +
                             (k < 10 ? "0" : "") + std::to_string(k);
          json::object body{{"Name", name},
                            {"EnvironmentIds", ids({envs_[e].id})},
                            {"Roles", json::array{role, "linux"}}};
          if (role == "db-server" && e >= 2) {
            body["Endpoint"] = {{"CommunicationStyle", "Ssh"},
                                {"Host", name + ".example.com"},
                                {"Port", 22},
                                {"AccountId", ssh_user_},
                                {"Fingerprint", rng_.hex(32)}};
          } else {
            body["Endpoint"] = {{"CommunicationStyle", "TentaclePassive"},
                                {"Uri", "https://" + name + ".example.com:10933/"},
                                {"Thumbprint", rng_.hex(40)}};
          }
          if (role == "web-server" && e == 3 && k == 1) {  // a customer's dedicated web server
            body["TenantIds"] = ids({tenants_[0]});
            body["TenantedDeploymentParticipation"] = "TenantedOrUntenanted";
          }
          auto id = make("Machines", std::move(body));
          if (e == 0 && r == 0 && k == 1) dev_web_ = {id, name};
          machines_[envs_[e].id].push_back({id, name});
        }
  }

  // Every seeded value is text: Octopus stores variable values as strings, ids included.
  json::object variable(const std::string& name, const std::string& value, const std::string& type,
                        json::object scope = {}) {
    const bool secret = type == "Sensitive";
    return {{"Id", rng_.uuid()},      {"Name", name},          {"Value", value},
            {"Type", type},           {"IsSensitive", secret}, {"Scope", std::move(scope)},
            {"Description", nullptr}, {"Prompt", nullptr}};
  }

  json::object env_scope(std::size_t e) const { return {{"Environment", ids({envs_[e].id})}}; }

  void library_variables() {
    if (failed_) return;
    const std::string owner_vs = "variableset-";
    json::array shared{variable("Company.Domain", "example.com", "String"),
                       variable("Smtp.Password", rng_.hex(24), "Sensitive"),
                       variable("Tls.Certificate", certificate_, "Certificate", env_scope(3)),
                       variable("Aws.Account", aws_, "AmazonWebServicesAccount")};
    json::array db;
    for (std::size_t e = 0; e < envs_.size(); ++e) {
      db.push_back(variable("Db.Server", "db." + envs_[e].short_name + ".example.com", "String",
                            env_scope(e)));
      db.push_back(variable("Db.Password", rng_.hex(24), "Sensitive", env_scope(e)));
    }
    json::array notify{
        variable("Slack.Webhook", "https://hooks.slack.example/" + rng_.hex(24), "Sensitive"),
        variable("Slack.Channel", "#deployments", "String")};
    json::array* sets[] = {&shared, &db, &notify};
    for (std::size_t i = 0; i < libraries_.size(); ++i)
      replace("VariableSets", owner_vs + libraries_[i], {{"Variables", std::move(*sets[i])}});
  }

  // A project's channels, variables, process, releases, deployments and their history tasks.
  status project_contents(const project& p, std::size_t index) {
    auto channel = docs_.find_by_name(space, "Channels", p.id, "Default");
    if (!channel)
      return make_error(channel.err().code, "seeding " + p.id + ": " + channel.err().message);
    const std::string default_channel(channel->at("Id").as_string());
    const std::string hotfix =
        make("Channels", {{"Name", "Hotfix"},
                          {"ProjectId", p.id},
                          {"LifecycleId", lifecycles_[1].id},
                          {"Description", "Urgent fixes straight to staging"}});

    const auto& prod_web = machines_[envs_[3].id].front();
    json::array vars;
    for (std::size_t e = 0; e < envs_.size(); ++e)
      vars.push_back(variable("App.Url",
                              "https://" + p.slug + "." + envs_[e].short_name + ".example.com",
                              "String", env_scope(e)));
    vars.push_back(variable("App.ApiKey", rng_.hex(32), "Sensitive", env_scope(3)));
    vars.push_back(variable("App.Certificate", certificate_, "Certificate", env_scope(3)));
    vars.push_back(variable("App.AwsAccount", aws_, "AmazonWebServicesAccount"));
    vars.push_back(variable("App.BuildPool", pools_[1], "WorkerPool"));
    vars.push_back(variable("App.LogLevel", "Debug", "String", {{"Machine", ids({dev_web_.id})}}));
    vars.push_back(
        variable("App.LogLevel", "Warning", "String", {{"Machine", ids({prod_web.id})}}));
    vars.push_back(variable("App.IsHotfix", "true", "String", {{"Channel", ids({hotfix})}}));
    replace("VariableSets", "variableset-" + p.id, {{"Variables", std::move(vars)}});
    replace("DeploymentProcesses", "deploymentprocess-" + p.id, {{"Steps", process(p, hotfix)}});
    if (failed_) return *failed_;

    // A deployment names its task and the task names its deployment: the tasks are recorded
    // first (the documents refuse a TaskId without its task), with the ids the deployments will
    // get, which the seed, the only writer, knows in advance.
    auto first = docs_.next_id("Deployments");
    if (!first) return first.err();
    const std::string id_prefix = first->substr(0, first->rfind('-') + 1);
    const std::uint64_t first_number = std::stoull(first->substr(id_prefix.size()));
    auto highest_task = st_.highest_task_number();
    if (!highest_task) return highest_task.err();
    std::vector<storage::append_request> recorded;
    std::vector<std::pair<std::string, json::object>> deployments;  // expected id, body
    for (std::uint64_t r = 0; r < z_.releases; ++r) {
      const std::string version = std::to_string(1 + r / 10) + "." + std::to_string(r % 10) + "." +
                                  std::to_string(index % 7);
      // Every fourth release is a hotfix: its channel's lifecycle promotes Staging then Production.
      const bool is_hotfix = r % 4 == 3;
      const auto& phases =
          is_hotfix ? lifecycles_[1].phases : lifecycles_[p.lifecycle_index].phases;
      const timestamp_us assembled = task_time(index, r, 0) - 600 * second;
      const std::string release =
          make("Releases",
               {{"Version", version},
                {"ProjectId", p.id},
                {"ChannelId", is_hotfix ? hotfix : default_channel},
                {"ReleaseNotes", "Fixes and improvements to " + p.name},
                {"Assembled", events::octopus_date(assembled)},
                {"SelectedPackages", json::array{json::object{{"ActionName", "Deploy web site"},
                                                              {"PackageReferenceName", ""},
                                                              {"Version", version}},
                                                 json::object{{"ActionName", "Deploy API service"},
                                                              {"PackageReferenceName", ""},
                                                              {"Version", version}}}}});
      if (failed_) return *failed_;
      for (std::uint64_t d = 0; d < z_.deployments; ++d) {
        const std::size_t env = phases[d % phases.size()];
        const std::string task_id =
            "ServerTasks-" + std::to_string(*highest_task + 1 + recorded.size());
        const std::string deployment =
            id_prefix + std::to_string(first_number + deployments.size());
        json::object body{{"ReleaseId", release},
                          {"EnvironmentId", envs_[env].id},
                          {"ProjectId", p.id},
                          {"ChannelId", is_hotfix ? hotfix : default_channel},
                          {"TaskId", task_id},
                          {"Name", "Deploy to " + envs_[env].name},
                          {"Created", events::octopus_date(task_time(index, r, d))}};
        // Tenanted projects deploy to their tenant where the tenant is connected (Staging, Prod).
        if (!p.tenant.empty() && env >= 2 && d % 2 == 1) body["TenantId"] = p.tenant;
        deployments.emplace_back(deployment, std::move(body));
        auto req =
            history_task(p, version, envs_[env], deployment, task_id, task_time(index, r, d));
        if (!req) return req.err();
        recorded.push_back(std::move(*req));
      }
    }
    // One write for the project's history: the tasks of one project land together or not at all.
    if (!recorded.empty())
      for (auto& a : st_.append(recorded))
        if (!a)
          return make_error(a.err().code,
                            "recording the tasks of " + p.id + ": " + a.err().message);
    for (auto& [expected, body] : deployments) {
      const std::string id = make("Deployments", std::move(body));
      if (failed_) return *failed_;
      if (id != expected)
        return make_error(errc::conflict, "seeding " + p.id + ": the deployment recorded as " +
                                              expected + " was created as " + id +
                                              "; another writer is using the store");
    }
    return ok_status();
  }

  // When the d-th deployment of release r of project i was queued: one every few minutes, in
  // order, so the task list reads like a real history.
  timestamp_us task_time(std::size_t i, std::uint64_t r, std::uint64_t d) const {
    const std::uint64_t n = (i * z_.releases + r) * z_.deployments + d;
    return origin + static_cast<timestamp_us>(n) * 180 * second;
  }

  json::array process(const project& p, const std::string& hotfix) {
    auto package = [&](const std::string& id, const std::string& feed) {
      return json::object{{"Id", rng_.uuid()},
                          {"Name", ""},
                          {"PackageId", id},
                          {"FeedId", feed},
                          {"AcquisitionLocation", "Server"},
                          {"Properties", json::object{}}};
    };
    auto step = [&](const std::string& name, const char* role, json::object action) {
      action["Id"] = rng_.uuid();
      action["Name"] = name;
      action["IsDisabled"] = false;
      for (const char* k : {"Environments", "ExcludedEnvironments", "Channels", "Packages"})
        if (!action.contains(k)) action[k] = json::array{};
      json::object props;
      if (role) props["Octopus.Action.TargetRoles"] = role;
      return json::object{{"Id", rng_.uuid()},
                          {"Name", name},
                          {"Condition", "Success"},
                          {"StartTrigger", "StartAfterPrevious"},
                          {"PackageRequirement", "LetOctopusDecide"},
                          {"Properties", std::move(props)},
                          {"Actions", json::array{std::move(action)}}};
    };
    return json::array{
        step("Deploy web site", roles()[0],
             {{"ActionType", "Octopus.TentaclePackage"},
              {"Packages", json::array{package(p.slug + ".web", "feeds-builtin")}},
              {"Properties",
               {{"Octopus.Action.Package.PackageId", p.slug + ".web"},
                {"Octopus.Action.Package.FeedId", "feeds-builtin"}}}}),
        step("Deploy API service", roles()[1],
             {{"ActionType", "Octopus.TentaclePackage"},
              {"Packages", json::array{package(p.slug + ".api", nuget_)}},
              {"Properties",
               {{"Octopus.Action.Package.PackageId", p.slug + ".api"},
                {"Octopus.Action.Package.FeedId", nuget_}}}}),
        step("Run database migrations", roles()[2],
             {{"ActionType", "Octopus.Script"},
              {"ExcludedEnvironments", ids({envs_[0].id})},
              {"Properties",
               {{"Octopus.Action.Template.Id", migrate_},
                {"Octopus.Action.Template.Version", "0"},
                {"Db", "#{Db.Server}"}}}}),
        step("Notify Slack", nullptr,
             {{"ActionType", "Octopus.Script"},
              {"WorkerPoolId", pools_[0]},
              {"Environments", ids({envs_[2].id, envs_[3].id})},
              {"Channels", ids({hotfix})},
              {"Properties",
               {{"Octopus.Action.Template.Id", notify_},
                {"Octopus.Action.Template.Version", "0"},
                {"Octopus.Action.RunOnServer", "true"}}}}),
    };
  }

  // A finished "Deploy" task with its log, recorded through decide() like any task event.
  result<storage::append_request> history_task(const project& p, const std::string& version,
                                               const environment& env,
                                               const std::string& deployment,
                                               const std::string& task_id, timestamp_us queued) {
    const auto& targets = machines_[env.id];
    const timestamp_us started = queued + static_cast<timestamp_us>(1 + rng_.below(5)) * second;
    const timestamp_us completed =
        started + static_cast<timestamp_us>(30 + rng_.below(570)) * second;
    const bool failed = rng_.percent(10);
    const bool warned = !failed && rng_.percent(10);
    const std::string& target = targets[rng_.below(targets.size())].name;

    events::task_recorded fact;
    fact.name = "Deploy";
    fact.description = "Deploy " + p.name + " release " + version + " to " + env.name;
    fact.space_id = space;
    fact.arguments_json = json::serialize(json::object{{"DeploymentId", deployment}});
    fact.final_state = failed ? events::task_status::failed : events::task_status::success;
    fact.queue_time = queued;
    fact.start_time = started;
    fact.completed_time = completed;
    fact.error_message =
        failed ? "The step 'Run database migrations' failed on " + target + ": exit code 1" : "";
    fact.has_warnings_or_errors = failed || warned;

    const std::vector<std::pair<const char*, std::string>> script = {
        {"Info", "Deploying " + p.name + " release " + version + " to " + env.name},
        {"Verbose", "Acquiring packages " + p.slug + ".web and " + p.slug + ".api " + version},
        {"Info", "Step 1: Deploy web site"},
        {"Verbose", "Uploading " + p.slug + ".web." + version + ".nupkg to " + target},
        {"Info", "Extracted package to /var/www/" + p.slug + "/" + version},
        {"Info", "Step 2: Deploy API service"},
        {"Verbose", "Running PreDeploy.sh on " + target},
        {"Info", "Service " + p.slug + "-api restarted on " + target},
        {"Info", "Step 3: Run database migrations"},
        {"Verbose", "Applied migration " + std::to_string(rng_.below(400)) + " of " + p.slug},
        {"Info", "Step 4: Notify Slack"},
        {"Verbose", "Health check of " + target + " passed"},
    };
    const std::uint64_t n = z_.log_lines;
    const timestamp_us span = completed - started;
    for (std::uint64_t j = 0; j < n; ++j) {
      const timestamp_us at =
          started + span * static_cast<timestamp_us>(j) / static_cast<timestamp_us>(n);
      if (j + 1 == n) {
        if (failed)
          fact.log.push_back({"Error", at, "Deployment failed: " + fact.error_message});
        else
          fact.log.push_back({"Highlight", at, "Deployment completed successfully"});
      } else if (warned && j == n / 2) {
        fact.log.push_back(
            {"Warning", at, "Health check of " + target + " took longer than 30 seconds"});
      } else {
        const auto& [category, text] = script[j % script.size()];
        fact.log.push_back({category, at, text});
      }
    }

    auto decided = events::decide(events::task_state{}, events::cmd::record{std::move(fact)});
    if (!decided) return decided.err();
    ++tasks;
    log_lines += n;
    if (failed) ++failed_tasks;
    // Stamped with the completion time: the event states when the task finished, and a seed does
    // not read the clock.
    return storage::append_request{task_id, 0, std::move(*decided), completed};
  }

  storage::store& st_;
  storage::documents& docs_;
  sizes z_;
  generator rng_;
  std::optional<error> failed_;

  std::vector<environment> envs_;
  std::vector<std::string> groups_, libraries_, tenants_, pools_;
  std::vector<lifecycle> lifecycles_;
  std::vector<project> projects_;
  std::map<std::string, std::vector<machine>> machines_;  // by environment id
  machine dev_web_;
  std::string certificate_, aws_, ssh_user_, nuget_, notify_, migrate_;
};

}  // namespace

status run_seed(const invocation& inv) {
  sizes z;
  z.projects = inv.number("--projects", 0);
  z.releases = inv.number("--releases", z.releases);
  z.deployments = inv.number("--deployments", z.deployments);
  z.log_lines = inv.number("--log-lines", z.log_lines);
  z.seed = inv.number("--seed", z.seed);
  if (z.projects > max_projects || z.releases > max_per_parent || z.deployments > max_per_parent ||
      z.log_lines > max_log_lines)
    return make_error(errc::invalid_argument, "too large: at most " + std::to_string(max_projects) +
                                                  " projects, " + std::to_string(max_per_parent) +
                                                  " releases per project and deployments "
                                                  "per release, " +
                                                  std::to_string(max_log_lines) +
                                                  " log lines per task");

  // A seed fills a new store: one sync at the end instead of one per document and task.
  auto opened = open_or_create_for_writing(inv.dir, false);
  if (!opened) return opened.err();
  storage::store& st = **opened;
  auto master_key = storage::load_or_create_master_key(inv.dir);
  if (!master_key) return master_key.err();
  // As octomigd's first start: an installation id, and an admin key when the store has none.
  auto boot = storage::bootstrap(st, inv.dir, *master_key, now_us());
  if (!boot) return boot.err();

  storage::documents docs(st, *master_key);
  // A seed is a whole instance: on top of another one its names would collide half-way through.
  auto existing = docs.list(space, "Environments", {});
  if (!existing) return existing.err();
  if (!existing->empty())
    return make_error(errc::conflict, "the store already holds documents (" +
                                          std::to_string(existing->size()) +
                                          " environments); seed a new data directory");

  seeder s(st, docs, z);
  if (auto done = s.run(); !done) return done.err();
  if (auto synced = st.sync(); !synced) return synced.err();

  std::uint64_t total = 0;
  for (const auto& [collection, n] : s.created) {
    std::cout << collection << ": " << n << '\n';
    total += n;
  }
  std::cout << "ServerTasks: " << s.tasks << " (" << s.failed_tasks << " failed), " << s.log_lines
            << " log lines\n"
            << total << " documents seeded in " << inv.dir.root.string() << '\n';
  if (boot->created_admin_key)
    std::cout << "created an admin API key; it is in " << inv.dir.admin_key_file().string()
              << " (mode 0600)\n";
  return ok_status();
}

}  // namespace octomig::admin
