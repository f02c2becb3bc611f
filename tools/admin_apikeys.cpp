// `apikeys create|list|revoke`. A new key is printed once, alone on stdout; nothing else ever
// prints a key or its hash.
#include <algorithm>
#include <iostream>

#include "events/time_format.hpp"
#include "tools/admin_commands.hpp"
#include "tools/admin_print.hpp"
#include "tools/admin_store.hpp"

namespace octomig::admin {

status run_apikeys_create(const invocation& inv) {
  // Opening first checks that the data directory and its store exist, so that a mistyped --data-dir
  // never gets a fresh master key.
  auto opened = open_for_writing(inv.dir);
  if (!opened) return opened.err();
  auto master_key = storage::load_or_create_master_key(inv.dir);
  if (!master_key) return master_key.err();
  const std::string role = inv.has("--admin") ? "admin" : "user";
  auto key = storage::create_api_key(**opened, *master_key, inv.text("--name"), role, now_us());
  if (!key) return key.err();
  std::cout << *key << '\n';
  return ok_status();
}

status run_apikeys_list(const invocation& inv) {
  auto opened = open_for_reading(inv.dir);
  if (!opened) return opened.err();
  const auto listed = (*opened)->api_keys();
  if (!listed) return listed.err();
  const auto& keys = *listed;
  std::size_t name_width = 4, role_width = 4, user_width = 4;
  for (const auto& k : keys) {
    name_width = std::max(name_width, printable(k.name).size());
    role_width = std::max(role_width, k.role.size());
    user_width = std::max(user_width, k.user_id.size());
  }
  auto pad = [](const std::string& s, std::size_t width) {
    return s + std::string(width - s.size() + 2, ' ');
  };
  auto row = [&](const std::string& name, const std::string& role, const std::string& user,
                 const std::string& created) {
    std::cout << pad(name, name_width) << pad(role, role_width) << pad(user, user_width) << created
              << '\n';
  };
  row("NAME", "ROLE", "USER", "CREATED");
  for (const auto& k : keys)
    row(printable(k.name), k.role, k.user_id, events::octopus_date(k.created));
  return ok_status();
}

status run_apikeys_revoke(const invocation& inv) {
  auto opened = open_for_writing(inv.dir);
  if (!opened) return opened.err();
  storage::store& store = **opened;
  const std::string& name = inv.positional;
  const auto keys = store.api_keys();
  if (!keys) return keys.err();
  if (std::none_of(keys->begin(), keys->end(), [&](const auto& k) { return k.name == name; }))
    return make_error(errc::not_found, "There is no API key named " + name + ".");
  auto version = store.stream_version(events::system_stream);
  if (!version) return version.err();
  storage::append_request r;
  r.stream = events::system_stream;
  r.expected_version = *version;
  r.events.push_back(events::api_key_revoked{name});
  r.timestamp = now_us();
  if (auto a = store.append(r); !a) return a.err();
  std::cout << "revoked the API key " << name << '\n';
  return ok_status();
}

}  // namespace octomig::admin
