// Schema version 2: the control tables (storage/control.hpp) of every node.
namespace cairn::storage::pg {

extern const char* const control_schema_sql;
const char* const control_schema_sql = R"sql(
CREATE TABLE suspensions (account text PRIMARY KEY, kind text NOT NULL,
                          alert_seq bigint NOT NULL, since bigint NOT NULL);
CREATE TABLE control_state (key text PRIMARY KEY, value bytea NOT NULL);
)sql";

}  // namespace cairn::storage::pg
