// Evaluation: caching re-runs exactly the changed part, cancellation, failing branches.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "camgraph/cache.h"
#include "camgraph/cgraph_io.h"
#include "camgraph/evaluator.h"
#include "camgraph/node_context.h"
#include "camgraph/preview.h"
#include "camgraph/values.h"
#include "test_nodes.h"
#include "test_support.h"

using namespace camgraph;
using camgraph::testing::temp_dir;
using camgraph::testing::test_registry;
namespace fs = std::filesystem;

namespace {

NodeInstance node(const std::string& id, const std::string& type, json params = json::object()) {
  NodeInstance n;
  n.id = id;
  n.type = type;
  n.params = std::move(params);
  return n;
}
Link wire(const std::string& from, const std::string& to) {
  auto split = [](const std::string& s) {
    auto d = s.find('.');
    return PortRef{s.substr(0, d), s.substr(d + 1)};
  };
  return {split(from), split(to)};
}

double value(const Evaluator& ev, const std::string& id) {
  auto outs = ev.outputs(id);
  EXPECT_TRUE(outs.count("value")) << id;
  return std::dynamic_pointer_cast<const RecordValue>(outs.at("value"))->record.at("value").get<double>();
}

//   a ──┐
//       ├─ sum ── double ── sink
//   b ──┘
//   c ── other ── sink2
Graph diamond() {
  Graph g;
  g.nodes = {node("a", "test.number", {{"value", 2}}),
             node("b", "test.number", {{"value", 3}}),
             node("sum", "test.add"),
             node("double", "test.add", {{"offset", 10}}),
             node("sink", "test.sink"),
             node("c", "test.number", {{"value", 100}}),
             node("other", "test.add"),
             node("sink2", "test.sink")};
  g.links = {wire("a.value", "sum.a"),       wire("b.value", "sum.b"),        wire("sum.value", "double.a"),
             wire("sum.value", "double.b"),  wire("double.value", "sink.in"), wire("c.value", "other.a"),
             wire("other.value", "sink2.in")};
  return g;
}

RunOptions options(const std::string& name) {
  RunOptions o;
  o.device = DeviceKind::Cpu;
  o.out_dir = temp_dir(name);
  return o;
}

}  // namespace

TEST(Evaluator, ComputesValuesInTopologicalOrder) {
  Evaluator ev(test_registry());
  RunResult r = ev.run(diamond(), options("order"));
  ASSERT_TRUE(r.ok) << (r.problems.empty() ? "" : r.problems[0].to_string());
  EXPECT_EQ(value(ev, "sum"), 5);
  EXPECT_EQ(value(ev, "double"), 20);  // 5 + 5 + 10
  EXPECT_EQ(value(ev, "sink"), 20);
  EXPECT_EQ(value(ev, "sink2"), 100);
}

TEST(Evaluator, ChangingOneParameterRerunsOnlyThatNodeAndDescendants) {
  Evaluator ev(test_registry());
  Graph g = diamond();
  ASSERT_TRUE(ev.run(g, options("cache")).ok);
  for (const char* id : {"a", "b", "sum", "double", "sink", "c", "other", "sink2"})
    EXPECT_EQ(ev.executions(id), 1) << id;

  // Same graph again: every computing node is cached; output nodes always write.
  RunResult again = ev.run(g, options("cache"));
  ASSERT_TRUE(again.ok);
  for (const char* id : {"a", "b", "sum", "double", "c", "other"}) {
    EXPECT_EQ(ev.executions(id), 1) << id;
    EXPECT_EQ(again.nodes[id].state, NodeState::Cached) << id;
  }

  // Change b: b, sum, double and sink re-run; a, c, other stay cached.
  g.node("b")->params["value"] = 4;
  RunResult changed = ev.run(g, options("cache"));
  ASSERT_TRUE(changed.ok);
  EXPECT_EQ(ev.executions("a"), 1);
  EXPECT_EQ(ev.executions("b"), 2);
  EXPECT_EQ(ev.executions("sum"), 2);
  EXPECT_EQ(ev.executions("double"), 2);
  EXPECT_EQ(ev.executions("c"), 1);
  EXPECT_EQ(ev.executions("other"), 1);
  EXPECT_EQ(value(ev, "double"), 22);

  // Writing a default explicitly does not change the key.
  g.node("sum")->params["offset"] = 0.0;
  ev.run(g, options("cache"));
  EXPECT_EQ(ev.executions("sum"), 2);
}

TEST(Evaluator, DiskCacheSurvivesANewEvaluator) {
  const fs::path cache = temp_dir("test-disk-cache");
  RunOptions o = options("disk");
  o.cache_dir = cache;
  {
    Evaluator ev(test_registry());
    ASSERT_TRUE(ev.run(diamond(), o).ok);
  }
  Evaluator fresh(test_registry());
  std::vector<Event> events;
  o.on_event = [&](const Event& e) { events.push_back(e); };
  RunResult r = fresh.run(diamond(), o);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(fresh.executions("sum"), 0);
  EXPECT_EQ(fresh.executions("double"), 0);
  EXPECT_EQ(value(fresh, "double"), 20);
  int disk_hits = 0;
  for (const auto& e : events)
    if (e.kind == EventKind::NodeCached && e.data.value("tier", "") == "disk") ++disk_hits;
  EXPECT_EQ(disk_hits, 6);  // a, b, sum, double, c, other
}

TEST(Evaluator, ParametersThatCannotChangeOutputsRerunNothing) {
  Evaluator ev(test_registry());
  Graph g = diamond();
  ASSERT_TRUE(ev.run(g, options("unaffected")).ok);
  g.node("a")->params["preview_every"] = 3;
  RunResult r = ev.run(g, options("unaffected"));
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.nodes["a"].state, NodeState::Cached);
  EXPECT_EQ(ev.executions("a"), 1);
  EXPECT_EQ(ev.executions("sum"), 1);
  // Still validated: an out-of-range value is refused naming the parameter.
  g.node("a")->params["preview_every"] = 1000;
  RunResult bad = ev.run(g, options("unaffected"));
  ASSERT_FALSE(bad.problems.empty());
  EXPECT_EQ(bad.problems[0].param, "preview_every");
}

TEST(Evaluator, ANodesCacheStampRerunsItWhenItsFileChanges) {
  const fs::path dir = temp_dir("test-stamp");
  std::ofstream(dir / "weights.bin") << "1234";
  Graph g;
  g.nodes = {node("size", "test.file_size", {{"file", "weights.bin"}})};
  RunOptions o = options("stamp");
  o.graph_dir = dir;
  Evaluator ev(test_registry());
  ASSERT_TRUE(ev.run(g, o).ok);
  ASSERT_TRUE(ev.run(g, o).ok);
  EXPECT_EQ(ev.executions("size"), 1);  // unchanged file: cached
  std::ofstream(dir / "weights.bin") << "123456";
  fs::last_write_time(dir / "weights.bin", fs::last_write_time(dir / "weights.bin") + std::chrono::seconds(5));
  ASSERT_TRUE(ev.run(g, o).ok);
  EXPECT_EQ(ev.executions("size"), 2);  // same name, new file: re-run
  EXPECT_EQ(value(ev, "size"), 6);
}

TEST(Evaluator, DiskCachePruneRemovesLeastRecentlyUsedEntriesFirst) {
  const fs::path cache = temp_dir("test-prune-cache");
  RunOptions o = options("prune");
  o.cache_dir = cache;
  {
    Evaluator ev(test_registry());
    ASSERT_TRUE(ev.run(diamond(), o).ok);
  }
  const Cache::DiskUsage all = Cache::disk_usage(cache);
  ASSERT_EQ(all.entries, 6u);  // output nodes (the sinks) always run and are not stored
  // Age every entry by an hour, then use a, b and sum again (a hit refreshes the entry).
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::recursive_directory_iterator(cache))
    if (e.is_regular_file()) fs::last_write_time(e.path(), old);
  {
    Evaluator ev(test_registry());
    RunOptions t = o;
    t.targets = {"sum"};
    ASSERT_TRUE(ev.run(diamond(), t).ok);
    EXPECT_EQ(ev.executions("sum"), 0);
  }
  std::uintmax_t recent_bytes = 0;
  size_t recent = 0;
  for (const auto& e : fs::recursive_directory_iterator(cache))
    if (e.is_regular_file() && fs::last_write_time(e.path()) > old + std::chrono::minutes(30)) {
      recent_bytes += e.file_size();
      ++recent;
    }
  ASSERT_EQ(recent, 3u);
  const Cache::DiskUsage removed = Cache::prune_disk(cache, recent_bytes);
  EXPECT_EQ(removed.entries, 3u);  // double, c, other
  EXPECT_EQ(removed.bytes, all.bytes - recent_bytes);
  EXPECT_EQ(Cache::disk_usage(cache).entries, 3u);
  EXPECT_EQ(Cache::prune_disk(cache, recent_bytes).entries, 0u);  // already within the cap

  // A temp file of a writer killed an hour ago goes even within the cap; a fresh one (being
  // written now) stays, and neither counts as an entry.
  const fs::path dead = cache / "ab" / ".abcd.cgcache.tmp-123-1", live = cache / "ab" / ".abce.cgcache.tmp-124-1";
  fs::create_directories(dead.parent_path());
  std::ofstream(dead) << "partial";
  std::ofstream(live) << "partial";
  fs::last_write_time(dead, old);
  EXPECT_EQ(Cache::disk_usage(cache).entries, 3u);
  EXPECT_EQ(Cache::prune_disk(cache, recent_bytes).entries, 1u);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  fs::remove(live);
  Evaluator fresh(test_registry());
  ASSERT_TRUE(fresh.run(diamond(), o).ok);
  EXPECT_EQ(fresh.executions("a"), 0);
  EXPECT_EQ(fresh.executions("sum"), 0);
  EXPECT_EQ(fresh.executions("double"), 1);
  EXPECT_EQ(fresh.executions("other"), 1);
  EXPECT_EQ(value(fresh, "double"), 20);
}

TEST(Evaluator, CorruptDiskCacheEntryIsRecomputed) {
  const fs::path cache = temp_dir("test-corrupt-cache");
  RunOptions o = options("corrupt");
  o.cache_dir = cache;
  {
    Evaluator ev(test_registry());
    ASSERT_TRUE(ev.run(diamond(), o).ok);
  }
  for (const auto& e : fs::recursive_directory_iterator(cache))
    if (e.is_regular_file()) fs::resize_file(e.path(), 5);  // truncate every entry
  Evaluator fresh(test_registry());
  ASSERT_TRUE(fresh.run(diamond(), o).ok);
  EXPECT_EQ(fresh.executions("sum"), 1);
  EXPECT_EQ(value(fresh, "double"), 20);
}

TEST(Evaluator, CancelStopsALongNode) {
  Graph g;
  g.nodes = {node("slow", "test.slow", {{"seconds", 30}}), node("after", "test.add")};
  g.links = {wire("slow.value", "after.a")};
  CancelToken cancel;
  RunOptions o = options("cancel");
  o.cancel = &cancel;
  bool started = false;
  o.on_event = [&](const Event& e) {
    if (e.kind == EventKind::NodeStarted && e.node == "slow") started = true;
  };
  Evaluator ev(test_registry());
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel.cancel();
  });
  const auto t0 = std::chrono::steady_clock::now();
  RunResult r = ev.run(g, o);
  stopper.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(started);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.ok);
  EXPECT_LT(seconds, 5.0) << "cancellation did not stop the 30 s node";
  EXPECT_EQ(r.nodes["slow"].state, NodeState::Skipped);
  EXPECT_EQ(r.nodes["after"].state, NodeState::Skipped);
}

TEST(Evaluator, FailingBranchLeavesIndependentBranchFinished) {
  Graph g;
  g.nodes = {node("src", "test.number", {{"value", 1}}),
             node("bad", "test.fail", {{"reason", "no luck"}}),
             node("bad_child", "test.add"),
             node("bad_sink", "test.sink"),
             node("good", "test.add", {{"offset", 1}}),
             node("good_sink", "test.sink")};
  g.links = {wire("src.value", "bad.in"), wire("bad.value", "bad_child.a"), wire("bad_child.value", "bad_sink.in"),
             wire("src.value", "good.a"), wire("good.value", "good_sink.in")};
  Evaluator ev(test_registry());
  std::vector<Event> events;
  RunOptions o = options("branches");
  o.on_event = [&](const Event& e) { events.push_back(e); };
  RunResult r = ev.run(g, o);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.nodes["bad"].state, NodeState::Failed);
  EXPECT_EQ(r.nodes["bad"].error, "no luck");
  EXPECT_EQ(r.nodes["bad"].error_param, "reason");
  EXPECT_EQ(r.nodes["bad_child"].state, NodeState::Skipped);
  EXPECT_EQ(r.nodes["bad_sink"].state, NodeState::Skipped);
  EXPECT_EQ(r.nodes["good"].state, NodeState::Done);
  EXPECT_EQ(r.nodes["good_sink"].state, NodeState::Done);
  EXPECT_EQ(value(ev, "good_sink"), 2);
  bool failed_event = false;
  for (const auto& e : events)
    if (e.kind == EventKind::NodeFailed && e.node == "bad" && e.param == "reason") failed_event = true;
  EXPECT_TRUE(failed_event);
  EXPECT_EQ(events.back().kind, EventKind::RunFinished);
  EXPECT_EQ(events.back().data["status"], "failed");
}

TEST(Evaluator, TargetsRunOnlyWhatTheyNeed) {
  Evaluator ev(test_registry());
  RunOptions o = options("targets");
  o.targets = {"sum"};
  RunResult r = ev.run(diamond(), o);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(ev.executions("sum"), 1);
  EXPECT_EQ(ev.executions("double"), 0);
  EXPECT_EQ(ev.executions("c"), 0);
  EXPECT_EQ(r.nodes.size(), 3u);
}

TEST(Evaluator, InvalidGraphRunsNothingAndReportsEveryProblem) {
  Graph g = diamond();
  g.node("a")->params["value"] = "two";              // wrong type
  g.node("sum")->params["nope"] = 1;                 // unknown parameter
  g.links.push_back(wire("double.value", "sum.b"));  // b connected twice, and a cycle
  Evaluator ev(test_registry());
  RunResult r = ev.run(g, options("invalid"));
  EXPECT_FALSE(r.ok);
  EXPECT_GE(r.problems.size(), 3u);
  EXPECT_EQ(ev.executions("a"), 0);
  bool saw_param = false;
  for (const auto& p : r.problems) saw_param |= (p.node == "a" && p.param == "value");
  EXPECT_TRUE(saw_param);
}

TEST(Evaluator, ProgressEventsCarryFractionAndEta) {
  Graph g;
  g.nodes = {node("slow", "test.slow", {{"seconds", 0.8}})};
  std::vector<Event> progress;
  RunOptions o = options("progress");
  o.on_event = [&](const Event& e) {
    if (e.kind == EventKind::Progress) progress.push_back(e);
  };
  Evaluator ev(test_registry());
  ASSERT_TRUE(ev.run(g, o).ok);
  ASSERT_GT(progress.size(), 5u);
  EXPECT_GT(progress.back().fraction, 0.5);
  EXPECT_GE(progress.back().eta_s, 0.0);
  EXPECT_EQ(progress.back().to_json()["event"], "progress");
}

TEST(Evaluator, PreviewEventsCarryAValueOnlyWhenTheRunAsksForThem) {
  Graph g;
  g.nodes = {node("slow", "test.slow", {{"seconds", 0.05}})};
  for (bool want : {false, true}) {
    std::vector<Event> previews;
    RunOptions o = options(want ? "previews_on" : "previews_off");
    o.previews = want;
    o.on_event = [&](const Event& e) {
      if (e.kind == EventKind::Preview) previews.push_back(e);
    };
    Evaluator ev(test_registry());
    ASSERT_TRUE(ev.run(g, o).ok);
    if (!want) {
      EXPECT_TRUE(previews.empty());
      continue;
    }
    ASSERT_EQ(previews.size(), 1u);
    EXPECT_EQ(previews[0].node, "slow");
    EXPECT_EQ(previews[0].message, "snapshot");
    auto rec = std::dynamic_pointer_cast<const RecordValue>(previews[0].value);
    ASSERT_TRUE(rec);
    EXPECT_DOUBLE_EQ(rec->record.at("value").get<double>(), 0.05);
    const json j = previews[0].to_json();
    EXPECT_EQ(j["event"], "preview");
    EXPECT_EQ(j["step"], 1);
    EXPECT_EQ(j["value"]["type"], "Record");
  }
}

TEST(Evaluator, EventsNameTheDeviceAndAutoWithoutCudaWarnsOnce) {
  Graph g;
  g.nodes = {node("slow", "test.slow", {{"seconds", 0.0}})};
  for (DeviceKind asked : {DeviceKind::Auto, DeviceKind::Cpu}) {
    std::vector<Event> events;
    RunOptions o = options(asked == DeviceKind::Auto ? "device_auto" : "device_cpu");
    o.device = asked;
    o.on_event = [&](const Event& e) { events.push_back(e); };
    Evaluator ev(test_registry());
    ASSERT_TRUE(ev.run(g, o).ok);
    const std::string resolved = to_string(resolve_device(asked));
    int warnings = 0, started = 0;
    for (const Event& e : events) {
      if (e.kind == EventKind::Warning && e.message.find("device 'auto'") != std::string::npos) ++warnings;
      if (e.kind == EventKind::NodeStarted) {
        ++started;
        EXPECT_EQ(e.data.at("device"), resolved);
        EXPECT_EQ(e.to_json().at("device"), resolved);
      }
    }
    EXPECT_EQ(started, 1);
    // A CPU run that asked for auto says once that it fell back; a CPU or CUDA run asked for says nothing.
    const bool fell_back = asked == DeviceKind::Auto && resolve_device(asked) == DeviceKind::Cpu;
    EXPECT_EQ(warnings, fell_back ? 1 : 0) << to_string(asked);
  }
}

TEST(Evaluator, BypassPassesInputThrough) {
  Graph g = diamond();
  g.node("double")->bypass = true;  // passes input 'a' (the sum) straight through
  Evaluator ev(test_registry());
  ASSERT_TRUE(ev.run(g, options("bypass")).ok);
  EXPECT_EQ(ev.executions("double"), 0);
  EXPECT_EQ(value(ev, "sink"), 5);
}

// The preview service: a family registers how values of a type are rendered; the editor finds the
// renderer by the value's type, and a type nobody renders says so.
TEST(Preview, RendererIsFoundByValueTypeAndAnUnregisteredTypeSaysSo) {
  struct Grey final : PreparedPreview {
    PreviewImage render(const PreviewRequest& request) override {
      PreviewImage img;
      img.width = request.camera.width;
      img.height = request.camera.height;
      img.rgba.assign(size_t(img.width) * img.height * 4, 128);
      return img;
    }
  };
  auto prepare = [](const Value& v, DeviceKind) -> std::unique_ptr<PreparedPreview> {
    if (!std::dynamic_pointer_cast<const RecordValue>(v)) throw std::invalid_argument("not a Record");
    return std::make_unique<Grey>();
  };
  Registry reg;
  reg.add_renderer(PortType::Record, {"grey records", nullptr, prepare});
  const ValueRenderer* r = reg.find_renderer(std::make_shared<RecordValue>()->type());
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "grey records");
  EXPECT_FALSE(r->cuda_available());  // none given: the CPU only
  PreviewRequest request;
  request.camera.width = 4;
  request.camera.height = 3;
  const PreviewImage img = r->prepare(std::make_shared<RecordValue>(), DeviceKind::Cpu)->render(request);
  EXPECT_EQ(img.rgba.size(), size_t(4 * 3 * 4));
  const Registry copy = reg;
  EXPECT_EQ(copy.find_renderer(PortType::Record), r);  // a copy shares its renderers
  // Not registered: found as nothing, or an error naming the type.
  EXPECT_EQ(reg.find_renderer(PortType::SplatScene), nullptr);
  try {
    reg.renderer(PortType::SplatScene);
    FAIL() << "expected an error";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("no preview renderer is registered for SplatScene values"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(reg.add_renderer(PortType::Record, {"again", nullptr, prepare}), std::logic_error);
  EXPECT_THROW(reg.add_renderer(PortType::Image, {"no prepare function"}), std::logic_error);
}

// Overlays the viewport draws are declared on outputs and checked when the node is registered.
TEST(Spec, ViewportOverlaysAreDeclaredOnOutputsAndChecked) {
  auto spec = [](std::vector<PortSpec> outputs) {
    NodeSpec s;
    s.type = "test.overlay";
    s.outputs = std::move(outputs);
    s.execute = [](NodeContext&) {};
    return s;
  };
  Registry reg;
  reg.add(spec({with_overlay({"placed", PortType::Record, "placements"}, "billboards", "sprites"),
                {"sprites", PortType::FrameSequence, "cutouts"}}));
  const NodeSpec* s = reg.find("test.overlay");
  EXPECT_EQ(s->output("placed")->overlay.kind, "billboards");
  EXPECT_EQ(s->to_json()["outputs"][0]["overlay"], json({{"kind", "billboards"}, {"images", "sprites"}}));
  EXPECT_FALSE(s->to_json()["outputs"][1].contains("overlay"));
  auto refused = [&](std::vector<PortSpec> outputs) {
    Registry r;
    EXPECT_THROW(r.add(spec(std::move(outputs))), std::logic_error);
  };
  refused({with_overlay({"path", PortType::Record, ""}, "camera_path")});              // not a CameraPath
  refused({with_overlay({"placed", PortType::Record, ""}, "billboards", "missing")});  // no images output
  refused({with_overlay({"path", PortType::CameraPath, ""}, "sparkles")});             // unknown kind
}
