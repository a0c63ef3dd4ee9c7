// metadata.jsonl with several writers, merged by an index step. The dataset folder format lives in
// the shared library formats/dataset (camgraph/formats/dataset_metadata.h), which the batch runner
// and `camgraph-cli dataset index` use too; this family writes the files through it.
#pragma once
#include "camgraph/formats/dataset_metadata.h"
