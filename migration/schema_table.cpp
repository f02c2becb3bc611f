// The table itself: every collection of an instance as data. Validation, CRUD, routes, the export
// closure and the import plan read this table; no collection has code of its own. Field names are
// Octopus's (Octopus.Client model classes, api-client types).
#include "migration/schema.hpp"

namespace octomig::migration {
namespace {

using k = json_kind;

// A variable's Value names a document when its Type says so (Octopus's VariableType values).
const condition account_variable{"Type",
                                 {"AmazonWebServicesAccount", "AzureAccount", "GoogleCloudAccount",
                                  "UsernamePasswordAccount", "GenericOidcAccount", "TokenAccount"}};
const condition certificate_variable{"Type", {"Certificate"}};
const condition worker_pool_variable{"Type", {"WorkerPool"}};
const condition sensitive_variable{"IsSensitive", {"true"}};
const condition sensitive_type_variable{"Type", {"Sensitive"}};

// Tenant-scoping fields shared by certificates, accounts and deployment targets.
std::vector<reference_rule> scoped_to(std::vector<reference_rule> more) {
  more.push_back({"/EnvironmentIds/*", "Environments", {}});
  more.push_back({"/TenantIds/*", "Tenants", {}});
  return more;
}

// The variables of a variable set: scopes and typed values.
std::vector<reference_rule> variable_references() {
  return {
      {"/Variables/*/Scope/Environment/*", "Environments", {}},
      {"/Variables/*/Scope/Machine/*", "Machines", {}},
      {"/Variables/*/Scope/Channel/*", "Channels", {}},
      {"/Variables/*/Scope/ProcessOwner/*", "Projects", {}},
      {"/Variables/*/Value", "Certificates", certificate_variable},
      {"/Variables/*/Value", "Accounts", account_variable},
      {"/Variables/*/Value", "WorkerPools", worker_pool_variable},
  };
}

std::vector<collection_schema> build() {
  std::vector<collection_schema> t;
  auto add = [&t](collection_schema c) {
    if (c.list_query.empty()) c.list_query = "name,skip,ids,take,partialName";
    t.push_back(std::move(c));
  };

  {
    // Task history lives in the task streams and projection (design §7), not in documents; the
    // entry says how tasks travel in an export. A reference to one is checked for its shape only.
    collection_schema c;
    c.name = "ServerTasks";
    c.item_type = "Task";
    c.route = "tasks";
    c.id_prefix = "ServerTasks";
    c.rest = false;
    c.stored = false;
    // A deployment task's arguments name what it deployed; an import rewrites them as it does a
    // document's references (a task is never checked against them: its arguments are history).
    c.references = {
        {"/Arguments/DeploymentId", "Deployments", {}},   {"/Arguments/ProjectId", "Projects", {}},
        {"/Arguments/EnvironmentId", "Environments", {}}, {"/Arguments/ReleaseId", "Releases", {}},
        {"/Arguments/TenantId", "Tenants", {}},           {"/Arguments/ChannelId", "Channels", {}}};
    c.pulled_by = "Deployments";
    c.ignore_flag = "IgnoreDeployments";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Environments";
    c.item_type = "Environment";
    c.route = "environments";
    c.id_prefix = "Environments";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {{"/Name", k::string, true},
                {"/Description", k::string},
                {"/SortOrder", k::number},
                {"/UseGuidedFailure", k::boolean},
                {"/AllowDynamicInfrastructure", k::boolean},
                {"/ExtensionSettings", k::array}};
    c.defaults_json = R"({"Description":null,"SortOrder":0,"UseGuidedFailure":false,
        "AllowDynamicInfrastructure":false,"ExtensionSettings":[]})";
    c.pulled_by = "Lifecycles";  // and every scope that names an environment
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "ProjectGroups";
    c.item_type = "ProjectGroup";
    c.route = "projectgroups";
    c.id_prefix = "ProjectGroups";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.fields = {{"/Name", k::string, true}, {"/EnvironmentIds", k::string_array}};
    c.references = {{"/EnvironmentIds/*", "Environments", {}}};
    c.defaults_json = R"({"Description":null,"EnvironmentIds":[],"RetentionPolicyId":null})";
    c.pulled_by = "Projects";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Lifecycles";
    c.item_type = "Lifecycle";
    c.route = "lifecycles";
    c.id_prefix = "Lifecycles";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {{"/Name", k::string, true}, {"/Phases", k::array}};
    c.references = {{"/Phases/*/AutomaticDeploymentTargets/*", "Environments", {}},
                    {"/Phases/*/OptionalDeploymentTargets/*", "Environments", {}}};
    c.element_ids = {"/Phases/*"};
    c.defaults_json = R"({"Description":null,"Phases":[],
        "ReleaseRetentionPolicy":{"QuantityToKeep":30,"ShouldKeepForever":false,"Unit":"Days"},
        "TentacleRetentionPolicy":{"QuantityToKeep":30,"ShouldKeepForever":false,"Unit":"Days"}})";
    c.pulled_by = "Projects";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "LibraryVariableSets";
    c.item_type = "LibraryVariableSet";
    c.route = "libraryvariablesets";
    c.id_prefix = "LibraryVariableSets";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.fields = {{"/Name", k::string, true}, {"/Templates", k::array}};
    c.element_ids = {"/Templates/*"};
    c.defaults_json = R"({"Description":null,"ContentType":"Variables","Templates":[]})";
    c.creates = {{"VariableSets", "/VariableSetId", "{}"}};
    c.pulled_by = "Projects";  // IncludedLibraryVariableSetIds
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Projects";
    c.item_type = "Project";
    c.route = "projects";
    c.id_prefix = "Projects";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {
        {"/Name", k::string, true},        {"/ProjectGroupId", k::string, true},
        {"/LifecycleId", k::string, true}, {"/IncludedLibraryVariableSetIds", k::string_array},
        {"/IsDisabled", k::boolean},       {"/Templates", k::array}};
    c.references = {{"/ProjectGroupId", "ProjectGroups", {}},
                    {"/LifecycleId", "Lifecycles", {}},
                    {"/IncludedLibraryVariableSetIds/*", "LibraryVariableSets", {}},
                    {"/ClonedFromProjectId", "Projects", {}}};
    c.element_ids = {"/Templates/*"};
    c.defaults_json = R"({"Description":"","IsDisabled":false,"ClonedFromProjectId":null,
        "DiscreteChannelRelease":false,"IncludedLibraryVariableSetIds":[],
        "DefaultToSkipIfAlreadyInstalled":false,"TenantedDeploymentMode":"Untenanted",
        "DefaultGuidedFailureMode":"EnvironmentDefault",
        "VersioningStrategy":{"Template":null,"DonorPackage":null},
        "ReleaseCreationStrategy":{"ChannelId":null,"ReleaseCreationPackage":null,
                                   "ReleaseCreationPackageStepId":null},
        "Templates":[],"AutoDeployReleaseOverrides":[],"ReleaseNotesTemplate":null,
        "DeploymentChangesTemplate":null,"ForcePackageDownload":false,"Icon":null,
        "AllowIgnoreChannelRules":true,"ExtensionSettings":[],"AutoCreateRelease":false,
        "IsVersionControlled":false,"PersistenceSettings":{"Type":"Database"},
        "ProjectConnectivityPolicy":{"SkipMachineBehavior":"None","TargetRoles":[],
                                     "AllowDeploymentsToNoTargets":false,
                                     "ExcludeUnhealthyTargets":false}})";
    // As Octopus does: a project is born with its variable set, process and default channel.
    c.creates = {{"VariableSets", "/VariableSetId", "{}"},
                 {"DeploymentProcesses", "/DeploymentProcessId", "{}"},
                 {"Channels", "", R"({"Name":"Default","IsDefault":true})"}};
    c.list_query = "name,skip,ids,clone,take,partialName,clonedFromProjectId";
    add(std::move(c));  // the root of a partial export: named in the request
  }
  {
    collection_schema c;
    c.name = "Tenants";
    c.item_type = "Tenant";
    c.route = "tenants";
    c.id_prefix = "Tenants";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {{"/Name", k::string, true},
                {"/ProjectEnvironments", k::object},
                {"/TenantTags", k::string_array}};
    // TenantTags name tag sets ("Region/Europe"), which are not a collection of ours yet.
    c.references = {{"/ProjectEnvironments/*key", "Projects", {}},
                    {"/ProjectEnvironments/*/*", "Environments", {}}};
    c.defaults_json = R"({"Description":null,"TenantTags":[],"ProjectEnvironments":{}})";
    c.pulled_by = "Projects";  // tenants connected to an exported project
    c.ignore_flag = "IgnoreTenants";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Certificates";
    c.item_type = "Certificate";
    c.route = "certificates";
    c.id_prefix = "Certificates";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.fields = {{"/Name", k::string, true},
                {"/CertificateData", k::string, true},
                {"/EnvironmentIds", k::string_array},
                {"/TenantIds", k::string_array}};
    c.references = scoped_to({});
    c.sensitive = {{"/CertificateData", sensitive_style::property, {}},
                   {"/Password", sensitive_style::property, {}}};
    c.defaults_json = R"({"Notes":null,"Password":null,"EnvironmentIds":[],"TenantIds":[],
        "TenantTags":[],"TenantedDeploymentParticipation":"Untenanted"})";
    c.pulled_by = "VariableSets";  // a certificate variable's Value
    c.ignore_flag = "IgnoreCertificates";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Accounts";
    c.item_type = "Account";
    c.route = "accounts";
    c.id_prefix = "Accounts";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {{"/Name", k::string, true},
                {"/AccountType", k::string, true},
                {"/EnvironmentIds", k::string_array},
                {"/TenantIds", k::string_array}};
    // TenantIds are Octopus tenants; an Azure account's "TenantId" is Azure's and no reference.
    c.references = scoped_to({});
    c.sensitive = {{"/Password", sensitive_style::property, {}},
                   {"/SecretKey", sensitive_style::property, {}},
                   {"/Token", sensitive_style::property, {}},
                   {"/ClientSecret", sensitive_style::property, {}},
                   {"/PrivateKeyFile", sensitive_style::property, {}},
                   {"/PrivateKeyPassphrase", sensitive_style::property, {}},
                   {"/JsonKey", sensitive_style::property, {}}};
    c.defaults_json = R"({"Description":null,"EnvironmentIds":[],"TenantIds":[],"TenantTags":[],
        "TenantedDeploymentParticipation":"Untenanted"})";
    c.pulled_by = "VariableSets";  // an account variable's Value
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Feeds";
    c.item_type = "Feed";
    c.route = "feeds";
    c.id_prefix = "Feeds";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {{"/Name", k::string, true},
                {"/FeedType", k::string, true},
                {"/FeedUri", k::string},
                {"/Username", k::string}};
    c.sensitive = {{"/Password", sensitive_style::property, {}}};
    c.defaults_json = R"({"FeedUri":null,"Username":null,"Password":null,
        "PackageAcquisitionLocationOptions":["Server","ExecutionTarget"]})";
    c.pulled_by = "DeploymentProcesses";  // a package's FeedId
    c.list_query = "name,skip,ids,take,partialName,feedType";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "WorkerPools";
    c.item_type = "WorkerPool";
    c.route = "workerpools";
    c.id_prefix = "WorkerPools";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.slug = true;
    c.fields = {{"/Name", k::string, true}, {"/IsDefault", k::boolean}};
    c.defaults_json = R"({"Description":null,"IsDefault":false,"SortOrder":0,
        "WorkerPoolType":"StaticWorkerPool","CanAddWorkers":true})";
    c.pulled_by = "DeploymentProcesses";  // an action's WorkerPoolId
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Workers";
    c.item_type = "Worker";
    c.route = "workers";
    c.id_prefix = "Workers";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.fields = {{"/Name", k::string, true},
                {"/WorkerPoolIds", k::string_array, true},
                {"/Endpoint", k::object}};
    c.references = {{"/WorkerPoolIds/*", "WorkerPools", {}},
                    {"/Endpoint/AccountId", "Accounts", {}}};
    c.defaults_json = R"({"IsDisabled":false,"Endpoint":{"CommunicationStyle":"None"},
        "MachinePolicyId":null})";
    c.pulled_by = "WorkerPools";
    c.ignore_flag = "IgnoreMachines";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "ActionTemplates";
    c.item_type = "ActionTemplate";
    c.route = "actiontemplates";
    c.id_prefix = "ActionTemplates";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.fields = {{"/Name", k::string, true},
                {"/ActionType", k::string, true},
                {"/Properties", k::object},
                {"/Parameters", k::array}};
    c.element_ids = {"/Parameters/*"};
    c.defaults_json = R"({"Description":null,"Version":0,"Properties":{},"Parameters":[],
        "Packages":[]})";
    c.pulled_by = "DeploymentProcesses";  // Octopus.Action.Template.Id of an action
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Machines";
    c.item_type = "Machine";
    c.route = "machines";
    c.id_prefix = "Machines";
    c.name_field = "Name";
    c.uniqueness = name_scope::space;
    c.fields = {{"/Name", k::string, true},
                {"/EnvironmentIds", k::string_array, true},
                {"/Roles", k::string_array, true},
                {"/TenantIds", k::string_array},
                {"/Endpoint", k::object}};
    c.references = scoped_to({{"/Endpoint/AccountId", "Accounts", {}},
                              {"/Endpoint/DefaultWorkerPoolId", "WorkerPools", {}}});
    c.defaults_json = R"({"TenantIds":[],"TenantTags":[],"IsDisabled":false,
        "TenantedDeploymentParticipation":"Untenanted","Endpoint":{"CommunicationStyle":"None"},
        "MachinePolicyId":null})";
    c.pulled_by = "Environments";  // targets in an exported environment
    c.ignore_flag = "IgnoreMachines";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Channels";
    c.item_type = "Channel";
    c.route = "channels";
    c.id_prefix = "Channels";
    c.name_field = "Name";
    c.uniqueness = name_scope::owner;
    c.slug = true;
    c.owner_field = "/ProjectId";
    c.owner_collections = {"Projects"};
    c.owner_route = "channels";
    c.owner_link = "Channels";
    c.fields = {{"/Name", k::string, true},
                {"/ProjectId", k::string, true},
                {"/LifecycleId", k::string},
                {"/IsDefault", k::boolean},
                {"/Rules", k::array}};
    c.references = {{"/LifecycleId", "Lifecycles", {}}};
    c.element_ids = {"/Rules/*"};
    c.defaults_json = R"({"Description":"","IsDefault":false,"LifecycleId":null,"Rules":[],
        "TenantTags":[]})";
    c.pulled_by = "Projects";
    c.list_query = "skip,take,partialName";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "DeploymentProcesses";
    c.item_type = "DeploymentProcess";
    c.route = "deploymentprocesses";
    c.id_prefix = "deploymentprocess";
    c.ids = id_style::from_owner;
    c.owner_field = "/ProjectId";
    c.owner_collections = {"Projects"};
    c.owner_route = "deploymentprocesses";
    c.owner_link = "DeploymentProcess";
    c.one_per_owner = true;
    c.fields = {{"/ProjectId", k::string, true}, {"/Steps", k::array}};
    c.references = {
        {"/Steps/*/Actions/*/Environments/*", "Environments", {}},
        {"/Steps/*/Actions/*/ExcludedEnvironments/*", "Environments", {}},
        {"/Steps/*/Actions/*/Channels/*", "Channels", {}},
        {"/Steps/*/Actions/*/WorkerPoolId", "WorkerPools", {}},
        {"/Steps/*/Actions/*/Packages/*/FeedId", "Feeds", {}},
        {"/Steps/*/Actions/*/Properties/Octopus.Action.Template.Id", "ActionTemplates", {}}};
    c.element_ids = {"/Steps/*", "/Steps/*/Actions/*", "/Steps/*/Actions/*/Packages/*"};
    c.defaults_json = R"({"Version":0,"Steps":[],"LastSnapshotId":null})";
    c.pulled_by = "Projects";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "VariableSets";
    c.item_type = "VariableSet";
    c.route = "variables";
    c.link_name = "Variables";
    c.id_prefix = "variableset";
    c.ids = id_style::from_owner;
    c.owner_field = "/OwnerId";
    c.owner_collections = {"Projects", "LibraryVariableSets"};
    c.owner_route = "variables";
    c.owner_link = "Variables";
    c.one_per_owner = true;
    c.fields = {{"/OwnerId", k::string, true}, {"/Variables", k::array}};
    c.references = variable_references();
    c.sensitive = {{"/Variables/*/Value", sensitive_style::variable, sensitive_variable},
                   {"/Variables/*/Value", sensitive_style::variable, sensitive_type_variable}};
    c.element_ids = {"/Variables/*"};
    c.defaults_json = R"({"Version":0,"Variables":[],"ScopeValues":null})";
    c.pulled_by = "Projects";  // and the library variable sets a project includes
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Releases";
    c.item_type = "Release";
    c.route = "releases";
    c.id_prefix = "Releases";
    c.name_field = "Version";
    c.uniqueness = name_scope::owner;
    c.owner_field = "/ProjectId";
    c.owner_collections = {"Projects"};
    c.owner_route = "releases";
    c.owner_link = "Releases";
    c.fields = {{"/Version", k::string, true},
                {"/ProjectId", k::string, true},
                {"/ChannelId", k::string},
                {"/SelectedPackages", k::array}};
    c.references = {{"/ChannelId", "Channels", {}}};
    c.defaults_json = R"({"ReleaseNotes":null,"ChannelId":null,"SelectedPackages":[],
        "Assembled":null})";
    c.pulled_by = "Projects";  // IgnoreDeployments leaves out deployments and tasks, not these
    c.list_query = "skip,take,ids,searchByVersion";
    add(std::move(c));
  }
  {
    collection_schema c;
    c.name = "Deployments";
    c.item_type = "Deployment";
    c.route = "deployments";
    c.id_prefix = "Deployments";
    c.owner_field = "/ReleaseId";
    c.owner_collections = {"Releases"};
    c.owner_route = "deployments";
    c.owner_link = "Deployments";
    c.fields = {{"/ReleaseId", k::string, true}, {"/EnvironmentId", k::string, true},
                {"/ProjectId", k::string, true}, {"/TaskId", k::string},
                {"/TenantId", k::string},        {"/ChannelId", k::string}};
    c.references = {{"/EnvironmentId", "Environments", {}},
                    {"/ProjectId", "Projects", {}},
                    {"/ChannelId", "Channels", {}},
                    {"/TenantId", "Tenants", {}},
                    {"/TaskId", "ServerTasks", {}}};
    c.defaults_json = R"({"Name":null,"Comments":null,"ChannelId":null,"TenantId":null,
        "TaskId":null,"FormValues":{},"SkipActions":[],"SpecificMachineIds":[]})";
    c.pulled_by = "Releases";
    c.ignore_flag = "IgnoreDeployments";
    c.list_query = "skip,take,ids,projects,environments,tenants,channels,taskState";
    add(std::move(c));
  }
  return t;
}

}  // namespace

const std::vector<collection_schema>& collections() {
  static const std::vector<collection_schema> table = build();
  return table;
}

}  // namespace octomig::migration
