#include "clients/audit_proof.hpp"

#include "formats/audit_record.hpp"
#include "formats/ed25519.hpp"
#include "formats/json.hpp"
#include "formats/merkle.hpp"

namespace cairn::clients {

namespace {

namespace merkle = formats::merkle;

constexpr std::size_t k_max_records = 100'000;

result<std::vector<merkle::digest>> fetch_proof(taxii_client& server, std::uint64_t seq,
                                                std::uint64_t tree_size) {
  auto r = server.get_ok("/cairn/v1/audit/proof?seq=" + std::to_string(seq) +
                         "&tree_size=" + std::to_string(tree_size));
  if (!r) return std::unexpected(r.error());
  auto doc = formats::parse_json(r->body);
  if (!doc || !doc->root().is_object()) return fail("the proof response is not a JSON object");
  auto path = doc->root().get("audit_path");
  if (!path || !path->is_array() || path->size() > 64) {
    return fail("the proof response has no usable \"audit_path\"");
  }
  std::vector<merkle::digest> out;
  for (std::size_t i = 0; i < path->size(); ++i) {
    const auto v = path->value_at(i);
    auto d = v.is_string() ? merkle::from_hex(v.as_string()) : std::nullopt;
    if (!d) return fail("the audit path holds something other than a hex SHA-256");
    out.push_back(*d);
  }
  return out;
}

}  // namespace

result<proof_outcome> verify_record_proofs(taxii_client& server, const proof_inputs& in) {
  const auto trusted = formats::ed25519_public_bytes(in.public_key_pem);
  if (!trusted) return fail("the public key is not an Ed25519 public key in PEM form");

  std::string checkpoint_text = in.checkpoint_json;
  if (checkpoint_text.empty()) {
    auto r = server.get_ok("/cairn/v1/audit/checkpoint");
    if (!r) return fail("cannot fetch the checkpoint: " + r.error().message);
    checkpoint_text = r->body;
  }
  auto cp = formats::parse_checkpoint(checkpoint_text);
  if (!cp) return fail("the checkpoint is not usable: " + cp.error().message);
  if (formats::ed25519_public_bytes(cp->public_key) != trusted) {
    return fail("the checkpoint names another signing key than the one given");
  }
  if (!formats::checkpoint_signature_ok(*cp, in.public_key_pem)) {
    return fail("the checkpoint's signature does not verify with the given key");
  }

  proof_outcome out;
  std::size_t count = 0;
  std::size_t good = 0;
  std::size_t start = 0;
  while (start < in.records.size()) {
    std::size_t end = in.records.find('\n', start);
    if (end == std::string::npos) end = in.records.size();
    const std::string_view line(in.records.data() + start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (++count > k_max_records) return fail("more than 100000 records: split the file");

    auto doc = formats::parse_json(line);
    if (!doc) {
      out.ok = false;
      out.lines.push_back("line " + std::to_string(count) + ": not JSON");
      continue;
    }
    auto record = formats::parse_audit_record(doc->root());
    auto body = formats::audit_body_of(doc->root());
    if (!record || !body) {
      out.ok = false;
      out.lines.push_back("line " + std::to_string(count) + ": not an audit record: " +
                          (record ? body.error().message : record.error().message));
      continue;
    }
    const std::string name = "record " + std::to_string(record->seq);
    if (formats::audit_chain_hash(record->prev, *body) != record->hash) {
      out.ok = false;
      out.lines.push_back(name + ": FAILED: its hash does not match its contents");
      continue;
    }
    if (record->seq == 0 || record->seq > cp->tree_size) {
      out.ok = false;
      out.lines.push_back(name + ": not covered by the checkpoint (tree size " +
                          std::to_string(cp->tree_size) + "): use a newer checkpoint");
      continue;
    }
    auto path = fetch_proof(server, record->seq, cp->tree_size);
    if (!path) return fail("cannot fetch the proof of " + name + ": " + path.error().message);
    const auto leaf = merkle::leaf_hash(*body);
    const bool chain_ok = record->seq != cp->tree_size || cp->chain_hash == record->hash;
    if (!chain_ok ||
        !merkle::verify_inclusion(record->seq - 1, cp->tree_size, leaf, *path, cp->root_hash)) {
      out.ok = false;
      out.lines.push_back(name + ": FAILED: not in the tree the checkpoint signs");
      continue;
    }
    ++good;
    out.lines.push_back(name + ": included (" + record->action + " by '" + record->account +
                        "' at " + record->time + ")");
  }
  if (count == 0) return fail("no record given");
  out.lines.push_back(std::to_string(good) + " of " + std::to_string(count) +
                      " records verified against the checkpoint of " +
                      std::to_string(cp->tree_size) + " records signed at " + cp->time);
  return out;
}

}  // namespace cairn::clients
