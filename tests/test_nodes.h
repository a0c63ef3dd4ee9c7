// Small node types for engine tests: numbers flowing as Records, a slow node, a failing node.
#pragma once
#include "camgraph/spec.h"

namespace camgraph::testing {

// test.number (param value) -> Record {value}
// test.add (a, b Records; param offset) -> Record {value: a + b + offset}
// (test.number also has `preview_every`, a parameter marked outputs_unaffected)
// test.slow (optional input; param seconds) -> Record; polls cancellation every 10 ms; sends one
// Preview (a Record holding `seconds`) when the run asks for previews
// test.fail (optional input) -> always fails with a GraphError on parameter 'reason'
// test.file_size (param file) -> Record: the file's size; its cache_stamp is the file's mtime
// test.image -> Image;  test.sink (Record input) is an output node
const Registry& test_registry();

}  // namespace camgraph::testing
