// Named attributes of a data set's examples: several labels per image, such as the letter,
// size, colours and font of a rendered glyph (fonts.h) or CelebA's 40 binary face attributes.
//
// A data set's single class label (`Dataset::labels`, what class-conditional commands use) is
// one of its attributes, chosen by name (`DataOptions::label_attribute`).
//
// Users' own images get attributes from a file beside a folder (`--attributes FILE`), in
// either of two layouts, told apart by the first line:
//   CSV      a header `file,NAME1,NAME2,...`, then one row per image: its file name and one
//            value per attribute. Values are strings; an attribute's value names are its
//            distinct values, sorted (numerically when all of them are numbers). Fields may
//            be quoted ("a,b"; "" inside quotes is a quote); blank lines are skipped.
//   CelebA   `list_attr_celeba.txt`: the image count alone on the first line, the attribute
//            names on the second, then `000001.jpg  -1  1 ...` per image, whitespace
//            separated; -1 (or 0) becomes "no" and 1 "yes".
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

/// One attribute of every example of a data set.
struct Attribute {
  std::string name;
  std::vector<std::string> values;  ///< value names, by value index
  torch::Tensor labels;             ///< int64 [N]: each example's value index
};

/// The position of the attribute called `name`. Throws ddim::InvalidArgument listing the
/// valid names; `what` names the data set in that message.
size_t find_attribute(const std::vector<Attribute>& attributes, const std::string& name,
                      const std::string& what);

/// The names of the attributes, in order.
std::vector<std::string> attribute_names(const std::vector<Attribute>& attributes);

/// The attributes of examples [0, n) only (what `--limit` keeps).
std::vector<Attribute> narrow_attributes(const std::vector<Attribute>& attributes, int64_t n);

/// A condition on one attribute, what `--where NAME=VALUES` keeps: the examples whose value of
/// `attribute` is one of `values` (value indices, sorted, distinct). Subsets by attribute value
/// (capitals only, two sizes, six fonts) size an experiment for a CPU; labels keep their
/// meaning (the attribute's value list is not shortened) and a split stays what it was.
struct AttributeCondition {
  std::string attribute;
  std::vector<int64_t> values;
};

/// Parses "NAME=ITEM,ITEM,..." against the attributes' names and value names (their labels are
/// not needed): an ITEM is a value name, or FIRST..LAST for the values from FIRST to LAST in the
/// attribute's order ("letter=A..Z", "size=small,large"). Throws ddim::InvalidArgument naming
/// `what` and the unknown attribute or value, with the valid ones.
AttributeCondition parse_attribute_condition(const std::string& text,
                                             const std::vector<Attribute>& attributes,
                                             const std::string& what);

/// bool [N]: the examples that meet every condition (all of them when there is none).
torch::Tensor meets_conditions(const std::vector<AttributeCondition>& conditions,
                               const std::vector<Attribute>& attributes);

/// The attributes of the examples `indices` (int64 [K]) only.
std::vector<Attribute> select_attributes(const std::vector<Attribute>& attributes,
                                         const torch::Tensor& indices);

/// An attributes file as read: one row per named file.
struct AttributeTable {
  std::string path;                   ///< the file read, for messages
  std::vector<std::string> files;     ///< file names as written, by row
  std::vector<int64_t> lines;         ///< 1-based line number of each row
  std::vector<Attribute> attributes;  ///< labels: int64 [rows]
};

/// Reads an attributes file in either layout above. Throws ddim::Error naming the file (and
/// the line) when it is missing, empty or malformed: a row with the wrong number of fields,
/// a CelebA value other than -1, 0 or 1, a row count that differs from the declared one, an
/// empty or repeated attribute name. With `max_rows` >= 0 (the images there are to label), a
/// file with more rows, or a CelebA count above it, is refused before any row is parsed: a
/// table is a file from other people, and its size must not drive the work.
AttributeTable read_attribute_table(const std::string& path, int64_t max_rows = -1);

/// The attributes of `files`, images under `root` as list_images returns them (full paths).
/// A row names an image by its path relative to `root` or, when that is unique under `root`,
/// by its base name. `all_files` is every image under `root`: each row must name one of them
/// (and no two rows the same one), and each of `files` must have a row. Throws ddim::Error
/// naming the table file and line, or the image without a row.
std::vector<Attribute> attributes_for_files(const AttributeTable& table, const std::string& root,
                                            const std::vector<std::string>& all_files,
                                            const std::vector<std::string>& files);

}  // namespace ddim
