// Schema version 2, added without a new version: the index of each owner's
// statuses in request order (reader::owned_statuses(), GET
// /cairn/v1/statuses). It adds no column (request_timestamp is read from
// the stored JSON), so a database without it answers the same, only slower:
// db init creates it when missing, at any version, and nodes of an older
// release go on writing statuses it indexes.
namespace cairn::storage::pg {

extern const char* const statuses_by_owner_sql;
const char* const statuses_by_owner_sql = R"sql(
CREATE INDEX IF NOT EXISTS statuses_by_owner ON statuses
  (owner, ((json::jsonb ->> 'request_timestamp')::bigint) DESC, id COLLATE "C" DESC);
)sql";

}  // namespace cairn::storage::pg
