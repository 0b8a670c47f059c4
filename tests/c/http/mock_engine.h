/* What the mock engine exposes to the server tests. */
#ifndef QUIVER_TEST_MOCK_ENGINE_H
#define QUIVER_TEST_MOCK_ENGINE_H
#include "engine/engine.h"
extern atomic_int mock_open_queries, mock_cancelled;
extern atomic_llong mock_ingested;
extern char mock_last_table[128];
extern qv_schema mock_last_schema;
#endif
