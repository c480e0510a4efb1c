// Attributes files (CSV and CelebA's layout) and folder data labelled by them.
#include "ddim/core/error.h"
#include "ddim/data/attributes.h"
#include "ddim/data/dataset.h"
#include "ddim/io/image.h"
#include "support.h"

using namespace ddim;
using namespace ddim::test;

namespace {

std::vector<int64_t> as_vector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// Expects `f` to throw ddim::Error whose message contains `text`.
template <class F>
void expect_error(F&& f, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << text;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// Three tiny images, each filled with its own gray level: a.png 0.1, b.png 0.5, sub/c.png 0.9.
std::string write_folder(const std::string& dir) {
  write_png(dir + "/img/a.png", torch::full({1, 4, 4}, 0.1));
  write_png(dir + "/img/b.png", torch::full({1, 4, 4}, 0.5));
  write_png(dir + "/img/sub/c.png", torch::full({1, 4, 4}, 0.9));
  return dir + "/img";
}

}  // namespace

class AttributesTest : public SeededTest {};

TEST_F(AttributesTest, CsvValuesAreSortedDistinctStrings) {
  const auto dir = scratch_dir();
  write_text(dir + "/a.csv",
             "\xEF\xBB\xBF"
             "file,colour,\"size, cm\",smile\r\n"
             "x.png, red ,10,yes\r\n"
             "\r\n"
             "\"y,1.png\",blue,9,no\n"
             "z.png,\"dark \"\"red\"\"\",10,yes\n");
  const auto t = read_attribute_table(dir + "/a.csv");
  EXPECT_EQ(t.files, (std::vector<std::string>{"x.png", "y,1.png", "z.png"}));
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 4, 5}));
  ASSERT_EQ(attribute_names(t.attributes), (std::vector<std::string>{"colour", "size, cm", "smile"}));
  EXPECT_EQ(t.attributes[0].values, (std::vector<std::string>{"blue", "dark \"red\"", "red"}));
  EXPECT_EQ(as_vector(t.attributes[0].labels), (std::vector<int64_t>{2, 0, 1}));
  // Numbers sort as numbers.
  EXPECT_EQ(t.attributes[1].values, (std::vector<std::string>{"9", "10"}));
  EXPECT_EQ(as_vector(t.attributes[1].labels), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(t.attributes[2].values, (std::vector<std::string>{"no", "yes"}));
}

TEST_F(AttributesTest, CelebALayoutIsDetected) {
  const auto dir = scratch_dir();
  write_text(dir + "/list_attr_celeba.txt",
             "3\n"
             "5_o_Clock_Shadow Arched_Eyebrows Smiling \n"
             "000001.jpg -1  1  1\n"
             "000002.jpg -1 -1  1\n"
             "000003.jpg  1 -1 -1\n");
  const auto t = read_attribute_table(dir + "/list_attr_celeba.txt");
  EXPECT_EQ(t.files, (std::vector<std::string>{"000001.jpg", "000002.jpg", "000003.jpg"}));
  ASSERT_EQ(attribute_names(t.attributes),
            (std::vector<std::string>{"5_o_Clock_Shadow", "Arched_Eyebrows", "Smiling"}));
  for (const auto& a : t.attributes) EXPECT_EQ(a.values, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(as_vector(t.attributes[0].labels), (std::vector<int64_t>{0, 0, 1}));
  EXPECT_EQ(as_vector(t.attributes[1].labels), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_EQ(as_vector(t.attributes[2].labels), (std::vector<int64_t>{1, 1, 0}));
}

TEST_F(AttributesTest, MalformedFilesNameTheLine) {
  const auto dir = scratch_dir();
  write_text(dir + "/short.csv", "file,a,b\nx.png,1,2\ny.png,1\n");
  expect_error([&] { read_attribute_table(dir + "/short.csv"); },
               "short.csv:3: expected 3 fields (as the header), got 2");
  write_text(dir + "/header.csv", "file\nx.png\n");
  expect_error([&] { read_attribute_table(dir + "/header.csv"); }, "header.csv:1: the header must name");
  write_text(dir + "/twice.csv", "file,a,a\nx.png,1,2\n");
  expect_error([&] { read_attribute_table(dir + "/twice.csv"); }, "attribute 'a' is named twice");
  write_text(dir + "/quote.csv", "file,a\n\"x.png,1\n");
  expect_error([&] { read_attribute_table(dir + "/quote.csv"); }, "quote.csv:2: unterminated quoted field");
  write_text(dir + "/empty.csv", "\n\n");
  expect_error([&] { read_attribute_table(dir + "/empty.csv"); }, "empty.csv: empty attributes file");
  expect_error([&] { read_attribute_table(dir + "/absent.csv"); }, "absent.csv");
  write_text(dir + "/celeba.txt", "2\nA B\n1.jpg 1 -1\n2.jpg 1 2\n");
  expect_error([&] { read_attribute_table(dir + "/celeba.txt"); }, "celeba.txt:4: attribute B is '2'");
  write_text(dir + "/count.txt", "3\nA B\n1.jpg 1 -1\n2.jpg 1 1\n");
  expect_error([&] { read_attribute_table(dir + "/count.txt"); },
               "count.txt: line 1 declares 3 images but 2 rows");
  write_text(dir + "/fields.txt", "1\nA B\n1.jpg 1\n");
  expect_error([&] { read_attribute_table(dir + "/fields.txt"); },
               "fields.txt:3: expected a file name and 2 values");
}

TEST_F(AttributesTest, FolderImagesGetTheirRowsByPathOrBaseName) {
  const auto dir = scratch_dir();
  const auto root = write_folder(dir);
  // Rows in another order than the files; sub/c.png named by its base name.
  write_text(dir + "/attrs.csv", "file,shade,id\nc.png,light,3\na.png,dark,1\nb.png,mid,2\n");
  DataOptions o;
  o.attributes_file = dir + "/attrs.csv";
  o.pad_to = 0;
  auto ds = load_dataset(parse_data_spec("folder:" + root), o);
  ASSERT_EQ(ds.size(), 3);
  ASSERT_EQ(attribute_names(ds.attributes), (std::vector<std::string>{"shade", "id"}));
  // Files load in path order a, b, sub/c; the gray levels tell which image is which.
  EXPECT_EQ(as_vector(ds.attributes[1].labels), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(ds.attributes[0].values, (std::vector<std::string>{"dark", "light", "mid"}));
  EXPECT_EQ(as_vector(ds.attributes[0].labels), (std::vector<int64_t>{0, 2, 1}));
  EXPECT_NEAR(ds.slice(2, 3).mean().item<float>(), 0.9, 0.01);
  // The first column is the default class label; another can be chosen.
  EXPECT_EQ(ds.label_attribute, "shade");
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"dark", "light", "mid"}));
  EXPECT_TRUE(torch::equal(ds.labels, ds.attributes[0].labels));
  o.label_attribute = "id";
  o.limit = 2;
  ds = load_dataset(parse_data_spec("folder:" + root), o);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(as_vector(ds.labels), (std::vector<int64_t>{0, 1}));
  for (const auto& a : ds.attributes) EXPECT_EQ(a.labels.size(0), 2);
  o.label_attribute = "Smiling";
  try {
    load_dataset(parse_data_spec("folder:" + root), o);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(
        std::string(e.what()).find("unknown attribute 'Smiling' of folder:" + root + " (valid: shade, id)"),
        std::string::npos)
        << e.what();
  }
  // By relative path, in CelebA's layout.
  write_text(dir + "/celeba.txt", "3\nSmiling\nsub/c.png 1\na.png -1\nb.png 1\n");
  o.attributes_file = dir + "/celeba.txt";
  o.label_attribute.clear();
  o.limit = 0;
  ds = load_dataset(parse_data_spec("folder:" + root), o);
  EXPECT_EQ(as_vector(ds.labels), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(ds.classes, (std::vector<std::string>{"no", "yes"}));
}

TEST_F(AttributesTest, WhereKeepsTheExamplesWithTheGivenValuesBeforeTheLimit) {
  const auto dir = scratch_dir();
  const auto root = write_folder(dir);
  write_text(dir + "/attrs.csv", "file,shade,id\nc.png,light,3\na.png,dark,1\nb.png,mid,2\n");
  DataOptions o;
  o.attributes_file = dir + "/attrs.csv";
  o.pad_to = 0;
  o.where = {"shade=light,mid"};  // b and sub/c, in file order
  auto ds = load_dataset(parse_data_spec("folder:" + root), o);
  ASSERT_EQ(ds.size(), 2);
  EXPECT_EQ(as_vector(ds.attributes[1].labels), (std::vector<int64_t>{1, 2}));
  // Labels keep their meaning: the value list is the whole one.
  EXPECT_EQ(ds.attributes[0].values, (std::vector<std::string>{"dark", "light", "mid"}));
  EXPECT_NEAR(ds.slice(1, 2).mean().item<float>(), 0.9, 0.01);  // sub/c.png's gray level
  // A range in value order (dark..light: dark, light), two conditions, and the limit after them.
  o.where = {"shade=dark..light", "id=1..3"};
  o.limit = 1;
  ds = load_dataset(parse_data_spec("folder:" + root), o);
  ASSERT_EQ(ds.size(), 1);
  EXPECT_EQ(as_vector(ds.attributes[1].labels), (std::vector<int64_t>{0}));  // a.png
  o.limit = 0;
  auto refused = [&](std::vector<std::string> where, const std::string& text) {
    o.where = std::move(where);
    try {
      load_dataset(parse_data_spec("folder:" + root), o);
      ADD_FAILURE() << "accepted " << text;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  refused({"tone=dark"}, "unknown attribute 'tone'");
  refused({"shade=grey"}, "'grey' is not a value of shade (its values: dark, light, mid)");
  refused({"shade=mid..dark"}, "runs backwards");
  refused({"shade"}, "is not NAME=VALUE");
  refused({"shade=dark", "id=2"}, "no train example meets --where shade=dark --where id=2");
  o.attributes_file.clear();
  refused({"shade=dark"}, "--attributes FILE");
  DataOptions fm;
  fm.where = {"label=0"};
  EXPECT_THROW(load_dataset(parse_data_spec("toy:circles"), fm), InvalidArgument);
}

TEST_F(AttributesTest, EveryImageNeedsARowAndEveryRowAnImage) {
  const auto dir = scratch_dir();
  const auto root = write_folder(dir);
  DataOptions o;
  o.attributes_file = dir + "/attrs.csv";
  write_text(dir + "/attrs.csv", "file,shade\na.png,dark\nsub/c.png,light\n");
  expect_error([&] { load_dataset(parse_data_spec("folder:" + root), o); },
               root + "/b.png: the image has no row in " + dir + "/attrs.csv");
  write_text(dir + "/attrs.csv", "file,shade\na.png,dark\nb.png,mid\nd.png,none\n");
  expect_error([&] { load_dataset(parse_data_spec("folder:" + root), o); },
               "attrs.csv:4: no image 'd.png' under " + root);
  write_text(dir + "/attrs.csv", "file,shade\na.png,dark\nc.png,light\nsub/c.png,light\n");
  expect_error([&] { load_dataset(parse_data_spec("folder:" + root), o); },
               "attrs.csv:4: image 'sub/c.png' already has a row (line 3)");
  // More rows than images: refused before a row is parsed (a table's length must not drive
  // the work), with a CelebA count above the images likewise.
  write_text(dir + "/attrs.csv", "file,shade\na.png,dark\nb.png,mid\nc.png,light\nd.png,none\n");
  expect_error([&] { load_dataset(parse_data_spec("folder:" + root), o); },
               "attrs.csv: more rows than the 3 images there are to label");
  write_text(dir + "/attrs.csv", "4\nshade\na.png 1\nb.png 1\nc.png 0\n");
  expect_error([&] { load_dataset(parse_data_spec("folder:" + root), o); },
               "attrs.csv:1: declares 4 images but there are only 3 to label");
  // A base name two images share must be given as a path.
  write_png(root + "/other/c.png", torch::full({1, 4, 4}, 0.3));
  write_text(dir + "/attrs.csv", "file,shade\na.png,dark\nb.png,mid\nc.png,light\nother/c.png,x\n");
  expect_error([&] { load_dataset(parse_data_spec("folder:" + root), o); },
               "attrs.csv:4: 'c.png' is ambiguous: 2 images under " + root +
                   " have that name (other/c.png, sub/c.png");
  // A class attribute needs attributes.
  DataOptions plain;
  plain.label_attribute = "shade";
  EXPECT_THROW(load_dataset(parse_data_spec("folder:" + root), plain), InvalidArgument);
}
