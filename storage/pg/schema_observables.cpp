// Schema version 2: the observable index (store.hpp, reader::lookup()).
namespace cairn::storage::pg {

extern const char* const observables_schema_sql;
const char* const observables_schema_sql = R"sql(
SELECT 1;
)sql";

}  // namespace cairn::storage::pg
