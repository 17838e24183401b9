# Writes OUT, a C++ source holding the text of IN as cairn::server::demo_scenario_json().
file(READ "${IN}" content)
file(WRITE "${OUT}" "#include \"server/demo.hpp\"\nnamespace cairn::server {\nstd::string_view demo_scenario_json() {\n  static constexpr char text[] = R\"cairn_scenario(${content})cairn_scenario\";\n  return {text, sizeof text - 1};\n}\n}  // namespace cairn::server\n")
