// POST /tokenize and /detokenize in llama-server's shapes: {"content", "add_special",
// "with_pieces"} -> {"tokens": [ids] or [{"id", "piece"}]}, and {"tokens"} -> {"content"}.
#include "serve/api_error.h"
#include "serve/endpoints.h"
#include "serve/request_fields.h"
#include "serve/text_stream.h"

namespace moe::serve {

void add_tokenize_endpoints(httplib::Server& server, const ServeContext& context) {
  server.Post("/tokenize", [&context](const httplib::Request& request, httplib::Response& response) {
    respond(response, [&] {
      const tokenizer::Tokenizer& tok = *context.model.tokenizer;
      const nlohmann::json body = parse_object(request.body);
      const std::optional<std::string> content = get_string(body, "content");
      if (!content) throw bad_field("content", "is required");
      const bool add_special = get_bool(body, "add_special").value_or(false);
      const bool with_pieces = get_bool(body, "with_pieces").value_or(false);
      const std::vector<int32_t> ids = tok.encode(*content, add_special && tok.vocab().add_bos);
      Json tokens = Json::array();
      for (const int32_t id : ids)
        tokens.push_back(with_pieces ? Json{{"id", id}, {"piece", sanitize_utf8(tok.token_bytes(id))}} : Json(id));
      send_json(response, 200, {{"tokens", tokens}});
    });
  });
  server.Post("/detokenize", [&context](const httplib::Request& request, httplib::Response& response) {
    respond(response, [&] {
      const tokenizer::Tokenizer& tok = *context.model.tokenizer;
      const nlohmann::json body = parse_object(request.body);
      const auto it = body.find("tokens");
      if (it == body.end() || it->is_null()) throw bad_field("tokens", "is required");
      const std::vector<int32_t> ids = token_ids(*it, "tokens", tok.n_vocab());
      send_json(response, 200, {{"content", sanitize_utf8(tok.decode(ids))}});
    });
  });
}

}  // namespace moe::serve
