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
)sql";

}  // namespace cairn::storage::pg
