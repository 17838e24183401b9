// Schema version 2: the audit log's additions (alert records' columns, the
// delivery statistics of store::audit_stats()).
namespace cairn::storage::pg {

extern const char* const audit_v2_schema_sql;
const char* const audit_v2_schema_sql = R"sql(

CREATE TABLE audit_stats (hour bigint NOT NULL, account text NOT NULL, api_root text NOT NULL,
                          collection text NOT NULL, records bigint NOT NULL,
                          objects bigint NOT NULL,
                          PRIMARY KEY (hour, account, api_root, collection));
INSERT INTO audit_stats (hour, account, api_root, collection, records, objects)
  SELECT time - time % 3600000000, account, api_root, collection, count(*), sum(objects)
  FROM audit WHERE action = 2 GROUP BY 1, 2, 3, 4;
)sql";

}  // namespace cairn::storage::pg
