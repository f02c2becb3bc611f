// `package inspect FILE [--password-file F]`: what a migration package holds, checked with the
// same reader the import uses. Without the password: the manifest, the entries and their digests.
// With it: the password's check value, the manifest's authentication, every document and task log
// read (and, for an encrypted package, decrypted and authenticated), listed per collection. The
// password is read from a file so that it is never on a command line; nothing prints it, or any
// sensitive value.
#include <fstream>
#include <iostream>
#include <map>

#include "migration/schema.hpp"
#include "package/package.hpp"
#include "tools/admin_commands.hpp"

namespace octomig::admin {
namespace {

namespace json = boost::json;

std::string text_of(const json::object& o, const char* field) {
  auto* v = o.if_contains(field);
  if (!v) return "-";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

result<std::string> read_password(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(errc::not_found, "cannot read the password file " + file);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return make_error(errc::invalid_argument, "the password file is empty");
  return line;
}

}  // namespace

status run_package_inspect(const invocation& inv) {
  auto opened = package::reader::open(inv.positional);
  if (!opened) return opened.err();
  auto& r = **opened;
  const auto& m = r.manifest();
  std::cout << "package     " << text_of(m, "PackageId") << ' ' << text_of(m, "PackageVersion")
            << '\n'
            << "format      " << text_of(m, "Format") << '\n'
            << "producer    octomig " << text_of(m, "ProducerVersion") << ", installation "
            << text_of(m, "SourceInstallationId") << '\n'
            << "created     " << text_of(m, "CreatedAt") << '\n'
            << "encrypted   " << (r.encrypted() ? "yes (documents and logs in payload.bin)" : "no")
            << '\n'
            << "key         " << text_of(m, "Kdf") << '\n';
  if (auto* counts = m.if_contains("Counts"); counts && counts->is_object())
    for (const auto& c : counts->get_object())
      std::cout << "  " << std::string(c.key()) << ": " << json::serialize(c.value()) << '\n';
  std::cout << "task logs   " << text_of(m, "TaskLogs") << '\n';
  if (auto* left = m.if_contains("LeftOut"); left && left->is_array())
    std::cout << "left out    " << left->get_array().size()
              << " reference(s) for the destination to resolve by name\n";
  std::cout << "entries\n";
  for (const auto& [name, size] : r.entries()) std::cout << "  " << name << "  " << size << '\n';
  if (auto s = r.verify_digests(); !s) return s.err();
  std::cout << "digests     every entry matches the manifest\n";

  if (!inv.has("--password-file")) {
    std::cout << "(give --password-file to check the password and read the documents)\n";
    return ok_status();
  }
  auto password = read_password(inv.text("--password-file"));
  if (!password) return password.err();
  if (auto s = r.unlock(*password); !s) return s.err();
  std::cout << "password    matches the check value; the manifest is authentic\n";
  std::map<std::string, std::vector<std::string>> listed;
  auto docs = r.for_each_document(
      [&](const std::string& collection, const std::string& id, json::object doc) -> status {
        std::string name;
        if (const auto* s = migration::find_collection(collection))
          name = migration::name_of(*s, doc);
        listed[collection].push_back(name.empty() ? id : id + "  " + name);
        return ok_status();
      });
  if (!docs) return docs.err();
  std::uint64_t logs = 0;
  auto read_logs = r.for_each_task_log([&](const std::string&, json::value) -> status {
    ++logs;
    return ok_status();
  });
  if (!read_logs) return read_logs.err();
  std::cout << "documents   every one read"
            << (r.encrypted() ? ", decrypted and authenticated" : "") << '\n';
  for (const auto& [collection, items] : listed) {
    std::cout << "  " << collection << " (" << items.size() << ")\n";
    for (const auto& i : items) std::cout << "    " << i << '\n';
  }
  std::cout << "task logs   " << logs << " read\n";
  return ok_status();
}

}  // namespace octomig::admin
