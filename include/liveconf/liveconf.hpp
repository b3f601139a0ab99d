// File: liveconf/liveconf.hpp
//
// The umbrella header: everything a service needs to keep a typed
// configuration live. Start with store.hpp (ConfigManager) and bind.hpp
// (describing a struct); docs/architecture.md explains the pipeline.
#pragma once

#include "liveconf/bind.hpp"
#include "liveconf/clock.hpp"
#include "liveconf/diff.hpp"
#include "liveconf/env.hpp"
#include "liveconf/fake_watcher.hpp"
#include "liveconf/format.hpp"
#include "liveconf/health.hpp"
#include "liveconf/json_schema.hpp"
#include "liveconf/memory_source.hpp"
#include "liveconf/merge.hpp"
#include "liveconf/path.hpp"
#include "liveconf/snapshot.hpp"
#include "liveconf/status.hpp"
#include "liveconf/store.hpp"
#include "liveconf/subscription.hpp"
#include "liveconf/sync.hpp"
#include "liveconf/value.hpp"
#include "liveconf/version.hpp"
