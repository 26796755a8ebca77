// The canvas is CAIRO_FORMAT_RGB24 (no alpha: the PNG is 8-bit RGB); PNG bytes go through cairo's
// stream writer into an OutputFile, so a failed write leaves nothing at the path.
#include "plot/canvas.h"

#include <exception>

#include "core/error.h"
#include "core/output_file.h"

namespace moe::plot {

namespace {

void select_font(cairo_t* cr, const Font& font) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         font.bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, font.size);
}

}  // namespace

Canvas::Canvas(int64_t width, int64_t height)
    : width_(width),
      height_(height),
      surface_(cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(width), static_cast<int>(height)),
               &cairo_surface_destroy),
      cr_(cairo_create(surface_.get()), &cairo_destroy) {
  MOE_CHECK(cairo_surface_status(surface_.get()) == CAIRO_STATUS_SUCCESS, UsageError, "a ", width, "x", height,
            " image: ", cairo_status_to_string(cairo_surface_status(surface_.get())));
  set_color({255, 255, 255});
  cairo_paint(cr());
}

void Canvas::set_color(Rgb c) const { cairo_set_source_rgb(cr(), c.r / 255.0, c.g / 255.0, c.b / 255.0); }

double Canvas::text_width(std::string_view text, Font font) const {
  select_font(cr(), font);
  cairo_text_extents_t extents;
  cairo_text_extents(cr(), std::string(text).c_str(), &extents);
  return extents.x_advance;
}

void Canvas::text(double x, double baseline, std::string_view text, Rgb color, Font font, double align) const {
  const double width = align == 0 ? 0 : text_width(text, font);
  select_font(cr(), font);
  set_color(color);
  cairo_move_to(cr(), x - align * width, baseline);
  cairo_show_text(cr(), std::string(text).c_str());
}

void Canvas::write_png(const std::string& path) const {
  struct Sink {
    OutputFile file;
    std::exception_ptr error;  // OutputFile's IoError (disk full, ...): no exception may cross cairo's C
  } sink{OutputFile(path), nullptr};
  const auto write = [](void* closure, const unsigned char* data, unsigned int length) {
    Sink& out = *static_cast<Sink*>(closure);
    try {
      out.file.write(data, length);
      return CAIRO_STATUS_SUCCESS;
    } catch (const IoError&) {
      out.error = std::current_exception();
      return CAIRO_STATUS_WRITE_ERROR;
    }
  };
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface_.get(), write, &sink);
  if (sink.error) std::rethrow_exception(sink.error);
  MOE_CHECK(status == CAIRO_STATUS_SUCCESS, IoError, path, ": cannot write the PNG (", cairo_status_to_string(status),
            ")");
  sink.file.commit();
}

}  // namespace moe::plot
