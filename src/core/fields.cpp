#include "ddim/core/fields.h"

#include "ddim/core/error.h"

namespace ddim::detail {

void throw_not_an_object(const nlohmann::json& j) {
  throw InvalidArgument(fmt::format("expected an object of options, got {}", j.type_name()));
}

}  // namespace ddim::detail
