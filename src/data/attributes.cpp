#include "ddim/data/attributes.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "ddim/core/error.h"
#include "ddim/core/file.h"

namespace fs = std::filesystem;

namespace ddim {
namespace {

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

struct Line {
  int64_t number;
  std::string text;
};

// The non-blank lines of a file, with their 1-based numbers; a UTF-8 byte-order mark and
// carriage returns are dropped. Stops past `max_lines` (when >= 0): the caller refuses the file.
std::vector<Line> read_lines(const std::string& path, int64_t max_lines) {
  const auto bytes = read_file(path);
  std::string text(bytes.begin(), bytes.end());
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  std::vector<Line> lines;
  std::istringstream in(text);
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!trim(line).empty()) lines.push_back({number, line});
    if (max_lines >= 0 && static_cast<int64_t>(lines.size()) > max_lines) break;
  }
  return lines;
}

std::vector<std::string> split_whitespace(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string token; in >> token;) out.push_back(token);
  return out;
}

// One CSV record: fields separated by commas, optionally quoted; unquoted fields are trimmed.
std::vector<std::string> split_csv(const std::string& s, const std::string& where) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && trim(field).empty()) {
      quoted = was_quoted = true;
      field.clear();
    } else if (c == ',') {
      fields.push_back(was_quoted ? field : trim(field));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  DDIM_CHECK(!quoted, "{}: unterminated quoted field", where);
  fields.push_back(was_quoted ? field : trim(field));
  return fields;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

// Value names of one column: its distinct values sorted (numerically when all are numbers),
// and each row's index into them.
Attribute make_attribute(const std::string& name, const std::vector<std::string>& column) {
  std::vector<std::string> values(column.begin(), column.end());
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  if (std::all_of(values.begin(), values.end(), is_number))
    std::stable_sort(values.begin(), values.end(), [](const std::string& a, const std::string& b) {
      return std::strtod(a.c_str(), nullptr) < std::strtod(b.c_str(), nullptr);
    });
  std::unordered_map<std::string, int64_t> index;
  for (size_t k = 0; k < values.size(); ++k) index[values[k]] = static_cast<int64_t>(k);
  auto labels = torch::empty({static_cast<int64_t>(column.size())}, torch::kInt64);
  auto* out = labels.data_ptr<int64_t>();
  for (size_t i = 0; i < column.size(); ++i) out[i] = index.at(column[i]);
  return {name, values, labels};
}

// An attribute's values for a one-line message.
std::string values_list(const Attribute& a) {
  return printable(fmt::format("{}", fmt::join(a.values, ", ")), 300);
}

void check_names(const std::vector<std::string>& names, const std::string& where) {
  DDIM_CHECK(!names.empty(), "{}: no attribute names", where);
  std::set<std::string> seen;
  for (const auto& n : names) {
    DDIM_CHECK(!n.empty(), "{}: an attribute name is empty", where);
    DDIM_CHECK(seen.insert(n).second, "{}: attribute '{}' is named twice", where, n);
  }
}

AttributeTable read_celeba(const std::string& path, const std::vector<Line>& lines, int64_t max_rows) {
  AttributeTable t;
  t.path = path;
  const auto count = trim(lines[0].text);
  DDIM_CHECK(count.size() <= 12, "{}:{}: image count '{}' is too large", path, lines[0].number, count);
  const int64_t declared = std::stoll(count);
  DDIM_CHECK(max_rows < 0 || declared <= max_rows, "{}:{}: declares {} images but there are only {} to label",
             path, lines[0].number, declared, max_rows);
  DDIM_CHECK(lines.size() >= 2, "{}: CelebA layout (an image count on line 1) but no attribute names", path);
  const auto names = split_whitespace(lines[1].text);
  check_names(names, fmt::format("{}:{}", path, lines[1].number));
  const size_t k = names.size();
  std::vector<uint8_t> values;  // row-major [rows, k], 0 = no, 1 = yes
  for (size_t i = 2; i < lines.size(); ++i) {
    const auto tokens = split_whitespace(lines[i].text);
    const auto where = fmt::format("{}:{}", path, lines[i].number);
    DDIM_CHECK(tokens.size() == k + 1, "{}: expected a file name and {} values, got {} fields", where, k,
               tokens.size());
    t.files.push_back(tokens[0]);
    t.lines.push_back(lines[i].number);
    for (size_t a = 0; a < k; ++a) {
      const auto& v = tokens[a + 1];
      DDIM_CHECK(v == "-1" || v == "0" || v == "1", "{}: attribute {} is '{}', expected -1, 0 or 1", where,
                 names[a], v);
      values.push_back(v == "1" ? 1 : 0);
    }
  }
  const auto rows = static_cast<int64_t>(t.files.size());
  DDIM_CHECK(rows == declared, "{}: line {} declares {} images but {} rows follow", path, lines[0].number,
             declared, rows);
  auto all =
      torch::from_blob(values.data(), {rows, static_cast<int64_t>(k)}, torch::kUInt8).to(torch::kInt64);
  for (size_t a = 0; a < k; ++a)
    t.attributes.push_back({names[a], {"no", "yes"}, all.select(1, static_cast<int64_t>(a)).contiguous()});
  return t;
}

AttributeTable read_csv(const std::string& path, const std::vector<Line>& lines) {
  AttributeTable t;
  t.path = path;
  const auto header = split_csv(lines[0].text, fmt::format("{}:{}", path, lines[0].number));
  DDIM_CHECK(header.size() >= 2,
             "{}:{}: the header must name the file column and at least one attribute "
             "(file,NAME1,NAME2,...), got '{}'",
             path, lines[0].number, lines[0].text);
  const std::vector<std::string> names(header.begin() + 1, header.end());
  check_names(names, fmt::format("{}:{}", path, lines[0].number));
  std::vector<std::vector<std::string>> columns(names.size());
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto where = fmt::format("{}:{}", path, lines[i].number);
    const auto fields = split_csv(lines[i].text, where);
    DDIM_CHECK(fields.size() == header.size(), "{}: expected {} fields (as the header), got {}", where,
               header.size(), fields.size());
    DDIM_CHECK(!fields[0].empty(), "{}: the file name is empty", where);
    t.files.push_back(fields[0]);
    t.lines.push_back(lines[i].number);
    for (size_t a = 0; a < names.size(); ++a) columns[a].push_back(fields[a + 1]);
  }
  DDIM_CHECK(!t.files.empty(), "{}: a header but no rows", path);
  for (size_t a = 0; a < names.size(); ++a) t.attributes.push_back(make_attribute(names[a], columns[a]));
  return t;
}

}  // namespace

size_t find_attribute(const std::vector<Attribute>& attributes, const std::string& name,
                      const std::string& what) {
  for (size_t i = 0; i < attributes.size(); ++i)
    if (attributes[i].name == name) return i;
  // Names from a manifest may hold any character: the message stays one line.
  DDIM_CHECK_ARG(false, "unknown attribute '{}' of {} (valid: {})", printable(name), what,
                 printable(fmt::format("{}", fmt::join(attribute_names(attributes), ", ")), 300));
  return 0;
}

std::vector<std::string> attribute_names(const std::vector<Attribute>& attributes) {
  std::vector<std::string> names;
  for (const auto& a : attributes) names.push_back(a.name);
  return names;
}

std::vector<Attribute> narrow_attributes(const std::vector<Attribute>& attributes, int64_t n) {
  auto out = attributes;
  for (auto& a : out)
    if (a.labels.size(0) > n) a.labels = a.labels.narrow(0, 0, n).contiguous();
  return out;
}

AttributeCondition parse_attribute_condition(const std::string& text,
                                             const std::vector<Attribute>& attributes,
                                             const std::string& what) {
  const auto eq = text.find('=');
  DDIM_CHECK_ARG(eq != std::string::npos && eq > 0 && eq + 1 < text.size(),
                 "{}: condition '{}' is not NAME=VALUE[,VALUE...] (e.g. letter=A..Z or size=small,large)",
                 what, printable(text));
  AttributeCondition c;
  c.attribute = trim(text.substr(0, eq));
  const auto& a = attributes[find_attribute(attributes, c.attribute, what)];
  auto index_of = [&](const std::string& value) -> int64_t {
    const auto it = std::find(a.values.begin(), a.values.end(), value);
    DDIM_CHECK_ARG(it != a.values.end(), "{}: '{}' is not a value of {} (its values: {})", what,
                   printable(value), printable(a.name), values_list(a));
    return it - a.values.begin();
  };
  std::set<int64_t> values;
  const auto list = text.substr(eq + 1);
  size_t begin = 0;
  while (begin <= list.size()) {
    const auto end = std::min(list.find(',', begin), list.size());
    const auto item = trim(list.substr(begin, end - begin));
    begin = end + 1;
    DDIM_CHECK_ARG(!item.empty(), "{}: condition '{}' has an empty value", what, printable(text));
    const auto dots = item.find("..");
    // A value name that contains ".." itself is taken whole.
    if (dots == std::string::npos || std::find(a.values.begin(), a.values.end(), item) != a.values.end()) {
      values.insert(index_of(item));
      continue;
    }
    const auto first = index_of(trim(item.substr(0, dots))), last = index_of(trim(item.substr(dots + 2)));
    DDIM_CHECK_ARG(first <= last, "{}: the range '{}' of {} runs backwards (its values in order: {})", what,
                   printable(item), printable(a.name), values_list(a));
    for (int64_t v = first; v <= last; ++v) values.insert(v);
  }
  c.values.assign(values.begin(), values.end());
  return c;
}

torch::Tensor meets_conditions(const std::vector<AttributeCondition>& conditions,
                               const std::vector<Attribute>& attributes) {
  DDIM_CHECK_ARG(!attributes.empty() || conditions.empty(), "conditions on attributes need attributes");
  const int64_t n = attributes.empty() ? 0 : attributes.front().labels.size(0);
  auto keep = torch::ones({n}, torch::kBool);
  for (const auto& c : conditions) {
    const auto& a = attributes[find_attribute(attributes, c.attribute, "the data")];
    keep &= torch::isin(a.labels, torch::tensor(c.values, torch::kInt64));
  }
  return keep;
}

std::vector<Attribute> select_attributes(const std::vector<Attribute>& attributes,
                                         const torch::Tensor& indices) {
  auto out = attributes;
  for (auto& a : out) a.labels = a.labels.index_select(0, indices.to(torch::kInt64)).contiguous();
  return out;
}

AttributeTable read_attribute_table(const std::string& path, int64_t max_rows) {
  // Rows follow one header line (CSV) or two (CelebA: the count, the names); a third past the
  // bound is enough to refuse the file.
  const auto lines = read_lines(path, max_rows < 0 ? -1 : max_rows + 3);
  DDIM_CHECK(!lines.empty(), "{}: empty attributes file", path);
  const auto first = trim(lines[0].text);
  const bool celeba =
      std::all_of(first.begin(), first.end(), [](unsigned char c) { return std::isdigit(c); });
  const auto rows = static_cast<int64_t>(lines.size()) - (celeba ? 2 : 1);
  DDIM_CHECK(max_rows < 0 || rows <= max_rows, "{}: more rows than the {} images there are to label", path,
             max_rows);
  return celeba ? read_celeba(path, lines, max_rows) : read_csv(path, lines);
}

std::vector<Attribute> attributes_for_files(const AttributeTable& table, const std::string& root,
                                            const std::vector<std::string>& all_files,
                                            const std::vector<std::string>& files) {
  // Every image under root by relative path, and by base name (several when not unique).
  std::unordered_map<std::string, int64_t> by_path;
  std::unordered_map<std::string, std::vector<int64_t>> by_name;
  std::vector<std::string> relative(all_files.size());
  for (size_t i = 0; i < all_files.size(); ++i) {
    relative[i] = fs::path(all_files[i]).lexically_relative(root).generic_string();
    by_path[relative[i]] = static_cast<int64_t>(i);
    by_name[fs::path(all_files[i]).filename().string()].push_back(static_cast<int64_t>(i));
  }
  // The row of each image.
  std::vector<int64_t> row_of(all_files.size(), -1);
  for (size_t r = 0; r < table.files.size(); ++r) {
    const auto where = fmt::format("{}:{}", table.path, table.lines[r]);
    const auto key = fs::path(table.files[r]).lexically_normal().generic_string();
    int64_t image = -1;
    if (auto it = by_path.find(key); it != by_path.end()) {
      image = it->second;
    } else if (auto jt = by_name.find(key); jt != by_name.end()) {
      if (jt->second.size() > 1) {
        std::vector<std::string> names;
        for (size_t k = 0; k < std::min<size_t>(jt->second.size(), 3); ++k)
          names.push_back(relative[jt->second[k]]);
        DDIM_FAIL("{}: '{}' is ambiguous: {} images under {} have that name ({}{}); give its path", where,
                  table.files[r], jt->second.size(), root, fmt::join(names, ", "),
                  jt->second.size() > 3 ? ", ..." : "");
      }
      image = jt->second[0];
    }
    DDIM_CHECK(image >= 0, "{}: no image '{}' under {}", where, table.files[r], root);
    DDIM_CHECK(row_of[image] < 0, "{}: image '{}' already has a row (line {})", where, relative[image],
               table.lines[row_of[image]]);
    row_of[image] = static_cast<int64_t>(r);
  }
  // The rows of the requested files, in their order.
  std::unordered_map<std::string, int64_t> index_of;
  for (size_t i = 0; i < all_files.size(); ++i) index_of[all_files[i]] = static_cast<int64_t>(i);
  auto rows = torch::empty({static_cast<int64_t>(files.size())}, torch::kInt64);
  auto* out = rows.data_ptr<int64_t>();
  for (size_t i = 0; i < files.size(); ++i) {
    const auto it = index_of.find(files[i]);
    DDIM_CHECK(it != index_of.end(), "{}: not an image under {}", files[i], root);
    DDIM_CHECK(row_of[it->second] >= 0, "{}: the image has no row in {}", files[i], table.path);
    out[i] = row_of[it->second];
  }
  std::vector<Attribute> result;
  for (const auto& a : table.attributes) result.push_back({a.name, a.values, a.labels.index_select(0, rows)});
  return result;
}

}  // namespace ddim
