// The visitor idiom for std::visit over event variants: one lambda per alternative.
#pragma once

namespace octomig::events {

template <class... Ts>
struct overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
overloaded(Ts...) -> overloaded<Ts...>;

}  // namespace octomig::events
