// The resource schema: one declarative table for every collection of an instance (design §7), and
// the pure functions over it that CRUD validation, the export closure and the import plan share.
// No RocksDB, no CAF, no sockets: documents are Boost.JSON values, errors are octomig::result.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/error.hpp"

namespace octomig::migration {

namespace json = boost::json;

// What makes a document's name unique.
enum class name_scope {
  none,   // names may repeat (or the collection has no name)
  space,  // unique among the collection's documents of one space
  owner,  // unique among the documents of one owner (a project's channels, releases)
};

// How a collection's ids are made.
enum class id_style {
  counter,     // "<prefix>-<n>" from the counter "counter/<Collection>" (Projects-12)
  from_owner,  // "<prefix>-<owner id>": one per owner (variableset-Projects-12)
};

enum class json_kind { string, boolean, number, array, object, string_array };

// A condition on a sibling field of the value a pointer reaches: the field of the object that
// holds the value must be one of `values` (booleans compare as "true"/"false"). Empty field:
// always.
struct condition {
  std::string field;
  std::vector<std::string> values;
};

// A field with a type. Pointers are JSON pointers from the document root ("/Name").
struct field_rule {
  std::string pointer;
  json_kind kind;
  bool required = false;
};

// A reference to a document of another collection. Pointer segments: "*" walks every element of
// an array (or every member value of an object); a final "*key" yields an object's member names.
struct reference_rule {
  std::string pointer;
  std::string target;  // the referenced collection
  condition when;      // e.g. a variable's Value names a certificate when Type is "Certificate"
};

// How a sensitive value is shown by the API: Octopus's SensitiveValue object
// ({"HasValue":true,"NewValue":null}) for properties, null for a sensitive variable's Value.
enum class sensitive_style { property, variable };

struct sensitive_rule {
  std::string pointer;
  sensitive_style style;
  condition when;  // e.g. a variable's Value is sensitive when IsSensitive is true
};

// A document the owner gets on creation, in the same write (a project's variable set, its
// deployment process and its default channel).
struct side_document {
  std::string collection;
  std::string link_field;     // the owner's field that holds the side document's id; may be empty
  std::string template_json;  // the side document's body before the owner field and defaults
};

struct collection_schema {
  std::string name;       // "Projects": also the documents' collection key and the counter name
  std::string item_type;  // "Project": a collection's ItemType
  std::string route;      // "projects": the REST segment under /api/{spaceId}
  std::string link_name;  // the root document's link when it is not `name` ("Variables")
  std::string id_prefix;  // "Projects" (counter) or "variableset" (from_owner)
  id_style ids = id_style::counter;
  std::string name_field;  // "Name", "Version"; empty when unnamed
  name_scope uniqueness = name_scope::none;
  bool slug = false;  // gets a Slug from its name; GET by slug works (projects)

  // Ownership: the field naming the owner and the collections an owner may belong to. An owned
  // document is deleted with its owner and listed under the owner's route.
  std::string owner_field;  // "/ProjectId", "/OwnerId"; empty when unowned
  std::vector<std::string> owner_collections;
  std::string owner_route;     // segment under the owner: /projects/{id}/channels
  std::string owner_link;      // the owner's Links entry: "Channels", "Variables"
  bool one_per_owner = false;  // the owner route is the document itself, not a list

  std::vector<field_rule> fields;
  std::vector<reference_rule> references;
  std::vector<sensitive_rule> sensitive;
  // Array elements that get a generated "Id" when they have none (variables, steps, phases).
  std::vector<std::string> element_ids;
  std::string defaults_json;  // fields filled in when absent on create and replace
  std::vector<side_document> creates;

  // Export: the collection whose documents pull this one into a partial export (empty: the root
  // of the closure, or only pulled by references), and the Ignore* flag that leaves it out.
  std::string pulled_by;
  std::string ignore_flag;

  bool rest = true;        // false: served elsewhere (ServerTasks by the task engine)
  bool stored = true;      // false: not in the documents column family (ServerTasks)
  std::string list_query;  // the list template's query names: "skip,take,ids,partialName"
};

// Every collection of an instance. Order: a collection's references point at earlier collections,
// except for self-references; side documents and owned collections come after their owners.
const std::vector<collection_schema>& collections();

const collection_schema* find_collection(std::string_view name);
// By REST segment, case-insensitively.
const collection_schema* find_by_route(std::string_view route);
// The collection an id belongs to ("Projects-3" -> Projects, "variableset-Projects-3" ->
// VariableSets, "feeds-builtin" -> Feeds), or nullptr.
const collection_schema* collection_of_id(std::string_view id);

// True when id has the shape of an id of c ("Projects-<digits>", "variableset-<owner id>").
bool id_has_shape(const collection_schema& c, std::string_view id);
// Ids that exist without a stored document (the built-in feed).
bool is_builtin_id(const collection_schema& c, std::string_view id);
// The id of the one-per-owner document of c for an owner ("variableset-Projects-3").
std::string id_for_owner(const collection_schema& c, std::string_view owner_id);

// The problems with a document as the API reports them, one sentence each; empty when valid.
// Checks required fields and the types of the fields the schema names.
std::vector<std::string> validate(const collection_schema& c, const json::object& doc);

// Sort key of an id: its trailing number, then the id, so Projects-2 comes before Projects-10.
std::pair<std::uint64_t, std::string_view> id_order(std::string_view id);

// "Project 'Web' (Projects-1)", or "DeploymentProcess deploymentprocess-Projects-1" when unnamed:
// how messages name a document.
std::string describe(const collection_schema& c, const std::string& id, const json::object& doc);

// The document's name (empty when the collection is unnamed or the field is missing).
std::string name_of(const collection_schema& c, const json::object& doc);
// The document's owner id (empty when unowned or missing).
std::string owner_of(const collection_schema& c, const json::object& doc);

// A reference found in a document: where, to which collection, which id.
struct found_reference {
  std::string pointer;  // concrete JSON pointer, e.g. "/Phases/0/OptionalDeploymentTargets/1"
  std::string target;
  std::string id;
  // The id is the last segment of pointer, an object's member name (a "*key" rule), not the value
  // there: rewriting it renames the member.
  bool key = false;
};
// Every non-empty reference of a document, conditional ones included when their condition holds.
// The owner field is not listed: ownership is checked and cascaded separately.
std::vector<found_reference> references(const collection_schema& c, const json::value& doc);

// A sensitive value's location in a document.
struct sensitive_path {
  std::string pointer;  // concrete JSON pointer ("/Variables/2/Value")
  // The same location with array elements named by their "Id" where they have one
  // ("/Variables/[7c1e...]/Value"): stable when a PUT reorders the array.
  std::string stable_key;
  sensitive_style style;
};
// Every location of a sensitive value in the document whose condition holds.
std::vector<sensitive_path> sensitive_paths(const collection_schema& c, const json::value& doc);

// The value at a concrete JSON pointer, or nullptr.
json::value* find_pointer(json::value& doc, std::string_view pointer);
const json::value* find_pointer(const json::value& doc, std::string_view pointer);

// Gives every element that element_ids names and that lacks an "Id" one from new_id (variables,
// steps, actions, phases): import and PUT then match elements by Id, never by position.
void assign_element_ids(const collection_schema& c, json::value& doc,
                        const std::function<std::string()>& new_id);

// doc with every field of the collection's defaults that it lacks (or has as null) filled in.
json::object with_defaults(const collection_schema& c, json::object doc);

// Octopus's slug: lower case, runs of anything but letters and digits become one '-'.
std::string slugify(std::string_view name);

// The list template of a collection under base ("/api/Spaces-1"):
// "/api/Spaces-1/projects{/id}{?skip,take,ids,partialName}".
std::string link_template(const collection_schema& c, const std::string& base);

}  // namespace octomig::migration
