#pragma once
// storage/ and its tests only: the parts of a store that open_lmdb_store()
// opened (anything else is a programming error: std::bad_cast), for tests
// of the parts themselves and for the offline tools.

#include "storage/store.hpp"

namespace cairn::storage {

class database;
class object_store;
class audit_log;

database& database_of(store& s);
object_store& objects_of(store& s);
audit_log& audit_of(store& s);

}  // namespace cairn::storage
