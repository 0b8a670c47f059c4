/*
** Every internal header of the SQL module, for tests and tools. No file of
** the module includes this: each includes its stage's header (sql_base.h
** lists them in order).
*/
#ifndef QUIVER_SQL_INT_H
#define QUIVER_SQL_INT_H

#include "planner.h"
#include "functions.h"

#endif
