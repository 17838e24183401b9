// Schema version 2: the audit log's additions (alert records' columns, the
// delivery statistics of store::audit_stats()).
namespace cairn::storage::pg {

extern const char* const audit_v2_schema_sql;
//
// Alert records: their kind in a column of its own (empty on every other
// record, so a v1 log upgrades without a rewrite), indexed for the kind
// filter of GET /cairn/v1/alerts.
const char* const audit_v2_schema_sql = R"sql(
ALTER TABLE audit ADD COLUMN kind text NOT NULL DEFAULT '';
CREATE INDEX audit_by_kind ON audit (kind, seq) WHERE kind <> '';

-- The delivery statistics (store::audit_stats): pull records and their
-- objects per hour, account and collection, kept by every append.
CREATE TABLE audit_stats (hour bigint NOT NULL, account text NOT NULL, api_root text NOT NULL,
                          collection text NOT NULL, records bigint NOT NULL,
                          objects bigint NOT NULL,
                          PRIMARY KEY (hour, account, api_root, collection));
INSERT INTO audit_stats (hour, account, api_root, collection, records, objects)
  SELECT time - time % 3600000000, account, api_root, collection, count(*), sum(objects)
  FROM audit WHERE action = 2 GROUP BY 1, 2, 3, 4;
)sql";

}  // namespace cairn::storage::pg
