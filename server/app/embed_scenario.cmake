# Writes OUT, a C++ source holding the text of IN as cairn::server::NAME()
# (declared in server/app/demo.hpp).
file(READ "${IN}" content)
file(WRITE "${OUT}" "#include \"server/app/demo.hpp\"\nnamespace cairn::server {\nstd::string_view ${NAME}() {\n  static constexpr char text[] = R\"cairn_embedded(${content})cairn_embedded\";\n  return {text, sizeof text - 1};\n}\n}  // namespace cairn::server\n")
