#pragma once
// `cairn audit verify-proof`: checks sharing-record entries (as `cairn audit
// --json` prints them, one record per line) against a signed checkpoint,
// with a public key the auditor holds. The server is only a source of
// inclusion proofs (and of the checkpoint, when none is given): every check
// is made here, with formats/ (RFC 8785 body, hash chain, RFC 9162 proof,
// Ed25519 signature), so a server that rewrote its log cannot pass.
//
// For each record: its hash must match its body and prev; its seq must be
// within the checkpoint's tree; the audit path from the server must lead
// from the record's leaf hash to the checkpoint's root. The checkpoint must
// be signed by the trusted key and name it as its own.

#include <string>
#include <vector>

#include "clients/taxii_client.hpp"
#include "formats/error.hpp"

namespace cairn::clients {

struct proof_inputs {
  std::string records;          // one JSON record per line (blank lines ignored)
  std::string public_key_pem;   // the key the auditor trusts
  std::string checkpoint_json;  // a saved checkpoint; empty: the server's latest
};

struct proof_outcome {
  bool ok = true;                  // every record verified
  std::vector<std::string> lines;  // one per record, then a summary
};

// Errors: inputs that cannot be checked at all (no record, a bad key, a
// checkpoint that does not verify, the server unreachable).
result<proof_outcome> verify_record_proofs(taxii_client& server, const proof_inputs& in);

}  // namespace cairn::clients
