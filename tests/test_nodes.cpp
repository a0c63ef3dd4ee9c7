#include "test_nodes.h"

#include <ATen/ATen.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "camgraph/node_context.h"

namespace camgraph::testing {

namespace {
double value_of(const NodeContext& ctx, const std::string& port) {
  return ctx.has_input(port) ? ctx.input<RecordValue>(port)->record.at("value").get<double>() : 0.0;
}
std::shared_ptr<RecordValue> number(double v) {
  auto r = std::make_shared<RecordValue>();
  r->record = {{"value", v}};
  return r;
}
}  // namespace

const Registry& test_registry() {
  static const Registry reg = [] {
    Registry r;
    r.add({.type = "test.number",
           .category = "Test",
           .outputs = {{"value", PortType::Record}},
           .params = {p_float("value", 1, -1e9, 1e9, "the number"),
                      outputs_unaffected(p_int("preview_every", 10, 0, 100, "cannot change the output"))},
           .execute = [](NodeContext& ctx) { ctx.set_output("value", number(ctx.param_float("value"))); }});
    r.add({.type = "test.add",
           .category = "Test",
           .inputs = {{"a", PortType::Record}, {"b", PortType::Record, "", true}},
           .outputs = {{"value", PortType::Record}},
           .params = {p_float("offset", 0, -1e9, 1e9, "added to the sum")},
           .execute = [](NodeContext& ctx) {
             ctx.set_output("value", number(value_of(ctx, "a") + value_of(ctx, "b") + ctx.param_float("offset")));
           }});
    r.add({.type = "test.slow",
           .category = "Test",
           .inputs = {{"in", PortType::Record, "", true}},
           .outputs = {{"value", PortType::Record}},
           .params = {p_float("seconds", 10, 0, 3600, "how long to work")},
           .execute = [](NodeContext& ctx) {
             const auto start = std::chrono::steady_clock::now();
             const double total = ctx.param_float("seconds");
             for (;;) {
               ctx.check_cancelled();
               const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
               if (t >= total) break;
               ctx.progress(t / total, "working");
               std::this_thread::sleep_for(std::chrono::milliseconds(10));
             }
             if (ctx.wants_previews()) ctx.preview(number(total), "snapshot", {{"step", 1}});
             ctx.set_output("value", number(value_of(ctx, "in")));
           }});
    r.add({.type = "test.file_size",
           .category = "Test",
           .outputs = {{"value", PortType::Record}},
           .params = {p_string("file", "", "a file relative to the graph's folder")},
           .execute =
               [](NodeContext& ctx) {
                 ctx.set_output("value", number(double(std::filesystem::file_size(ctx.input_path("file")))));
               },
           .cache_stamp = [](const json& params, const std::filesystem::path& graph_dir) -> json {
             std::error_code ec;
             const auto t = std::filesystem::last_write_time(graph_dir / params["file"].get<std::string>(), ec);
             return ec ? json("missing") : json(t.time_since_epoch().count());
           }});
    r.add({.type = "test.fail",
           .category = "Test",
           .inputs = {{"in", PortType::Record, "", true}},
           .outputs = {{"value", PortType::Record}},
           .params = {p_string("reason", "broken on purpose", "error message")},
           .execute = [](NodeContext& ctx) { ctx.fail("reason", ctx.param_string("reason")); }});
    r.add({.type = "test.image",
           .category = "Test",
           .outputs = {{"image", PortType::Image}},
           .params = {p_int("size", 4, 1, 64, "width and height")},
           .execute = [](NodeContext& ctx) {
             auto img = std::make_shared<ImageValue>();
             const int64_t s = ctx.param_int("size");
             img->pixels = at::rand({s, s, 3});
             ctx.set_output("image", img);
           }});
    r.add({.type = "test.sink",
           .category = "Test",
           .inputs = {{"in", PortType::Record}},
           .outputs = {{"value", PortType::Record}},
           .is_output = true,
           .execute = [](NodeContext& ctx) { ctx.set_output("value", number(value_of(ctx, "in"))); }});
    return r;
  }();
  return reg;
}

}  // namespace camgraph::testing
