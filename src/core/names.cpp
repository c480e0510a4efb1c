#include "ddim/core/names.h"

#include "ddim/core/error.h"

namespace ddim {

void throw_unknown_name(const char* what, const std::string& text, const std::vector<std::string>& valid) {
  throw InvalidArgument(fmt::format("unknown {} '{}' (valid: {})", what, text, fmt::join(valid, ", ")));
}

}  // namespace ddim
