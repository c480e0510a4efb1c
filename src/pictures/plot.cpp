#include "ddim/pictures/plot.h"

#ifdef DDIM_WITH_PLPLOT
#include <plplot/plstream.h>
#endif
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "ddim/core/error.h"
#include "ddim/core/file.h"

namespace ddim {

#ifdef DDIM_WITH_PLPLOT
namespace {

// Colour map 0: index 0 background (white), 1 axes and text (black), 2.. series colours
// (a colour-blind-safe palette after Wong 2011, Nature Methods 8:441).
constexpr int kPalette[][3] = {{255, 255, 255}, {0, 0, 0},       {0, 114, 178}, {213, 94, 0},
                               {0, 158, 115},   {204, 121, 167}, {230, 159, 0}, {86, 180, 233},
                               {240, 228, 66},  {128, 128, 128}};
constexpr int kColours = sizeof(kPalette) / sizeof(kPalette[0]);

int series_colour(size_t i) { return 2 + static_cast<int>(i % (kColours - 2)); }

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().flatten();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

void check_cairo_driver() {
  static const bool available = [] {
    // plgFileDevs fills caller-allocated arrays; n is their capacity on input.
    std::vector<const char*> menu_storage(256), device_storage(256);
    const char** menu = menu_storage.data();
    const char** devices = device_storage.data();
    int n = static_cast<int>(menu_storage.size());
    plgFileDevs(&menu, &devices, &n);
    for (int i = 0; i < n; ++i)
      if (std::string(devices[i]) == "pngcairo") return true;
    return false;
  }();
  DDIM_CHECK(available,
             "PLplot has no 'pngcairo' driver; install Debian's plplot-driver-cairo "
             "(scripts/install-deps.sh does)");
}

// A PLplot stream drawing into a temporary file that replaces `path` when the chart is done,
// so that charts are written atomically like every other output.
class Chart {
 public:
  Chart(const std::string& path, const PlotOptions& o) : path_(path) {
    check_cairo_driver();
    const std::filesystem::path target(path);
    if (target.has_parent_path()) make_directories(target.parent_path().string());
    tmp_ = fmt::format("{}.tmp-{}", path, ::getpid());
    pls_ = std::make_unique<plstream>();
    pls_->sdev("pngcairo");
    pls_->sfnam(tmp_.c_str());
    pls_->spage(0, 0, o.width, o.height, 0, 0);
    int r[kColours], g[kColours], b[kColours];
    for (int i = 0; i < kColours; ++i) r[i] = kPalette[i][0], g[i] = kPalette[i][1], b[i] = kPalette[i][2];
    pls_->scmap0(r, g, b, kColours);
    pls_->init();
    pls_->col0(1);
  }
  ~Chart() {
    if (pls_) {
      pls_.reset();
      std::remove(tmp_.c_str());
    }
  }
  plstream& operator*() { return *pls_; }
  plstream* operator->() { return pls_.get(); }
  void commit() {
    pls_.reset();  // flushes and closes the PNG
    DDIM_CHECK(std::rename(tmp_.c_str(), path_.c_str()) == 0, "{}: cannot write chart", path_);
  }

 private:
  std::string path_, tmp_;
  std::unique_ptr<plstream> pls_;
};

struct Range {
  double lo = INFINITY, hi = -INFINITY;
  void add(double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  void finish(bool pad) {
    if (!(lo <= hi)) lo = 0, hi = 1;
    if (hi - lo < 1e-12) lo -= 0.5, hi += 0.5;
    if (pad) {
      const double m = 0.04 * (hi - lo);
      lo -= m, hi += m;
    }
  }
};

void draw_legend(plstream& pls, const std::vector<Series>& series) {
  std::vector<PLINT> opts, text_colours, line_colours, line_styles, symbol_colours, symbol_numbers;
  std::vector<PLFLT> line_widths, symbol_scales;
  std::vector<const char*> texts, symbols;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].label.empty()) continue;
    const bool points = series[i].style == Series::Style::Points;
    opts.push_back(points ? PL_LEGEND_SYMBOL : PL_LEGEND_LINE);
    text_colours.push_back(1);
    texts.push_back(series[i].label.c_str());
    line_colours.push_back(series_colour(i));
    line_styles.push_back(1);
    line_widths.push_back(2.0);
    symbol_colours.push_back(series_colour(i));
    symbol_scales.push_back(1.0);
    symbol_numbers.push_back(3);
    symbols.push_back("#(210)");
  }
  if (opts.empty()) return;
  PLFLT w = 0, h = 0;
  pls.legend(&w, &h, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_RIGHT | PL_POSITION_TOP, 0.02,
             0.02, 0.08, 0, 1, 1, 0, 0, static_cast<PLINT>(opts.size()), opts.data(), 1.0, 0.9, 2.0, 0.0,
             text_colours.data(), texts.data(), nullptr, nullptr, nullptr, nullptr, line_colours.data(),
             line_styles.data(), line_widths.data(), symbol_colours.data(), symbol_scales.data(),
             symbol_numbers.data(), symbols.data());
}

}  // namespace

Series Series::line(std::string label, const torch::Tensor& x, const torch::Tensor& y) {
  return {std::move(label), to_vector(x), to_vector(y), Style::Line};
}

Series Series::points(std::string label, const torch::Tensor& x, const torch::Tensor& y) {
  return {std::move(label), to_vector(x), to_vector(y), Style::Points};
}

void plot_xy(const std::string& path, const std::vector<Series>& series, const PlotOptions& o) {
  DDIM_CHECK_ARG(!series.empty(), "{}: nothing to plot", path);
  // A log axis is drawn over log10 of the values.
  std::vector<std::vector<double>> ys;
  Range xr, yr;
  for (const auto& s : series) {
    DDIM_CHECK_ARG(s.x.size() == s.y.size(), "{}: series '{}' has {} x and {} y values", path, s.label,
                   s.x.size(), s.y.size());
    std::vector<double> y = s.y;
    if (o.log_y)
      for (auto& v : y) v = v > 0 ? std::log10(v) : NAN;
    for (size_t i = 0; i < y.size(); ++i) xr.add(s.x[i]), yr.add(y[i]);
    ys.push_back(std::move(y));
  }
  xr.finish(false);
  yr.finish(true);
  if (o.limits.size() == 4)
    xr.lo = o.limits[0], xr.hi = o.limits[1], yr.lo = o.limits[2], yr.hi = o.limits[3];
  Chart chart(path, o);
  chart->schr(0, 0.9);
  chart->env(xr.lo, xr.hi, yr.lo, yr.hi, o.equal_axes ? 1 : 0, o.log_y ? 20 : 2);
  chart->col0(1);
  chart->lab(o.xlabel.c_str(), o.ylabel.c_str(), o.title.c_str());
  for (size_t i = 0; i < series.size(); ++i) {
    chart->col0(series_colour(i));
    // Split at non-finite values so that gaps stay gaps.
    std::vector<PLFLT> x, y;
    auto flush = [&] {
      if (x.empty()) return;
      if (series[i].style == Series::Style::Line) {
        chart->width(2.0);
        chart->line(static_cast<PLINT>(x.size()), x.data(), y.data());
      } else {
        chart->ssym(0, x.size() > 2000 ? 0.35 : 0.6);
        chart->poin(static_cast<PLINT>(x.size()), x.data(), y.data(), 17);
      }
      x.clear(), y.clear();
    };
    for (size_t k = 0; k < ys[i].size(); ++k) {
      const bool inside =
          series[i].x[k] >= xr.lo && series[i].x[k] <= xr.hi && ys[i][k] >= yr.lo && ys[i][k] <= yr.hi;
      if (std::isfinite(series[i].x[k]) && std::isfinite(ys[i][k]) && (inside || o.limits.empty())) {
        x.push_back(series[i].x[k]);
        y.push_back(ys[i][k]);
      } else {
        flush();
      }
    }
    flush();
  }
  chart->width(1.0);
  if (o.legend) draw_legend(*chart, series);
  chart.commit();
}

void plot_arrows(const std::string& path, const torch::Tensor& from, const torch::Tensor& to,
                 const Series& background, const PlotOptions& o) {
  DDIM_CHECK_ARG(from.dim() == 2 && from.size(1) == 2 && to.sizes() == from.sizes(),
                 "{}: arrows need two [N, 2] point sets of equal size", path);
  const auto a = to_vector(from), b = to_vector(to);
  Range xr, yr;
  for (size_t i = 0; i < a.size(); i += 2) xr.add(a[i]), xr.add(b[i]), yr.add(a[i + 1]), yr.add(b[i + 1]);
  for (size_t i = 0; i < background.x.size(); ++i) xr.add(background.x[i]), yr.add(background.y[i]);
  xr.finish(true);
  yr.finish(true);
  Chart chart(path, o);
  chart->schr(0, 0.9);
  chart->env(xr.lo, xr.hi, yr.lo, yr.hi, o.equal_axes ? 1 : 0, 2);
  chart->col0(1);
  chart->lab(o.xlabel.c_str(), o.ylabel.c_str(), o.title.c_str());
  if (!background.x.empty()) {
    chart->col0(2);
    chart->ssym(0, 0.4);
    chart->poin(static_cast<PLINT>(background.x.size()), const_cast<PLFLT*>(background.x.data()),
                const_cast<PLFLT*>(background.y.data()), 17);
  }
  // Each arrow: a shaft and a two-stroke head at 25 degrees, a fifth of the shaft long.
  chart->col0(3);
  chart->width(0.8);
  for (size_t i = 0; i < a.size(); i += 2) {
    const double x0 = a[i], y0 = a[i + 1], x1 = b[i], y1 = b[i + 1];
    chart->join(x0, y0, x1, y1);
    const double dx = x1 - x0, dy = y1 - y0, len = std::hypot(dx, dy);
    if (len < 1e-9) continue;
    const double head = std::min(0.2 * len, 0.03 * (xr.hi - xr.lo));
    const double ang = std::atan2(dy, dx);
    for (double side : {+1.0, -1.0}) {
      const double t = ang + M_PI - side * 0.436;
      chart->join(x1, y1, x1 + head * std::cos(t), y1 + head * std::sin(t));
    }
  }
  chart->col0(4);
  chart->ssym(0, 0.4);
  std::vector<PLFLT> ex, ey;
  for (size_t i = 0; i < b.size(); i += 2) ex.push_back(b[i]), ey.push_back(b[i + 1]);
  chart->poin(static_cast<PLINT>(ex.size()), ex.data(), ey.data(), 17);
  chart.commit();
}

void plot_heatmap(const std::string& path, const torch::Tensor& values, double x_min, double x_max,
                  double y_min, double y_max, const PlotOptions& o) {
  DDIM_CHECK_ARG(values.dim() == 2 && values.numel() > 0, "{}: a heat map needs a matrix", path);
  auto v = values.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const int rows = static_cast<int>(v.size(0)), cols = static_cast<int>(v.size(1));
  const double lo = v.min().item<double>(), hi = std::max(v.max().item<double>(), lo + 1e-12);
  // PLplot indexes images [x][y]: transpose into column pointers. plimage spreads its samples
  // over the corners of the range and fills each cell with its lower-left corner's value, so
  // n cells need n + 1 samples: the last row and column are repeated.
  std::vector<std::vector<PLFLT>> cells(cols + 1, std::vector<PLFLT>(rows + 1));
  for (int r = 0; r <= rows; ++r)
    for (int c = 0; c <= cols; ++c)
      cells[c][r] = v[std::min(r, rows - 1)][std::min(c, cols - 1)].item<double>();
  std::vector<const PLFLT*> ptrs(cols + 1);
  for (int c = 0; c <= cols; ++c) ptrs[c] = cells[c].data();
  Chart chart(path, o);
  chart->schr(0, 0.9);
  // Colour map 1: a perceptually ordered ramp from dark blue to yellow (viridis end points).
  PLFLT pos[] = {0.0, 0.5, 1.0}, red[] = {0.267, 0.128, 0.993}, green[] = {0.005, 0.567, 0.906},
        blue[] = {0.329, 0.551, 0.144};
  chart->scmap1l(true, 3, pos, red, green, blue, nullptr);
  chart->adv(0);  // a page, as env() makes for the other charts: without one nothing is drawn
  chart->vpor(0.1, 0.82, 0.12, 0.9);
  chart->wind(x_min, x_max, y_min, y_max);
  chart->image(ptrs.data(), cols + 1, rows + 1, x_min, x_max, y_min, y_max, lo, hi, x_min, x_max, y_min,
               y_max);
  chart->col0(1);
  chart->box("bcnst", 0, 0, "bcnstv", 0, 0);
  chart->lab(o.xlabel.c_str(), o.ylabel.c_str(), o.title.c_str());
  PLFLT cw = 0, ch = 0;
  PLINT n_values = 2;
  PLFLT range[] = {lo, hi};
  const PLFLT* value_ptrs[] = {range};
  const char* axis_opts[] = {"bcvtm"};
  PLFLT ticks[] = {0.0};
  PLINT sub_ticks[] = {0};
  PLINT label_opts[] = {PL_COLORBAR_LABEL_BOTTOM};
  const char* labels[] = {""};
  chart->colorbar(&cw, &ch, PL_COLORBAR_IMAGE | PL_COLORBAR_BOUNDING_BOX, PL_POSITION_RIGHT, 0.03, 0.0, 0.04,
                  0.78, 0, 1, 1, 0, 0, 0, 0, 1, label_opts, labels, 1, axis_opts, ticks, sub_ticks, &n_values,
                  value_ptrs);
  chart.commit();
}

#else  // without PLplot: charts are unavailable

namespace {
[[noreturn]] void unavailable(const std::string& path) {
  throw Unavailable(
      fmt::format("{}: not drawn: this build of ddim has no PLplot (Debian: libplplot-dev, "
                  "plplot-driver-cairo)",
                  path));
}
}  // namespace

Series Series::line(std::string label, const torch::Tensor& x, const torch::Tensor& y) {
  auto vx = x.detach().to(torch::kCPU, torch::kFloat64).contiguous(),
       vy = y.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return {std::move(label), std::vector<double>(vx.data_ptr<double>(), vx.data_ptr<double>() + vx.numel()),
          std::vector<double>(vy.data_ptr<double>(), vy.data_ptr<double>() + vy.numel()), Style::Line};
}
Series Series::points(std::string label, const torch::Tensor& x, const torch::Tensor& y) {
  auto s = line(std::move(label), x, y);
  s.style = Style::Points;
  return s;
}
void plot_xy(const std::string& path, const std::vector<Series>&, const PlotOptions&) { unavailable(path); }
void plot_arrows(const std::string& path, const torch::Tensor&, const torch::Tensor&, const Series&,
                 const PlotOptions&) {
  unavailable(path);
}
void plot_heatmap(const std::string& path, const torch::Tensor&, double, double, double, double,
                  const PlotOptions&) {
  unavailable(path);
}

#endif
}  // namespace ddim
