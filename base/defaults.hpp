// Names every module agrees on.
#pragma once

namespace octomig {

// The space a request or a task belongs to when it names none. octomig serves this one space.
inline constexpr const char* default_space_id = "Spaces-1";

}  // namespace octomig
