// Sample events with non-trivial field values, and a way to visit every event type generically, so
// that tests cover an event type added to events::event_body without being edited.
#pragma once

#include <cstddef>
#include <utility>
#include <variant>
#include <vector>

#include "events/events.hpp"

namespace octomig::testing {

// At least one sample per event type: strings with NULs, UTF-8 and quotes, extreme integers.
std::vector<events::event_body> sample_events();

// An envelope around a body with every envelope field set to something other than its default.
events::envelope sample_envelope(events::event_body body, std::uint64_t position = 4242);

template <class T>
struct type_c {
  using type = T;
};

namespace detail {
template <class F, std::size_t... I>
void for_each_event_type(F& f, std::index_sequence<I...>) {
  (f(type_c<std::variant_alternative_t<I, events::event_body>>{}), ...);
}
}  // namespace detail

// Calls f(type_c<T>{}) for every alternative T of events::event_body, in variant order.
template <class F>
void for_each_event_type(F&& f) {
  detail::for_each_event_type(f,
                              std::make_index_sequence<std::variant_size_v<events::event_body>>{});
}

}  // namespace octomig::testing
