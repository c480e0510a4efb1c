// `--where` conditions (attributes.h): the input up to a NUL byte is the condition, parsed with
// parse_attribute_condition against attributes whose names and values come from the rest
// ("name=v1,v2;name2=..."; none: a fixed set like the fonts'), then applied to 8 examples with
// meets_conditions.
#include <string>
#include <vector>

#include "ddim/data/attributes.h"
#include "fuzz_common.h"

namespace {

std::vector<std::string> split(const std::string& s, char by) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= s.size()) {
    const auto end = std::min(s.find(by, begin), s.size());
    out.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

std::vector<ddim::Attribute> attributes_from(const std::string& text) {
  std::vector<ddim::Attribute> attributes;
  for (const auto& a : split(text.empty() ? "letter=A,B,C,a..z;size=small,large;font=0,1,2,10" : text, ';')) {
    const auto eq = a.find('=');
    if (eq == std::string::npos) continue;
    ddim::Attribute attribute{a.substr(0, eq), split(a.substr(eq + 1), ','), {}};
    const auto n = static_cast<int64_t>(attribute.values.size());
    attribute.labels = torch::arange(8, torch::kInt64).remainder(n);
    attributes.push_back(std::move(attribute));
  }
  return attributes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ddim::fuzz::set_small_limits();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto nul = text.find('\0');
  const auto condition = text.substr(0, nul);
  const auto attributes = attributes_from(nul == std::string::npos ? "" : text.substr(nul + 1));
  if (attributes.empty()) return 0;
  ddim::fuzz::run(
      [&] {
        const auto c = ddim::parse_attribute_condition(condition, attributes, ddim::fuzz::kWhat);
        (void)ddim::meets_conditions({c}, attributes).sum().item<int64_t>();
      },
      true);
  return 0;
}
