// Charts as PNG files, drawn with PLplot (Debian's libplplot, cairo driver): schedule curves,
// loss curves, eigenvalue spectra, scatter plots, vector fields and heat maps. Files are
// written atomically, like every other output.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ddim {

/// One curve or point set of a chart.
struct Series {
  enum class Style { Line, Points };
  std::string label;
  std::vector<double> x, y;
  Style style = Style::Line;

  static Series line(std::string label, const torch::Tensor& x, const torch::Tensor& y);
  static Series points(std::string label, const torch::Tensor& x, const torch::Tensor& y);
};

struct PlotOptions {
  std::string title, xlabel, ylabel;
  bool log_y = false;       ///< logarithmic y axis (values <= 0 are dropped)
  bool equal_axes = false;  ///< one unit is as long on both axes
  bool legend = true;       ///< a legend when there are labelled series
  /// Fixed axis ranges {x_min, x_max, y_min, y_max} (points outside are not drawn); empty:
  /// fit the data.
  std::vector<double> limits;
  int width = 900, height = 600;
};

/// Draws the series on one pair of axes.
void plot_xy(const std::string& path, const std::vector<Series>& series, const PlotOptions& options);

/// Draws arrows from (x0, y0) to (x1, y1) over an optional background point set (drawn
/// first, in `background_label`'s colour).
void plot_arrows(const std::string& path, const torch::Tensor& from, const torch::Tensor& to,
                 const Series& background, const PlotOptions& options);

/// Draws a matrix [rows, cols] as a heat map with a colour bar; x spans the columns and y
/// the rows over the given ranges.
void plot_heatmap(const std::string& path, const torch::Tensor& values, double x_min, double x_max,
                  double y_min, double y_max, const PlotOptions& options);

}  // namespace ddim
