// Replays fuzz inputs without libFuzzer, so the g++ build runs the committed
// corpus as a plain test: each .jsonl argument contributes its lines' "sql"
// values, any other file its whole content.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

static void run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

int main(int argc, char** argv) {
  long inputs = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
      return 2;
    }
    if (path.size() > 6 && path.substr(path.size() - 6) == ".jsonl") {
      for (std::string line; std::getline(in, line);)
        if (!line.empty()) {
          run(nlohmann::json::parse(line).at("sql").get<std::string>());
          ++inputs;
        }
    } else {
      run(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
      ++inputs;
    }
  }
  std::printf("replayed %ld inputs\n%ld passed, 0 failed\n", inputs, inputs);
  return 0;
}
