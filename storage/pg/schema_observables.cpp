// Schema version 2: the observable index (store.hpp, reader::lookup()).
//
// One row per indexed value of a version, written in the publish's
// transaction. Values compare bytewise (COLLATE "C"), the order of the other
// backends. Lookups find a value through its md5 (a B-tree entry must stay
// small, and a URL may not); exports read a collection's exportable rows of
// the kinds asked for and sort them. Deleted versions keep their rows: reads
// join the live version. collections.deleted_count counts deleted versions,
// so that last_added + deleted_count changes with every write
// (reader::collection_generation()). On an upgraded database the rows of the
// stored versions are written by db init (pg::index_observables()).
namespace cairn::storage::pg {

extern const char* const observables_schema_sql;
const char* const observables_schema_sql = R"sql(
CREATE TABLE observables (
  collection integer NOT NULL, date_added bigint NOT NULL, kind smallint NOT NULL,
  value text COLLATE "C" NOT NULL, tlp smallint NOT NULL,
  cidr boolean NOT NULL, exportable boolean NOT NULL);
CREATE INDEX observables_by_value ON observables (collection, kind, md5(value), date_added);
CREATE INDEX observables_exportable ON observables (collection, kind) WHERE exportable;
ALTER TABLE collections ADD COLUMN deleted_count bigint NOT NULL DEFAULT 0;
)sql";

}  // namespace cairn::storage::pg
